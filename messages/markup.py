"""Per-format escaping and markup, and the markers templates use to lay out a message.

Templates never write ``<b>`` or ``*``: they call ``b(x)``, ``i(x)``, ``code(x)`` and
``cmd(x)``, which each environment binds to its format. Structure (header, sections,
fields, context, dividers) is marked with control characters that only these helpers
emit; ``compose`` turns the marked text into Telegram HTML, Slack blocks or plain text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from messages.model import Format

MARK = "\x1e"
HEADER, SECTION, FIELD, CONTEXT, DIVIDER = "H", "S", "F", "C", "D"

# C0 control characters except tab and newline: never let data forge a marker.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Slack decodes only these three entities; escaping is made idempotent so that text
# escaped once (a macro's output) is not escaped again when a template prints it.
_SLACK_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")


def clean(value: object) -> str:
    """The text of a value, without control characters that could forge layout markers."""
    return _CONTROL.sub("", str(value))


# mrkdwn has no escape for its formatting characters. A zero-width space on each side of
# one keeps it from starting or ending bold, italics, strike-through or code: Slack only
# formats between a marker after a space or punctuation and one before them. Idempotent.
_SLACK_FORMATTING = re.compile("\u200b?([*_~`])\u200b?")
_SLACK_BACKTICK = re.compile("\u200b?(`)\u200b?")
_ZWSP_AROUND = "\u200b\\1\u200b"


def _slack_entities(text: str) -> str:
    return _SLACK_AMP.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def slack_escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for Slack (nothing else: Slack shows other entities raw),
    and keep ``*``, ``_``, ``~`` and backticks in the text from formatting it."""
    return _SLACK_FORMATTING.sub(_ZWSP_AROUND, _slack_entities(text))


def slack_code_escape(text: str) -> str:
    """Escaping inside a code span: there only a backtick formats (it would end the span);
    the rest stays as written, so that a command or an id can be copied as shown."""
    return _SLACK_BACKTICK.sub(_ZWSP_AROUND, _slack_entities(text))


class Markers:
    """Globals that start a part of the message; each must begin a line in a template."""

    @staticmethod
    def header() -> Markup:
        return Markup(MARK + HEADER)

    @staticmethod
    def section() -> Markup:
        return Markup(MARK + SECTION)

    @staticmethod
    def field() -> Markup:
        return Markup(MARK + FIELD)

    @staticmethod
    def context() -> Markup:
        return Markup(MARK + CONTEXT)

    @staticmethod
    def divider() -> Markup:
        return Markup(MARK + DIVIDER)


def _wrap(fmt: Format, left: str, right: str) -> Callable[[object], Markup]:
    def wrap(value: object) -> Markup:
        return Markup(left + str(escape_for(fmt, value)) + right)

    return wrap


def _slack_code(value: object) -> Markup:
    """A Slack code span; text from a helper (already escaped) is kept as it is."""
    text = str(value) if isinstance(value, Markup) else slack_code_escape(clean(value))
    return Markup("`" + text + "`")


def escape_for(fmt: Format, value: object) -> Markup:
    """``value`` escaped for ``fmt``; text already marked safe passes unchanged."""
    if isinstance(value, Markup):
        return value
    text = clean(value)
    if fmt == "telegram":
        return escape(text)
    if fmt == "slack":
        return Markup(slack_escape(text))
    return Markup(text)


def markup_globals(fmt: Format) -> dict[str, Any]:
    """The markup helpers of one format: ``b``, ``i``, ``code``, ``cmd`` and the markers."""
    if fmt == "telegram":
        b, i = _wrap(fmt, "<b>", "</b>"), _wrap(fmt, "<i>", "</i>")
        code = _wrap(fmt, "<code>", "</code>")
    elif fmt == "slack":
        b, i, code = _wrap(fmt, "*", "*"), _wrap(fmt, "_", "_"), _slack_code
    else:
        b = i = code = _wrap(fmt, "", "")

    def cmd(command: object) -> Markup:
        """A chat command: Slack reaches the bot through its one slash command."""
        text = clean(command).lstrip("/")
        if fmt == "slack":
            return code(f"/normwacht {text}")
        return escape_for(fmt, f"/{text}")

    return {
        "b": b,
        "i": i,
        "code": code,
        "cmd": cmd,
        "header": Markers.header,
        "section": Markers.section,
        "field": Markers.field,
        "context": Markers.context,
        "divider": Markers.divider,
    }


def finalizer(fmt: Format, number: Callable[[float], str]) -> Callable[[Any], Any]:
    """What every ``{{ … }}`` passes through: data is cleaned and escaped for the format,
    markup from the helpers passes unchanged, and a stray float is formatted for the language."""

    def finalize(value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        if value is None:
            text = "–"
        elif isinstance(value, float):
            text = number(value)
        else:
            text = clean(value)
        if fmt == "slack":
            return Markup(slack_escape(text))
        # Telegram's environment autoescapes what this returns; plain text needs nothing.
        return text

    return finalize
