"""What every command group of the command line shares: exit codes, the refusal, the
context a command runs in, argument types and the helpers several groups use."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from bot.clock import Clock
from bot.commands.exempt import UnknownIndicator, parse_indicator
from bot.config import Config
from bot.store import DatabaseBusy, Store
from norms import INDICATORS, Indicator, IsoWeek

EXIT_OK, EXIT_FAILURE, EXIT_REJECTED = 0, 1, 2
EXIT_CODES = (
    "\n\nexit codes: 0 done; 1 an unexpected failure; 2 the input or the arguments were "
    "rejected (nothing was changed)"
)


class InputRejected(Exception):
    """Input or arguments rejected: printed as is, exit code 2, nothing changed."""


@dataclass
class Context:
    config: Config
    store: Store
    clock: Clock

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> Any:
        return self.now().astimezone(self.config.timezone).date()


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 itself; keep its wording short
        self.print_usage(sys.stderr)
        self.exit(EXIT_REJECTED, f"{self.prog}: error: {message}\n")


Handler = Callable[[argparse.Namespace, Context], Awaitable[int]]
# Where a group adds its commands: the subparsers of ``normwacht``.
Commands: TypeAlias = "argparse._SubParsersAction[Parser]"


def example(text: str) -> dict[str, Any]:
    """The epilog of a command's --help: one example and the exit codes."""
    return {
        "epilog": f"example: {text}{EXIT_CODES}",
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def week_arg(text: str) -> IsoWeek:
    try:
        return IsoWeek.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def indicator_arg(text: str) -> Indicator:
    try:
        return parse_indicator(text)
    except UnknownIndicator as exc:
        names = ", ".join(i.value for i in INDICATORS)
        hint = f" (did you mean {exc.nearest}?)" if exc.nearest else ""
        raise argparse.ArgumentTypeError(
            f"unknown indicator {text!r}{hint}; use one of {names}"
        ) from exc


async def complete_owed(ctx: Context) -> int:
    """Do the work this command's change obliges (and any a killed process left)."""
    # Deferred: it pulls in openpyxl and numpy (through the importer); --help needs neither.
    from bot.notices.owed_work import complete_owed_work

    try:
        return await complete_owed_work(ctx.store, ctx.config, now=ctx.now())
    except DatabaseBusy:
        # The change itself is stored, and so is the work it owes: not a refusal.
        print(
            "normwacht: the database is busy: the rechecks are kept and done by the running "
            "bot or the next command",
            file=sys.stderr,
        )
        return 0


async def known_seller(ctx: Context, seller_id: str) -> None:
    if await ctx.store.sellers.get(seller_id) is None:
        raise InputRejected(f"unknown seller {seller_id!r} (see normwacht seller list)")


def moment(ctx: Context, at: datetime) -> str:
    """A time in the configured zone, with the zone's offset: never a bare clock time."""
    return at.astimezone(ctx.config.timezone).isoformat(timespec="minutes")


def local(ctx: Context, at: datetime, form: str = "%Y-%m-%d %H:%M %Z") -> str:
    return at.astimezone(ctx.config.timezone).strftime(form)
