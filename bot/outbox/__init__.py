"""Delivery of what the outbox holds: the worker, the platforms' pacing, send errors, and
what a waiting message waits for."""
