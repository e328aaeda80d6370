"""Configuration from the environment (or a ``.env`` file), validated once at start."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from bot.store.engine.base import is_postgresql, redact, sqlite_path
from messages import LANGUAGES
from norms import DEFAULT_POLICY, Policy, PolicyError, load_policy


class ConfigError(ValueError):
    """A setting that stops start-up; the message names the variable and what is wrong."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours in which non-urgent messages wait (may wrap past midnight)."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(frozen=True, slots=True)
class Config:
    """Every setting of INTERFACES.md, parsed."""

    # A SQLite file (or ``sqlite:///path``), or a ``postgresql://`` URL.
    database: str
    policy: Policy
    timezone: ZoneInfo
    language: str
    secret_key: bytes | None
    admins: frozenset[str]
    telegram_token: str | None
    telegram_api_url: str
    slack_bot_token: str | None
    slack_app_token: str | None
    slack_signing_secret: str | None
    slack_api_url: str
    http_port: int
    quiet_hours: QuietHours | None
    bol_api_url: str
    bol_login_url: str
    webhook_url: str | None = None
    telegram_rate: float = 30.0
    # Telegram's paid broadcasts: sends beyond the free limit, up to 1,000 a second, each
    # billed to the bot's Telegram Stars balance (see ``bot.outbox.pacing``).
    telegram_paid_broadcast: bool = False
    slack_rate: float = 20.0
    chat_interval_s: float = 1.0
    # How long a CLI command waits for another process's write lock before it gives up.
    busy_wait_s: float = 60.0
    # How long a lease (the scheduler, Telegram's polling) outlives its holder's last
    # renewal: another instance takes over within it.
    lease_s: float = 15.0
    # The listener's address (None: every address, IPv4 and IPv6), and where /healthz and
    # /metrics are served apart from the public webhook port (None: on that listener).
    http_host: str | None = None
    admin_address: tuple[str | None, int] | None = None
    log_level: int = logging.INFO
    log_format: str = "text"
    # How long sent messages are kept in the outbox.
    keep_days: int = 400

    def is_admin(self, platform: str, user_id: str | None) -> bool:
        return user_id is not None and f"{platform}:{user_id}" in self.admins

    @property
    def on_postgresql(self) -> bool:
        return is_postgresql(self.database)

    @property
    def db_path(self) -> Path:
        """The SQLite file (the database of a SQLite setup, or beside which --demo goes)."""
        if self.on_postgresql:
            return Path("data") / "normwacht.sqlite3"
        return Path(sqlite_path(self.database))


def read_dotenv(path: Path) -> dict[str, str]:
    """The settings of a ``.env`` file as python-dotenv reads them (``export``, quotes,
    comments, escapes, multi-line values, ``${VAR}``). A line it cannot read stops start-up,
    named by file and line (never shown: it may hold a secret)."""
    try:
        if not path.is_file():
            return {}
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as UTF-8 text: {exc}") from exc
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(
                f"{path}, line {binding.original.line}: not a setting: write NAME=value "
                "(quote a value that holds spaces or a #; a comment starts with #)"
            )
    values = dotenv_values(stream=io.StringIO(text))
    return {key: value for key, value in values.items() if value is not None}


# The settings that hold a secret: each may instead be read from the file that
# ``<NAME>_FILE`` names (container secrets, systemd's LoadCredential), not both.
SECRET_SETTINGS = (
    "TELEGRAM_BOT_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "NORMWACHT_SECRET_KEY",
    "NORMWACHT_DB",
)


def read_secret_files(settings: dict[str, str]) -> None:
    """Replace each ``<NAME>_FILE`` of ``SECRET_SETTINGS`` by ``<NAME>``, read from that
    file (its surrounding blank space and line ends dropped)."""
    for name in SECRET_SETTINGS:
        where = settings.get(f"{name}_FILE", "").strip()
        if not where:
            continue
        if settings.get(name, "").strip():
            raise ConfigError(f"{name} and {name}_FILE are both set: keep one of them")
        try:
            value = Path(where).read_text("utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {where}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{name}_FILE: {where} is not UTF-8 text") from exc
        if not value:
            raise ConfigError(f"{name}_FILE: {where} is empty")
        settings[name] = value


