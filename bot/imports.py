"""Imports: every file of one call lands in one transaction, or none of them does.

Rows stream from the parsers into TEMP staging tables in batches (bounded memory); the
checks that span rows and files (duplicates, unknown sellers) run as SQL over the staged
rows; only a clean import is merged into the real tables.

Parsing, staging and checking take no database lock (TEMP tables belong to the import's
connection alone), so other processes keep writing meanwhile. The write lock is held only
for the merge: one short transaction that also records the rechecks the import obliges.

bol.com's snapshots of its own verdict (v11 ``performanceStatus`` bodies) are few: they are
kept in memory beside the staged rows (their sellers staged for the same checks) and stored
in the merge's transaction, where a snapshot that brought news owes a recheck from the last
week finished when it was fetched (its alerts are planned again).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.ingest import Figures, Issue, MeasurementRow, Row, StatusRow, read_file
from bot.seller_ids import seller_id_problem
from bot.store import Store, stamp
from bot.store.engine.base import Tx
from bot.store.engine.dialect import upsert
from bot.store.measurements import (
    MEASUREMENT_COLUMNS,
    MEASUREMENT_FIGURES,
    RATING_COLUMNS,
    RATING_FIGURES,
    measurement_figures,
    rating_figures,
)
from bot.store.owed import owe_rechecks_in
from bot.store.verdicts import add_statuses_in
from messages.reasons import N_, Reason
from norms import IsoWeek, Policy

BATCH = 5000
MAX_ISSUES_KEPT = 1000
# The time zone of bol.com's weeks (NORMS.md §1), when the caller names none.
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True, slots=True)
class ImportFile:
    path: Path
    name: str


@dataclass
class ImportResult:
    """What an import stored: rows of figures, shop ratings and bol.com's snapshots."""

    measurements: int = 0
    ratings: int = 0
    statuses: int = 0  # snapshots of bol.com's own verdict (performance status)
    weeks: set[tuple[str, IsoWeek]] = field(default_factory=set)
    sellers: set[str] = field(default_factory=set)
    created_sellers: list[str] = field(default_factory=list)
    # The sellers whose snapshot said something the one before it did not.
    status_news: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Everything the files held that was stored: figures, ratings and snapshots."""
        return self.measurements + self.ratings + self.statuses

    def describe(self) -> str:
        """``12 measurement(s), 1 shop rating(s) and 1 bol.com status(es)``: what came in."""
        parts = [f"{self.measurements} measurement(s)", f"{self.ratings} shop rating(s)"]
        if self.statuses:
            parts.append(f"{self.statuses} bol.com status(es)")
        return f"{', '.join(parts[:-1])} and {parts[-1]}"


class ImportRejected(Exception):
    """The import changed nothing; ``issues`` say why (file:line:column: reason)."""

    def __init__(self, issues: list[Issue], total: int) -> None:
        super().__init__(f"{total} problem(s)")
        self.issues = issues
        self.total = total


# ``row_no`` keeps the order rows were read in: the first of two disagreeing rows is named.
# The source and time of the import are the same for every row: the merge adds them.
_STAGING = """
CREATE TEMP TABLE staged_measurements{n} (
    seller_id TEXT, year INTEGER, week INTEGER, indicator TEXT, numerator INTEGER,
    denominator INTEGER, value REAL, norm REAL, condition TEXT, conforms INTEGER,
    excluded INTEGER, file TEXT, line INTEGER, seller_column INTEGER, row_no INTEGER);
CREATE TEMP TABLE staged_ratings{n} (
    seller_id TEXT, on_date TEXT, rating REAL, product_information REAL, delivery_time REAL,
    shipping REAL, service REAL, reviews INTEGER, method TEXT, top_retailer INTEGER,
    file TEXT, line INTEGER, seller_column INTEGER, row_no INTEGER);
CREATE TEMP TABLE staged_statuses{n} (
    seller_id TEXT, file TEXT, line INTEGER, seller_column INTEGER, row_no INTEGER)
