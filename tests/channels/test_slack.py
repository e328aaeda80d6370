"""The Slack channel end to end: the real bolt AsyncApp, signed requests over HTTP, and the
fake Slack Web API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.channels.slack.adapter import SlackChannel, slack_sender
from bot.channels.slack.sender import PLAN_ACTION_ID, PLAN_BLOCK_ID, SlackSender
from bot.commands.service import Service
from bot.config import Config, ConfigError
from bot.notices.check import run_check
from bot.notices.digest import plan_digests
from bot.outbox.errors import Refused, RetryLater, Transient, Unreachable
from bot.outbox.pacing import SendLimits
from bot.outbox.worker import DeliveryWorker
from bot.store import Store
from messages import LANGUAGES, render
from norms import IsoWeek
from tests.conftest import FixedClock, make_config
from tests.fakes._server import FakeServer
from tests.fakes.slack import FakeSlack

JSON = dict[str, Any]
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ADMIN = "UADMIN"  # NORMWACHT_ADMINS
BOSS = "UBOSS"  # a workspace admin (users.info)
MEMBER = "UMEMBER"  # neither
TEAM = "CTEAM"
WEEK_46 = IsoWeek(2026, 46)
# SendLimits is the delivery worker's business (tested there); here it would only add waits.
FAST = {p: SendLimits(per_second=1000.0, per_chat_interval_s=0.0) for p in ("slack", "console")}


class RespondSink:
    """Slack's ``response_url``: what the bot answered only to the one who asked."""

    def __init__(self) -> None:
        self.bodies: list[JSON] = []

    async def receive(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.Response(text="ok")


@pytest.fixture
def responses() -> RespondSink:
    return RespondSink()


@pytest.fixture
async def slack(responses: RespondSink) -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.app.router.add_post("/respond", responses.receive)
    fake.add_user(BOSS, is_admin=True)
    fake.add_user(MEMBER)
    async with fake:
        yield fake


@pytest.fixture
def config(tmp_path: Path, slack: FakeSlack) -> Config:
    return make_config(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=f"{slack.url}/api/",
        NORMWACHT_ADMINS=f"slack:{ADMIN}",
    )


@pytest.fixture
def service(sample_store: Store, config: Config, clock: FixedClock) -> Service:
    return Service(sample_store, config, clock)


@pytest.fixture
async def channel(
    service: Service, config: Config, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[SlackChannel]:
    app = SlackChannel(service, config, host="127.0.0.1", port=0)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
    # Work after ack() logs its failures instead of raising: none may have happened.
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == [], [r.getMessage() for r in failures]


# --- helpers ---------------------------------------------------------------------------


async def post_signed(
    channel: SlackChannel,
    body: str,
    content_type: str,
    *,
    age_s: float = 0.0,
    secret: str = SECRET,
) -> tuple[int, str]:
    """POST ``body`` to ``/slack/events`` signed as Slack does; the status and the answer."""
    timestamp = str(int(time.time() - age_s))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    url = f"http://127.0.0.1:{channel.port}/slack/events"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body.encode(), headers=headers) as response,
    ):
        return response.status, await response.text()


def command_body(slack: FakeSlack, text: str, user: str, channel_id: str = TEAM) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": slack.team_id,
            "team_domain": "normwacht",
            "channel_id": channel_id,
            "channel_name": "webshops",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/normwacht",
            "text": text,
            "api_app_id": "A0000001",
            "response_url": f"{slack.url}/respond",
            "trigger_id": "1.2.3",
        }
    )


async def slash(
    channel: SlackChannel,
    slack: FakeSlack,
    text: str,
    user: str = MEMBER,
    channel_id: str = TEAM,
) -> list[JSON]:
    """Run ``/normwacht text``; the messages posted in the channel because of it."""
    before = len(slack.posted_messages(channel_id))
    status, answer = await post_signed(
        channel, command_body(slack, text, user, channel_id), "application/x-www-form-urlencoded"
    )
    assert (status, answer) == (200, "")  # acknowledged at once, the answer comes after
    await channel.settle()
    return slack.posted_messages(channel_id)[before:]


