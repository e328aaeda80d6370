"""The fakes answer the real client libraries (PTB, slack_sdk, httpx) the way the services do."""

from __future__ import annotations

import asyncio
import base64
import datetime as dtm
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import telegram
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.fakes import FakeBol, FakeSlack, FakeTelegram

TOKEN = "123456:TEST-token"
ACCEPT = {"Accept": "application/vnd.retailer.v10+json"}


# ---- Telegram ---------------------------------------------------------------------------


@pytest.fixture
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it RetryAfter.retry_after warns, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def tg(ptb_timedelta: None) -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(
        TOKEN, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot"
    ) as real_bot:
        yield real_bot


async def test_telegram_send_message(tg: FakeTelegram, bot: telegram.Bot) -> None:
    assert bot.username == "normwacht_bot"
    first = await bot.send_message(42, "Hallo")
    second = await bot.send_message(42, "<b>Week 46</b>", parse_mode="HTML")
    await bot.send_message(43, "other chat")

    assert first.text == "Hallo" and first.chat.id == 42
    assert second.message_id > first.message_id
    assert tg.sent_texts(42) == ["Hallo", "<b>Week 46</b>"]
    assert tg.calls_to("sendMessage")[1].params["parse_mode"] == "HTML"
    method, params, at = tg.calls[-1]
    assert (method, params["chat_id"]) == ("sendMessage", 43) and at <= time.monotonic()


