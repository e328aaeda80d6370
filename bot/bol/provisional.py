"""The provisional early warning: the current, unfinished week judged on bol.com's figures
so far (v11's KPI scores where bol.com grants them, else v10's indicators). Nothing is
stored and nothing counts in the track; a seller whose escalating norms would fail if the
week ended now is told so, clearly labelled as provisional."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.bol.api import BolApi, BolClient, Limiters, RequestBudget
from bot.bol.poll import (
    PollFailure,
    WeekAnswer,
    connected_clients,
    fetch_all,
    fetch_week,
    report_refused,
    sort_failures,
    wrapped_bodies,
)
from bot.config import Config
from bot.ingest.files import read_file
from bot.ingest.rows import Issue, MeasurementRow
from bot.notices.check import seller_ref
from bot.notices.notice import Key, notice
from bot.store import PlannedMessage, Store
from norms import Indicator, IsoWeek, Measurement
from norms.verdicts import WeekVerdict, judge_week


@dataclass
class ProvisionalResult:
    """The current week judged on its figures so far, per seller; nothing was stored."""

    week: IsoWeek
    verdicts: dict[str, WeekVerdict] = field(default_factory=dict)
    failed: dict[str, PollFailure] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    v10: dict[str, int] = field(default_factory=dict)  # seller -> the HTTP status v11 got

    @property
    def warnings(self) -> dict[str, tuple[Indicator, ...]]:
        """Sellers whose escalating indicators would fail if the week ended now."""
        return {s: v.failed_escalating for s, v in self.verdicts.items() if v.failing}


async def poll_provisional(
    store: Store,
    config: Config,
    now: datetime,
    *,
    seller_ids: list[str] | None = None,
    pacing: RequestBudget | None = None,
    limiters: Limiters | None = None,
) -> ProvisionalResult:
    """Judge the current (unfinished) week on bol.com's figures so far; stores no data."""
    week = IsoWeek.containing(now, config.timezone)
    outcome = ProvisionalResult(week)
    clients = await connected_clients(store, config, seller_ids, outcome.failed, outcome.skipped)

    async def fetch(client: BolClient) -> WeekAnswer:
        return await fetch_week(client, week, whole=False)

    async with BolApi.from_config(config, pacing=pacing, limiters=limiters) as api:
        answers = await fetch_all(api, clients, fetch, None)
    outcome.v10 = {
        s: a.v10_because
        for s, a in answers.items()
        if isinstance(a, WeekAnswer) and a.v10_because is not None
    }
    refused = sort_failures(answers, outcome.failed)
    today = now.astimezone(config.timezone).date()
    exemptions = await store.exemptions.all()
    with tempfile.TemporaryDirectory(prefix="normwacht-provisional-") as folder:
        for seller_id, answer in sorted(answers.items()):
            if not isinstance(answer, WeekAnswer):
                continue
            path = Path(folder) / "provisional.json"
            path.write_text(json.dumps(wrapped_bodies(seller_id, answer)), "utf-8")
            name = f"bol.com {seller_id} {week} (provisional)"
            measurements: dict[Indicator, Measurement] = {}
            problems: list[str] = []
            for item in read_file(path, today=today, policy=config.policy, name=name, now=now):
                if isinstance(item, Issue):
                    problems.append(str(item))
                elif isinstance(item, MeasurementRow) and item.measurement.week == week:
                    measurements[item.measurement.indicator] = item.measurement
            if problems:
                outcome.failed[seller_id] = PollFailure("rejected", problems[0])
                continue
            outcome.verdicts[seller_id] = judge_week(
                config.policy, seller_id, week, measurements, exemptions
            )
    for seller_id in refused:
        await report_refused(store, config, seller_id, now)
    return outcome


async def plan_provisional_warnings(store: Store, result: ProvisionalResult, now: datetime) -> int:
    """Tell each seller's chats once per week and set of failing norms (a new failing norm
    is news; the same one every day is not)."""
    warnings = result.warnings
    if not warnings:
        return 0
    destinations = await store.chats.destinations(sorted(warnings))
    sellers = {s.id: s for s in await store.sellers.some(sorted(warnings))}
    planned: list[PlannedMessage] = []
    for seller_id, failing in sorted(warnings.items()):
        verdict = result.verdicts[seller_id]
        names = "+".join(i.value for i in failing)
        for chat in destinations.get(seller_id, []):
            if chat.muted:
                continue
            planned.append(
                notice(
                    chat,
                    "provisional",
                    {
                        "seller": seller_ref(sellers[seller_id]),
                        "week": result.week,
                        "failing": [verdict.indicators[i] for i in failing],
                    },
                    key=Key.provisional(seller_id, result.week, chat.id, names),
                    seller_id=seller_id,
                    week=result.week,
                )
            )
    return await store.outbox.plan(planned, now)


def scheduled_early_warning(
    store: Store, config: Config, *, pacing: RequestBudget | None = None
) -> Callable[[datetime], Awaitable[int]] | None:
    """The daily provisional poll for the scheduler; None when credentials cannot be read."""
    if config.secret_key is None:
        return None

    async def warn(now: datetime) -> int:
        result = await poll_provisional(store, config, now, pacing=pacing)
        return await plan_provisional_warnings(store, result, now)

    return warn
