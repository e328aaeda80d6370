"""The words of every message, from gettext catalogs under ``messages/locale``.

Templates are written in English and call ``_()``, ``ngettext()`` and ``pgettext()`` (or
``{% trans %}``); each (format, language) environment gets its own callables that look the
text up in the language's catalog, escape it for the format, and fill in the variables
escaped as every ``{{ … }}`` is. A translation is text, never markup: a translator's ``<``
or ``&`` reaches the reader as written.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel.support import Translations
from markupsafe import Markup

from messages.markup import escape_for, slack_escape
from messages.model import Format, Language

DOMAIN = "normwacht"
LOCALE_DIR = Path(__file__).parent / "locale"


def load_catalog(lang: str, directory: Path = LOCALE_DIR) -> Translations:
    """The compiled catalog of ``lang``; a missing one is an error, never a silent fallback."""
    loaded = Translations.load(str(directory), [lang], DOMAIN)
    # Babel returns an empty NullTranslations when the .mo file is missing.
    if not isinstance(loaded, Translations):
        raise LookupError(f"no {lang} catalog {DOMAIN}.mo under {directory}")
    return loaded


@cache
def translations(lang: Language) -> Translations:
    """The catalog of one of our languages, loaded once."""
    return load_catalog(lang)


# The placeholders of a translated text, which escaping must leave as they are.
_PLACEHOLDER = re.compile(r"(%\(\w+\)s|%%)")


def _escape_text(fmt: Format, text: str) -> Markup:
    """A translated text made safe for ``fmt``: only what the format gives a meaning to."""
    if fmt == "telegram":
        # Quotes mean nothing outside attributes: keep them as the translator wrote them.
        return Markup(html.escape(text, quote=False))
    if fmt == "slack":
        parts = _PLACEHOLDER.split(text)
        # split() puts the placeholders at the odd places.
        return Markup("".join(p if i % 2 else slack_escape(p) for i, p in enumerate(parts)))
    return Markup(text)


def N_(message: str) -> str:
    """Mark a text for the catalog where it is defined; it is translated where it is used."""
    return message


def gettext_callables(
    fmt: Format, catalog: Translations, finalize: Callable[[Any], Any]
) -> dict[str, Callable[..., Markup]]:
    """``_``, ``gettext``, ``ngettext`` and ``pgettext`` of one format over one catalog."""

    escaped: dict[str, str] = {}  # a catalog's texts are few: escape each once

    def fill(text: str, variables: dict[str, Any]) -> Markup:
        safe = escaped.get(text)
        if safe is None:
            safe = escaped[text] = str(_escape_text(fmt, text))
        # Variables pass through the environment's finalize, as a ``{{ … }}`` would, and are
        # escaped here; so plain ``%`` joins escaped text to escaped text.
        values = {key: str(escape_for(fmt, finalize(value))) for key, value in variables.items()}
        return Markup(safe % values)

    def gettext(message: str, /, **variables: Any) -> Markup:
        return fill(catalog.gettext(message), variables)

    def ngettext(singular: str, plural: str, count: int, /, **variables: Any) -> Markup:
        # ``num`` is the count unless the template gives it formatted (``num=n|count``).
        return fill(catalog.ngettext(singular, plural, count), {"num": count, **variables})

    def pgettext(context: str, message: str, /, **variables: Any) -> Markup:
        return fill(str(catalog.pgettext(context, message)), variables)

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "pgettext": pgettext}


__all__ = ["DOMAIN", "LOCALE_DIR", "N_", "gettext_callables", "load_catalog", "translations"]
