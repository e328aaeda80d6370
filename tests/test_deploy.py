"""deploy/normwacht.service: a unit systemd accepts as written, hardened, with the secrets
as systemd credentials that the configuration reads through ``<NAME>_FILE``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SECRET_SETTINGS

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "normwacht.service"
INSTALLED = "/opt/normwacht/bin/normwacht"


def settings(text: str) -> list[tuple[str, str]]:
    return [
        (key.strip(), value.strip())
        for key, _, value in (
            line.partition("=")
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "["))
        )
    ]


@pytest.mark.parametrize(
    "names",
    [["normwacht.service"], ["normwacht-backup.service", "normwacht-backup.timer"]],
)
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path, names: list[str]) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # The units name the program where the README installs it; here it is installed
    # beside this interpreter (verify checks that ExecStart exists).
    here = Path(sys.executable).with_name("normwacht")
    for name in names:
        text = (UNIT.parent / name).read_text("utf-8")
        (tmp_path / name).write_text(text.replace(INSTALLED, str(here)), encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", *(str(tmp_path / n) for n in names)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    # systemd-analyze exits 0 on unknown keys and bad values too: it must say nothing.
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_unit_is_hardened_and_stops_with_sigterm() -> None:
    found = settings(UNIT.read_text("utf-8"))
    keys = dict(found)
    assert keys["ExecStart"] == f"{INSTALLED} run"
    assert keys["User"] == "normwacht" and keys["StateDirectory"] == "normwacht"
    assert keys["Restart"] == "on-failure" and keys["KillSignal"] == "SIGTERM"
    assert keys["NoNewPrivileges"] == "yes" and keys["ProtectSystem"] == "strict"
    assert keys["CapabilityBoundingSet"] == ""
    environment = [v for k, v in found if k == "Environment"]
    assert "NORMWACHT_DB=/var/lib/normwacht/normwacht.sqlite3" in environment


def test_each_credential_is_a_secret_setting_read_from_its_file() -> None:
    found = settings(UNIT.read_text("utf-8"))
    credentials = {v.split(":", 1)[0] for k, v in found if k == "LoadCredential"}
    files = dict(
        v.split("=", 1)
        for k, v in found
        if k == "Environment" and v.split("=")[0].endswith("_FILE")
    )
    assert credentials == {"telegram-bot-token", "secret-key"}
    assert files == {
        "TELEGRAM_BOT_TOKEN_FILE": "%d/telegram-bot-token",
        "NORMWACHT_SECRET_KEY_FILE": "%d/secret-key",
    }
    for name, where in files.items():
        assert name.removesuffix("_FILE") in SECRET_SETTINGS
        assert re.fullmatch(r"%d/[a-z-]+", where) and where[3:] in credentials
    # No secret itself in the unit.
    assert not [k for k, v in found if k == "Environment" and "TOKEN=" in v]
