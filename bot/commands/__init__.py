"""Every chat command, written once for every channel."""
