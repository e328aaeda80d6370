"""The service layer, driven as every channel drives it: a conversation of commands."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.commands.service import ChatContext, Service
from bot.config import Config
from bot.store import Store
from norms import Indicator
from tests.conftest import FixedClock, make_config
from tests.support import Conversation

pytestmark = pytest.mark.both_engines


@pytest.fixture
def service(sample_store: Store, config: Config, clock: FixedClock) -> Service:
    return Service(sample_store, config, clock)


async def chat_of(service: Service, *sellers: str, address: str = "501") -> Conversation:
    chat = await service.chat_for("telegram", address)
    for seller in sellers:
        await service.store.chats.link(chat.id, seller, "test", service.clock())
    return Conversation(service, chat)


async def test_an_unlinked_chat_is_asked_who_it_is(service: Service) -> None:
    talk = await chat_of(service)
    assert [r.kind for r in await talk.push("/score")] == ["who_are_you"]
    assert [r.kind for r in await talk.push("/help")] == ["help"]


async def test_linking_by_one_time_code(service: Service, clock: FixedClock) -> None:
    code = await service.store.chats.create_link_code("zonnig-wonen", clock())
    talk = await chat_of(service)
    [ok, status] = await talk.push(f"/start {code}")
    assert ok.kind == "link_ok" and ok.data["seller"].id == "zonnig-wonen"
    # Linked mid-week: where the seller stands now comes with the confirmation.
    assert status.kind == "status" and str(status.data["report"].week) == "2026-W46"
    late = await service.store.chats.create_link_code("zonnig-wonen", clock() - timedelta(days=8))
    # A stranger hears the same for a used, an unknown and an expired code.
    other = await chat_of(service, address="502")
    for attempt in (code, "NOPE123", late.lower()):
        assert [(r.kind, r.data) for r in await other.push(f"/start {attempt}")] == [
            ("link_failed", {"reason": "refused"})
        ]
    # An operator is told which it was.
    operator = await chat_of(service, address="503")
    operator.admin = True
    assert (await operator.push(f"/start {code}"))[0].data == {"reason": "used"}
    assert (await operator.push("/start NOPE123"))[0].data == {"reason": "unknown"}
    assert (await operator.push(f"/start {late}"))[0].data == {"reason": "expired"}


async def test_score_for_the_chats_only_seller(service: Service) -> None:
    talk = await chat_of(service, "snel-speelgoed")
    [reply] = await talk.push("/score")
    assert reply.kind == "score"
    report = reply.data["report"]
    assert reply.data["seller"].id == "snel-speelgoed"
    assert str(report.week) == "2026-W46" and report.track.step == 5


async def test_a_chat_sees_nothing_of_sellers_it_does_not_follow(service: Service) -> None:
    talk = await chat_of(service, "zonnig-wonen")
    for command in ("/score snel-speelgoed", "/status Snel Speelgoed", "/history kado-kelder"):
        replies = await talk.push(command)
        assert [r.kind for r in replies] == ["unknown_seller"]
        assert all("report" not in r.data for r in replies)
    # The same answer for a seller that does not exist at all.
    assert (await talk.push("/score ghost"))[0].data == {"query": "ghost"}


async def test_several_sellers_ask_which_one(service: Service) -> None:
    talk = await chat_of(service, "zonnig-wonen", "boekenhoek")
    [ask] = await talk.push("/goldlabel")
    assert ask.kind == "choose_seller" and ask.command == "goldlabel"
    assert [s.id for s in ask.choices] == ["boekenhoek", "zonnig-wonen"]
    [answer] = await talk.push("/goldlabel zonnig-wonen")
    assert answer.kind == "goldlabel" and answer.data["report"].gold.unmet == ["reviews_per_month"]


async def test_plan_done_records_the_submitted_plan(service: Service) -> None:
    talk = await chat_of(service, "snel-speelgoed")
    [before] = await talk.push("/plan")
    assert before.kind == "plan" and before.data["report"].track.plan == "required"
    assert [r.kind for r in await talk.push("/plan done")] == ["plan_done"]
    [after] = await talk.push("/status")
    assert after.data["report"].track.plan == "submitted"
    other = await chat_of(service, "zonnig-wonen", address="503")
    assert [r.kind for r in await other.push("/plan done")] == ["plan_not_required"]


async def test_language_and_mute_are_kept_per_chat(service: Service) -> None:
    talk = await chat_of(service, "zonnig-wonen")
    assert (await talk.push("/language en"))[0].data == {"language": "en"}
    assert [r.kind for r in await talk.push("/mute")] == ["muted"]
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and chat.language == "en" and chat.muted
    await talk.push("/unmute")
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and not chat.muted


async def test_language_fr_is_accepted_and_others_are_not(service: Service) -> None:
    talk = await chat_of(service, "zonnig-wonen")
    assert (await talk.push("/language FR"))[0].data == {"language": "fr"}
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and chat.language == "fr"
    refused = await talk.push("/language de")
    assert "language_set" not in [r.kind for r in refused]
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and chat.language == "fr"


async def test_a_new_chat_starts_in_its_users_language_if_we_speak_it(service: Service) -> None:
    french = await service.chat_for("telegram", "801", language="fr")
    german = await service.chat_for("telegram", "802", language="de")
    unknown = await service.chat_for("telegram", "803")
    assert (french.language, german.language, unknown.language) == ("fr", "nl", "nl")
    # Only the first contact decides; later the chat's own choice stands.
    again = await service.chat_for("telegram", "801", language="en")
    assert again.id == french.id and again.language == "fr"


async def test_history_draws_a_chart(service: Service) -> None:
    talk = await chat_of(service, "snel-speelgoed")
    [reply] = await talk.push("/history 8")
    assert reply.kind == "history" and reply.data["weeks"] == 8
    assert reply.image is not None and reply.image.startswith(b"\x89PNG")


async def test_unknown_commands_are_named(service: Service) -> None:
    talk = await chat_of(service, "zonnig-wonen")
    assert (await talk.push("/frobnicate"))[0].data == {"command": "/frobnicate"}


async def test_upload_accepted_and_rejected(service: Service, tmp_path: Path) -> None:
    talk = await chat_of(service, "zonnig-wonen")
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
    service: Service, tmp_path: Path, language: str, expected: list[str]
) -> None:
    """Where and why a file is refused reach the seller in the chat's words, naming the
    file, line, column and the value the file holds (a column by its own name)."""
    from messages import render

    talk = await chat_of(service, "zonnig-wonen")
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


async def test_connect_keeps_the_secret_only_encrypted(
    sample_store: Store, tmp_path: Path, clock: FixedClock
) -> None:
    from bot.bol.credentials import SecretBox, new_key

    config = make_config(tmp_path, NORMWACHT_SECRET_KEY=new_key())
    seen: list[tuple[str, str]] = []

    async def check(client_id: str, secret: str) -> str | None:
        seen.append((client_id, secret))
        return None if secret == "s3cret-value" else "bol.com refused these credentials"

    service = Service(sample_store, config, clock, check_credentials=check)
    talk = await chat_of(service, "zonnig-wonen")
    assert [r.kind for r in await talk.push("/connect")] == ["connect_prompt_id"]
    assert [r.kind for r in await talk.push("client-42")] == ["connect_prompt_secret"]
    [done] = await talk.push("s3cret-value")
    assert done.kind == "connect_ok" and done.delete_prompt
    assert seen == [("client-42", "s3cret-value")]
    stored = await sample_store.sellers.credentials("zonnig-wonen")
    assert stored is not None
    box = SecretBox(config.secret_key or b"")
    assert (box.open(stored[0]), box.open(stored[1])) == ("client-42", "s3cret-value")
    for suffix in ("", "-wal"):
        db_file = Path(f"{config.db_path}{suffix}")
        # Neither the secret nor the client id is stored readable.
        for plain in (b"s3cret-value", b"client-42"):
            assert not db_file.exists() or plain not in db_file.read_bytes()
    # A wrong secret is refused, and the message holding it is still deleted.
    await talk.push("/connect")
    await talk.push("client-42")
    [refused] = await talk.push("wrong")
    assert refused.kind == "connect_failed" and refused.delete_prompt


async def test_operator_commands_are_for_admins_only(service: Service, clock: FixedClock) -> None:
    talk = await chat_of(service, "zonnig-wonen")
    assert [r.kind for r in await talk.push("/linkcode zonnig-wonen")] == ["not_admin"]
    assert [r.kind for r in await talk.push("/exempt 2026-W46 staking")] == ["not_admin"]
    assert await service.store.data.exemptions() == []


async def test_an_admin_makes_link_codes_and_exemptions_in_chat(service: Service) -> None:
    admin = await chat_of(service, address="900")
    admin.admin = True
    [code] = await admin.push("/linkcode snel-speelgoed")
    assert code.kind == "link_code" and code.data["days"] == 7
    seller_chat = await chat_of(service, address="901")
    [linked, _] = await seller_chat.push(f"/start {code.data['passcode']}")
    assert linked.kind == "link_ok" and linked.data["seller"].id == "snel-speelgoed"

    [ok] = await admin.push("/exempt 2026-W46 fulfilment seller:snel-speelgoed PostNL staking")
    exemption = ok.data["exemption"]
    assert ok.kind == "exempt_ok"
    assert (str(exemption.week), exemption.reason) == ("2026-W46", "PostNL staking")
    assert exemption.indicators == {Indicator.FULFILMENT}
    assert exemption.sellers == {"snel-speelgoed"}
    # The late exemption takes week 46 off the ladder: no suspension any more.
    [status] = await seller_chat.push("/status")
    assert status.data["report"].track.step == 4
    [listing] = await admin.push("/exempt")
    assert listing.kind == "exempt_list"
    [record] = listing.data["exemptions"]
    assert record.exemption == exemption and record.actor == "telegram:1001"
    assert record.created_at.isoformat() == "2026-11-19T10:00:00+01:00"
    assert (await admin.push("/exempt 2026-W99 x"))[0].data == {
        "problem": "week",
        "given": "2026-W99",
    }


async def test_a_chat_chooses_when_its_digest_comes(service: Service) -> None:
    talk = await chat_of(service, "zonnig-wonen")
    assert (await talk.push("/digest vrijdag 17"))[0].data == {"day": 5, "hour": 17}
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and (chat.digest_day, chat.digest_hour) == (5, 17)
    assert (await talk.push("/digest Mon 08:00"))[0].data == {"day": 1, "hour": 8}
    assert (await talk.push("/digest lundi 8"))[0].data == {"day": 1, "hour": 8}
    assert (await talk.push("/digest dimanche 20"))[0].data == {"day": 7, "hour": 20}
    # What is wrong is named: the day, the hour out of 0-23, or the hour left out.
    assert (await talk.push("/digest someday 25"))[0].data == {
        "problem": "digest_day",
        "given": "someday",
    }
    assert (await talk.push("/digest zondag 25"))[0].data == {
        "problem": "digest_hour",
        "given": "25",
    }
    assert (await talk.push("/digest zondag"))[0].data == {
        "problem": "digest_hour_missing",
        "given": "zondag",
    }
    assert "Om hoe laat?" in await talk.text("/digest zondag")
    assert "“25” is geen uur" in await talk.text("/digest zondag 25")
    assert (await talk.push("/digest zondag 8 uur"))[0].data["problem"] == "digest_time"
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and (chat.digest_day, chat.digest_hour) == (7, 20)
    [digest] = await talk.push("/digest")
    assert digest.kind == "digest" and digest.data["team"] is False


async def test_connect_only_in_a_private_chat_and_only_for_who_began_it(
    sample_store: Store, tmp_path: Path, clock: FixedClock
) -> None:
    from bot.bol.credentials import new_key

    config = make_config(tmp_path, NORMWACHT_SECRET_KEY=new_key())

    async def check(client_id: str, secret: str) -> str | None:
        return None

    service = Service(sample_store, config, clock, check_credentials=check)
    group = await chat_of(service, "zonnig-wonen", address="-100200")
    assert (await group.push("/connect"))[0].data == {"reason": "private_only"}
    talk = await chat_of(service, "zonnig-wonen")
    await talk.push("/connect")
    talk.user_id = "someone-else"
    assert [r.kind for r in await talk.push("client-1")] == ["help"]  # not their exchange
    talk.user_id = "1001"
    await talk.push("/connect")
    clock.advance(minutes=11)
    assert [r.kind for r in await talk.push("client-1")] == ["help"]  # too late: closed
    assert await sample_store.sellers.credentials("zonnig-wonen") is None


async def test_a_number_is_no_seller_except_as_the_weeks_of_history(service: Service) -> None:
    talk = await chat_of(service, "snel-speelgoed")
    assert (await talk.push("/plan done 123"))[0].data == {"query": "123"}
    [history] = await talk.push("/history 6")
    assert history.kind == "history" and history.data["weeks"] == 6


async def admin_chat(service: Service, address: str = "900") -> Conversation:
    talk = await chat_of(service, address=address)
    talk.admin = True
    return talk


async def test_a_misspelt_indicator_is_refused_with_the_nearest_name(service: Service) -> None:
    admin = await admin_chat(service)
    [reply] = await admin.push("/exempt 2026-W46 FULFILLMENT staking")
    assert (reply.kind, reply.data) == (
        "bad_argument",
        {"problem": "unknown_indicator", "given": "FULFILLMENT", "suggestion": "FULFILMENT"},
    )
    assert await service.store.data.exemptions() == []
    assert "FULFILLMENT? Bedoel je FULFILMENT?" in await admin.text(
        "/exempt 2026-W46 FULFILLMENT staking"
    )
    await admin.push("/language en")
    assert "FULFILLMENT? Did you mean FULFILMENT?" in await admin.text(
        "/exempt 2026-W46 FULFILLMENT strike"
    )
    # Words of the reason are not taken for indicators.
    [asked] = await admin.push("/exempt 2026-W46 fulfilment PostNL staking")
    assert asked.kind == "exempt_confirm" and asked.data["exemption"].reason == "PostNL staking"


async def test_an_exemption_for_everyone_waits_for_its_confirmation(
    service: Service, clock: FixedClock
) -> None:
    admin = await admin_chat(service)
    seller_chat = await chat_of(service, "snel-speelgoed", address="901")
    [asked] = await admin.push("/exempt 2026-W46 Storing bij bol.com")
    assert asked.kind == "exempt_confirm" and asked.command == "exempt confirm"
    [button] = asked.choices
    assert button.id == asked.data["token"] and button.name == "✅ Ja, vastleggen"
    assert await service.store.data.exemptions() == []
    text = await admin.text("/exempt 2026-W46 Storing bij bol.com")
    assert "alle normen van alle verkopers in week 46 van 2026" in text
    # Another admin cannot press this admin's button, and a wrong token confirms nothing.
    token = (await service.store.chats.conversation(admin.chat.id) or ("", {}))[1]["token"]
    admin.user_id = "1002"
    assert (await admin.push(f"/exempt confirm {token}"))[0].data == {
        "problem": "nothing_to_confirm"
    }
    admin.user_id = "1001"
    assert (await admin.push("/exempt confirm nope"))[0].kind == "bad_argument"
    [ok] = await admin.push(f"/exempt confirm {token}")
    assert ok.kind == "exempt_ok" and ok.data["exemption"].indicators == frozenset()
    [status] = await seller_chat.push("/status")
    assert status.data["report"].track.step == 4
    # Pressed twice: nothing more is recorded.
    assert (await admin.push(f"/exempt confirm {token}"))[0].kind == "bad_argument"
    assert len(await service.store.data.exemptions()) == 1


async def test_an_unconfirmed_exemption_expires_and_another_command_cancels_it(
    service: Service, clock: FixedClock
) -> None:
    admin = await admin_chat(service)
    [asked] = await admin.push("/exempt 2026-W46 seller:snel-speelgoed staking")
    clock.advance(minutes=11)
    assert (await admin.push(f"/exempt confirm {asked.data['token']}"))[0].kind == "bad_argument"
    [asked] = await admin.push("/exempt 2026-W46 FULFILMENT staking")
    await admin.push("/sellers")
    assert (await admin.push(f"/exempt confirm {asked.data['token']}"))[0].kind == "bad_argument"
    assert await service.store.data.exemptions() == []


async def test_an_exemption_is_removed_and_the_week_counts_again(service: Service) -> None:
    admin = await admin_chat(service)
    seller_chat = await chat_of(service, "snel-speelgoed", address="901")
    await admin.push("/exempt 2026-W46 fulfilment seller:snel-speelgoed PostNL staking")
    assert (await seller_chat.push("/status"))[0].data["report"].track.step == 4
    [record] = await service.store.data.exemption_records()
    [removed] = await admin.push(f"/exempt remove {record.id}")
    assert removed.kind == "exempt_removed" and removed.data["record"].id == record.id
    assert await service.store.data.exemptions() == []
    # Week 46 counts again: the suspension is back.
    assert (await seller_chat.push("/status"))[0].data["report"].track.step == 5
    assert (await admin.push(f"/exempt remove {record.id}"))[0].data == {
        "problem": "exempt_not_found",
        "given": str(record.id),
    }
    assert (await admin.push("/exempt remove"))[0].data == {"problem": "exempt_id", "given": ""}
    assert "Er is geen uitzondering #" in await admin.text(f"/exempt remove {record.id}")


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
    service: Service, command: str, problem: str, nl: str, en: str, fr: str
) -> None:
    admin = await admin_chat(service)
    [reply] = await admin.push(command)
    assert reply.kind == "bad_argument" and reply.data["problem"] == problem
    assert nl in await admin.text(command)
    await admin.push("/language en")
    assert en in await admin.text(command)
    await admin.push("/language fr")
    assert fr in await admin.text(command)
    assert await service.store.data.exemptions() == []


async def test_history_draws_what_is_stored_and_says_so(service: Service) -> None:
    talk = await chat_of(service, "snel-speelgoed")
    [reply] = await talk.push("/history 26")
    assert reply.data["weeks"] == 26 and reply.data["asked"] == 26
    [everything] = await talk.push("/history 500")
    stored = everything.data["weeks"]
    assert 26 < stored < 500 and everything.image is not None
    assert f"Je vroeg om 500 weken. Er zijn er {stored} opgeslagen" in await talk.text(
        "/history 500"
    )


async def test_a_seller_is_found_by_name_in_any_case_by_prefix_and_without_accents(
    service: Service, clock: FixedClock
) -> None:
    admin = await admin_chat(service)
    for query in ("Snel Speelgoed", "snel speelgoed", "SNEL", "snel-speel", "Snél Spéelgoed"):
        [reply] = await admin.push(f"/score {query}")
        assert (reply.kind, reply.data["seller"].id) == ("score", "snel-speelgoed"), query
    [chart] = await admin.push("/history Snel Speelgoed 6")
    assert (chart.kind, chart.data["weeks"]) == ("history", 6)
    await service.store.sellers.add("snel-tuin", "Snel Tuin", "nl", clock())
    [ask] = await admin.push("/status snel")
    assert ask.kind == "choose_seller" and [s.id for s in ask.choices] == [
        "snel-speelgoed",
        "snel-tuin",
    ]
    assert "Voor welke verkoper?" in await admin.text("/status snel")
    [ghost] = await admin.push("/score Snel Koffie")
    assert ghost.data == {"query": "Snel Koffie"}


async def test_plan_done_in_a_team_chat_marks_only_the_seller_that_owes_a_plan(
    service: Service,
) -> None:
    team = await chat_of(service, "zonnig-wonen", "snel-speelgoed", "boekenhoek")
    # The confirmation names the seller it marked.
    assert "verbeterplan voor Snel Speelgoed is ingediend" in await team.text("/plan done")
    [done] = team.replies[-1:]
    assert (done.kind, done.data["seller"].id) == ("plan_done", "snel-speelgoed")
    [status] = await team.push("/status snel-speelgoed")
    assert status.data["report"].track.plan == "submitted"
    # Nobody owes one any more: asked which, never marked for all.
    [ask] = await team.push("/plan done")
    assert ask.kind == "choose_seller" and ask.command == "plan done"
    assert ask.data["command"] == "plan done" and len(ask.choices) == 3


async def test_old_figures_say_which_weeks_are_missing(service: Service, clock: FixedClock) -> None:
    # 1 December is in week 49: the newest figures are of week 46.
    clock.now = clock.now.replace(month=12, day=1)
    talk = await chat_of(service, "zonnig-wonen")
    [score] = await talk.push("/score")
    assert [str(w) for w in score.data["missing"]] == ["2026-W47", "2026-W48"]
    for command in ("/score", "/status", "/goldlabel", "/digest"):
        text = await talk.text(command)
        assert "De cijfers van weken 47 en 48 van 2026 ontbreken nog. Dit is week 46" in text
        assert "/connect" in text
    await talk.push("/language en")
    assert "The figures of weeks 47 and 48 of 2026 are still missing. This is week 46" in (
        await talk.text("/status")
    )
    # On 19 November week 46 is the last complete week: nothing is missing, nothing said.
    clock.now = clock.now.replace(month=11, day=19)
    [current] = await talk.push("/score")
    assert current.data["missing"] == []
    assert "missing" not in await talk.text("/status")


async def test_an_overview_in_a_chat_with_several_sellers_is_one_line_each(
    service: Service,
) -> None:
    team = await chat_of(service, "zonnig-wonen", "snel-speelgoed", "boekenhoek", "kado-kelder")
    for command in ("score", "status"):
        [overview] = await team.push(f"/{command}")
        assert overview.kind == "overview" and overview.command == command
        assert [s.id for s in overview.choices] == [
            "boekenhoek",
            "kado-kelder",
            "snel-speelgoed",
            "zonnig-wonen",
        ]
    lines = (await team.text("/status")).splitlines()
    assert lines[0] == "🧭 Status · 4 verkopers"
    sellers = [line for line in lines if line and line[0] in "🟢🔴⚪"]
    assert len(sellers) == 4 and len(lines) <= 8
    # The riskiest first: the suspended shop.
    assert sellers[0] == (
        "🔴 Snel Speelgoed: 🔒 stap 5 van 7: tijdelijk gesloten, verbeterplan indienen"
        " · week 46 een week onder de norm"
    )
    # A risk beside the track is named, and its dot is red: the shop rating, a notice.
    assert sellers[1] == (
        "🔴 KadoKelder: ✅ geen verbetertraject · ⚠️ winkelcijfer in de gevarenzone · 📋 normmelding"
    )
    await team.push("/language en")
    assert "🔴 Snel Speelgoed: 🔒 step 5 of 7: closed temporarily" in await team.text("/status")
    # A named seller still gets the whole answer.
    assert (await team.push("/score snel"))[0].kind == "score"


async def test_history_reads_its_weeks_first_or_last_in_a_chat_of_several(
    service: Service,
) -> None:
    talk = await chat_of(service, "snel-speelgoed", "zonnig-wonen")
    # The number of weeks is carried into the buttons that ask which seller.
    [ask] = await talk.push("/history 26")
    assert ask.kind == "choose_seller" and ask.command == "history 26"
    [chart] = await talk.push(f"/{ask.command} {ask.choices[0].id}")
    assert chart.kind == "history" and chart.data["asked"] == 26
    for command in ("/history 3 snel", "/history snel 3"):
        [reply] = await talk.push(command)
        assert (reply.kind, reply.data["seller"].id, reply.data["weeks"]) == (
            "history",
            "snel-speelgoed",
            3,
        ), command
    # Out of range is refused as it is for a named seller; a number is never a name.
    for given in ("0", "500000", "-3", "1"):
        [refused] = await talk.push(f"/history {given}")
        assert (refused.kind, refused.data["given"]) == ("bad_argument", given)
        assert refused.data["problem"] == "history_weeks"
    await talk.push("/language en")
    assert "I cannot draw 1 week." in await talk.text("/history 1")
    assert "I cannot draw 0 weeks." in await talk.text("/history snel 0")


async def test_history_with_one_week_stored_draws_no_chart(
    service: Service, clock: FixedClock, tmp_path: Path
) -> None:
    await service.store.sellers.add("nieuw", "Nieuwe Winkel", "nl", clock())
    talk = await chat_of(service, "nieuw")
    week = tmp_path / "week.csv"
    week.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "nieuw,2026,46,RESPONSE_TIME,5,5,,\n",
        encoding="utf-8",
    )
    [ok] = await service.handle_upload(ChatContext(talk.chat, "1001"), week, "week.csv")
    assert ok.kind == "upload_ok"
    # One week is too few for a chart, whether asked for or all that is stored.
    for command in ("/history", "/history 2"):
        [reply] = await talk.push(command)
        assert reply.kind == "history" and reply.image is None
        assert (reply.data["weeks"], reply.data["low"]) == (1, 2)
    assert "er is pas 1 week aan cijfers opgeslagen" in await talk.text("/history 2")


async def test_connect_in_the_console_points_to_the_command_line(service: Service) -> None:
    chat = await service.chat_for("console", "local")
    await service.store.chats.link(chat.id, "zonnig-wonen", "test", service.clock())
    talk = Conversation(service, chat)
    talk.admin = True
    assert (await talk.push("/connect"))[0].data == {"reason": "console"}
    text = await talk.text("/connect")
    assert "normwacht seller credentials ID --client-id CID" in text
    assert "groep" not in text and "client ID" not in text
    # A Telegram group is told why, without blaming a client ID that was never entered.
    group = await chat_of(service, "zonnig-wonen", address="-100200")
    text = await group.text("/connect")
    assert "privéchat" in text and "client ID" not in text


async def test_start_without_a_code_asks_for_the_code(service: Service) -> None:
    talk = await chat_of(service)
    [reply] = await talk.push("/start")
    assert reply.kind == "who_are_you"
    assert "/start CODE" in await talk.text("/start")


async def test_connect_on_a_server_without_a_key_says_one_true_thing(service: Service) -> None:
    assert service.config.secret_key is None
    talk = await chat_of(service, "zonnig-wonen")
    await talk.push("/language en")
    said = await talk.text("/connect")
    assert "not set up on this server" in said and "Ask the operator" in said
    # Nothing the seller types could make it work here: no advice to try other credentials.
    assert "client ID and secret" not in said and "try again" not in said


async def test_only_a_seller_without_credentials_is_told_to_connect(
    service: Service, clock: FixedClock
) -> None:
    talk = await chat_of(service, "zonnig-wonen")
    await talk.push("/language en")
    # Two weeks on, the last week's figures are missing.
    clock.advance(days=14)
    assert "/connect" in await talk.text("/status")
    await service.store.sellers.set_credentials("zonnig-wonen", b"sealed-id", b"sealed", clock())
    said = await talk.text("/status")
    assert "still missing" in said and "/connect" not in said
    assert "Your bol.com API connection brings them in" in said
    assert "/connect" not in await talk.text("/score")
    # Credentials bol.com refused are no connection: setting new ones is the way.
    await service.store.sellers.record_credential_failure("zonnig-wonen", "bad", clock())
    assert "/connect" in await talk.text("/status")


async def test_score_and_status_of_several_sellers_each_say_their_own_thing(
    service: Service,
) -> None:
    talk = await chat_of(service, "zonnig-wonen", "boekenhoek")
    await talk.push("/language en")
    names = [s.name for s in await service.store.sellers.some(["zonnig-wonen", "boekenhoek"])]

    def lines_of(text: str) -> list[str]:
        return [line for line in text.splitlines() if any(f"{n}:" in line for n in names)]

    score_lines = lines_of(await talk.text("/score"))
    status_lines = lines_of(await talk.text("/status"))
    # /score: each seller's figures; /status: where each seller's track stands.
    assert len(score_lines) == 2 and all("On-time delivery" in line for line in score_lines)
    assert all("%" in line and "track" not in line for line in score_lines)
    assert len(status_lines) == 2 and all("%" not in line for line in status_lines)
    assert all("track" in line or "step" in line for line in status_lines)


async def test_the_digest_tells_only_a_seller_without_credentials_to_connect(
    service: Service, clock: FixedClock
) -> None:
    from bot.notices.digest import digest_entries
    from messages import render

    async def digest() -> str:
        seller = await service.store.sellers.get("zonnig-wonen")
        assert seller is not None
        entries = await digest_entries(service, [seller])
        return render("digest", {"entries": entries, "team": False}, fmt="text", lang="en").text

    clock.advance(days=14)  # the last two weeks' figures are missing
    assert "/connect" in await digest()
    await service.store.sellers.set_credentials("zonnig-wonen", b"sealed-id", b"sealed", clock())
    said = await digest()
    assert "still missing" in said and "/connect" not in said


async def test_the_same_exemption_twice_is_refused_naming_the_first(service: Service) -> None:
    admin = await admin_chat(service)
    [ok] = await admin.push("/exempt 2026-W46 fulfilment seller:snel-speelgoed PostNL staking")
    assert ok.kind == "exempt_ok"
    [first] = await service.store.data.exemption_records()
    [again] = await admin.push("/exempt 2026-W46 FULFILMENT seller:snel-speelgoed andere reden")
    assert (again.kind, again.data) == (
        "bad_argument",
        {"problem": "exempt_exists", "given": str(first.id)},
    )
    assert f"Uitzondering #{first.id} geldt al voor deze week" in await admin.text(
        "/exempt 2026-W46 fulfilment seller:snel-speelgoed PostNL staking"
    )
    # One for everyone, confirmed, and then asked again: refused before any confirmation.
    [asked] = await admin.push("/exempt 2026-W47 Storing bij bol.com")
    [confirmed] = await admin.push(f"/exempt confirm {asked.data['token']}")
    assert confirmed.kind == "exempt_ok"
    [twice] = await admin.push("/exempt 2026-W47 Storing")
    assert twice.data["problem"] == "exempt_exists"
    assert len(await service.store.data.exemptions()) == 2
