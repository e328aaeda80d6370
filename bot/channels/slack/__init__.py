"""Slack: the adapter (slash command, buttons, home tab), the sender, Block Kit, and
request signatures."""
