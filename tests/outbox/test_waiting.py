"""What a waiting message waits for, and until when."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.outbox.waiting import waiting
from tests.conftest import make_config

NIGHT = datetime(2026, 11, 19, 0, 36, tzinfo=UTC)  # 01:36 in Amsterdam
MORNING = datetime(2026, 11, 19, 7, 0, tzinfo=UTC)  # 08:00 in Amsterdam


def test_quiet_hours_come_before_a_platform_that_is_down(tmp_path: Path) -> None:
    config = make_config(tmp_path, NORMWACHT_QUIET_HOURS="21:00-08:00")
    common = {"state": "pending", "next_attempt_at": NIGHT, "reason": None, "now": NIGHT}
    down = frozenset({"telegram"})
    # However soon Telegram is back, a warning waits for the morning.
    assert waiting(platform="telegram", urgent=False, config=config, down=down, **common) == (
        MORNING,
        "quiet hours",
    )
    # A closure does not wait for the morning: only for the platform.
    assert waiting(platform="telegram", urgent=True, config=config, down=down, **common) == (
        NIGHT,
        "platform down",
    )
    # The console is never quiet.
    assert waiting(platform="console", urgent=False, config=config, **common) == (
        NIGHT,
        "next delivery",
    )


def test_a_sent_message_waits_for_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert waiting(
        platform="telegram",
        urgent=False,
        state="sent",
        next_attempt_at=NIGHT,
        reason=None,
        now=NIGHT,
        config=config,
    ) == (None, None)
