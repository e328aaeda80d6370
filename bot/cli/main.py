"""The ``normwacht`` command line. Exit codes: 0 done, 1 unexpected failure, 2 rejected input."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import Clock, clock_from_env
from bot.commands.exempt_args import UnknownIndicator, parse_indicator
from bot.config import Config, ConfigError, load_config, read_dotenv
from bot.store import DatabaseBusy, ExemptionExists, SellerExists, Store
from bot.store.engine.base import is_postgresql, sqlite_path
from bot.store.engine.open import open_store, open_target
from bot.store.outbox import SentRecord
from bot.store.records import ExemptionRecord
from messages import LANGUAGES
from norms import INDICATORS, Exemption, Indicator, IsoWeek, WeekReport

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


Handler = Callable[[argparse.Namespace, Context], Awaitable[int]]


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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("normwacht")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 itself; keep its wording short
        self.print_usage(sys.stderr)
        self.exit(EXIT_REJECTED, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="normwacht",
        description="Normwacht watches bol.com service norms and warns sellers in time.",
    )
    p.add_argument("--version", action="version", version=f"normwacht {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser(
        "run",
        help="start the bot: channels, scheduler and delivery",
        description="Start the bot: every configured chat platform, the scheduler and the "
        "delivery worker. With no chat token set: the console chat on the sample shops, "
        "kept in a database of their own (demo.sqlite3 beside NORMWACHT_DB's file, "
        "data/demo.sqlite3 by default), never in NORMWACHT_DB.",
    )
    run.add_argument("--demo", action="store_true", help="start on a fresh copy of the sample data")
    run.set_defaults(handler=cmd_run, needs_store=False)

    seller = sub.add_parser("seller", help="add, list and link sellers")
    ssub = seller.add_subparsers(dest="seller_command", required=True, metavar="ACTION")
    add = ssub.add_parser("add", help="add a seller")
    add.add_argument("id", help="the seller id used in data files (e.g. shop-1)")
    add.add_argument("--name", required=True, help="the shop name people read")
    add.add_argument("--language", choices=LANGUAGES, help="language of its messages")
    add.set_defaults(handler=cmd_seller_add)
    slist = ssub.add_parser(
        "list",
        help="list the sellers: id, name, language, where their data comes from",
        epilog="example: normwacht seller list --json" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    slist.add_argument("--json", action="store_true", help="one JSON object per seller a line")
    slist.set_defaults(handler=cmd_seller_list)
    cred = ssub.add_parser(
        "credentials", help="store bol.com API credentials (the secret is read from stdin)"
    )
    cred.add_argument("id", help="the seller id")
    cred.add_argument("--client-id", required=True, help="the client id of the bol.com API key")
    cred.set_defaults(handler=cmd_seller_credentials)
    code = ssub.add_parser("link-code", help="print a one-time code that links a chat")
    code.add_argument("id", help="the seller id")
    code.set_defaults(handler=cmd_seller_link_code)
    reopen = ssub.add_parser("reopen", help="reopen a seller whose track was closed")
    reopen.add_argument("id", help="the seller id")
    reopen.set_defaults(handler=cmd_seller_reopen)

    imp = sub.add_parser(
        "import",
        help="import weekly data (CSV, XLSX, JSON) in one transaction",
        description=IMPORT_FORMAT,
    )
    imp.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="CSV, XLSX or JSON files to import"
    )
    imp.add_argument(
        "--create-sellers", action="store_true", help="add unknown sellers instead of refusing"
    )
    imp.set_defaults(handler=cmd_import)

    exempt = sub.add_parser("exempt", help="declare weeks bol.com does not count")
    esub = exempt.add_subparsers(dest="exempt_command", required=True, metavar="ACTION")
    eadd = esub.add_parser(
        "add",
        help="declare an exemption",
        description="Declare a week (or some norms of it) that bol.com does not count, for "
        "some sellers or all. Weeks already checked are checked again at once. An exemption "
        "for every seller or every norm needs --yes.",
        epilog="example: normwacht exempt add --week 2026-W46 --indicator FULFILMENT "
        "--seller shop-1 --reason 'PostNL strike'" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    eadd.add_argument("--week", required=True, type=week_arg, help="the ISO week, e.g. 2026-W46")
    eadd.add_argument(
        "--indicator",
        action="append",
        type=indicator_arg,
        default=[],
        help="an indicator not to count, e.g. FULFILMENT (repeat for more; none: all eight)",
    )
    eadd.add_argument(
        "--seller",
        action="append",
        default=[],
        help="a seller id it applies to (repeat for more; none: every seller)",
    )
    eadd.add_argument("--reason", required=True, help="why, as sellers will read it")
    eadd.add_argument(
        "--yes", action="store_true", help="confirm an exemption for all sellers or all norms"
    )
    eadd.set_defaults(handler=cmd_exempt_add)
    elist = esub.add_parser(
        "list",
        help="list exemptions with id, scope, reason, who and when",
        epilog="example: normwacht exempt list --json" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    elist.add_argument("--json", action="store_true", help="one JSON object per exemption a line")
    elist.set_defaults(handler=cmd_exempt_list)
    eremove = esub.add_parser(
        "remove",
        help="take an exemption back (its id from exempt list); checked weeks are rechecked",
        epilog="example: normwacht exempt remove 3" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    eremove.add_argument("exemption_id", type=int, metavar="ID", help="the id from exempt list")
    eremove.set_defaults(handler=cmd_exempt_remove)

    plan = sub.add_parser("plan", help="record an improvement plan as submitted or approved")
    plan.add_argument("status", choices=("submitted", "approved"), help="what happened to it")
    plan.add_argument("id", help="the seller id")
    plan.set_defaults(handler=cmd_plan)

    check = sub.add_parser("check", help="evaluate a week and plan its notifications")
    check.add_argument(
        "--week", required=True, type=week_arg, help="a finished ISO week, e.g. 2026-W46"
    )
    check.add_argument(
        "--seller", action="append", default=[], help="only this seller id (repeat for more)"
    )
    check.add_argument("--dry-run", action="store_true", help="plan nothing")
    check.add_argument("--json", action="store_true", help="one JSON object per seller per line")
    check.set_defaults(handler=cmd_check)

    poll = sub.add_parser("poll", help="fetch a week from the bol.com API")
    poll.add_argument(
        "--week", required=True, type=week_arg, help="a finished ISO week, e.g. 2026-W46"
    )
    poll.add_argument(
        "--seller",
        action="append",
        default=[],
        help="only this seller id, which must have credentials (repeat for more)",
    )
    poll.set_defaults(handler=cmd_poll)

    sub.add_parser(
        "deliver", help="send what is due in the outbox, then exit (when the bot is not running)"
    ).set_defaults(handler=cmd_deliver)
    digest = sub.add_parser("digest", help="plan the weekly digest now")
    digest.add_argument(
        "--seller", action="append", default=[], help="only this seller id (repeat for more)"
    )
    digest.set_defaults(handler=cmd_digest)

    sent = sub.add_parser(
        "sent",
        help="what was sent, when, to whom, and its text",
        epilog="example: normwacht sent --seller shop-1 --week 2026-W46" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sent.add_argument("--seller", help="only messages about this seller id")
    sent.add_argument("--week", type=week_arg, help="only messages about this week, e.g. 2026-W46")
    sent.add_argument("--json", action="store_true", help="one JSON object per message a line")
    sent.set_defaults(handler=cmd_sent)

    preview = sub.add_parser(
        "preview",
        help="show what would be sent about a seller's week, planning nothing",
        description="Render the messages a chat would get about the seller's week: the week's "
        "alerts (all of them, as a chat linked now would get them) and the weekly digest, in "
        "the chosen language and platform format. Nothing is planned or stored.",
    )
    preview.add_argument("--seller", required=True, help="the seller id")
    preview.add_argument("--week", required=True, type=week_arg, help="the ISO week, e.g. 2026-W46")
    preview.add_argument(
        "--language", choices=LANGUAGES, help="the chat's language (default: the seller's)"
    )
    preview.add_argument(
        "--platform",
        choices=("console", "telegram", "slack"),
        default="console",
        help="the format: console (plain text, the default), telegram (HTML), slack (mrkdwn)",
    )
    preview.set_defaults(handler=cmd_preview)

    outbox = sub.add_parser("outbox", help="messages that could not be delivered")
    osub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    requeue = osub.add_parser(
        "requeue",
        help="send a dead message again (its id from normwacht sent)",
        description="A message that went dead (the chat blocked the bot, the platform refused "
        "it, too many attempts) goes again at the next delivery round, its attempts counted "
        "afresh; its chat counts as reachable again. Fix what stopped it first.",
        epilog="example: normwacht outbox requeue 42" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    requeue.add_argument("message_id", type=int, metavar="ID", help="the message's id (#ID)")
    requeue.set_defaults(handler=cmd_outbox_requeue)

    chat = sub.add_parser("chat", help="the console chat (the same commands as Telegram)")
    chat.add_argument("--seller", help="follow this seller (default: all)")
    chat.set_defaults(handler=cmd_chat)

    keygen = sub.add_parser(
        "keygen",
        help="print a new NORMWACHT_SECRET_KEY; --rotate: re-encrypt under the first key",
        description="Print a new key for NORMWACHT_SECRET_KEY. To rotate: list the new key "
        "first and the old one after it (NORMWACHT_SECRET_KEY=NEW,OLD), run keygen --rotate "
        "to re-encrypt the stored bol.com credentials under NEW, then drop OLD.",
    )
    keygen.add_argument(
        "--rotate",
        action="store_true",
        help="re-encrypt the stored credentials under the first key of NORMWACHT_SECRET_KEY",
    )
    keygen.set_defaults(handler=cmd_keygen, needs_store=False)

    sub.add_parser(
        "migrate",
        help="bring the database's schema up to date and say which version it is at",
        description="Open NORMWACHT_DB, bring its schema up to date (instances starting at "
        "once take turns) and print which database it is and its schema version.",
    ).set_defaults(handler=cmd_migrate)

    db = sub.add_parser("db", help="whole databases: copy one into another")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dcopy = dsub.add_parser(
        "copy",
        help="copy every record of one database into another, empty one",
        description="Copy every record of SRC into DST (SQLite to PostgreSQL, or any other "
        "way), in one transaction: when anything is refused, DST stays empty. Both are "
        "brought up to the current schema first; DST must hold no data. The cache of "
        "derived states is not copied: the next check rebuilds it. Stop the bot first: "
        "what it writes to SRC after the copy began is not copied.",
        epilog="example: normwacht db copy data/normwacht.sqlite3 "
        "postgresql://normwacht@db.example/normwacht" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dcopy.add_argument(
        "source",
        metavar="SRC",
        help="the database to copy: a SQLite file (or sqlite:///path) or a postgresql:// URL",
    )
    dcopy.add_argument(
        "target",
        metavar="DST",
        help="the empty database to copy into: a SQLite file (made if missing) or a "
        "postgresql:// URL of an existing database",
    )
    dcopy.set_defaults(handler=cmd_db_copy, needs_store=False)
    dbackup = dsub.add_parser(
        "backup",
        help="a whole copy of the SQLite database, safe while the bot runs",
        description="Write a whole, consistent copy of the SQLite database NORMWACHT_DB to "
        "DEST (a new file, or a folder to put a dated file in), while normwacht run goes on "
        "working. The copy is a database normwacht opens as it is: restore it by stopping "
        "the bot and putting the file in place of NORMWACHT_DB. Keep NORMWACHT_SECRET_KEY "
        "with it: without that key the stored bol.com credentials cannot be read. On "
        "PostgreSQL it prints the pg_dump command to use instead (exit code 2).",
        epilog="example: normwacht db backup /var/backups/normwacht/" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dbackup.add_argument(
        "dest",
        metavar="DEST",
        type=Path,
        help="the file to write (must not exist), or an existing folder",
    )
    dbackup.set_defaults(handler=cmd_db_backup)
    _document(p)
    return p


# What a file to import looks like, under import --help: the header line is the one the
# importer reads (an XLSX sheet has the same columns in its first row).
IMPORT_FORMAT = """\
Import weekly data in one transaction: all files or, when any row is refused, nothing.

