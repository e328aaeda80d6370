"""Hostile and careless input through the command line: a clear answer, exit 2, no change."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest

from bot.bol.credentials import new_key
from bot.cli.main import main
from tests.cli.conftest import write
from tests.fakes.bol import FakeBol

NOW = "2026-11-26T10:00:00+01:00"  # Thursday of week 48: weeks up to 47 are over
HEADER = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
XLSX_HEADER = HEADER.strip().split(",")
ABOVE = "is above 1,000,000,000, the largest count accepted"


@pytest.fixture
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "NORMWACHT_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NORMWACHT_DB", str(tmp_path / "db.sqlite3"))
    monkeypatch.setenv("NORMWACHT_NOW", NOW)
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    week46 = write(tmp_path / "w46.csv", HEADER + "shop-1,2026,46,FULFILMENT,140,150,,0.93\n")
    assert main(["import", str(week46)]) == 0
    capsys.readouterr()
    return tmp_path


def dump(env: Path) -> list[str]:
    """Everything the database holds, statement by statement."""
    conn = sqlite3.connect(env / "db.sqlite3")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def refused(env: Path, capsys: pytest.CaptureFixture[str], *files: Path) -> list[str]:
    """Import ``files``: assert exit 2 and an unchanged database; the lines of the answer."""
    before = dump(env)
    assert main(["import", *map(str, files)]) == 2
    after = dump(env)
    assert after == before
    err = capsys.readouterr().err.splitlines()
    assert err[-1].endswith("; nothing was changed")
    return err[:-1]


def check_json(capsys: pytest.CaptureFixture[str], week: str) -> dict[str, object]:
    capsys.readouterr()
    assert main(["check", "--week", week, "--json", "--dry-run"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    report: dict[str, object] = json.loads(line)
    return report


def test_huge_counts_in_csv_name_their_place(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = "100000000000000000000"
    data = write(
        env / "huge.csv",
        HEADER
        + f"shop-1,2026,47,FULFILMENT,{big},{big},,0.93\n"
        + f"shop-1,2026,47,CANCELLATIONS,{2**63},{2**63},,\n"
        + f"shop-1,2026,47,RESPONSE_TIME,1,{'9' * 5000},,\n"
        + "shop-1,2026,47,RETURNS,1000000001,1000000001,,\n",
    )
    assert refused(env, capsys, data) == [
        f"{data}:2:5: numerator '{big}' {ABOVE}",
        f"{data}:2:6: denominator '{big}' {ABOVE}",
        f"{data}:3:5: numerator '9223372036854775808' {ABOVE}",
        f"{data}:3:6: denominator '9223372036854775808' {ABOVE}",
        f"{data}:4:6: denominator '999999999999999999999999'… (5,000 digits) {ABOVE}",
        f"{data}:5:5: numerator '1000000001' {ABOVE}",
        f"{data}:5:6: denominator '1000000001' {ABOVE}",
    ]


def test_the_largest_count_is_accepted(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(env / "max.csv", HEADER + "shop-1,2026,47,FULFILMENT,999999990,1000000000,,\n")
    assert main(["import", str(data)]) == 0
    report = check_json(capsys, "2026-W47")
    indicators = report["indicators"]
    assert isinstance(indicators, dict)
    assert indicators["FULFILMENT"]["denominator"] == 1_000_000_000


def test_huge_counts_in_xlsx_and_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(XLSX_HEADER)
    sheet.append(["shop-1", 2026, 47, "FULFILMENT", 1e20, 1e20, None, None])
    book.save(env / "huge.xlsx")
    indicator = {
        "name": "FULFILMENT",
        "details": {
            "period": {"year": 2026, "week": 47},
            "score": {"numerator": 10**30, "denominator": 10**30},
        },
    }
    body = json.dumps({"seller_id": "shop-1", "performanceIndicators": [indicator]})
    indicators = write(env / "huge.json", body)
    reviews = write(
        env / "reviews.json",
        '{"seller_id": "shop-1", "retailer": {"retailerRating": {"retailerRating": 9.1},\n'
        ' "retailerReview": {"totalReviewCount": 10000000000000000000000000}}}',
    )
    digits = write(
        env / "digits.json",
        body.replace(str(10**30), "7" * 5000, 1),
    )
    thirty = "100000000000000000000000… (31 digits)"
    assert refused(env, capsys, env / "huge.xlsx", indicators, reviews, digits) == [
        f"{digits}:1:147: is not valid JSON: a number with too many digits",
        f"{indicators}:1:147: numerator {thirty} {ABOVE}",
        f"{indicators}:1:195: denominator {thirty} {ABOVE}",
        f"{env / 'huge.xlsx'}: cell E2: numerator '100000000000000000000' {ABOVE}",
        f"{env / 'huge.xlsx'}: cell F2: denominator '100000000000000000000' {ABOVE}",
        f"{reviews}:2:41: totalReviewCount 100000000000000000000000… (26 digits) {ABOVE}",
    ]


def test_a_huge_count_is_no_traceback_as_a_program(env: Path) -> None:
    data = write(
        env / "huge.csv",
        HEADER + "shop-1,2026,47,FULFILMENT,100000000000000000000,100000000000000000000,,0.93\n",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(data)],
        capture_output=True,
        text=True,
        env={**os.environ, "PTB_TIMEDELTA": "true"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{data}:2:5: numerator '100000000000000000000' {ABOVE}" in done.stderr


def test_a_value_that_the_counts_contradict_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(
        env / "w47.csv",
        HEADER
        + "shop-1,2026,47,FULFILMENT,10,150,0.99,0.93\n"
        + "shop-1,2026,47,CANCELLATIONS,3,150,2.5%,\n"
        + "shop-1,2026,47,RESPONSE_TIME,140,150,1,\n",
    )
    assert refused(env, capsys, data) == [
        f"{data}:2:7: value '0.99' does not agree with numerator 10 / denominator 150 = 0.0667 "
        "(6.67%); correct one of them, or leave value empty",
        f"{data}:3:7: value '2.5%' does not agree with numerator 3 / denominator 150 = 0.0200 "
        "(2.00%); correct one of them, or leave value empty",
        f"{data}:4:7: value '1' does not agree with numerator 140 / denominator 150 = 0.9333 "
        "(93.33%); correct one of them, or leave value empty",
    ]


def test_a_value_that_agrees_to_the_precision_written_is_kept(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(
        env / "w47.csv",
        HEADER
        + "shop-1,2026,47,FULFILMENT,140,150,93.3%,0.93\n"  # 93.33…% written to a tenth
        + "shop-1,2026,47,CANCELLATIONS,3,150,0.02,\n",
    )
    assert main(["import", str(data)]) == 0
    indicators = check_json(capsys, "2026-W47")["indicators"]
    assert isinstance(indicators, dict)
    assert indicators["FULFILMENT"]["value"] == 0.933
    assert indicators["CANCELLATIONS"]["status"] == "pass"


def test_one_figure_written_as_percentage_and_decimal_is_one_figure(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(
        env / "w47.csv",
        HEADER
        + "shop-1,2026,47,TRACK_AND_TRACE,,,93.1%,\n"
        + "shop-1,2026,47,TRACK_AND_TRACE,,,0.931,\n"
        + "shop-1,2026,47,PHONE_AVAILABILITY,,,57.3%,\n"
        + 'shop-1,2026,47,PHONE_AVAILABILITY,,,"0,573",\n',
    )
    assert main(["import", str(data)]) == 0
    indicators = check_json(capsys, "2026-W47")["indicators"]
    assert isinstance(indicators, dict)
    assert indicators["TRACK_AND_TRACE"]["value"] == 0.931
    assert indicators["PHONE_AVAILABILITY"]["value"] == 0.573


def test_a_formula_without_a_computed_value_is_refused_by_cell(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(XLSX_HEADER)
    for indicator in ("CANCELLATIONS", "RESPONSE_TIME", "PHONE_AVAILABILITY"):
        sheet.append(["shop-1", 2026, 45, indicator, 1, 150, None, None])
    # openpyxl stores formulas without their result, as some export libraries do
    sheet.append(["shop-1", 2026, 45, "FULFILMENT", 140, 150, None, "=0.95"])
    sheet.append(["shop-1", 2026, 45, "TRACK_AND_TRACE", None, None, "=E5/F5", 1])
    path = env / "w45.xlsx"
    book.save(path)
    formula = (
        "the cell holds a formula without a computed value; open and save the file in Excel, "
        "or enter the number"
    )
    assert refused(env, capsys, path) == [
        f"{path}: cell H5: {formula}",
        f"{path}: cell G6: {formula}",
    ]


def test_personal_norms_may_be_absent(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(
        env / "w47.csv",
        HEADER + "shop-1,2026,47,RETURNS,6,200,,\nshop-1,2026,47,CASE_ITEM_RATIO,2,200,,\n",
    )
    assert main(["import", str(data)]) == 0
    assert "imported 2 measurement(s)" in capsys.readouterr().out
    indicators = check_json(capsys, "2026-W47")["indicators"]
    assert isinstance(indicators, dict)
    assert indicators["RETURNS"] == {
        "status": "no_norm",
        "value": 0.03,
        "norm": None,
        "condition": "<=",
        "numerator": 6,
        "denominator": 200,
        "score_6w": None,
    }
    assert indicators["CASE_ITEM_RATIO"]["status"] == "no_norm"


def test_a_json_value_that_the_counts_contradict_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    score = {"numerator": 10, "denominator": 150, "value": 0.99}
    indicator = {
        "name": "FULFILMENT",
        "details": {"period": {"year": 2026, "week": 47}, "score": score},
    }
    body = write(
        env / "w47.json", json.dumps({"seller_id": "shop-1", "performanceIndicators": [indicator]})
    )
    [line] = refused(env, capsys, body)
    assert line.endswith(
        ": value '0.99' does not agree with numerator 10 / denominator 150 = 0.0667 (6.67%); "
        "correct one of them, or leave value empty"
    )


def test_a_huge_review_count_in_a_ratings_csv(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write(
        env / "ratings.csv",
        "seller_id,date,rating,product_information,delivery_time,shipping,service,reviews,method\n"
        "shop-1,2026-11-18,9.1,,,,,100000000000000000000,THREE_MONTHS\n",
    )
    assert refused(env, capsys, data) == [f"{data}:2:8: reviews '100000000000000000000' {ABOVE}"]


def test_personal_norms_absent_still_count_items_sold_and_zero_is_a_measurement(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def gold() -> list[str]:
        capsys.readouterr()
        assert main(["check", "--week", "2026-W47", "--seller", "shop-2", "--json"]) == 0
        unmet: list[str] = json.loads(capsys.readouterr().out)["gold_label"]["unmet"]
        return unmet

    sold = write(
        env / "sold.csv",
        HEADER
        + "shop-2,2026,47,RETURNS,6,200,,\n"  # no norm: no verdict, but 200 items sold
        + "shop-2,2026,47,REVIEWS,,30,9.4,\n",
    )
    assert main(["import", str(sold), "--create-sellers"]) == 0
    assert gold() == []
    # 0 items sold that week (CASE_ITEM_RATIO comes first): RETURNS' 200 are not looked at.
    none_sold = write(env / "none.csv", HEADER + "shop-2,2026,47,CASE_ITEM_RATIO,0,0,,0.05\n")
    assert main(["import", str(none_sold)]) == 0
    assert gold() == ["items_sold_per_month"]


async def test_poll_names_the_seller_never_the_client_id(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client_id = "client-ID-value-0815-abc"
    async with FakeBol({"another-client": "its-secret"}) as bol:  # bol.com knows no such id
        for name in ("BOL_API_URL", "BOL_LOGIN_URL"):
            monkeypatch.setenv(name, bol.url)
        monkeypatch.setenv("NORMWACHT_SECRET_KEY", new_key())
        monkeypatch.setattr("sys.stdin", io.StringIO("some-S3cret\n"))
        credentials = ["seller", "credentials", "shop-1", "--client-id", client_id]
        assert await asyncio.to_thread(main, credentials) == 0
        code = await asyncio.to_thread(main, ["poll", "--week", "2026-W46"])
    out, err = capsys.readouterr()
    assert code == 1  # a seller's poll failed: the week is not complete
    assert "shop-1" in out
    for text in (out, err, caplog.text):
        assert "client-ID-value" not in text and "0815" not in text
    assert (
        "failed: shop-1: bol.com refused these credentials (bol.com refused the credentials "
        "of the client of seller shop-1 (HTTP 401))"
    ) in out.splitlines()
