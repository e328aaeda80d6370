"""``make bench``: every benchmark in turn, each printing its ratios against a baseline."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = (
    "import_check",
    "engines",
    "import_checks",
    "check_scale",
    "delivery",
    "telegram_score",
    "flood",
    "bol_poll",
    "bol_v11",
    "seller_names",
    "write_wait",
    "start_during_import",
    "render",
    "db_copy",
    "wednesday",
)


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    for name in chosen:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        sys.argv = [f"bench.{name}"]
        module.main()
        print(flush=True)


if __name__ == "__main__":
    main()
