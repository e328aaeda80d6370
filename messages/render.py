"""Render a message kind for a format and language: Jinja2 templates from the package.

One environment per (format, language): Telegram HTML autoescapes, Slack escapes only
``&``, ``<`` and ``>`` in its ``finalize``, plain text escapes nothing. Templates are the
same for all three formats; markup comes from per-format globals (see ``markup``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from functools import cache
from types import FunctionType
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound
from jinja2.runtime import Context

from messages import locale
from messages.compose import compose
from messages.facts import ReportView, riskiest_first
from messages.filters import dot, filters
from messages.i18n import gettext_callables, translations
from messages.markup import finalizer, markup_globals
from messages.model import FORMATS, LANGUAGES, Format, Language, Rendered
from messages.verdict import BolView
from norms import ALERT_ORDER, DEFAULT_POLICY, Indicator, Policy, WeekReport, load_policy
from norms.bol import PerformanceStatus
from norms.bolnews import merge_alerts

_REPORT = ("seller", "report")
REQUIRED: dict[str, tuple[str, ...]] = {
    "alerts": (*_REPORT, "source"),
    "plan_reminder": (*_REPORT, "days_since"),
    "correction": ("seller", "week", "sent", "now"),
    "score": _REPORT,
    "goldlabel": _REPORT,
    "status": _REPORT,
    "plan": _REPORT,
    "plan_done": ("seller",),
    "plan_not_required": ("seller",),
    "digest": ("entries", "team"),
    "history": ("seller", "weeks"),
    "help": ("admin",),
    "sellers": ("sellers",),
    "choose_seller": ("command", "sellers"),
    "language_set": ("language",),
    "muted": (),
    "unmuted": (),
    "link_ok": ("seller",),
    "link_failed": ("reason",),
    "link_wait": ("at",),
    "link_guessing": ("destination", "attempts", "minutes"),
    "upload_ok": ("file", "rows", "weeks", "sellers"),
    "upload_rejected": ("file", "issues", "more"),
    "who_are_you": (),
    "unknown_seller": ("query",),
    "unknown_command": ("command",),
    "no_data": ("seller",),
    "not_admin": (),
    "data_missing": ("week", "sellers"),
    # A seller's week without figures, told to the seller's own chats by the check.
    "figures_missing": ("week", "seller"),
    "destination_inactive": ("destination", "reason"),
    "connect_prompt_id": (),
    "connect_prompt_secret": (),
    "connect_ok": ("seller",),
    "connect_failed": ("reason",),
    "poll_failed": ("seller", "reason"),
    "provisional": ("seller", "week", "failing"),
    "link_code": ("seller", "passcode", "days"),
    "exempt_ok": ("exemption",),
    "exempt_list": ("exemptions",),
    "digest_time_set": ("day", "hour"),
    "slow_down": ("per_minute",),
    # The database did not answer while a chat's message waited for it.
    "try_again_later": (),
    "exempt_confirm": ("exemption", "token"),
    "exempt_removed": ("record",),
    "confirm_button": (),
    # A command's argument that cannot be read: ``problem`` names which (see the template).
    "bad_argument": ("problem",),
    # bol.com's own verdict (NORMS.md §9): ``bol`` a PerformanceStatus, ``bol_previous``
    # the one before it (optional); ``comparison`` a StrikeComparison for the operator.
    # ``alerts`` may also take ``bol_news`` (a StatusChanges): the part of the news this
    # message tells, when the rest was told before (default: all of it).
    "quality": ("seller", "bol"),
    "policy": ("seller", "bol"),
    # No snapshot of the seller yet: said plainly (``command``: quality, policy, ...),
    # with how one comes in (``connected``: optional).
    "no_bol_status": ("seller", "command"),
    "bol_disagreement": ("seller", "bol", "comparison"),
    # Several sellers at a glance: one line each, riskiest first (entries as the digest's).
    "overview": ("command", "entries"),
    # The console's first line (standard error): the sample shops' database and its shops.
    "console_welcome": ("sellers", "database", "loaded"),
}
KINDS: frozenset[str] = frozenset(REQUIRED)


class _Context(Context):
    """Jinja2's context, calling our own global helpers (``_``, ``b``, ``dot``, …: plain
    Python functions that take no context) at once. Jinja2 asks every callable at every
    call whether it wants the context, the environment or the evaluation context; ours
    want none of them (``_PLAIN``), and everything else is still asked."""

    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if type(__obj) is not FunctionType or __obj not in _PLAIN:
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:  # as Jinja2's own call has it
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


class _Environment(Environment):
    """Jinja2's environment with each template's globals in a plain dict.

    Jinja2 layers a template's globals over the environment's in a ``ChainMap``, read in
    Python at every render, include and import; ours are all set before the first template
    loads and never change after, so a copy reads the same, at C speed."""

    context_class = _Context

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


# Our own global helpers, which take no context (``_Context.call``).
_PLAIN: set[Callable[..., Any]] = set()


@cache
def environment(fmt: Format, lang: Language) -> Environment:
    """The Jinja2 environment of one format and language, loaded from the package."""
    if fmt not in FORMATS or lang not in LANGUAGES:
        raise ValueError(f"unknown format {fmt!r} or language {lang!r}")
    finalize = finalizer(fmt, lambda x: locale.decimal(x, lang))
    env = _Environment(
        loader=PackageLoader("messages", "templates"),
        extensions=["jinja2.ext.i18n"],
        autoescape=fmt == "telegram",
        undefined=StrictUndefined,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    # Our own callables rather than install_gettext_callables: those would fill in the
    # variables unescaped for Slack and without the finalize every other value passes.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.globals.update(gettext_callables(fmt, translations(lang), finalize))
    env.globals.update(markup_globals(fmt))
    env.globals.update(dot=dot, lang=lang)
    env.filters.update(filters(lang))
    _PLAIN.update(
        f
        for f in env.globals.values()
        if type(f) is FunctionType and not hasattr(f, "jinja_pass_arg")
    )
    return env


def check_data(kind: str, data: Mapping[str, Any]) -> None:
    """A known kind, with every key its template needs."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    missing = [key for key in REQUIRED[kind] if key not in data]
    if missing:
        raise ValueError(f"message {kind!r} needs {', '.join(missing)}")


