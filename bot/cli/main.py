"""The ``normwacht`` command line. Exit codes: 0 done, 1 unexpected failure, 2 rejected input.

Each command group lives in a module of its own (sellers, data, checks, db, run) that adds
its commands to the parser and holds their handlers; this module assembles the parser,
opens what a command needs and turns what went wrong into one line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.channels.platforms import TELEGRAM
from bot.cli import checks, data, db, run, sellers
from bot.cli.common import (
    EXIT_CODES,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_REJECTED,
    Commands,
    Context,
    Handler,
    InputRejected,
    Parser,
    example,
)
from bot.clock import Clock, clock_from_env
from bot.config import Config, ConfigError, load_config, read_dotenv
from bot.runtime.logs import RedactSecrets, config_secrets
from bot.store import DatabaseBusy
from bot.store.configured import open_store
from norms import IsoWeek

__all__ = [
    "EXIT_CODES",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_REJECTED",
    "Context",
    "InputRejected",
    "build_parser",
    "main",
]

# Every command, in the order of ``normwacht --help``: a new command is a function that
# adds it in its group's module, and one line here.
COMMANDS: tuple[Callable[[Commands], None], ...] = (
    run.add_run,
    sellers.add_seller,
    data.add_import,
    data.add_exempt,
    sellers.add_plan,
    checks.add_check,
    checks.add_poll,
    checks.add_deliver,
    checks.add_digest,
    checks.add_sent,
    checks.add_preview,
    checks.add_outbox,
    run.add_chat,
    db.add_keygen,
    db.add_migrate,
    db.add_db,
)


def _version() -> str:
    # Deferred: only --version reads the installed metadata.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("normwacht")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="normwacht",
        description="Normwacht watches bol.com service norms and warns sellers in time.",
        **example("normwacht check --week 2026-W46 --json"),
    )
    p.add_argument("--version", action="version", version=f"normwacht {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for add in COMMANDS:
        add(sub)
    _document(p)
    return p


# Where a command finds the database: run from another folder, the relative default
# names another file (a new, empty database, which the command then says it created).
DATABASE = (
    "\n\ndatabase: NORMWACHT_DB (environment or .env), default data/normwacht.sqlite3, "
    "relative to the current folder"
)


def _document(parser: argparse.ArgumentParser) -> None:
    """Say under every --help that opens the database which one (its example and the
    exit codes each command sets where it is added)."""
    opens = parser.get_default("needs_store") is not False or parser.get_default("opens_database")
    if parser.prog == "normwacht" or (opens and parser.get_default("handler") is not None):
        parser.epilog = f"{parser.epilog}{DATABASE}"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _document(child)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``normwacht`` console script."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config()
        # NORMWACHT_NOW may come from .env like every other setting; the environment wins.
        clock = clock_from_env({**read_dotenv(Path(".env")), **os.environ})
    except (ConfigError, ValueError) as exc:
        print(f"normwacht: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    try:
        _check_week_started(args, config, clock)
        code = asyncio.run(_dispatch(args, config, clock))
    except (InputRejected, DatabaseBusy, ConfigError) as exc:
        # Busy: nothing was changed by the write that could not begin; try again later.
        # A setting found wrong only at start (a port taken) is named like any other.
        print(f"normwacht: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except BrokenPipeError:
        return _reader_left()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, no traceback: a token in it would be printed
        detail = RedactSecrets(config_secrets(config)).mask(_failure(exc, config))
        print(f"normwacht: failed: {detail}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_left()
    return code


def _reader_left() -> int:
    """The reader of our output went away (``| head -1``): what it wanted it has. Point
    stdout at nothing so that the interpreter's last flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_OK


def _failure(exc: BaseException, config: Config) -> str:
    """What failed, in words: an outside service that did not answer is named with the
    setting that points at it."""
    # Deferred: python-telegram-bot is loaded only once something failed.
    from telegram.error import NetworkError

    if isinstance(exc, NetworkError) and not isinstance(exc, _telegram_refusals()):
        return f"{TELEGRAM.where(config)} did not answer: {exc}"
    if type(exc).__module__.startswith("aiohttp"):
        return f"Slack (SLACK_API_URL={config.slack_api_url}) did not answer: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _telegram_refusals() -> tuple[type[Exception], ...]:
    # Deferred: python-telegram-bot is loaded only once something failed.
    from telegram.error import BadRequest

    return (BadRequest,)


# The running week's figures so far are judged apart, never stored as the week's own.
PROVISIONAL = (
    "the running week's provisional figures have their own path: the daily early warning "
    "of normwacht run"
)


def _check_week_started(args: argparse.Namespace, config: Config, clock: Clock) -> None:
    """A command that takes a finished week (``check``, ``poll``: their ``finished_week``
    says how) refuses one that has not begun, or is still running, before anything opens."""
    week = getattr(args, "week", None)
    takes = getattr(args, "finished_week", None)
    if takes is None or week is None:
        return
    today = clock().astimezone(config.timezone).date()
    last = IsoWeek.of(today).shift(-1)
    if week.monday > today:
        raise InputRejected(
            f"week {week} has not started yet: {takes} a finished week, up to {last}; {PROVISIONAL}"
        )
    if week.sunday >= today:
        raise InputRejected(
            f"week {week} is not over yet (it ends on {week.sunday}): {takes} a finished "
            f"week, up to {last}; {PROVISIONAL}"
        )


async def _dispatch(args: argparse.Namespace, config: Config, clock: Clock) -> int:
    handler: Handler = args.handler
    if not getattr(args, "needs_store", True):
        return await handler(args, Context(config, None, clock))  # type: ignore[arg-type]
    store = await open_store(config, busy_wait_s=config.busy_wait_s)
    try:
        return await handler(args, Context(config, store, clock))
    finally:
        await store.close()
