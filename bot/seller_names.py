"""Finding a seller by what people type: its id or name, in any case, without accents,
or a unique beginning of either (``/score snel``, ``/score Snel Speelgoed``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.store import Seller


def folded(text: str) -> str:
    """``Café-Ölbaum `` -> ``cafe olbaum``: case, accents, dashes and spacing ignored."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[\s_-]+", " ", plain.casefold()).strip()


def matching(sellers: Sequence[Seller], query: str) -> list[Seller]:
    """The sellers ``query`` names: the one it names exactly, else every seller whose id
    or name begins with it (one: found; several: ambiguous; none: unknown)."""
    wanted = folded(query)
    if not wanted:
        return []
    exact = [s for s in sellers if wanted in (folded(s.id), folded(s.name))]
    if exact:
        return exact[:1]
    return [
        s for s in sellers if folded(s.id).startswith(wanted) or folded(s.name).startswith(wanted)
    ]