def load_config(env: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Config:
    """Read the configuration: the environment wins over ``.env``; empty means unset."""
    merged: dict[str, str] = read_dotenv(dotenv) if dotenv is not None else {}
    merged.update(os.environ if env is None else env)
    read_secret_files(merged)

    def get(name: str, default: str | None = None) -> str | None:
        value = merged.get(name, "").strip()
        return value or default

    def required(name: str, default: str) -> str:
        value = get(name, default)
        assert value is not None
        return value

    try:
        policy = load_policy(required("NORMWACHT_POLICY", DEFAULT_POLICY))
    except PolicyError as exc:
        raise ConfigError(f"NORMWACHT_POLICY: {exc}") from exc
    try:
        timezone = ZoneInfo(required("NORMWACHT_TIMEZONE", "Europe/Amsterdam"))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            "NORMWACHT_TIMEZONE: not a known time zone (e.g. Europe/Amsterdam)"
        ) from exc
    language = required("NORMWACHT_LANGUAGE", "nl")
    if language not in LANGUAGES:
        raise ConfigError("NORMWACHT_LANGUAGE: must be nl, en or fr")
    slack_token = get("SLACK_BOT_TOKEN")
    if slack_token and not get("SLACK_APP_TOKEN") and not get("SLACK_SIGNING_SECRET"):
        raise ConfigError(
            "SLACK_SIGNING_SECRET: required for Slack in HTTP mode (or set SLACK_APP_TOKEN)"
        )
    return Config(
        database=_database(required("NORMWACHT_DB", "data/normwacht.sqlite3")),
        policy=policy,
        timezone=timezone,
        language=language,
        secret_key=_secret_key(get("NORMWACHT_SECRET_KEY")),
        admins=_admins(get("NORMWACHT_ADMINS")),
        telegram_token=get("TELEGRAM_BOT_TOKEN"),
        telegram_api_url=_url(
            "TELEGRAM_API_URL", required("TELEGRAM_API_URL", "https://api.telegram.org")
        ),
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_api_url=_url("SLACK_API_URL", required("SLACK_API_URL", "https://slack.com/api/")),
        http_port=_port(required("NORMWACHT_HTTP_PORT", "8080")),
        quiet_hours=_quiet_hours(required("NORMWACHT_QUIET_HOURS", "21:00-08:00")),
        bol_api_url=_url("BOL_API_URL", required("BOL_API_URL", "https://api.bol.com")),
        bol_login_url=_url("BOL_LOGIN_URL", required("BOL_LOGIN_URL", "https://login.bol.com")),
        webhook_url=_optional_url("NORMWACHT_WEBHOOK_URL", get("NORMWACHT_WEBHOOK_URL")),
        telegram_rate=_rate("NORMWACHT_TELEGRAM_RATE", required("NORMWACHT_TELEGRAM_RATE", "30")),
        telegram_paid_broadcast=_switch(
            "TELEGRAM_PAID_BROADCAST", required("TELEGRAM_PAID_BROADCAST", "off")
        ),
        slack_rate=_rate("NORMWACHT_SLACK_RATE", required("NORMWACHT_SLACK_RATE", "20")),
        chat_interval_s=_rate(
            "NORMWACHT_CHAT_INTERVAL", required("NORMWACHT_CHAT_INTERVAL", "1"), allow_zero=True
        ),
        busy_wait_s=_rate("NORMWACHT_BUSY_WAIT", required("NORMWACHT_BUSY_WAIT", "60")),
        lease_s=_rate("NORMWACHT_LEASE_SECONDS", required("NORMWACHT_LEASE_SECONDS", "15")),
        http_host=_host(get("NORMWACHT_HTTP_HOST")),
        admin_address=_address("NORMWACHT_ADMIN_ADDRESS", get("NORMWACHT_ADMIN_ADDRESS")),
        log_level=_log_level(required("NORMWACHT_LOG_LEVEL", "INFO")),
        log_format=_choice(
            "NORMWACHT_LOG_FORMAT", required("NORMWACHT_LOG_FORMAT", "text"), ("text", "json")
        ),
        keep_days=_days("NORMWACHT_KEEP_DAYS", required("NORMWACHT_KEEP_DAYS", "400")),
    )


def _host(value: str | None) -> str | None:
    """An address to listen on as written (``[::1]`` as ``::1``); None: every address."""
    if value is None:
        return None
    host = value.removeprefix("[").removesuffix("]")
    return None if host in ("", "*") else host


def _address(name: str, value: str | None) -> tuple[str | None, int] | None:
    """``HOST:PORT`` (``127.0.0.1:9090``, ``[::1]:9090``, ``:9090`` for every address)."""
    if value is None:
        return None
    host, colon, port = value.rpartition(":")
    if not colon or (":" in host and not host.startswith("[")):
        raise ConfigError(f"{name}: must be HOST:PORT, e.g. 127.0.0.1:9090 or [::1]:9090")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name}: the port must be a number 1-65535 (HOST:PORT)")
    return _host(host), int(port)


