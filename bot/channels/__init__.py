"""Chat channels: thin adapters between a platform and the service layer."""
