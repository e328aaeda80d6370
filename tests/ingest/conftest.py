"""Fixtures of the file reader tests: the default policy and a reader with a fixed today."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.ingest import Issue, Row, read_file
from norms.policy import Policy, load_policy
from tests.ingest.support import DATA, TODAY, Read


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy("verbetertraject-24w")


@pytest.fixture
def read(policy: Policy) -> Read:
    """Read a file completely: a path, or a file name under tests/data/ingest."""

    def read(
        path: Path | str,
        *,
        name: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Row | Issue]:
        if isinstance(path, str):
            path = DATA / path
        return list(read_file(path, today=TODAY, policy=policy, name=name, progress=progress))

    return read
