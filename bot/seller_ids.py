"""What may be a seller id, and what may stand in a text people read: one rule for
``seller add``, an import's ``--create-sellers`` and the command line's free texts."""

from __future__ import annotations

import unicodedata

from messages.reasons import N_, Number, Reason

# Ids are written in commands and file names and shown in every message about the seller.
MAX_SELLER_ID = 64


def seller_id_problem(seller_id: str) -> Reason | None:
    """Why ``seller_id`` cannot be a new seller's id, or None when it can: it is one word
    of at most 64 characters, without spaces, control or invisible format characters
    (which would make two ids look the same, or break the line they are shown on)."""
    if not seller_id:
        return Reason(N_("a seller id must not be empty"))
    # The common id, plain ASCII: printable there means no control character, and the
    # only space that is printable is the blank itself. An import checks every seller.
    plain = seller_id.isascii() and seller_id.isprintable() and " " not in seller_id
    if plain and len(seller_id) <= MAX_SELLER_ID:
        return None
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in seller_id):
        return Reason(
            N_("seller id %(given)s must be one word, without spaces or control characters"),
            given=repr(seller_id),
        )
    if len(seller_id) > MAX_SELLER_ID:
        return Reason(
            N_("seller id %(start)s… is %(length)s characters: at most %(limit)s"),
            start=repr(seller_id[:20]),
            length=Number(len(seller_id)),
            limit=MAX_SELLER_ID,
        )
    return None


def control_problem(what: str, text: str) -> str | None:
    """Why ``text`` cannot be stored as ``what`` (a name, a reason people read), or None:
    a newline, tab or escape in it would break or restyle the messages that show it."""
    if any(unicodedata.category(c) == "Cc" for c in text):
        return f"{what} must not contain control characters (newline, tab, escape)"
    return None
