"""/plan and /plan done."""

from __future__ import annotations

import pytest

from bot.commands.service import Service
from tests.conftest import ChatOf

pytestmark = pytest.mark.both_engines


async def test_plan_done_records_the_submitted_plan(chat_of: ChatOf, service: Service) -> None:
    talk = await chat_of("snel-speelgoed")
    [before] = await talk.push("/plan")
    assert before.kind == "plan" and before.data["report"].track.plan == "required"
    assert [r.kind for r in await talk.push("/plan done")] == ["plan_done"]
    [after] = await talk.push("/status")
    assert after.data["report"].track.plan == "submitted"
    other = await chat_of("zonnig-wonen", address="503")
    assert [r.kind for r in await other.push("/plan done")] == ["plan_not_required"]


async def test_plan_done_in_a_team_chat_marks_only_the_seller_that_owes_a_plan(
    chat_of: ChatOf,
    service: Service,
) -> None:
    team = await chat_of("zonnig-wonen", "snel-speelgoed", "boekenhoek")
    # The confirmation names the seller it marked.
    assert "verbeterplan voor Snel Speelgoed is ingediend" in await team.text("/plan done")
    [done] = team.replies[-1:]
    assert (done.kind, done.data["seller"].id) == ("plan_done", "snel-speelgoed")
    [status] = await team.push("/status snel-speelgoed")
    assert status.data["report"].track.plan == "submitted"
    # Nobody owes one any more: asked which, never marked for all.
    [ask] = await team.push("/plan done")
    assert ask.kind == "choose_seller" and ask.command == "plan done"
    assert ask.data["command"] == "plan done" and len(ask.choices) == 3
