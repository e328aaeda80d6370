"""Every message kind, in both languages and all three formats, against its golden file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from messages import LANGUAGES, render
from messages.model import FORMATS
from tests.messages.cases import all_cases
from tests.messages.golden import GOLDEN, UPDATE, check_golden, golden_path, serialise

CASES = list(all_cases())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("case", "kind", "data"), CASES, ids=[c[0] for c in CASES])
def test_golden(case: str, kind: str, data: Mapping[str, Any], lang: str, fmt: str) -> None:
    rendered = render(kind, data, fmt=fmt, lang=lang)  # type: ignore[arg-type]
    check_golden(golden_path(lang, fmt, case), serialise(rendered, fmt))


def test_no_stale_golden_files() -> None:
    """Every golden file belongs to a case, so none is left behind after a rename."""
    if UPDATE:
        pytest.skip("updating")
    expected = {
        golden_path(lang, fmt, case[0]) for lang in LANGUAGES for fmt in FORMATS for case in CASES
    }
    assert set(GOLDEN.rglob("*.txt")) == expected
