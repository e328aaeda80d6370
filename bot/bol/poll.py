"""Polling bol.com: a week's figures, the shop rating and bol.com's own verdict of every
connected seller.

Retailer API v11 where the seller's credentials allow it (nine KPI scores, the performance
status, the ratings); v10 for a seller bol.com does not grant v11 (its eight indicators and
the shop), said once in the log and in the poll's report, and remembered by the process so
that it is not asked again at every call. The bodies go through the same importer as
uploads (one JSON file per seller, source ``bol.com``), so polled and uploaded data are one
pipeline; the snapshot is fetched at the poll's ``now``. Answers are imported as they
arrive, a small batch of sellers at a time, each batch its own short transaction followed
by the work it owes, while the other sellers are still being fetched. Credentials that
bol.com refuses are reported once, to the seller's chats and the admins, and not tried
again until they are set anew. ``poll_provisional`` judges the current, unfinished week
without storing it: an early warning, never counted in the track.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from bot.bol.api import (
    JSON,
    REASONS,
    BadCredentials,
    BolApi,
    BolClient,
    BolError,
    Limiters,
    RequestBudget,
    V11Unavailable,
    all_of,
)
from bot.bol.credentials import SecretBox, SecretError
from bot.config import Config
from bot.imports import ImportFile, ImportRejected, ImportResult, import_files
from bot.metrics import POLL_FAILURES, POLL_SECONDS
from bot.notices.admins import tell_admins
from bot.notices.notice import Key, notice
from bot.notices.owed_work import complete_owed_work
from bot.progress import Progress
from bot.store import Store, stamp
from messages import SellerRef
from norms import IsoWeek

log = logging.getLogger(__name__)

T = TypeVar("T")
SOURCE = "bol.com"
MAX_LINES = 20


@dataclass(frozen=True, slots=True)
class PollFailure:
    """Why one seller could not be polled: a code of ``REASONS`` and the details."""

    reason: str
    detail: str = ""

    def __str__(self) -> str:
        text = REASONS.get(self.reason, self.reason)
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class PollSummary:
    """What one poll fetched, what had no data, what failed and why."""

    week: IsoWeek
    fetched: dict[str, int] = field(default_factory=dict)  # seller -> indicators with a score
    no_data: dict[str, list[str]] = field(default_factory=dict)  # seller -> without a score
    ratings: int = 0
    statuses: int = 0  # snapshots of bol.com's own verdict
    v10: dict[str, int] = field(default_factory=dict)  # seller -> the HTTP status v11 got
    failed: dict[str, PollFailure] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # refused before: set credentials again
    planned: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        """A few readable lines for the command line and the log."""
        lines = [
            f"polled {self.week} from bol.com in {self.seconds:.1f} s: "
            f"{len(self.fetched)} seller(s), {sum(self.fetched.values())} indicator(s), "
            f"{self.ratings} shop rating(s), {self.statuses} bol.com status(es)"
        ]
        lines += v10_lines(self.v10)
        if self.no_data:
            missing = sum(len(v) for v in self.no_data.values())
            lines.append(f"no data: {missing} indicator(s) of {len(self.no_data)} seller(s)")
        for seller_id, failure in sorted(self.failed.items())[:MAX_LINES]:
            lines.append(f"failed: {seller_id}: {failure}")
        if len(self.failed) > MAX_LINES:
            lines.append(f"... and {len(self.failed) - MAX_LINES} more failed")
        if self.skipped:
            shown = ", ".join(self.skipped[:MAX_LINES])
            more = (
                f" and {len(self.skipped) - MAX_LINES} more"
                if len(self.skipped) > MAX_LINES
                else ""
            )
            lines.append(
                f"skipped (bol.com refused their credentials; set them again): {shown}{more}"
            )
        if self.planned:
            lines.append(f"planned {self.planned} message(s)")
        return "\n".join(lines)


def v10_lines(v10: dict[str, int]) -> list[str]:
    """One line per seller polled with v10 because bol.com did not grant it v11."""
    lines = [
        f"v10 for {seller_id} (bol.com did not grant v11: {status})"
        for seller_id, status in sorted(v10.items())[:MAX_LINES]
    ]
    if len(v10) > MAX_LINES:
        lines.append(f"... and {len(v10) - MAX_LINES} more with v10")
    return lines


@dataclass(frozen=True, slots=True)
class WeekAnswer:
    """What bol.com answered for one seller: v10's indicator items and shop, or v11's KPI
    scores, performance status and ratings. ``v10_because``: the HTTP status with which
    bol.com refused v11, when this answer is v10's for that reason."""

    indicators: list[JSON] = field(default_factory=list)
    retailer: JSON | None = None
    kpi_scores: list[JSON] = field(default_factory=list)
    status: JSON | None = None
    ratings: JSON | None = None
    v10_because: int | None = None

    @property
    def items(self) -> list[JSON]:
        """The week's figures, one body or item per indicator, whichever version."""
        return self.kpi_scores or self.indicators


