"""Render once, reuse: the weekly check's messages for many sellers, at the cost of one.

Most sellers' weeks read alike: the same alerts over the same figures differ only in the
seller's name. ``render_reusing`` renders a message with a stand-in seller, keeps the
result under everything else that shapes its text (the kind, the environment of its format
and language, and the whole data, pickled), and fills in each seller's name, escaped as
the template would have escaped it. The text is byte-identical to ``render``'s (the tests
compare both for many reports and awkward names); only the Jinja work is shared.

The stand-in works for kinds whose templates print the seller's name only as escaped text
(``{{ seller.name }}``, a gettext variable, ``b()``), never inspect it, and never print
the id: ``REUSED_KINDS``. A rendering that shows the stand-in id is not reused.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import pickle
from collections.abc import Callable, Mapping
from dataclasses import replace
from operator import attrgetter
from typing import Any

from jinja2 import Environment

from messages.compose import compose
from messages.markup import escape_for
from messages.model import Format, Language, Rendered, SellerRef
from messages.render import check_data, context, environment, more_text
from norms import Policy, WeekReport

# The check's bulk messages: one per seller and chat, alike but for the seller's name.
REUSED_KINDS = frozenset({"alerts", "correction", "figures_missing"})

# Letters and digits only: every format's escaping leaves them as they are.
_NAME = "NwSellerNameHole7c41"
_ID = "NwSellerIdHole7c41"
_HOLE = SellerRef(_ID, _NAME)

# Renderings kept; the whole memo is dropped when full (a week's check reuses few).
MEMO_SIZE = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class _Kept:
    env: Environment  # the key holds its id: kept alive so the id is not reused
    marked: str  # the template's output with the stand-in seller
    rendered: Rendered  # composed from it, for the formats that fill in after composing
    shows_id: bool


_memo: dict[tuple[int, str, bytes], _Kept] = {}


# Each class the keys meet, numbered in this process: a key names a class by its number,
# which is cheaper to write than the class itself (its module and name, looked up).
_classes: dict[type, int] = {}


def _made(number: int, values: object) -> None:
    """What a key's dataclass or enum is written as a call of (never called: keys are
    never unpickled)."""
    raise NotImplementedError


class _Reducers(dict[type, Callable[[Any], Any]]):
    """How the key's pickler takes each type apart: a dataclass as its class and field
    values (all of them, read in one call), an enum as its class and value. Keys are never
    unpickled; they only have to differ wherever the data differs."""

    def __missing__(self, cls: type) -> Callable[[Any], Any]:
        reducer: Callable[[Any], Any]
        number = _classes.setdefault(cls, len(_classes))
        if dataclasses.is_dataclass(cls):
            names = [f.name for f in dataclasses.fields(cls)]
            # Every field at once, read in C (as a tuple from two names on).
            fields = attrgetter(*names)
            one = len(names) == 1

            def reducer(obj: Any, n: int = number, fields: Any = fields, one: bool = one) -> Any:
                return (_made, (n, (fields(obj),) if one else fields(obj)))

        elif issubclass(cls, enum.Enum):

            def reducer(obj: Any, n: int = number) -> Any:
                return (_made, (n, obj.value))

        elif issubclass(cls, type):

            def reducer(obj: Any) -> Any:
                return obj.__qualname__

        else:

            def reducer(obj: Any) -> Any:
                return obj.__reduce_ex__(pickle.DEFAULT_PROTOCOL)

        self[cls] = reducer
        return reducer


_REDUCERS = _Reducers()
# A policy is large and shared by every report: pickled once per policy object.
_policies: dict[int, tuple[Policy, bytes]] = {}


def _policy(policy: Policy) -> Any:
    kept = _policies.get(id(policy))
    if kept is None or kept[0] is not policy:
        if len(_policies) > 64:
            _policies.clear()
        table = _Reducers({t: r for t, r in _REDUCERS.items() if t is not Policy})
        kept = _policies[id(policy)] = (policy, _pickle(policy, table))
    return (bytes, (kept[1],))


_REDUCERS[Policy] = _policy


def _pickle(data: object, table: Mapping[type, Callable[[Any], Any]] = _REDUCERS) -> bytes:
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    pickler.dispatch_table = table
    pickler.dump(data)
    return out.getvalue()


def _fills_after_compose(name: str) -> bool:
    """Whether a name can be put into a composed Telegram or plain-text message as it
    stands: composing strips whitespace at the ends of lines and splits on newlines, so a
    name without them is untouched by it."""
    return bool(name) and "\n" not in name and name.strip() == name


def render_reusing(kind: str, data: Mapping[str, Any], *, fmt: Format, lang: Language) -> Rendered:
    """``render(kind, data, fmt=fmt, lang=lang)``, reusing an earlier rendering of the same
    message for another seller where ``kind`` allows (``REUSED_KINDS``)."""
    check_data(kind, data)
    seller = data.get("seller")
    if kind not in REUSED_KINDS or not isinstance(seller, SellerRef):
        return _render(environment(fmt, lang), kind, data, fmt)
    env = environment(fmt, lang)
    holed = dict(data)
    holed["seller"] = _HOLE
    report = data.get("report")
    if isinstance(report, WeekReport) and report.seller_id == seller.id:
        holed["report"] = replace(report, seller_id=_ID)
    try:
        key = (id(env), kind, _pickle(holed))
    except (pickle.PicklingError, TypeError, AttributeError):
        return _render(env, kind, data, fmt)
    kept = _memo.get(key)
    if kept is None or kept.env is not env:
        marked = env.get_template(f"{kind}.j2").render(context(kind, holed))
        kept = _Kept(env, marked, _compose(env, marked, fmt), _ID in marked)
        if len(_memo) >= MEMO_SIZE:
            _memo.clear()
        _memo[key] = kept
    if kept.shows_id:
        return _render(env, kind, data, fmt)
    name = str(escape_for(fmt, seller.name))
    if fmt != "slack" and _fills_after_compose(name):
        return Rendered(
            text=kept.rendered.text.replace(_NAME, name), parse_mode=kept.rendered.parse_mode
        )
    return _compose(env, kept.marked.replace(_NAME, name), fmt)


def _compose(env: Environment, marked: str, fmt: Format) -> Rendered:
    return compose(marked, fmt, lambda count, groups: more_text(env, count, groups))


def _render(env: Environment, kind: str, data: Mapping[str, Any], fmt: Format) -> Rendered:
    return _compose(env, env.get_template(f"{kind}.j2").render(context(kind, data)), fmt)


def forget() -> None:
    """Drop every kept rendering (for tests that change templates or catalogs)."""
    _memo.clear()
    _policies.clear()


__all__ = ["MEMO_SIZE", "REUSED_KINDS", "forget", "render_reusing"]
