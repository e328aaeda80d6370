"""Imports: every file of one call lands in one transaction, or none of them does.

Rows stream from the parsers into TEMP staging tables in batches (bounded memory); the
checks that span rows and files (duplicates, unknown sellers) run as SQL over the staged
rows; only a clean import is merged into the real tables.

Parsing, staging and checking take no database lock (TEMP tables belong to this
connection alone), so other processes keep writing meanwhile. The write lock is held only
for the merge: one short transaction that also records the rechecks the import obliges.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import aiosqlite

from bot.ingest import Issue, MeasurementRow, RatingRow, read_file
from bot.seller_ids import seller_id_problem
from bot.store import Store, stamp
from bot.store.data import MEASUREMENT_COLUMNS, RATING_COLUMNS, measurement_row, rating_row
from bot.store.owed import owe_rechecks_in
from norms import IsoWeek, Policy

BATCH = 5000
MAX_ISSUES_KEPT = 1000


@dataclass(frozen=True, slots=True)
class ImportFile:
    path: Path
    name: str


@dataclass
class ImportResult:
    measurements: int = 0
    ratings: int = 0
    weeks: set[tuple[str, IsoWeek]] = field(default_factory=set)
    sellers: set[str] = field(default_factory=set)
    created_sellers: list[str] = field(default_factory=list)


class ImportRejected(Exception):
    """The import changed nothing; ``issues`` say why (file:line:column: reason)."""

    def __init__(self, issues: list[Issue], total: int) -> None:
        super().__init__(f"{total} problem(s)")
        self.issues = issues
        self.total = total


_STAGING = """
CREATE TEMP TABLE staged_measurements{n} (
    seller_id TEXT, year INTEGER, week INTEGER, indicator TEXT, numerator INTEGER,
    denominator INTEGER, value REAL, norm REAL, condition TEXT, conforms INTEGER,
    source TEXT, imported_at TEXT, file TEXT, line INTEGER, seller_column INTEGER);
CREATE TEMP TABLE staged_ratings{n} (
    seller_id TEXT, on_date TEXT, rating REAL, product_information REAL, delivery_time REAL,
    shipping REAL, service REAL, reviews INTEGER, method TEXT, top_retailer INTEGER,
    source TEXT, imported_at TEXT, file TEXT, line INTEGER, seller_column INTEGER);
CREATE INDEX temp.staged_measurements{n}_key
    ON staged_measurements{n} (seller_id, year, week, indicator);
