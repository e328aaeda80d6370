"""Logging that never shows a secret: tokens are masked in every record, whatever logs it."""

from __future__ import annotations

import json
import logging
from datetime import datetime, tzinfo
from urllib.parse import unquote

from bot.config import Config
from bot.store.engine.base import password_of

MASK = "«secret»"


class RedactSecrets(logging.Filter):
    """Replaces every configured secret in a record's final message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Tracebacks carry secrets too (an InvalidToken names the token).
            record.exc_text = self.mask(logging.Formatter().formatException(record.exc_info))
        return True


class FailingRounds:
    """A loop's failures, logged once in a row: the first with its traceback, the ones
    after it not (a database that is down fails every round the same way), and one line
    when a round succeeds again."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.log = logger
        self.what = what
        self.failures = 0

    def failed(self) -> None:
        """Call from the ``except`` of a round."""
        self.failures += 1
        if self.failures == 1:
            self.log.exception("%s failed; trying again, quietly until it works", self.what)

    def succeeded(self) -> None:
        if self.failures:
            self.log.info("%s works again, after %d failed round(s)", self.what, self.failures)
        self.failures = 0


def config_secrets(config: Config) -> list[str]:
    values = [
        config.telegram_token,
        config.slack_bot_token,
        config.slack_app_token,
        config.slack_signing_secret,
        config.secret_key.decode("ascii") if config.secret_key else None,
        *(config.secret_key.decode("ascii").split(",") if config.secret_key else []),
        *_database_passwords(config.database),
    ]
    return [v for v in values if v]


def _database_passwords(database: str) -> list[str]:
    """A PostgreSQL URL's password, as written and as meant: a driver's error may quote
    either."""
    written = password_of(database)
    return [] if written is None else [written, unquote(written)]


def configure_logging(config: Config, level: int | None = None) -> RedactSecrets:
    """Log to stderr at ``NORMWACHT_LOG_LEVEL``, as text or (``NORMWACHT_LOG_FORMAT=json``)
    one JSON object a line, each time with its offset, secrets masked; HTTP client chatter
    (which carries the bot token in its URLs) only from warnings up."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(config.timezone)
        if config.log_format == "json"
        else TextFormatter(config.timezone)
    )
    logging.basicConfig(level=config.log_level if level is None else level, handlers=[handler])
    redact = RedactSecrets(config_secrets(config))
    for installed in logging.getLogger().handlers:
        installed.addFilter(redact)
    # aiosqlite's debug lines are one per statement: not what NORMWACHT_LOG_LEVEL=DEBUG is for.
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, config.log_level))
    return redact


class TextFormatter(logging.Formatter):
    """``2026-11-19T10:00:00.123+01:00 INFO normwacht: message``: the time in the
    configured zone, with its offset."""

    def __init__(self, zone: tzinfo) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.zone = zone

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return moment(record, self.zone)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (with its offset), ``level``, ``logger``,
    ``message``, and ``exception`` when there is one (masked like the message)."""

    def __init__(self, zone: tzinfo) -> None:
        super().__init__()
        self.zone = zone

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": moment(record, self.zone),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def moment(record: logging.LogRecord, zone: tzinfo) -> str:
    return datetime.fromtimestamp(record.created, zone).isoformat(timespec="milliseconds")
