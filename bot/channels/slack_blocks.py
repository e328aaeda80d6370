"""Block Kit the Slack channel adds itself: seller buttons, the plan stamp, the App Home,
and the few Slack-only sentences (subscriptions), in Dutch and English."""

from __future__ import annotations

from typing import Any

from messages import SellerRef
from messages.markup import slack_escape

CHOOSE_ACTION_PREFIX = "normwacht_choose_"
BUTTONS_PER_BLOCK = 25
BUTTON_TEXT_LIMIT = 75
HOME_BLOCK_LIMIT = 100

# Slack-only replies; ``{name}`` and ``{id}`` are escaped before formatting.
TEXTS: dict[str, dict[str, str]] = {
    "subscribed": {
        "nl": "Dit kanaal volgt nu *{name}* (`{id}`): meldingen en het weekoverzicht komen hier.",
        "en": "This channel now follows *{name}* (`{id}`): alerts and the weekly digest "
        "will arrive here.",
    },
    "invite_me": {
        "nl": "Ik ben nog geen lid van dit kanaal: nodig mij uit met `/invite @Normwacht`, "
        "anders kan ik hier niets posten.",
        "en": "I am not a member of this channel yet: invite me with `/invite @Normwacht`, "
        "or I cannot post here.",
    },
    "unsubscribed": {
        "nl": "Dit kanaal volgt *{name}* (`{id}`) niet meer.",
        "en": "This channel no longer follows *{name}* (`{id}`).",
    },
    "not_subscribed": {
        "nl": "Dit kanaal volgde *{name}* (`{id}`) niet.",
        "en": "This channel did not follow *{name}* (`{id}`).",
    },
    "usage": {
        "nl": "Gebruik: `/normwacht {command} WINKEL` (de id of naam van de winkel).",
        "en": "Usage: `/normwacht {command} SELLER` (the seller's id or name).",
    },
    "plan_marked": {
        "nl": "Plan als ingediend gemarkeerd door <@{user}> om {time}",
        "en": "Plan marked submitted by <@{user}> at {time}",
    },
    "home_title": {"nl": "Normwacht: alle winkels", "en": "Normwacht: all shops"},
    "home_member_title": {"nl": "Normwacht", "en": "Normwacht"},
    "home_member": {
        "nl": "Normwacht antwoordt in het Slack-kanaal dat een winkel volgt: typ daar "
        "`/normwacht score` (of `status`, `goldlabel`, `history`, `digest`). Meldingen en "
        "het weekoverzicht van de winkel komen ook in dat kanaal.",
        "en": "Normwacht answers in the Slack channel that follows a shop: type "
        "`/normwacht score` there (or `status`, `goldlabel`, `history`, `digest`). The shop's "
        "alerts and weekly digest arrive in that channel too.",
    },
    "home_updated": {"nl": "Bijgewerkt {time}", "en": "Updated {time}"},
    "home_empty": {
        "nl": "Nog geen winkels te volgen. Een beheerder koppelt een kanaal met "
        "`/normwacht subscribe WINKEL`.",
        "en": "No shops to follow yet. An admin links a channel with "
        "`/normwacht subscribe SELLER`.",
    },
    "slack_unsupported": {
        "nl": "`/normwacht {command}` kan niet in Slack: gebruik Telegram of de console.",
        "en": "`/normwacht {command}` is not available in Slack: use Telegram or the console.",
    },
}


def say(key: str, lang: str, **values: str) -> str:
    """A Slack-only sentence in ``lang``; values are escaped for mrkdwn."""
    texts = TEXTS[key]
    template = texts.get(lang, texts["nl"])
    return template.format(**{k: slack_escape(v) for k, v in values.items()})


def seller_text(key: str, lang: str, seller: SellerRef) -> str:
    return say(key, lang, name=seller.name, id=seller.id)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def choice_blocks(choices: tuple[SellerRef, ...], command: str) -> list[dict[str, Any]]:
    """Buttons, one per seller; each runs ``command`` again for its seller."""
    blocks = []
    for start in range(0, len(choices), BUTTONS_PER_BLOCK):
        group = choices[start : start + BUTTONS_PER_BLOCK]
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{CHOOSE_ACTION_PREFIX}{start // BUTTONS_PER_BLOCK}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"{CHOOSE_ACTION_PREFIX}{start + i}",
                        "text": {"type": "plain_text", "text": _clip(s.name, BUTTON_TEXT_LIMIT)},
                        "value": f"{command} {s.id}",
                    }
                    for i, s in enumerate(group)
                ],
            }
        )
    return blocks


def stamp_plan(
    blocks: list[dict[str, Any]], plan_block_id: str, user: str, time: str, lang: str
) -> list[dict[str, Any]]:
    """The alert's blocks without the plan button, with who marked the plan and when."""
    kept = [b for b in blocks if b.get("block_id") != plan_block_id]
    return [*kept, context(say("plan_marked", lang, user=user, time=time))]


def home_view(overview: list[dict[str, Any]] | None, lang: str, updated: str) -> dict[str, Any]:
    """An operator's App Home: a title, when it was refreshed, then the overview of every
    seller (or how to start)."""
    blocks: list[dict[str, Any]] = [
        header(say("home_title", lang)),
        context(say("home_updated", lang, time=updated)),
    ]
    if overview:
        blocks += overview[: HOME_BLOCK_LIMIT - len(blocks)]
    else:
        blocks.append(section(say("home_empty", lang)))
    return {"type": "home", "blocks": blocks}


def member_home_view(lang: str) -> dict[str, Any]:
    """Anyone else's App Home: where to ask, and no seller named (the Home cannot tell
    which channels, and so which sellers, are theirs)."""
    blocks = [header(say("home_member_title", lang)), section(say("home_member", lang))]
    return {"type": "home", "blocks": blocks}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
