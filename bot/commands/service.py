"""Every chat command, written once. Channels translate updates in and ``Reply``s out.

A reply is channel-neutral: a message kind with its data (rendered by ``messages`` for
the channel's format and the chat's language), optionally a picture, or a choice of
sellers to ask about.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bot.clock import Clock
from bot.commands.exempt_args import looks_like_indicator, nearest_indicator
from bot.commands.seller_names import matching
from bot.config import Config
from bot.notices.check import seller_ref
from bot.notices.reports import report_of, seller_reports
from bot.store import Chat, ExemptionExists, PlannedMessage, Seller, Store
from bot.store.chats import LINK_CODE_TTL, WRONG_CODES_ALLOWED, WRONG_CODES_WINDOW, LinkWait
from messages import LANGUAGES, SellerRef, history_chart, render
from norms import Exemption, Indicator, IsoWeek, WeekReport
from norms.track import plan_may_become

T = TypeVar("T")

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# How long a chat's message waits for a database that went away, before the chat is
# asked to try again.
CHAT_PATIENCE_S = 30.0
HISTORY_DEFAULT_WEEKS = 12
# A chart of every week stored (beyond bol.com's own 30) is a feature: up to ten years.
HISTORY_MIN_WEEKS = 2
HISTORY_MAX_WEEKS = 520
MAX_LISTED_ISSUES = 15
REPORT_CACHE_SIZE = 2000
# How long /connect waits for the client id and secret, and a broad exemption for its yes.
CONNECT_TTL = timedelta(minutes=10)
MAX_SELLERS_LOOKED_THROUGH = 100
# /history's number of weeks: a sign is read too, so "-3" is refused, not a seller's name.
_WEEKS_WORD = re.compile(r"[+-]?[0-9]+")
# Commands that, in a chat with several sellers, answer with one line per seller.
OVERVIEWS = ("score", "status")
# Marks a plan as submitted: never run for every seller of a chat at once.
PLAN_DONE = "plan done"
# The conversation state of an exemption waiting for its confirmation.
EXEMPT_CONFIRM = "exempt_confirm"

# Checks bol.com credentials with a token request: None when good, else the reason.
CredentialCheck = Callable[[str, str], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class ChatContext:
    """Who is talking: the chat (destination) and the user in it."""

    chat: Chat
    user_id: str | None
    is_admin: bool = False

    @property
    def actor(self) -> str:
        return f"{self.chat.platform}:{self.user_id or self.chat.address}"


@dataclass(frozen=True, slots=True)
class Reply:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    image: bytes | None = None
    # Ask which seller: the command to run again with the chosen seller's id.
    choices: tuple[SellerRef, ...] = ()
    command: str | None = None
    # The message that prompted this reply held a secret: delete it from the chat.
    delete_prompt: bool = False


COMMANDS = (
    "start",
    "help",
    "score",
    "goldlabel",
    "status",
    "plan",
    "history",
    "digest",
    "sellers",
    "language",
    "mute",
    "unmute",
    "connect",
)
# Operators only (NORMWACHT_ADMINS): not in the public command menu.
ADMIN_COMMANDS = ("linkcode", "exempt")
_OPEN_TO_UNLINKED = {"start", "help", "language"}


class Service:
    def __init__(
        self,
        store: Store,
        config: Config,
        clock: Clock,
        check_credentials: CredentialCheck | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.check_credentials = check_credentials
        # Reports are derived data: cached until anything in the database changes.
        self._reports: dict[tuple[str, IsoWeek, bool, tuple[int, int]], WeekReport | None] = {}

    # --- entry points ------------------------------------------------------------------

    async def patiently(self, answer: Callable[[], Awaitable[T]]) -> T:
        """Answer a chat's message; while the database is briefly away, once it is back
        (for up to ``CHAT_PATIENCE_S``; then the outage's error is raised, for the channel
        to say "try again in a minute")."""
        return await self.store.db.patiently(answer, limit_s=CHAT_PATIENCE_S)

    async def chat_for(
        self, platform: str, address: str, title: str = "", *, language: str | None = None
    ) -> Chat:
        """The chat, created on first contact in ``language`` (the user's, when the platform
        tells it and we speak it) or else the configured default."""
        first = language if language in LANGUAGES else self.config.language
        return await self.store.chats.get_or_create(
            platform, address, language=first, now=self.clock(), title=title
        )

    async def handle(self, ctx: ChatContext, text: str) -> list[Reply]:
        """Answer one message of a chat."""
        text = text.strip()
        pending = await self.store.chats.conversation(ctx.chat.id)
        # A confirmation is judged when it is pressed: a stranger's press must not cancel it.
        if (
            pending is not None
            and pending[0] != EXEMPT_CONFIRM
            and not self._still_open(ctx, pending[1])
        ):
            await self.store.chats.set_conversation(ctx.chat.id, None, {}, self.clock())
            pending = None
        if pending is not None and not text.startswith("/") and pending[0] != EXEMPT_CONFIRM:
            return await self._continue_connect(ctx, pending[0], pending[1], text)
        if not text.startswith("/"):
            return [Reply("help", {"admin": ctx.is_admin})]
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        command = words[0][1:].split("@", 1)[0].lower()
        args = words[1:]
        if command in ADMIN_COMMANDS and not ctx.is_admin:
            return [Reply("not_admin")]
        if command not in COMMANDS and command not in ADMIN_COMMANDS:
            return [Reply("unknown_command", {"command": words[0]})]
        if pending is not None and not (command == "exempt" and pending[0] == EXEMPT_CONFIRM):
            # A new command abandons a half-finished /connect or an unconfirmed exemption.
            await self.store.chats.set_conversation(ctx.chat.id, None, {}, self.clock())
        restricted = command not in _OPEN_TO_UNLINKED and not ctx.is_admin
        if restricted and not await self.store.chats.sellers_of(ctx.chat.id):
            return [Reply("who_are_you")]
        handler = getattr(self, f"_cmd_{command}")
        result: list[Reply] = await handler(ctx, args)
        return result

    async def handle_upload(self, ctx: ChatContext, path: Path, filename: str) -> list[Reply]:
        """Import a document sent to the chat, for the chat's own sellers only."""
        from bot.imports import ImportFile, ImportRejected, import_files

        sellers = await self._visible_sellers(ctx)
        if not sellers:
            return [Reply("who_are_you")]
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            return [self.upload_too_big(filename, path.stat().st_size)]
        now = self.clock()
        try:
            result = await import_files(
                self.store,
                [ImportFile(path, filename)],
                policy=self.config.policy,
                today=self._today(now),
                now=now,
                allowed_sellers=None if ctx.is_admin else {s.id for s in sellers},
                language=ctx.chat.language,
            )
        except ImportRejected as exc:
            # Each issue names where and why; the template says it in the chat's language.
            listed = exc.issues[:MAX_LISTED_ISSUES]
            return [
                Reply(
                    "upload_rejected",
                    {"file": filename, "issues": listed, "more": exc.total - len(listed)},
                )
            ]
        await self.complete_owed_work(now)
        named = {s.id: s for s in await self.store.sellers.some(sorted(result.sellers))}
        return [
            Reply(
                "upload_ok",
                {
                    "file": filename,
                    "rows": result.measurements + result.ratings,
                    "weeks": sorted({w for _, w in result.weeks}),
                    "sellers": [seller_ref(named[s]) for s in sorted(named)],
                },
            )
        ]

    def upload_too_big(self, filename: str, size: int) -> Reply:
        from bot.ingest.rows import Issue, too_big

        issue = Issue(filename, 0, 0, too_big(size, MAX_UPLOAD_BYTES))
        return Reply("upload_rejected", {"file": filename, "issues": [issue], "more": 0})

    # --- helpers -----------------------------------------------------------------------

    async def complete_owed_work(self, now: datetime) -> int:
        """Do the rechecks a change just recorded as owed (and any left from a crash)."""
        from bot.notices.owed_work import complete_owed_work

        return await complete_owed_work(self.store, self.config, now=now)

    def _today(self, now: datetime) -> Any:
        return now.astimezone(self.config.timezone).date()

    def last_complete_week(self) -> IsoWeek:
        return IsoWeek.containing(self.clock(), self.config.timezone).shift(-1)

    async def _visible_sellers(self, ctx: ChatContext) -> list[Seller]:
        linked = await self.store.chats.sellers_of(ctx.chat.id)
        if ctx.is_admin and not linked:
            return await self.store.sellers.all()
        return linked

    async def _resolve(
        self, ctx: ChatContext, command: str, args: list[str]
    ) -> tuple[Seller | None, list[str], Reply | None]:
        """The seller a command is about: named in ``args`` or the chat's only one."""
        visible = await self._visible_sellers(ctx)
        named = args
        if named:
            searched = visible if not ctx.is_admin else await self.store.sellers.all()
            # Every word is the name: "/score Snel Koffie" is not "Snel" with a stray word.
            query = " ".join(named)
            found = matching(searched, query)
            if len(found) == 1:
                return found[0], args[len(named) :], None
            if found:
                return None, args, self._choose(command, found)
            return None, args, Reply("unknown_seller", {"query": query})
        if len(visible) == 1:
            return visible[0], args, None
        if not visible:
            return None, args, Reply("who_are_you")
        return None, args, self._choose(command, visible)

    async def _overview(self, kind: str, choice: Reply) -> Reply:
        """A chat with several sellers: one line each, and a button each for the details
        (too many to look through: only the choice)."""
        if len(choice.choices) > MAX_SELLERS_LOOKED_THROUGH:
            return choice
        entries = []
        for seller in await self._sellers_of_choice(choice):
            report = await self.report_for(seller)
            if report is not None:
                entry = {"seller": seller_ref(seller), "report": report}
                entries.append({**entry, "missing": self.missing_weeks(report)})
        if not entries:
            return choice
        return Reply(
            "overview",
            {"command": kind, "entries": entries},
            choices=choice.choices,
            command=kind,
        )

    async def _sellers_of_choice(self, choice: Reply) -> list[Seller]:
        return await self.store.sellers.some([ref.id for ref in choice.choices])

    async def _owes_plan(self, seller: Seller) -> bool:
        report = await self.report_for(seller)
        return report is not None and report.track is not None and report.track.plan == "required"

    def _choose(self, command: str, sellers: list[Seller]) -> Reply:
        """Ask which of ``sellers``: a button each runs ``command`` again for it."""
        refs = tuple(seller_ref(s) for s in sellers)
        return Reply(
            "choose_seller",
            {"command": command, "sellers": list(refs)},
            choices=refs,
            command=command,
        )

    async def report_for(self, seller: Seller, week: IsoWeek | None = None) -> WeekReport | None:
        """The seller's report for ``week`` (default: the last complete week with data)."""
        limit = week or self.last_complete_week()
        key = (seller.id, limit, week is None, await self.store.db.version())
        if key in self._reports:
            return self._reports[key]
        target = week
        if target is None:
            latest = await self.store.data.last_week_with_data(seller.id)
            target = min(limit, latest) if latest is not None else None
        report = None
        if target is not None:
            report = await report_of(self.store, self.config.policy, seller.id, target)
        if len(self._reports) >= REPORT_CACHE_SIZE:
            self._reports.clear()
        self._reports[key] = report
        return report

    async def _seller_reply(self, ctx: ChatContext, kind: str, args: list[str]) -> list[Reply]:
        seller, _, problem = await self._resolve(ctx, kind, args)
        # No seller named in a chat with several: all at a glance (an ambiguous name asks).
        overview = not args and kind in OVERVIEWS
        if problem is not None and problem.kind == "choose_seller" and overview:
            return [await self._overview(kind, problem)]
        if problem is not None:
            return [problem]
        assert seller is not None
        report = await self.report_for(seller)
        # /connect is suggested only to a seller whose figures do not come from bol.com.
        connected = await self.store.sellers.connected(seller.id)
        if report is None:
            return [Reply("no_data", {"seller": seller_ref(seller), "connected": connected})]
        data = {"seller": seller_ref(seller), "report": report, "connected": connected}
        return [Reply(kind, {**data, "missing": self.missing_weeks(report)})]

    def missing_weeks(self, report: WeekReport) -> list[IsoWeek]:
        """The complete weeks after the report's that have no figures yet: an old week
        must never pass for the current one."""
        return report.week.shift(1).until(self.last_complete_week())

    # --- commands ----------------------------------------------------------------------

    async def _cmd_start(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        if not args:
            if await self.store.chats.sellers_of(ctx.chat.id):
                return [Reply("help", {"admin": ctx.is_admin})]
            return [Reply("who_are_you")]
        now = self.clock()
        outcome = await self.store.chats.redeem_link_code(
            args[0], ctx.chat.id, ctx.actor, now, when_guessing=await self._guessing(ctx, now)
        )
        if isinstance(outcome, LinkWait):
            at = outcome.until.astimezone(self.config.timezone)
            if at.second or at.microsecond:  # up to the minute: "after 10:43" is never early
                at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
            return [Reply("link_wait", {"at": at.strftime("%H:%M")})]
        if outcome in ("unknown", "used", "expired"):
            # Whether a code existed, was used or expired is for operators only: a stranger
            # learns nothing about which codes were ever made.
            return [Reply("link_failed", {"reason": outcome if ctx.is_admin else "refused"})]
        seller = await self.store.sellers.get(outcome)
        assert seller is not None
        return [Reply("link_ok", {"seller": seller_ref(seller)}), *await self._status_now(seller)]

    async def _status_now(self, seller: Seller) -> list[Reply]:
        """A chat linked mid-week learns where the seller stands now, not at the digest."""
        report = await self.report_for(seller)
        if report is None:
            return []
        connected = await self.store.sellers.connected(seller.id)
        data = {"seller": seller_ref(seller), "report": report, "connected": connected}
        return [Reply("status", {**data, "missing": self.missing_weeks(report)})]

    async def _guessing(self, ctx: ChatContext, now: datetime) -> list[PlannedMessage]:
        """The admins' notice about a chat that keeps sending codes that do not work."""
        from bot.notices.admins import admin_messages

        data = {
            "destination": f"{ctx.chat.platform}:{ctx.chat.address}",
            "attempts": WRONG_CODES_ALLOWED,
            "minutes": WRONG_CODES_WINDOW.seconds // 60,
        }
        # Told once per chat, however often it comes back to guess.
        key = f"link_guessing:{ctx.chat.id}"
        return await admin_messages(
            self.store, self.config, "link_guessing", data, key=key, now=now
        )

    async def _cmd_help(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        return [Reply("help", {"admin": ctx.is_admin})]

    async def _cmd_score(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        return await self._seller_reply(ctx, "score", args)

    async def _cmd_goldlabel(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        return await self._seller_reply(ctx, "goldlabel", args)

    async def _cmd_status(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        return await self._seller_reply(ctx, "status", args)

    async def _cmd_plan(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        done = bool(args) and args[0].lower() in ("done", "klaar", "ingediend")
        seller, _, problem = await self._resolve(ctx, "plan", args[1:] if done else args)
        if problem is not None and problem.kind == "choose_seller" and done:
            # Several sellers: the one that owes a plan is meant; with more, ask among them.
            asked = await self._sellers_of_choice(problem)
            # An admin's chat may see every seller: only a team's few are looked through.
            few = len(asked) <= MAX_SELLERS_LOOKED_THROUGH
            owing = [s for s in asked if few and await self._owes_plan(s)]
            if len(owing) == 1:
                seller, problem = owing[0], None
            else:
                problem = self._choose(PLAN_DONE, owing or asked)
        if problem is not None:
            return [problem]
        assert seller is not None
        report = await self.report_for(seller)
        ref = seller_ref(seller)
        if report is None or report.track is None or report.track.plan is None:
            data: dict[str, Any] = {"seller": ref}
            if report is not None:
                data["report"] = report
            return [Reply("plan_not_required", data)]
        if not done:
            return [Reply("plan", {"seller": ref, "report": report})]
        if plan_may_become(report.track.plan, "submitted"):
            now = self.clock()
            await self.store.data.add_plan_event(
                seller.id, self._today(now), "submitted", ctx.actor, now
            )
            await self.complete_owed_work(now)
        return [Reply("plan_done", {"seller": ref})]

    async def _cmd_history(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        """``/history [SELLER] [WEEKS]``: the number of weeks may stand first or last, and a
        number is never taken for a seller's name."""
        words = list(args)
        given: str | None = None
        if words and _WEEKS_WORD.fullmatch(words[-1]):
            given = words.pop()
        elif words and _WEEKS_WORD.fullmatch(words[0]):
            given = words.pop(0)
        weeks = HISTORY_DEFAULT_WEEKS
        if given is not None:
            # Refused before asking which seller: a button must not quietly drop the number.
            if not HISTORY_MIN_WEEKS <= int(given) <= HISTORY_MAX_WEEKS:
                bounds = {"low": HISTORY_MIN_WEEKS, "high": HISTORY_MAX_WEEKS}
                return [
                    Reply("bad_argument", {"problem": "history_weeks", "given": given, **bounds})
                ]
            weeks = int(given)
        seller, _, problem = await self._resolve(ctx, "history", words)
        if problem is not None and problem.kind == "choose_seller" and given is not None:
            # Each seller's button draws the number of weeks asked for.
            command = f"history {weeks}"
            problem = replace(problem, command=command, data={**problem.data, "command": command})
        if problem is not None:
            return [problem]
        assert seller is not None
        last = await self.report_for(seller)
        if last is None:
            return [Reply("no_data", {"seller": seller_ref(seller)})]
        reports = await self.reports_for_weeks(seller, last.week, weeks)
        ref = seller_ref(seller)
        # Fewer weeks stored than asked for: the answer says how many it shows.
        data: dict[str, Any] = {"seller": ref, "weeks": len(reports), "asked": weeks}
        if len(reports) < HISTORY_MIN_WEEKS:
            # Too few for a chart, as when that many are asked for.
            return [Reply("history", {**data, "low": HISTORY_MIN_WEEKS})]
        chart = history_chart(ref, reports, lang=_lang(ctx.chat.language))
        return [Reply("history", data, image=chart)]

    async def reports_for_weeks(
        self, seller: Seller, last: IsoWeek, count: int
    ) -> list[WeekReport]:
        first = await self.store.data.first_week_with_data(seller.id) or last
        start = max(first, last.shift(1 - count))
        return [
            report
            async for _, reports in seller_reports(
                self.store, self.config.policy, start, last, [seller.id], save=False
            )
            for report in reports
        ]

    async def _cmd_digest(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        """``/digest``: the digest now; ``/digest maandag 8`` (or ``mon 8``): its weekly time."""
        from bot.notices.digest import digest_entries

        if args:
            when = digest_time(args)
            if isinstance(when, str):
                # Named exactly: the day, the hour, or the hour that is missing.
                given = {"digest_day": args[0], "digest_hour": args[-1]}.get(when, " ".join(args))
                return [Reply("bad_argument", {"problem": when, "given": given})]
            await self.store.chats.set_digest_time(ctx.chat.id, *when)
            return [Reply("digest_time_set", {"day": when[0], "hour": when[1]})]
        sellers = await self._visible_sellers(ctx)
        entries = await digest_entries(self, sellers)
        if not entries:
            return [Reply("no_data", {"seller": seller_ref(sellers[0])})] if sellers else []
        return [Reply("digest", {"entries": entries, "team": len(entries) > 1})]

    async def _cmd_sellers(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        sellers = await self._visible_sellers(ctx)
        return [Reply("sellers", {"sellers": [seller_ref(s) for s in sellers]})]

    async def _cmd_language(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        if not args:
            return [Reply("bad_argument", {"problem": "language_missing"})]
        if args[0].lower() not in LANGUAGES:
            given = " ".join(args)
            return [Reply("bad_argument", {"problem": "language", "given": given})]
        language = args[0].lower()
        await self.store.chats.set_language(ctx.chat.id, language)
        return [Reply("language_set", {"language": language})]

    async def _cmd_mute(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        await self.store.chats.set_muted(ctx.chat.id, True)
        return [Reply("muted")]

    async def _cmd_unmute(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        await self.store.chats.set_muted(ctx.chat.id, False)
        return [Reply("unmuted")]

    async def _cmd_linkcode(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        if not args:
            return [Reply("bad_argument", {"problem": "linkcode_seller"})]
        seller, _, problem = await self._resolve(ctx, "linkcode", args)
        if problem is not None:
            return [problem]
        assert seller is not None
        code = await self.store.chats.create_link_code(seller.id, self.clock())
        return [
            Reply(
                "link_code",
                {"seller": seller_ref(seller), "passcode": code, "days": LINK_CODE_TTL.days},
            )
        ]

    async def _cmd_exempt(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        """``/exempt`` (or ``/exempt list``) lists; ``/exempt remove ID`` takes one back;
        ``/exempt 2026-W46 [INDICATOR...] [seller:ID...] reason`` declares one, after a
        confirmation when it covers every seller or every norm."""
        if not args or args[0].lower() == "list":
            records = await self.store.data.exemption_records()
            zone = self.config.timezone
            shown = [replace(r, created_at=r.created_at.astimezone(zone)) for r in records]
            return [Reply("exempt_list", {"exemptions": shown})]
        if args[0].lower() == "remove":
            return await self._exempt_remove(args[1:])
        if args[0].lower() == "confirm":
            return await self._exempt_confirm(ctx, args[1:])
        parsed = await self._exemption_from(args)
        if isinstance(parsed, Reply):
            return [parsed]
        if (same := await self.store.data.same_exemption(parsed)) is not None:
            return [_exempted_already(same.id)]
        if parsed.indicators and parsed.sellers:
            return [await self._exempt_add(ctx, parsed)]
        # Every seller or every norm: asked once more, with a button that only this user
        # can press for a few minutes.
        token = secrets.token_hex(4)
        await self.store.chats.set_conversation(
            ctx.chat.id,
            EXEMPT_CONFIRM,
            {
                "token": token,
                "user_id": ctx.user_id,
                "started": self.clock().isoformat(),
                "week": str(parsed.week),
                "reason": parsed.reason,
                "indicators": sorted(i.value for i in parsed.indicators),
                "sellers": sorted(parsed.sellers),
            },
            self.clock(),
        )
        label = render("confirm_button", {}, fmt="text", lang=_lang(ctx.chat.language))
        return [
            Reply(
                "exempt_confirm",
                {"exemption": parsed, "token": token},
                choices=(SellerRef(token, label.text.strip()),),
                command="exempt confirm",
            )
        ]

    async def _exemption_from(self, args: list[str]) -> Exemption | Reply:
        """The exemption ``args`` declare, or the answer that names what is wrong."""
        try:
            week = IsoWeek.parse(args[0])
        except ValueError:
            return Reply("bad_argument", {"problem": "week", "given": args[0]})
        if week.monday > self._today(self.clock()):
            return Reply("bad_argument", {"problem": "week_future", "given": str(week)})
        indicators: set[Indicator] = set()
        sellers: set[str] = set()
        rest = args[1:]
        while rest:
            word = rest[0]
            if word.lower().startswith("seller:"):
                found = await self.store.sellers.get(word[len("seller:") :])
                if found is None:
                    return Reply("unknown_seller", {"query": word[len("seller:") :]})
                sellers.add(found.id)
            elif word.upper() in Indicator.__members__:
                indicators.add(Indicator[word.upper()])
            elif looks_like_indicator(word):
                nearest = nearest_indicator(word)
                return Reply(
                    "bad_argument",
                    {"problem": "unknown_indicator", "given": word, "suggestion": nearest},
                )
            else:
                break
            rest.pop(0)
        reason = " ".join(rest).strip()
        if not reason:
            return Reply("bad_argument", {"problem": "reason_missing", "given": str(week)})
        return Exemption(week, reason, frozenset(indicators), frozenset(sellers))

    async def _exempt_add(self, ctx: ChatContext, exemption: Exemption) -> Reply:
        try:
            await self.store.data.add_exemption(exemption, ctx.actor, self.clock())
        except ExemptionExists as exc:  # recorded meanwhile (while a confirmation waited)
            return _exempted_already(exc.existing.id)
        # Tracks are recomputed now: a warning that no longer holds is corrected at once.
        await self.complete_owed_work(self.clock())
        return Reply("exempt_ok", {"exemption": exemption})

    async def _exempt_confirm(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        pending = await self.store.chats.conversation(ctx.chat.id)
        if (
            pending is None
            or pending[0] != EXEMPT_CONFIRM
            or not args
            or pending[1].get("token") != args[0]
            or not self._still_open(ctx, pending[1])
        ):
            return [Reply("bad_argument", {"problem": "nothing_to_confirm"})]
        data = pending[1]
        await self.store.chats.set_conversation(ctx.chat.id, None, {}, self.clock())
        exemption = Exemption(
            IsoWeek.parse(str(data["week"])),
            str(data["reason"]),
            frozenset(Indicator(i) for i in data["indicators"]),
            frozenset(str(s) for s in data["sellers"]),
        )
        return [await self._exempt_add(ctx, exemption)]

    async def _exempt_remove(self, args: list[str]) -> list[Reply]:
        if not args or not args[0].isdigit():
            given = args[0] if args else ""
            return [Reply("bad_argument", {"problem": "exempt_id", "given": given})]
        removed = await self.store.data.remove_exemption(int(args[0]), self.clock())
        if removed is None:
            return [Reply("bad_argument", {"problem": "exempt_not_found", "given": args[0]})]
        # The week counts again: tracks are recomputed and what it now warrants is told.
        await self.complete_owed_work(self.clock())
        return [Reply("exempt_removed", {"record": removed})]

    def _still_open(self, ctx: ChatContext, data: dict[str, Any]) -> bool:
        """A ``/connect`` exchange belongs to the user who began it, for a few minutes."""
        started = datetime.fromisoformat(str(data.get("started", "2000-01-01T00:00:00+00:00")))
        fresh = self.clock() - started < CONNECT_TTL
        return fresh and data.get("user_id") == ctx.user_id

    async def _cmd_connect(self, ctx: ChatContext, args: list[str]) -> list[Reply]:
        if ctx.chat.platform == "console":
            # The operator's own terminal: the command line stores credentials directly.
            return [Reply("connect_failed", {"reason": "console"})]
        if ctx.chat.platform != "telegram" or ctx.chat.address.startswith("-"):
            # A secret typed in a group is read by everyone in it: private chats only.
            return [Reply("connect_failed", {"reason": "private_only"})]
        seller, _, problem = await self._resolve(ctx, "connect", args)
        if problem is not None:
            return [problem]
        assert seller is not None
        if self.config.secret_key is None or self.check_credentials is None:
            return [Reply("connect_failed", {"reason": "not_configured"})]
        await self.store.chats.set_conversation(
            ctx.chat.id,
            "connect_id",
            {
                "seller_id": seller.id,
                "user_id": ctx.user_id,
                "started": self.clock().isoformat(),
            },
            self.clock(),
        )
        return [Reply("connect_prompt_id")]

    async def _continue_connect(
        self, ctx: ChatContext, state: str, data: dict[str, Any], text: str
    ) -> list[Reply]:
        from bot.bol.credentials import SecretBox

        now = self.clock()
        if state == "connect_id":
            if self.config.secret_key is None:
                return [Reply("connect_failed", {"reason": "not_configured"})]
            # Even between the two questions the client id is kept only sealed.
            data["client_id"] = SecretBox(self.config.secret_key).seal(text.strip()).decode()
            await self.store.chats.set_conversation(ctx.chat.id, "connect_secret", data, now)
            return [Reply("connect_prompt_secret")]
        # The secret: check it, keep it only encrypted, and have the chat delete it.
        await self.store.chats.set_conversation(ctx.chat.id, None, {}, now)
        seller = await self.store.sellers.get(str(data.get("seller_id")))
        if seller is None or self.check_credentials is None or self.config.secret_key is None:
            return [Reply("connect_failed", {"reason": "not_configured"}, delete_prompt=True)]
        box = SecretBox(self.config.secret_key)
        client_id, secret = box.open(str(data.get("client_id", "")).encode()), text.strip()
        problem = await self.check_credentials(client_id, secret)
        if problem is not None:
            return [Reply("connect_failed", {"reason": problem}, delete_prompt=True)]
        await self.store.sellers.set_credentials(
            seller.id, box.seal(client_id), box.seal(secret), now
        )
        return [Reply("connect_ok", {"seller": seller_ref(seller)}, delete_prompt=True)]


_DAYS = {
    name: number
    for number, names in enumerate(
        (
            ("ma", "maandag", "mo", "mon", "monday", "lun", "lundi"),
            ("di", "dinsdag", "tu", "tue", "tuesday", "mar", "mardi"),
            ("wo", "woensdag", "we", "wed", "wednesday", "mer", "mercredi"),
            ("do", "donderdag", "th", "thu", "thursday", "jeu", "jeudi"),
            ("vr", "vrijdag", "fr", "fri", "friday", "ven", "vendredi"),
            ("za", "zaterdag", "sa", "sat", "saturday", "sam", "samedi"),
            ("zo", "zondag", "su", "sun", "sunday", "dim", "dimanche"),
        ),
        start=1,
    )
    for name in names
}


def digest_time(args: list[str]) -> tuple[int, int] | str:
    """``["maandag", "8"]``, ``["mon", "08:00"]`` or ``["lundi", "8"]`` -> (ISO weekday, hour);
    else what is wrong: ``digest_day``, ``digest_hour``, ``digest_hour_missing`` or
    ``digest_time`` (neither a day and an hour)."""
    if not 1 <= len(args) <= 2:
        return "digest_time"
    if args[0].lower() not in _DAYS:
        return "digest_day"
    if len(args) == 1:
        return "digest_hour_missing"
    match = re.fullmatch(r"(\d{1,2})(?::00)?(?:u|h)?", args[1].lower())
    if match is None or not 0 <= int(match.group(1)) <= 23:
        return "digest_hour"
    return _DAYS[args[0].lower()], int(match.group(1))


def _exempted_already(exemption_id: int) -> Reply:
    """The same week, norms and sellers are exempted already: nothing is recorded twice."""
    return Reply("bad_argument", {"problem": "exempt_exists", "given": str(exemption_id)})


def _lang(language: str) -> Any:
    return language if language in LANGUAGES else "nl"