async def fetch_week(client: BolClient, week: IsoWeek, *, whole: bool = True) -> WeekAnswer:
    """``week``'s figures with v11 where bol.com grants it, else with v10; ``whole``: with
    v11's performance status and ratings (v10's shop) too."""
    refused = client.v11_refused
    if refused is None:
        try:
            if not whole:
                return WeekAnswer(kpi_scores=await client.kpi_scores(week))
            # One call first: a seller bol.com does not grant v11 is told by it alone, and
            # no parallel call is cut off midway (a request cancelled in flight can keep
            # its connection from the pool the other sellers share).
            status = await client.performance_status()
            kpis, ratings = await all_of([client.kpi_scores(week), client.ratings()])
            return WeekAnswer(
                kpi_scores=cast(list[JSON], kpis),
                status=status,
                ratings=cast(JSON, ratings),
            )
        except V11Unavailable as exc:
            refused = exc.status
            client.refuse_v11(refused)
            log.info("%s gets v10: bol.com did not grant v11 (HTTP %d)", client.name, refused)
    if not whole:
        return WeekAnswer(await client.performance_indicators(week), v10_because=refused)
    indicators, retailer = await all_of(
        [client.performance_indicators(week), client.retailer_current()]
    )
    return WeekAnswer(cast(list[JSON], indicators), cast(JSON, retailer), v10_because=refused)


# Sellers imported together: each batch is one short transaction, its sellers' owed work
# done right after it, while the others are still being fetched.
BATCH_SELLERS = 100
# How long the first answer of a batch waits for more before the batch goes in: each
# batch costs a few transactions whatever its size, and a second is little beside a
# week's wait.
BATCH_WAIT_S = 1.0

# What surrounds the import of each batch: called with the batch's sellers and the import
# itself, it runs the import and returns the messages planned. By default the rechecks the
# import owes are done after it; the Wednesday run also checks the batch's week.
AroundImport = Callable[[list[str], Callable[[], Awaitable[object]]], Awaitable[int]]


async def poll_week(
    store: Store,
    config: Config,
    week: IsoWeek,
    *,
    now: datetime,
    seller_ids: list[str] | None = None,
    show_progress: bool = False,
    pacing: RequestBudget | None = None,
    limiters: Limiters | None = None,
    around_import: AroundImport | None = None,
) -> PollSummary:
    """Fetch ``week`` for the sellers with credentials (all, or ``seller_ids``) and import
    it, in batches as the answers arrive (``around_import``: what surrounds each batch)."""
    started = time.monotonic()
    summary = PollSummary(week)
    clients = await connected_clients(store, config, seller_ids, summary.failed, summary.skipped)

    async def fetch(client: BolClient) -> WeekAnswer:
        return await fetch_week(client, week)

    today = now.astimezone(config.timezone).date()
    refused: list[str] = []

    async def owed_after(sellers: list[str], import_batch: Callable[[], Awaitable[object]]) -> int:
        await import_batch()
        return await complete_owed_work(store, config, now=now)

    async def take(batch: list[tuple[str, WeekAnswer | BolError | PollFailure]]) -> None:
        answers = dict(batch)
        refused.extend(sort_failures(answers, summary.failed))
        bodies = {s: a for s, a in answers.items() if isinstance(a, WeekAnswer)}
        if not bodies:
            return
        results: list[ImportResult] = []

        async def import_batch() -> None:
            result = await _import(store, config, week, bodies, today, now, summary.failed)
            if result is not None:
                results.append(result)

        summary.v10.update(
            {s: a.v10_because for s, a in bodies.items() if a.v10_because is not None}
        )
        summary.planned += await (around_import or owed_after)(sorted(bodies), import_batch)
        for seller_id in sorted(s for s in bodies if s not in summary.failed):
            items = bodies[seller_id].items
            summary.fetched[seller_id] = sum(1 for i in items if _has_score(i))
            empty = [_name(i) for i in items if not _has_score(i)]
            if empty:
                summary.no_data[seller_id] = empty
        summary.ratings += sum(r.ratings for r in results)
        summary.statuses += sum(r.statuses for r in results)

    progress = Progress(f"poll {week}", enabled=show_progress)
    batches: Batches[WeekAnswer | BolError | PollFailure] = Batches(take)
    try:
        async with (
            BolApi.from_config(config, pacing=pacing, limiters=limiters) as api,
            asyncio.TaskGroup() as group,
        ):
            # A batch that fails (the database went away) ends the poll: the group cancels
            # the fetches; what was imported stays, with the work it owes.
            group.create_task(batches.run())
            await fetch_each(api, clients, fetch, batches.add, progress.update)
            await batches.close()
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    finally:
        progress.close()
    for seller_id in sorted(refused):
        summary.planned += await report_refused(store, config, seller_id, now)
    summary.seconds = time.monotonic() - started
    POLL_SECONDS.observe(summary.seconds)
    for failure in summary.failed.values():
        POLL_FAILURES.labels(failure.reason).inc()
    return summary


