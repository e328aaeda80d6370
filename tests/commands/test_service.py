"""Dispatch: who may run which command, unknown commands, a new chat's language, and uploads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.commands.service import ChatContext, Service
from tests.conftest import ChatOf, FixedClock, rendered

pytestmark = pytest.mark.both_engines


async def test_an_unlinked_chat_is_asked_who_it_is(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of()
    assert [r.kind for r in await talk.push("/score")] == ["who_are_you"]
    assert [r.kind for r in await talk.push("/help")] == ["help"]


async def test_a_new_chat_starts_in_its_users_language_if_we_speak_it(service: Service) -> None:
    french = await service.chat_for("telegram", "801", language="fr")
    german = await service.chat_for("telegram", "802", language="de")
    unknown = await service.chat_for("telegram", "803")
    assert (french.language, german.language, unknown.language) == ("fr", "nl", "nl")
    # Only the first contact decides; later the chat's own choice stands.
    again = await service.chat_for("telegram", "801", language="en")
    assert again.id == french.id and again.language == "fr"


async def test_unknown_commands_are_named(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of("zonnig-wonen")
    assert (await talk.push("/frobnicate"))[0].data == {"command": "/frobnicate"}


async def test_upload_accepted_and_rejected(
    chat_of: ChatOf, service: Service, tmp_path: Path
) -> None:
    talk = await chat_of("zonnig-wonen")
    ctx = ChatContext(talk.chat, "1001")
    good = tmp_path / "week.csv"
    good.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "zonnig-wonen,2026,46,RESPONSE_TIME,5,5,,\n",
        encoding="utf-8",
    )
    [ok] = await service.handle_upload(ctx, good, "week.csv")
    assert ok.kind == "upload_ok" and ok.data["rows"] == 1
    assert [str(w) for w in ok.data["weeks"]] == ["2026-W46"]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "snel-speelgoed,2026,46,RESPONSE_TIME,5,5,,\n",
        encoding="utf-8",
    )
    [no] = await service.handle_upload(ctx, bad, "bad.csv")
    assert no.kind == "upload_rejected"
    assert [str(issue) for issue in no.data["issues"]] == [
        "bad.csv:2:1: seller 'snel-speelgoed' is not linked to this chat"
    ]


async def test_an_uploaded_performance_status_is_named_and_shown_by_status(
    chat_of: ChatOf, service: Service, tmp_path: Path
) -> None:
    talk = await chat_of("zonnig-wonen")
    ctx = ChatContext(talk.chat, "1001")
    status = tmp_path / "status.json"
    status.write_text(
        json.dumps(
            {
                "seller_id": "zonnig-wonen",
                "fetched_at": "2026-11-18T07:00:00+01:00",
                "performanceStatus": {
                    "monitoringSystem": {"description": "GroeiKracht", "strike": {"count": 0}},
                    "policy": {"pointsLeft": 25, "violations": []},
                },
            }
        ),
        encoding="utf-8",
    )
    [ok] = await service.handle_upload(ctx, status, "status.json")
    assert ok.kind == "upload_ok" and (ok.data["rows"], ok.data["statuses"]) == (0, 1)
    text = rendered(ok.kind, ok.data)
    assert "het oordeel van bol.com zelf" in text and "/status" in text and "/score" not in text
    [shown] = await talk.push("/policy")
    assert shown.kind == "policy" and "25" in rendered(shown.kind, shown.data)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "nl",
            [
                "• foto.jpg: bestandstype .jpg wordt niet ondersteund; gebruik .csv, .xlsx of "
                ".json",
                "• kop.csv, regel 1: de kop ('datum', 'omzet') noemt geen weekindicatoren",
                "• kolom.csv, regel 1, kolom 5: kolom 'Numerater' is geen bekende kolom; "
                "de kolommen zijn seller_id, year, week,",
                "• cijfers.csv, regel 2, kolom 5: numerator 'veel' is geen geheel getal ≥ 0",
            ],
        ),
        (
            "fr",
            [
                "• foto.jpg\u00a0: le type de fichier .jpg n'est pas pris en charge\u00a0; "
                "utilisez .csv, .xlsx ou .json",
                "• kop.csv, ligne 1\u00a0: l'en-tête ('datum', 'omzet') ne nomme ni des "
                "indicateurs",
                "• kolom.csv, ligne 1, colonne 5\u00a0: la colonne 'Numerater' n'est pas une "
                "colonne connue\u00a0; les colonnes sont seller_id, year, week,",
                "• cijfers.csv, ligne 2, colonne 5\u00a0: numerator 'veel' n'est pas un nombre "
                "entier ≥ 0",
            ],
        ),
    ],
)
async def test_an_upload_is_refused_in_the_chats_language(
    chat_of: ChatOf, service: Service, tmp_path: Path, language: str, expected: list[str]
) -> None:
    """Where and why a file is refused reach the seller in the chat's words, naming the
    file, line, column and the value the file holds (a column by its own name)."""
    from messages import render

    talk = await chat_of("zonnig-wonen")
    await talk.push(f"/language {language}")
    ctx = ChatContext(talk.chat, "1001")
    header = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
    files = {
        "foto.jpg": "not a picture",
        "kop.csv": "datum,omzet\n2026-11-09,12\n",
        "kolom.csv": header.replace("numerator", "Numerater") + "zonnig-wonen,2026,46,X,1,2,,\n",
        "cijfers.csv": header + "zonnig-wonen,2026,46,FULFILMENT,veel,150,,\n",
    }
    said: list[str] = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        [reply] = await service.handle_upload(ctx, path, name)
        assert reply.kind == "upload_rejected"
        lines = render(reply.kind, reply.data, fmt="text", lang=language).text.splitlines()
        said += [line for line in lines if line.startswith("•")]
    for start in expected:
        assert any(line.startswith(start) for line in said), "\n".join(said)
    # The command line keeps its English, from the same reasons.
    path = tmp_path / "foto.jpg"
    [reply] = await service.handle_upload(ctx, path, "foto.jpg")
    assert [str(issue) for issue in reply.data["issues"]] == [
        "foto.jpg:0:0: file type .jpg is not supported; use .csv, .xlsx or .json"
    ]


async def test_operator_commands_are_for_admins_only(
    chat_of: ChatOf, service: Service, clock: FixedClock
) -> None:
    talk = await chat_of("zonnig-wonen")
    assert [r.kind for r in await talk.push("/linkcode zonnig-wonen")] == ["not_admin"]
    assert [r.kind for r in await talk.push("/exempt 2026-W46 staking")] == ["not_admin"]
    assert await service.store.data.exemptions() == []


@pytest.mark.parametrize(
    ("command", "problem", "nl", "en", "fr"),
    [
        (
            "/language de",
            "language",
            "Die taal ken ik niet",
            "I don't know that language",
            "Je ne connais pas cette langue",
        ),
        (
            "/digest zondag 25",
            "digest_hour",
            "“25” is geen uur",
            "“25” is not an hour",
            "«\xa025\xa0» n'est pas une heure",
        ),
        (
            "/digest zondag",
            "digest_hour_missing",
            "Om hoe laat? Schrijf na de dag een heel uur van 0 tot 23, bijvoorbeeld /digest zondag",
            "At what hour?",
            "À quelle heure\xa0?",
        ),
        (
            "/digest zondagavond 8",
            "digest_day",
            "is geen dag van de week",
            "is not a day of the week",
            "n'est pas un jour de la semaine",
        ),
        (
            "/language",
            "language_missing",
            "Welke taal? Stuur /language nl voor Nederlands",
            "Which language? Send /language nl for Nederlands",
            "Quelle langue\xa0? Envoyez /language fr pour le français",
        ),
        (
            "/history -3",
            "history_weeks",
            "-3 weken kan ik niet tekenen",
            "I cannot draw -3 weeks",
            "Je ne peux pas dessiner -3 semaines",
        ),
        (
            "/exempt 2026-46 staking",
            "week",
            "is geen week",
            "is not a week",
            "n'est pas une semaine",
        ),
        (
            "/exempt 2026-W46",
            "reason_missing",
            "Geef een reden op",
            "Give a reason",
            "Indiquez une raison",
        ),
        (
            "/exempt 2026-W52 staking",
            "week_future",
            "nog niet begonnen",
            "has not started",
            "n'a pas encore commencé",
        ),
        (
            "/linkcode",
            "linkcode_seller",
            "Voor welke verkoper?",
            "For which seller?",
            "Pour quel vendeur\xa0?",
        ),
        (
            "/history snel-speelgoed 0",
            "history_weeks",
            "kan ik niet tekenen",
            "cannot draw",
            "Je ne peux pas dessiner",
        ),
        (
            "/history snel-speelgoed 9999",
            "history_weeks",
            "Kies van 2 tot 520",
            "from 2 to 520",
            "Choisissez de 2 à 520",
        ),
    ],
)
async def test_a_malformed_argument_gets_its_own_answer(
    admin_chat: ChatOf, service: Service, command: str, problem: str, nl: str, en: str, fr: str
) -> None:
    admin = await admin_chat()
    [reply] = await admin.push(command)
    assert reply.kind == "bad_argument" and reply.data["problem"] == problem
    assert nl in await admin.text(command)
    await admin.push("/language en")
    assert en in await admin.text(command)
    await admin.push("/language fr")
    assert fr in await admin.text(command)
    assert await service.store.data.exemptions() == []