"""
_STAGED_FIGURES = ("numerator", "denominator", "value", "norm", "excluded")
# The merge's parameters (source, imported_at), as the staged rows' last two columns.
_ORIGIN = "CAST(? AS TEXT) AS source, CAST(? AS TEXT) AS imported_at"
_STAGED_RATING_FIGURES = (
    "rating",
    "product_information",
    "delivery_time",
    "shipping",
    "service",
    "reviews",
    "method",
    "top_retailer",
)
# Each import of the process stages into tables of its own: uploads from two chats may
# be staged at the same time.
_staging_numbers = itertools.count(1)
# A staged row's seller is not stored. Not ``NOT IN (SELECT id FROM sellers)``: PostgreSQL
# cannot turn that into an anti-join, and once the sellers' ids no longer fit its working
# memory it compares every staged row with every seller.
_UNKNOWN_SELLER = "NOT EXISTS (SELECT 1 FROM sellers WHERE sellers.id = staged.seller_id)"


async def import_files(
    store: Store,
    files: Sequence[ImportFile],
    *,
    policy: Policy,
    today: date,
    now: datetime,
    source: str = "upload",
    create_sellers: bool = False,
    language: str = "nl",
    allowed_sellers: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    timezone: ZoneInfo = AMSTERDAM,
) -> ImportResult:
    """Import ``files`` all together; raises ``ImportRejected`` and changes nothing on error.
    ``now`` is when a bol.com snapshot without its own ``fetched_at`` was fetched;
    ``timezone`` says which week was the last finished one at a snapshot's fetch."""
    issues: list[Issue] = []
    total_issues = 0

    def note(issue: Issue) -> None:
        nonlocal total_issues
        total_issues += 1
        if len(issues) < MAX_ISSUES_KEPT:
            issues.append(issue)

    result = ImportResult()
    statuses: dict[tuple[str, str], StatusRow] = {}
    n = next(_staging_numbers)
    async with store.db.session() as session:
        tables = await _create_staging(session, n)
        try:
            stager = _Stager(note, result, statuses)
            for f in files:
                rows = read_file(
                    f.path,
                    today=today,
                    policy=policy,
                    name=f.name,
                    progress=progress,
                    now=now,
                    figures=True,
                )
                await _stage(session, tables, rows, stager)
            await _index_staging(session, tables)
            # The checks and the merge read every staged row: planned from what is there.
            for table in (tables.measurements, tables.ratings):
                if (analyze := session.dialect.analyze(table)) is not None:
                    await session.execute(analyze)
            repeated = await _repeated_keys(session, tables)
            for issue in await _cross_checks(
                session, tables, allowed_sellers, create_sellers, result.sellers, repeated
            ):
                note(issue)
            if total_issues:
                raise ImportRejected(sorted(issues, key=_issue_order), total_issues)
            if repeated:  # a key given more than once is stored once: count what is stored
                result.measurements = await _distinct_keys(session, tables)
            await _merge(
                store,
                tables,
                result,
                create_sellers,
                language,
                source,
                now,
                statuses,
                timezone,
                repeated,
            )
            await _refresh_statistics(session, "measurements", result.measurements)
        finally:
            for table in (tables.measurements, tables.ratings, tables.statuses):
                await session.execute(f"DROP TABLE IF EXISTS {table}")
    return result


async def _create_staging(session: Tx, n: int) -> Staging:
    dialect = session.dialect
    measurements, ratings = f"staged_measurements{n}", f"staged_ratings{n}"
    for statement in dialect.ddl(_STAGING.format(n=n)).split(";"):
        await session.execute(statement)
    return Staging(
        dialect.temp_table(measurements),
        dialect.temp_table(ratings),
        dialect.temp_table(f"staged_statuses{n}"),
        measurements,
        ratings,
    )


async def _index_staging(session: Tx, tables: Staging) -> None:
    """The keys of the staged rows, indexed once every row is in: one sort of them all
    instead of an index grown row by row while staging."""
    dialect = session.dialect
    m, r = tables.measurements_name, tables.ratings_name
    await session.execute(dialect.temp_index(f"{m}_key", m, "seller_id, year, week, indicator"))
    await session.execute(dialect.temp_index(f"{r}_key", r, "seller_id, on_date"))


