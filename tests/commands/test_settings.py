"""/language, /mute and /unmute."""

from __future__ import annotations

import pytest

from bot.commands.service import Service
from tests.conftest import ChatOf

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
