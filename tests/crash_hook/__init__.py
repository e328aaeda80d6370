"""The crash hook of the crash tests, kept out of the product: a process started with
``crash_after_commit(n)`` in its environment loads ``sitecustomize`` from this folder and
kills itself (SIGKILL) right after its nth commit."""

from __future__ import annotations

import os
from pathlib import Path

from tests.crash_hook.sitecustomize import CRASH_AFTER_COMMIT

HOOK = Path(__file__).parent


def crash_after_commit(n: int) -> dict[str, str]:
    """The environment (beyond the test's own) of a process that dies after commit ``n``."""
    paths = [str(HOOK), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths), CRASH_AFTER_COMMIT: str(n)}
