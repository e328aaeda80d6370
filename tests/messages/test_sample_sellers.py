"""Every report message renders for every shipped sample shop, in both languages and all
three formats: the texts people meet first on ``make run``."""

from __future__ import annotations

from itertools import product

from bot.commands.service import Service
from bot.config import Config
from bot.notices.check import seller_ref
from bot.store import Store
from messages import FORMATS, LANGUAGES, render
from tests.conftest import FixedClock
from tests.messages.cases import REPORT_KINDS


async def test_every_report_kind_renders_for_every_sample_shop(
    sample_store: Store,
    config: Config,
    clock: FixedClock,
) -> None:
    service = Service(sample_store, config, clock)
    sellers = await sample_store.sellers.all()
    assert len(sellers) == 5
    entries = []
    for seller in sellers:
        report = await service.report_for(seller)
        assert report is not None and str(report.week) == "2026-W46"
        ref = seller_ref(seller)
        previous = await service.report_for(seller, report.week.shift(-1))
        entries.append({"seller": ref, "report": report, "previous": previous})
        for kind, fmt, lang in product(REPORT_KINDS, FORMATS, LANGUAGES):
            data = {"seller": ref, "report": report, "source": "upload", "days_since": 2}
            if kind == "digest":
                data = {"entries": [entries[-1]], "team": False}
            rendered = render(kind, data, fmt=fmt, lang=lang)
            assert seller.name.replace("&", "&amp;" if fmt != "text" else "&") in rendered.text
            if fmt == "slack":
                assert rendered.blocks and len(rendered.blocks) <= 50
    for fmt, lang in product(FORMATS, LANGUAGES):
        team = render("digest", {"entries": entries, "team": True}, fmt=fmt, lang=lang).text
        # Riskiest first: the suspended shop leads the team digest.
        assert team.index("Snel Speelgoed") < team.index("Zonnig Wonen")
