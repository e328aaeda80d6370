"""/metrics from the database at scrape time, on both engines: the outbox per platform and
state, why messages wait, and the database's own state."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.exposition import metrics_source
from bot.health import Health
from bot.store import PlannedMessage, Store
from tests.conftest import FixedClock, make_config
from tests.test_run_ops import sample

pytestmark = pytest.mark.both_engines


def message(key: str, chat_id: int) -> PlannedMessage:
    return PlannedMessage(key, chat_id, None, "2026-W46", "digest", (), False, {"text": key}, "d")


async def test_why_messages_wait_per_platform(
    store: Store, database: str, tmp_path: Path, clock: FixedClock
) -> None:
    # 22:00 in Amsterdam: inside the quiet hours.
    clock.now = clock.now.replace(hour=21)
    config = make_config(tmp_path, NORMWACHT_DB=database, NORMWACHT_QUIET_HOURS="21:00-08:00")
    telegram = await store.chats.get_or_create("telegram", "1", language="nl", now=clock())
    slack = await store.chats.get_or_create("slack", "C1", language="nl", now=clock())
    await store.outbox.plan(
        [message(k, telegram.id) for k in ("a", "b", "c", "d")] + [message("e", slack.id)],
        clock(),
    )
    items = {i.body["text"]: i for i in await store.outbox.claim_due(clock(), 10)}
    await store.outbox.mark_sent(items["a"].id, clock(), None)
    await store.outbox.retry_at(items["b"].id, clock() + timedelta(minutes=5), "HTTP 502")
    await store.outbox.hold_until(items["c"].id, clock() + timedelta(hours=10))
    await store.outbox.mark_dead(items["d"].id, "blocked")
    await store.outbox.hold_until(items["e"].id, clock())
    health = Health(clock)
    health.watch("slack")
    health.down("slack", "ConnectError")
    text = (await metrics_source(store, config, health)()).decode()

    def waiting(platform: str, reason: str) -> float | None:
        return sample(text, "normwacht_outbox_waiting_messages", platform=platform, reason=reason)

    assert sample(text, "normwacht_database_up") == 1.0
    assert sample(text, "normwacht_outbox_messages", platform="telegram", state="sent") == 1.0
    assert sample(text, "normwacht_outbox_messages", platform="telegram", state="failed") == 1.0
    assert sample(text, "normwacht_outbox_messages", platform="telegram", state="pending") == 1.0
    assert sample(text, "normwacht_outbox_messages", platform="telegram", state="dead") == 1.0
    assert (waiting("telegram", "retry"), waiting("telegram", "quiet hours")) == (1.0, 1.0)
    assert (waiting("telegram", "due"), waiting("telegram", "platform down")) == (0.0, 0.0)
    assert waiting("slack", "platform down") == 1.0
    assert sample(text, "normwacht_up", part="slack") == 0.0
    assert sample(text, "normwacht_instances") == 0.0


async def test_a_database_that_does_not_answer_is_database_up_zero(
    database: str, tmp_path: Path, clock: FixedClock
) -> None:
    config = make_config(tmp_path, NORMWACHT_DB=database)
    store = await Store.open(database)
    scrape = metrics_source(store, config, Health(clock))
    assert sample((await scrape()).decode(), "normwacht_database_up") == 1.0
    await store.close()
    text = (await scrape()).decode()
    assert sample(text, "normwacht_database_up") == 0.0
    assert "normwacht_outbox_messages{" not in text
