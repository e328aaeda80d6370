"""Shared by bol.com's tests: a seller connected with sealed credentials, and planning that
renders whatever templates exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from bot.bol.credentials import SecretBox
from bot.config import Config
from bot.store import Store
from messages import Rendered, render
from tests.conftest import FixedClock


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning renders every message; stand in for templates that are not written yet."""
    try:
        render("poll_failed", {"seller": None, "reason": "x"}, fmt="text", lang="nl")
    except LookupError:

        def stand_in(kind: str, data: Mapping[str, Any], **_: object) -> Rendered:
            return Rendered(text=f"{kind}: {sorted(data)}", blocks=None, parse_mode=None)

        monkeypatch.setattr("bot.notices.notice.render", stand_in)
    except Exception:  # the real template rendered (or choked on the dummy seller): fine
        pass


async def connect(
    store: Store, config: Config, clock: FixedClock, seller_id: str, client_id: str, secret: str
) -> None:
    if await store.sellers.get(seller_id) is None:
        await store.sellers.add(seller_id, f"Shop {seller_id}", "nl", clock())
    assert config.secret_key is not None
    box = SecretBox(config.secret_key)
    await store.sellers.set_credentials(seller_id, box.seal(client_id), box.seal(secret), clock())