CREATE INDEX temp.staged_ratings{n}_key ON staged_ratings{n} (seller_id, on_date)
"""
# Each import of the process stages into tables of its own: uploads from two chats may
# be staged at the same time.
_staging_numbers = itertools.count(1)
# A week without figures is no data: it only takes earlier figures away.
_EMPTY = "numerator IS NULL AND denominator IS NULL AND value IS NULL"


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
) -> ImportResult:
    """Import ``files`` all together; raises ``ImportRejected`` and changes nothing on error."""
    issues: list[Issue] = []
    total_issues = 0

    def note(issue: Issue) -> None:
        nonlocal total_issues
        total_issues += 1
        if len(issues) < MAX_ISSUES_KEPT:
            issues.append(issue)

    result = ImportResult()
    n = next(_staging_numbers)
    tables = Staging(f"temp.staged_measurements{n}", f"temp.staged_ratings{n}")
    async with store.db.exclusive() as conn:
        for statement in _STAGING.format(n=n).split(";"):
            await conn.execute(statement)
    try:
        for f in files:
            rows = read_file(f.path, today=today, policy=policy, name=f.name, progress=progress)
            await _stage(store, tables, rows, source, now, note, result)
        for issue in await _cross_checks(store.db.conn, tables, allowed_sellers, create_sellers):
            note(issue)
        if total_issues:
            raise ImportRejected(sorted(issues, key=_issue_order), total_issues)
        await _merge(store, tables, result, create_sellers, language, source, now)
    finally:
        async with store.db.exclusive() as conn:
            await conn.execute(f"DROP TABLE IF EXISTS {tables.measurements}")
            await conn.execute(f"DROP TABLE IF EXISTS {tables.ratings}")
    return result


@dataclass(frozen=True, slots=True)
class Staging:
    """The TEMP tables one import stages its rows in."""

    measurements: str
    ratings: str


async def _merge(
    store: Store,
    tables: Staging,
    result: ImportResult,
    create_sellers: bool,
    language: str,
    source: str,
    now: datetime,
) -> None:
    """The one write transaction of an import: the staged rows, and the rechecks owed."""
    m = tables.measurements
    async with store.db.transaction() as conn:
        if create_sellers:
            result.created_sellers = await _create_missing_sellers(conn, tables, now, language)
        await conn.execute(
            f"INSERT OR REPLACE INTO measurements ({MEASUREMENT_COLUMNS}) "
            f"SELECT {MEASUREMENT_COLUMNS} FROM {m} WHERE NOT ({_EMPTY}) "
            # In key order the rows append to the table's B-tree instead of splitting it.
            "ORDER BY seller_id, year, week, indicator"
        )
        # An empty row takes away what was stored for its key (the table never holds one).
        await conn.execute(
            "DELETE FROM measurements WHERE (seller_id, year, week, indicator) IN "
            f"(SELECT seller_id, year, week, indicator FROM {m} WHERE {_EMPTY})"
        )
        await conn.execute(
            f"INSERT OR REPLACE INTO shop_ratings ({RATING_COLUMNS}) "
            f"SELECT {RATING_COLUMNS} FROM {tables.ratings}"
        )
        earliest: dict[str, IsoWeek] = {}
        for seller_id, week in result.weeks:
            earliest[seller_id] = min(week, earliest.get(seller_id, week))
        if earliest:
            await owe_rechecks_in(conn, earliest, f"import:{source}", now)


def _issue_order(issue: Issue) -> tuple[str, int, int]:
    return issue.file, issue.line, issue.column


async def _stage(
    store: Store,
    tables: Staging,
    rows: Iterator[MeasurementRow | RatingRow | Issue],
    source: str,
    now: datetime,
    note: Callable[[Issue], None],
    result: ImportResult,
) -> None:
    imported_at = stamp(now)  # one time stamp for every row of the import
    while True:
        # Parsing is CPU work: keep the event loop free for chats while a big file streams.
        batch = await asyncio.to_thread(lambda: list(itertools.islice(rows, BATCH)))
        if not batch:
            return
        staged_m: list[tuple[object, ...]] = []
        staged_r: list[tuple[object, ...]] = []
        for item in batch:
            if isinstance(item, Issue):
                note(item)
                continue
            place = (item.file, item.line, item.seller_column)
            result.sellers.add(item.seller_id)
            if isinstance(item, MeasurementRow):
                staged_m.append(
                    (
                        *measurement_row(item.seller_id, item.measurement, source, imported_at),
                        *place,
                    )
                )
                result.measurements += 1
                result.weeks.add((item.seller_id, item.measurement.week))
            else:
                staged_r.append(
                    (*rating_row(item.seller_id, item.rating, source, imported_at), *place)
                )
                result.ratings += 1
        async with store.db.exclusive() as conn:
            if staged_m:
                await conn.executemany(
                    f"INSERT INTO {tables.measurements} VALUES ({','.join('?' * 15)})", staged_m
                )
            if staged_r:
                await conn.executemany(
                    f"INSERT INTO {tables.ratings} VALUES ({','.join('?' * 15)})", staged_r
                )


async def _cross_checks(
    conn: aiosqlite.Connection, tables: Staging, allowed: set[str] | None, create_sellers: bool
) -> list[Issue]:
    staged_m, staged_r = tables.measurements, tables.ratings
    issues: list[Issue] = []
    # The same seller/week/indicator twice is fine when the figures agree. Grouping first
    # keeps this O(n log n): only keys with disagreeing figures are joined back.
    async with conn.execute(
        f"WITH clash AS (SELECT MIN(rowid) AS first_row FROM {staged_m} "
        "GROUP BY seller_id, year, week, indicator HAVING COUNT(DISTINCT quote(numerator) "
        "|| quote(denominator) || quote(value) || quote(norm)) > 1) "
        "SELECT b.file, b.line, b.seller_column, b.seller_id, b.year, b.week, b.indicator, "
        "a.file AS first_file, a.line AS first_line FROM clash "
        f"JOIN {staged_m} a ON a.rowid = clash.first_row "
        f"JOIN {staged_m} b ON b.seller_id = a.seller_id AND b.year = a.year "
        "AND b.week = a.week AND b.indicator = a.indicator AND b.rowid > a.rowid "
        "WHERE b.numerator IS NOT a.numerator OR b.denominator IS NOT a.denominator "
        "OR b.value IS NOT a.value OR b.norm IS NOT a.norm ORDER BY b.file, b.line"
    ) as cur:
        for r in await cur.fetchall():
            issues.append(
                Issue(
                    r["file"],
                    r["line"],
                    r["seller_column"],
                    f"{r['seller_id']} {IsoWeek(r['year'], r['week'])} {r['indicator']} is given "
                    f"twice with different figures (first at {r['first_file']}:{r['first_line']})",
                )
            )
    figures = " || ".join(
        f"quote({c})"
        for c in (
            "rating",
            "product_information",
            "delivery_time",
            "shipping",
            "service",
            "reviews",
            "method",
            "top_retailer",
        )
    )
    async with conn.execute(
        f"WITH clash AS (SELECT seller_id, on_date, MIN(rowid) AS first_row "
        f"FROM {staged_r} GROUP BY seller_id, on_date HAVING COUNT(DISTINCT {figures}) > 1) "
        "SELECT b.file, b.line, b.seller_column, b.seller_id, b.on_date FROM clash "
        f"JOIN {staged_r} b ON b.seller_id = clash.seller_id "
        "AND b.on_date = clash.on_date AND b.rowid > clash.first_row "
        f"WHERE {figures.replace('quote(', 'quote(b.')} IS NOT ("
        f"SELECT {figures} FROM {staged_r} WHERE rowid = clash.first_row) "
        "ORDER BY b.file, b.line"
    ) as cur:
        for r in await cur.fetchall():
            issues.append(
                Issue(
                    r["file"],
                    r["line"],
                    r["seller_column"],
                    f"the shop rating of {r['seller_id']} on {r['on_date']} is given twice "
                    "with different figures",
                )
            )
    unknown_sql = (
        "SELECT seller_id, file, MIN(line) AS line, seller_column, COUNT(*) AS n FROM ("
        f"SELECT seller_id, file, line, seller_column FROM {staged_m} UNION ALL "
        f"SELECT seller_id, file, line, seller_column FROM {staged_r}) "
        "WHERE seller_id NOT IN (SELECT id FROM main.sellers) GROUP BY seller_id, file"
    )
    if allowed is None and not create_sellers:
        async with conn.execute(unknown_sql) as cur:
            for r in await cur.fetchall():
                more = f" ({r['n']} rows)" if r["n"] > 1 else ""
                issues.append(
                    Issue(
                        r["file"],
                        r["line"],
                        r["seller_column"],
                        f"unknown seller {r['seller_id']!r}{more}: add it first "
                        "(normwacht seller add) or import with --create-sellers",
                    )
                )
    if allowed is None and create_sellers:
        # The sellers an import would add follow the rule of ``seller add``.
        async with conn.execute(unknown_sql) as cur:
            for r in await cur.fetchall():
                problem = seller_id_problem(r["seller_id"])
                if problem is not None:
                    issues.append(Issue(r["file"], r["line"], r["seller_column"], problem))
    if allowed is not None:
        # A chat learns nothing about sellers it does not follow, not even whether they exist.
        async with conn.execute(
            "SELECT seller_id, file, MIN(line) AS line, seller_column FROM ("
            f"SELECT seller_id, file, line, seller_column FROM {staged_m} UNION ALL "
            f"SELECT seller_id, file, line, seller_column FROM {staged_r}) "
            "GROUP BY seller_id, file"
        ) as cur:
            for r in await cur.fetchall():
                if r["seller_id"] not in allowed:
                    issues.append(
                        Issue(
                            r["file"],
                            r["line"],
                            r["seller_column"],
                            f"seller {r['seller_id']!r} is not linked to this chat",
                        )
                    )
    return issues


async def _create_missing_sellers(
    conn: aiosqlite.Connection, tables: Staging, now: datetime, language: str
) -> list[str]:
    staged_m, staged_r = tables.measurements, tables.ratings
    async with conn.execute(
        f"SELECT DISTINCT seller_id FROM (SELECT seller_id FROM {staged_m} UNION ALL "
        f"SELECT seller_id FROM {staged_r}) "
        "WHERE seller_id NOT IN (SELECT id FROM main.sellers) ORDER BY seller_id"
    ) as cur:
        created = [r["seller_id"] for r in await cur.fetchall()]
    await conn.executemany(
        "INSERT INTO sellers (id, name, language, created_at) VALUES (?, ?, ?, ?)",
        [(s, s, language, stamp(now)) for s in created],
    )
    return created