A CSV (or the first row of an XLSX sheet) of weekly measurements has these columns:

  seller_id,year,week,indicator,numerator,denominator,value,norm
  shop-1,2026,46,FULFILMENT,140,150,,0.93
  shop-1,2026,46,CANCELLATIONS,1,150,,0.02

value may stay empty when the counts are given (or the counts, when the value is). Shop
ratings go in a file of their own:

  seller_id,date,rating,product_information,delivery_time,shipping,service,reviews,method
"""


# One example per command, shown under its --help with the exit codes.
EXAMPLES = {
    "normwacht": "normwacht check --week 2026-W46 --json",
    "run": "normwacht run --demo",
    "seller": "normwacht seller add shop-1 --name 'My Shop'",
    "add": "normwacht seller add shop-1 --name 'My Shop' --language en",
    "list": "normwacht seller list --json",
    "credentials": "normwacht seller credentials shop-1 --client-id CID < secret.txt",
    "link-code": "normwacht seller link-code shop-1",
    "reopen": "normwacht seller reopen shop-1",
    "import": "normwacht import week46.csv ratings.csv --create-sellers",
    "exempt": "normwacht exempt list",
    "plan": "normwacht plan submitted shop-1",
    "check": "normwacht check --week 2026-W46 --seller shop-1 --dry-run",
    "poll": "normwacht poll --week 2026-W46 --seller shop-1",
    "deliver": "normwacht deliver",
    "digest": "normwacht digest --seller shop-1",
    "sent": "normwacht sent --seller shop-1 --week 2026-W46",
    "chat": "normwacht chat --seller shop-1",
    "outbox": "normwacht outbox requeue 42",
    "preview": "normwacht preview --seller shop-1 --week 2026-W46 --language fr --platform slack",
    "keygen": "normwacht keygen --rotate",
    "migrate": "normwacht migrate",
    "db": "normwacht db copy data/normwacht.sqlite3 postgresql://normwacht@db.example/normwacht",
    "backup": "normwacht db backup /var/backups/normwacht/",
}


# Where a command finds the database: run from another folder, the relative default
# names another file (a new, empty database, which the command then says it created).
DATABASE = (
    "\n\ndatabase: NORMWACHT_DB (environment or .env), default data/normwacht.sqlite3, "
    "relative to the current folder"
)


def _document(parser: argparse.ArgumentParser) -> None:
    """Give every command's --help an example and the exit codes (kept where set), and
    where a command opens the database, which one."""
    name = parser.prog.split()[-1]
    if not parser.epilog:
        parser.epilog = f"example: {EXAMPLES[name]}{EXIT_CODES}"
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
    opens = parser.get_default("needs_store") is not False or name == "run"
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
        from bot.runtime.logs import RedactSecrets, config_secrets

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
    from telegram.error import NetworkError

    if isinstance(exc, NetworkError) and not isinstance(exc, _telegram_refusals()):
        return f"Telegram (TELEGRAM_API_URL={config.telegram_api_url}) did not answer: {exc}"
    if type(exc).__module__.startswith("aiohttp"):
        return f"Slack (SLACK_API_URL={config.slack_api_url}) did not answer: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _telegram_refusals() -> tuple[type[Exception], ...]:
    from telegram.error import BadRequest

    return (BadRequest,)


# The running week's figures so far are judged apart, never stored as the week's own.
PROVISIONAL = (
    "the running week's provisional figures have their own path: the daily early warning "
    "of normwacht run"
)


def _check_week_started(args: argparse.Namespace, config: Config, clock: Clock) -> None:
    """``check`` and ``poll`` take a finished week: one that has not begun, or is still
    running, is refused before anything opens."""
    week = getattr(args, "week", None)
    if args.command not in ("check", "poll") or week is None:
        return
    today = clock().astimezone(config.timezone).date()
    takes = "check takes" if args.command == "check" else "poll fetches"
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


async def _complete_owed(ctx: Context) -> int:
    """Do the work this command's change obliges (and any a killed process left)."""
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


