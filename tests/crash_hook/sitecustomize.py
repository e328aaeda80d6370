"""Loaded by the processes a crash test starts (this folder is put first on their
``PYTHONPATH``): with ``NORMWACHT_CRASH_AFTER_COMMIT=N`` the process kills itself (SIGKILL)
right after its Nth commit, so a test can crash a real command at every step."""

from __future__ import annotations

import os
import signal

CRASH_AFTER_COMMIT = "NORMWACHT_CRASH_AFTER_COMMIT"


def _install(after: int) -> None:
    from bot.store.engine.base import Database

    committed = Database._committed

    def crash_after(self: Database) -> None:
        committed(self)
        if self.generation >= after:
            os.kill(os.getpid(), signal.SIGKILL)

    Database._committed = crash_after  # type: ignore[method-assign]


_after = int(os.environ.get(CRASH_AFTER_COMMIT, "0") or 0)
if _after:
    _install(_after)
