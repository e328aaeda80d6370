"""Reading an exemption from words, for the chat and the command line alike.

A typo in an indicator's name must never turn into "every norm" with the typo as part of
the reason, so a word that looks like an indicator but is none is refused, with the
nearest name.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from norms import INDICATORS, Indicator

# How alike a word must be to an indicator's name to be taken for a misspelt one.
TYPO_CUTOFF = 0.75


@dataclass(frozen=True, slots=True)
class UnknownIndicator(Exception):
    """A word that reads as a misspelt indicator; ``nearest`` is the likely one, if any."""

    word: str
    nearest: str | None


def nearest_indicator(word: str) -> str | None:
    """The indicator name closest to ``word``, when it is close enough to be a typo."""
    names = [i.value for i in INDICATORS]
    found = difflib.get_close_matches(word.upper(), names, n=1, cutoff=TYPO_CUTOFF)
    return found[0] if found else None


def looks_like_indicator(word: str) -> bool:
    """Whether ``word`` was meant as an indicator: close to one, or written like one
    (``RESPONSE_TIMES``). Ordinary words of a reason (``staking``, ``PostNL``) are not."""
    return nearest_indicator(word) is not None or ("_" in word and word.upper() == word)


def parse_indicator(word: str) -> Indicator:
    """The indicator ``word`` names (any case); ``UnknownIndicator`` otherwise."""
    if word.upper() in Indicator.__members__:
        return Indicator[word.upper()]
    raise UnknownIndicator(word, nearest_indicator(word))
