"""Operating commands as operators type them: ``db backup`` while the bot runs, key
rotation with ``keygen --rotate``."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

from bot.bol.credentials import SecretBox, new_key
from bot.store import PlannedMessage, Store
from tests.cli.conftest import SCRIPT
from tests.conftest import NOW, run_aside
from tests.fakes import FakeSlack, FakeTelegram
from tests.postgres import Cluster
from tests.test_run import CHAT, free_port, prepare, run_env, start_run, until


def environment(database: str | Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "SLACK_", "NORMWACHT_"))
    }
    return {**env, "NORMWACHT_DB": str(database), "NORMWACHT_NOW": NOW.isoformat(), **extra}


def normwacht(
    folder: Path, env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCRIPT, *args],
        cwd=folder,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


async def test_a_backup_while_the_bot_runs_is_a_database_normwacht_opens(tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite3"
    await prepare(db)
    env = environment(db)
    async with FakeTelegram() as telegram, FakeSlack() as slack:
        process = await start_run(
            run_env(db, free_port(), telegram.url, slack.url), tmp_path
        )  # fmt: skip
        try:
            # A running bot that has written: the week's alert is sent and recorded.
            await until(lambda: bool(telegram.sent_messages(CHAT)))
            backup = await asyncio.to_thread(
                normwacht, tmp_path, env, "db", "backup", "copy.sqlite3"
            )
            assert backup.returncode == 0, backup.stderr
            assert backup.stdout.startswith(f"backed up sqlite {db} to copy.sqlite3 (")
            assert "keep NORMWACHT_SECRET_KEY with it" in backup.stdout
            # Not over an existing file, never.
            again = await asyncio.to_thread(
                normwacht, tmp_path, env, "db", "backup", "copy.sqlite3"
            )
            assert again.returncode == 2
            assert again.stderr == (
                "normwacht: DEST copy.sqlite3: exists already; a backup is written to a new "
                "file only\n"
            )
            # Into a folder: a dated file.
            (tmp_path / "backups").mkdir()
            dated = await asyncio.to_thread(normwacht, tmp_path, env, "db", "backup", "backups")
            assert dated.returncode == 0, dated.stderr
            assert [p.name for p in (tmp_path / "backups").iterdir()] == [
                "normwacht-20261119T100000.sqlite3"
            ]
        finally:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(15):
                await process.communicate()
    assert process.returncode == 0
    # The copy is whole: normwacht opens it as its database and finds the sample shops.
    listed = normwacht(tmp_path, environment(tmp_path / "copy.sqlite3"), "seller", "list")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 6
    conn = sqlite3.connect(tmp_path / "copy.sqlite3")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] > 0
    finally:
        conn.close()
    assert not list(tmp_path.glob(".*.partial"))


def test_a_postgresql_backup_is_pg_dumps_job(pg_cluster: Cluster, tmp_path: Path) -> None:
    url = run_aside(pg_cluster.new_database())
    try:
        with_password = url.replace("://normwacht@", "://normwacht:s3cret-pw@")
        done = normwacht(tmp_path, environment(with_password), "db", "backup", "/tmp/nw dump")
    finally:
        run_aside(pg_cluster.drop_database(url))
    assert done.returncode == 2
    assert done.stdout == f"pg_dump --format=custom --file='/tmp/nw dump' {url}\n"
    assert "pg_dump reads it from PGPASSWORD or ~/.pgpass" in done.stderr
    assert "s3cret-pw" not in done.stdout + done.stderr


def sealed_credentials(db: Path) -> list[tuple[str, bytes, bytes]]:
    async def read() -> list[tuple[str, bytes, bytes]]:
        store = await Store.open(db)
        try:
            found = []
            for seller_id in await store.sellers.with_credentials():
                pair = await store.sellers.credentials(seller_id)
                assert pair is not None
                found.append((seller_id, *pair))
            return found
        finally:
            await store.close()

    return run_aside(read())


def test_keygen_rotate_re_encrypts_the_credentials_under_the_first_key(tmp_path: Path) -> None:
    db = tmp_path / "keys.sqlite3"
    old, new = new_key(), new_key()
    env = environment(db, NORMWACHT_SECRET_KEY=old)
    assert normwacht(tmp_path, env, "seller", "add", "shop-1", "--name", "One").returncode == 0
    stored = normwacht(
        tmp_path, env, "seller", "credentials", "shop-1", "--client-id", "CID", stdin="SECRET\n"
    )
    assert stored.returncode == 0, stored.stderr

    # The new key alone cannot open what the old one sealed: nothing is changed.
    before = sealed_credentials(db)
    refused = normwacht(tmp_path, {**env, "NORMWACHT_SECRET_KEY": new}, "keygen", "--rotate")
    assert refused.returncode == 2
    assert "nothing was changed" in refused.stderr
    assert sealed_credentials(db) == before

    rotated = normwacht(
        tmp_path, {**env, "NORMWACHT_SECRET_KEY": f"{new},{old}"}, "keygen", "--rotate"
    )
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout == (
        "re-encrypted the bol.com credentials of 1 seller(s) under the first key\n"
    )
    [(seller_id, client_id, secret)] = sealed_credentials(db)
    box = SecretBox(new.encode())
    assert (seller_id, box.open(client_id), box.open(secret)) == ("shop-1", "CID", "SECRET")
    assert old not in rotated.stdout + rotated.stderr and new not in rotated.stdout


def test_keygen_still_prints_a_new_key(tmp_path: Path) -> None:
    done = normwacht(tmp_path, environment(tmp_path / "unused.sqlite3"), "keygen")
    assert done.returncode == 0
    SecretBox(done.stdout.strip().encode())  # a usable key
    assert not (tmp_path / "unused.sqlite3").exists()


def test_outbox_requeue_sends_a_dead_message_again(tmp_path: Path) -> None:
    db = tmp_path / "dead.sqlite3"

    async def a_dead_message() -> int:
        store = await Store.open(db)
        try:
            chat = await store.chats.get_or_create("telegram", "77", language="nl", now=NOW)
            await store.outbox.plan(
                [
                    PlannedMessage(
                        "k", chat.id, None, "2026-W46", "digest", (), False, {"text": "x"}, "d"
                    )
                ],
                NOW,
            )
            [item] = await store.outbox.claim_due(NOW, 10)
            await store.outbox.mark_dead(item, "Forbidden: bot was blocked by the user")
            return item.id
        finally:
            await store.close()

    dead = run_aside(a_dead_message())
    env = environment(db)
    done = normwacht(tmp_path, env, "outbox", "requeue", str(dead))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"requeued #{dead} - 2026-W46 digest -> telegram:77: it goes at the next delivery "
        "round (normwacht run, or normwacht deliver)\n"
    )
    sent = normwacht(tmp_path, env, "sent", "--json")
    assert '"state": "pending"' in sent.stdout and '"last_error": null' in sent.stdout
    again = normwacht(tmp_path, env, "outbox", "requeue", str(dead))
    assert (again.returncode, again.stderr) == (
        2,
        f"normwacht: message #{dead} is pending, not dead: only a dead message is requeued\n",
    )
    missing = normwacht(tmp_path, env, "outbox", "requeue", "999")
    assert (missing.returncode, missing.stderr) == (
        2,
        "normwacht: no message #999 (see normwacht sent)\n",
    )


def test_preview_renders_what_would_be_sent_and_plans_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sample.sqlite3"

    async def the_sample() -> None:
        from bot.sample import load_sample
        from norms import load_policy

        store = await Store.open(db)
        try:
            await load_sample(store, load_policy("verbetertraject-24w"), NOW)
        finally:
            await store.close()

    run_aside(the_sample())
    env = environment(db)
    done = normwacht(
        tmp_path, env, "preview", "--seller", "snel-speelgoed", "--week", "2026-W46",
        "--language", "fr", "--platform", "slack",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(
        "--- alerts [suspension] · snel-speelgoed 2026-W46 · slack, fr\n"
        "*🔒 Boutique fermée temporairement · Snel Speelgoed*\n"
    )
    assert "--- digest · snel-speelgoed 2026-W46 · slack, fr\n" in out
    assert "Aperçu hebdomadaire semaine 46" in out
    # The seller's own language by default, plain text on the console.
    dutch = normwacht(tmp_path, env, "preview", "--seller", "snel-speelgoed", "--week", "2026-W46")
    assert dutch.stdout.startswith(
        "--- alerts [suspension] · snel-speelgoed 2026-W46 · console, nl\n"
        "🔒 Winkel tijdelijk gesloten · Snel Speelgoed\n"
    )
    # Nothing planned, nothing stored.
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM chats").fetchone() == (0,)
    finally:
        conn.close()
    unknown = normwacht(tmp_path, env, "preview", "--seller", "nobody", "--week", "2026-W46")
    assert (unknown.returncode, unknown.stderr) == (
        2,
        "normwacht: unknown seller 'nobody' (see normwacht seller list)\n",
    )


def test_check_says_when_a_weeks_messages_are_past_retention(tmp_path: Path) -> None:
    db = tmp_path / "kept.sqlite3"

    async def pruned_through_week_45() -> None:
        store = await Store.open(db)
        try:
            await store.outbox.prune_sent(NOW, "2026-W45", NOW)
        finally:
            await store.close()

    run_aside(pruned_through_week_45())
    env = environment(db)
    done = normwacht(tmp_path, env, "check", "--week", "2026-W45")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(
        "2026-W45: what was sent about it is past NORMWACHT_KEEP_DAYS and deleted; nothing is "
        "planned about it again\nplanned 0 new message(s)\n"
    )
    later = normwacht(tmp_path, env, "check", "--week", "2026-W46")
    assert later.returncode == 0, later.stderr
    assert "NORMWACHT_KEEP_DAYS" not in later.stdout