def _digest_entries(entries: Sequence[Mapping[str, Any]], team: bool) -> list[dict[str, Any]]:
    pairs = [
        (
            e["seller"].name,
            {
                "seller": e["seller"],
                "r": ReportView(e["report"], e.get("previous")),
                # bol.com's latest snapshot of the seller (optional).
                "bv": _bol_view(e, e["report"].policy),
                # Weeks after the report's that should have figures by now (optional).
                "missing": list(e.get("missing") or []),
                # Credentials stored and not refused: no advice to connect (optional).
                "connected": bool(e.get("connected")),
            },
        )
        for e in entries
    ]
    if team:
        order = riskiest_first([(name, entry["r"]) for name, entry in pairs])
        ranked = {id(view): i for i, (_, view) in enumerate(order)}
        pairs.sort(key=lambda pair: ranked[id(pair[1]["r"])])
    return [entry for _, entry in pairs]


def _plan_norms(view: ReportView) -> list[Indicator]:
    """Norms to outline in an improvement plan: this week's failures, else all escalating."""
    return [v.indicator for v in view.failed] or list(view.policy.escalating)


def _bol_view(data: Mapping[str, Any], policy: Policy) -> BolView | None:
    """bol.com's snapshot in ``data`` (``bol``, optional ``bol_previous``), as a view."""
    status = data.get("bol")
    if not isinstance(status, PerformanceStatus):
        return None
    return BolView(
        policy, status, data.get("bol_previous"), data.get("comparison"), data.get("bol_news")
    )


def context(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """What the template of ``kind`` sees: the data, plus views derived from reports and
    from bol.com's own verdict (``bv``; ``None`` without a snapshot: no snapshot, no claim)."""
    ctx = dict(data)
    report = data.get("report")
    policy = report.policy if isinstance(report, WeekReport) else data.get("policy")
    bv = _bol_view(data, policy if isinstance(policy, Policy) else load_policy(DEFAULT_POLICY))
    ctx["bv"] = bv
    if isinstance(report, WeekReport):
        view = ReportView(report)
        if bv is not None:
            view.alerts = merge_alerts(report.alerts, bv.news, ALERT_ORDER)
        ctx.update(r=view, t=view.track, plan_norms=_plan_norms(view))
    if kind == "bad_argument":
        ctx.setdefault("indicators", [i.value for i in Indicator])
    if kind == "overview":
        ctx["entries"] = _digest_entries(data["entries"], True)
    if kind == "digest":
        entries = _digest_entries(data["entries"], bool(data["team"]))
        ctx["entries"] = entries
        ctx["multi"] = bool(data["team"]) or len(entries) > 1
        ctx["weeks"] = sorted({e["r"].week for e in entries})
    return ctx


def render(kind: str, data: Mapping[str, Any], *, fmt: Format, lang: Language) -> Rendered:
    """Render message ``kind`` with ``data`` (see ``REQUIRED`` for its keys)."""
    check_data(kind, data)
    env = environment(fmt, lang)
    try:
        template = env.get_template(f"{kind}.j2")
    except TemplateNotFound as exc:
        raise LookupError(f"no template for message {kind!r}") from exc
    marked = template.render(context(kind, data))
    return compose(marked, fmt, lambda count, groups: more_text(env, count, groups))


def more_text(env: Environment, count: int, groups: bool) -> str:
    """The "…and N more" that ends a Slack message cut to its blocks."""
    return env.get_template("_more.j2").render(n=count, groups=groups).strip()


__all__ = ["KINDS", "REQUIRED", "check_data", "context", "environment", "more_text", "render"]
