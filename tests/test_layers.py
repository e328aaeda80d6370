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


# --- the house of bot/ ------------------------------------------------------------------

# Platform names: spelled only in the channels and in the configuration.
PLATFORM_NAMES = {"telegram", "slack", "console"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _bot_imports(path: Path) -> list[tuple[str, bool]]:
    """The ``bot`` modules a file imports, each with whether the import is deferred (inside
    a function); imports only for type checking are not counted."""
    tree = ast.parse(path.read_text("utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for n in ast.walk(node)}
    deferred: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            deferred |= {id(n) for n in ast.walk(node)}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] == "bot":
                found.append((name, id(node) in deferred))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in (ROOT / "bot").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported, _ in _bot_imports(path):
            # ``from bot.x import y``: the module bot.x.y if there is one, else bot.x.
            while imported not in modules and "." in imported:
                imported = imported.rsplit(".", 1)[0]
            if imported in modules and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_the_file_readers_import_nothing_above_them() -> None:
    """``bot/ingest`` reads files: it may use the words of a reason (``messages``), the
    domain and the seller ids' rule, nothing of the runtime."""
    allowed = {"bot.ingest", "bot.seller_ids"}
    for path in sorted((ROOT / "bot" / "ingest").rglob("*.py")):
        for imported, _ in _bot_imports(path):
            assert any(imported == a or imported.startswith(a + ".") for a in allowed), (
                str(path.relative_to(ROOT)),
                imported,
            )


def test_bot_has_no_import_circles() -> None:
    """Not even through a deferred import: an arrow that climbs back is a design fault."""
    graph = _graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            # A package's __init__ importing its own modules is how a package speaks.
            if target.startswith(node + ".") or node.startswith(target + "."):
                continue
            if state.get(target) == 1:
                circles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert circles == []


def test_no_platform_is_named_outside_the_channels_and_the_configuration() -> None:
    """A new channel is a folder under ``bot/channels/`` and an entry in its registry."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("bot/channels/") or relative == "bot/config.py":
            continue
        tree = ast.parse(path.read_text("utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        named = sorted(
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and id(node) not in docstrings
            and isinstance(node.value, str)
            and node.value.lower() in PLATFORM_NAMES
        )
        assert named == [], (relative, named)
