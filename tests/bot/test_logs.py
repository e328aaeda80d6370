"""Secrets never reach the log, whichever library logs them."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.logs import MASK, RedactSecrets, config_secrets
from tests.conftest import make_config


def test_tokens_in_any_log_record_are_masked(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123456:AAH-secret-token",
        SLACK_BOT_TOKEN="xoxb-1-2-3",
        SLACK_APP_TOKEN="xapp-1-2",
    )
    redact = RedactSecrets(config_secrets(config))
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        'HTTP Request: POST %s "%s"',
        ("https://api.telegram.org/bot123456:AAH-secret-token/getMe", "200 OK"),
        None,
    )
    assert redact.filter(record)
    assert (
        record.getMessage()
        == f'HTTP Request: POST https://api.telegram.org/bot{MASK}/getMe "200 OK"'
    )
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, "nothing to hide %d", (1,), None)
    redact.filter(plain)
    assert plain.getMessage() == "nothing to hide 1"
