"""The dependency direction of the house: bot -> messages -> norms, and norms does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# norms reads its own shipped policy files (importlib.resources, tomllib) and nothing else.
IO_MODULES = {
    "asyncio",
    "aiosqlite",
    "socket",
    "http",
    "urllib",
    "httpx",
    "aiohttp",
    "sqlite3",
    "subprocess",
    "os",
    "shutil",
    "telegram",
    "slack_sdk",
    "slack_bolt",
    "logging",
}


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_norms_imports_neither_bot_nor_messages_nor_io() -> None:
    for path, names in imported_modules("norms").items():
        assert not names & {"bot", "messages"}, path
        assert not names & IO_MODULES, (path, names & IO_MODULES)


def test_messages_never_imports_bot() -> None:
    for path, names in imported_modules("messages").items():
        assert "bot" not in names, path