async def test_telegram_long_poll_returns_pushed_message(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()  # the fake holds the poll open
    tg.push_message(42, "/start ABC123", user_id=7)
    (update,) = await poll
    assert time.monotonic() - started < 3  # not the 5 s (or 30 s) the poll may wait
    assert update.message is not None and update.message.text == "/start ABC123"
    assert update.message.from_user is not None and update.message.from_user.id == 7
    assert update.message.entities[0].type == "bot_command"

    # The offset confirms it; an empty poll waits for its timeout instead of returning at once.
    started = time.monotonic()
    assert (
        await bot.get_updates(offset=update.update_id + 1, timeout=dtm.timedelta(seconds=0.3)) == ()
    )
    assert time.monotonic() - started >= 0.25


async def test_telegram_429_raises_retry_after(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "too fast")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert tg.rejected_429 == 1
    await bot.send_message(42, "later")  # only the next call failed
    assert tg.sent_texts() == ["later"]


async def test_telegram_blocked_chat_raises_forbidden(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.block_chat(42)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(42, "hi")
    assert tg.sent_messages(42) == []


async def test_telegram_500_raises_network_error(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.fail_next("sendMessage", 500)
    with pytest.raises(NetworkError):
        await bot.send_message(42, "hi")


async def test_telegram_document_download(tg: FakeTelegram, bot: telegram.Bot) -> None:
    content = b"seller_id,year,week,indicator,numerator,denominator,value,norm\n"
    tg.push_document(42, "week46.csv", content, user_id=42)
    (update,) = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.document is not None
    document = update.message.document
    assert (document.file_name, document.file_size) == ("week46.csv", len(content))
    assert document.mime_type == "text/csv"

    file = await bot.get_file(document.file_id)
    assert await file.download_as_bytearray() == bytearray(content)


async def test_telegram_photo_and_document_uploads(tg: FakeTelegram, bot: telegram.Bot) -> None:
    png = b"\x89PNG\r\n\x1a\n fake chart"
    photo_message = await bot.send_photo(42, png, caption="Week 46")
    doc_message = await bot.send_document(42, b"a;b\n1;2\n", filename="export.csv")

    assert photo_message.caption == "Week 46"
    assert doc_message.document is not None and doc_message.document.file_name == "export.csv"
    assert [(m, f, u.content) for m, f, u in tg.uploads] == [
        ("sendPhoto", "photo", png),
        ("sendDocument", "document", b"a;b\n1;2\n"),
    ]
    file = await bot.get_file(photo_message.photo[-1].file_id)
    assert await file.download_as_bytearray() == bytearray(png)
    assert tg.sent_texts(42) == ["Week 46", ""]


async def test_telegram_enforced_limits(tg: FakeTelegram, bot: telegram.Bot) -> None:
    tg.enforce_limits(global_per_s=30, per_chat_per_s=1)
    await bot.send_message(42, "one")
    await bot.send_message(43, "another chat is fine")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "two")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    assert tg.rejected_429 == 1


async def test_telegram_paid_broadcasts_are_recorded_and_allowed_a_thousand_a_second(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    """With ``allow_paid_broadcast`` the overall limit is 1,000 a second, and the sends
    beyond the free limit are counted as billed; one chat still gets one a second."""
    tg.enforce_limits(global_per_s=3, per_chat_per_s=1, tolerance_s=-60.0)
    for chat in range(10):
        await bot.send_message(100 + chat, "paid", allow_paid_broadcast=True)
    assert tg.rejected_429 == 0 and tg.billed == 7
    sends = tg.calls_to("sendMessage")
    assert [c.params["allow_paid_broadcast"] for c in sends] == [True] * 10
    with pytest.raises(RetryAfter):
        await bot.send_message(100, "the same chat again", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):  # without it, the free limit holds
        await bot.send_message(200, "free")
    assert "allow_paid_broadcast" not in tg.calls_to("sendMessage")[-1].params


async def test_telegram_commands_callbacks_edits(tg: FakeTelegram, bot: telegram.Bot) -> None:
    await bot.set_my_commands([("score", "Scores")])
    await bot.set_my_commands([("score", "Scores (nl)")], language_code="nl")
    assert tg.commands[""] == [{"command": "score", "description": "Scores"}]
    assert tg.commands["nl"][0]["description"] == "Scores (nl)"

    sent = await bot.send_message(42, "Welke winkel?")
    tg.push_callback(42, "seller:shop-1", sent.message_id)
    (update,) = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert query is not None and query.data == "seller:shop-1"
    assert await bot.answer_callback_query(query.id)

    edited = await bot.edit_message_text("shop-1", chat_id=42, message_id=sent.message_id)
    assert isinstance(edited, telegram.Message) and edited.text == "shop-1"
    assert tg.sent_texts(42) == ["shop-1"]
    assert await bot.send_chat_action(42, "typing")
    assert await bot.delete_message(42, sent.message_id)


async def test_telegram_application_polling_answers_a_command(tg: FakeTelegram) -> None:
    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(f"{tg.url}/bot")
        .base_file_url(f"{tg.url}/file/bot")
        .job_queue(None)
        .build()
    )

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"code {context.args}")

    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        tg.push_message(5, "/start ABC")
        for _ in range(100):
            if tg.sent_texts(5):
                break
            await asyncio.sleep(0.02)
        await app.updater.stop()
        await app.stop()
    assert tg.sent_texts(5) == ["code ['ABC']"]


async def test_telegram_stops_promptly_with_a_poll_open(ptb_timedelta: None) -> None:
    async with FakeTelegram() as fake, httpx.AsyncClient() as client:
        poll = asyncio.create_task(
            client.post(f"{fake.url}/bot{TOKEN}/getUpdates", data={"timeout": "30"})
        )
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await fake.stop()
        response = await poll
    assert time.monotonic() - started < 3  # not the 5 s (or 30 s) the poll may wait
    assert response.json() == {"ok": True, "result": []}


# ---- Slack ------------------------------------------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def web_client(slack: FakeSlack) -> AsyncWebClient:
    # No session given: slack_sdk opens and closes one per call.
    return AsyncWebClient(token="xoxb-test", base_url=f"{slack.url}/api/")


async def test_slack_post_message(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    auth = await web_client.auth_test()
    assert auth["user_id"] == slack.bot_user_id
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Week 46*"}}]
    first = await web_client.chat_postMessage(channel="C1", text="Week 46", blocks=blocks)
    second = await web_client.chat_postMessage(channel="C1", text="again")

    assert first["ok"] and first["channel"] == "C1"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == blocks
    assert slack.posted_texts("C1") == ["Week 46", "again"]
    assert slack.calls_to("chat.postMessage")[0].params["token"] == "xoxb-test"


async def test_slack_429_raises_with_retry_after(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", 429, retry_after=3)
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C1", text="hi")
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response["error"] == "ratelimited"
    assert slack.rejected_429 == 1


async def test_slack_channel_errors_and_rate(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    slack.set_channel_error("C404", "channel_not_found")
    slack.set_channel_error("C9", "not_in_channel")
    for channel, error in (("C404", "channel_not_found"), ("C9", "not_in_channel")):
        with pytest.raises(SlackApiError) as caught:
            await web_client.chat_postMessage(channel=channel, text="hi")
        assert caught.value.response["error"] == error

    slack.enforce_channel_rate(per_s=1)
    await web_client.chat_postMessage(channel="C1", text="one")
    await web_client.chat_postMessage(channel="C2", text="other channel")
    with pytest.raises(SlackApiError) as caught:
        await web_client.chat_postMessage(channel="C1", text="two")
    assert caught.value.response.status_code == 429
    assert slack.rejected_429 == 1


async def test_slack_files_upload_v2(slack: FakeSlack, web_client: AsyncWebClient) -> None:
    png = b"\x89PNG\r\n\x1a\n chart"
    response = await web_client.files_upload_v2(
        channel="C1", content=png, filename="week46.png", title="Week 46", initial_comment="Grafiek"
    )
    file_id = response["file"]["id"]
    upload = slack.files[file_id]
    assert (upload.content, upload.title, upload.channel_id) == (png, "Week 46", "C1")
    assert upload.initial_comment == "Grafiek" and upload.completed


async def test_slack_users_views_update_ephemeral(
    slack: FakeSlack, web_client: AsyncWebClient
) -> None:
    slack.add_user("UADMIN", is_admin=True)
    assert (await web_client.users_info(user="UADMIN"))["user"]["is_admin"] is True
    assert (await web_client.users_info(user="UOTHER"))["user"]["is_admin"] is False
    slack.add_channel("D1", is_im=True)
    assert (await web_client.conversations_info(channel="D1"))["channel"]["is_im"] is True

    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    await web_client.views_publish(user_id="UADMIN", view=view)
    assert slack.views["UADMIN"]["type"] == "home"

    posted = await web_client.chat_postMessage(channel="C1", text="draft")
    await web_client.chat_update(channel="C1", ts=posted["ts"], text="final")
    assert slack.posted_texts("C1") == ["final"]
    await web_client.chat_postEphemeral(channel="C1", user="UADMIN", text="only you")
    assert slack.ephemerals[0]["text"] == "only you"


# ---- bol.com ----------------------------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _token(client: httpx.AsyncClient, client_id: str = "cid", secret: str = "s3cret") -> str:
    response = await client.post(
        "/token", params={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def bol(clock: ManualClock) -> AsyncIterator[FakeBol]:
    async with FakeBol({"cid": "s3cret"}, rate_limit=3, window_s=60, clock=clock) as fake:
        yield fake


@pytest.fixture
async def http(bol: FakeBol) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=bol.url) as client:
        yield client


async def test_bol_token(bol: FakeBol, http: httpx.AsyncClient) -> None:
    basic = base64.b64encode(b"cid:s3cret").decode()
    response = await http.post(
        "/token?grant_type=client_credentials", headers={"Authorization": f"Basic {basic}"}
    )
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 299
    assert body["scope"] == "RETAILER" and body["access_token"]

    bad = await http.post(
        "/token", params={"grant_type": "client_credentials"}, auth=("cid", "wrong")
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


async def test_bol_indicator(bol: FakeBol, http: httpx.AsyncClient) -> None:
    bol.set_indicator("cid", "FULFILMENT", 2026, 46, numerator=135, denominator=150)
    headers = {**ACCEPT, "Authorization": f"Bearer {await _token(http)}"}
    query: dict[str, str | int] = {"name": "FULFILMENT", "year": 2026, "week": 46}
    response = await http.get(
        "/retailer/insights/performance/indicator", params=query, headers=headers
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.retailer.v10+json")
    (indicator,) = response.json()["performanceIndicators"]
    assert indicator["name"] == "FULFILMENT" and indicator["type"] == "PERCENTAGE"
    assert indicator["details"] == {
        "period": {"week": 46, "year": 2026},
        "score": {
            "numerator": 135,
            "denominator": 150,
            "value": 0.9,
            "conforms": False,
            "distanceToNorm": 0.03,
        },
        "norm": {"condition": ">=", "value": 0.93},
    }

    unknown = await http.get(
        "/retailer/insights/performance/indicator", params={**query, "week": 45}, headers=headers
    )
    assert "score" not in unknown.json()["performanceIndicators"][0]["details"]

    bol.set_retailer("cid", rating=9.1, product_information=9.6, reviews=64, top_retailer=True)
    retailer = (await http.get("/retailer/retailers/current", headers=headers)).json()
    assert retailer["topRetailer"] is True and retailer["ratingMethod"] == "THREE_MONTHS"
    assert retailer["retailerRating"]["retailerRating"] == 9.1
    assert retailer["retailerReview"]["totalReviewCount"] == 64


async def test_bol_401_and_406(bol: FakeBol, http: httpx.AsyncClient, clock: ManualClock) -> None:
    path = "/retailer/retailers/current"
    assert (await http.get(path, headers=ACCEPT)).status_code == 401
    assert (
        await http.get(path, headers={**ACCEPT, "Authorization": "Bearer nope"})
    ).status_code == 401

    token = await _token(http)
    without_accept = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert without_accept.status_code == 406

    clock.now += 299  # the token's lifetime is over
    expired = await http.get(path, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
    assert expired.status_code == 401


async def test_bol_rate_limit_and_5xx(
    bol: FakeBol, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    headers = {**ACCEPT, "Authorization": f"Bearer {await _token(http)}"}
    params: dict[str, str | int] = {"name": "REVIEWS", "year": 2026, "week": 46}
    path = "/retailer/insights/performance/indicator"
    for _ in range(3):
        assert (await http.get(path, params=params, headers=headers)).status_code == 200
        clock.now += 10
    limited = await http.get(path, params=params, headers=headers)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "30"  # the oldest of the window leaves in 30 s
    assert bol.rejected_429 == 1

    clock.now += 30
    assert (await http.get(path, params=params, headers=headers)).status_code == 200

    bol.fail_next(path, status=503)
    assert (await http.get(path, params=params, headers=headers)).status_code == 503
    assert (await http.get("/retailer/retailers/current", headers=headers)).status_code == 200


V11 = {"Accept": "application/vnd.retailer.v11+json"}


async def test_bol_v11_bodies_follow_the_openapi_document(
    bol: FakeBol, http: httpx.AsyncClient
) -> None:
    bol.grant_v11("cid")
    bol.set_kpi("cid", "HANDOVER", "2026-46", numerator=180, denominator=200, excluded=True)
    token = await _token(http)
    headers = {**V11, "Authorization": f"Bearer {token}"}
    kpi = await http.get(
        "/retailer/retailers/kpi-scores",
        params={"kpi": "HANDOVER", "week": "2026-46"},
        headers=headers,
    )
    assert kpi.status_code == 200
    assert kpi.headers["Content-Type"].startswith("application/vnd.retailer.v11+json")
    assert kpi.json() == {
        "kpi": "HANDOVER",
        "score": {
            "numerator": 180,
            "denominator": 200,
            "value": 0.9,
            "distanceToNorm": 0.05,
            "conformsToNorm": False,
        },
        "norm": {"type": "FIXED", "condition": "gte", "value": 0.95},
        "period": {"id": "2026-46", "type": "WEEK"},
        "excluded": True,
    }
    empty = await http.get(
        "/retailer/retailers/kpi-scores",
        params={"kpi": "RETURNS", "week": "2026-45"},
        headers=headers,
    )
    assert "score" not in empty.json()  # a week without data: the optional score is absent
    assert empty.json()["norm"]["type"] == "DYNAMIC"
    bad_week = await http.get(
        "/retailer/retailers/kpi-scores",
        params={"kpi": "RETURNS", "week": "2026-W45"},
        headers=headers,
    )
    assert bad_week.status_code == 400

    bol.set_performance_status("cid", system="GroeiStart", points_left=None)
    status = (await http.get("/retailer/retailers/performance-status", headers=headers)).json()
    assert status == {"monitoringSystem": {"description": "GroeiStart"}}  # the rest left out
    bol.set_ratings("cid", rating=9.1, shipping=9.4, reviews=64, top_retailer=True)
    ratings = (await http.get("/retailer/retailers/current/ratings", headers=headers)).json()
    assert set(ratings) == {"ratingMethod", "retailerRating", "retailerReview", "isTopRetailer"}
    assert ratings["ratingMethod"] == "RECENT_REVIEWS" and ratings["isTopRetailer"] is True
    assert ratings["retailerRating"]["shippingRating"] == 9.4
    assert ratings["retailerReview"]["totalReviewCount"] == 64
    # The v10 shop, beside it, is unchanged.
    v10 = await http.get("/retailer/retailers/current", headers={**headers, **ACCEPT})
    assert "retailerId" in v10.json()


async def test_bol_v11_needs_its_scope_and_media_type(
    bol: FakeBol, http: httpx.AsyncClient
) -> None:
    token = await _token(http)
    headers = {**V11, "Authorization": f"Bearer {token}"}
    path = "/retailer/retailers/performance-status"
    refused = await http.get(path, headers=headers)
    assert refused.status_code == 403 and "retailer-info.read" in refused.json()["detail"]
    bol.grant_v11("cid")
    scoped = await http.post(
        "/token", params={"grant_type": "client_credentials"}, auth=("cid", "s3cret")
    )
    assert scoped.json()["scope"] == "RETAILER retailer-info.read"
    assert (await http.get(path, headers=headers)).status_code == 200
    v10_accept = await http.get(path, headers={**ACCEPT, "Authorization": f"Bearer {token}"})
    assert v10_accept.status_code == 406
    bol.refuse_v11("cid", 404)
    assert (await http.get(path, headers=headers)).status_code == 404
    bol.v10_only("cid")
    bol.refuse_v11("cid", 403)
    assert (await http.get(path, headers=headers)).status_code == 403


async def test_bol_v11_limits_per_endpoint_and_client(clock: ManualClock) -> None:
    fake = FakeBol({"cid": "s3cret", "other": "s3cret"}, v11=True, clock=clock)
    async with fake as bol, httpx.AsyncClient(base_url=fake.url) as http:
        headers = {**V11, "Authorization": f"Bearer {await _token(http)}"}
        path = "/retailer/retailers/performance-status"
        for n in range(10):  # 10 a minute
            answer = await http.get(path, headers=headers)
            assert answer.status_code == 200
            assert answer.headers["x-ratelimit-limit"] == "10"
            assert answer.headers["x-ratelimit-remaining"] == str(9 - n)
            clock.now += 1
        limited = await http.get(path, headers=headers)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "50"  # the first leaves the minute then
        assert limited.headers["x-ratelimit-remaining"] == "0"
        # Another endpoint, and another client, have budgets of their own.
        ratings = await http.get("/retailer/retailers/current/ratings", headers=headers)
        assert ratings.status_code == 200 and ratings.headers["x-ratelimit-limit"] == "120"
        other = {**V11, "Authorization": f"Bearer {await _token(http, 'other')}"}
        assert (await http.get(path, headers=other)).status_code == 200
        clock.now += 50
        assert (await http.get(path, headers=headers)).status_code == 200
    assert bol.rejected_429 == 1


async def test_json_and_form_bodies_are_read_alike(tg: FakeTelegram, slack: FakeSlack) -> None:
    async with httpx.AsyncClient() as client:
        sent = await client.post(
            f"{tg.url}/bot{TOKEN}/sendMessage", json={"chat_id": 9, "text": "via JSON"}
        )
        posted = await client.post(
            f"{slack.url}/api/chat.postMessage",
            data={"channel": "C1", "text": "via form", "blocks": '[{"type": "divider"}]'},
            headers={"Authorization": "Bearer xoxb-form"},
        )
    assert sent.json()["result"]["text"] == "via JSON" and tg.sent_texts(9) == ["via JSON"]
    assert posted.json()["message"]["blocks"] == [{"type": "divider"}]
    assert slack.calls[-1].params["token"] == "xoxb-form"
