"""The Telegram channel: python-telegram-bot 22 in front of the service layer.

Updates go in as text (commands, the ``/connect`` answers), documents (imports) and button
presses (the seller choice); ``Reply``s come out as HTML messages, photos and inline
keyboards. Nothing here decides what to say: ``bot.commands.service`` does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram import Chat as TgChat
from telegram.error import (
    BadRequest,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.channels.telegram.fair import Admission, ChatQueues, FloodBudget, discard
from bot.channels.telegram.sender import (
    NO_PREVIEW,
    PLATFORM,
    TelegramSender,
    chat_id_of,
    http_request,
    is_outage,
    retry_seconds,
)
from bot.commands.registry import find, menu
from bot.commands.service import MAX_UPLOAD_BYTES, ChatContext, Reply, Service
from bot.config import Config
from bot.runtime.health import Health
from bot.runtime.http import HttpServer
from bot.store import Chat
from messages import LANGUAGES, Language, render, split_telegram
from messages.i18n import translations

log = logging.getLogger(__name__)

POLL_TIMEOUT = timedelta(seconds=10)
ALLOWED_UPDATES = ["message", "callback_query"]
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes, a Bot API limit
MAX_CONCURRENT_UPDATES = 32
# An interactive reply waits out a short flood wait once; longer ones are dropped (logged).
MAX_REPLY_WAIT_S = 5.0
# On stop, the answers under way (and queued) get this long to finish.
SHUTDOWN_GRACE_S = 5.0

# The command menu (setMyCommands), from the registry in English; the catalogs translate
# it. The default list is Dutch, users whose Telegram speaks another of our languages get
# theirs.
_MENU = menu("telegram")
MENU: dict[str, dict[str, str]] = {
    language: {c.name: translations(language).gettext(c.help) for c in _MENU}
    for language in LANGUAGES
}
# Every word that starts a command here: names and aliases.
_COMMAND_WORDS = [word for command in _MENU for word in command.words]

T = TypeVar("T")
TgApplication = Application[Any, Any, Any, Any, Any, Any]
TgContext = CallbackContext[Any, Any, Any, Any]


def _language(chat: Chat) -> Language:
    return cast(Language, chat.language if chat.language in MENU else "nl")


def _default_language(config: Config) -> Language:
    return cast(Language, config.language if config.language in MENU else "nl")


def _spoken_language(code: str | None) -> str | None:
    """The language of a Telegram user's app (an IETF tag: ``fr``, ``fr-BE``), if we speak it."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else None


