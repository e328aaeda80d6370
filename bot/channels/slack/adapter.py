"""Slack: team channels get the alerts and ask with ``/normwacht``.

A thin adapter over the service layer on slack-bolt's ``AsyncApp``: Socket Mode when
``SLACK_APP_TOKEN`` is set, else HTTP on ``NORMWACHT_HTTP_PORT`` (``POST /slack/events``,
signed with ``SLACK_SIGNING_SECRET``; ``GET /healthz``). Only subscriptions live here:
a channel follows a seller by being linked to it, like a Telegram chat.

Who may do what: operators (``NORMWACHT_ADMINS``) see every seller and run the operator
commands; Slack workspace admins and owners may only subscribe and unsubscribe channels;
everyone else sees the sellers of the channel they ask in. An answer naming a seller the
channel does not follow, and every answer to an operator command, goes only to the one
who asked (ephemeral), never into the channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.channels.slack.blocks import (
    CHOOSE_ACTION_PREFIX,
    choice_blocks,
    home_view,
    member_home_view,
    say,
    section,
    seller_text,
    stamp_plan,
)
from bot.channels.slack.sender import (
    MAX_BLOCKS,
    PLAN_ACTION_ID,
    PLAN_BLOCK_ID,
    PLATFORM,
    SlackSender,
    api_error,
    web_client,
)
from bot.channels.slack.signature import Refusal, SignedRequests
from bot.commands.registry import answered_by_channel, not_offered_on
from bot.commands.seller_names import matching
from bot.commands.service import ChatContext, Reply, Service
from bot.config import Config, ConfigError
from bot.notices.check import seller_ref
from bot.runtime.health import Health
from bot.runtime.http import HttpServer
from bot.store import Seller, Store
from bot.store.leases import Leases
from messages import LANGUAGES, Language, render

log = logging.getLogger(__name__)

SLASH_COMMAND = "/normwacht"
SUBSCRIPTIONS = answered_by_channel("slack")
NOT_IN_SLACK = not_offered_on("slack")  # /connect asks for a secret: not in a channel
# Where the bot cannot post, the one who asked still gets the answer (ephemeral).
ANSWER_PRIVATELY = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
# Answers to the operator commands (link codes, exemptions): only for the operator's eyes.
OPERATOR_REPLIES = frozenset(
    {"link_code", "exempt_ok", "exempt_list", "exempt_confirm", "exempt_removed"}
)
ADMIN_CACHE_S = 60.0
SHUTDOWN_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class Note:
    """A Slack-only mrkdwn sentence, with the ids of the sellers it names."""

    text: str
    sellers: frozenset[str] = frozenset()


# A reply of the service, or a Slack-only sentence.
Answer = Reply | Note


class SlackChannel:
    """The Slack app: slash command, buttons, App Home; ``sender`` delivers the outbox."""

    platform = PLATFORM

    def __init__(
        self,
        service: Service,
        config: Config,
        *,
        http: HttpServer | None = None,
        host: str = "0.0.0.0",
        port: int | None = None,
        health: Health | None = None,
    ) -> None:
        if not config.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN: required for Slack")
        if not config.slack_app_token and not config.slack_signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET: required for Slack in HTTP mode "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            )
        self.service = service
        self.config = config
        self.port = config.http_port if port is None else port
        self.client = web_client(config)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=config.slack_signing_secret or "",
            name="normwacht",
        )
        self.sender = SlackSender(self.client, language=config.language, health=health)
        self.signed = SignedRequests(config.slack_signing_secret or "")
        self._socket: AsyncSocketModeHandler | None = None
        # HTTP mode shares ``normwacht run``'s listener, or runs its own when alone.
        self._own_http = http is None
        self.http = http or HttpServer(self.port, host)
        self._work: set[asyncio.Task[Any]] = set()
        self._admins: dict[str, tuple[bool, float]] = {}
        self.app.command(SLASH_COMMAND)(self._on_command)
        self.app.action(re.compile(f"^{CHOOSE_ACTION_PREFIX}"))(self._on_choose)
        self.app.action(PLAN_ACTION_ID)(self._on_plan_submitted)
        self.app.event("app_home_opened")(self._on_home_opened)
        if not config.slack_app_token:
            # Routes go in before the listener starts, whether or not Slack is up yet.
            self.http.add_post("/slack/events", self._http_events)

    @property
    def store(self) -> Store:
        return self.service.store

    # --- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, then connect (Socket Mode) or listen (HTTP). On failure nothing
        is left connected, so ``start`` may be called again later."""
        await self.client.auth_test()
        if self.config.slack_app_token:
            socket = AsyncSocketModeHandler(self.app, self.config.slack_app_token)
            try:
                # The app token is tried here: the socket client would retry a refused one
                # forever. The address it gets is the one the socket client then uses.
                opened = await self.client.apps_connections_open(
                    app_token=self.config.slack_app_token
                )
                socket.client.wss_uri = str(opened["url"])
                await socket.connect_async()  # type: ignore[no-untyped-call]
            except BaseException:
                with suppress(Exception):
                    await socket.close_async()  # type: ignore[no-untyped-call]
                raise
            self._socket = socket
            log.info("slack: socket mode connected")
            return
        if self._own_http and not self.http.running:
            await self.http.start()
            self.port = self.http.port
        log.info("slack: HTTP mode, events at /slack/events")

    async def probe(self) -> None:
        """Ask Slack whether it answers (auth.test)."""
        await self.client.auth_test()

    async def stop(self) -> None:
        """Disconnect, then let the answers under way finish (briefly)."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._own_http:
            await self.http.stop()
        await self.settle(SHUTDOWN_GRACE_S)

    async def settle(self, timeout: float | None = None) -> None:
        """Wait for the work requests have started; what outlives ``timeout`` is cancelled."""
        while self._work:
            _, pending = await asyncio.wait(set(self._work), timeout=timeout)
            if pending:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                self._work -= pending

    @asynccontextmanager
    async def _working(self) -> AsyncIterator[None]:
        """A request's work (entered before ``ack()``, so ``settle`` sees it); a failure is
        logged, not lost."""
        task = asyncio.current_task()
        if task is not None:
            self._work.add(task)
        try:
            yield
        except Exception:
            log.exception("slack: answering a request failed")
        finally:
            if task is not None:
                self._work.discard(task)

    async def _http_events(self, request: web.Request) -> web.Response:
        # Checked on the raw bytes first (bolt would decode and int() before verifying),
        # and a replay within the 5 minutes is refused; bolt then verifies again.
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        refusal = self.signed.refusal(timestamp, signature, await request.read())
        # Another instance behind the load balancer, or this one before a restart, may have
        # answered it: the database remembers for all of them.
        if (
            refusal is None
            and timestamp
            and signature
            and not await Leases(self.service.store.db).first_sight(
                signature, self.signed.expires(timestamp)
            )
        ):
            refusal = Refusal(401, "the request was seen before (a replay)")
        if refusal is not None:
            log.info("slack: refused a request: %s", refusal.reason)
            # Asking again would be refused again (a retry of a request already answered
            # carries its signature): Slack need not retry.
            return web.Response(
                status=refusal.status, text=refusal.reason, headers={"X-Slack-No-Retry": "1"}
            )
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    # --- who is asking -----------------------------------------------------------------

    def is_operator(self, user_id: str | None) -> bool:
        """An operator of ``NORMWACHT_ADMINS``: every seller, and the operator commands."""
        return self.config.is_admin(PLATFORM, user_id)

    async def may_subscribe(self, user_id: str | None) -> bool:
        """An operator, or a workspace admin or owner (users.info, cached briefly): they
        may subscribe and unsubscribe channels, and nothing more."""
        if user_id is None:
            return False
        if self.is_operator(user_id):
            return True
        now = asyncio.get_running_loop().time()
        cached = self._admins.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            user = (await self.client.users_info(user=user_id)).get("user") or {}
        except SlackApiError as exc:
            log.warning("slack: users.info failed: %s", api_error(exc))
            return False
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._admins[user_id] = (admin, now + ADMIN_CACHE_S)
        return admin

    async def _context(self, channel_id: str, user_id: str, title: str = "") -> ChatContext:
        chat = await self.service.chat_for(PLATFORM, channel_id, title)
        return ChatContext(chat, user_id, self.is_operator(user_id))

    async def _followed(self, ctx: ChatContext) -> frozenset[str]:
        """The ids of the sellers the channel follows."""
        return frozenset(s.id for s in await self.store.chats.sellers_of(ctx.chat.id))

    # --- the slash command -------------------------------------------------------------

    async def _on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        async with self._working():
            await ack()

            async def answer() -> None:
                ctx = await self._context(
                    str(command["channel_id"]),
                    str(command["user_id"]),
                    str(command.get("channel_name") or ""),
                )
                await self._ask(ctx, str(command.get("text") or ""), respond)

            try:
                await self.service.patiently(answer)
            except Exception as exc:
                if not self.service.store.db.unavailable(exc):
                    raise
                # Answered all the same: the command is not lost without a word.
                log.warning("slack: a command not answered: the database did not answer")
                language = self.config.language if self.config.language in LANGUAGES else "nl"
                text = render("try_again_later", {}, fmt="slack", lang=language)
                await respond(text=text.text.strip(), response_type="ephemeral")

    async def _ask(self, ctx: ChatContext, text: str, respond: AsyncRespond) -> None:
        """Run ``text`` and answer; the channel may see what concerns the sellers it
        followed before or after the command (so an unsubscribe is confirmed in it)."""
        before = await self._followed(ctx)
        answers = await self.run(ctx, text)
        await self._answer(ctx, answers, respond, before | await self._followed(ctx))

    async def run(self, ctx: ChatContext, text: str) -> list[Answer]:
        """``/normwacht <command> [args]``: subscriptions here, the rest in the service."""
        text = text.strip().lstrip("/")
        words = text.split()
        name = words[0].lower() if words else "help"
        if name in SUBSCRIPTIONS:
            return await self._subscription(ctx, name, words[1:])
        if name == "sellers":
            return await self._sellers(ctx)
        if name in NOT_IN_SLACK:
            return [Note(say("slack_unsupported", ctx.chat.language, command=name))]
        return list(await self.service.handle(ctx, "/" + (text or "help")))

    async def _subscription(self, ctx: ChatContext, command: str, args: list[str]) -> list[Answer]:
        lang = ctx.chat.language
        if not await self.may_subscribe(ctx.user_id):
            return [Reply("not_admin", {"command": command})]
        if not args:
            return [Note(say("usage", lang, command=command))]
        query = " ".join(args)
        seller = await self._find_seller(query)
        if seller is None:
            return [Reply("unknown_seller", {"query": query})]
        ref, about = seller_ref(seller), frozenset({seller.id})
        if command == "unsubscribe":
            removed = await self.store.chats.unlink(ctx.chat.id, seller.id)
            key = "unsubscribed" if removed else "not_subscribed"
            return [Note(seller_text(key, lang, ref), about)]
        await self.store.chats.link(ctx.chat.id, seller.id, ctx.actor, self.service.clock())
        if not ctx.chat.active:
            await self.store.chats.reactivate(ctx.chat.id)
        text = seller_text("subscribed", lang, ref)
        if not await self._bot_is_member(ctx.chat.address):
            text += "\n" + say("invite_me", lang)
        return [Note(text, about)]

    async def _sellers(self, ctx: ChatContext) -> list[Answer]:
        """The channel's sellers; an operator sees every seller (to subscribe to)."""
        if ctx.is_admin:
            sellers = await self.store.sellers.all()
        else:
            sellers = await self.store.chats.sellers_of(ctx.chat.id)
        return [Reply("sellers", {"sellers": [seller_ref(s) for s in sellers]})]

    async def _find_seller(self, query: str) -> Seller | None:
        """The one seller ``query`` names, as a chat names it (accents, case and a unique
        beginning folded); None when it names none or several."""
        found = matching(await self.store.sellers.all(), query.strip())
        return found[0] if len(found) == 1 else None

    async def _bot_is_member(self, channel_id: str) -> bool:
        try:
            info = (await self.client.conversations_info(channel=channel_id)).get("channel") or {}
        except SlackApiError:
            return False
        return bool(info.get("is_member") or info.get("is_im"))

    # --- buttons -----------------------------------------------------------------------

    async def _on_choose(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        async with self._working():
            await ack()
            ctx = await self._context(str(body["channel"]["id"]), str(body["user"]["id"]))
            await self._ask(ctx, str(action["value"]), respond)

    async def _on_plan_submitted(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        async with self._working():
            await ack()
            user, channel = str(body["user"]["id"]), str(body["channel"]["id"])
            ctx = await self._context(channel, user)
            replies = await self.service.handle(ctx, f"/plan done {action['value']}")
            if [r.kind for r in replies] != ["plan_done"]:
                await self._answer(ctx, list(replies), respond, await self._followed(ctx))
                return
            message = body.get("message") or {}
            at = self.service.clock().astimezone(self.config.timezone).strftime("%H:%M")
            blocks = stamp_plan(
                list(message.get("blocks") or []), PLAN_BLOCK_ID, user, at, ctx.chat.language
            )
            await self.client.chat_update(
                channel=channel,
                ts=str(message["ts"]),
                text=str(message.get("text") or ""),
                blocks=blocks,
            )

    # --- App Home ----------------------------------------------------------------------

    async def _on_home_opened(self, event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        async with self._working():
            user = str(event["user"])
            await self.client.views_publish(user_id=user, view=await self.home_for(user))

    async def home_for(self, user_id: str) -> dict[str, Any]:
        """The App Home of a user. An operator: every seller, riskiest first. Anyone else
        may see only the sellers of their own channels, which the Home cannot know: it
        says where to ask instead, and names no seller."""
        from bot.notices.digest import digest_entries

        lang = self.config.language
        if not self.is_operator(user_id):
            return member_home_view(lang)
        # The team digest puts the riskiest seller first.
        entries = await digest_entries(self.service, await self.store.sellers.all())
        overview = None
        if entries:
            data = {"entries": entries, "team": len(entries) > 1}
            overview = render("digest", data, fmt="slack", lang=_lang(lang)).blocks
        updated = self.service.clock().astimezone(self.config.timezone).strftime("%d-%m %H:%M")
        return home_view(overview, lang, updated)

    # --- answering ---------------------------------------------------------------------

    async def _answer(
        self,
        ctx: ChatContext,
        answers: list[Answer],
        respond: AsyncRespond,
        followed: frozenset[str],
    ) -> None:
        """Each answer in the channel, or only to the asker when it is not the channel's
        business: an operator command, or a seller ``followed`` does not hold."""
        for answer in answers:
            await self._answer_one(ctx, answer, respond, private=_private(answer, followed))

    async def _answer_one(
        self, ctx: ChatContext, answer: Answer, respond: AsyncRespond, *, private: bool
    ) -> None:
        channel = ctx.chat.address
        if isinstance(answer, Note):
            await self._post(channel, answer.text, [section(answer.text)], respond, private)
            return
        rendered = render(answer.kind, answer.data, fmt="slack", lang=_lang(ctx.chat.language))
        blocks = list(rendered.blocks or [])
        if answer.choices and answer.command:
            buttons = choice_blocks(answer.choices, answer.command)
            blocks = blocks[: MAX_BLOCKS - len(buttons)] + buttons
        # A file cannot be ephemeral: a private answer comes without its chart.
        if (
            answer.image is not None
            and not private
            and await self._upload(channel, answer, rendered.text)
        ):
            return
        await self._post(channel, rendered.text, blocks, respond, private)

    async def _post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        respond: AsyncRespond,
        private: bool = False,
    ) -> None:
        if not private:
            try:
                await self.client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks or None
                )
                return
            except SlackApiError as exc:
                if api_error(exc) not in ANSWER_PRIVATELY:
                    raise
        await respond(
            text=text, blocks=blocks or None, response_type="ephemeral", replace_original=False
        )

    async def _upload(self, channel: str, reply: Reply, comment: str) -> bool:
        """The chart as a file in the channel; ``False`` where the bot cannot post."""
        seller = reply.data.get("seller")
        seller_id = getattr(seller, "id", "chart")
        try:
            await self.client.files_upload_v2(
                channel=channel,
                file=reply.image,
                filename=f"history-{seller_id}.png",
                title=str(getattr(seller, "name", seller_id)),
                initial_comment=comment,
            )
        except SlackApiError as exc:
            if api_error(exc) in ANSWER_PRIVATELY:
                return False
            raise
        return True


@asynccontextmanager
async def slack_sender(config: Config, health: Health | None = None) -> AsyncIterator[SlackSender]:
    """A sender for ``normwacht deliver``: slack_sdk opens and closes a session per call,
    so there is nothing to close. With ``health``, its sends tell whether Slack answers."""
    yield SlackSender(web_client(config), language=config.language, health=health)


def _private(answer: Answer, followed: frozenset[str]) -> bool:
    """Whether only the asker may see ``answer``: an operator command's answer, or one that
    names a seller outside ``followed``."""
    if isinstance(answer, Note):
        return not answer.sellers <= followed
    if answer.kind in OPERATOR_REPLIES:
        return True
    return not _named_sellers(answer) <= followed


def _named_sellers(reply: Reply) -> set[str]:
    """The ids of the sellers a reply names (its seller, sellers, entries and choices)."""
    refs: list[Any] = [reply.data.get("seller"), *reply.choices]
    refs += list(reply.data.get("sellers") or [])
    refs += [entry.get("seller") for entry in reply.data.get("entries") or []]
    return {str(getattr(ref, "id", ref)) for ref in refs if ref is not None}


def _lang(language: str) -> Language:
    return language if language in LANGUAGES else "nl"
