"""What a message that is not sent yet waits for, and until when: quiet hours (judged now,
with the configuration of this moment), a retry, a 429, a platform that is down."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.channels.platforms import platform as platform_named
from bot.config import Config, QuietHours
from bot.store.outbox import PLATFORM_DOWN, RETRY


def quiet_until(quiet: QuietHours | None, now: datetime, config: Config) -> datetime | None:
    """When quiet hours end, if ``now`` is inside them (in the configured time zone)."""
    if quiet is None:
        return None
    local = now.astimezone(config.timezone)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end


QUIET_HOURS = "quiet hours"
# A message due now that no worker has taken yet (``deliver`` not run, or just planned).
NEXT_ROUND = "next delivery"


def waiting(
    *,
    platform: str,
    urgent: bool,
    state: str,
    next_attempt_at: datetime | None,
    reason: str | None,
    now: datetime,
    config: Config,
    down: frozenset[str] = frozenset(),
) -> tuple[datetime | None, str | None]:
    """When a message not sent yet is due, and what it waits for; (None, None) once it
    is sent or dead. Quiet hours are judged now, with the configuration of this moment;
    ``down`` are the platforms known not to answer now."""
    if state not in ("pending", "failed", "sending") or next_attempt_at is None:
        return None, None
    if state == "sending":
        return now, "sending"
    due, why = next_attempt_at, reason
    quiet = not urgent and platform_named(platform).quiet_hours
    quiet_end = quiet_until(config.quiet_hours, now, config) if quiet else None
    # Quiet hours first: however soon the platform is back, the message waits for them.
    if quiet_end is not None and quiet_end > due:
        return quiet_end, QUIET_HOURS
    if platform in down:
        return max(now, next_attempt_at), PLATFORM_DOWN
    if due <= now:
        return now, why or NEXT_ROUND
    return due, why or (RETRY if state == "failed" else NEXT_ROUND)
