"""/connect: bol.com credentials asked for in a private chat, kept only encrypted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands.service import Service
from bot.store import Store
from tests.conftest import ChatOf, Conversation, FixedClock, make_config, open_chat

pytestmark = pytest.mark.both_engines


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
    talk = await open_chat(service, "zonnig-wonen")
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


async def test_connect_only_in_a_private_chat_and_only_for_who_began_it(
    sample_store: Store, tmp_path: Path, clock: FixedClock
) -> None:
    from bot.bol.credentials import new_key

    config = make_config(tmp_path, NORMWACHT_SECRET_KEY=new_key())

    async def check(client_id: str, secret: str) -> str | None:
        return None

    service = Service(sample_store, config, clock, check_credentials=check)
    group = await open_chat(service, "zonnig-wonen", address="-100200")
    assert (await group.push("/connect"))[0].data == {"reason": "private_only"}
    talk = await open_chat(service, "zonnig-wonen")
    await talk.push("/connect")
    talk.user_id = "someone-else"
    assert [r.kind for r in await talk.push("client-1")] == ["help"]  # not their exchange
    talk.user_id = "1001"
    await talk.push("/connect")
    clock.advance(minutes=11)
    assert [r.kind for r in await talk.push("client-1")] == ["help"]  # too late: closed
    assert await sample_store.sellers.credentials("zonnig-wonen") is None


async def test_connect_in_the_console_points_to_the_command_line(
    chat_of: ChatOf, service: Service
) -> None:
    chat = await service.chat_for("console", "local")
    await service.store.chats.link(chat.id, "zonnig-wonen", "test", service.clock())
    talk = Conversation(service, chat)
    talk.admin = True
    assert (await talk.push("/connect"))[0].data == {"reason": "console"}
    text = await talk.text("/connect")
    assert "normwacht seller credentials ID --client-id CID" in text
    assert "groep" not in text and "client ID" not in text
    # A Telegram group is told why, without blaming a client ID that was never entered.
    group = await chat_of("zonnig-wonen", address="-100200")
    text = await group.text("/connect")
    assert "privéchat" in text and "client ID" not in text


async def test_connect_on_a_server_without_a_key_says_one_true_thing(
    chat_of: ChatOf, service: Service
) -> None:
    assert service.config.secret_key is None
    talk = await chat_of("zonnig-wonen")
    await talk.push("/language en")
    said = await talk.text("/connect")
    assert "not set up on this server" in said and "Ask the operator" in said
    # Nothing the seller types could make it work here: no advice to try other credentials.
    assert "client ID and secret" not in said and "try again" not in said
