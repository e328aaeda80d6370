"""The command line as operators use it: exit codes, messages, and the --json contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli.main import main

NOW = "2026-11-19T10:00:00+01:00"
NOW_DT = datetime.fromisoformat(NOW)


pytestmark = pytest.mark.both_engines


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "NORMWACHT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NORMWACHT_DB", database)
    monkeypatch.setenv("NORMWACHT_NOW", NOW)
    return tmp_path


def query(sql: str) -> list[tuple[object, ...]]:
    """Rows of the configured database, read as the next process would."""
    import asyncio

    from bot.store import Store

    async def read() -> list[tuple[object, ...]]:
        store = await Store.open(os.environ["NORMWACHT_DB"])
        try:
            return [tuple(r) for r in await store.db.fetchall(sql)]
        finally:
            await store.close()

    return asyncio.run(read())


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_seller_add_and_list(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    assert main(["seller", "add", "shop-1", "--name", "Again"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["seller", "list"]) == 0
    assert (
        capsys.readouterr().out == "id\tname\tlanguage\tdata from\nshop-1\tShop One\tnl\tuploads\n"
    )
    assert main(["seller", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "id": "shop-1",
        "name": "Shop One",
        "language": "nl",
        "source": "uploads",
    }


def test_one_rule_for_seller_ids_and_no_control_characters_in_texts(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``seller add`` and ``import --create-sellers`` refuse the same ids; names and
    reasons people read hold no control characters; a client id is not blank."""
    import io

    from bot.bol.credentials import new_key

    assert main(["migrate"]) == 0  # the database is there: stderr holds the refusals only
    capsys.readouterr()
    for bad in ("a b", "shop\x1b[31m", "x" * 65):
        assert main(["seller", "add", bad, "--name", "Shop"]) == 2
        assert capsys.readouterr().err.startswith("normwacht: seller id ")
    assert main(["seller", "add", "x" * 64, "--name", "Shop"]) == 0
    header = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
    rows = write(env / "w46.csv", header + "a b,2026,46,FULFILMENT,140,150,,0.93\n")
    assert main(["import", str(rows), "--create-sellers"]) == 2
    err = capsys.readouterr().err
    assert "w46.csv:2:1: seller id 'a b' must be one word" in err
    assert main(["seller", "list", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["x" * 64]
    for name in ("Shop\nOne", "Shop\tOne", "Shop\x1b[2JOne"):
        assert main(["seller", "add", "shop-1", "--name", name]) == 2
        assert capsys.readouterr().err == (
            "normwacht: --name must not contain control characters (newline, tab, escape)\n"
        )
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    week = ["--week", "2026-W46", "--seller", "shop-1", "--indicator", "FULFILMENT"]
    assert main(["exempt", "add", *week, "--reason", "strike\n\x1b[31mfake"]) == 2
    assert capsys.readouterr().err == (
        "normwacht: --reason must not contain control characters (newline, tab, escape)\n"
    )
    monkeypatch.setenv("NORMWACHT_SECRET_KEY", new_key())
    for client_id in ("", "  "):
        monkeypatch.setattr(sys, "stdin", io.StringIO("secret\n"))
        assert main(["seller", "credentials", "shop-1", "--client-id", client_id]) == 2
        assert capsys.readouterr().err == "normwacht: --client-id must not be empty\n"


def test_a_french_seller_and_a_french_default(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seller", "add", "shop-fr", "--name", "Boutique", "--language", "fr"]) == 0
    with pytest.raises(SystemExit) as exited:
        main(["seller", "add", "shop-de", "--name", "Laden", "--language", "de"])
    assert exited.value.code == 2
    assert main(["seller", "list"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "shop-fr\tBoutique\tfr\tuploads"
    monkeypatch.setenv("NORMWACHT_LANGUAGE", "fr")
    assert main(["seller", "list"]) == 0
    monkeypatch.setenv("NORMWACHT_LANGUAGE", "de")
    assert main(["seller", "list"]) == 2
    assert capsys.readouterr().err.endswith("NORMWACHT_LANGUAGE: must be nl, en or fr\n")


def test_import_then_check_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(
        env / "w.csv",
        "seller_id;year;week;indicator;numerator;denominator;value;norm\n"
        "shop-1;;2026-W46;FULFILMENT;135;150;;93%\n"
        "shop-1;;2026-W46;REVIEWS;;12;8,4;8\n",
    )
    assert main(["import", str(data), "--create-sellers"]) == 0
    assert "imported 2 measurement(s)" in capsys.readouterr().out
    assert main(["check", "--week", "2026-W46", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    report = json.loads(line)
    assert report["seller_id"] == "shop-1" and report["week"] == "2026-W46"
    assert report["indicators"]["FULFILMENT"] == {
        "status": "fail",
        "value": 0.9,
        "norm": 0.93,
        "condition": ">=",
        "numerator": 135,
        "denominator": 150,
        "score_6w": 0.9,
    }
    assert report["indicators"]["REVIEWS"]["score_6w"] is None
    assert set(report["indicators"]) == {
        "FULFILMENT",
        "CANCELLATIONS",
        "RESPONSE_TIME",
        "PHONE_AVAILABILITY",
        "TRACK_AND_TRACE",
        "CASE_ITEM_RATIO",
        "RETURNS",
        "REVIEWS",
        "HANDOVER",
        "ON_TIME",
    }
    assert report["indicators"]["HANDOVER"]["status"] == "no_data"
    assert report["bol_status"] is None  # no snapshot of bol.com's own verdict, no claim
    assert report["failing_week"] is True
    assert report["track"]["step"] == 1 and report["alerts"] == ["warning"]


def test_rejected_import_exits_2_and_names_the_place(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seller", "add", "shop-1", "--name", "S"]) == 0
    bad = write(
        env / "bad.csv",
        "seller_id,year,week,indicator,numerator,denominator,value,norm\nshop-1,2026,46,LATE,1,2,,\n",
    )
    capsys.readouterr()
    assert main(["import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv:2:4: " in err and "nothing was changed" in err


def test_an_import_names_what_is_not_a_file(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for target, reason in (
        (env / "nowhere.csv", "no such file"),
        (env, "is a folder; name the files in it"),
        (Path(os.devnull), "not a regular file"),
    ):
        capsys.readouterr()
        assert main(["import", str(target)]) == 2
        assert f"normwacht: {target}: {reason}" in capsys.readouterr().err


def test_sent_for_an_unknown_seller_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sent", "--seller", "nobody"]) == 2
    assert "unknown seller 'nobody'" in capsys.readouterr().err


def test_bad_arguments_exit_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--week", "2026-W60"])
    assert exited.value.code == 2
    assert "week 60 does not exist" in capsys.readouterr().err


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


def test_the_same_exemption_twice_is_refused_naming_the_first(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["exempt", "add", "--week", "2026-W46", "--indicator", "FULFILMENT", "--yes"]
    assert main([*add, "--reason", "PostNL strike"]) == 0
    capsys.readouterr()
    # The same week, norms and sellers, whatever the reason and however the norms are written.
    assert main([*add, "--indicator", "fulfilment", "--reason", "PostNL staking"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "normwacht: exemption #1 already covers 2026-W46: FULFILMENT; all sellers; PostNL "
        "strike: the same week, norms and sellers; nothing was changed (normwacht exempt list "
        "shows it)"
    ]
    assert main([*add, "--indicator", "CANCELLATIONS", "--reason", "PostNL strike"]) == 0
    assert [r[0] for r in query("SELECT id FROM exemptions ORDER BY id")] == [1, 2]


def test_exemptions_are_listed(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add = ["exempt", "add", "--week", "2026-W46", "--indicator", "fulfilment"]
    assert main([*add, "--reason", "PostNL strike", "--yes"]) == 0
    assert capsys.readouterr().out.startswith("exempted #1 2026-W46: FULFILMENT; all sellers")
    assert main(["exempt", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "id\tweek\tindicators\tsellers\treason\tby\tat",
        "1\t2026-W46\tFULFILMENT\tall\tPostNL strike\toperator\t2026-11-19T10:00+01:00",
    ]
    assert main(["exempt", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "id": 1,
        "week": "2026-W46",
        "indicators": ["FULFILMENT"],
        "sellers": [],
        "reason": "PostNL strike",
        "actor": "operator",
        "created_at": "2026-11-19T10:00+01:00",
    }


def test_a_broad_or_misspelt_exemption_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["exempt", "add", "--week", "2026-W46", "--reason", "staking"]
    with pytest.raises(SystemExit) as exited:
        main([*add, "--indicator", "FULFILLMENT", "--yes"])
    assert exited.value.code == 2
    assert "unknown indicator 'FULFILLMENT' (did you mean FULFILMENT?)" in capsys.readouterr().err
    assert main(add) == 2
    err = capsys.readouterr().err
    assert "covers every seller and every norm of 2026-W46" in err and "--yes" in err
    assert main(["exempt", "list"]) == 0
    assert capsys.readouterr().out == "no exemptions\n"


def test_an_exemption_is_removed_by_its_id(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exempt", "add", "--week", "2026-W46", "--reason", "outage", "--yes"]) == 0
    assert main(["exempt", "remove", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "removed #1 2026-W46: all indicators; all sellers; outage"
    )
    assert main(["exempt", "remove", "1"]) == 2
    assert "no exemption #1" in capsys.readouterr().err


def test_a_malformed_setting_stops_start_up_with_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NORMWACHT_QUIET_HOURS", "late")
    assert main(["seller", "list"]) == 2
    assert capsys.readouterr().err == (
        "normwacht: NORMWACHT_QUIET_HOURS: must look like 21:00-08:00, or off\n"
    )


def test_a_taken_http_port_stops_run_as_a_bad_setting(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("NORMWACHT_HTTP_PORT", str(port))
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-cli")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "cli-signing-secret")
        monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
        assert main(["migrate"]) == 0  # the database is there: stderr holds the one line
        capsys.readouterr()
        assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"normwacht: NORMWACHT_HTTP_PORT: cannot listen on port {port}: ")
    assert len(err.splitlines()) == 1, err


def test_keygen_prints_a_usable_key(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.config import load_config

    assert main(["keygen"]) == 0
    key = capsys.readouterr().out.strip()
    assert load_config(env={"NORMWACHT_SECRET_KEY": key}, dotenv=None).secret_key is not None


def test_the_console_script_runs_as_a_program(env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "normwacht" in done.stdout


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
    from bot.cli.main import _unlinked_line

    line = _unlinked_line([f"shop-{n}" for n in range(50_000)])
    assert line.startswith("50000 sellers with alerts have no chat linked: nothing to tell them: ")
    assert "shop-9, and" not in line and "shop-9 and 49990 more" in line
    assert len(line) < 250


def test_import_help_shows_a_file_that_imports(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert normwacht(env, "import", "--help").stdout.count("seller_id,year,week,indicator") == 1
    from bot.cli.main import IMPORT_FORMAT

    lines = [line.strip() for line in IMPORT_FORMAT.splitlines() if line.startswith("  ")]
    measurements = [line for line in lines if "date" not in line]
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    assert main(["import", str(write(env / "help.csv", "\n".join(measurements) + "\n"))]) == 0
    assert "imported 2 measurement(s)" in capsys.readouterr().out


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


def normwacht(env: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script as an operator runs it, in ``env``'s folder."""
    script = str(Path(sys.executable).with_name("normwacht"))
    return subprocess.run([script, *args], cwd=env, capture_output=True, text=True, check=False)


def test_version_and_every_help_has_an_example_and_the_exit_codes(env: Path) -> None:
    import argparse

    from bot.cli.main import build_parser

    done = normwacht(env, "--version")
    assert done.returncode == 0 and done.stdout.startswith("normwacht ")

    def commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
        found = [parser]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    found += commands(child)
        return found

    every = commands(build_parser())
    assert len(every) > 15
    for parser in every:
        text = parser.format_help()
        assert "example: normwacht" in text and "exit codes: 0 done" in text, parser.prog
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{parser.prog} {action.dest} has no help"


def test_a_command_says_which_database_it_creates_and_help_names_the_default(
    tmp_path: Path,
) -> None:
    """Run from another folder, the relative default is another, new file: the command
    says so, once, on stderr; ``--help`` says where the database is looked for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORMWACHT_")}
    script = str(Path(sys.executable).with_name("normwacht"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, *args], cwd=elsewhere, env=env, capture_output=True, text=True, check=False
        )

    first = run("seller", "list")
    assert first.returncode == 0, first.stderr
    created = elsewhere / "data" / "normwacht.sqlite3"
    assert first.stderr.splitlines() == [f"normwacht: created a new database at {created}"]
    again = run("seller", "list")
    assert again.returncode == 0 and again.stderr == ""
    for command in (["--help"], ["seller", "list", "--help"], ["check", "--help"]):
        assert (
            "database: NORMWACHT_DB (environment or .env), default data/normwacht.sqlite3, "
            "relative to the current folder"
        ) in " ".join(run(*command).stdout.split()), command


def test_output_into_a_closed_pipe_ends_quietly(env: Path) -> None:
    import os

    from bot.sample import sample_path

    imported = normwacht(env, "import", str(sample_path("indicators.csv")), "--create-sellers")
    assert imported.returncode == 0
    script = str(Path(sys.executable).with_name("normwacht"))
    for command in (["check", "--week", "2026-W46", "--json"], ["sent"], ["seller", "list"]):
        # The reader is gone before the first line: as with `| head -1` on long output.
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            done = subprocess.run(
                [script, *command], cwd=env, stdout=write_end, stderr=subprocess.PIPE, check=False
            )
        finally:
            os.close(write_end)
        assert (done.returncode, done.stderr) == (0, b""), command


def test_a_bad_clock_or_database_setting_is_named(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NORMWACHT_NOW", "yesterday")
    assert main(["seller", "list"]) == 2
    assert capsys.readouterr().err.startswith("normwacht: NORMWACHT_NOW: not a date and time")
    monkeypatch.delenv("NORMWACHT_NOW")
    monkeypatch.setenv("NORMWACHT_DB", "/proc/x.sqlite3")  # not even root may create it
    assert main(["seller", "list"]) == 2
    assert capsys.readouterr().err.startswith(
        "normwacht: NORMWACHT_DB: cannot open /proc/x.sqlite3: "
    )


def test_the_clock_can_be_pinned_in_dotenv(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NORMWACHT_NOW")
    write(env / ".env", "NORMWACHT_NOW=2026-11-23T10:00+01:00\n")
    assert main(["check", "--week", "2026-W47"]) == 0  # week 47 is over on that Monday
    write(env / ".env", "NORMWACHT_NOW=2026-11-22T23:50+01:00\n")
    assert main(["check", "--week", "2026-W47"]) == 2
    assert "is not over yet" in capsys.readouterr().err
    write(env / ".env", "NORMWACHT_NOW=2026-11-12T10:00+01:00\n")
    assert main(["check", "--week", "2026-W47"]) == 2
    assert "has not started yet" in capsys.readouterr().err


def test_poll_and_reopen_refuse_what_cannot_be_done(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.bol.credentials import new_key

    monkeypatch.setenv("NORMWACHT_SECRET_KEY", new_key())
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    capsys.readouterr()
    assert main(["poll", "--week", "2026-W46", "--seller", "shop-1"]) == 2
    assert capsys.readouterr().err.startswith("normwacht: no bol.com credentials for shop-1")
    assert main(["seller", "reopen", "shop-1"]) == 2
    assert capsys.readouterr().err == (
        "normwacht: seller 'shop-1' has no closed track to reopen (its track: none)\n"
    )


def test_a_plan_is_recorded_only_when_asked_for_and_only_forward(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.sample import sample_path

    assert main(["import", str(sample_path("indicators.csv")), "--create-sellers"]) == 0
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    capsys.readouterr()
    assert main(["plan", "approved", "shop-1"]) == 2
    assert capsys.readouterr().err == (
        "normwacht: seller 'shop-1' has no track that asks for an improvement plan "
        "(its track: none)\n"
    )
    assert main(["plan", "submitted", "snel-speelgoed"]) == 0
    assert capsys.readouterr().out.startswith("improvement plan of snel-speelgoed: submitted")
    assert main(["plan", "submitted", "snel-speelgoed"]) == 2
    assert main(["plan", "approved", "snel-speelgoed"]) == 0
    capsys.readouterr()
    assert main(["plan", "submitted", "snel-speelgoed"]) == 2
    assert capsys.readouterr().err == (
        "normwacht: the improvement plan of 'snel-speelgoed' is approved already: "
        "it cannot be recorded as submitted\n"
    )


def test_an_outside_service_that_does_not_answer_is_named(env: Path) -> None:
    """An unreachable Telegram does not stop ``run``: it is named in the log with the
    setting that points at it, and the token is never shown."""
    import os
    import signal
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with socket.socket() as probe:  # and a free one for the listener
        probe.bind(("127.0.0.1", 0))
        http_port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    script = str(Path(sys.executable).with_name("normwacht"))
    process = subprocess.Popen(
        [script, "run"],
        cwd=env,
        env={
            **os.environ,
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "TELEGRAM_API_URL": url,
            "NORMWACHT_HTTP_PORT": str(http_port),
        },
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            if "did not answer" in line:
                break
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = "".join(seen) + rest
    assert process.returncode == 0, log
    assert f"Telegram (TELEGRAM_API_URL={url}) did not answer" in log
    assert "123:abc" not in log


def test_a_sellers_console_chat_speaks_the_sellers_language(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from bot.sample import sample_path

    assert main(["seller", "add", "snel-speelgoed", "--name", "Snel", "--language", "en"]) == 0
    assert main(["import", str(sample_path("indicators.csv")), "--create-sellers"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("/help\n"))
    assert main(["chat", "--seller", "snel-speelgoed"]) == 0
    assert "Normwacht · help" in capsys.readouterr().out
    # The check's warnings to that chat are in English too.
    assert main(["check", "--week", "2026-W46"]) == 0
    assert main(["deliver"]) == 0
    delivered = capsys.readouterr().out
    assert "Shop closed temporarily" in delivered and "Winkel" not in delivered


def test_an_unreachable_postgresql_is_one_line_that_keeps_its_password(tmp_path: Path) -> None:
    """``run`` and every command refuse to start on a database that does not answer, with
    exit code 2 and the URL without its password."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"postgresql://nw:sekret-pw@127.0.0.1:{probe.getsockname()[1]}/nw"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("NORMWACHT_", "TELEGRAM_"))},
        "NORMWACHT_DB": url,
        "NORMWACHT_NOW": NOW,
        # A bot for a chat platform (without one, ``run`` is the samples' console).
        "TELEGRAM_BOT_TOKEN": "1:unused",
    }
    script = str(Path(sys.executable).with_name("normwacht"))
    for args in (["seller", "list"], ["run"]):
        done = subprocess.run(
            [script, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(
            f"normwacht: NORMWACHT_DB: cannot open {url.replace('sekret-pw', '***')}"
        )
        assert "sekret-pw" not in done.stderr + done.stdout
        assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "url",
    [
        "postgres//nw:S3cretPW@127.0.0.1:5432/nw",  # a typo: no file named like that is made
        "mysql://nw:S3cretPW@db/nw",
        "nw:S3cretPW@db/nw",
        "postgresql://nw:Ab3Q9/Kx9+Zq@db:5432/nw",  # a / in the password, not encoded
        "postgresql://nw:Ab3Q9?Kx9@db:5432/nw",
        "postgresql://nw:S3cretPW@db:notaport/nw",
        "postgresql://nw:S3cret PW@[::1:5/nw",
    ],
)
def test_a_database_url_that_is_no_url_is_refused_without_its_password(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NORMWACHT_DB", url)
    assert main(["migrate"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("normwacht: NORMWACHT_DB: ")
    for secret in ("S3cretPW", "Ab3Q9", "Kx9", "S3cret PW"):
        assert secret not in out + err
    assert list(tmp_path.iterdir()) == []  # no SQLite file or folder was made of it


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