async def click(
    channel: SlackChannel,
    slack: FakeSlack,
    message: JSON,
    action: JSON,
    user: str = MEMBER,
    channel_id: str = TEAM,
) -> None:
    """Press a button of ``message``."""
    payload = {
        "type": "block_actions",
        "team": {"id": slack.team_id, "domain": "normwacht"},
        "user": {"id": user, "username": user.lower(), "team_id": slack.team_id},
        "api_app_id": "A0000001",
        "token": "legacy",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel_id},
        "trigger_id": "1.2.3",
        "channel": {"id": channel_id, "name": "webshops"},
        "message": message,
        "response_url": f"{slack.url}/respond",
        "actions": [{**action, "type": "button", "action_ts": str(time.time())}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    status, _ = await post_signed(channel, body, "application/x-www-form-urlencoded")
    assert status == 200
    await channel.settle()


async def until(check: Callable[[], Any], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("Slack was not called in time")
        await asyncio.sleep(0.005)


def block_texts(message: JSON) -> str:
    """Every text of a message's blocks, one string (for ``in`` checks)."""
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


def buttons(message: JSON) -> list[JSON]:
    return [
        {"action_id": e["action_id"], "block_id": b.get("block_id"), "value": e["value"]}
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def subscribe(store: Store, clock: FixedClock, channel_id: str, *sellers: str) -> int:
    chat = await store.chats.get_or_create("slack", channel_id, language="nl", now=clock())
    for seller in sellers:
        await store.chats.link(chat.id, seller, "test", clock())
    return chat.id


# --- HTTP: signatures and health -------------------------------------------------------


async def test_healthz(channel: SlackChannel) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{channel.port}/healthz") as response,
    ):
        assert response.status == 200
        assert (await response.json())["ok"] is True


@pytest.mark.parametrize(
    ("secret", "age_s"), [("forged-secret", 0.0), (SECRET, 301.0)], ids=["forged", "stale"]
)
async def test_unsigned_or_stale_requests_are_rejected(
    channel: SlackChannel, slack: FakeSlack, secret: str, age_s: float
) -> None:
    body = command_body(slack, "subscribe snel-speelgoed", ADMIN)
    status, _ = await post_signed(
        channel, body, "application/x-www-form-urlencoded", secret=secret, age_s=age_s
    )
    assert status == 401
    await channel.settle()
    assert slack.posted_messages() == []
    assert await channel.store.chats.find("slack", TEAM) is None


async def post_raw(channel: SlackChannel, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST raw bytes to ``/slack/events`` with the given headers; the status and the answer."""
    url = f"http://127.0.0.1:{channel.port}/slack/events"
    headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status, await response.text()


def signature_of(timestamp: str, body: bytes, secret: str = SECRET) -> str:
    """Slack's v0 signature of raw bytes (slack_sdk's helper decodes them first)."""
    mac = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + mac.hexdigest()


async def test_a_timestamp_that_is_no_number_is_refused_without_a_traceback(
    channel: SlackChannel, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    body = command_body(slack, "subscribe snel-speelgoed", ADMIN).encode()
    for timestamp in ("abc", "1e9", "-5", "9" * 400):
        headers = {
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature_of(timestamp, body),
        }
        assert await post_raw(channel, body, headers) == (
            401,
            "the timestamp is not Unix seconds",
        ), timestamp
    await channel.settle()
    assert slack.posted_messages() == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_body_that_is_not_utf8_is_refused_signed_or_not(
    channel: SlackChannel, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    body = command_body(slack, "score", MEMBER).encode() + b"&x=\xff\xfe"
    timestamp = str(int(time.time()))
    unsigned = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=00"}
    assert await post_raw(channel, body, unsigned) == (401, "the signature does not match")
    signed = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature_of(timestamp, body),
    }
    assert await post_raw(channel, body, signed) == (400, "the body is not UTF-8")
    await channel.settle()
    assert slack.posted_messages() == []
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_a_signed_request_replayed_within_the_window_is_refused(
    channel: SlackChannel, slack: FakeSlack, clock: FixedClock
) -> None:
    await subscribe(channel.store, clock, TEAM, "snel-speelgoed")
    body = command_body(slack, "score", MEMBER).encode()
    timestamp = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature_of(timestamp, body),
    }
    assert await post_raw(channel, body, headers) == (200, "")
    await channel.settle()
    assert await post_raw(channel, body, headers) == (401, "the request was seen before (a replay)")
    # Slack's own retry of an answered request carries the same signature: no more retries.
    url = f"http://127.0.0.1:{channel.port}/slack/events"
    retry = {
        **headers,
        "X-Slack-Retry-Num": "1",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=retry) as r:
        assert (r.status, r.headers.get("X-Slack-No-Retry")) == (401, "1")
    await channel.settle()
    assert len(slack.posted_messages(TEAM)) == 1  # answered once


async def test_formatting_in_a_seller_name_is_shown_literally(
    channel: SlackChannel, slack: FakeSlack, clock: FixedClock
) -> None:
    await channel.store.db.execute(
        "UPDATE sellers SET name = ? WHERE id = 'snel-speelgoed'",
        ("*bold* _it_ ~strike~ `code`",),
    )
    await subscribe(channel.store, clock, TEAM, "snel-speelgoed")
    [answer] = await slash(channel, slack, "score")
    z = "\u200b"
    literal = f"{z}*{z}bold{z}*{z} {z}_{z}it{z}_{z} {z}~{z}strike{z}~{z} {z}`{z}code{z}`{z}"
    texts = [answer["text"], *(json.dumps(b, ensure_ascii=False) for b in answer["blocks"])]
    assert all("*bold*" not in text and "`code`" not in text for text in texts)
    assert literal in answer["text"]


def test_http_mode_needs_a_signing_secret(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"^SLACK_SIGNING_SECRET: required for Slack in HTTP mode"
    ):
        make_config(tmp_path, SLACK_BOT_TOKEN="xoxb-test")


class SocketModeServer(FakeServer):
    """Slack's Socket Mode end: a WebSocket that says hello and sends envelopes."""

    def __init__(self) -> None:
        super().__init__()
        self.app.router.add_get("/ws", self._socket)
        self.connected = asyncio.Event()
        self.acks: list[JSON] = []
        self._ws: web.WebSocketResponse | None = None

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return ws

    async def send(self, envelope: JSON) -> None:
        assert self._ws is not None
        await self._ws.send_json(envelope)


async def test_socket_mode_answers_a_slash_command(
    tmp_path: Path, slack: FakeSlack, service: Service, clock: FixedClock
) -> None:
    config = make_config(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_APP_TOKEN="xapp-test",
        SLACK_API_URL=f"{slack.url}/api/",
    )
    await subscribe(service.store, clock, TEAM, "boekenhoek")
    async with SocketModeServer() as server:
        slack.add_response("apps.connections.open", {"ok": True, "url": f"{server.url}/ws"})
        app = SlackChannel(Service(service.store, config, clock), config)
        await app.start()
        try:
            await asyncio.wait_for(server.connected.wait(), 2.0)
            payload = dict(parse_qsl(command_body(slack, "score", MEMBER)))
            await server.send(
                {
                    "envelope_id": "env-1",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": payload,
                }
            )
            await until(lambda: slack.posted_messages(TEAM))
            # The ack travels on its own task: on a busy machine it may come after the post.
            await until(lambda: server.acks)
            await app.settle()
        finally:
            await app.stop()
    assert [a["envelope_id"] for a in server.acks] == ["env-1"]
    [answer] = slack.posted_messages(TEAM)
    assert "Boekenhoek" in answer["text"]


# --- the slash command -----------------------------------------------------------------


async def test_score_answered_in_the_channel(
    channel: SlackChannel, slack: FakeSlack, clock: FixedClock
) -> None:
    await subscribe(channel.store, clock, TEAM, "snel-speelgoed")
    [answer] = await slash(channel, slack, "score")
    assert "Snel Speelgoed" in answer["text"]
    assert answer["blocks"][0]["type"] == "header"
    report = await channel.service.report_for(await _seller(channel, "snel-speelgoed"))
    expected = render(
        "score",
        {"seller": _ref("snel-speelgoed", "Snel Speelgoed"), "report": report},
        fmt="slack",
        lang="nl",
    )
    assert (answer["text"], answer["blocks"]) == (expected.text, expected.blocks)


async def test_help_goldlabel_status_digest(
    channel: SlackChannel, slack: FakeSlack, clock: FixedClock
) -> None:
    await subscribe(channel.store, clock, TEAM, "boekenhoek")
    for text in ("", "help", "goldlabel", "status boekenhoek", "digest"):
        answers = await slash(channel, slack, text)
        assert len(answers) == 1, text
        assert answers[0]["text"].strip() and answers[0]["blocks"], text


async def test_a_channel_sees_only_its_sellers(
    channel: SlackChannel, slack: FakeSlack, responses: RespondSink, clock: FixedClock
) -> None:
    [unlinked] = await slash(channel, slack, "score")
    assert unlinked["text"] == render("who_are_you", {}, fmt="slack", lang="nl").text

    await subscribe(channel.store, clock, TEAM, "zonnig-wonen")
    [listed] = await slash(channel, slack, "sellers")
    assert "Zonnig Wonen" in listed["text"] and "Snel Speelgoed" not in listed["text"]
    [refused] = await slash(channel, slack, "score snel-speelgoed")
    assert "Snel Speelgoed" not in refused["text"]
    assert (
        refused["text"]
        == render("unknown_seller", {"query": "snel-speelgoed"}, fmt="slack", lang="nl").text
    )

    # An operator sees every seller, but only the operator: the channel follows none.
    assert await slash(channel, slack, "sellers", user=ADMIN, channel_id="CADMIN") == []
    [everyone] = responses.bodies
    assert everyone["response_type"] == "ephemeral"
    assert all(name in everyone["text"] for name in ("Zonnig Wonen", "Tuin &amp; Co"))


async def test_a_workspace_admin_only_subscribes(
    channel: SlackChannel, slack: FakeSlack, responses: RespondSink, clock: FixedClock
) -> None:
    """A Slack workspace admin outside NORMWACHT_ADMINS may (un)subscribe channels, and is
    otherwise a member like any other: no operator commands, no other sellers."""
    not_admin = render("not_admin", {}, fmt="slack", lang="nl").text
    [done] = await slash(channel, slack, "subscribe zonnig-wonen", user=BOSS)
    assert "volgt nu *Zonnig Wonen*" in done["text"]

    for text in ("exempt", "exempt 2026-W45 FULFILMENT staking", "linkcode zonnig-wonen"):
        [refused] = await slash(channel, slack, text, user=BOSS)
        assert refused["text"] == not_admin, text
    assert await channel.store.data.exemptions() == []
    rows = await channel.store.db.fetchall("SELECT * FROM link_codes")
    assert rows == []

    [listed] = await slash(channel, slack, "sellers", user=BOSS)
    assert "Zonnig Wonen" in listed["text"] and "Snel Speelgoed" not in listed["text"]
    [other] = await slash(channel, slack, "score snel-speelgoed", user=BOSS)
    assert "Snel Speelgoed" not in other["text"]
    assert (
        other["text"]
        == render("unknown_seller", {"query": "snel-speelgoed"}, fmt="slack", lang="nl").text
    )
    [unlinked] = await slash(channel, slack, "score", user=BOSS, channel_id="CEMPTY")
    assert unlinked["text"] == render("who_are_you", {}, fmt="slack", lang="nl").text
    assert responses.bodies == []


async def test_an_operator_sees_other_sellers_only_privately(
    channel: SlackChannel, slack: FakeSlack, responses: RespondSink, clock: FixedClock
) -> None:
    await subscribe(channel.store, clock, TEAM, "zonnig-wonen")
    [own] = await slash(channel, slack, "score", user=ADMIN)
    assert "Zonnig Wonen" in own["text"]  # the channel's own seller: in the channel

    for text in ("score snel-speelgoed", "status snel-speelgoed", "history snel-speelgoed"):
        assert await slash(channel, slack, text, user=ADMIN) == [], text
    assert slack.files == {}  # a chart would be visible to the channel: none uploaded
    assert [b["response_type"] for b in responses.bodies] == ["ephemeral"] * 3
    assert all("Snel Speelgoed" in b["text"] for b in responses.bodies)

    # Link codes and exemptions are the operator's business, even for the own seller.
    responses.bodies.clear()
    assert await slash(channel, slack, "linkcode zonnig-wonen", user=ADMIN) == []
    assert await slash(channel, slack, "exempt", user=ADMIN) == []
    code, exemptions = responses.bodies
    assert code["response_type"] == exemptions["response_type"] == "ephemeral"
    assert "Zonnig Wonen" in code["text"]

    # In a channel that follows no seller the choice, and the chosen answer, stay private.
    responses.bodies.clear()
    assert await slash(channel, slack, "goldlabel", user=ADMIN, channel_id="CEMPTY") == []
    [question] = responses.bodies
    assert question["response_type"] == "ephemeral" and "Boekenhoek" in question["text"]
    [choice] = [b for b in buttons(question) if b["value"] == "goldlabel boekenhoek"]
    message = {"type": "message", "ts": "1.000001", "text": question["text"]}
    await click(channel, slack, message, choice, user=ADMIN, channel_id="CEMPTY")
    assert slack.posted_messages("CEMPTY") == []
    answer = responses.bodies[-1]
    assert answer["response_type"] == "ephemeral" and "Boekenhoek" in answer["text"]
    assert slack.posted_messages(TEAM) == [own]


async def test_an_exemption_for_everyone_is_confirmed_with_a_button(
    channel: SlackChannel, slack: FakeSlack, responses: RespondSink, clock: FixedClock
) -> None:
    assert await slash(channel, slack, "exempt 2026-W46 Storing bij bol.com", user=ADMIN) == []
    [question] = responses.bodies
    assert question["response_type"] == "ephemeral" and "alle verkopers" in question["text"]
    assert await channel.store.data.exemptions() == []
    [confirm] = buttons(question)
    [label] = [
        e["text"]["text"]
        for b in question["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert label == "✅ Ja, vastleggen" and confirm["value"].startswith("exempt confirm ")
    message = {"type": "message", "ts": "1.000002", "text": question["text"]}
    pressed = {k: confirm[k] for k in ("action_id", "value")}
    await click(channel, slack, message, pressed, user=MEMBER)  # not an admin: refused
    assert await channel.store.data.exemptions() == []
    await click(channel, slack, message, pressed, user=ADMIN)
    answer = responses.bodies[-1]
    assert answer["response_type"] == "ephemeral" and "Uitzondering vastgelegd" in answer["text"]
    [exemption] = await channel.store.data.exemptions()
    assert exemption.reason == "Storing bij bol.com"


async def test_several_sellers_ask_which_with_buttons(
    channel: SlackChannel, slack: FakeSlack, clock: FixedClock
) -> None:
    await subscribe(channel.store, clock, TEAM, "zonnig-wonen", "tuin-en-co")
    [question] = await slash(channel, slack, "status")
    choices = buttons(question)
    assert [c["value"] for c in choices] == ["status tuin-en-co", "status zonnig-wonen"]

    before = len(slack.posted_messages(TEAM))
    await click(
        channel, slack, question, {k: choices[0][k] for k in ("action_id", "block_id", "value")}
    )
    [answer] = slack.posted_messages(TEAM)[before:]
    assert "Tuin &amp; Co" in answer["text"]


async def test_history_uploads_the_chart(
    channel: SlackChannel, slack: FakeSlack, clock: FixedClock
) -> None:
    await subscribe(channel.store, clock, TEAM, "snel-speelgoed")
    assert await slash(channel, slack, "history 6") == []
    [upload] = slack.files.values()
    assert upload.completed and upload.channel_id == TEAM
    assert upload.filename == "history-snel-speelgoed.png"
    assert upload.content is not None and upload.content.startswith(b"\x89PNG")
    assert upload.initial_comment and "Snel Speelgoed" in upload.initial_comment


async def test_where_the_bot_cannot_post_only_the_asker_sees_the_answer(
    channel: SlackChannel, slack: FakeSlack, responses: RespondSink, clock: FixedClock
) -> None:
    await subscribe(channel.store, clock, "CSECRET", "boekenhoek")
    slack.set_channel_error("CSECRET", "not_in_channel")
    assert await slash(channel, slack, "score", channel_id="CSECRET") == []
    [private] = responses.bodies
    assert private["response_type"] == "ephemeral"
    assert "Boekenhoek" in private["text"] and private["blocks"]


# --- subscriptions ---------------------------------------------------------------------


async def test_subscribe_and_unsubscribe_are_for_admins(
    channel: SlackChannel, slack: FakeSlack
) -> None:
    store = channel.store
    [refused] = await slash(channel, slack, "subscribe snel-speelgoed", user=MEMBER)
    assert refused["text"] == render("not_admin", {}, fmt="slack", lang="nl").text
    chat = await store.chats.find("slack", TEAM)
    assert chat is not None and await store.chats.sellers_of(chat.id) == []

    [done] = await slash(channel, slack, "subscribe Snel Speelgoed", user=ADMIN)
    assert "volgt nu *Snel Speelgoed*" in done["text"]
    assert [s.id for s in await store.chats.sellers_of(chat.id)] == ["snel-speelgoed"]

    [unknown] = await slash(channel, slack, "subscribe nobody", user=ADMIN)
    assert (
        unknown["text"]
        == render("unknown_seller", {"query": "nobody"}, fmt="slack", lang="nl").text
    )
    [usage] = await slash(channel, slack, "unsubscribe", user=BOSS)
    assert "/normwacht unsubscribe" in usage["text"]

    [refused] = await slash(channel, slack, "unsubscribe snel-speelgoed", user=MEMBER)
    assert await store.chats.sellers_of(chat.id) != []
    # A workspace admin (users.info) may, without being in NORMWACHT_ADMINS.
    [gone] = await slash(channel, slack, "unsubscribe snel-speelgoed", user=BOSS)
    assert "volgt *Snel Speelgoed* (`snel-speelgoed`) niet meer" in gone["text"]
    assert await store.chats.sellers_of(chat.id) == []


async def test_subscribe_finds_a_seller_as_the_commands_do(
    channel: SlackChannel, slack: FakeSlack, clock: FixedClock
) -> None:
    """Accents, dashes and a unique beginning are folded as in ``/score``; a beginning
    that several sellers share names none."""
    store = channel.store
    await store.sellers.add("cafe-olbaum", "Café Ölbaum", "nl", clock())
    [done] = await slash(channel, slack, "subscribe cafe olbaum", user=ADMIN)
    assert "volgt nu *Café Ölbaum*" in done["text"]
    [done] = await slash(channel, slack, "subscribe kado", user=ADMIN)
    assert "volgt nu *KadoKelder*" in done["text"]
    chat = await store.chats.find("slack", TEAM)
    assert chat is not None
    linked = [s.id for s in await store.chats.sellers_of(chat.id)]
    assert sorted(linked) == ["cafe-olbaum", "kado-kelder"]
    await store.sellers.add("snel-koffie", "Snel Koffie", "nl", clock())
    [both] = await slash(channel, slack, "subscribe snel", user=ADMIN)
    assert both["text"] == render("unknown_seller", {"query": "snel"}, fmt="slack", lang="nl").text
    assert sorted(s.id for s in await store.chats.sellers_of(chat.id)) == linked


async def test_subscribing_a_channel_without_the_bot_asks_for_an_invite(
    channel: SlackChannel, slack: FakeSlack, responses: RespondSink
) -> None:
    slack.add_channel("COUT", is_member=False)
    slack.set_channel_error("COUT", "not_in_channel")
    await slash(channel, slack, "subscribe boekenhoek", user=ADMIN, channel_id="COUT")
    [private] = responses.bodies
    assert "/invite @Normwacht" in private["text"]


async def test_a_french_channel_gets_the_slack_only_texts_in_french(
    channel: SlackChannel, slack: FakeSlack, config: Config
) -> None:
    await slash(channel, slack, "language fr", user=ADMIN)
    [done] = await slash(channel, slack, "subscribe Snel Speelgoed", user=ADMIN)
    assert done["text"].startswith("Ce canal suit désormais *Snel Speelgoed* (`snel-speelgoed`)")
    [usage] = await slash(channel, slack, "unsubscribe", user=ADMIN)
    assert "`/normwacht unsubscribe BOUTIQUE`" in usage["text"]
    body: JSON = {
        "text": "Suspension",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
        "meta": {
            "kind": "alerts",
            "seller_id": "snel-speelgoed",
            "sections": ["suspension@2"],
            "language": "fr",
        },
    }
    async with slack_sender(config) as sender:
        await sender.send("C1", body)
    [posted] = slack.posted_messages("C1")
    assert posted["blocks"][-1]["elements"][0]["text"]["text"] == "Plan soumis"


def test_every_slack_only_text_is_in_every_language() -> None:
    from babel.messages.pofile import read_po

    from bot.channels.slack.blocks import TEXTS
    from bot.channels.slack.sender import PLAN_BUTTON
    from messages.i18n import DOMAIN, LOCALE_DIR

    for lang in LANGUAGES:
        with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
            catalog = read_po(po)
        for text in [*TEXTS.values(), PLAN_BUTTON]:
            message = catalog.get(text)
            assert message is not None and message.string, (lang, text)


# --- alerts, digests and the plan button -----------------------------------------------


async def test_alert_and_digest_as_block_kit_and_the_plan_button(
    channel: SlackChannel, slack: FakeSlack, service: Service, config: Config, clock: FixedClock
) -> None:
    store = channel.store
    await slash(channel, slack, "subscribe snel-speelgoed", user=ADMIN)
    await run_check(store, config.policy, WEEK_46, now=clock())
    worker = DeliveryWorker(store, {"slack": channel.sender}, config, clock, pacing=FAST)
    assert await worker.run_once() == 1

    alert = slack.posted_messages(TEAM)[-1]
    assert alert["text"].strip() and alert["blocks"][0]["type"] == "header"
    assert len(alert["blocks"]) <= 50
    [button] = buttons(alert)
    assert button == {
        "action_id": PLAN_ACTION_ID,
        "block_id": PLAN_BLOCK_ID,
        "value": "snel-speelgoed",
    }

    await plan_digests(service, now=clock())
    assert await worker.run_once() == 1
    digest = slack.posted_messages(TEAM)[-1]
    assert digest["blocks"] and "Snel Speelgoed" in block_texts(digest)
    assert buttons(digest) == []

    await click(channel, slack, alert, button)
    report = await service.report_for(await _seller(channel, "snel-speelgoed"))
    assert report is not None and report.track is not None
    assert report.track.plan == "submitted"
    rows = await store.db.fetchall("SELECT status, actor FROM plan_events")
    assert [(r["status"], r["actor"]) for r in rows] == [("submitted", f"slack:{MEMBER}")]

    [update] = slack.calls_to("chat.update")
    assert update.params["ts"] == alert["ts"]
    updated = slack.posted_messages(TEAM)[-2]
    assert buttons(updated) == []
    assert updated["blocks"][-1] == {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": f"Plan als ingediend gemarkeerd door <@{MEMBER}> om 10:00"}
        ],
    }


async def test_channel_not_found_deactivates_the_destination(
    channel: SlackChannel, slack: FakeSlack, config: Config, clock: FixedClock
) -> None:
    chat_id = await subscribe(channel.store, clock, "CGONE", "snel-speelgoed")
    slack.set_channel_error("CGONE", "channel_not_found")
    await run_check(channel.store, config.policy, WEEK_46, now=clock())
    worker = DeliveryWorker(channel.store, {"slack": channel.sender}, config, clock, pacing=FAST)
    assert await worker.run_once() == 1  # only the operator's notice went out
    chat = await channel.store.chats.get(chat_id)
    assert chat is not None and not chat.active and chat.inactive_reason == "channel_not_found"
    [notice] = slack.posted_messages(ADMIN)  # a DM to the admin of NORMWACHT_ADMINS
    assert "CGONE" in notice["text"]
    assert slack.posted_messages("CGONE") == []


async def test_a_429_is_retried(
    channel: SlackChannel,
    slack: FakeSlack,
    config: Config,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # slack_sdk waits Retry-After plus up to a second of jitter: keep the test quick.
    monkeypatch.setattr("slack_sdk.http_retry.builtin_async_handlers.random.random", lambda: 0.0)
    await subscribe(channel.store, clock, TEAM, "snel-speelgoed")
    slack.fail_next("chat.postMessage", 429, retry_after=0)
    await run_check(channel.store, config.policy, WEEK_46, now=clock())
    worker = DeliveryWorker(channel.store, {"slack": channel.sender}, config, clock, pacing=FAST)
    assert await worker.run_once() == 1
    assert slack.rejected_429 == 1 and len(slack.posted_messages(TEAM)) == 1


async def test_sender_maps_slack_errors(
    slack: FakeSlack, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("slack_sdk.http_retry.builtin_async_handlers.random.random", lambda: 0.0)
    body = {"text": "Week 46", "blocks": None}
    async with slack_sender(config) as sender:
        assert isinstance(sender, SlackSender) and sender.platform == "slack"
        assert await sender.send("C1", body) == slack.posted_messages("C1")[0]["ts"]

        slack.fail_next("chat.postMessage", 429, retry_after=0, times=2)  # outlasts the retry
        with pytest.raises(RetryLater) as waited:
            await sender.send("C1", body)
        assert waited.value.seconds == 0
        for error, kind in (
            ("not_in_channel", Unreachable),
            ("is_archived", Unreachable),
            ("invalid_blocks", Refused),
        ):
            slack.fail_next("chat.postMessage", 200, error=error)
            with pytest.raises(kind):
                await sender.send("C1", body)
        slack.fail_next("chat.postMessage", 503)
        with pytest.raises(Transient):
            await sender.send("C1", body)


async def test_sender_adds_the_plan_button_when_the_body_says_suspension(
    slack: FakeSlack, config: Config
) -> None:
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": "Week 46"}]}
    body: JSON = {
        "text": "Schorsing",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 49 + [context],
        "meta": {
            "kind": "alerts",
            "seller_id": "snel-speelgoed",
            "sections": ["suspension@2"],
            "language": "en",
        },
    }
    async with slack_sender(config) as sender:
        await sender.send("C1", body)
        await sender.send("C1", {**body, "meta": {**body["meta"], "sections": ["warning@1"]}})
    with_button, without = slack.posted_messages("C1")
    assert len(with_button["blocks"]) == 50 and with_button["blocks"][-1] == context
    assert with_button["blocks"][-2]["elements"][0]["text"]["text"] == "Plan submitted"
    assert buttons(without) == []


# --- App Home --------------------------------------------------------------------------


async def open_home(channel: SlackChannel, slack: FakeSlack, user: str) -> JSON:
    """Open the App Home as ``user``; the view published for them."""
    slack.views.pop(user, None)
    event = {
        "token": "legacy",
        "team_id": slack.team_id,
        "api_app_id": "A0000001",
        "type": "event_callback",
        "event_id": "Ev0001",
        "event_time": int(time.time()),
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0001",
            "tab": "home",
            "event_ts": str(time.time()),
        },
    }
    status, _ = await post_signed(channel, json.dumps(event), "application/json")
    assert status == 200
    await until(lambda: user in slack.views)
    await channel.settle()
    view = slack.views[user]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return view


async def test_app_home_shows_an_operator_every_seller_riskiest_first(
    channel: SlackChannel, slack: FakeSlack
) -> None:
    text = block_texts(await open_home(channel, slack, ADMIN))
    assert all(n in text for n in ("Snel Speelgoed", "Zonnig Wonen", "Boekenhoek"))
    assert text.index("Snel Speelgoed") < text.index("Zonnig Wonen")  # week 46: suspension


async def test_app_home_names_no_seller_to_anyone_else(
    channel: SlackChannel, slack: FakeSlack, service: Service, clock: FixedClock
) -> None:
    """The Home cannot tell a member's channels: it names no seller, even a followed one,
    and says where to ask."""
    await subscribe(channel.store, clock, TEAM, "zonnig-wonen", "snel-speelgoed")
    names = [s.name for s in await service.store.sellers.all()]
    for user in (MEMBER, BOSS):  # a workspace admin is no operator
        view = await open_home(channel, slack, user)
        text = block_texts(view)
        assert not any(name in text for name in names), user
        assert "/normwacht score" in text


# --- small helpers ---------------------------------------------------------------------


async def _seller(channel: SlackChannel, seller_id: str) -> Any:
    seller = await channel.store.sellers.get(seller_id)
    assert seller is not None
    return seller


def _ref(seller_id: str, name: str) -> Any:
    from messages import SellerRef

    return SellerRef(seller_id, name)
