"""Every chat command, declared once: its name, the function that answers it, its line in
the command menu, who may use it, on which platforms it is offered, and its aliases.

A new command is a function in its family's module and an entry here; the channels read
their menus and lists from this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.channels.platforms import CONSOLE, SLACK, TELEGRAM
from bot.commands import connect, exempt, link, plan, reports, sellers, settings, verdict
from bot.commands.reply import ChatContext, Reply
from bot.commands.shared import Shared
from messages import Language
from messages.i18n import N_

Handler = Callable[[Shared, ChatContext, list[str]], Awaitable[list[Reply]]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    # None: the channel answers it itself (Slack's subscriptions change its own channel).
    handler: Handler | None
    # The line in the command menu, in English; the catalogs translate it.
    help: str = ""
    # Operators only (NORMWACHT_ADMINS): not in the public command menu.
    admin: bool = False
    # Usable in a chat that follows no seller yet.
    open_to_unlinked: bool = False
    # The platforms that offer it; None: every platform.
    platforms: frozenset[str] | None = None
    # Other words for it, per language (``/kwaliteit`` for ``/quality``).
    aliases: Mapping[Language, tuple[str, ...]] = field(default_factory=dict)

    @property
    def words(self) -> tuple[str, ...]:
        """The name and every alias: each starts the command."""
        return (self.name, *(alias for words in self.aliases.values() for alias in words))

    def offered_on(self, platform: str) -> bool:
        return self.platforms is None or platform in self.platforms


# In the order of the command menu.
COMMANDS: tuple[Command, ...] = (
    Command("start", link.start, N_("Link this chat with a code"), open_to_unlinked=True),
    Command("help", settings.help_, N_("What I do for you"), open_to_unlinked=True),
    Command("score", reports.score, N_("Scores of the last week")),
    Command("goldlabel", reports.goldlabel, N_("What the gold label still needs")),
    Command("status", reports.status, N_("Where the improvement track stands")),
    # bol.com's own verdict (NORMS.md §9), by its name in each language.
    Command(
        "quality",
        verdict.quality,
        N_("bol.com's quality score and what it takes"),
        aliases={"nl": ("kwaliteit",), "fr": ("qualite",)},
    ),
    Command(
        "policy",
        verdict.policy,
        N_("bol.com's policy points and violations"),
        aliases={"nl": ("beleid",), "fr": ("politique",)},
    ),
    Command("plan", plan.plan, N_("Improvement plan; /plan done once submitted")),
    Command("history", reports.history, N_("Trend as a chart")),
    Command("digest", reports.digest, N_("Weekly overview of your shops")),
    Command("sellers", sellers.sellers, N_("Shops this chat follows")),
    Command(
        "language",
        settings.language,
        N_("Language: /language nl, en or fr"),
        open_to_unlinked=True,
    ),
    Command("mute", settings.mute, N_("Pause digests and notices")),
    Command("unmute", settings.unmute, N_("Digests and notices back on")),
    # Asks for a secret in the chat: never in a Slack channel.
    Command(
        "connect",
        connect.connect,
        N_("Connect bol.com API credentials"),
        platforms=frozenset({TELEGRAM.name, CONSOLE.name}),
    ),
    Command("linkcode", link.linkcode, admin=True),
    Command("exempt", exempt.exempt, admin=True),
    # A Slack channel follows a seller by an operator's command, not by a link code.
    Command("subscribe", None, platforms=frozenset({SLACK.name})),
    Command("unsubscribe", None, platforms=frozenset({SLACK.name})),
)


def by_word(commands: tuple[Command, ...]) -> dict[str, Command]:
    """Each word (name or alias) to its command; a word naming two commands is refused."""
    found: dict[str, Command] = {}
    for command in commands:
        for word in command.words:
            if word in found:
                raise ValueError(f"/{word} names both {found[word].name} and {command.name}")
            found[word] = command
    return found


_BY_WORD = by_word(COMMANDS)


def find(word: str, platform: str) -> Command | None:
    """The command ``word`` (its name or an alias, any case) starts on ``platform``."""
    command = _BY_WORD.get(word.lower())
    return command if command is not None and command.offered_on(platform) else None


def menu(platform: str) -> tuple[Command, ...]:
    """The public commands offered on ``platform``, in menu order."""
    return tuple(c for c in COMMANDS if c.help and not c.admin and c.offered_on(platform))


def answered_by_channel(platform: str) -> frozenset[str]:
    """The commands the channel answers itself on ``platform``."""
    return frozenset(c.name for c in COMMANDS if c.handler is None and c.offered_on(platform))


def not_offered_on(platform: str) -> frozenset[str]:
    """The words of other platforms' commands that ``platform`` says it does not offer."""
    return frozenset(
        word for c in COMMANDS if c.help and not c.offered_on(platform) for word in c.words
    )
