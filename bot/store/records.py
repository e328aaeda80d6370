"""Rows of the store as typed records, and time stamps as text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from norms import Exemption


def stamp(moment: datetime) -> str:
    """A UTC ISO-8601 text that sorts in time order."""
    if moment.tzinfo is None:
        raise ValueError("time stamps must be time-zone aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Seller:
    id: str
    name: str
    language: str


@dataclass(frozen=True, slots=True)
class Chat:
    """A destination: a Telegram chat, a Slack channel or user, or the console."""

    id: int
    platform: str
    address: str
    title: str
    language: str
    muted: bool
    digest_day: int
    digest_hour: int
    active: bool
    inactive_reason: str | None


@dataclass(frozen=True, slots=True)
class ExemptionRecord:
    """A stored exemption: its id (to remove it by), who declared it and when."""

    id: int
    exemption: Exemption
    actor: str
    created_at: datetime


def seller_filter(ids: Sequence[str] | None) -> tuple[str, list[str]]:
    """The condition (``AND ...``) and parameters that keep the rows of these sellers (all
    when None, none when empty)."""
    if ids is None:
        return "", []
    if not ids:
        return "AND 1 = 0", []
    # A temp table would scale further; checks name at most thousands of sellers on the
    # command line, and the bulk path passes None.
    return f"AND seller_id IN ({','.join('?' * len(ids))})", list(ids)