@dataclass(frozen=True, slots=True)
class Staging:
    """The TEMP tables one import stages its rows in."""

    measurements: str
    ratings: str
    statuses: str  # only the sellers and places: the snapshots stay in memory
    measurements_name: str  # the tables' own names, without their schema (for indexes)
    ratings_name: str


async def _merge(
    store: Store,
    tables: Staging,
    result: ImportResult,
    create_sellers: bool,
    language: str,
    source: str,
    now: datetime,
    statuses: dict[tuple[str, str], StatusRow],
    timezone: ZoneInfo,
    repeated: bool,
) -> None:
    """The one write transaction of an import: the staged rows, bol.com's snapshots, and
    the rechecks owed. ``repeated``: whether any key is staged more than once."""
    m = tables.measurements
    async with store.db.transaction() as tx:
        if create_sellers:
            result.created_sellers = await _create_missing_sellers(tx, tables, now, language)
        key = "seller_id, year, week, indicator"
        # One source and one time stamp for every row of the import.
        origin = (source, stamp(now))
        # A key given twice (with the same figures) is written once: the last. In key
        # order the rows append to the table's B-tree instead of splitting it. Only a
        # figure replaces a figure: the keys a file does not hold (whatever its source)
        # keep what is stored for them.
        columns = f"{MEASUREMENT_FIGURES}, {_ORIGIN}"
        staged = (
            tx.dialect.last_of_each(columns, m, key, "1 = 1")
            if repeated
            else f"SELECT {columns} FROM {m} WHERE 1 = 1 ORDER BY {key}"
        )
        await tx.execute(upsert("measurements", MEASUREMENT_COLUMNS, key, staged), origin)
        ratings = tx.dialect.last_of_each(
            f"{RATING_FIGURES}, {_ORIGIN}", tables.ratings, "seller_id, on_date", "1 = 1"
        )
        await tx.execute(
            upsert("shop_ratings", RATING_COLUMNS, "seller_id, on_date", ratings), origin
        )
        earliest: dict[str, IsoWeek] = {}
        for seller_id, week in result.weeks:
            earliest[seller_id] = min(week, earliest.get(seller_id, week))
        snapshots = [(r.seller_id, r.status) for r in statuses.values()]
        result.status_news = await add_statuses_in(tx, snapshots, source, now)
        news = set(result.status_news)
        for seller_id, status in snapshots:
            if seller_id in news:
                # What bol.com says now decides the alerts of the last finished week.
                week = IsoWeek.containing(status.fetched_at, timezone).shift(-1)
                earliest[seller_id] = min(week, earliest.get(seller_id, week))
        if earliest:
            await owe_rechecks_in(tx, earliest, f"import:{source}", now)


async def _refresh_statistics(session: Tx, table: str, changed: int) -> None:
    """After a merge that changed a good share of ``table``, the planner's statistics now
    (where there is a planner): the recheck that follows an import reads the table at
    once, and autovacuum would only get to it within a minute. The share is autovacuum's
    own (50 rows and a tenth of the table)."""
    dialect = session.dialect
    analyze, estimate = dialect.analyze(table), dialect.estimated_rows(table)
    if analyze is None or estimate is None:
        return
    row = await session.fetchone(estimate)
    known = max(float(row[0]), 0.0) if row is not None else 0.0
    if changed > 50 + 0.1 * known:
        await session.execute(analyze)


def _issue_order(issue: Issue) -> tuple[str, int, int]:
    return issue.file, issue.line, issue.column


@dataclass(frozen=True, slots=True)
class _Batch:
    """The staging tables' rows of up to ``BATCH`` items a file yielded."""

    items: int  # rows and issues read: 0 once the file is done
    measurements: list[tuple[object, ...]]
    ratings: list[tuple[object, ...]]
    statuses: list[tuple[object, ...]]


