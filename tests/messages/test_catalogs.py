"""The gettext catalogs: each loads, each is complete, the compiled files match their
sources, the sources match the templates, and a translation can never become markup."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from messages import LANGUAGES, render
from messages.i18n import DOMAIN, LOCALE_DIR, gettext_callables, load_catalog, translations
from messages.markup import finalizer
from messages.render import environment

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# A msgid is English source text: these catalogs must translate every one of them.
TRANSLATED = ("nl", "fr")


def _po(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
        return read_po(file, locale=lang)


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def _forms(message: Message) -> list[str]:
    string = message.string
    return list(string) if isinstance(string, tuple | list) else [string]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_catalog_loads_and_speaks_its_language(lang: str) -> None:
    catalog = translations(lang)  # type: ignore[arg-type]
    assert isinstance(catalog, Translations)
    expected = {"nl": "Wat gebeurt er nu?", "en": "What happens next?", "fr": "Et maintenant ?"}
    assert catalog.gettext("What happens next?") == expected[lang].replace(" ?", "\xa0?")


def test_a_missing_catalog_is_an_error_not_a_silent_fallback(tmp_path: Path) -> None:
    assert not isinstance(Translations.load(str(tmp_path), ["de"], DOMAIN), Translations)
    with pytest.raises(LookupError, match="no de catalog"):
        load_catalog("de", tmp_path)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_msgid_is_translated_and_none_is_fuzzy(lang: str) -> None:
    catalog = _po(lang)
    assert not catalog.fuzzy
    messages = _messages(catalog)
    assert len(messages) > 400
    assert [m.id for m in messages if m.fuzzy] == []
    assert [m.id for m in messages if not all(form.strip() for form in _forms(m))] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_fill_in_only_the_variables_the_template_gives(lang: str) -> None:
    """A misspelt placeholder would fail at render time, in one language only."""
    wrong = []
    for message in _messages(_po(lang)):
        given = {name for text in _ids(message) for name in PLACEHOLDER.findall(text)}
        given.add("num") if isinstance(message.id, tuple) else None
        for form in _forms(message):
            if not set(PLACEHOLDER.findall(form)) <= given:
                wrong.append((message.id, form))
    assert wrong == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_its_source(lang: str) -> None:
    """The committed .mo is what ``make translations`` compiles from the committed .po."""
    compiled = io.BytesIO()
    write_mo(compiled, _po(lang))
    mo = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    assert mo.read_bytes() == compiled.getvalue(), "run make translations"


def test_catalogs_hold_exactly_the_texts_of_the_templates() -> None:
    """Extracting again finds no new and no stale text: ``make translations`` was run."""
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    extracted = {
        (context, message if isinstance(message, str) else message[0])
        for _, _, message, _, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords
        )
    }
    for lang in LANGUAGES:
        have = {(m.context, _ids(m)[0]) for m in _messages(_po(lang))}
        assert have == extracted, lang


@pytest.mark.parametrize("fmt", ["telegram", "slack", "text"])
def test_a_translation_is_text_never_markup(fmt: str) -> None:
    """A translator's ``<b>`` or ``&`` reaches the reader as written, in every format."""
    catalog = Catalog(locale="fr", domain=DOMAIN)
    catalog.add("Commands", "<b>Commandes</b> & co")
    catalog.add("%(name)s rejoint", "%(name)s <i>rejoint</i>")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    calls = gettext_callables(fmt, Translations(compiled, DOMAIN), finalizer(fmt, str))  # type: ignore[arg-type]
    words = str(calls["_"]("Commands"))
    named = str(calls["_"]("%(name)s rejoint", name="<Zon & Zee>"))
    if fmt == "text":
        assert words == "<b>Commandes</b> & co"
        assert named == "<Zon & Zee> <i>rejoint</i>"
    else:
        assert words == "&lt;b&gt;Commandes&lt;/b&gt; &amp; co"
        assert named == "&lt;Zon &amp; Zee&gt; &lt;i&gt;rejoint&lt;/i&gt;"


def test_french_numbers_and_weeks_follow_cldr() -> None:
    """Belgian French: a no-break space before %, a narrow one between thousands, nov."""
    from tests.messages.cases import report_data

    text = render("alerts", report_data("alerts", "warning2"), fmt="text", lang="fr").text
    assert "92,0\xa0%" in text and "≥ 93\xa0%" in text
    assert "semaine 46 (9–15 nov.)" in text
    assert "Avertissement 2 sur 4" in text and "Et maintenant\xa0?" in text


@pytest.mark.parametrize("fmt", ["telegram", "slack", "text"])
def test_trans_blocks_use_the_same_catalogs_and_escaping(fmt: str) -> None:
    """``{% trans %}`` and ``{% pluralize %}`` work in templates as ``_()`` and ``ngettext``."""
    env = environment(fmt, "fr")  # type: ignore[arg-type]
    words = env.from_string("{% trans %}What happens next?{% endtrans %}").render()
    assert words == "Et maintenant\xa0?"
    days = "{% trans count=n %}day{% pluralize %}days{% endtrans %}"
    assert [env.from_string(days).render(n=n) for n in (1, 2)] == ["jour", "jours"]
    link = "{% trans name=who, passcode=code %}🔑 Link code for {{ name }}: {{ passcode }}"
    named = env.from_string(link + "{% endtrans %}").render(who="<Zon & Zee>", code="AB12")
    expected = {"text": "<Zon & Zee>", "slack": "&lt;Zon &amp; Zee&gt;"}
    shown = expected.get(fmt, "&lt;Zon &amp; Zee&gt;")
    assert named == f"🔑 Code d'association pour {shown}\xa0: AB12"
