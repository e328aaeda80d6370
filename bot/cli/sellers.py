"""``normwacht seller`` (add, list, credentials, link-code, reopen) and ``normwacht plan``."""

from __future__ import annotations

import argparse
import json
import sys

from bot.bol.credentials import SecretBox
from bot.cli.common import (
    EXIT_OK,
    Commands,
    Context,
    InputRejected,
    complete_owed,
    example,
    known_seller,
)
from bot.seller_ids import control_problem, seller_id_problem
from bot.store import SellerExists
from messages import LANGUAGES
from norms.track import plan_may_become


def add_seller(sub: Commands) -> None:
    seller = sub.add_parser(
        "seller",
        help="add, list and link sellers",
        **example("normwacht seller add shop-1 --name 'My Shop'"),
    )
    ssub = seller.add_subparsers(dest="seller_command", required=True, metavar="ACTION")
    add = ssub.add_parser(
        "add",
        help="add a seller",
        **example("normwacht seller add shop-1 --name 'My Shop' --language en"),
    )
    add.add_argument("id", help="the seller id used in data files (e.g. shop-1)")
    add.add_argument("--name", required=True, help="the shop name people read")
    add.add_argument("--language", choices=LANGUAGES, help="language of its messages")
    add.set_defaults(handler=cmd_seller_add)
    slist = ssub.add_parser(
        "list",
        help="list the sellers: id, name, language, where their data comes from",
        **example("normwacht seller list --json"),
    )
    slist.add_argument("--json", action="store_true", help="one JSON object per seller a line")
    slist.set_defaults(handler=cmd_seller_list)
    cred = ssub.add_parser(
        "credentials",
        help="store bol.com API credentials (the secret is read from stdin)",
        **example("normwacht seller credentials shop-1 --client-id CID < secret.txt"),
    )
    cred.add_argument("id", help="the seller id")
    cred.add_argument("--client-id", required=True, help="the client id of the bol.com API key")
    cred.set_defaults(handler=cmd_seller_credentials)
    code = ssub.add_parser(
        "link-code",
        help="print a one-time code that links a chat",
        **example("normwacht seller link-code shop-1"),
    )
    code.add_argument("id", help="the seller id")
    code.set_defaults(handler=cmd_seller_link_code)
    reopen = ssub.add_parser(
        "reopen",
        help="reopen a seller whose track was closed",
        **example("normwacht seller reopen shop-1"),
    )
    reopen.add_argument("id", help="the seller id")
    reopen.set_defaults(handler=cmd_seller_reopen)


def add_plan(sub: Commands) -> None:
    plan = sub.add_parser(
        "plan",
        help="record an improvement plan as submitted or approved",
        **example("normwacht plan submitted shop-1"),
    )
    plan.add_argument("status", choices=("submitted", "approved"), help="what happened to it")
    plan.add_argument("id", help="the seller id")
    plan.set_defaults(handler=cmd_plan)


async def cmd_seller_add(args: argparse.Namespace, ctx: Context) -> int:

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
    await complete_owed(ctx)
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


async def cmd_seller_credentials(args: argparse.Namespace, ctx: Context) -> int:
    await known_seller(ctx, args.id)
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
    await complete_owed(ctx)
    return EXIT_OK


async def cmd_seller_link_code(args: argparse.Namespace, ctx: Context) -> int:
    await known_seller(ctx, args.id)
    code = await ctx.store.chats.create_link_code(args.id, ctx.now())
    print(code)
    print(
        f"Send /start {code} to the bot in Telegram (valid 7 days, once) to link that chat "
        f"to {args.id}.",
        file=sys.stderr,
    )
    await complete_owed(ctx)
    return EXIT_OK


async def cmd_seller_reopen(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in openpyxl and numpy (through the importer); --help needs neither.
    from bot.commands.service import Service

    await known_seller(ctx, args.id)
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
    await complete_owed(ctx)
    return EXIT_OK


async def cmd_plan(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in openpyxl and numpy (through the importer); --help needs neither.
    from bot.commands.service import Service

    await known_seller(ctx, args.id)
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
    await complete_owed(ctx)
    return EXIT_OK
