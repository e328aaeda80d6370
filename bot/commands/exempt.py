"""``/exempt``, an operator's command: exemptions for a week (a carrier's strike, a bol.com
outage), listed, declared and taken back; and the reading of an exemption from words, for
the chat and the command line alike.

A typo in an indicator's name must never turn into "every norm" with the typo as part of
the reason, so a word that looks like an indicator but is none is refused, with the
nearest name.
"""

from __future__ import annotations

import difflib
import secrets
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.commands.reply import ChatContext, Reply, lang
from bot.store import ExemptionExists
from messages import SellerRef, render
from norms import INDICATORS, Exemption, Indicator, IsoWeek

if TYPE_CHECKING:  # the command line reads exemptions too: it loads no command machinery
    from bot.commands.shared import Shared

# How alike a word must be to an indicator's name to be taken for a misspelt one.
TYPO_CUTOFF = 0.75
# The conversation state of an exemption waiting for its confirmation.
EXEMPT_CONFIRM = "exempt_confirm"


@dataclass(frozen=True, slots=True)
class UnknownIndicator(Exception):
    """A word that reads as a misspelt indicator; ``nearest`` is the likely one, if any."""

    word: str
    nearest: str | None


def nearest_indicator(word: str) -> str | None:
    """The indicator name closest to ``word``, when it is close enough to be a typo."""
    names = [i.value for i in INDICATORS]
    found = difflib.get_close_matches(word.upper(), names, n=1, cutoff=TYPO_CUTOFF)
    return found[0] if found else None


def looks_like_indicator(word: str) -> bool:
    """Whether ``word`` was meant as an indicator: close to one, or written like one
    (``RESPONSE_TIMES``). Ordinary words of a reason (``staking``, ``PostNL``) are not."""
    return nearest_indicator(word) is not None or ("_" in word and word.upper() == word)


def parse_indicator(word: str) -> Indicator:
    """The indicator ``word`` names (any case); ``UnknownIndicator`` otherwise."""
    if word.upper() in Indicator.__members__:
        return Indicator[word.upper()]
    raise UnknownIndicator(word, nearest_indicator(word))


async def exempt(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    """``/exempt`` (or ``/exempt list``) lists; ``/exempt remove ID`` takes one back;
    ``/exempt 2026-W46 [INDICATOR...] [seller:ID...] reason`` declares one, after a
    confirmation when it covers every seller or every norm."""
    if not args or args[0].lower() == "list":
        records = await service.store.data.exemption_records()
        zone = service.config.timezone
        shown = [replace(r, created_at=r.created_at.astimezone(zone)) for r in records]
        return [Reply("exempt_list", {"exemptions": shown})]
    if args[0].lower() == "remove":
        return await _exempt_remove(service, args[1:])
    if args[0].lower() == "confirm":
        return await _exempt_confirm(service, ctx, args[1:])
    parsed = await _exemption_from(service, args)
    if isinstance(parsed, Reply):
        return [parsed]
    if (same := await service.store.data.same_exemption(parsed)) is not None:
        return [_exempted_already(same.id)]
    if parsed.indicators and parsed.sellers:
        return [await _exempt_add(service, ctx, parsed)]
    # Every seller or every norm: asked once more, with a button that only this user
    # can press for a few minutes.
    token = secrets.token_hex(4)
    await service.store.chats.set_conversation(
        ctx.chat.id,
        EXEMPT_CONFIRM,
        {
            "token": token,
            "user_id": ctx.user_id,
            "started": service.clock().isoformat(),
            "week": str(parsed.week),
            "reason": parsed.reason,
            "indicators": sorted(i.value for i in parsed.indicators),
            "sellers": sorted(parsed.sellers),
        },
        service.clock(),
    )
    label = render("confirm_button", {}, fmt="text", lang=lang(ctx.chat.language))
    return [
        Reply(
            "exempt_confirm",
            {"exemption": parsed, "token": token},
            choices=(SellerRef(token, label.text.strip()),),
            command="exempt confirm",
        )
    ]


async def _exemption_from(service: Shared, args: list[str]) -> Exemption | Reply:
    """The exemption ``args`` declare, or the answer that names what is wrong."""
    try:
        week = IsoWeek.parse(args[0])
    except ValueError:
        return Reply("bad_argument", {"problem": "week", "given": args[0]})
    if week.monday > service.today(service.clock()):
        return Reply("bad_argument", {"problem": "week_future", "given": str(week)})
    indicators: set[Indicator] = set()
    sellers: set[str] = set()
    rest = args[1:]
    while rest:
        word = rest[0]
        if word.lower().startswith("seller:"):
            found = await service.store.sellers.get(word[len("seller:") :])
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


async def _exempt_add(service: Shared, ctx: ChatContext, exemption: Exemption) -> Reply:
    try:
        await service.store.data.add_exemption(exemption, ctx.actor, service.clock())
    except ExemptionExists as exc:  # recorded meanwhile (while a confirmation waited)
        return _exempted_already(exc.existing.id)
    # Tracks are recomputed now: a warning that no longer holds is corrected at once.
    await service.complete_owed_work(service.clock())
    return Reply("exempt_ok", {"exemption": exemption})


async def _exempt_confirm(service: Shared, ctx: ChatContext, args: list[str]) -> list[Reply]:
    pending = await service.store.chats.conversation(ctx.chat.id)
    if (
        pending is None
        or pending[0] != EXEMPT_CONFIRM
        or not args
        or pending[1].get("token") != args[0]
        or not service.still_open(ctx, pending[1])
    ):
        return [Reply("bad_argument", {"problem": "nothing_to_confirm"})]
    data = pending[1]
    await service.store.chats.set_conversation(ctx.chat.id, None, {}, service.clock())
    exemption = Exemption(
        IsoWeek.parse(str(data["week"])),
        str(data["reason"]),
        frozenset(Indicator(i) for i in data["indicators"]),
        frozenset(str(s) for s in data["sellers"]),
    )
    return [await _exempt_add(service, ctx, exemption)]


async def _exempt_remove(service: Shared, args: list[str]) -> list[Reply]:
    if not args or not args[0].isdigit():
        given = args[0] if args else ""
        return [Reply("bad_argument", {"problem": "exempt_id", "given": given})]
    removed = await service.store.data.remove_exemption(int(args[0]), service.clock())
    if removed is None:
        return [Reply("bad_argument", {"problem": "exempt_not_found", "given": args[0]})]
    # The week counts again: tracks are recomputed and what it now warrants is told.
    await service.complete_owed_work(service.clock())
    return [Reply("exempt_removed", {"record": removed})]


def _exempted_already(exemption_id: int) -> Reply:
    """The same week, norms and sellers are exempted already: nothing is recorded twice."""
    return Reply("bad_argument", {"problem": "exempt_exists", "given": str(exemption_id)})
