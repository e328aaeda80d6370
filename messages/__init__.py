"""Everything a seller or a team reads, in Dutch, English and French, for Telegram, Slack and text.

``render(kind, data, fmt=..., lang=...)`` turns one message kind and its data into a
``Rendered`` message (``render_reusing`` the same, sharing the work between sellers
whose messages differ only in their name); ``split_telegram`` cuts long Telegram
messages; ``history_chart`` draws the trend chart and ``quality_chart`` bol.com's quality
score (matplotlib is imported only when a chart is drawn). One template per kind lives in
``messages/templates/<kind>.j2``, written in English; the words of each language come
from its catalog, ``messages/locale/<lang>/LC_MESSAGES/normwacht.po``.
"""

from messages.chart import history_chart, quality_chart
from messages.model import (
    FORMATS,
    LANGUAGES,
    Cause,
    Format,
    Language,
    Rendered,
    SellerRef,
)
from messages.render import KINDS, render
from messages.reuse import render_reusing
from messages.split import split_telegram

__all__ = [
    "FORMATS",
    "KINDS",
    "LANGUAGES",
    "Cause",
    "Format",
    "Language",
    "Rendered",
    "SellerRef",
    "history_chart",
    "quality_chart",
    "render",
    "render_reusing",
    "split_telegram",
]
