"""``normwacht run`` and ``normwacht chat``: the bot itself, and its console chat."""

from __future__ import annotations

import argparse

from bot.cli.common import EXIT_OK, Commands, Context, InputRejected, complete_owed, example


def add_run(sub: Commands) -> None:
    run = sub.add_parser(
        "run",
        help="start the bot: channels, scheduler and delivery",
        description="Start the bot: every configured chat platform, the scheduler and the "
        "delivery worker. With no chat token set: the console chat on the sample shops, "
        "kept in a database of their own (demo.sqlite3 beside NORMWACHT_DB's file, "
        "data/demo.sqlite3 by default), never in NORMWACHT_DB.",
        **example("normwacht run --demo"),
    )
    run.add_argument("--demo", action="store_true", help="start on a fresh copy of the sample data")
    # It opens a database all the same (the demo's or NORMWACHT_DB), after its own checks.
    run.set_defaults(handler=cmd_run, needs_store=False, opens_database=True)


def add_chat(sub: Commands) -> None:
    chat = sub.add_parser(
        "chat",
        help="the console chat (the same commands as Telegram)",
        **example("normwacht chat --seller shop-1"),
    )
    chat.add_argument("--seller", help="follow this seller (default: all)")
    chat.set_defaults(handler=cmd_chat)


async def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in aiohttp and the chat libraries; --help needs none of them.
    from bot.runtime.app import run_bot

    return await run_bot(ctx.config, ctx.clock, demo=args.demo)


async def cmd_chat(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in openpyxl and numpy (through the importer); --help needs neither.
    from bot.channels.console import ADMIN_ADDRESS, CONSOLE, ConsoleChat
    from bot.commands.service import Service

    service = Service(ctx.store, ctx.config, ctx.clock)
    await complete_owed(ctx)
    if args.seller:
        seller = await ctx.store.sellers.get(args.seller)
        if seller is None:
            raise InputRejected(f"unknown seller {args.seller!r} (see normwacht seller list)")
        # A seller's own console chat speaks the seller's language from its first line.
        address = f"{ADMIN_ADDRESS}:{seller.id}"
        chat = await service.chat_for(CONSOLE, address, language=seller.language)
        await ctx.store.chats.link(chat.id, args.seller, CONSOLE, ctx.now())
        await ConsoleChat(service, chat, admin=False).serve()
    else:
        chat = await service.chat_for(CONSOLE, ADMIN_ADDRESS)
        await ConsoleChat(service, chat, admin=True).serve()
    return EXIT_OK
