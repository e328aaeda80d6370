"""The command line itself: arguments, settings, --help and --version, failures in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.cli.conftest import NOW, normwacht, write

pytestmark = pytest.mark.both_engines


def test_bad_arguments_exit_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "--week", "2026-W60"])
    assert exited.value.code == 2
    assert "week 60 does not exist" in capsys.readouterr().err


def test_a_malformed_setting_stops_start_up_with_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NORMWACHT_QUIET_HOURS", "late")
    assert main(["seller", "list"]) == 2
    assert capsys.readouterr().err == (
        "normwacht: NORMWACHT_QUIET_HOURS: must look like 21:00-08:00, or off\n"
    )


def test_the_console_script_runs_as_a_program(env: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "normwacht" in done.stdout


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


# Libraries a command loads only when it runs: --help and a parse error need none of them.
HEAVY = ("openpyxl", "numpy", "aiohttp", "telegram", "slack_bolt", "asyncpg", "httpx")


def test_help_loads_none_of_the_libraries_only_commands_need() -> None:
    probe = (
        "import sys\n"
        "from bot.cli.main import build_parser\n"
        "build_parser()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
