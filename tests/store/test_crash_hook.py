"""The crash tests' hook lives under ``tests/``: a process that loads it dies right after
its nth commit; the product, even with the variable set, never kills itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.crash_hook import crash_after_commit

# The store opened (its schema made), then three commits: the count of commits after each.
SCRIPT = """
import asyncio, sys
from bot.store import Store

async def main() -> None:
    store = await Store.open(sys.argv[1])
    print(store.db.generation, flush=True)
    for n in range(3):
        await store.db.execute(
            "INSERT INTO job_runs (job, run_key, done_at) VALUES ('t', ?, 'x')", (str(n),)
        )
        print(store.db.generation, flush=True)
    await store.close()

asyncio.run(main())
"""


def run(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "db.sqlite3")],
        env={**os.environ, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_product_ignores_the_variable_without_the_hook(tmp_path: Path) -> None:
    env = crash_after_commit(1)
    env.pop("PYTHONPATH")
    done = run(tmp_path, env)
    assert done.returncode == 0, done.stderr
    opened, *after = map(int, done.stdout.split())
    assert after == [opened + 1, opened + 2, opened + 3]


def test_a_process_with_the_hook_dies_right_after_its_nth_commit(tmp_path: Path) -> None:
    clean = run(tmp_path, {})
    first = int(clean.stdout.split()[0])
    (tmp_path / "db.sqlite3").unlink()
    done = run(tmp_path, crash_after_commit(first + 2))
    assert done.returncode == -9, done.stderr
    assert list(map(int, done.stdout.split())) == [first, first + 1]
