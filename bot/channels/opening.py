"""How ``run`` and ``deliver`` open each chat platform of ``bot.channels.platforms``: the
channel that answers chats, a sender alone, and how to read the errors of its start. Only
the runtime imports this module, so that nothing the channels build on imports them back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.channels.platforms import SLACK, TELEGRAM, Platform
from bot.config import Config
from bot.outbox.errors import Sender

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
class Opener:
    """For ``run``: the channel that answers chats; for ``deliver``: a sender alone. An
    error that means the platform is out (wait and retry), and the setting whose credential
    an error at start says the platform refused (None: not a refusal)."""

    open_channel: OpenChannel
    open_sender: OpenSender
    is_outage: Callable[[BaseException], bool]
    refused_setting: Callable[[BaseException], str | None]


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


OPENERS: dict[str, Opener] = {
    TELEGRAM.name: Opener(_telegram_channel, _telegram_sender, _telegram_outage, _telegram_refused),
    SLACK.name: Opener(_slack_channel, _slack_sender, _slack_outage, _slack_refused),
}


def opener(platform: Platform) -> Opener | None:
    """How to open ``platform``; None for one that is not opened (the console)."""
    return OPENERS.get(platform.name)
