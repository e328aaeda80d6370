"""``normwacht migrate``, ``db copy``, ``db backup`` and ``keygen``: whole databases and
the key that seals the stored credentials."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bot.bol.credentials import SecretBox, SecretError, keys_of, new_key
from bot.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Commands,
    Context,
    InputRejected,
    example,
)
from bot.store import Store
from bot.store.configured import open_store, open_target
from bot.store.engine.base import is_postgresql, password_of, sqlite_path
from bot.store.engine.schema import MIGRATIONS
from bot.store.engine.sqlite import SqliteDatabase
from bot.store.leases import Leases


def add_keygen(sub: Commands) -> None:
    keygen = sub.add_parser(
        "keygen",
        help="print a new NORMWACHT_SECRET_KEY; --rotate: re-encrypt under the first key",
        description="Print a new key for NORMWACHT_SECRET_KEY. To rotate: list the new key "
        "first and the old one after it (NORMWACHT_SECRET_KEY=NEW,OLD), run keygen --rotate "
        "to re-encrypt the stored bol.com credentials under NEW, then drop OLD.",
        **example("normwacht keygen --rotate"),
    )
    keygen.add_argument(
        "--rotate",
        action="store_true",
        help="re-encrypt the stored credentials under the first key of NORMWACHT_SECRET_KEY",
    )
    keygen.set_defaults(handler=cmd_keygen, needs_store=False)


def add_migrate(sub: Commands) -> None:
    sub.add_parser(
        "migrate",
        help="bring the database's schema up to date and say which version it is at",
        description="Open NORMWACHT_DB, bring its schema up to date (instances starting at "
        "once take turns) and print which database it is and its schema version.",
        **example("normwacht migrate"),
    ).set_defaults(handler=cmd_migrate)


def add_db(sub: Commands) -> None:
    db = sub.add_parser(
        "db",
        help="whole databases: copy one into another, or back one up",
        **example(
            "normwacht db copy data/normwacht.sqlite3 postgresql://normwacht@db.example/normwacht"
        ),
    )
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dcopy = dsub.add_parser(
        "copy",
        help="copy every record of one database into another, empty one",
        description="Copy every record of SRC into DST (SQLite to PostgreSQL, or any other "
        "way), in one transaction: when anything is refused, DST stays empty. Both are "
        "brought up to the current schema first; DST must hold no data. The cache of "
        "derived states is not copied: the next check rebuilds it. Stop the bot first: "
        "what it writes to SRC after the copy began is not copied.",
        **example(
            "normwacht db copy data/normwacht.sqlite3 postgresql://normwacht@db.example/normwacht"
        ),
    )
    dcopy.add_argument(
        "source",
        metavar="SRC",
        help="the database to copy: a SQLite file (or sqlite:///path) or a postgresql:// URL",
    )
    dcopy.add_argument(
        "target",
        metavar="DST",
        help="the empty database to copy into: a SQLite file (made if missing) or a "
        "postgresql:// URL of an existing database",
    )
    dcopy.set_defaults(handler=cmd_db_copy, needs_store=False)
    dbackup = dsub.add_parser(
        "backup",
        help="a whole copy of the SQLite database, safe while the bot runs",
        description="Write a whole, consistent copy of the SQLite database NORMWACHT_DB to "
        "DEST (a new file, or a folder to put a dated file in), while normwacht run goes on "
        "working. The copy is a database normwacht opens as it is: restore it by stopping "
        "the bot and putting the file in place of NORMWACHT_DB. Keep NORMWACHT_SECRET_KEY "
        "with it: without that key the stored bol.com credentials cannot be read. On "
        "PostgreSQL it prints the pg_dump command to use instead (exit code 2).",
        **example("normwacht db backup /var/backups/normwacht/"),
    )
    dbackup.add_argument(
        "dest",
        metavar="DEST",
        type=Path,
        help="the file to write (must not exist), or an existing folder",
    )
    dbackup.set_defaults(handler=cmd_db_backup)


async def cmd_keygen(args: argparse.Namespace, ctx: Context) -> int:
    if args.rotate:
        return await _rotate_keys(ctx)
    print(new_key())
    return EXIT_OK


async def _rotate_keys(ctx: Context) -> int:
    """Every stored credential sealed anew under the first key of NORMWACHT_SECRET_KEY."""
    if ctx.config.secret_key is None:
        raise InputRejected(
            "NORMWACHT_SECRET_KEY: required to rotate: list the new key first and the old "
            "one(s) after it, e.g. NORMWACHT_SECRET_KEY=NEW,OLD"
        )
    box = SecretBox(ctx.config.secret_key)
    store = await open_store(ctx.config, busy_wait_s=ctx.config.busy_wait_s)
    try:
        rotated = await store.sellers.reseal_credentials(box.reseal)
    except SecretError as exc:
        raise InputRejected(
            f"{exc}: list every key still in use after the new one; nothing was changed"
        ) from exc
    finally:
        await store.close()
    keys = len(keys_of(ctx.config.secret_key))
    print(f"re-encrypted the bol.com credentials of {rotated} seller(s) under the first key")
    if keys > 1:
        print(
            "the other key(s) of NORMWACHT_SECRET_KEY are no longer needed for them: "
            "remove them once every running normwacht has restarted with the new list",
            file=sys.stderr,
        )
    return EXIT_OK


async def cmd_migrate(args: argparse.Namespace, ctx: Context) -> int:
    # Opening the store migrated it (on PostgreSQL under a lock that instances take in turn).
    db = ctx.store.db
    version = await db.schema_version()
    if version > len(MIGRATIONS):
        raise InputRejected(
            f"NORMWACHT_DB: {db.describe()} is at schema version {version}, newer than this "
            f"normwacht knows ({len(MIGRATIONS)}): upgrade normwacht"
        )
    print(f"normwacht: {db.describe()} is at schema version {version}")
    return EXIT_OK


async def cmd_db_copy(args: argparse.Namespace, ctx: Context) -> int:
    # Deferred: it pulls in asyncpg, which --help and every SQLite-only command never need.
    from bot.store.engine.copy import SKIPPED, RowRefused, TargetNotEmpty, copy_database

    source, target = args.source, args.target
    if not is_postgresql(source) and not Path(sqlite_path(source)).is_file():
        # Opening it would make an empty database there, and copy nothing from it.
        raise InputRejected(f"SRC {source}: no such file")
    if _same_database(source, target):
        raise InputRejected("SRC and DST are the same database")
    wait = ctx.config.busy_wait_s
    src = await open_target(source, "SRC", busy_wait_s=wait)
    try:
        dst = await open_target(target, "DST", busy_wait_s=wait)
        try:
            await _not_in_use("SRC", src, ctx.config.lease_s)
            await _not_in_use("DST", dst, ctx.config.lease_s)
            try:
                copied = await copy_database(src.db, dst.db)
            except TargetNotEmpty as exc:
                raise InputRejected(
                    f"DST {dst.db.describe()} is not empty ({exc}): db copy fills an empty "
                    "database only, it never merges; nothing was copied"
                ) from exc
            except RowRefused as exc:
                raise InputRejected(
                    f"DST {dst.db.describe()} refused a row of {exc}; nothing was copied, "
                    "DST is as empty as before"
                ) from exc
            for c in copied:
                print(f"{c.table}: {c.rows} row(s)")
            for table, why in SKIPPED.items():
                print(f"{table}: not copied ({why})")
            total = sum(c.rows for c in copied)
            print(f"copied {total} row(s) from {src.db.describe()} to {dst.db.describe()}")
        finally:
            await dst.close()
    finally:
        await src.close()
    return EXIT_OK


async def cmd_db_backup(args: argparse.Namespace, ctx: Context) -> int:
    db = ctx.store.db
    if not isinstance(db, SqliteDatabase):
        return _pg_dump_instead(args.dest, ctx.config.database)
    dest: Path = args.dest
    if dest.is_dir():
        moment = ctx.now().astimezone(ctx.config.timezone).strftime("%Y%m%dT%H%M%S")
        dest = dest / f"normwacht-{moment}.sqlite3"
    if dest.exists() or dest.is_symlink():
        raise InputRejected(f"DEST {dest}: exists already; a backup is written to a new file only")
    if not dest.parent.is_dir():
        raise InputRejected(f"DEST {dest}: no folder {dest.parent}")
    if Path(db.path).resolve() == dest.resolve():
        raise InputRejected("DEST is the database itself")
    partial = dest.with_name(f".{dest.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        await db.backup_into(partial)
        # Seen whole under its name or not at all: a crash leaves no half backup there.
        partial.rename(dest)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    size = dest.stat().st_size
    version = await db.schema_version()
    print(
        f"backed up {db.describe()} to {dest} ({size:,} bytes, schema version {version}); "
        "keep NORMWACHT_SECRET_KEY with it"
    )
    return EXIT_OK


def _pg_dump_instead(dest: Path, database: str) -> int:
    """PostgreSQL's own tool backs it up, consistently while normwacht runs: the command,
    without the password (pg_dump reads it from PGPASSWORD or ~/.pgpass)."""
    url = database
    if password_of(url) is not None:
        scheme, _, rest = url.partition("://")
        userinfo, _, host = rest.rpartition("@")
        url = f"{scheme}://{userinfo.partition(':')[0]}@{host}"
    print(f"pg_dump --format=custom --file={shlex.quote(str(dest))} {shlex.quote(url)}")
    print(
        "normwacht: db backup copies SQLite databases; back up PostgreSQL with the pg_dump "
        "command above (the password is left out: pg_dump reads it from PGPASSWORD or "
        "~/.pgpass) and restore into an empty database with pg_restore --dbname=URL FILE",
        file=sys.stderr,
    )
    return EXIT_REJECTED


async def _not_in_use(name: str, store: Store, period_s: float) -> None:
    """A bot still running on the source would write what the copy no longer sees; one
    running on the target would work on a database that fills up under it."""
    running = await Leases(store.db).alive(period_s)
    if running:
        more = f" and {len(running) - 1} more" if len(running) > 1 else ""
        raise InputRejected(
            f"{name} {store.db.describe()} is in use by normwacht {running[0]}{more}: stop it "
            "first (a killed one counts as stopped after NORMWACHT_LEASE_SECONDS); nothing "
            "was copied"
        )


def _same_database(source: str, target: str) -> bool:
    if is_postgresql(source) or is_postgresql(target):
        return source == target
    return Path(sqlite_path(source)).resolve() == Path(sqlite_path(target)).resolve()
