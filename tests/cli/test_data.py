"""normwacht import and normwacht exempt as operators use them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.cli.conftest import normwacht, query, write

pytestmark = pytest.mark.both_engines


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


def test_import_help_shows_a_file_that_imports(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert normwacht(env, "import", "--help").stdout.count("seller_id,year,week,indicator") == 1
    from bot.cli.data import IMPORT_FORMAT

    lines = [line.strip() for line in IMPORT_FORMAT.splitlines() if line.startswith("  ")]
    measurements = [line for line in lines if "date" not in line]
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    assert main(["import", str(write(env / "help.csv", "\n".join(measurements) + "\n"))]) == 0
    assert "imported 2 measurement(s)" in capsys.readouterr().out
