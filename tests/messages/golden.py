"""Golden files: the committed expectation of every rendered message.

Run with ``UPDATE_GOLDEN=1`` to rewrite them from the current templates; then read the
diff, because the committed files are what sellers will see.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from messages import Rendered

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def serialise(rendered: Rendered, fmt: str) -> str:
    """The golden text of a message: the text, or for Slack the JSON of text and blocks."""
    if fmt == "slack":
        body = {"text": rendered.text, "blocks": rendered.blocks}
        return json.dumps(body, ensure_ascii=False, indent=1) + "\n"
    return rendered.text


def golden_path(lang: str, fmt: str, case: str) -> Path:
    return GOLDEN / lang / fmt / f"{case}.txt"


def check_golden(path: Path, actual: str) -> None:
    """Compare with the golden file, or write it when updating."""
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run the tests once with UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path} differs; if the change is intended, UPDATE_GOLDEN=1"
