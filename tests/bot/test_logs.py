"""Secrets never reach the log, whichever library logs them."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.runtime.logs import MASK, RedactSecrets, config_secrets
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


def test_text_and_json_lines_carry_the_time_with_its_offset_and_mask_secrets(
    tmp_path: Path,
) -> None:
    import json
    import sys
    from datetime import UTC, datetime

    from bot.runtime.logs import JsonFormatter, TextFormatter

    config = make_config(tmp_path, TELEGRAM_BOT_TOKEN="123456:AAH-secret-token")
    redact = RedactSecrets(config_secrets(config))
    created = datetime(2026, 7, 1, 8, 0, 0, 250000, tzinfo=UTC).timestamp()

    def record(exc: bool = False) -> logging.LogRecord:
        info = None
        if exc:
            try:
                raise ValueError("bad token 123456:AAH-secret-token")
            except ValueError:
                info = sys.exc_info()
        r = logging.LogRecord(
            "normwacht",
            logging.WARNING,
            __file__,
            1,
            "token %s",
            ("123456:AAH-secret-token",),
            info,
        )
        r.created = created
        redact.filter(r)
        return r

    text = TextFormatter(config.timezone).format(record())
    assert text == f"2026-07-01T10:00:00.250+02:00 WARNING normwacht: token {MASK}"
    line = json.loads(JsonFormatter(config.timezone).format(record(exc=True)))
    assert line["time"] == "2026-07-01T10:00:00.250+02:00"
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "normwacht",
        f"token {MASK}",
    )
    assert "ValueError" in line["exception"] and "AAH-secret-token" not in line["exception"]
