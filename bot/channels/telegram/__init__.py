"""Telegram: the adapter that answers updates, the sender of outbox messages, and the
fair queue that keeps one chat from starving the others."""
