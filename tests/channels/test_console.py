"""The console chat: the operator's own, with plain text and charts as files."""

from __future__ import annotations

import io
import os
from pathlib import Path

from bot.channels.console import ADMIN_ADDRESS, CONSOLE, ConsoleChat
from bot.commands.service import Service
from bot.config import Config
from bot.store import Store
from tests.conftest import FixedClock


async def console(
    sample_store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> tuple[ConsoleChat, io.StringIO]:
    service = Service(sample_store, config, clock)
    chat = await service.chat_for(CONSOLE, ADMIN_ADDRESS)
    out = io.StringIO()
    relative = Path(os.path.relpath(tmp_path / "charts"))
    return ConsoleChat(service, chat, admin=True, out=out, image_dir=relative), out


async def test_each_chart_gets_its_own_file_named_by_its_full_path(
    sample_store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    chat, out = await console(sample_store, config, clock, tmp_path)
    await chat.answer("/history snel-speelgoed 6")
    await chat.answer("/history snel-speelgoed 12")
    paths = [line[1:-1] for line in out.getvalue().splitlines() if line.startswith("[")]
    assert paths == [
        str(tmp_path / "charts" / "history-snel-speelgoed-1.png"),
        str(tmp_path / "charts" / "history-snel-speelgoed-2.png"),
    ]
    first, second = (Path(p).read_bytes() for p in paths)
    assert first.startswith(b"\x89PNG") and second.startswith(b"\x89PNG") and first != second


async def test_an_overview_and_plan_done_are_not_run_for_every_seller(
    sample_store: Store, config: Config, clock: FixedClock, tmp_path: Path
) -> None:
    chat, out = await console(sample_store, config, clock, tmp_path)
    await chat.answer("/status")
    lines = out.getvalue().splitlines()
    assert lines[0] == "🧭 Status · 5 verkopers" and len(lines) < 12
    await chat.answer("/plan done")
    assert "verbeterplan voor Snel Speelgoed is ingediend" in out.getvalue()
    submitted = []
    for seller in await sample_store.sellers.all():
        report = await chat.service.report_for(seller)
        if report is not None and report.track is not None and report.track.plan:
            submitted.append((seller.id, report.track.plan))
    assert submitted == [("snel-speelgoed", "submitted")]
