"""Every chat platform, once: its name, the format its messages are rendered in, whether
quiet hours hold its messages back, its sending limits, whether the configuration enables
it, and how an operator knows it (the setting of its address). The rest of the bot asks
here rather than spelling a platform's name; a new channel is a folder under
``bot/channels/``, an entry below, and how ``run`` opens it (``bot.channels.opening``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Config
from bot.outbox.pacing import SendLimits, telegram_limits
from messages import Format


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    # How an operator names it, and the setting of its address (for the log and errors).
    title: str
    format: Format
    # Non-urgent messages wait during quiet hours (not on the console: someone is there).
    quiet_hours: bool
    limits: Callable[[Config], SendLimits]
    # Whether the configuration turns it on (the console is always there).
    enabled: Callable[[Config], bool]
    address: Callable[[Config], str] | None = None
    # A chat that writes to us may have admins (NORMWACHT_ADMINS ``name:<user id>``).
    admins: bool = True

    def where(self, config: Config) -> str:
        """The platform as the operator configured it: ``Telegram (TELEGRAM_API_URL=...)``."""
        return self.title if self.address is None else f"{self.title} ({self.address(config)})"


TELEGRAM = Platform(
    name="telegram",
    title="Telegram",
    format="telegram",
    quiet_hours=True,
    # Telegram: about 30 a second overall (up to 1,000 with paid broadcasts), 1 a second
    # per chat, 20 a minute per group.
    limits=lambda c: telegram_limits(
        c.telegram_rate, c.chat_interval_s, paid_broadcast=c.telegram_paid_broadcast
    ),
    enabled=lambda c: bool(c.telegram_token),
    address=lambda c: f"TELEGRAM_API_URL={c.telegram_api_url}",
)
SLACK = Platform(
    name="slack",
    title="Slack",
    format="slack",
    quiet_hours=True,
    limits=lambda c: SendLimits(c.slack_rate, c.chat_interval_s),
    enabled=lambda c: bool(c.slack_bot_token),
    address=lambda c: f"SLACK_API_URL={c.slack_api_url}",
)
CONSOLE = Platform(
    name="console",
    title="the console",
    format="text",
    quiet_hours=False,
    limits=lambda c: SendLimits(per_second=1000.0, per_chat_interval_s=0.0),
    enabled=lambda c: True,
    admins=False,
)
PLATFORMS: dict[str, Platform] = {p.name: p for p in (TELEGRAM, SLACK, CONSOLE)}


def platform(name: str) -> Platform:
    """The platform called ``name``; an unknown one is treated as plain text, like the
    console (a row written by a newer version, say)."""
    return PLATFORMS.get(name, CONSOLE)


def format_of(name: str) -> Format:
    return platform(name).format


def chat_platforms(config: Config) -> list[Platform]:
    """The chat platforms the configuration turns on (the console not counted)."""
    return [p for p in PLATFORMS.values() if p is not CONSOLE and p.enabled(config)]
