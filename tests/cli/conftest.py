"""Shared by the command line's tests: a folder with its own database and a pinned clock,
and the helpers that read what a command left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

NOW = "2026-11-19T10:00:00+01:00"
NOW_DT = datetime.fromisoformat(NOW)
# The installed console script, as operators run it.
SCRIPT = str(Path(sys.executable).with_name("normwacht"))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "NORMWACHT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NORMWACHT_DB", database)
    monkeypatch.setenv("NORMWACHT_NOW", NOW)
    return tmp_path


def query(sql: str) -> list[tuple[object, ...]]:
    """Rows of the configured database, read as the next process would."""
    import asyncio

    from bot.store import Store

    async def read() -> list[tuple[object, ...]]:
        store = await Store.open(os.environ["NORMWACHT_DB"])
        try:
            return [tuple(r) for r in await store.db.fetchall(sql)]
        finally:
            await store.close()

    return asyncio.run(read())


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def normwacht(env: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script as an operator runs it, in ``env``'s folder."""
    return subprocess.run([SCRIPT, *args], cwd=env, capture_output=True, text=True, check=False)
