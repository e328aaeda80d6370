"""normwacht seller and normwacht plan as operators use them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.cli.conftest import write

pytestmark = pytest.mark.both_engines


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