class _Stager:
    """Turns the rows files yield into rows of the staging tables, a batch at a time, and
    counts what they hold in ``result``. One batch is read at a time, in a worker thread:
    nothing else touches what it writes to until the batch is handed over."""

    def __init__(
        self,
        note: Callable[[Issue], None],
        result: ImportResult,
        statuses: dict[tuple[str, str], StatusRow],
    ) -> None:
        self.note, self.result, self.statuses = note, result, statuses
        # Every row read so far, of all files: the staged rows' ``row_no``.
        self.rows_read = 0

    def batch(self, rows: Iterator[Row | Figures | Issue]) -> _Batch:
        """The next batch of ``rows``."""
        note, result = self.note, self.result
        sellers, weeks = result.sellers, result.weeks
        staged_m: list[tuple[object, ...]] = []
        staged_r: list[tuple[object, ...]] = []
        staged_s: list[tuple[object, ...]] = []
        items = 0
        number = self.rows_read
        # A seller's rows follow each other, with one week object (parsed once): its
        # week is added to ``weeks`` once, not row by row.
        last: tuple[str, IsoWeek] | None = None
        for item in itertools.islice(rows, BATCH):
            items += 1
            if isinstance(item, tuple):
                number += 1
                seller, week, indicator, numerator, denominator, value, norm, file, line, column = (
                    item
                )
                # The columns of _STAGING, as ``measurement_figures`` gives them for a measurement
                # without a condition, a conformity or bol.com's exclusion (an uploaded
                # table's). ``str`` of an indicator is its value, without the enum's lookup.
                staged_m.append(
                    (
                        seller,
                        week.year,
                        week.week,
                        str(indicator),
                        numerator,
                        denominator,
                        value,
                        norm,
                        None,
                        None,
                        0,
                        file,
                        line,
                        column,
                        number,
                    )
                )
                sellers.add(seller)
                if last is None or last[1] is not week or last[0] != seller:
                    last = (seller, week)
                    weeks.add(last)
            elif isinstance(item, MeasurementRow):
                number += 1
                seller, measurement = item.seller_id, item.measurement
                staged_m.append(
                    measurement_figures(
                        seller, measurement, item.file, item.line, item.seller_column, number
                    )
                )
                sellers.add(seller)
                if last is None or last[1] is not measurement.week or last[0] != seller:
                    last = (seller, measurement.week)
                    weeks.add(last)
            elif isinstance(item, Issue):
                note(item)
            else:
                number += 1
                sellers.add(item.seller_id)
                place = (item.file, item.line, item.seller_column, number)
                if isinstance(item, StatusRow):
                    self._status(item, place, staged_s)
                else:
                    staged_r.append(rating_figures(item.seller_id, item.rating, *place))
        self.rows_read = number
        result.measurements += len(staged_m)
        result.ratings += len(staged_r)
        return _Batch(items, staged_m, staged_r, staged_s)

    def _status(
        self, item: StatusRow, place: tuple[object, ...], staged: list[tuple[object, ...]]
    ) -> None:
        """A snapshot is kept once; the same seller and moment again must say the same."""
        key = (item.seller_id, stamp(item.status.fetched_at))
        first = self.statuses.setdefault(key, item)
        if first is not item and first.status != item.status:
            self.note(_status_twice(item, first))
        elif first is item:
            staged.append((item.seller_id, *place))
            self.result.statuses += 1


async def _stage(
    session: Tx, tables: Staging, rows: Iterator[Row | Figures | Issue], stager: _Stager
) -> None:
    """Stage the rows of one file, a batch at a time. Parsing is CPU work: it runs in a
    worker thread, which keeps the event loop free for chats. Not while SQLite stores the
    batch before: both need the interpreter's lock, and two threads passing it back and
    forth row by row take longer than one after the other."""
    while (batch := await asyncio.to_thread(stager.batch, rows)).items:
        await session.insert_rows(tables.measurements, batch.measurements)
        await session.insert_rows(tables.ratings, batch.ratings)
        await session.insert_rows(tables.statuses, batch.statuses)


def _status_twice(item: StatusRow, first: StatusRow) -> Issue:
    """Two different snapshots of one seller fetched at the same moment."""
    return Issue(
        item.file,
        item.line,
        item.seller_column,
        Reason(
            N_(
                "bol.com's status of %(seller)s fetched at %(moment)s is given twice with "
                "different figures (first at %(first)s)"
            ),
            seller=item.seller_id,
            moment=item.status.fetched_at.isoformat(),
            first=Reason(N_("%(file)s, line %(line)s"), file=first.file, line=first.line),
        ),
    )


