"""What the bot tells of its own accord: the weekly check and rechecks, digests, the
operators' notices, owed work, and how a notice becomes a planned message."""
