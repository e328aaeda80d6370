"""Where SQLite's SQL and PostgreSQL's differ, and nowhere else.

The store writes one SQL for both engines: ``?`` parameters, ``ON CONFLICT`` upserts,
``RETURNING``, ``IS DISTINCT FROM``, text time stamps. What is left differs here: how
parameters are numbered, the column types of the schema, the catalog (a table's columns,
the sequences of identity columns), and the few spellings that have no common form (a
null-safe text of a row's figures, a staging table's name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

SQLITE: Final = "sqlite"
POSTGRESQL: Final = "postgresql"


@dataclass(frozen=True, slots=True)
class Dialect:
    engine: str

    def sql(self, text: str) -> str:
        """The statement as this engine takes it: PostgreSQL numbers its parameters."""
        return text if self.engine == SQLITE else _numbered(text)

    def ddl(self, script: str) -> str:
        """A migration in the store's SQLite spelling, in this engine's column types."""
        if self.engine == SQLITE:
            return script
        for pattern, replacement in _PG_TYPES:
            script = pattern.sub(replacement, script)
        return script

    def figures(self, columns: tuple[str, ...], prefix: str = "") -> str:
        """One text per row that differs when any of ``columns`` differs, nulls included."""
        if self.engine == SQLITE:
            return " || ',' || ".join(f"quote({prefix}{c})" for c in columns)
        return " || ',' || ".join(
            f"COALESCE(CAST({prefix}{c} AS TEXT) || '''', 'NULL')" for c in columns
        )

    def temp_table(self, name: str) -> str:
        """A staging table that only this connection sees."""
        return f"temp.{name}" if self.engine == SQLITE else f"pg_temp.{name}"

    def temp_index(self, name: str, table: str, columns: str) -> str:
        """An index on a staging table (SQLite names its schema, PostgreSQL its table's)."""
        if self.engine == SQLITE:
            return f"CREATE INDEX temp.{name} ON {table} ({columns})"
        return f"CREATE INDEX {name} ON pg_temp.{table} ({columns})"

    def columns(self, table: str) -> str:
        """A query of the names of ``table``'s columns, in their order."""
        if self.engine == SQLITE:
            return f"SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        return (
            "SELECT column_name::text FROM information_schema.columns "
            f"WHERE table_schema = current_schema() AND table_name = '{table}' "
            "ORDER BY ordinal_position"
        )

    @property
    def identities(self) -> str | None:
        """A query of the (table, column) that number new rows from a sequence of their
        own, which rows written with their ids leave behind; None on SQLite, where an
        ``INTEGER PRIMARY KEY`` goes on from the largest id by itself."""
        if self.engine == SQLITE:
            return None
        return (
            "SELECT table_name::text, column_name::text FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES' "
            "ORDER BY table_name"
        )

    def identity_past_max(self, table: str, column: str) -> str:
        """Moves the sequence of an identity column past the largest value in it (to 1 on
        an empty table), so the next row gets a fresh id."""
        return (
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
        )

    @property
    def clock(self) -> str:
        """The database's wall clock in seconds since 1970: leases compare against one clock,
        whichever process wrote them."""
        if self.engine == SQLITE:
            return "((julianday('now') - 2440587.5) * 86400.0)"
        return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"

    def analyze(self, table: str) -> str | None:
        """A statement that refreshes the planner's statistics of a table just filled in
        bulk: PostgreSQL plans from them, and a table it has never analysed (a staging
        table, or one an import has just grown many times over) is planned as if it were
        small. SQLite's plans here come from the keys alone: None."""
        return None if self.engine == SQLITE else f"ANALYZE {table}"

    def estimated_rows(self, table: str) -> str | None:
        """A query of how many rows the planner believes ``table`` holds (negative: it
        has never been analysed); None where there is no planner to ask."""
        if self.engine == SQLITE:
            return None
        return f"SELECT reltuples FROM pg_class WHERE oid = CAST('{table}' AS regclass)"

    def last_of_each(self, columns: str, table: str, key: str, where: str) -> str:
        """The ``columns`` of the rows of ``table`` that match ``where``, of each ``key``
        the last read (the highest ``row_no``), in key order."""
        if self.engine == SQLITE:
            return (
                f"SELECT {columns} FROM {table} WHERE {where} "
                f"AND row_no IN (SELECT MAX(row_no) FROM {table} GROUP BY {key}) "
                f"ORDER BY {key}"
            )
        # One sort instead of a grouping joined back: the sort also gives the key order.
        return (
            f"SELECT DISTINCT ON ({key}) {columns} FROM {table} WHERE {where} "
            f"ORDER BY {key}, row_no DESC"
        )

    def latest_of_each(self, columns: str, table: str, key: str, latest: str, where: str) -> str:
        """The ``columns`` of the rows of ``table`` that match ``where``, of each ``key``
        a row whose ``latest`` is the greatest (every such row where SQLite has ties)."""
        if self.engine == SQLITE:
            # SQLite seeks each key's maximum in the primary key.
            same = " AND ".join(f"l.{k.strip()} = m.{k.strip()}" for k in key.split(","))
            return (
                f"SELECT {columns} FROM {table} AS m WHERE {where} AND {latest} = "
                f"(SELECT MAX({latest}) FROM {table} AS l WHERE {same})"
            )
        # Where PostgreSQL would run that subquery once per row, one sort does.
        return (
            f"SELECT DISTINCT ON ({key}) {columns} FROM {table} WHERE {where} "
            f"ORDER BY {key}, {latest} DESC"
        )

    def upsert_arrays(self, table: str, columns: str, key: str, types: list[str]) -> str:
        """PostgreSQL's ``upsert`` of many rows in one statement: a parameter per column,
        an array of that column's values (of the PostgreSQL ``types``), unnested into rows."""
        arrays = ", ".join(f"?::{t}[]" for t in types)
        return upsert(table, columns, key, f"SELECT * FROM unnest({arrays})")

    def read_by(self, index: str) -> str:
        """After a table in ``FROM``: the index a query is to read. SQLite's planner, which
        has no statistics, may prefer another and sort; PostgreSQL plans from its own."""
        return f" INDEXED BY {index}" if self.engine == SQLITE else ""

    @property
    def skip_locked(self) -> str:
        """After a claim's ``SELECT``: rows another transaction holds are passed over
        (SQLite has one writer at a time, so there are none)."""
        return "" if self.engine == SQLITE else " FOR UPDATE OF o SKIP LOCKED"


def upsert(table: str, columns: str, key: str, rows: str | None = None) -> str:
    """``INSERT`` that replaces the row of the same ``key`` (both engines' ``ON CONFLICT``):
    of one row of parameters, or of the rows of the query ``rows``, which must have a
    ``WHERE`` (else SQLite would read ``ON`` as a join's)."""
    names = [c.strip() for c in columns.split(",")]
    keys = {k.strip() for k in key.split(",")}
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in keys)
    source = rows if rows is not None else f"VALUES ({', '.join('?' * len(names))})"
    return f"INSERT INTO {table} ({columns}) {source} ON CONFLICT ({key}) DO UPDATE SET {updates}"


def _numbered(text: str) -> str:
    """``?`` → ``$1, $2, …``, leaving quoted text and identifiers alone."""
    out: list[str] = []
    n = 0
    quote: str | None = None
    for ch in text:
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


# SQLite's dynamic types, as PostgreSQL's: integers are 64-bit (chat ids and counts grow),
# an integer primary key is an identity column, and WITHOUT ROWID is a SQLite storage hint.
_PG_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\bid INTEGER PRIMARY KEY\b"),
        "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\)\s*WITHOUT ROWID"), ")"),
)
