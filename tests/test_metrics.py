"""/metrics from the database at scrape time, on both engines: the outbox per platform and
state, why messages wait, and the database's own state."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.exposition import metrics_source
from bot.runtime.health import Health
from bot.store import PlannedMessage, Store
from bot.store.outbox import EARLIER_MESSAGE
from tests.conftest import FixedClock, make_config
from tests.test_run_ops import sample

pytestmark = pytest.mark.both_engines


def message(key: str, chat_id: int) -> PlannedMessage:
    return PlannedMessage(key, chat_id, None, "2026-W46", "digest", (), False, {"text": key}, "d")


async def test_why_messages_wait_per_platform(
    store: Store, database: str, tmp_path: Path, clock: FixedClock
) -> None:
    config = make_config(tmp_path, NORMWACHT_DB=database, NORMWACHT_QUIET_HOURS="21:00-08:00")
    telegram = await store.chats.get_or_create("telegram", "1", language="nl", now=clock())
    slack = await store.chats.get_or_create("slack", "C1", language="nl", now=clock())
    await store.outbox.plan(
        [message(k, telegram.id) for k in ("a", "b", "c", "d")] + [message("e", slack.id)],
        clock(),
    )
    items = {i.body["text"]: i for i in await store.outbox.claim_due(clock(), 10)}
    await store.outbox.plan([message("f", telegram.id)], clock())  # planned, not taken yet
    await store.outbox.mark_sent(items["a"].id, clock(), None)
    await store.outbox.retry_at(items["b"], clock() + timedelta(minutes=5), "HTTP 502")
    await store.outbox.hold_until(items["c"], clock() + timedelta(minutes=1), EARLIER_MESSAGE)
    await store.outbox.mark_dead(items["d"], "blocked")
    await store.outbox.hold_until(items["e"], clock())
    health = Health(clock)
    health.watch("slack")
    health.down("slack", "ConnectError")
    scrape = metrics_source(store, config, health)
    text = (await scrape()).decode()

    def waiting(platform: str, reason: str) -> float | None:
        return sample(text, "normwacht_outbox_waiting_messages", platform=platform, reason=reason)

    assert sample(text, "normwacht_database_up") == 1.0
    for state in ("sent", "failed", "pending", "dead"):
        expected = 2.0 if state == "pending" else 1.0
        assert (
            sample(text, "normwacht_outbox_messages", platform="telegram", state=state) == expected
        )
    assert waiting("telegram", "retry") == 1.0
    assert waiting("telegram", "an earlier message") == 1.0
    assert waiting("telegram", "next delivery") == 1.0
    assert waiting("telegram", "quiet hours") == 0.0
    assert waiting("slack", "platform down") == 1.0
    assert sample(text, "normwacht_up", part="slack") == 0.0
    assert sample(text, "normwacht_instances") == 0.0
    # 22:00 in Amsterdam: what is not urgent waits for the end of the quiet hours.
    clock.now = clock.now.replace(hour=21)
    text = (await scrape()).decode()
    assert waiting("telegram", "quiet hours") == 3.0
    assert waiting("telegram", "retry") == 0.0


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


async def test_an_empty_outbox_still_has_every_series_of_the_platforms_served(
    store: Store, database: str, tmp_path: Path, clock: FixedClock
) -> None:
    config = make_config(tmp_path, NORMWACHT_DB=database)
    health = Health(clock)
    health.watch("telegram")
    text = (await metrics_source(store, config, health)()).decode()
    for state in ("pending", "sending", "sent", "failed", "dead"):
        assert sample(text, "normwacht_outbox_messages", platform="telegram", state=state) == 0.0
    assert (
        sample(text, "normwacht_outbox_waiting_messages", platform="telegram", reason="retry")
        == 0.0
    )
    assert sample(text, "normwacht_outbox_messages", platform="slack", state="sent") is None
