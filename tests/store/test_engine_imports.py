"""The engines hang below their interface: ``base`` imports neither engine (no circle
base <-> sqlite/postgres), and the choice between them is made in ``open`` alone."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.store.engine

ENGINE = Path(bot.store.engine.__file__).parent
ENGINES = {"bot.store.engine.sqlite", "bot.store.engine.postgres"}


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_interface_imports_no_engine() -> None:
    assert not imported(ENGINE / "base.py") & ENGINES


def test_only_open_chooses_an_engine() -> None:
    choosers = {p.stem for p in ENGINE.glob("*.py") if imported(p) & ENGINES} - {
        "sqlite",
        "postgres",
    }
    assert choosers == {"open"}