# Failures that may pass: the scheduler tries these sellers again within the hour.
TRANSIENT_REASONS = frozenset({"unreachable", "rate_limited", "bol_error", "unexpected"})


# --- steps -------------------------------------------------------------------------------


async def connected_clients(
    store: Store,
    config: Config,
    seller_ids: list[str] | None,
    failed: dict[str, PollFailure],
    skipped: list[str],
) -> dict[str, tuple[str, str]]:
    """Client id and secret per seller to poll; the others go to ``failed`` or ``skipped``."""
    if config.secret_key is None:
        raise ValueError("NORMWACHT_SECRET_KEY: required to read stored credentials")
    box = SecretBox(config.secret_key)
    refused_before = await store.sellers.refused_credentials()
    wanted = seller_ids if seller_ids is not None else await store.sellers.with_credentials()
    clients: dict[str, tuple[str, str]] = {}
    for seller_id in dict.fromkeys(wanted):
        stored = await store.sellers.credentials(seller_id)
        if stored is None:
            failed[seller_id] = PollFailure("no_credentials")
        elif seller_id in refused_before:
            skipped.append(seller_id)
        else:
            try:
                clients[seller_id] = (box.open(stored[0]), box.open(stored[1]))
            except SecretError:
                failed[seller_id] = PollFailure("cannot_decrypt")
    return clients


async def fetch_each(
    api: BolApi,
    clients: dict[str, tuple[str, str]],
    fetch: Callable[[BolClient], Awaitable[T]],
    on_answer: Callable[[str, T | BolError | PollFailure], Awaitable[object]],
    progress: Callable[[int, int], None] | None,
) -> None:
    """``fetch`` for every seller, ``api.pacing.sellers`` at once; each answer (or why there
    is none) goes to ``on_answer`` as it comes, and is not kept. One seller's failure stops
    only that one."""
    done = 0
    total = len(clients)
    # One iterator shared by the fetchers: each takes the next seller when it is free, so
    # no more than the fetchers' own tasks exist however many sellers there are.
    waiting = iter(clients.items())

    async def one(seller_id: str, client_id: str, secret: str) -> T | BolError | PollFailure:
        try:
            return await fetch(api.client(client_id, secret, seller=seller_id))
        except BolError as exc:
            return exc
        except Exception as exc:  # a bug must not cost the other sellers their week
            log.exception("polling %s failed", seller_id)
            return PollFailure("unexpected", type(exc).__name__)

    async def fetcher() -> None:
        nonlocal done
        for seller_id, (client_id, secret) in waiting:
            answer = await one(seller_id, client_id, secret)
            done += 1
            if progress is not None:
                progress(done, total)
            await on_answer(seller_id, answer)

    await all_of([fetcher() for _ in range(min(api.pacing.sellers, total))])


async def fetch_all(
    api: BolApi,
    clients: dict[str, tuple[str, str]],
    fetch: Callable[[BolClient], Awaitable[T]],
    progress: Callable[[int, int], None] | None,
) -> dict[str, T | BolError | PollFailure]:
    """``fetch`` for every seller, many at once; every answer, in the order of ``clients``."""
    answers: dict[str, T | BolError | PollFailure] = {}

    async def keep(seller_id: str, answer: T | BolError | PollFailure) -> None:
        answers[seller_id] = answer

    await fetch_each(api, clients, fetch, keep, progress)
    return {seller_id: answers[seller_id] for seller_id in clients}


class Batches(Generic[T]):
    """Answers handed on in batches as they arrive: ``size`` sellers, or those that came
    within ``wait_s`` of the batch's first, whichever is first. One batch at a time is
    taken while more arrive; when the taker falls behind, the next batch is full at once,
    and the fetchers wait once a few batches are queued (memory stays bounded)."""

    def __init__(
        self,
        take: Callable[[list[tuple[str, T]]], Awaitable[None]],
        *,
        size: int = BATCH_SELLERS,
        wait_s: float = BATCH_WAIT_S,
    ) -> None:
        self.take = take
        self.size = size
        self.wait_s = wait_s
        self._queue: asyncio.Queue[tuple[str, T] | None] = asyncio.Queue(maxsize=4 * size)

    async def add(self, seller_id: str, answer: T) -> None:
        await self._queue.put((seller_id, answer))

    async def close(self) -> None:
        """No more answers: the last batch goes in, and ``run`` returns."""
        await self._queue.put(None)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        closed = False
        while not closed:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = loop.time() + self.wait_s
            while len(batch) < self.size:
                try:
                    async with asyncio.timeout_at(deadline):
                        item = await self._queue.get()
                except TimeoutError:
                    break
                if item is None:
                    closed = True
                    break
                batch.append(item)
            await self.take(batch)


