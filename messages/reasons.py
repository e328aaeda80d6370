"""Reasons a file is refused: one source for the command line's English and the chat's words.

A :class:`Reason` is a ``str`` (its English text, as the command line and the logs show
it) that also keeps its catalog text and parameters, so that a chat says the same thing
in its own language. A parameter is a text shown as it is (a file's own value, a column's
name), an ``int`` (a line, a week, a year: no grouping), a :class:`Number` (written as
the language writes numbers) or another ``Reason`` (said in the same language).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from messages import locale
from messages.i18n import N_, translations
from messages.model import Language


@dataclass(frozen=True, slots=True)
class Number:
    """A quantity a person reads: ``1,000,000,000`` (en), ``1.000.000.000`` (nl)."""

    value: float
    digits: int = 0


class Reason(str):
    """A reason in English (the ``str``), with the catalog text and parameters it came from."""

    template: str
    params: dict[str, str | int | Number | Reason]

    def __new__(cls, template: str, /, **params: str | int | Number | Reason) -> Reason:
        text = template % {key: _english(value) for key, value in params.items()}
        reason = super().__new__(cls, text)
        reason.template = template
        reason.params = params
        return reason

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword parameters do not survive str's own pickling.
        return (_rebuild, (self.template, self.params))

    def said_in(self, lang: Language) -> str:
        """The reason in ``lang``, its numbers and nested reasons in the same language."""
        values = {key: _said(value, lang) for key, value in self.params.items()}
        return translations(lang).gettext(self.template) % values


def _rebuild(template: str, params: dict[str, str | int | Number | Reason]) -> Reason:
    return Reason(template, **params)


def _english(value: str | int | Number | Reason) -> str:
    if isinstance(value, Number):
        return f"{value.value:,.{value.digits}f}"
    return str(value)


def _said(value: str | int | Number | Reason, lang: Language) -> str:
    if isinstance(value, Reason):
        return value.said_in(lang)
    if isinstance(value, Number):
        return locale.decimal(value.value, lang, value.digits)
    return str(value)


def said_in(reason: str, lang: Language) -> str:
    """``reason`` in ``lang`` when it is a :class:`Reason`; any other text as it is."""
    return reason.said_in(lang) if isinstance(reason, Reason) else reason


class Located(Protocol):
    """Where in a file a reason applies (``bot.ingest.Issue``): 0 is the whole file/line."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def spreadsheet(self) -> bool: ...
    @property
    def cell(self) -> str: ...


def place(issue: Located, lang: Language) -> str:
    """Where ``issue`` is, in ``lang``: ``file.csv, line 3, column 2`` or ``file.xlsx, cell D5``."""
    _ = translations(lang).gettext
    values = {"file": issue.file, "line": issue.line, "column": issue.column, "cell": issue.cell}
    if not issue.line:
        return issue.file
    if issue.spreadsheet:
        if issue.column:
            return _("%(file)s, cell %(cell)s") % values
        return _("%(file)s, row %(line)s") % values
    if issue.column:
        return _("%(file)s, line %(line)s, column %(column)s") % values
    return _("%(file)s, line %(line)s") % values


__all__ = ["N_", "Located", "Number", "Reason", "place", "said_in"]