# --- sellers ---------------------------------------------------------------------------


async def cmd_seller_add(args: argparse.Namespace, ctx: Context) -> int:
    from bot.seller_ids import control_problem, seller_id_problem

    seller_id = args.id.strip()
    problem = seller_id_problem(seller_id) or control_problem("--name", args.name)
    if problem:
        raise InputRejected(problem)
    if not args.name.strip():
        raise InputRejected("--name must not be empty")
    try:
        await ctx.store.sellers.add(
            seller_id, args.name.strip(), args.language or ctx.config.language, ctx.now()
        )
    except SellerExists as exc:
        raise InputRejected(f"seller {seller_id!r} exists already") from exc
    print(f"added seller {seller_id} ({args.name.strip()})")
    await _complete_owed(ctx)
    return EXIT_OK


async def cmd_seller_list(args: argparse.Namespace, ctx: Context) -> int:
    sellers = await ctx.store.sellers.all()
    with_credentials = set(await ctx.store.sellers.with_credentials())
    if args.json:
        for s in sellers:
            source = "bol.com API" if s.id in with_credentials else "uploads"
            line = {"id": s.id, "name": s.name, "language": s.language, "source": source}
            print(json.dumps(line, ensure_ascii=False))
        return EXIT_OK
    if not sellers:
        print("no sellers yet: add one with normwacht seller add ID --name NAME")
        return EXIT_OK
    print("id\tname\tlanguage\tdata from")
    for s in sellers:
        api = "bol.com API" if s.id in with_credentials else "uploads"
        print(f"{s.id}\t{s.name}\t{s.language}\t{api}")
    return EXIT_OK


