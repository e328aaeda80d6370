"""A fake Telegram Bot API that python-telegram-bot talks to over real HTTP.

async with FakeTelegram() as tg:
    bot = Bot(TOKEN, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")
    tg.push_message(42, "/start")
    ...
    assert tg.sent_texts(42) == ["Hallo!"]
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import mimetypes
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.fakes._server import FakeServer, count_recent

JSON = dict[str, Any]
ChatId = int | str
Handler = Callable[[JSON, dict[str, "Upload"]], Awaitable[Any]]

SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
# PTB sends every parameter as a string; these are turned back into their JSON types.
_INT_KEYS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "user_id", "reply_to_message_id", "cache_time"}
)
_FLOAT_KEYS = frozenset({"timeout"})
_BOOL_KEYS = frozenset(
    {
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "show_alert",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "allow_paid_broadcast",
    }
)
# Paid broadcasts (``allow_paid_broadcast``): up to 1,000 sends a second; those beyond the
# free limit are billed, 0.1 Telegram Stars each.
PAID_PER_S = 1000
_JSON_KEYS = frozenset(
    {
        "reply_markup",
        "commands",
        "scope",
        "allowed_updates",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
    }
)


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart request."""

    filename: str | None
    content: bytes
    content_type: str


@dataclass(frozen=True)
class StoredFile:
    """A file that getFile and the download URL serve."""

    file_id: str
    file_path: str
    content: bytes
    file_size: int