async def _repeated_keys(session: Tx, tables: Staging) -> bool:
    """Whether any seller/week/indicator is staged more than once. Most imports give each
    key once: then no figures can disagree and the merge needs no pick of the last."""
    row = await session.fetchone(
        f"SELECT 1 FROM {tables.measurements} GROUP BY seller_id, year, week, indicator "
        "HAVING COUNT(*) > 1 LIMIT 1"
    )
    return row is not None


async def _distinct_keys(session: Tx, tables: Staging) -> int:
    """How many seller/week/indicator keys are staged, each counted once."""
    row = await session.fetchone(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT seller_id, year, week, indicator "
        f"FROM {tables.measurements}) AS keys"
    )
    return int(row[0]) if row is not None else 0


async def _cross_checks(
    session: Tx,
    tables: Staging,
    allowed: set[str] | None,
    create_sellers: bool,
    sellers: set[str],
    repeated: bool,
) -> list[Issue]:
    """The issues that span rows and files: keys given twice with different figures, and
    sellers that are unknown, cannot be added, or are not this chat's. ``sellers`` are all
    the staged rows' sellers; ``repeated`` whether any key is staged twice."""
    issues = await _clashes(session, tables) if repeated else []
    issues += await _rating_clashes(session, tables)
    issues += await _seller_issues(session, tables, allowed, create_sellers, sellers)
    return issues


async def _clashes(session: Tx, tables: Staging) -> list[Issue]:
    """The same seller/week/indicator twice is fine when the figures agree. Grouping first
    keeps this O(n log n): only keys with disagreeing figures are joined back."""
    staged_m, dialect = tables.measurements, session.dialect
    differ = " OR ".join(f"b.{c} IS DISTINCT FROM a.{c}" for c in _STAGED_FIGURES)
    clashes = await session.fetchall(
        f"WITH clash AS (SELECT MIN(row_no) AS first_row FROM {staged_m} "
        "GROUP BY seller_id, year, week, indicator "
        f"HAVING COUNT(DISTINCT {dialect.figures(_STAGED_FIGURES)}) > 1) "
        "SELECT b.file, b.line, b.seller_column, b.seller_id, b.year, b.week, b.indicator, "
        "a.file AS first_file, a.line AS first_line FROM clash "
        f"JOIN {staged_m} a ON a.row_no = clash.first_row "
        f"JOIN {staged_m} b ON b.seller_id = a.seller_id AND b.year = a.year "
        "AND b.week = a.week AND b.indicator = a.indicator AND b.row_no > a.row_no "
        f"WHERE {differ} ORDER BY b.file, b.line"
    )
    return [
        Issue(
            r["file"],
            r["line"],
            r["seller_column"],
            Reason(
                N_(
                    "%(seller)s %(week)s %(indicator)s is given twice with different figures "
                    "(first at %(first)s)"
                ),
                seller=r["seller_id"],
                week=str(IsoWeek(r["year"], r["week"])),
                indicator=r["indicator"],
                first=Reason(
                    N_("%(file)s, line %(line)s"), file=r["first_file"], line=r["first_line"]
                ),
            ),
        )
        for r in clashes
    ]


async def _rating_clashes(session: Tx, tables: Staging) -> list[Issue]:
    """The same seller and day twice with different shop ratings."""
    staged_r, dialect = tables.ratings, session.dialect
    figures = dialect.figures(_STAGED_RATING_FIGURES)
    return [
        Issue(
            r["file"],
            r["line"],
            r["seller_column"],
            Reason(
                N_(
                    "the shop rating of %(seller)s on %(date)s is given twice with "
                    "different figures"
                ),
                seller=r["seller_id"],
                date=str(r["on_date"]),
            ),
        )
        for r in await session.fetchall(
            f"WITH clash AS (SELECT seller_id, on_date, MIN(row_no) AS first_row "
            f"FROM {staged_r} GROUP BY seller_id, on_date HAVING COUNT(DISTINCT {figures}) > 1) "
            "SELECT b.file, b.line, b.seller_column, b.seller_id, b.on_date FROM clash "
            f"JOIN {staged_r} b ON b.seller_id = clash.seller_id "
            "AND b.on_date = clash.on_date AND b.row_no > clash.first_row "
            f"WHERE {dialect.figures(_STAGED_RATING_FIGURES, 'b.')} IS DISTINCT FROM ("
            f"SELECT {figures} FROM {staged_r} WHERE row_no = clash.first_row) "
            "ORDER BY b.file, b.line"
        )
    ]


