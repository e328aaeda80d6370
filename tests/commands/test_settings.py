"""/language, /mute and /unmute."""

from __future__ import annotations

import pytest

from bot.commands.service import Service
from bot.store import Chat
from tests.conftest import ChatOf, Conversation, rendered

pytestmark = pytest.mark.both_engines


async def test_language_and_mute_are_kept_per_chat(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of("zonnig-wonen")
    assert (await talk.push("/language en"))[0].data == {"language": "en"}
    assert [r.kind for r in await talk.push("/mute")] == ["muted"]
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and chat.language == "en" and chat.muted
    await talk.push("/unmute")
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and not chat.muted


async def test_language_fr_is_accepted_and_others_are_not(
    chat_of: ChatOf, service: Service
) -> None:
    talk = await chat_of("zonnig-wonen")
    assert (await talk.push("/language FR"))[0].data == {"language": "fr"}
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and chat.language == "fr"
    refused = await talk.push("/language de")
    assert "language_set" not in [r.kind for r in refused]
    chat = await service.store.chats.get(talk.chat.id)
    assert chat is not None and chat.language == "fr"


ASKED = ("/help", "/score", "/goldlabel", "/status", "/plan", "/digest", "/sellers", "/mute")


async def test_every_command_answers_in_dutch_then_english(
    chat_of: ChatOf, service: Service
) -> None:
    alice = await chat_of("snel-speelgoed")
    dutch = {command: await alice.text(command) for command in ASKED}
    dutch["/unmute"] = await alice.text("/unmute")
    dutch["/connect"] = await alice.text("/connect")
    dutch["/plan done"] = await alice.text("/plan done")

    assert await alice.text("/language en") == rendered("language_set", {"language": "en"}, "en")
    assert (await chat(service, alice)).language == "en"
    english = {command: await alice.text(command) for command in dutch}

    assert dutch["/help"] == rendered("help", {"admin": False})
    assert english["/help"] == rendered("help", {"admin": False}, "en")
    for command in dutch:
        assert dutch[command] and english[command], command
        assert dutch[command] != english[command], command
    assert "Snel Speelgoed" in dutch["/score"] and "Snel Speelgoed" in english["/score"]
    assert (await chat(service, alice)).muted is False


async def test_language_fr_switches_a_chat_to_french(chat_of: ChatOf) -> None:
    alice = await chat_of("snel-speelgoed")
    assert await alice.text("/language fr") == rendered("language_set", {"language": "fr"}, "fr")
    assert "Langue réglée sur français" in await alice.text("/language fr")
    score = await alice.text("/score")
    assert "Scores de performance" in score and "Snel Speelgoed" in score


async def chat(service: Service, talk: Conversation) -> Chat:
    """The conversation's chat as stored now."""
    fresh = await service.store.chats.get(talk.chat.id)
    assert fresh is not None
    return fresh