class TelegramApiError(Exception):
    """Raised inside a handler; becomes ``{"ok": false, "error_code": ..., ...}``."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _coerce(key: str, value: str) -> Any:
    try:
        if key in _INT_KEYS:
            return int(value)
        if key in _FLOAT_KEYS:
            return float(value)
        if key in _JSON_KEYS:
            return json.loads(value)
    except ValueError:
        return value  # "@channel" as chat_id, or a malformed value: keep what was sent
    if key in _BOOL_KEYS:
        return value.lower() == "true"
    return value


def _copy_inline_keyboard(params: JSON, message: JSON) -> None:
    # Telegram echoes only inline keyboards in the Message; reply keyboards are not returned.
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup


def _default_description(status: int) -> str:
    if status == 429:
        return "Too Many Requests"
    if status == 403:
        return "Forbidden: bot was blocked by the user"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class FakeTelegram(FakeServer):
    """Bot API at ``{url}/bot{token}/{method}``, files at ``{url}/file/bot{token}/{path}``."""

    def __init__(
        self,
        *,
        token: str | None = None,
        username: str = "normwacht_bot",
        bot_id: int = 7_000_001,
        latency_s: float = 0.0,
        port: int = 0,
    ) -> None:
        """``token``: if given, other tokens get 401. ``latency_s``: delay before each answer.
        ``port``: listen there (0: a free port)."""
        super().__init__(port)
        self.token = token
        self.username = username
        self.bot_id = bot_id
        self.latency_s = latency_s
        self.rejected_429 = 0
        # Sends with allow_paid_broadcast beyond the free limit: what Telegram would bill.
        self.billed = 0
        self.commands: dict[str, list[JSON]] = {}  # setMyCommands per language_code ("" = default)
        self.webhook_url = ""
        self.uploads: list[tuple[str, str, Upload]] = []  # (method, field, upload)
        self.files: dict[str, StoredFile] = {}
        self.messages: dict[tuple[ChatId, int], JSON] = {}  # every message, by (chat, id)
        self._sent: list[JSON] = []
        self._pending: list[JSON] = []  # updates not yet confirmed by an offset
        self._waiters: set[asyncio.Future[None]] = set()
        self._closing = False
        self._queued: dict[str, deque[tuple[int, JSON]]] = defaultdict(deque)
        self._blocked: set[ChatId] = set()
        self._chats: dict[ChatId, JSON] = {}
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._limits: tuple[int, int, int, float] | None = None
        self._global_stamps: deque[float] = deque()
        self._chat_stamps: dict[ChatId, deque[float]] = defaultdict(deque)
        self._group_stamps: dict[ChatId, deque[float]] = defaultdict(deque)
        self._methods: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "answerCallbackQuery": self._true,
            "editMessageText": self._edit_message_text,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._true,
        }
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        self.app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    # ---- what the bot did -------------------------------------------------------------

    def sent_messages(self, chat_id: ChatId | None = None) -> list[JSON]:
        """Messages the bot sent (sendMessage, sendPhoto, sendDocument), in order."""
        return [m for m in self._sent if chat_id is None or m["chat"]["id"] == chat_id]

    def sent_texts(self, chat_id: ChatId | None = None) -> list[str]:
        """Text (or caption) of each message the bot sent, as it is now (after edits)."""
        out = []
        for m in self.sent_messages(chat_id):
            now = self.messages.get((m["chat"]["id"], m["message_id"]), m)
            out.append(str(now.get("text", now.get("caption", ""))))
        return out

    # ---- user traffic -----------------------------------------------------------------

    def push_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        chat_type: str = "private",
        *,
        first_name: str = "Test",
        username: str | None = None,
        language_code: str | None = None,
    ) -> JSON:
        """Queue a user's text message for getUpdates; ``/command`` gets its entity."""
        message = self._user_message(
            chat_id, user_id, chat_type, first_name, username, language_code
        )
        message["text"] = text
        if text.startswith("/"):
            # PTB's CommandHandler only sees commands that carry a bot_command entity.
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._push({"message": message})

    def push_document(
        self,
        chat_id: int,
        filename: str,
        content: bytes,
        user_id: int | None = None,
        chat_type: str = "private",
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        file_size: int | None = None,
    ) -> JSON:
        """Queue a document message; the file is served by getFile and its download URL.

        ``file_size`` overrides the announced size (to test the 20 MB check cheaply).
        """
        stored = self.add_file(content, f"documents/{filename}")
        message = self._user_message(chat_id, user_id, chat_type, "Test", None, None)
        message["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": f"u{stored.file_id}",
            "file_name": filename,
            "mime_type": mime_type
            or mimetypes.guess_type(filename)[0]
            or "application/octet-stream",
            "file_size": stored.file_size if file_size is None else file_size,
        }
        if caption is not None:
            message["caption"] = caption
        return self._push({"message": message})

    def push_callback(
        self, chat_id: int, data: str, message_id: int, user_id: int | None = None
    ) -> JSON:
        """Queue a button press on ``message_id`` (a message the bot sent, if known)."""
        message = self.messages.get((chat_id, message_id)) or {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            "text": "",
        }
        query = {
            "id": str(next(self._ids)),
            "from": self._user(user_id if user_id is not None else chat_id, "Test", None, None),
            "chat_instance": f"ci{chat_id}",
            "data": data,
            "message": message,
        }
        return self._push({"callback_query": query})

    def add_file(self, content: bytes, file_path: str | None = None) -> StoredFile:
        """Register a file for getFile and download; returns it with its file_id."""
        n = next(self._ids)
        file_id = f"file-{n}"
        stored = StoredFile(file_id, f"{n}/{file_path or f'file_{n}'}", content, len(content))
        self.files[file_id] = stored
        return stored

    # ---- failures and limits ----------------------------------------------------------

    def add_response(
        self, method: str, result: Any = True, *, status: int = 200, body: JSON | None = None
    ) -> None:
        """Queue the answer to the next call of ``method``: ``result``, or a raw ``body``."""
        self._queued[method].append(
            (status, body if body is not None else {"ok": True, "result": result})
        )

    def pass_next(self, method: str) -> None:
        """Queue a normal answer: with ``fail_next`` after it, the second call fails."""
        self._queued[method].append((0, {}))

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``status`` (429 carries retry_after)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or _default_description(status)
        if retry_after is not None and description is None:
            text = f"{text}: retry after {retry_after}"
        error = TelegramApiError(status, text, retry_after)
        for _ in range(times):
            self.add_response(method, status=status, body=error.body())

    def block_chat(self, chat_id: ChatId) -> None:
        """The user blocked the bot: sending to this chat answers 403."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: ChatId) -> None:
        self._blocked.discard(chat_id)

    def enforce_limits(
        self,
        global_per_s: int = 30,
        per_chat_per_s: int = 1,
        per_group_per_min: int = 20,
        tolerance_s: float = 0.05,
    ) -> None:
        """Answer 429 (counted in ``rejected_429``) to sends beyond Telegram's limits.

        ``tolerance_s`` shortens each window a little so pacing at exactly the limit passes.
        """
        self._limits = (global_per_s, per_chat_per_s, per_group_per_min, tolerance_s)

    # ---- HTTP -------------------------------------------------------------------------

    async def _before_stop(self) -> None:
        self._closing = True
        self._wake_waiters()

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, uploads = await self._read_params(request)
        self._record(method, params)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        try:
            if self.token is not None and request.match_info["token"] != self.token:
                raise TelegramApiError(401, "Unauthorized")
            queued = self._queued[method].popleft() if self._queued[method] else None
            if queued is not None and queued[0] != 0:
                status, body = queued
                if status == 429:
                    self.rejected_429 += 1
                return web.json_response(body, status=status)
            handler = self._methods.get(method)
            if handler is None:
                raise TelegramApiError(404, "Not Found: method not found")
            if method in SEND_METHODS or method == "sendChatAction":
                self._check_chat(method, params)
            result = await handler(params, uploads)
        except TelegramApiError as exc:
            if exc.status == 429:
                self.rejected_429 += 1
            return web.json_response(exc.body(), status=exc.status)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self._record("download", {"file_path": path})
        if self.token is not None and request.match_info["token"] != self.token:
            raise web.HTTPUnauthorized()
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.content, content_type="application/octet-stream")
        raise web.HTTPNotFound()

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, Upload]]:
        params: JSON = {k: _coerce(k, v) for k, v in request.query.items()}
        uploads: dict[str, Upload] = {}
        if request.content_type == "application/json" and request.body_exists:
            params.update(await request.json())
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    with value.file as fh:
                        content = fh.read()
                    uploads[key] = Upload(value.filename, content, value.content_type)
                else:
                    params[key] = _coerce(key, str(value))
        for key, value in list(params.items()):
            # PTB may point a parameter at a multipart part: "attach://<name>".
            if isinstance(value, str) and value.startswith("attach://"):
                part = uploads.get(value.removeprefix("attach://"))
                if part is not None:
                    uploads[key] = part
        return params, uploads

    def _check_chat(self, method: str, params: JSON) -> None:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise TelegramApiError(400, "Bad Request: chat_id is empty")
        if chat_id in self._blocked:
            raise TelegramApiError(403, "Forbidden: bot was blocked by the user")
        if self._limits is None or method not in SEND_METHODS:
            return
        global_max, chat_max, group_max, tolerance = self._limits
        paid = params.get("allow_paid_broadcast") is True
        now = time.monotonic()
        windows = [
            (self._global_stamps, 1.0, PAID_PER_S if paid else global_max),
            (self._chat_stamps[chat_id], 1.0, chat_max),
        ]
        if isinstance(chat_id, int) and chat_id < 0:
            windows.append((self._group_stamps[chat_id], 60.0, group_max))
        for stamps, window, limit in windows:
            if count_recent(stamps, now, window - tolerance) >= limit:
                wait = stamps[0] + window - tolerance - now
                retry = max(1, math.ceil(wait))
                raise TelegramApiError(429, f"Too Many Requests: retry after {retry}", retry)
        if paid and count_recent(self._global_stamps, now, 1.0 - tolerance) >= global_max:
            self.billed += 1
        for stamps, _, _ in windows:
            stamps.append(now)

    # ---- methods ----------------------------------------------------------------------

    async def _true(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        return True

    async def _get_me(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _delete_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _set_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.webhook_url = str(params.get("url", ""))
        return True

    async def _get_webhook_info(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _get_updates(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while not self._pending and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                break
            finally:
                self._waiters.discard(waiter)
        return self._pending[:limit]

    async def _send_message(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        text = params.get("text")
        if not text:
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if len(str(text)) > 4096:
            raise TelegramApiError(400, "Bad Request: message is too long")
        return self._bot_message(params, {"text": text})

    async def _send_photo(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        file_id = self._take_file("sendPhoto", "photo", params, uploads)
        stored = self.files.get(file_id)
        size = stored.file_size if stored else 0
        photo = [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 800,
                "height": 600,
                "file_size": size,
            }
        ]
        return self._bot_message(params, {"photo": photo})

    async def _send_document(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        file_id = self._take_file("sendDocument", "document", params, uploads)
        stored = self.files.get(file_id)
        upload = uploads.get("document")
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": (upload.filename if upload else None) or "document",
            "mime_type": upload.content_type if upload else "application/octet-stream",
            "file_size": stored.file_size if stored else 0,
        }
        return self._bot_message(params, {"document": document})

    async def _get_file(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            raise TelegramApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": f"u{stored.file_id}",
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    async def _set_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.commands[str(params.get("language_code") or "")] = list(params.get("commands", []))
        return True

    async def _get_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    async def _delete_my_commands(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        self.commands.pop(str(params.get("language_code") or ""), None)
        return True

    async def _edit_message_text(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        key: tuple[ChatId, int] = (params.get("chat_id", ""), params.get("message_id", 0))
        message = self.messages.get(key)
        if message is None:
            raise TelegramApiError(400, "Bad Request: message to edit not found")
        if message.get("text") == params.get("text") and "reply_markup" not in params:
            raise TelegramApiError(400, "Bad Request: message is not modified")
        # Like Telegram: an edit without reply_markup removes the buttons.
        message = {k: v for k, v in message.items() if k != "reply_markup"} | {
            "text": params.get("text"),
            "edit_date": int(time.time()),
        }
        _copy_inline_keyboard(params, message)
        self.messages[key] = message
        return message

    async def _delete_message(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        key: tuple[ChatId, int] = (params.get("chat_id", ""), params.get("message_id", 0))
        if self.messages.pop(key, None) is None:
            raise TelegramApiError(400, "Bad Request: message to delete not found")
        return True

    # ---- building blocks --------------------------------------------------------------

    def _take_file(self, method: str, field: str, params: JSON, uploads: dict[str, Upload]) -> str:
        upload = uploads.get(field)
        if upload is not None:
            self.uploads.append((method, field, upload))
            return self.add_file(upload.content, upload.filename).file_id
        value = params.get(field)
        if not value:
            raise TelegramApiError(400, f"Bad Request: there is no {field} in the request")
        return str(value)  # an existing file_id or URL

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Normwacht",
            "username": self.username,
        }

    def _user(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> JSON:
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat(self, chat_id: ChatId, chat_type: str | None = None) -> JSON:
        if chat_type is not None:
            chat: JSON = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = "Test"
            else:
                chat["title"] = f"Chat {chat_id}"
            self._chats[chat_id] = chat
        if chat_id not in self._chats:
            guessed = "private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup"
            return self._chat(chat_id, guessed)
        return self._chats[chat_id]

    def _user_message(
        self,
        chat_id: int,
        user_id: int | None,
        chat_type: str,
        first_name: str,
        username: str | None,
        language_code: str | None,
    ) -> JSON:
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 1001
        message: JSON = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type),
            "from": self._user(user_id, first_name, username, language_code),
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _bot_message(self, params: JSON, content: JSON) -> JSON:
        chat_id = params["chat_id"]
        message: JSON = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user(),
            **content,
        }
        if params.get("caption"):
            message["caption"] = params["caption"]
        _copy_inline_keyboard(params, message)
        self.messages[(chat_id, message["message_id"])] = message
        self._sent.append(message)
        return message

    def _push(self, update: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), **update}
        self._pending.append(update)
        self._wake_waiters()
        return update

    def _wake_waiters(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