def sort_failures(answers: dict[str, Any], failed: dict[str, PollFailure]) -> list[str]:
    """Record every failed fetch in ``failed``; returns the sellers whose credentials bol.com
    refused."""
    refused = []
    for seller_id, answer in answers.items():
        if isinstance(answer, BadCredentials):
            refused.append(seller_id)
        if isinstance(answer, BolError):
            failed[seller_id] = PollFailure(answer.reason, str(answer))
        elif isinstance(answer, PollFailure):
            failed[seller_id] = answer
    return sorted(refused)


def _has_score(item: JSON) -> bool:
    """A v10 item's ``details.score``, or a v11 body's ``score``."""
    details = item.get("details")
    if isinstance(details, dict):
        return details.get("score") is not None
    return item.get("score") is not None


def _name(item: JSON) -> str:
    return str(item.get("name") or item.get("kpi"))


def wrapped_bodies(seller_id: str, answer: WeekAnswer) -> list[JSON]:
    """The bodies wrapped with the seller, as the JSON import reads them (a snapshot
    without ``fetched_at``: it was fetched at the import's moment, the poll's ``now``)."""
    out: list[JSON] = []
    if answer.indicators or not answer.kpi_scores:
        out.append({"seller_id": seller_id, "performanceIndicators": answer.indicators})
    if answer.retailer is not None:
        out.append({"seller_id": seller_id, "retailer": answer.retailer})
    out += [{"seller_id": seller_id, "kpiScore": body} for body in answer.kpi_scores]
    if answer.status is not None:
        out.append({"seller_id": seller_id, "performanceStatus": answer.status})
    if answer.ratings is not None:
        out.append({"seller_id": seller_id, "ratings": answer.ratings})
    return out


async def _import(
    store: Store,
    config: Config,
    week: IsoWeek,
    bodies: dict[str, WeekAnswer],
    today: date,
    now: datetime,
    failed: dict[str, PollFailure],
) -> ImportResult | None:
    """Import the sellers' bodies in one transaction; a seller whose data is rejected is
    left out (with the first reason) and the rest imported again."""
    if not bodies:
        return None
    with tempfile.TemporaryDirectory(prefix="normwacht-poll-") as folder:
        files: dict[str, ImportFile] = {}
        for n, (seller_id, answer) in enumerate(sorted(bodies.items())):
            path = Path(folder) / f"seller-{n}.json"
            path.write_text(json.dumps(wrapped_bodies(seller_id, answer)), "utf-8")
            files[seller_id] = ImportFile(path, f"bol.com {seller_id} {week}")
        while files:
            try:
                return await import_files(
                    store,
                    list(files.values()),
                    policy=config.policy,
                    today=today,
                    now=now,
                    source=SOURCE,
                    timezone=config.timezone,
                )
            except ImportRejected as exc:
                owner = {f.name: s for s, f in files.items()}
                # reversed: each seller keeps its first issue
                bad = {owner[i.file]: str(i) for i in reversed(exc.issues) if i.file in owner}
                if not bad:  # cannot tell whose: nobody's data goes in
                    bad = dict.fromkeys(files, str(exc.issues[0]) if exc.issues else str(exc))
                for seller_id, issue in bad.items():
                    failed[seller_id] = PollFailure("rejected", issue)
                    del files[seller_id]
    return None


async def report_refused(store: Store, config: Config, seller_id: str, now: datetime) -> int:
    """Tell the seller's chats and the admins, once, that bol.com refused the credentials."""
    seller = await store.sellers.get(seller_id)
    if seller is None:
        return 0
    data = {"seller": SellerRef(seller.id, seller.name), "reason": BadCredentials.reason}
    chats = (await store.chats.destinations([seller_id])).get(seller_id, [])
    when = stamp(now)  # a later failure, after new credentials, is a new message
    messages = [
        notice(
            chat,
            "poll_failed",
            data,
            key=Key.poll_failed(seller_id, when, chat.id),
            seller_id=seller_id,
        )
        for chat in chats
    ]
    if not await store.sellers.record_credential_failure(seller_id, BadCredentials.reason, now):
        return 0
    log.warning("bol.com refused the credentials of %s; not polled until set again", seller_id)
    planned = await store.outbox.plan(messages, now)
    return planned + await tell_admins(
        store, config, "poll_failed", data, key=f"poll_failed:{seller_id}:{when}", now=now
    )
