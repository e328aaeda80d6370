"""The console chat: the same commands as Telegram, on standard input and output."""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from pathlib import Path
from typing import Any, TextIO, cast

from bot.commands.service import PLAN_DONE, ChatContext, Reply, Service
from bot.store import Chat
from messages import Language, render

CONSOLE = "console"
ADMIN_ADDRESS = "local"


class ConsoleSender:
    """Delivers outbox messages for the console chat by printing them."""

    platform = CONSOLE

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    async def send(self, address: str, body: dict[str, Any]) -> str | None:
        self.out.write(body["text"].rstrip() + "\n\n")
        self.out.flush()
        return None


class ConsoleChat:
    """Reads commands line by line and prints the replies as plain text."""

    def __init__(
        self,
        service: Service,
        chat: Chat,
        *,
        admin: bool,
        out: TextIO | None = None,
        inp: TextIO | None = None,
        image_dir: Path = Path("data"),
    ) -> None:
        self.service = service
        self.chat = chat
        self.admin = admin
        self.out = out or sys.stdout
        self.inp = inp or sys.stdin
        self.image_dir = image_dir

    def save_chart(self, subject: str, image: bytes) -> Path:
        """Each chart its own file (an earlier one is never overwritten), by its full path
        so it can be opened from anywhere."""
        self.image_dir.mkdir(parents=True, exist_ok=True)
        for number in itertools.count(1):
            path = (self.image_dir / f"history-{subject}-{number}.png").resolve()
            try:
                with path.open("xb") as file:  # "x": never two charts in one file
                    file.write(image)
            except FileExistsError:
                continue
            return path
        raise AssertionError("unreachable")

    async def refresh(self) -> None:
        fresh = await self.service.store.chats.get(self.chat.id)
        if fresh is not None:
            self.chat = fresh

    def context(self) -> ChatContext:
        return ChatContext(self.chat, user_id=None, is_admin=self.admin)

    async def serve(self, stop: asyncio.Event | None = None) -> None:
        """Answer until end of input, or until ``stop`` is set (SIGTERM)."""
        interactive = self.inp.isatty()
        lines = self._lines()
        stopping = asyncio.ensure_future((stop or asyncio.Event()).wait())
        try:
            while True:
                if interactive:
                    self.out.write("> ")
                    self.out.flush()
                reading = asyncio.ensure_future(lines.get())
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    reading.cancel()
                    return
                line = reading.result()
                if line is None:
                    return
                if not line.strip():
                    continue
                await self.answer(line)
        finally:
            stopping.cancel()

    def _lines(self) -> asyncio.Queue[str | None]:
        """Lines of input, read by a daemon thread: a blocked read never holds up exit."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            for line in iter(self.inp.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=read, name="console-input", daemon=True).start()
        return queue

    async def answer(self, line: str) -> None:
        replies = await self.service.handle(self.context(), line)
        await self.refresh()
        for reply in replies:
            await self.show(reply)

    async def show(self, reply: Reply) -> None:
        fan_out = reply.kind == "choose_seller" and reply.command != PLAN_DONE
        if reply.choices and reply.command and fan_out:
            # No buttons here: answer for each seller the chat follows. (A confirmation is
            # never pressed for the operator: its text says what to type.)
            for seller in reply.choices:
                for answer in await self.service.handle(
                    self.context(), f"/{reply.command} {seller.id}"
                ):
                    await self.show(answer)
            return
        lang = cast(Language, self.chat.language)
        text = render(reply.kind, reply.data, fmt="text", lang=lang).text
        if reply.image is not None:
            subject = reply.data.get("seller")
            path = self.save_chart(str(getattr(subject, "id", "chart")), reply.image)
            text = f"{text.rstrip()}\n[{path}]"
        self.out.write(text.rstrip() + "\n\n")
        self.out.flush()
