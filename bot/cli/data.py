"""``normwacht import`` and ``normwacht exempt`` (add, remove, list): the figures and the
weeks bol.com does not count."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Commands,
    Context,
    InputRejected,
    complete_owed,
    example,
    indicator_arg,
    known_seller,
    moment,
    week_arg,
)
from bot.progress import Progress
from bot.seller_ids import control_problem
from bot.store import ExemptionExists
from bot.store.records import ExemptionRecord
from norms import Exemption

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


def add_import(sub: Commands) -> None:
    imp = sub.add_parser(
        "import",
        help="import weekly data (CSV, XLSX, JSON) in one transaction",
        description=IMPORT_FORMAT,
        **example("normwacht import week46.csv ratings.csv --create-sellers"),
    )
    imp.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="CSV, XLSX or JSON files to import"
    )
    imp.add_argument(
        "--create-sellers", action="store_true", help="add unknown sellers instead of refusing"
    )
    imp.set_defaults(handler=cmd_import)


def add_exempt(sub: Commands) -> None:
    exempt = sub.add_parser(
        "exempt", help="declare weeks bol.com does not count", **example("normwacht exempt list")
    )
    esub = exempt.add_subparsers(dest="exempt_command", required=True, metavar="ACTION")
    eadd = esub.add_parser(
        "add",
        help="declare an exemption",
        description="Declare a week (or some norms of it) that bol.com does not count, for "
        "some sellers or all. Weeks already checked are checked again at once. An exemption "
        "for every seller or every norm needs --yes.",
        **example(
            "normwacht exempt add --week 2026-W46 --indicator FULFILMENT "
            "--seller shop-1 --reason 'PostNL strike'"
        ),
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
        **example("normwacht exempt list --json"),
    )
    elist.add_argument("--json", action="store_true", help="one JSON object per exemption a line")
    elist.set_defaults(handler=cmd_exempt_list)
    eremove = esub.add_parser(
        "remove",
        help="take an exemption back (its id from exempt list); checked weeks are rechecked",
        **example("normwacht exempt remove 3"),
    )
    eremove.add_argument("exemption_id", type=int, metavar="ID", help="the id from exempt list")
    eremove.set_defaults(handler=cmd_exempt_remove)


async def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
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
            timezone=ctx.config.timezone,
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
    rechecked = await complete_owed(ctx)
    weeks = sorted({w for _, w in result.weeks})
    span = f"{weeks[0]}..{weeks[-1]}" if len(weeks) > 1 else (str(weeks[0]) if weeks else "")
    during = f", weeks {span}" if len(weeks) > 1 else (f", week {span}" if weeks else "")
    print(f"imported {result.describe()} for {len(result.sellers)} seller(s){during}")
    if result.created_sellers:
        print(f"added seller(s): {', '.join(result.created_sellers)}")
    if rechecked:
        print(f"weeks already checked were checked again: {rechecked} new message(s) planned")
    return EXIT_OK


async def cmd_exempt_add(args: argparse.Namespace, ctx: Context) -> int:

    if not args.reason.strip():
        raise InputRejected("--reason must not be empty")
    if problem := control_problem("--reason", args.reason):
        raise InputRejected(problem)
    if args.week.monday > ctx.today():
        raise InputRejected(f"week {args.week} has not started yet")
    for seller_id in args.seller:
        await known_seller(ctx, seller_id)
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
    planned = await complete_owed(ctx)
    if planned:
        print(f"weeks already checked were checked again: {planned} new message(s) planned")
    return EXIT_OK


async def cmd_exempt_remove(args: argparse.Namespace, ctx: Context) -> int:
    removed = await ctx.store.data.remove_exemption(args.exemption_id, ctx.now())
    if removed is None:
        raise InputRejected(f"no exemption #{args.exemption_id} (see normwacht exempt list)")
    print(f"removed #{removed.id} {_describe(removed.exemption)}")
    planned = await complete_owed(ctx)
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
                "created_at": moment(ctx, r.created_at),
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
        print(f"{r.id}\t{e.week}\t{what}\t{who}\t{e.reason}\t{by}\t{moment(ctx, r.created_at)}")
    return EXIT_OK