async def _known_seller(ctx: Context, seller_id: str) -> None:
    if await ctx.store.sellers.get(seller_id) is None:
        raise InputRejected(f"unknown seller {seller_id!r} (see normwacht seller list)")


async def cmd_seller_credentials(args: argparse.Namespace, ctx: Context) -> int:
    from bot.bol.credentials import SecretBox

    await _known_seller(ctx, args.id)
    client_id = args.client_id.strip()
    if not client_id:
        raise InputRejected("--client-id must not be empty")
    if ctx.config.secret_key is None:
        raise InputRejected(
            "NORMWACHT_SECRET_KEY: required to store credentials (normwacht keygen)"
        )
    secret = sys.stdin.readline().strip()
    if not secret:
        raise InputRejected("no client secret on standard input")
    box = SecretBox(ctx.config.secret_key)
    await ctx.store.sellers.set_credentials(
        args.id, box.seal(client_id), box.seal(secret), ctx.now()
    )
    print(f"stored bol.com credentials for {args.id} (encrypted)")
    await _complete_owed(ctx)
    return EXIT_OK


async def cmd_seller_link_code(args: argparse.Namespace, ctx: Context) -> int:
    await _known_seller(ctx, args.id)
    code = await ctx.store.chats.create_link_code(args.id, ctx.now())
    print(code)
    print(
        f"Send /start {code} to the bot in Telegram (valid 7 days, once) to link that chat "
        f"to {args.id}.",
        file=sys.stderr,
    )
    await _complete_owed(ctx)
    return EXIT_OK


async def cmd_seller_reopen(args: argparse.Namespace, ctx: Context) -> int:
    from bot.commands.service import Service

    await _known_seller(ctx, args.id)
    seller = await ctx.store.sellers.get(args.id)
    assert seller is not None
    report = await Service(ctx.store, ctx.config, ctx.clock).report_for(seller)
    state = report.track.state if report is not None and report.track is not None else "none"
    if state != "closed":
        raise InputRejected(
            f"seller {args.id!r} has no closed track to reopen (its track: {state})"
        )
    await ctx.store.data.add_reopen(args.id, ctx.today(), "operator", ctx.now())
    print(f"reopened {args.id}: the next failing week starts a new track")
    await _complete_owed(ctx)
    return EXIT_OK


async def cmd_plan(args: argparse.Namespace, ctx: Context) -> int:
    from bot.commands.service import Service
    from norms.track import plan_may_become

    await _known_seller(ctx, args.id)
    seller = await ctx.store.sellers.get(args.id)
    assert seller is not None
    report = await Service(ctx.store, ctx.config, ctx.clock).report_for(seller)
    track = report.track if report is not None else None
    plan = track.plan if track is not None else None
    if plan is None:
        state = track.state if track is not None else "none"
        raise InputRejected(
            f"seller {args.id!r} has no track that asks for an improvement plan "
            f"(its track: {state})"
        )
    if not plan_may_become(plan, args.status):
        raise InputRejected(
            f"the improvement plan of {args.id!r} is {plan} already: "
            f"it cannot be recorded as {args.status}"
        )
    await ctx.store.data.add_plan_event(args.id, ctx.today(), args.status, "operator", ctx.now())
    print(f"improvement plan of {args.id}: {args.status}")
    await _complete_owed(ctx)
    return EXIT_OK


# --- data ------------------------------------------------------------------------------