def _log_level(value: str) -> int:
    levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    if value.upper() not in levels:
        raise ConfigError(f"NORMWACHT_LOG_LEVEL: must be one of {', '.join(levels)}")
    return int(getattr(logging, value.upper()))


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value.lower() not in choices:
        raise ConfigError(f"{name}: must be {' or '.join(choices)}")
    return value.lower()


def _switch(name: str, value: str) -> bool:
    """``on`` or ``off``, in any case; nothing else, so that a typo never turns it on."""
    if value.lower() not in ("on", "off"):
        raise ConfigError(f"{name}: must be on or off (not {value!r})")
    return value.lower() == "on"


def _days(name: str, value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"{name}: must be a whole number of days, 1 or more")
    return int(value)


def _url(name: str, value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(f"{name}: must be an http(s) URL")
    return value


def _optional_url(name: str, value: str | None) -> str | None:
    return None if value is None else _url(name, value)


def _rate(name: str, value: str, *, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if number < 0 or (number == 0 and not allow_zero) or number != number:
        raise ConfigError(f"{name}: must be a positive number")
    return number


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError("NORMWACHT_HTTP_PORT: must be a port number 1-65535")
    return int(value)


def _database(value: str) -> str:
    return database_target(value, "NORMWACHT_DB")


# A password character that ends the password unless percent-encoded.
_URL_DELIMITERS = "/?#@[]"


def database_target(value: str, name: str) -> str:
    """A database as ``NORMWACHT_DB`` names one: a SQLite file (or ``sqlite:///path``), or
    a PostgreSQL URL (``postgresql://``, also written ``postgres://`` or with a driver,
    ``postgresql+asyncpg://``), returned as ``postgresql://``. Anything that looks like a
    URL of another kind is refused, and no refusal shows the password."""
    scheme, sep, rest = value.partition("://")
    lowered = scheme.lower()
    if sep and lowered in ("postgresql", "postgres", "postgresql+asyncpg", "postgres+asyncpg"):
        url = f"postgresql://{rest}"
        userinfo = rest.rpartition("@")[0]
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (a port that is not a number raises here)
        except ValueError:
            parts = None
        if parts is None or any(c in userinfo for c in _URL_DELIMITERS):
            raise ConfigError(
                f"{name}: not a valid PostgreSQL URL ({redact(url)}): a port must be a number, "
                "and / ? # @ [ ] in a user name or password must be percent-encoded "
                "(%2F %3F %23 %40 %5B %5D)"
            )
        if not parts.hostname and not parts.path.strip("/"):
            raise ConfigError(f"{name}: a PostgreSQL URL names a host or a database")
        return url
    if lowered == "sqlite" or value.lower().startswith("sqlite:"):
        if not value.startswith("sqlite:///"):
            raise ConfigError(f"{name}: write a SQLite URL as sqlite:///path")
        return value
    if sep or re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", value) or lowered.startswith("postgres"):
        raise ConfigError(
            f"{name}: neither a SQLite file nor a PostgreSQL URL "
            "(write postgresql://user:password@host/database)"
        )
    return value


def _secret_key(value: str | None) -> bytes | None:
    """One key, or several (new first, then the old ones, separated by commas or blank
    space: key rotation), each 32 random bytes in URL-safe base64; kept comma-separated."""
    if value is None:
        return None
    keys = [key for key in re.split(r"[\s,]+", value) if key]
    for position, key in enumerate(keys, 1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != 32:
            which = f" (key {position} of {len(keys)})" if len(keys) > 1 else ""
            raise ConfigError(
                f"NORMWACHT_SECRET_KEY{which}: must be 32 random bytes in URL-safe base64 "
                "(make one with: normwacht keygen)"
            )
    return ",".join(keys).encode("ascii")


def _admins(value: str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    admins = set()
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        platform, _, user = item.partition(":")
        if platform not in ("telegram", "slack") or not user:
            raise ConfigError(
                f"NORMWACHT_ADMINS: {item!r} must look like telegram:<user id> or slack:<user id>"
            )
        admins.add(f"{platform}:{user}")
    return frozenset(admins)


def _quiet_hours(value: str) -> QuietHours | None:
    if value.lower() == "off":
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", value)
    if match is None:
        raise ConfigError("NORMWACHT_QUIET_HOURS: must look like 21:00-08:00, or off")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return QuietHours(time(h1, m1), time(h2, m2))
    except ValueError as exc:
        raise ConfigError("NORMWACHT_QUIET_HOURS: not valid times of day") from exc
