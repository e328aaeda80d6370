"""Rendering every message kind through the catalogs, against Jinja's own gettext.

Renders every golden-file case in every language and format, and the same cases through
an environment identical but for its gettext: Jinja's stock ``install_null_translations``
(no catalog lookup, no escaping of translated text), measured in the same run, alternated,
best of three. Reports the time per message and the ratio. Goal: the catalogs cost at
most 1.5x the stock one.

    python -m bench.render [--rounds R]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from messages.compose import compose
from messages.model import FORMATS, LANGUAGES, Format, Language
from messages.render import KINDS, context, environment
from tests.messages.cases import all_cases

Case = tuple[str, str, dict[str, Any]]


def _stock(fmt: Format, lang: Language) -> Any:
    """The same environment with Jinja's null translations in place of the catalogs."""
    env = environment.__wrapped__(fmt, lang)  # a fresh one, not the cached
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


def _renderer(env: Any, fmt: Format) -> Callable[[str, dict[str, Any]], str]:
    more = env.get_template("_more.j2")

    def render(kind: str, data: dict[str, Any]) -> str:
        marked = env.get_template(f"{kind}.j2").render(context(kind, data))
        return compose(marked, fmt, lambda n, g: more.render(n=n, groups=g).strip()).text

    return render


def _time(cases: list[Case], rounds: int, make: Callable[[Format, Language], Any]) -> float:
    """Seconds per message over every case, language and format."""
    renderers = {(f, lang): _renderer(make(f, lang), f) for f in FORMATS for lang in LANGUAGES}
    for render in renderers.values():  # warm up: compile every template
        for _, kind, data in cases:
            render(kind, data)
    start = time.perf_counter()
    for _ in range(rounds):
        for render in renderers.values():
            for _, kind, data in cases:
                render(kind, data)
    return (time.perf_counter() - start) / (rounds * len(renderers) * len(cases))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    cases = list(all_cases())
    assert {kind for _, kind, _ in cases} == KINDS
    # Alternated, best of three each: the machine's other load hits both alike.
    stock = catalogs = float("inf")
    for _ in range(3):
        stock = min(stock, _time(cases, rounds, _stock))
        catalogs = min(catalogs, _time(cases, rounds, environment))
    print(f"{len(cases)} cases x {len(LANGUAGES)} languages x {len(FORMATS)} formats")
    print(f"stock null gettext : {stock * 1e3:7.3f} ms/message (baseline)")
    print(f"catalogs           : {catalogs * 1e3:7.3f} ms/message  ratio {catalogs / stock:.2f}x")


if __name__ == "__main__":
    main()
