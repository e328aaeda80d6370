"""normwacht run and normwacht chat: start-up refusals and the console chat."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.cli.main import main

pytestmark = pytest.mark.both_engines


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


def test_the_sample_shops_read_as_in_their_own_week_whatever_the_date(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the real clock (no NORMWACHT_NOW), the console's sample shops still answer as in
    the week after their last: their week 46 is the latest, and no later week is missing."""
    import io

    monkeypatch.delenv("NORMWACHT_NOW")
    monkeypatch.setattr(sys, "stdin", io.StringIO("/score snel\n/status\n"))
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "week 46 (9–15 nov)" in out
    assert "🔴 Op tijd geleverd: score over 6 weken 92,98%" in out
    assert "ontbreken" not in out and "zonder cijfers" not in out


def test_the_sample_clock_starts_on_the_thursday_after_the_sample_week_and_runs_on() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from bot.sample import sample_clock

    real = [datetime(2027, 3, 2, 6, 30, tzinfo=UTC)]
    clock = sample_clock(lambda: real[0], ZoneInfo("Europe/Amsterdam"))
    assert clock() == datetime(2026, 11, 19, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))
    real[0] += timedelta(minutes=90)
    assert clock() == datetime(2026, 11, 19, 11, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
