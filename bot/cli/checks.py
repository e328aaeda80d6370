"""``normwacht check``, ``poll``, ``deliver``, ``digest``, ``sent``, ``preview`` and
``outbox requeue``: the weekly round by hand, and what it sent."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import datetime
from typing import Any

from bot.channels.platforms import CONSOLE, PLATFORMS
from bot.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Commands,
    Context,
    InputRejected,
    complete_owed,
    example,
    known_seller,
    local,
    moment,
    week_arg,
)
from bot.notices.notice import body_for
from bot.outbox.waiting import waiting
from bot.outbox.worker import DeliveryWorker
from bot.runtime.health import Health
from bot.runtime.instance import Instance
from bot.store import Chat
from bot.store.outbox import NotDead, SentRecord
from messages import LANGUAGES
from norms import IsoWeek, WeekReport


def add_check(sub: Commands) -> None:
    check = sub.add_parser(
        "check",
        help="evaluate a week and plan its notifications",
        **example("normwacht check --week 2026-W46 --seller shop-1 --dry-run"),
    )
    check.add_argument(
        "--week", required=True, type=week_arg, help="a finished ISO week, e.g. 2026-W46"
    )
    check.add_argument(
        "--seller", action="append", default=[], help="only this seller id (repeat for more)"
    )
    check.add_argument("--dry-run", action="store_true", help="plan nothing")
    check.add_argument("--json", action="store_true", help="one JSON object per seller per line")
    check.set_defaults(handler=cmd_check, finished_week="check takes")


def add_poll(sub: Commands) -> None:
    poll = sub.add_parser(
        "poll",
        help="fetch a week from the bol.com API",
        **example("normwacht poll --week 2026-W46 --seller shop-1"),
    )
    poll.add_argument(
        "--week", required=True, type=week_arg, help="a finished ISO week, e.g. 2026-W46"
    )
    poll.add_argument(
        "--seller",
        action="append",
        default=[],
        help="only this seller id, which must have credentials (repeat for more)",
    )
    poll.set_defaults(handler=cmd_poll, finished_week="poll fetches")


def add_deliver(sub: Commands) -> None:
    sub.add_parser(
        "deliver",
        help="send what is due in the outbox, then exit (when the bot is not running)",
        **example("normwacht deliver"),
    ).set_defaults(handler=cmd_deliver)


def add_digest(sub: Commands) -> None:
    digest = sub.add_parser(
        "digest", help="plan the weekly digest now", **example("normwacht digest --seller shop-1")
    )
    digest.add_argument(
        "--seller", action="append", default=[], help="only this seller id (repeat for more)"
    )
    digest.set_defaults(handler=cmd_digest)


def add_sent(sub: Commands) -> None:
    sent = sub.add_parser(
        "sent",
        help="what was sent, when, to whom, and its text",
        **example("normwacht sent --seller shop-1 --week 2026-W46"),
    )
    sent.add_argument("--seller", help="only messages about this seller id")
    sent.add_argument("--week", type=week_arg, help="only messages about this week, e.g. 2026-W46")
    sent.add_argument("--json", action="store_true", help="one JSON object per message a line")
    sent.set_defaults(handler=cmd_sent)


def add_preview(sub: Commands) -> None:
    preview = sub.add_parser(
        "preview",
        help="show what would be sent about a seller's week, planning nothing",
        description="Render the messages a chat would get about the seller's week: the week's "
        "alerts (all of them, as a chat linked now would get them) and the weekly digest, in "
        "the chosen language and platform format. Nothing is planned or stored.",
        **example(
            "normwacht preview --seller shop-1 --week 2026-W46 --language fr --platform slack"
        ),
    )
    preview.add_argument("--seller", required=True, help="the seller id")
    preview.add_argument("--week", required=True, type=week_arg, help="the ISO week, e.g. 2026-W46")
    preview.add_argument(
        "--language", choices=LANGUAGES, help="the chat's language (default: the seller's)"
    )
    preview.add_argument(
        "--platform",
        choices=tuple(PLATFORMS),
        default=CONSOLE.name,
        help="the format: console (plain text, the default), telegram (HTML), slack (mrkdwn)",
    )
    preview.set_defaults(handler=cmd_preview)


def add_outbox(sub: Commands) -> None:
    outbox = sub.add_parser(
        "outbox",
        help="messages that could not be delivered",
        **example("normwacht outbox requeue 42"),
    )
    osub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    requeue = osub.add_parser(
        "requeue",
        help="send a dead message again (its id from normwacht sent)",
        description="A message that went dead (the chat blocked the bot, the platform refused "
        "it, too many attempts) goes again at the next delivery round, its attempts counted "
        "afresh; its chat counts as reachable again. Fix what stopped it first.",
        **example("normwacht outbox requeue 42"),
    )
    requeue.add_argument("message_id", type=int, metavar="ID", help="the message's id (#ID)")
    requeue.set_defaults(handler=cmd_outbox_requeue)


async def cmd_check(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in openpyxl and numpy (through the importer); --help needs neither.
    from bot.notices.check import run_check
    from bot.notices.owed_work import check_week

    for seller_id in args.seller:
        await known_seller(ctx, seller_id)
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
    # bol.com's own verdict as last fetched by the check's moment: no snapshot, no claim.
    statuses = (
        await ctx.store.bol_statuses.latest(args.seller or None, at=ctx.now()) if args.json else {}
    )

    def show(report: WeekReport) -> None:
        if args.json:
            line = report.to_json(statuses.get(report.seller_id))
            print(json.dumps(line, ensure_ascii=False))
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
            timezone=ctx.config.timezone,
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


async def cmd_poll(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in httpx and openpyxl (through the importer); --help needs neither.
    from bot.bol.poll import poll_week

    for seller_id in args.seller:
        await known_seller(ctx, seller_id)
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


async def cmd_digest(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in openpyxl and numpy (through the importer); --help needs neither.
    from bot.commands.service import Service
    from bot.notices.digest import plan_digests

    for seller_id in args.seller:
        await known_seller(ctx, seller_id)
    # A recheck a killed process still owed comes before the digest that sums it up.
    await complete_owed(ctx)
    service = Service(ctx.store, ctx.config, ctx.clock)
    planned = await plan_digests(service, now=ctx.now(), seller_ids=args.seller or None)
    print(f"planned {planned} digest(s)")
    return EXIT_OK


async def cmd_deliver(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in aiohttp and the chat libraries; --help needs none of them.
    from bot.channels.platforms import chat_platforms
    from bot.runtime.app import delivery_senders

    # Messages a killed process still owed are planned first, and go out with the rest.
    await complete_owed(ctx)
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
    for chats in chat_platforms(ctx.config):
        if chats.name in health.states() and not health.is_up(chats.name):
            held = await ctx.store.outbox.waiting_for(chats.name)
            print(
                f"{chats.where(ctx.config)} did not answer: {held} message(s) wait for it",
                file=sys.stderr,
            )
    return EXIT_OK


async def _waiting_reasons(ctx: Context, down: frozenset[str]) -> str:
    """`` (quiet hours: 2, until 2026-11-20 08:00 CET; platform down: 1)``: what the
    waiting messages wait for, and until when (the earliest of each reason)."""
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
        parts.append(f"{why}: {n}" + (f", until {local(ctx, until)}" if until > now else ""))
    return f" ({'; '.join(parts)})"


async def cmd_sent(args: argparse.Namespace, ctx: Context) -> int:
    if args.seller:
        await known_seller(ctx, args.seller)  # a typo is no "nothing was sent"
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
                "sent_at": moment(ctx, r.sent_at) if r.sent_at else None,
                "template": r.template,
                "policy": r.policy,
                "last_error": r.last_error,
                "due": moment(ctx, due_at) if due_at else None,
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
            local(ctx, r.sent_at)
            if r.sent_at
            else f"{r.state}: waiting for {waits_for}, due {local(ctx, due_at)}"
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
    # Deferred: it pulls in openpyxl and numpy (through the importer); --help needs neither.
    from bot.commands.service import Service
    from bot.notices.bolweek import bol_weeks
    from bot.notices.check import plan_week_messages, seller_ref

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
    tz = ctx.config.timezone
    bol = await bol_weeks(
        ctx.store, ctx.config.policy, [seller.id], args.week, now=ctx.now(), timezone=tz
    )
    if report is not None:
        for m in plan_week_messages(
            seller,
            report,
            [chat],
            {},
            {},
            sources.get(seller.id) or "upload",
            bol=bol.get(seller.id),
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
        if (told := await service.bol_status(seller)) is not None:
            entry["bol"], entry["bol_previous"] = told
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
