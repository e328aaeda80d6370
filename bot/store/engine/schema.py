"""Numbered schema migrations, written once for both engines where SQL allows.

SQLite records how far a database is in ``PRAGMA user_version``, PostgreSQL in the table
``schema_version``. A migration is SQLite's SQL, which ``Dialect.ddl`` gives PostgreSQL's
column types; the one that cannot be said alike (the cache's triggers) has each engine's.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.engine.dialect import SQLITE, Dialect


@dataclass(frozen=True, slots=True)
class Migration:
    sql: str
    # PostgreSQL's own text, where it differs beyond column types.
    postgresql: str | None = None

    def script(self, dialect: Dialect) -> str:
        if dialect.engine == SQLITE or self.postgresql is None:
            return dialect.ddl(self.sql)
        return dialect.ddl(self.postgresql)


def _iso_week_key(day: str) -> str:
    """SQL for the ISO week of the date ``day`` as ``year * 100 + week``."""
    thursday = f"(3 - (CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days'"
    return (
        f"CAST(strftime('%Y', {day}, {thursday}) AS INTEGER) * 100"
        f" + (CAST(strftime('%j', {day}, {thursday}) AS INTEGER) - 1) / 7 + 1"
    )


_CACHE_TABLES = """
    CREATE TABLE seller_states (
        seller_id TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
        policy TEXT NOT NULL,
        week_key INTEGER NOT NULL,
        state TEXT NOT NULL,
        -- For a week that was reported: its alert sections, and whether data was missing.
        alerts TEXT,
        PRIMARY KEY (seller_id, policy, week_key)
    ) WITHOUT ROWID;
    CREATE TABLE seller_state_epoch (n INTEGER NOT NULL);
    INSERT INTO seller_state_epoch (n) VALUES (0);
"""

_SQLITE_CACHE_TRIGGERS = """
    CREATE TRIGGER seller_states_measurement_added AFTER INSERT ON measurements BEGIN
        DELETE FROM seller_states
        WHERE seller_id = NEW.seller_id AND week_key >= NEW.year * 100 + NEW.week;
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_measurement_changed AFTER UPDATE ON measurements BEGIN
        DELETE FROM seller_states
        WHERE seller_id IN (OLD.seller_id, NEW.seller_id)
        AND week_key >= MIN(OLD.year * 100 + OLD.week, NEW.year * 100 + NEW.week);
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_measurement_removed AFTER DELETE ON measurements BEGIN
        DELETE FROM seller_states
        WHERE seller_id = OLD.seller_id AND week_key >= OLD.year * 100 + OLD.week;
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_exemption_added AFTER INSERT ON exemptions BEGIN
        DELETE FROM seller_states WHERE week_key >= NEW.year * 100 + NEW.week;
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_exemption_changed AFTER UPDATE ON exemptions BEGIN
        DELETE FROM seller_states
        WHERE week_key >= MIN(OLD.year * 100 + OLD.week, NEW.year * 100 + NEW.week);
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_exemption_removed AFTER DELETE ON exemptions BEGIN
        DELETE FROM seller_states WHERE week_key >= OLD.year * 100 + OLD.week;
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_rating_added AFTER INSERT ON shop_ratings BEGIN
        DELETE FROM seller_states
        WHERE seller_id = NEW.seller_id AND week_key >= {rating_week_key};
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_rating_changed AFTER UPDATE ON shop_ratings BEGIN
        DELETE FROM seller_states WHERE seller_id IN (OLD.seller_id, NEW.seller_id);
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_rating_removed AFTER DELETE ON shop_ratings BEGIN
        DELETE FROM seller_states WHERE seller_id = OLD.seller_id;
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_reopen_added AFTER INSERT ON reopens BEGIN
        DELETE FROM seller_states
        WHERE seller_id = NEW.seller_id AND week_key >= {reopen_week_key};
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_reopen_changed AFTER UPDATE ON reopens BEGIN
        DELETE FROM seller_states WHERE seller_id IN (OLD.seller_id, NEW.seller_id);
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_reopen_removed AFTER DELETE ON reopens BEGIN
        DELETE FROM seller_states WHERE seller_id = OLD.seller_id;
        UPDATE seller_state_epoch SET n = n + 1;
    END
