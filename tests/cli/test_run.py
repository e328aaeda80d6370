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