async def _seller_issues(
    session: Tx,
    tables: Staging,
    allowed: set[str] | None,
    create_sellers: bool,
    sellers: set[str],
) -> list[Issue]:
    """Each seller's first row in each file, when the seller is unknown (and not to be
    added), cannot be added, or is not this chat's. Where every seller of the import is
    known to pass already (all would be valid new ids, all are the chat's), the staged
    rows are not read again."""
    issues: list[Issue] = []
    if allowed is not None:
        # A chat learns nothing about sellers it does not follow, not even whether they exist.
        if sellers <= allowed:
            return issues
        for r in await session.fetchall(_firsts(tables, "")):
            if r["seller_id"] not in allowed:
                issues.append(
                    Issue(
                        r["file"],
                        r["line"],
                        r["seller_column"],
                        Reason(
                            N_("seller %(seller)s is not linked to this chat"),
                            seller=repr(r["seller_id"]),
                        ),
                    )
                )
        return issues
    unknown_sql = _firsts(tables, f"WHERE {_UNKNOWN_SELLER}")
    if create_sellers:
        # The sellers an import would add follow the rule of ``seller add``.
        if all(seller_id_problem(s) is None for s in sellers):
            return issues
        for r in await session.fetchall(unknown_sql):
            problem = seller_id_problem(r["seller_id"])
            if problem is not None:
                issues.append(Issue(r["file"], r["line"], r["seller_column"], problem))
        return issues
    for r in await session.fetchall(unknown_sql):
        template = (
            N_(
                "unknown seller %(seller)s (%(rows)s rows): add it first (normwacht seller "
                "add) or import with --create-sellers"
            )
            if r["n"] > 1
            else N_(
                "unknown seller %(seller)s: add it first (normwacht seller add) or import "
                "with --create-sellers"
            )
        )
        reason = Reason(template, seller=repr(r["seller_id"]), rows=r["n"])
        issues.append(Issue(r["file"], r["line"], r["seller_column"], reason))
    return issues


def _firsts(tables: Staging, where: str) -> str:
    """Each seller's first staged row in each file (of those ``where`` keeps), and how many
    rows it has there."""
    staged = (
        f"SELECT seller_id, file, line, seller_column FROM {tables.measurements} UNION ALL "
        f"SELECT seller_id, file, line, seller_column FROM {tables.ratings} UNION ALL "
        f"SELECT seller_id, file, line, seller_column FROM {tables.statuses}"
    )
    return (
        "SELECT seller_id, file, line, seller_column, n FROM (SELECT seller_id, file, line, "
        "seller_column, ROW_NUMBER() OVER (PARTITION BY seller_id, file ORDER BY line) AS k, "
        f"COUNT(*) OVER (PARTITION BY seller_id, file) AS n FROM ({staged}) AS staged "
        f"{where}) AS ranked WHERE k = 1 ORDER BY seller_id, file"
    )


async def _create_missing_sellers(
    tx: Tx, tables: Staging, now: datetime, language: str
) -> list[str]:
    staged_m, staged_r = tables.measurements, tables.ratings
    # Each table's sellers apart, then together: SQLite reads a table's sellers from its
    # index, where a distinct of all rows together would put every staged row in a
    # temporary B-tree.
    rows = await tx.fetchall(
        f"SELECT seller_id FROM (SELECT DISTINCT seller_id FROM {staged_m} UNION "
        f"SELECT DISTINCT seller_id FROM {staged_r} UNION "
        f"SELECT seller_id FROM {tables.statuses}) AS staged "
        f"WHERE {_UNKNOWN_SELLER} ORDER BY seller_id"
    )
    created = [r["seller_id"] for r in rows]
    when = stamp(now)
    await tx.insert_rows(
        "sellers",
        [(s, s, language, when) for s in created],
        "id, name, language, created_at",
    )
    return created