async def _patiently(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call; on a short flood wait, wait it out and try once more."""
    try:
        return await call()
    except RetryAfter as exc:
        if retry_seconds(exc) > MAX_REPLY_WAIT_S:
            raise
        await asyncio.sleep(retry_seconds(exc))
        return await call()


# --- updates in, replies out ---------------------------------------------------------


class FairProcessor(BaseUpdateProcessor):
    """Chats are answered concurrently, the updates of one chat in the order they came, and
    a flooding chat within its budget. PTB's slots are held only to queue an update: the
    waiting happens in the chat's queue (``ChatQueues``), where it blocks no other chat."""

    def __init__(
        self,
        max_concurrent_updates: int,
        budget: FloodBudget,
        on_flood: Callable[[Update], Awaitable[None]],
    ) -> None:
        super().__init__(max_concurrent_updates)
        self.budget = budget
        self.queues = ChatQueues(max_concurrent_updates)
        self._on_flood = on_flood

    @property
    def current_concurrent_updates(self) -> int:
        """Updates queued or being answered."""
        return self.queues.in_hand

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        admission = self.budget.admit(chat.id)
        if admission is Admission.ANSWER:
            self.queues.put(chat.id, coroutine)
            return
        discard(coroutine)
        if admission is Admission.WARN:
            assert isinstance(update, Update)
            self.queues.put(chat.id, self._on_flood(update))

    async def initialize(self) -> None:
        self.queues.start()

    async def shutdown(self) -> None:
        await self.queues.stop()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Bot API message of a reply: text, or a photo with an optional caption."""

    text: str | None
    photo: bytes | None = None
    markup: InlineKeyboardMarkup | None = None


def outgoing(reply: Reply, language: Language, *, caption: bool = True) -> list[Outgoing]:
    """The messages that carry ``reply``: split text, the photo, the seller keyboard."""
    text = render(reply.kind, reply.data, fmt="telegram", lang=language).text.strip()
    chunks = split_telegram(text) if text else []
    if reply.image is not None:
        if caption and len(chunks) == 1 and len(chunks[0]) <= CAPTION_LIMIT:
            return [Outgoing(chunks[0], reply.image)]
        texts = [Outgoing(c) for c in chunks]
        photo = Outgoing(None, reply.image)
        return [photo, *texts] if caption else [*texts, photo]
    out = [Outgoing(c) for c in chunks]
    if reply.choices and reply.command and out:
        out[-1] = Outgoing(out[-1].text, markup=seller_keyboard(reply))
    return out


def seller_keyboard(reply: Reply) -> InlineKeyboardMarkup:
    """One button a seller; pressing it runs ``/{command} {seller_id}`` in this chat."""
    rows = []
    for seller in reply.choices:
        data = f"/{reply.command} {seller.id}"
        if len(data.encode()) <= CALLBACK_DATA_LIMIT:
            rows.append([InlineKeyboardButton(seller.name, callback_data=data)])
    return InlineKeyboardMarkup(rows)


class TelegramChannel:
    """Polls the Bot API and answers every update through ``Service``."""

    def __init__(
        self,
        service: Service,
        config: Config,
        http: HttpServer | None = None,
        *,
        budget: FloodBudget | None = None,
        health: Health | None = None,
    ) -> None:
        assert config.telegram_token, "TELEGRAM_BOT_TOKEN is not set"
        self.service = service
        self.config = config
        # Webhook mode needs a public URL and the shared listener; polling otherwise.
        self.http = http if config.webhook_url else None
        digest = hashlib.sha256(b"normwacht-webhook:" + config.telegram_token.encode()).hexdigest()
        self.webhook_path = f"/telegram/{digest[:32]}"
        self.webhook_secret = digest[32:]
        root = config.telegram_api_url.rstrip("/")
        self.processor = FairProcessor(
            MAX_CONCURRENT_UPDATES, budget or FloodBudget(), self._slow_down
        )
        self.app: TgApplication = (
            Application.builder()
            .token(config.telegram_token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            .job_queue(None)
            .request(http_request(health))
            .get_updates_request(
                http_request(health, gate=lambda: self.may_poll(), connection_pool_size=1)
            )
            .concurrent_updates(self.processor)
            .build()
        )
        self.sender = TelegramSender(self.app.bot, paid_broadcast=config.telegram_paid_broadcast)
        self.app.add_handler(CommandHandler(_COMMAND_WORDS, self._on_text))
        self.app.add_handler(MessageHandler(filters.COMMAND, self._on_text))  # unknown ones
        self.app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._on_plain))
        self.app.add_handler(MessageHandler(filters.Document.ALL, self._on_document))
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_error_handler(self._on_error)
        if self.http is not None:
            # Routes go in before the listener starts, whether or not Telegram is up yet.
            self.http.add_post(self.webhook_path, self._on_webhook)
        # Telegram lets one process poll a token: with several instances, the one holding
        # the polling lease (``bot.runtime.instance``) does.
        self.may_poll: Callable[[], bool] = lambda: True
        self._polling = asyncio.Lock()

    @property
    def polls(self) -> bool:
        """Whether updates come by polling (else by the webhook)."""
        return self.http is None

    async def start(self) -> None:
        """Connect (getMe), register the command menu, and start long polling. On failure
        everything is closed again, so ``start`` may be called again later."""
        await self.app.initialize()
        try:
            await self.register_commands()
            await self.app.start()
            if self.http is not None:
                await self._start_webhook(self.http)
                return
            await self.poll(self.may_poll())
        except BaseException:
            await self.stop()
            raise

    async def poll(self, allowed: bool) -> None:
        """Start or stop polling (once connected; ``start`` asks ``may_poll`` itself)."""
        async with self._polling:
            updater = self.app.updater
            if not self.polls or updater is None or not self.app.running:
                return
            if allowed and not updater.running:
                await updater.start_polling(
                    timeout=POLL_TIMEOUT,
                    allowed_updates=ALLOWED_UPDATES,
                    error_callback=_polling_failed,
                )
                log.info("telegram: polling as @%s", self.app.bot.username)
            elif not allowed and updater.running:
                await updater.stop()
                log.info("telegram: polling left to the instance holding its lease")

    async def _start_webhook(self, http: HttpServer) -> None:
        """Have Telegram push updates to us; every push must carry our secret token."""
        assert self.config.webhook_url is not None
        url = self.config.webhook_url.rstrip("/") + self.webhook_path
        await self.app.bot.set_webhook(
            url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES
        )
        log.info("telegram: webhook set for @%s", self.app.bot.username)

    async def _on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given, self.webhook_secret):
            return web.Response(status=401, text="unauthorized")
        try:
            update = Update.de_json(await request.json(), self.app.bot)
        except ValueError:
            return web.Response(status=400, text="not an update")
        if update is not None:
            await self.app.update_queue.put(update)
        return web.Response(text="ok")

    async def stop(self) -> None:
        """Stop polling, finish the updates in hand, close the HTTP clients."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.processor.queues.drain(SHUTDOWN_GRACE_S)
        await self.app.shutdown()
        # A start that failed at getMe left the HTTP clients open: the Application does
        # not count as initialised, so its shutdown did not close them.
        await self.app.bot.shutdown()

    async def probe(self) -> None:
        """Ask Telegram whether it answers (getMe)."""
        await self.app.bot.get_me()

    async def register_commands(self) -> None:
        """The ``/`` menu in Dutch (the default), English and French; a failure is only logged."""
        for language, texts in MENU.items():
            commands = [BotCommand(name, text) for name, text in texts.items()]
            code = None if language == "nl" else language
            try:
                await self.app.bot.set_my_commands(commands, language_code=code)
            except TelegramError as exc:
                log.warning("telegram: setMyCommands (%s) failed: %s", language, exc)

    # --- handlers ----------------------------------------------------------------------

    async def _context(self, update: Update) -> ChatContext | None:
        tg_chat, user = update.effective_chat, update.effective_user
        if tg_chat is None:
            return None
        address = str(tg_chat.id)
        chat = await self.service.store.chats.find(PLATFORM, address)
        if chat is None:
            spoken = _spoken_language(user.language_code if user is not None else None)
            chat = await self.service.chat_for(PLATFORM, address, _title(tg_chat), language=spoken)
        elif not chat.active:
            # They wrote to us, so the chat is reachable again (unblocked, re-added).
            await self.service.store.chats.reactivate(chat.id)
            chat = await self.service.store.chats.get(chat.id) or chat
        user_id = str(user.id) if user is not None else None
        return ChatContext(chat, user_id, self.config.is_admin(PLATFORM, user_id))

    async def _on_text(self, update: Update, context: TgContext) -> None:
        await self._when_database_answers(update, partial(self._text_update, update, context))

    async def _text_update(self, update: Update, context: TgContext) -> None:
        if not self._for_us(update):
            return
        ctx = await self._context(update)
        if ctx is not None:
            await self._handle_text(update, ctx)

    def _for_us(self, update: Update) -> bool:
        """``/mute@otherbot`` in a group is another bot's command, not ours."""
        text = update.effective_message.text if update.effective_message else None
        command = (text or "").split(maxsplit=1)[0] if text else ""
        _, at, target = command.partition("@")
        return not at or target.lower() == (self.app.bot.username or "").lower()

    async def _on_plain(self, update: Update, context: TgContext) -> None:
        await self._when_database_answers(update, partial(self._plain_update, update, context))

    async def _plain_update(self, update: Update, context: TgContext) -> None:
        ctx = await self._context(update)
        if ctx is None:
            return
        chat = update.effective_chat
        in_group = chat is not None and chat.type != TgChat.PRIVATE
        # In groups only the /connect conversation reads plain text; chatter is not for us.
        if in_group and await self.service.store.chats.conversation(ctx.chat.id) is None:
            return
        await self._handle_text(update, ctx)

    async def _handle_text(self, update: Update, ctx: ChatContext) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        replies = await self.service.handle(ctx, message.text)
        await self._answer(ctx, message, replies)

    async def _on_document(self, update: Update, context: TgContext) -> None:
        await self._when_database_answers(update, partial(self._document_update, update, context))

    async def _document_update(self, update: Update, context: TgContext) -> None:
        message = update.effective_message
        ctx = await self._context(update)
        if message is None or message.document is None or ctx is None:
            return
        document = message.document
        filename = Path(document.file_name or "upload").name or "upload"
        if not ctx.is_admin and not await self.service.store.chats.sellers_of(ctx.chat.id):
            # A stranger's file is not worth downloading.
            await self._answer(ctx, message, [Reply("who_are_you")])
            return
        if document.file_size is not None and document.file_size > MAX_UPLOAD_BYTES:
            await self._answer(
                ctx, message, [self.service.upload_too_big(filename, document.file_size)]
            )
            return
        with tempfile.TemporaryDirectory(prefix="normwacht-") as folder:
            path = Path(folder) / filename
            remote = await document.get_file()
            await remote.download_to_drive(path)
            replies = await self.service.handle_upload(ctx, path, filename)
        await self._answer(ctx, message, replies)

    async def _on_button(self, update: Update, context: TgContext) -> None:
        await self._when_database_answers(update, partial(self._button_update, update, context))

    async def _button_update(self, update: Update, context: TgContext) -> None:
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        data = query.data or ""
        command = data[1:].split(maxsplit=1)[0] if data.startswith("/") else ""
        ctx = await self._context(update)
        # Operator buttons (an exemption's confirmation) too: the service checks who pressed.
        if ctx is None or find(command, "telegram") is None:
            return
        replies = await self.service.handle(ctx, data)
        language = await self._language_after(ctx, replies)
        prompt = query.message if isinstance(query.message, Message) else None
        messages = [o for r in replies for o in outgoing(r, language, caption=prompt is None)]
        if prompt is not None and messages and messages[0].photo is None:
            # The answer takes the place of the question (and its buttons).
            first = messages.pop(0)
            try:
                await _patiently(
                    partial(
                        prompt.edit_text,
                        first.text or "",
                        parse_mode="HTML",
                        reply_markup=first.markup,  # none: Telegram drops the buttons
                        link_preview_options=NO_PREVIEW,
                    )
                )
            except BadRequest:
                messages.insert(0, first)
        await self._send(ctx, messages)

    async def _when_database_answers(
        self, update: Update, answer: Callable[[], Awaitable[None]]
    ) -> None:
        """Answer ``update``; while the database is briefly away, answer once it is back,
        and after a while say to try again rather than nothing."""
        try:
            await self.service.patiently(answer)
        except Exception as exc:
            if not self.service.store.db.unavailable(exc):
                raise
            log.warning(
                "telegram: update %s not answered: the database did not answer (%s)",
                update.update_id,
                exc,
            )
            tg_chat, user = update.effective_chat, update.effective_user
            if tg_chat is None:
                return
            spoken = _spoken_language(user.language_code if user is not None else None)
            language = cast(Language, spoken) if spoken else _default_language(self.config)
            text = render("try_again_later", {}, fmt="telegram", lang=language)
            with suppress(TelegramError):
                await self.app.bot.send_message(
                    chat_id_of(str(tg_chat.id)), text.text.strip(), parse_mode="HTML"
                )

    async def _slow_down(self, update: Update) -> None:
        """The one answer a flooding chat gets, in its language, before it is ignored."""
        tg_chat = update.effective_chat
        assert tg_chat is not None
        chat = await self.service.store.chats.find(PLATFORM, str(tg_chat.id))
        language = _language(chat) if chat is not None else _default_language(self.config)
        log.warning("telegram: chat %s sends too much; ignoring it for a while", tg_chat.id)
        per_minute = int(self.processor.budget.capacity)
        text = render("slow_down", {"per_minute": per_minute}, fmt="telegram", lang=language)
        with suppress(TelegramError):  # a failure here is not worth more traffic
            await self.app.bot.send_message(
                chat_id_of(str(tg_chat.id)), text.text.strip(), parse_mode="HTML"
            )

    async def _on_error(self, update: object, context: TgContext) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: update %s failed", update_id, exc_info=context.error)

    # --- replies -----------------------------------------------------------------------

    async def _language_after(self, ctx: ChatContext, replies: list[Reply]) -> Language:
        if any(r.kind == "language_set" for r in replies):
            fresh = await self.service.store.chats.get(ctx.chat.id)
            return _language(fresh or ctx.chat)
        return _language(ctx.chat)

    async def _answer(self, ctx: ChatContext, prompt: Message, replies: list[Reply]) -> None:
        if any(r.delete_prompt for r in replies):
            # It held a secret; without delete rights in a group this fails: say nothing.
            with suppress(TelegramError):
                await prompt.delete()
        language = await self._language_after(ctx, replies)
        await self._send(ctx, [o for r in replies for o in outgoing(r, language)])

    async def _send(self, ctx: ChatContext, messages: list[Outgoing]) -> None:
        chat_id = chat_id_of(ctx.chat.address)
        bot = self.app.bot
        for out in messages:
            if out.photo is not None:
                mode = "HTML" if out.text else None
                await _patiently(
                    partial(bot.send_photo, chat_id, out.photo, caption=out.text, parse_mode=mode)
                )
            elif out.text:
                await _patiently(
                    partial(
                        bot.send_message,
                        chat_id,
                        out.text,
                        parse_mode="HTML",
                        reply_markup=out.markup,
                        link_preview_options=NO_PREVIEW,
                    )
                )


def _polling_failed(exc: TelegramError) -> None:
    # PTB retries the poll itself; an outage is logged once, by the channel's health, but
    # a refusal (another process polling with our token, a revoked token) is worth a line.
    if is_outage(exc):
        log.debug("telegram: polling failed: %s", exc)
    else:
        log.warning("telegram: polling refused: %s", exc)


def _title(chat: TgChat) -> str:
    return chat.title or chat.full_name or ""
