"""Every chat platform, once: its name, the format its messages are rendered in, whether
quiet hours hold its messages back, its sending limits, whether the configuration enables
it, and how an operator knows it (the setting of its address). The rest of the bot asks
here rather than spelling a platform's name; a new channel is a folder under
``bot/channels/`` and an entry below."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.config import Config
from bot.outbox.errors import Sender
from bot.outbox.pacing import SendLimits
from messages import Format

if TYPE_CHECKING:
    from bot.commands.service import Service
    from bot.runtime.health import Health
    from bot.runtime.http import HttpServer


class Channel(Protocol):
    """A chat platform as ``run`` starts it: connect (again after a failure), ask whether
    the platform answers, stop; and the sender the delivery worker uses."""

    @property
    def sender(self) -> Sender: ...

    def start(self) -> Awaitable[None]: ...

    def probe(self) -> Awaitable[None]: ...

    def stop(self) -> Awaitable[None]: ...


class Polling(Protocol):
    """A channel that polls for updates, where one process at a time may poll (a lease)."""

    may_poll: Callable[[], bool]

    def poll(self, allowed: bool) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class Connection:
    """A chat platform that ``run`` serves: its channel, and the channel itself again when
    it polls (then only the holder of the platform's polling lease may)."""

    channel: Channel
    polling: Polling | None = None


OpenChannel = Callable[["Service", Config, "HttpServer", "Health"], Connection]
OpenSender = Callable[[Config, "Health"], AbstractAsyncContextManager[Sender]]


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
    # For ``run``: the channel that answers chats; for ``deliver``: a sender alone.
    open_channel: OpenChannel | None = None
    open_sender: OpenSender | None = None
    # An error that means the platform is out (wait and retry), and the setting whose
    # credential an error at start says the platform refused (None: not a refusal).
    is_outage: Callable[[BaseException], bool] = lambda exc: False
    refused_setting: Callable[[BaseException], str | None] = lambda exc: None

    def where(self, config: Config) -> str:
        """The platform as the operator configured it: ``Telegram (TELEGRAM_API_URL=...)``."""
        return self.title if self.address is None else f"{self.title} ({self.address(config)})"


# The platforms' own libraries are imported only where the platform is configured (they take
# a while to import, and a bot without Telegram never needs python-telegram-bot).


def _telegram_channel(
    service: Service, config: Config, http: HttpServer, health: Health
) -> Connection:
    from bot.channels.telegram.adapter import TelegramChannel

    channel = TelegramChannel(service, config, http, health=health)
    return Connection(channel, channel if channel.polls else None)


def _telegram_sender(config: Config, health: Health) -> AbstractAsyncContextManager[Sender]:
    from bot.channels.telegram.sender import telegram_sender

    return telegram_sender(config, health)


def _telegram_outage(exc: BaseException) -> bool:
    from bot.channels.telegram.sender import is_outage

    return is_outage(exc)


def _telegram_refused(exc: BaseException) -> str | None:
    from bot.channels.telegram.sender import refused_setting

    return refused_setting(exc)


def _slack_channel(
    service: Service, config: Config, http: HttpServer, health: Health
) -> Connection:
    from bot.channels.slack.adapter import SlackChannel

    return Connection(SlackChannel(service, config, http=http, health=health))


def _slack_sender(config: Config, health: Health) -> AbstractAsyncContextManager[Sender]:
    from bot.channels.slack.adapter import slack_sender

    return slack_sender(config, health)


def _slack_outage(exc: BaseException) -> bool:
    from bot.channels.slack.sender import is_outage

    return is_outage(exc)


def _slack_refused(exc: BaseException) -> str | None:
    from bot.channels.slack.sender import refused_setting

    return refused_setting(exc)


TELEGRAM = Platform(
    name="telegram",
    title="Telegram",
    format="telegram",
    quiet_hours=True,
    # Telegram: about 30 a second overall, 1 a second per chat, 20 a minute per group.
    limits=lambda c: SendLimits(c.telegram_rate, c.chat_interval_s, per_group_per_minute=20),
    enabled=lambda c: bool(c.telegram_token),
    address=lambda c: f"TELEGRAM_API_URL={c.telegram_api_url}",
    open_channel=_telegram_channel,
    open_sender=_telegram_sender,
    is_outage=_telegram_outage,
    refused_setting=_telegram_refused,
)
SLACK = Platform(
    name="slack",
    title="Slack",
    format="slack",
    quiet_hours=True,
    limits=lambda c: SendLimits(c.slack_rate, c.chat_interval_s),
    enabled=lambda c: bool(c.slack_bot_token),
    address=lambda c: f"SLACK_API_URL={c.slack_api_url}",
    open_channel=_slack_channel,
    open_sender=_slack_sender,
    is_outage=_slack_outage,
    refused_setting=_slack_refused,
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
