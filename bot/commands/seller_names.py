"""Finding a seller by what people type: its id or name, in any case, without accents,
or a unique beginning of either (``/score snel``, ``/score Snel Speelgoed``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from bot.store import Seller

_SEPARATORS = re.compile(r"[_-]")


# Names are folded on every lookup among all sellers: kept, so that an admin's command
# among 50,000 sellers costs dictionary lookups, not 100,000 normalisations.
FOLDED_CACHE = 1 << 18


@lru_cache(maxsize=FOLDED_CACHE)
def folded(text: str) -> str:
    """``Café-Ölbaum `` -> ``cafe olbaum``: case, accents, dashes and spacing ignored."""
    plain = text
    if not text.isascii():
        plain = unicodedata.normalize("NFKD", text)
        plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(_SEPARATORS.sub(" ", plain.casefold()).split())


def matching(sellers: Sequence[Seller], query: str) -> list[Seller]:
    """The sellers ``query`` names: the one it names exactly, else every seller whose id
    or name begins with it (one: found; several: ambiguous; none: unknown)."""
    by_id = [s for s in sellers if s.id == query]
    if by_id:  # the id exactly as written: nothing to fold
        return by_id
    wanted = folded(query)
    if not wanted:
        return []
    exact = [s for s in sellers if wanted in (folded(s.id), folded(s.name))]
    if exact:
        return exact[:1]
    return [
        s for s in sellers if folded(s.id).startswith(wanted) or folded(s.name).startswith(wanted)
    ]
