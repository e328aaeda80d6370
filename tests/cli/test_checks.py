"""normwacht check, deliver and sent as operators use them: exit codes, messages and the
--json contract."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.cli.conftest import NOW_DT, query, write

pytestmark = pytest.mark.both_engines


def test_sent_for_an_unknown_seller_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sent", "--seller", "nobody"]) == 2
    assert "unknown seller 'nobody'" in capsys.readouterr().err


def test_check_of_a_future_week_is_refused(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--week", "2026-W50"]) == 2
    assert "has not started yet" in capsys.readouterr().err


def test_only_finished_weeks_with_figures_before_them_can_be_checked(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The running week (the clock's Thursday of week 47) and a week before every figure
    are refused with one line that says which weeks can be checked."""
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    week45 = write(
        env / "w45.csv",
        "seller_id,week,indicator,numerator,denominator,value,norm\n"
        "shop-1,2026-W45,FULFILMENT,140,150,,\n",
    )
    assert main(["import", str(week45)]) == 0
    capsys.readouterr()
    assert main(["check", "--week", "2026-W47"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "normwacht: week 2026-W47 is not over yet (it ends on 2026-11-22): check takes a "
        "finished week, up to 2026-W46; the running week's provisional figures have their "
        "own path: the daily early warning of normwacht run"
    ]
    assert main(["poll", "--week", "2026-W47"]) == 2
    assert "poll fetches a finished week, up to 2026-W46" in capsys.readouterr().err
    assert main(["check", "--week", "1900-W01", "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "normwacht: week 1900-W01 lies before the first week with figures: check takes a "
        "finished week from 2026-W45 (the first with figures) to 2026-W46"
    ]
    assert query("SELECT COUNT(*) FROM job_runs") == [(0,)]
    for week in ("2026-W45", "2026-W46"):
        assert main(["check", "--week", week]) == 0


def test_no_week_before_figures_of_the_running_week_alone_can_be_checked(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    week47 = write(
        env / "w47.csv",
        "seller_id,week,indicator,numerator,denominator,value,norm\n"
        "shop-1,2026-W47,FULFILMENT,40,50,,\n",
    )
    assert main(["import", str(week47)]) == 0  # the running week's figures so far
    capsys.readouterr()
    assert main(["check", "--week", "2026-W46"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "normwacht: week 2026-W46 lies before the first week with figures (2026-W47, not "
        "over yet): there is no finished week with figures to check yet"
    ]


def test_check_deliver_and_the_audit_of_what_was_sent(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from bot.sample import sample_path

    assert main(["import", str(sample_path("indicators.csv")), "--create-sellers"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    # A console chat that follows one shop: the check plans its alert there.
    assert main(["chat", "--seller", "snel-speelgoed"]) == 0
    capsys.readouterr()
    assert main(["check", "--week", "2026-W46"]) == 0
    out = capsys.readouterr().out
    assert "snel-speelgoed\t2026-W46\tFAILING\ttrack open step 5\talerts: suspension" in out
    assert out.rstrip().endswith("planned 1 new message(s)")
    assert main(["check", "--week", "2026-W46"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("planned 0 new message(s)")
    assert main(["deliver"]) == 0
    delivered = capsys.readouterr().out
    assert "Winkel tijdelijk gesloten · snel-speelgoed" in delivered  # named by its id
    assert delivered.rstrip().endswith("sent 1 message(s); 0 waiting; 0 undeliverable")
    assert main(["sent", "--seller", "snel-speelgoed", "--week", "2026-W46"]) == 0
    audit = capsys.readouterr().out
    header, first = audit.splitlines()[:2]
    assert header == "what was sent (#id seller week kind -> destination · when, Europe/Amsterdam)"
    assert first.startswith("--- #1 snel-speelgoed 2026-W46 alerts [suspension] -> console:local:")
    assert "2026-11-19 10:00 CET · template alerts · policy verbetertraject-24w" in audit
    assert main(["sent", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert (record["kind"], record["sections"], record["state"]) == (
        "alerts",
        ["suspension"],
        "sent",
    )
    assert record["sent_at"] == "2026-11-19T10:00+01:00"
    assert "Winkel tijdelijk gesloten" in record["text"]
    assert "Winkel tijdelijk gesloten" in audit


def test_deliver_sends_what_it_can_while_telegram_is_down(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Telegram unreachable: the console's message goes out, Telegram's waits without an
    attempt spent, and the operator reads which platform and how many wait."""
    import asyncio
    import io
    import socket

    from bot.sample import sample_path
    from bot.store import Store

    assert main(["import", str(sample_path("indicators.csv")), "--create-sellers"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["chat", "--seller", "snel-speelgoed"]) == 0

    async def link_telegram() -> None:
        store = await Store.open(os.environ["NORMWACHT_DB"])
        try:
            chat = await store.chats.get_or_create("telegram", "4242", language="nl", now=NOW_DT)
            await store.chats.link(chat.id, "snel-speelgoed", "test", NOW_DT)
        finally:
            await store.close()

    asyncio.run(link_telegram())
    assert main(["check", "--week", "2026-W46"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("planned 2 new message(s)")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TELEGRAM_API_URL", url)
    assert main(["deliver"]) == 0
    out, err = capsys.readouterr()
    assert out.rstrip().endswith("sent 1 message(s); 1 waiting (platform down: 1); 0 undeliverable")
    assert err == f"Telegram (TELEGRAM_API_URL={url}) did not answer: 1 message(s) wait for it\n"
    rows = query(
        "SELECT o.state, o.attempts FROM outbox o JOIN chats c ON c.id = o.chat_id "
        "WHERE c.platform = 'telegram'"
    )
    assert rows == [("pending", 0)]


WEEK46 = (
    "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
    "shop-1,2026,46,FULFILMENT,120,150,,0.93\n"
    "shop-1,2026,46,CANCELLATIONS,1,150,,0.02\n"
    "shop-1,2026,46,RESPONSE_TIME,18,20,,0.9\n"
    "shop-1,2026,46,TRACK_AND_TRACE,150,150,,1\n"
)


def test_a_waiting_message_says_when_it_is_due_and_why(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 01:36 a warning waits for the end of quiet hours, and says so; once quiet hours
    are turned off it is due at once (they are judged now, not when it was planned)."""
    import asyncio

    from bot.store import Store

    monkeypatch.setenv("NORMWACHT_NOW", "2026-11-19T01:36+01:00")
    monkeypatch.setenv("NORMWACHT_QUIET_HOURS", "21:00-08:00")
    assert main(["seller", "add", "shop-1", "--name", "Mijn Winkel"]) == 0
    assert main(["import", str(write(env / "w46.csv", WEEK46))]) == 0

    async def link_telegram() -> None:
        store = await Store.open(os.environ["NORMWACHT_DB"])
        try:
            chat = await store.chats.get_or_create("telegram", "4242", language="nl", now=NOW_DT)
            await store.chats.link(chat.id, "shop-1", "test", NOW_DT)
        finally:
            await store.close()

    asyncio.run(link_telegram())
    assert main(["check", "--week", "2026-W46"]) == 0
    capsys.readouterr()
    assert main(["sent", "--json"]) == 0
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (line["state"], line["due"], line["waiting_for"]) == (
        "pending",
        "2026-11-19T08:00+01:00",
        "quiet hours",
    )
    assert main(["sent"]) == 0
    assert "pending: waiting for quiet hours, due 2026-11-19 08:00 CET" in capsys.readouterr().out
    assert main(["deliver"]) == 0
    assert (
        capsys.readouterr()
        .out.rstrip()
        .endswith(
            "sent 0 message(s); 1 waiting (quiet hours: 1, until 2026-11-19 08:00 CET); "
            "0 undeliverable"
        )
    )
    monkeypatch.setenv("NORMWACHT_QUIET_HOURS", "off")
    assert main(["sent", "--json"]) == 0
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert (line["due"], line["waiting_for"]) == ("2026-11-19T01:36+01:00", "next delivery")


def test_check_says_when_alerts_have_no_chat_to_go_to(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "planned 0" after a failing week is explained: no chat is linked to tell it in."""
    import io

    assert main(["seller", "add", "shop-1", "--name", "Mijn Winkel"]) == 0
    assert main(["import", str(write(env / "week46.csv", WEEK46))]) == 0
    capsys.readouterr()
    assert main(["check", "--week", "2026-W46"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "shop-1: no chat linked: nothing to tell (link one with normwacht seller link-code shop-1)",
        "planned 0 new message(s)",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["chat", "--seller", "shop-1"]) == 0
    capsys.readouterr()
    assert main(["check", "--week", "2026-W46"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "shop-1\t2026-W46\tFAILING\ttrack open step 1\talerts: warning",
        "planned 1 new message(s)",
    ]


def test_many_sellers_without_a_chat_are_one_bounded_line() -> None:
    from bot.cli.checks import _unlinked_line

    line = _unlinked_line([f"shop-{n}" for n in range(50_000)])
    assert line.startswith("50000 sellers with alerts have no chat linked: nothing to tell them: ")
    assert "shop-9, and" not in line and "shop-9 and 49990 more" in line
    assert len(line) < 250


def test_refused_and_dry_runs_change_nothing(
    env: Path, engine: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--week", "2026-W50"]) == 2
    assert main(["poll", "--week", "2027-W10"]) == 2
    if engine == "sqlite":
        assert not (env / "db.sqlite3").exists()  # refused before the database was opened
    monkeypatch.setenv("NORMWACHT_ADMINS", "telegram:42")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abcdef")
    assert main(["check", "--week", "2026-W46", "--dry-run"]) == 0
    assert query("SELECT COUNT(*) FROM chats") == [(0,)]
    assert query("SELECT COUNT(*) FROM outbox") == [(0,)]


def test_sent_lists_messages_in_order_of_id(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A message planned later may carry an earlier time (a catch-up, a clock set back):
    ``sent`` and ``sent --json`` still list them by id, the order they were planned in."""
    import asyncio
    from datetime import timedelta

    from bot.store import Store
    from bot.store.outbox import PlannedMessage

    async def plan() -> None:
        store = await Store.open(os.environ["NORMWACHT_DB"])
        try:
            chat = await store.chats.get_or_create("telegram", "4242", language="nl", now=NOW_DT)
            for n in range(3):
                message = PlannedMessage(
                    dedup_key=f"order:{n}",
                    chat_id=chat.id,
                    seller_id=None,
                    week=None,
                    kind="test",
                    sections=(),
                    urgent=False,
                    body={"text": f"message {n}", "blocks": None, "parse_mode": None},
                    template="test",
                )
                await store.outbox.plan([message], NOW_DT - timedelta(hours=n))
        finally:
            await store.close()

    asyncio.run(plan())
    assert main(["sent"]) == 0
    ids = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line[:4] == "--- "]
    assert ids == ["#1", "#2", "#3"]
    assert main(["sent", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == [1, 2, 3]
