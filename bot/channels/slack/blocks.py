"""Block Kit the Slack channel adds itself: seller buttons, the plan stamp, the App Home,
and the few Slack-only sentences (subscriptions), in the channel's language."""

from __future__ import annotations

from typing import Any

from messages import LANGUAGES, SellerRef
from messages.i18n import N_, translations
from messages.markup import slack_escape

CHOOSE_ACTION_PREFIX = "normwacht_choose_"
BUTTONS_PER_BLOCK = 25
BUTTON_TEXT_LIMIT = 75
HOME_BLOCK_LIMIT = 100

# Slack-only replies, from the catalogs like every other text; ``name``, ``id`` and the
# other values are escaped for mrkdwn before they are filled in.
TEXTS: dict[str, str] = {
    "subscribed": N_(
        "This channel now follows *%(name)s* (`%(id)s`): alerts and the weekly digest will "
        "arrive here."
    ),
    "invite_me": N_(
        "I am not a member of this channel yet: invite me with `/invite @Normwacht`, or I "
        "cannot post here."
    ),
    "unsubscribed": N_("This channel no longer follows *%(name)s* (`%(id)s`)."),
    "not_subscribed": N_("This channel did not follow *%(name)s* (`%(id)s`)."),
    "usage": N_("Usage: `/normwacht %(command)s SELLER` (the seller's id or name)."),
    "plan_marked": N_("Plan marked submitted by <@%(user)s> at %(time)s"),
    "home_title": N_("Normwacht: all shops"),
    "home_member_title": N_("Normwacht"),
    "home_member": N_(
        "Normwacht answers in the Slack channel that follows a shop: type `/normwacht score` "
        "there (or `status`, `goldlabel`, `history`, `digest`). The shop's alerts and weekly "
        "digest arrive in that channel too."
    ),
    "home_updated": N_("Updated %(time)s"),
    "home_empty": N_(
        "No shops to follow yet. An admin links a channel with `/normwacht subscribe SELLER`."
    ),
    "slack_unsupported": N_(
        "`/normwacht %(command)s` is not available in Slack: use Telegram or the console."
    ),
}


def say(key: str, lang: str, **values: str) -> str:
    """A Slack-only sentence in ``lang`` (Dutch for a language we do not have); values are
    escaped for mrkdwn."""
    language = lang if lang in LANGUAGES else "nl"
    template = translations(language).gettext(TEXTS[key])
    return template % {k: slack_escape(v) for k, v in values.items()}


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