""".replace(
    # The ISO week of a reopen's date, as year * 100 + week: the week's Thursday names
    # its ISO year, and the Thursday's day of that year its week.
    "{reopen_week_key}",
    _iso_week_key("NEW.on_date"),
).replace(
    # A rating dated D holds for week W when W's Wednesday after (Monday + 9 days) is
    # on or after D: from the week of D - 9 days on.
    "{rating_week_key}",
    _iso_week_key("date(NEW.on_date, '-9 days')"),
)


def _pg_cache_trigger(table: str, *, added: str | None, removed: str | None) -> str:
    """PostgreSQL's triggers of one table, per statement: a row-level trigger would bump
    the epoch row once per imported row, and an import writes hundreds of thousands.
    ``added`` and ``removed`` are the first week key a new or an old row ``r`` touches
    (None: all of its seller's weeks); a table without seller_id touches every seller."""
    per_seller = table != "exemptions"

    def drop(rows: str, key: str | None) -> str:
        if not per_seller:
            return f"DELETE FROM seller_states WHERE week_key >= (SELECT MIN({key}) FROM {rows} r);"
        if key is None:
            return (
                f"DELETE FROM seller_states s USING (SELECT DISTINCT seller_id FROM {rows}) c "
                "WHERE s.seller_id = c.seller_id;"
            )
        return (
            "DELETE FROM seller_states s USING (SELECT r.seller_id, MIN("
            f"{key}) AS k FROM {rows} r GROUP BY r.seller_id) c "
            "WHERE s.seller_id = c.seller_id AND s.week_key >= c.k;"
        )

    function = f"seller_states_{table}_changed"
    return f"""
    CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM 1 FROM old_rows LIMIT 1;
        ELSE
            PERFORM 1 FROM new_rows LIMIT 1;
        END IF;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            {drop("new_rows", added)}
        END IF;
        IF TG_OP <> 'INSERT' THEN
            {drop("old_rows", removed)}
        END IF;
        UPDATE seller_state_epoch SET n = n + 1;
        RETURN NULL;
    END $$;
    CREATE TRIGGER {table}_added AFTER INSERT ON {table}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
    CREATE TRIGGER {table}_changed AFTER UPDATE ON {table}
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION {function}();
    CREATE TRIGGER {table}_removed AFTER DELETE ON {table}
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
    """


def _pg_iso_week_key(day: str) -> str:
    return f"(to_char({day}, 'IYYY')::int * 100 + to_char({day}, 'IW')::int)"


# The same rules as SQLite's triggers above, a statement at a time.
_POSTGRESQL_CACHE_TRIGGERS = "".join(
    (
        _pg_cache_trigger(
            "measurements", added="r.year * 100 + r.week", removed="r.year * 100 + r.week"
        ),
        _pg_cache_trigger(
            "exemptions", added="r.year * 100 + r.week", removed="r.year * 100 + r.week"
        ),
        _pg_cache_trigger(
            "shop_ratings",
            added=_pg_iso_week_key("CAST(r.on_date AS date) - 9"),
            removed=None,
        ),
        _pg_cache_trigger(
            "reopens", added=_pg_iso_week_key("CAST(r.on_date AS date)"), removed=None
        ),
    )
)

# Migration 10's SQLite triggers of the changes an import writes: each acts only on a
# change in a week a stored state or a fold under way reaches (``seller_state_reach``).
# An import of newer weeks than any check has reached (the weekly import) does nothing
# per row; a change in a reached week drops the states from its week on and counts it in
# the epoch, as before.
_MEASUREMENT_KEY = "{r}.year * 100 + {r}.week"
_REACHED = "(SELECT n FROM seller_state_reach)"
_SQLITE_REACHED_TRIGGERS = f"""
    DROP TRIGGER seller_states_measurement_added;
    DROP TRIGGER seller_states_measurement_changed;
    DROP TRIGGER seller_states_measurement_removed;
    DROP TRIGGER seller_states_rating_added;
    CREATE TRIGGER seller_states_measurement_added AFTER INSERT ON measurements
    WHEN {_MEASUREMENT_KEY.format(r="NEW")} <= {_REACHED} BEGIN
        DELETE FROM seller_states
        WHERE seller_id = NEW.seller_id AND week_key >= NEW.year * 100 + NEW.week;
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_measurement_changed AFTER UPDATE ON measurements
    WHEN MIN({_MEASUREMENT_KEY.format(r="OLD")}, {_MEASUREMENT_KEY.format(r="NEW")})
        <= {_REACHED} BEGIN
        DELETE FROM seller_states
        WHERE seller_id IN (OLD.seller_id, NEW.seller_id)
        AND week_key >= MIN(OLD.year * 100 + OLD.week, NEW.year * 100 + NEW.week);
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_measurement_removed AFTER DELETE ON measurements
    WHEN {_MEASUREMENT_KEY.format(r="OLD")} <= {_REACHED} BEGIN
        DELETE FROM seller_states
        WHERE seller_id = OLD.seller_id AND week_key >= OLD.year * 100 + OLD.week;
        UPDATE seller_state_epoch SET n = n + 1;
    END;
    CREATE TRIGGER seller_states_rating_added AFTER INSERT ON shop_ratings
    WHEN {_iso_week_key("date(NEW.on_date, '-9 days')")} <= {_REACHED} BEGIN
        DELETE FROM seller_states
        WHERE seller_id = NEW.seller_id AND week_key >= {
    _iso_week_key("date(NEW.on_date, '-9 days')")
};
        UPDATE seller_state_epoch SET n = n + 1;
    END
"""
# The latest week (year * 100 + week) any stored state, or any fold under way, reaches:
# raised before a fold reads, never lowered (bot/store/states.py).
_REACH_TABLE = """
    CREATE TABLE seller_state_reach (n INTEGER NOT NULL);
    INSERT INTO seller_state_reach (n) SELECT COALESCE(MAX(week_key), 0) FROM seller_states;
"""

MIGRATIONS: tuple[Migration, ...] = (
    # 1: the first schema.
    Migration(
        """
        CREATE TABLE sellers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            language TEXT NOT NULL DEFAULT 'nl',
            created_at TEXT NOT NULL
        );
        CREATE TABLE credentials (
            seller_id TEXT PRIMARY KEY REFERENCES sellers(id) ON DELETE CASCADE,
            client_id TEXT NOT NULL,
            secret_encrypted BLOB NOT NULL,
            updated_at TEXT NOT NULL,
            failure TEXT,
            failure_reported_at TEXT
        );
        CREATE TABLE measurements (
            seller_id TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
            year INTEGER NOT NULL,
            week INTEGER NOT NULL,
            indicator TEXT NOT NULL,
            numerator INTEGER,
            denominator INTEGER,
            value REAL,
            norm REAL,
            condition TEXT,
            conforms INTEGER,
            source TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            PRIMARY KEY (seller_id, year, week, indicator)
        ) WITHOUT ROWID;
        CREATE TABLE shop_ratings (
            seller_id TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
            on_date TEXT NOT NULL,
            rating REAL NOT NULL,
            product_information REAL,
            delivery_time REAL,
            shipping REAL,
            service REAL,
            reviews INTEGER,
            method TEXT,
            top_retailer INTEGER,
            source TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            PRIMARY KEY (seller_id, on_date)
        ) WITHOUT ROWID;
        CREATE TABLE exemptions (
            id INTEGER PRIMARY KEY,
            year INTEGER NOT NULL,
            week INTEGER NOT NULL,
            reason TEXT NOT NULL,
            indicators TEXT NOT NULL DEFAULT '',
            sellers TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE TABLE plan_events (
            id INTEGER PRIMARY KEY,
            seller_id TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
            on_date TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('submitted', 'approved')),
            actor TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE reopens (
            id INTEGER PRIMARY KEY,
            seller_id TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
            on_date TEXT NOT NULL,
            actor TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE chats (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            address TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL,
            muted INTEGER NOT NULL DEFAULT 0,
            digest_day INTEGER NOT NULL DEFAULT 1,
            digest_hour INTEGER NOT NULL DEFAULT 8,
            active INTEGER NOT NULL DEFAULT 1,
            inactive_reason TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (platform, address)
        );
        CREATE TABLE chat_sellers (
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            seller_id TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
            linked_at TEXT NOT NULL,
            linked_by TEXT NOT NULL,
            PRIMARY KEY (chat_id, seller_id)
        ) WITHOUT ROWID;
        CREATE INDEX chat_sellers_by_seller ON chat_sellers(seller_id);
        CREATE TABLE link_codes (
            code TEXT PRIMARY KEY,
            seller_id TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            used_by_chat INTEGER REFERENCES chats(id) ON DELETE SET NULL
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            dedup_key TEXT NOT NULL UNIQUE,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            seller_id TEXT,
            week TEXT,
            kind TEXT NOT NULL,
            sections TEXT NOT NULL DEFAULT '',
            urgent INTEGER NOT NULL DEFAULT 0,
            body TEXT NOT NULL,
            template TEXT NOT NULL,
            policy TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            remote_id TEXT
        );
        CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
        CREATE INDEX outbox_by_seller ON outbox(seller_id, week);
        CREATE TABLE sent_sections (
            seller_id TEXT NOT NULL,
            week TEXT NOT NULL,
            section TEXT NOT NULL,
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
            withdrawn INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (seller_id, week, section, chat_id)
        ) WITHOUT ROWID;
        CREATE TABLE job_runs (
            job TEXT NOT NULL,
            run_key TEXT NOT NULL,
            done_at TEXT NOT NULL,
            PRIMARY KEY (job, run_key)
        ) WITHOUT ROWID;
        CREATE TABLE conversations (
            chat_id INTEGER PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}',
            updated_at TEXT NOT NULL
        )
        """
    ),
    # 2: when a message was claimed for sending, so a lost claim can be recovered.
    Migration(
        """
        ALTER TABLE outbox ADD COLUMN claimed_at TEXT
        """
    ),
    # 3: link codes that did not work, per chat: a chat that keeps guessing must wait.
    Migration(
        """
        CREATE TABLE link_attempts (
            chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
            at TEXT NOT NULL
        );
        CREATE INDEX link_attempts_by_chat ON link_attempts(chat_id, at)
        """
    ),
    # 4: who declared an exemption (a chat's admin, or the command line's operator).
    Migration(
        """
        ALTER TABLE exemptions ADD COLUMN actor TEXT NOT NULL DEFAULT ''
        """
    ),
    # 5: work a change obliges (a recheck, a check), written in the change's transaction
    # and deleted once done, so that a crash in between leaves it to the next process.
    Migration(
        """
        CREATE TABLE owed_work (
            id INTEGER PRIMARY KEY,
            task TEXT NOT NULL CHECK (task IN ('check', 'recheck')),
            seller_id TEXT,
            week TEXT NOT NULL,
            reason TEXT NOT NULL,
            -- The rows one change wrote share it: that change's work is done, and cleared, as one.
            change INTEGER NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    ),
    # 6: the fold's state per seller and week, a derived cache (see bot/store/states.py).
    # Triggers drop the cached states from the week a change touches on, whichever path
    # writes and in whatever transaction, and count the changes in seller_state_epoch so
    # a check that read before a change does not store what it folded from the old data.
    # A shop rating counts for the weeks whose Wednesday after is on or after its date; plan
    # events change no alert section (only the plan status, read afresh by every report).
    Migration(
        _CACHE_TABLES + _SQLITE_CACHE_TRIGGERS,
        postgresql=_CACHE_TABLES + _POSTGRESQL_CACHE_TRIGGERS,
    ),
    # 7: processes that share the database. Each running one renews its row; a lease is
    # held by one of them until it expires (the scheduler, Telegram's polling), and an
    # outbox claim names its claimer, so that another process takes over a message only
    # when that claimer has stopped renewing. Times are the database's clock, in seconds.
    # Signed requests seen (Slack's) are remembered here, so that a replay is refused by
    # whichever instance it reaches, also after a restart.
    Migration(
        """
        CREATE TABLE instances (
            id TEXT PRIMARY KEY,
            -- The process namespace it runs in, and its pid there: a process that finds a
            -- gone pid of its own namespace need not wait a lease period to know it died.
            place TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            seen_at REAL NOT NULL
        );
        CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at REAL NOT NULL
        );
        CREATE TABLE seen_requests (
            signature TEXT PRIMARY KEY,
            expires_at REAL NOT NULL
        );
        ALTER TABLE outbox ADD COLUMN claimed_by TEXT
        """
    ),
    # 8: fencing and waiting. Every claim of a message numbers it anew (``claim``), and
    # what its claimer records afterwards (a retry, a hold, a release) is written only
    # while that claim is still the message's: a process that froze past its lease and
    # woke up cannot undo what the instance that took over did. ``waiting_for`` says why
    # a message that is not sent yet waits (a retry after a failure, a 429, a platform
    # that is down), for ``sent`` and ``deliver``.
    Migration(
        """
        ALTER TABLE outbox ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE outbox ADD COLUMN waiting_for TEXT
        """
    ),
    # 9: bol.com's own verdict (NORMS.md §9). Every performance-status snapshot a poll or
    # an upload brought, per seller, with when bol.com's figure was fetched: the body as
    # bol.com sent it, and the figures trends and charts ask for beside it.
    Migration(
        """
        CREATE TABLE bol_statuses (
            id INTEGER PRIMARY KEY,
            seller_id TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
            fetched_at TEXT NOT NULL,
            source TEXT NOT NULL,
            body TEXT NOT NULL,
            system TEXT,
            strike_count INTEGER,
            points_left INTEGER,
            quality_week TEXT,
            quality_score INTEGER,
            imported_at TEXT NOT NULL,
            UNIQUE (seller_id, fetched_at)
        );
        CREATE INDEX bol_statuses_by_week ON bol_statuses (seller_id, quality_week)
        """
    ),
    # 10: bol.com's own exclusion of a week (v11 ``excluded``): a measurement bol.com left
    # out of its strike calculation is exempt, with bol.com as the reason (NORMS.md §2).
    Migration(
        """
        ALTER TABLE measurements ADD COLUMN excluded INTEGER NOT NULL DEFAULT 0
        """
    ),
    # 11: an import of weeks no check has reached costs the cache nothing per row. SQLite's
    # triggers fire per row: those of measurements and shop ratings now act only on a change
    # in a week that a stored state or a fold under way reaches. PostgreSQL's fire once per
    # statement and stay as they are (they keep the reach unread).
    Migration(_REACH_TABLE + _SQLITE_REACHED_TRIGGERS, postgresql=_REACH_TABLE),
    # 12: warnings first. A long queue is claimed in order of precedence (0: urgent, 1:
    # alerts and corrections, 2: the rest), then due time: an index of the unsent messages
    # alone serves that order, whatever the queue's length; another finds a chat's unsent
    # messages, so that its earlier ones are claimed with it and go first.
    Migration(
        """
        ALTER TABLE outbox ADD COLUMN precedence INTEGER NOT NULL DEFAULT 2;
        UPDATE outbox SET precedence = CASE WHEN urgent = 1 THEN 0
            WHEN kind IN ('alerts', 'correction') THEN 1 ELSE 2 END
            WHERE state IN ('pending', 'failed', 'sending');
        CREATE INDEX outbox_claim ON outbox (precedence, next_attempt_at, id)
            WHERE state IN ('pending', 'failed');
        CREATE INDEX outbox_unsent_by_chat ON outbox (chat_id, id)
            WHERE state IN ('pending', 'failed')
        """
    ),
)
