"""Retailer API v11 at the command line: an import of its bodies says what came in, and
check --json shows bol.com's exclusion as exempt and bol.com's latest status."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from bot.bol.api import Limiters, RequestBudget
from bot.bol.credentials import new_key
from bot.bol.poll import poll_week
from bot.cli.main import main
from bot.config import load_config
from bot.store import Store
from norms import IsoWeek
from tests.cli.conftest import NOW_DT, write
from tests.fakes.bol import FakeBol
from tests.ingest.support import DATA

pytestmark = pytest.mark.both_engines


def check_line(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert main(["check", "--week", "2026-W46", "--json", *args]) == 0
    [line] = capsys.readouterr().out.splitlines()
    return json.loads(line)


def test_v11_upload_then_check_json(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    # Figures first: before any snapshot check --json claims nothing of bol.com's verdict.
    csv = write(
        env / "w46.csv",
        "seller_id,week,indicator,numerator,denominator,value,norm\n"
        "shop-1,2026-W46,CANCELLATIONS,1,150,,\n",
    )
    assert main(["import", str(csv)]) == 0
    assert check_line(capsys)["bol_status"] is None

    capsys.readouterr()
    assert main(["import", str(DATA / "v11_bodies.json")]) == 0
    out = capsys.readouterr().out
    assert (
        "imported 2 measurement(s), 1 shop rating(s) and 1 bol.com status(es) for 1 seller(s), "
        "week 2026-W46"
    ) in out
    line = check_line(capsys)
    indicators = line["indicators"]
    assert isinstance(indicators, dict)
    # Handed over late via bol: a fail. Delivered late with own shipping too, but bol.com
    # excluded that week from its strikes: exempt, with bol.com as the reason.
    assert indicators["HANDOVER"]["status"] == "fail"
    assert indicators["ON_TIME"] == {
        "status": "exempt",
        "value": 0.8,
        "norm": 0.93,
        "condition": ">=",
        "numerator": 80,
        "denominator": 100,
        "score_6w": None,
    }
    status = line["bol_status"]
    assert isinstance(status, dict)
    assert status["fetched_at"] == "2026-11-19T07:00:00+00:00"
    assert status["system"] == "GroeiKracht"
    assert status["strikes"] == {
        "count": 2,
        "weeks": [
            {"week": "2026-W40", "reasons": ["HANDOVER"]},
            {"week": "2026-W44", "reasons": ["CANCELLATIONS", "ON_TIME"]},
        ],
    }
    assert status["points_left"] == 85
    assert status["quality_score"]["score"] == 71


def test_a_snapshot_fetched_after_the_checks_moment_is_not_shown(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["seller", "add", "shop-1", "--name", "Shop One"]) == 0
    bodies = json.loads((DATA / "v11_bodies.json").read_text(encoding="utf-8"))
    assert main(["import", str(write(env / "v11.json", json.dumps(bodies)))]) == 0
    # The same database, a check made as of Wednesday: the snapshot came a day later.
    monkeypatch.setenv("NORMWACHT_NOW", "2026-11-18T10:00:00+01:00")
    assert check_line(capsys)["bol_status"] is None


async def test_bol_status_is_null_before_a_poll_and_filled_after_it(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeBol({"cid-1": "S3cret-aa"}, v11=True) as bol:
        for name in ("BOL_API_URL", "BOL_LOGIN_URL"):
            monkeypatch.setenv(name, bol.url)
        monkeypatch.setenv("NORMWACHT_SECRET_KEY", new_key())
        bol.set_kpi("cid-1", "CANCELLATIONS", "2026-46", numerator=1, denominator=150)
        bol.set_kpi("cid-1", "ON_TIME", "2026-46", numerator=80, denominator=100, excluded=True)
        bol.set_performance_status("cid-1", strikes={"2026-44": ["ON_TIME"]}, points_left=60)
        assert await asyncio.to_thread(main, ["seller", "add", "shop-1", "--name", "S"]) == 0
        monkeypatch.setattr("sys.stdin", io.StringIO("S3cret-aa\n"))
        credentials = ["seller", "credentials", "shop-1", "--client-id", "cid-1"]
        assert await asyncio.to_thread(main, credentials) == 0
        figures = write(
            env / "w46.csv",
            "seller_id,week,indicator,numerator,denominator,value,norm\n"
            "shop-1,2026-W46,RESPONSE_TIME,19,20,,\n",
        )
        assert await asyncio.to_thread(main, ["import", str(figures)]) == 0
        before = await asyncio.to_thread(check_line, capsys)
        assert before["bol_status"] is None

        # The poll as the scheduler makes it, its minute shrunk so the test is quick.
        config = load_config(dotenv=None)
        store = await Store.open(config.database)
        try:
            fast = RequestBudget(window_s=0.2, backoff_s=0.01)
            summary = await poll_week(
                store, config, IsoWeek(2026, 46), now=NOW_DT, pacing=fast, limiters=Limiters()
            )
        finally:
            await store.close()
        assert not summary.failed and summary.statuses == 1
    after = await asyncio.to_thread(check_line, capsys)
    assert after["bol_status"] == {
        "fetched_at": "2026-11-19T09:00:00+00:00",
        "system": "GroeiKracht",
        "strikes": {"count": 1, "weeks": [{"week": "2026-W44", "reasons": ["ON_TIME"]}]},
        "points_left": 60,
        "quality_score": None,
    }
    indicators = after["indicators"]
    assert isinstance(indicators, dict)
    assert indicators["ON_TIME"]["status"] == "exempt"  # bol.com excluded the week
    assert indicators["RESPONSE_TIME"]["status"] == "pass"  # the upload stands beside it