async def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    from bot.cli.progress import Progress
    from bot.imports import ImportFile, ImportRejected, import_files

    for path in args.files:
        if not path.exists():
            raise InputRejected(f"{path}: no such file")
        if path.is_dir():
            raise InputRejected(f"{path}: is a folder; name the files in it")
        if not path.is_file():
            raise InputRejected(
                f"{path}: not a regular file (a device or a pipe cannot be imported)"
            )
    progress = Progress("import", enabled=sys.stderr.isatty())
    try:
        result = await import_files(
            ctx.store,
            [ImportFile(p, str(p)) for p in args.files],
            policy=ctx.config.policy,
            today=ctx.today(),
            now=ctx.now(),
            create_sellers=args.create_sellers,
            language=ctx.config.language,
            progress=progress.update,
        )
    except ImportRejected as exc:
        progress.close()
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        if exc.total > len(exc.issues):
            print(f"... and {exc.total - len(exc.issues)} more", file=sys.stderr)
        print(
            f"normwacht: import rejected: {exc.total} problem(s); nothing was changed",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    progress.close()
    # The import recorded the rechecks it obliges; a kill from here on leaves them owed.
    rechecked = await _complete_owed(ctx)
    weeks = sorted({w for _, w in result.weeks})
    span = f"{weeks[0]}..{weeks[-1]}" if len(weeks) > 1 else (str(weeks[0]) if weeks else "-")
    print(
        f"imported {result.measurements} measurement(s) and {result.ratings} shop rating(s) "
        f"for {len(result.sellers)} seller(s), weeks {span}"
    )
    if result.created_sellers:
        print(f"added seller(s): {', '.join(result.created_sellers)}")
    if rechecked:
        print(f"weeks already checked were checked again: {rechecked} new message(s) planned")
    return EXIT_OK


async def cmd_exempt_add(args: argparse.Namespace, ctx: Context) -> int:
    from bot.seller_ids import control_problem

    if not args.reason.strip():
        raise InputRejected("--reason must not be empty")
    if problem := control_problem("--reason", args.reason):
        raise InputRejected(problem)
    if args.week.monday > ctx.today():
        raise InputRejected(f"week {args.week} has not started yet")
    for seller_id in args.seller:
        await _known_seller(ctx, seller_id)
    exemption = Exemption(
        week=args.week,
        reason=args.reason.strip(),
        indicators=frozenset(args.indicator),
        sellers=frozenset(args.seller),
    )
    if (same := await ctx.store.data.same_exemption(exemption)) is not None:
        raise _exempted_already(same)
    broad = [
        w
        for w, empty in (("every seller", not args.seller), ("every norm", not args.indicator))
        if empty
    ]
    if broad and not args.yes:
        raise InputRejected(
            f"this exemption covers {' and '.join(broad)} of {exemption.week}: "
            "name them with --seller/--indicator, or repeat with --yes; nothing was changed"
        )
    try:
        exemption_id = await ctx.store.data.add_exemption(exemption, "operator", ctx.now())
    except ExemptionExists as exc:
        raise _exempted_already(exc.existing) from exc
    print(f"exempted #{exemption_id} {_describe(exemption)}")
    planned = await _complete_owed(ctx)
    if planned:
        print(f"weeks already checked were checked again: {planned} new message(s) planned")
    return EXIT_OK


async def cmd_exempt_remove(args: argparse.Namespace, ctx: Context) -> int:
    removed = await ctx.store.data.remove_exemption(args.exemption_id, ctx.now())
    if removed is None:
        raise InputRejected(f"no exemption #{args.exemption_id} (see normwacht exempt list)")
    print(f"removed #{removed.id} {_describe(removed.exemption)}")
    planned = await _complete_owed(ctx)
    if planned:
        print(f"weeks already checked were checked again: {planned} new message(s) planned")
    return EXIT_OK


def _exempted_already(record: ExemptionRecord) -> InputRejected:
    return InputRejected(
        f"exemption #{record.id} already covers {_describe(record.exemption)}: the same "
        "week, norms and sellers; nothing was changed (normwacht exempt list shows it)"
    )


def _describe(e: Exemption) -> str:
    what = ", ".join(sorted(i.value for i in e.indicators)) or "all indicators"
    who = ", ".join(sorted(e.sellers)) or "all sellers"
    return f"{e.week}: {what}; {who}; {e.reason}"


def _moment(ctx: Context, moment: datetime) -> str:
    """A time in the configured zone, with the zone's offset: never a bare clock time."""
    return moment.astimezone(ctx.config.timezone).isoformat(timespec="minutes")


async def cmd_exempt_list(args: argparse.Namespace, ctx: Context) -> int:
    records = await ctx.store.data.exemption_records()
    if args.json:
        for r in records:
            e = r.exemption
            line = {
                "id": r.id,
                "week": str(e.week),
                "indicators": sorted(i.value for i in e.indicators),
                "sellers": sorted(e.sellers),
                "reason": e.reason,
                "actor": r.actor or None,
                "created_at": _moment(ctx, r.created_at),
            }
            print(json.dumps(line, ensure_ascii=False))
        return EXIT_OK
    if not records:
        print("no exemptions")
        return EXIT_OK
    print("id\tweek\tindicators\tsellers\treason\tby\tat")
    for r in records:
        e = r.exemption
        what = ",".join(sorted(i.value for i in e.indicators)) or "all"
        who = ",".join(sorted(e.sellers)) or "all"
        by = r.actor or "-"
        print(f"{r.id}\t{e.week}\t{what}\t{who}\t{e.reason}\t{by}\t{_moment(ctx, r.created_at)}")
    return EXIT_OK


async def cmd_check(args: argparse.Namespace, ctx: Context) -> int:
    from bot.notices.check import run_check
    from bot.notices.owed_work import check_week

    for seller_id in args.seller:
        await _known_seller(ctx, seller_id)
    if not await ctx.store.data.figures_up_to(args.week):
        first = await ctx.store.data.first_week()
        last = IsoWeek.of(ctx.today()).shift(-1)
        # With no figures at all any finished week checks to nothing, as it says.
        if first is not None and first <= last:
            raise InputRejected(
                f"week {args.week} lies before the first week with figures: check takes a "
                f"finished week from {first} (the first with figures) to {last}"
            )
        if first is not None:
            raise InputRejected(
                f"week {args.week} lies before the first week with figures ({first}, not over "
                "yet): there is no finished week with figures to check yet"
            )
    alerted: list[str] = []

    def show(report: WeekReport) -> None:
        if args.json:
            print(json.dumps(report.to_json(), ensure_ascii=False))
            return
        if report.alerts:
            alerted.append(report.seller_id)
        track = report.track
        state = f"{track.state} step {track.step}" if track else "none"
        alerts = ", ".join(report.alerts) or "-"
        verdict = "FAILING" if report.failing_week else ("no data" if not report.has_data else "ok")
        print(f"{report.seller_id}\t{report.week}\t{verdict}\ttrack {state}\talerts: {alerts}")

    if args.dry_run:
        outcome = await run_check(
            ctx.store,
            ctx.config.policy,
            args.week,
            now=ctx.now(),
            seller_ids=args.seller or None,
            dry_run=True,
            on_report=show,
        )
    else:
        outcome = await check_week(
            ctx.store,
            ctx.config,
            args.week,
            now=ctx.now(),
            seller_ids=args.seller or None,
            on_report=show,
        )
    if args.json:
        return EXIT_OK
    if outcome.missing:
        print(f"no data this week: {', '.join(outcome.missing)}")
    if alerted:
        # Alerts nobody can be told are not planned: say so, or "planned 0" looks like
        # a seller doing well.
        linked = await ctx.store.chats.destinations(alerted)
        unlinked = [s for s in alerted if s not in linked]
        if unlinked:
            print(_unlinked_line(unlinked))
    if not args.dry_run:
        horizon = await ctx.store.outbox.pruned_through()
        if horizon is not None and str(args.week) <= horizon:
            print(
                f"{args.week}: what was sent about it is past NORMWACHT_KEEP_DAYS and deleted; "
                "nothing is planned about it again"
            )
        print(f"planned {outcome.planned} new message(s)")
    return EXIT_OK


# Sellers named in one line of check's summary; the rest are counted.
NAMED_UNLINKED = 10


def _unlinked_line(unlinked: list[str]) -> str:
    """One line for the sellers with alerts but no chat to tell them in."""
    if len(unlinked) == 1:
        [seller_id] = unlinked
        return (
            f"{seller_id}: no chat linked: nothing to tell "
            f"(link one with normwacht seller link-code {seller_id})"
        )
    named = ", ".join(unlinked[:NAMED_UNLINKED])
    more = f" and {len(unlinked) - NAMED_UNLINKED} more" if len(unlinked) > NAMED_UNLINKED else ""
    return (
        f"{len(unlinked)} sellers with alerts have no chat linked: nothing to tell them: "
        f"{named}{more} (link one with normwacht seller link-code ID)"
    )


async def cmd_sent(args: argparse.Namespace, ctx: Context) -> int:
    if args.seller:
        await _known_seller(ctx, args.seller)  # a typo is no "nothing was sent"
    from bot.outbox.worker import waiting

    records = await ctx.store.outbox.history(args.seller, str(args.week) if args.week else None)
    now = ctx.now()

    def due(r: SentRecord) -> tuple[datetime | None, str | None]:
        return waiting(
            platform=r.platform,
            urgent=r.urgent,
            state=r.state,
            next_attempt_at=r.next_attempt_at,
            reason=r.waiting_for,
            now=now,
            config=ctx.config,
        )

    if args.json:
        for r in records:
            due_at, waits_for = due(r)
            line = {
                "id": r.id,
                "seller_id": r.seller_id,
                "week": r.week,
                "kind": r.kind,
                "sections": [s.split("@")[0] for s in r.sections],
                "destination": f"{r.platform}:{r.address}",
                "state": r.state,
                "sent_at": _moment(ctx, r.sent_at) if r.sent_at else None,
                "template": r.template,
                "policy": r.policy,
                "last_error": r.last_error,
                "due": _moment(ctx, due_at) if due_at else None,
                "waiting_for": waits_for,
                "text": r.text,
            }
            print(json.dumps(line, ensure_ascii=False))
        return EXIT_OK
    if not records:
        print("nothing sent or planned for that selection")
        return EXIT_OK
    print(f"what was sent (#id seller week kind -> destination · when, {ctx.config.timezone})")
    for r in records:
        due_at, waits_for = due(r)
        when = (
            _local(ctx, r.sent_at)
            if r.sent_at
            else f"{r.state}: waiting for {waits_for}, due {_local(ctx, due_at)}"
            if due_at and waits_for
            else r.state
        )
        sections = f" [{', '.join(s.split('@')[0] for s in r.sections)}]" if r.sections else ""
        print(
            f"--- #{r.id} {r.seller_id or '-'} {r.week or ''} {r.kind}{sections} -> "
            f"{r.platform}:{r.address} · {when} · template {r.template}"
            + (f" · policy {r.policy}" if r.policy else "")
            + (f" · last error: {r.last_error}" if r.last_error else "")
        )
        print(r.text)
    return EXIT_OK


async def cmd_preview(args: argparse.Namespace, ctx: Context) -> int:
    from bot.commands.service import Service
    from bot.notices.check import plan_week_messages, seller_ref
    from bot.notices.notice import body_for
    from bot.store import Chat

    seller = await ctx.store.sellers.get(args.seller)
    if seller is None:
        raise InputRejected(f"unknown seller {args.seller!r} (see normwacht seller list)")
    if args.week.monday > ctx.today():
        raise InputRejected(f"week {args.week} has not started yet")
    service = Service(ctx.store, ctx.config, ctx.clock)
    report = await service.report_for(seller, args.week)
    language = args.language or seller.language
    # A chat that follows only this seller, linked now: it would get every alert section.
    chat = Chat(0, args.platform, "preview", "preview", language, False, 1, 8, True, None)
    sources = await ctx.store.data.week_sources([seller.id], args.week)
    messages: list[tuple[str, dict[str, Any]]] = []
    if report is not None:
        for m in plan_week_messages(
            seller, report, [chat], {}, {}, sources.get(seller.id) or "upload"
        ):
            messages.append((f"alerts [{', '.join(s.split('@')[0] for s in m.sections)}]", m.body))
    if report is not None and report.has_data:
        previous = await service.report_for(seller, args.week.shift(-1))
        entry = {
            "seller": seller_ref(seller),
            "report": report,
            "previous": previous if previous is not None and previous.has_data else None,
            "missing": service.missing_weeks(report),
        }
        messages.append(("digest", body_for(chat, "digest", {"entries": [entry], "team": False})))
    if not messages:
        print(f"{seller.id} {args.week}: no figures and no alerts: nothing would be sent")
        return EXIT_OK
    for title, body in messages:
        print(f"--- {title} · {seller.id} {args.week} · {args.platform}, {language}")
        print(body["text"])
    print(f"(a preview: nothing was planned; policy {ctx.config.policy.name})", file=sys.stderr)
    return EXIT_OK


async def cmd_outbox_requeue(args: argparse.Namespace, ctx: Context) -> int:
    from bot.store.outbox import NotDead

    try:
        r = await ctx.store.outbox.requeue(args.message_id, ctx.now())
    except NotDead as exc:
        if exc.state is None:
            raise InputRejected(f"no message #{args.message_id} (see normwacht sent)") from exc
        raise InputRejected(
            f"message #{args.message_id} is {exc.state}, not dead: only a dead message is requeued"
        ) from exc
    print(
        f"requeued #{r.id} {r.seller_id or '-'} {r.week or ''} {r.kind} -> "
        f"{r.platform}:{r.address}: it goes at the next delivery round (normwacht run, or "
        "normwacht deliver)"
    )
    return EXIT_OK


async def cmd_keygen(args: argparse.Namespace, ctx: Context) -> int:
    from bot.bol.credentials import new_key

    if args.rotate:
        return await _rotate_keys(ctx)
    print(new_key())
    return EXIT_OK


async def _rotate_keys(ctx: Context) -> int:
    """Every stored credential sealed anew under the first key of NORMWACHT_SECRET_KEY."""
    from bot.bol.credentials import SecretBox, SecretError, keys_of

    if ctx.config.secret_key is None:
        raise InputRejected(
            "NORMWACHT_SECRET_KEY: required to rotate: list the new key first and the old "
            "one(s) after it, e.g. NORMWACHT_SECRET_KEY=NEW,OLD"
        )
    box = SecretBox(ctx.config.secret_key)
    store = await open_store(ctx.config, busy_wait_s=ctx.config.busy_wait_s)
    try:
        rotated = await store.sellers.reseal_credentials(box.reseal)
    except SecretError as exc:
        raise InputRejected(
            f"{exc}: list every key still in use after the new one; nothing was changed"
        ) from exc
    finally:
        await store.close()
    keys = len(keys_of(ctx.config.secret_key))
    print(f"re-encrypted the bol.com credentials of {rotated} seller(s) under the first key")
    if keys > 1:
        print(
            "the other key(s) of NORMWACHT_SECRET_KEY are no longer needed for them: "
            "remove them once every running normwacht has restarted with the new list",
            file=sys.stderr,
        )
    return EXIT_OK


# --- databases -------------------------------------------------------------------------


async def cmd_migrate(args: argparse.Namespace, ctx: Context) -> int:
    from bot.store.engine.schema import MIGRATIONS

    # Opening the store migrated it (on PostgreSQL under a lock that instances take in turn).
    db = ctx.store.db
    version = await db.schema_version()
    if version > len(MIGRATIONS):
        raise InputRejected(
            f"NORMWACHT_DB: {db.describe()} is at schema version {version}, newer than this "
            f"normwacht knows ({len(MIGRATIONS)}): upgrade normwacht"
        )
    print(f"normwacht: {db.describe()} is at schema version {version}")
    return EXIT_OK


async def cmd_db_copy(args: argparse.Namespace, ctx: Context) -> int:
    from bot.store.engine.copy import SKIPPED, RowRefused, TargetNotEmpty, copy_database

    source, target = args.source, args.target
    if not is_postgresql(source) and not Path(sqlite_path(source)).is_file():
        # Opening it would make an empty database there, and copy nothing from it.
        raise InputRejected(f"SRC {source}: no such file")
    if _same_database(source, target):
        raise InputRejected("SRC and DST are the same database")
    wait = ctx.config.busy_wait_s
    src = await open_target(source, "SRC", busy_wait_s=wait)
    try:
        dst = await open_target(target, "DST", busy_wait_s=wait)
        try:
            await _not_in_use("SRC", src, ctx.config.lease_s)
            await _not_in_use("DST", dst, ctx.config.lease_s)
            try:
                copied = await copy_database(src.db, dst.db)
            except TargetNotEmpty as exc:
                raise InputRejected(
                    f"DST {dst.db.describe()} is not empty ({exc}): db copy fills an empty "
                    "database only, it never merges; nothing was copied"
                ) from exc
            except RowRefused as exc:
                raise InputRejected(
                    f"DST {dst.db.describe()} refused a row of {exc}; nothing was copied, "
                    "DST is as empty as before"
                ) from exc
            for c in copied:
                print(f"{c.table}: {c.rows} row(s)")
            for table, why in SKIPPED.items():
                print(f"{table}: not copied ({why})")
            total = sum(c.rows for c in copied)
            print(f"copied {total} row(s) from {src.db.describe()} to {dst.db.describe()}")
        finally:
            await dst.close()
    finally:
        await src.close()
    return EXIT_OK


async def cmd_db_backup(args: argparse.Namespace, ctx: Context) -> int:
    from bot.store.engine.sqlite import SqliteDatabase

    db = ctx.store.db
    if not isinstance(db, SqliteDatabase):
        return _pg_dump_instead(args.dest, ctx.config.database)
    dest: Path = args.dest
    if dest.is_dir():
        moment = ctx.now().astimezone(ctx.config.timezone).strftime("%Y%m%dT%H%M%S")
        dest = dest / f"normwacht-{moment}.sqlite3"
    if dest.exists() or dest.is_symlink():
        raise InputRejected(f"DEST {dest}: exists already; a backup is written to a new file only")
    if not dest.parent.is_dir():
        raise InputRejected(f"DEST {dest}: no folder {dest.parent}")
    if Path(db.path).resolve() == dest.resolve():
        raise InputRejected("DEST is the database itself")
    partial = dest.with_name(f".{dest.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        await db.backup_into(partial)
        # Seen whole under its name or not at all: a crash leaves no half backup there.
        partial.rename(dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    size = dest.stat().st_size
    version = await db.schema_version()
    print(
        f"backed up {db.describe()} to {dest} ({size:,} bytes, schema version {version}); "
        "keep NORMWACHT_SECRET_KEY with it"
    )
    return EXIT_OK


def _pg_dump_instead(dest: Path, database: str) -> int:
    """PostgreSQL's own tool backs it up, consistently while normwacht runs: the command,
    without the password (pg_dump reads it from PGPASSWORD or ~/.pgpass)."""
    import shlex

    from bot.store.engine.base import password_of

    url = database
    if password_of(url) is not None:
        scheme, _, rest = url.partition("://")
        userinfo, _, host = rest.rpartition("@")
        url = f"{scheme}://{userinfo.partition(':')[0]}@{host}"
    print(f"pg_dump --format=custom --file={shlex.quote(str(dest))} {shlex.quote(url)}")
    print(
        "normwacht: db backup copies SQLite databases; back up PostgreSQL with the pg_dump "
        "command above (the password is left out: pg_dump reads it from PGPASSWORD or "
        "~/.pgpass) and restore into an empty database with pg_restore --dbname=URL FILE",
        file=sys.stderr,
    )
    return EXIT_REJECTED


async def _not_in_use(name: str, store: Store, period_s: float) -> None:
    """A bot still running on the source would write what the copy no longer sees; one
    running on the target would work on a database that fills up under it."""
    from bot.store.leases import Leases

    running = await Leases(store.db).alive(period_s)
    if running:
        more = f" and {len(running) - 1} more" if len(running) > 1 else ""
        raise InputRejected(
            f"{name} {store.db.describe()} is in use by normwacht {running[0]}{more}: stop it "
            "first (a killed one counts as stopped after NORMWACHT_LEASE_SECONDS); nothing "
            "was copied"
        )


def _same_database(source: str, target: str) -> bool:
    if is_postgresql(source) or is_postgresql(target):
        return source == target
    return Path(sqlite_path(source)).resolve() == Path(sqlite_path(target)).resolve()


# --- runtime ---------------------------------------------------------------------------


async def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    from bot.runtime.app import run_bot

    return await run_bot(ctx.config, ctx.clock, demo=args.demo)


async def cmd_chat(args: argparse.Namespace, ctx: Context) -> int:
    from bot.channels.console import ADMIN_ADDRESS, CONSOLE, ConsoleChat
    from bot.commands.service import Service

    service = Service(ctx.store, ctx.config, ctx.clock)
    await _complete_owed(ctx)
    if args.seller:
        seller = await ctx.store.sellers.get(args.seller)
        if seller is None:
            raise InputRejected(f"unknown seller {args.seller!r} (see normwacht seller list)")
        # A seller's own console chat speaks the seller's language from its first line.
        address = f"{ADMIN_ADDRESS}:{seller.id}"
        chat = await service.chat_for(CONSOLE, address, language=seller.language)
        await ctx.store.chats.link(chat.id, args.seller, "console", ctx.now())
        await ConsoleChat(service, chat, admin=False).serve()
    else:
        chat = await service.chat_for(CONSOLE, ADMIN_ADDRESS)
        await ConsoleChat(service, chat, admin=True).serve()
    return EXIT_OK


async def cmd_deliver(args: argparse.Namespace, ctx: Context) -> int:
    from bot.outbox.worker import DeliveryWorker
    from bot.runtime.app import delivery_senders, where
    from bot.runtime.health import Health
    from bot.runtime.instance import Instance

    # Messages a killed process still owed are planned first, and go out with the rest.
    await _complete_owed(ctx)
    # A platform that does not answer keeps its messages for a later run; the others'
    # messages go out all the same.
    health = Health(ctx.clock, log_outages=False)
    # Among the instances sharing the database: it takes over only dead ones' claims.
    instance = Instance(ctx.store, ctx.clock, period_s=ctx.config.lease_s)
    await instance.start()
    try:
        async with delivery_senders(ctx.config, health) as senders:
            worker = DeliveryWorker(
                ctx.store, senders, ctx.config, ctx.clock, is_up=health.is_up, instance=instance
            )
            recovered = await worker.start()
            sent = await worker.run_once()
    finally:
        await instance.stop()
    counts = await ctx.store.outbox.counts()
    waits = counts.get("pending", 0) + counts.get("failed", 0)
    note = f", {recovered} recovered from an interrupted run" if recovered else ""
    down = frozenset(p for p in health.states() if not health.is_up(p))
    why = await _waiting_reasons(ctx, down)
    print(
        f"sent {sent} message(s){note}; {waits} waiting{why}; {counts.get('dead', 0)} undeliverable"
    )
    for platform in ("telegram", "slack"):
        if platform in health.states() and not health.is_up(platform):
            held = await ctx.store.outbox.waiting_for(platform)
            print(
                f"{where(platform, ctx.config)} did not answer: {held} message(s) wait for it",
                file=sys.stderr,
            )
    return EXIT_OK


async def _waiting_reasons(ctx: Context, down: frozenset[str]) -> str:
    """`` (quiet hours: 2, until 2026-11-20 08:00 CET; platform down: 1)``: what the
    waiting messages wait for, and until when (the earliest of each reason)."""
    from bot.outbox.worker import waiting

    now = ctx.now()
    earliest: dict[str, datetime] = {}
    counts: Counter[str] = Counter()
    for platform, urgent, state, next_at, reason in await ctx.store.outbox.unsent():
        if state == "sending":
            continue
        due_at, why = waiting(
            platform=platform,
            urgent=urgent,
            state=state,
            next_attempt_at=next_at,
            reason=reason,
            now=now,
            config=ctx.config,
            down=down,
        )
        if due_at is None or why is None:
            continue
        counts[why] += 1
        earliest[why] = min(due_at, earliest.get(why, due_at))
    if not counts:
        return ""
    parts = []
    for why, n in counts.most_common():
        until = earliest[why]
        parts.append(f"{why}: {n}" + (f", until {_local(ctx, until)}" if until > now else ""))
    return f" ({'; '.join(parts)})"


def _local(ctx: Context, moment: datetime, form: str = "%Y-%m-%d %H:%M %Z") -> str:
    return moment.astimezone(ctx.config.timezone).strftime(form)


async def cmd_digest(args: argparse.Namespace, ctx: Context) -> int:
    from bot.commands.service import Service
    from bot.notices.digest import plan_digests

    for seller_id in args.seller:
        await _known_seller(ctx, seller_id)
    # A recheck a killed process still owed comes before the digest that sums it up.
    await _complete_owed(ctx)
    service = Service(ctx.store, ctx.config, ctx.clock)
    planned = await plan_digests(service, now=ctx.now(), seller_ids=args.seller or None)
    print(f"planned {planned} digest(s)")
    return EXIT_OK


async def cmd_poll(args: argparse.Namespace, ctx: Context) -> int:
    from bot.bol.poll import poll_week

    for seller_id in args.seller:
        await _known_seller(ctx, seller_id)
    if ctx.config.secret_key is None:
        raise InputRejected("NORMWACHT_SECRET_KEY: required to read stored credentials")
    with_credentials = set(await ctx.store.sellers.with_credentials())
    lacking = [s for s in args.seller if s not in with_credentials]
    if lacking:
        raise InputRejected(
            f"no bol.com credentials for {', '.join(lacking)}: store them with "
            "normwacht seller credentials ID --client-id CID, or /connect in Telegram"
        )
    summary = await poll_week(
        ctx.store,
        ctx.config,
        args.week,
        now=ctx.now(),
        seller_ids=args.seller or None,
        show_progress=sys.stderr.isatty(),
    )
    print(summary.describe())
    return EXIT_OK if not summary.failed else EXIT_FAILURE
