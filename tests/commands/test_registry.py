"""The command registry: each command declared once, found by its name or an alias on the
platforms that offer it."""

from __future__ import annotations

import pytest

from bot.commands import settings
from bot.commands.registry import (
    COMMANDS,
    Command,
    answered_by_channel,
    by_word,
    find,
    menu,
    not_offered_on,
)


def test_every_command_is_found_by_its_name_in_any_case() -> None:
    for command in COMMANDS:
        platform = "slack" if command.handler is None else "telegram"
        assert find(command.name.upper(), platform) is command


def test_connect_is_not_offered_in_slack_and_subscriptions_only_there() -> None:
    assert find("connect", "slack") is None and find("connect", "console") is not None
    assert find("subscribe", "telegram") is None
    assert answered_by_channel("slack") == {"subscribe", "unsubscribe"}
    assert not_offered_on("slack") == {"connect"}
    assert answered_by_channel("telegram") == frozenset()


def test_the_menu_holds_the_public_commands_of_a_platform_in_order() -> None:
    names = [c.name for c in menu("telegram")]
    assert names[:3] == ["start", "help", "score"] and names[-1] == "connect"
    assert "linkcode" not in names and "exempt" not in names and "subscribe" not in names
    assert "connect" not in [c.name for c in menu("slack")]
    assert all(c.help for c in menu("telegram"))


def test_an_alias_starts_its_command() -> None:
    command = Command("help", settings.help_, "Help", aliases={"nl": ("hulp",), "fr": ("aide",)})
    assert command.words == ("help", "hulp", "aide")
    assert by_word((command,)) == {"help": command, "hulp": command, "aide": command}


def test_a_word_that_names_two_commands_is_refused() -> None:
    first = Command("mute", settings.mute)
    second = Command("stil", settings.mute, aliases={"nl": ("mute",)})
    with pytest.raises(ValueError, match="/mute names both mute and stil"):
        by_word((first, second))
