"""A fake Slack Web API that slack_sdk's AsyncWebClient (and so bolt) talks to over real HTTP.

async with FakeSlack() as slack:
    client = AsyncWebClient(token="xoxb-test", base_url=f"{slack.url}/api/")
    await client.chat_postMessage(channel="C1", text="hi")
    assert slack.posted_texts("C1") == ["hi"]
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes._server import FakeServer, count_recent

JSON = dict[str, Any]
Handler = Callable[[JSON], Awaitable[JSON]]

# Form-encoded calls carry structured arguments as JSON strings.
_JSON_KEYS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
_CHANNEL_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "conversations.info"}
)


@dataclass
class UploadedFile:
    """A file sent through files.getUploadURLExternal, the upload URL and completeUpload."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


class SlackApiFailure(Exception):
    """Raised inside a handler; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, status: int = 200, retry_after: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after

    def response(self) -> web.Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return web.json_response(
            {"ok": False, "error": self.error}, status=self.status, headers=headers
        )


class FakeSlack(FakeServer):
    """Web API at ``{url}/api/{method}``; file uploads at ``{url}/upload/{file_id}``."""

    def __init__(
        self,
        *,
        token: str | None = None,
        app_token: str | None = None,
        team_id: str = "T0000001",
        bot_user_id: str = "U0BOT0001",
        bot_id: str = "B0000001",
        latency_s: float = 0.0,
        port: int = 0,
    ) -> None:
        """``token``: if given, other tokens get ``invalid_auth`` (none: ``not_authed``).
        ``app_token``: if given, the one Socket Mode's apps.connections.open takes (others
        get ``invalid_auth``); it answers with a socket address nobody serves unless a test
        queued its own. ``port``: listen there (0: a free port)."""
        super().__init__(port)
        self.token = token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.latency_s = latency_s
        self.rejected_429 = 0
        self.messages: dict[tuple[str, str], JSON] = {}  # (channel, ts) -> message, as now
        self.ephemerals: list[JSON] = []  # {"channel", "user", "text", "blocks"}
        self.views: dict[str, JSON] = {}  # user_id -> published home view
        self.files: dict[str, UploadedFile] = {}
        self.users: dict[str, JSON] = {}
        self.channels: dict[str, JSON] = {}
        self._posted: list[JSON] = []
        self._channel_errors: dict[str, str] = {}
        self._queued: dict[str, deque[SlackApiFailure | JSON]] = defaultdict(deque)
        self._channel_rate: tuple[float, float] | None = None
        self._channel_stamps: dict[str, deque[float]] = defaultdict(deque)
        self._seq = itertools.count(1)
        self._t0 = int(time.time())
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "views.publish": self._views_publish,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        self.app.router.add_route("*", "/api/{method}", self._handle_api)
        self.app.router.add_post("/upload/{file_id}", self._handle_upload)

    # ---- what the bot did -------------------------------------------------------------

    def posted_messages(self, channel: str | None = None) -> list[JSON]:
        """Messages posted with chat.postMessage, in order, as they are now (after updates)."""
        out = []
        for m in self._posted:
            if channel is None or m["channel"] == channel:
                out.append(self.messages[(m["channel"], m["ts"])])
        return out

    sent_messages = posted_messages

    def posted_texts(self, channel: str | None = None) -> list[str]:
        """The ``text`` of each posted message."""
        return [str(m.get("text", "")) for m in self.posted_messages(channel)]

    # ---- workspace set-up -------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "Europe/Amsterdam",
        locale: str = "nl-NL",
    ) -> JSON:
        """Make users.info know a user (unknown users are plain members, not admins)."""
        user = _user(user_id, name or user_id.lower(), is_admin, is_owner, tz, self.team_id)
        user["locale"] = locale
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_private: bool = False,
        is_im: bool = False,
        is_member: bool = True,
    ) -> JSON:
        """Make conversations.info describe a channel (unknown ones are public, bot a member)."""
        channel = _channel(channel_id, name or channel_id.lower(), is_private, is_im, is_member)
        self.channels[channel_id] = channel
        return channel

    def set_channel_error(self, channel: str, error: str = "channel_not_found") -> None:
        """Calls about ``channel`` fail with ``error`` (``channel_not_found``, ``not_in_channel``,
        ``is_archived``...); conversations.info fails only with ``channel_not_found``."""
        self._channel_errors[channel] = error

    def clear_channel_error(self, channel: str) -> None:
        self._channel_errors.pop(channel, None)

    # ---- failures and limits ----------------------------------------------------------

    def add_response(self, method: str, body: JSON) -> None:
        """Queue a raw (HTTP 200) JSON answer to the next call of ``method``."""
        self._queued[method].append(body)

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail.

        429 carries ``Retry-After`` and ``error: ratelimited``; 5xx ``internal_error``;
        status 200 needs an ``error`` (``{"ok": false, "error": error}``).
        """
        if error is None:
            if status == 200:
                raise ValueError("a status-200 failure needs an error code")
            error = "ratelimited" if status == 429 else "internal_error"
        for _ in range(times):
            self._queued[method].append(
                SlackApiFailure(error, status, retry_after if status == 429 else None)
            )

    def enforce_channel_rate(self, per_s: float = 1.0, tolerance_s: float = 0.05) -> None:
        """chat.postMessage beyond ``per_s`` a second per channel answers 429 (counted)."""
        self._channel_rate = (per_s, tolerance_s)

    # ---- HTTP -------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _read_params(request)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            params["token"] = auth.removeprefix("Bearer ")
        self._record(method, params)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        try:
            if method == "apps.connections.open" and self.app_token is not None:
                if params.get("token") != self.app_token:  # the app token's one call
                    raise SlackApiFailure("invalid_auth")
            else:
                self._check_token(params.get("token"))
            if self._queued[method]:
                queued = self._queued[method].popleft()
                if isinstance(queued, SlackApiFailure):
                    raise queued
                return web.json_response(queued)
            handler = self._methods.get(method)
            if handler is None:
                raise SlackApiFailure("unknown_method")
            if method in _CHANNEL_METHODS:
                self._check_channel(method, str(params.get("channel", "")))
            return web.json_response({"ok": True, **await handler(params)})
        except SlackApiFailure as exc:
            if exc.status == 429:
                self.rejected_429 += 1
            return exc.response()

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        content = await request.read()
        self._record("upload", {"file_id": file_id, "length": len(content)})
        upload = self.files.get(file_id)
        if upload is None:
            return web.Response(status=404, text="file not found")
        upload.content = content
        # files.slack.com answers in plain text; slack_sdk only looks at the status.
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    def _check_token(self, token: Any) -> None:
        if not token:
            raise SlackApiFailure("not_authed")
        if self.token is not None and token != self.token:
            raise SlackApiFailure("invalid_auth")

    def _check_channel(self, method: str, channel: str) -> None:
        if not channel:
            raise SlackApiFailure("channel_not_found")
        error = self._channel_errors.get(channel)
        if error and (method != "conversations.info" or error == "channel_not_found"):
            raise SlackApiFailure(error)
        if method == "chat.postMessage" and self._channel_rate is not None:
            per_s, tolerance = self._channel_rate
            stamps = self._channel_stamps[channel]
            now = time.monotonic()
            window = 1.0 - tolerance
            if count_recent(stamps, now, window) >= per_s:
                raise SlackApiFailure(
                    "ratelimited", 429, max(1, math.ceil(stamps[0] + window - now))
                )
            stamps.append(now)

    # ---- methods ----------------------------------------------------------------------

    async def _connections_open(self, params: JSON) -> JSON:
        # No Socket Mode here: an address nobody serves (a test queues its own server's).
        return {"url": "wss://127.0.0.1:9/link"}

    async def _auth_test(self, params: JSON) -> JSON:
        return {
            "url": "https://normwacht.slack.com/",
            "team": "Normwacht",
            "user": "normwacht",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _post_message(self, params: JSON) -> JSON:
        channel = str(params["channel"])
        if not params.get("text") and not params.get("blocks") and not params.get("attachments"):
            raise SlackApiFailure("no_text")
        if len(params.get("blocks") or []) > 50:
            raise SlackApiFailure("invalid_blocks")
        ts = self._next_ts()
        message = self._message(params, ts)
        self.messages[(channel, ts)] = message
        self._posted.append({"channel": channel, "ts": ts})
        return {"channel": channel, "ts": ts, "message": message}

    async def _update(self, params: JSON) -> JSON:
        channel, ts = str(params["channel"]), str(params.get("ts", ""))
        if (channel, ts) not in self.messages:
            raise SlackApiFailure("message_not_found")
        message = {**self.messages[(channel, ts)], **self._message(params, ts)}
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "text": message.get("text", ""), "message": message}

    async def _post_ephemeral(self, params: JSON) -> JSON:
        if not params.get("user"):
            raise SlackApiFailure("user_not_found")
        self.ephemerals.append(
            {
                "channel": params["channel"],
                "user": params["user"],
                "text": params.get("text"),
                "blocks": params.get("blocks"),
            }
        )
        return {"message_ts": self._next_ts()}

    async def _views_publish(self, params: JSON) -> JSON:
        user_id, view = params.get("user_id"), params.get("view")
        if not user_id or not isinstance(view, dict):
            raise SlackApiFailure("invalid_arguments")
        published = {"id": f"V{next(self._seq):08d}", "team_id": self.team_id, **view}
        self.views[str(user_id)] = published
        return {"view": published}

    async def _conversations_info(self, params: JSON) -> JSON:
        channel = str(params["channel"])
        return {"channel": self.channels.get(channel) or self.add_channel(channel)}

    async def _users_info(self, params: JSON) -> JSON:
        user_id = str(params.get("user", ""))
        if not user_id:
            raise SlackApiFailure("user_not_found")
        return {"user": self.users.get(user_id) or self.add_user(user_id)}

    async def _get_upload_url(self, params: JSON) -> JSON:
        filename, length = params.get("filename"), params.get("length")
        if not filename or length is None:
            raise SlackApiFailure("invalid_arguments")
        file_id = f"F{next(self._seq):08d}"
        self.files[file_id] = UploadedFile(file_id, str(filename), int(length))
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _complete_upload(self, params: JSON) -> JSON:
        channel = params.get("channel_id") or params.get("channels")
        if channel:
            self._check_channel("files.completeUploadExternal", str(channel))
        done = []
        for item in params.get("files") or []:
            upload = self.files.get(str(item.get("id")))
            if upload is None or upload.content is None:
                raise SlackApiFailure("file_not_found")
            upload.title = item.get("title") or upload.filename
            upload.channel_id = str(channel) if channel else None
            upload.initial_comment = params.get("initial_comment")
            upload.thread_ts = params.get("thread_ts")
            upload.completed = True
            done.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": upload.title,
                    "size": len(upload.content),
                    "user": self.bot_user_id,
                    "channels": [upload.channel_id] if upload.channel_id else [],
                }
            )
        if not done:
            raise SlackApiFailure("invalid_arguments")
        return {"files": done}

    # ---- building blocks --------------------------------------------------------------

    def _next_ts(self) -> str:
        n = next(self._seq)
        return f"{self._t0 + n}.{n:06d}"

    def _message(self, params: JSON, ts: str) -> JSON:
        message: JSON = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "team": self.team_id,
            "ts": ts,
            "text": params.get("text", ""),
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) is not None:
                message[key] = params[key]
        return message


async def _read_params(request: web.Request) -> JSON:
    """Query string, form and JSON body, as slack_sdk mixes them (e.g. ``params=`` is a query)."""
    params: JSON = dict(request.query)
    if request.content_type == "application/json" and request.body_exists:
        params.update(await request.json())
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                with value.file as fh:
                    params[key] = fh.read()
            else:
                params[key] = value
    for key in _JSON_KEYS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


def _user(user_id: str, name: str, is_admin: bool, is_owner: bool, tz: str, team: str) -> JSON:
    return {
        "id": user_id,
        "team_id": team,
        "name": name,
        "real_name": name.title(),
        "deleted": False,
        "is_bot": False,
        "is_admin": is_admin,
        "is_owner": is_owner,
        "tz": tz,
        "profile": {"real_name": name.title(), "display_name": name},
    }


def _channel(channel_id: str, name: str, is_private: bool, is_im: bool, is_member: bool) -> JSON:
    return {
        "id": channel_id,
        "name": name,
        "is_channel": not is_im and not is_private,
        "is_group": is_private,
        "is_im": is_im,
        "is_private": is_private or is_im,
        "is_member": is_member,
        "is_archived": False,
    }
