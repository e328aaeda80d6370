"""The one HTTP listener of ``normwacht run`` (``NORMWACHT_HTTP_PORT``): Slack events in
HTTP mode, the Telegram webhook, and ``/healthz``. Channels add their routes before it
starts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.health import Health

log = logging.getLogger(__name__)


class HttpServer:
    def __init__(self, port: int, host: str = "0.0.0.0", health: Health | None = None) -> None:
        self.host = host
        self.port = port
        self.health = health
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._healthz)
        self._runner: web.AppRunner | None = None
        self.routes = 0

    def add_post(
        self, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> None:
        self.app.router.add_post(path, handler)
        self.routes += 1

    @property
    def needed(self) -> bool:
        """A channel that receives requests needs the listener."""
        return self.routes > 0

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = int(self._runner.addresses[0][1])
        log.info("http: listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 while the process serves, with each part's state: ``{"ok": true,
        "telegram": "down since 2026-11-19T09:00:00+00:00", "slack": "up", "scheduler":
        "up", "instance": {"id": ..., "database": ..., "leases": ["scheduler"]}}``; with
        several instances on one database, each names the leases it holds. A platform that
        is down is not the process failing: it still serves the rest, and delivers the
        waiting messages once the platform is back. The database down is: 503."""
        states: dict[str, object] = {}
        if self.health is not None:
            await self.health.refresh()
        # Without its database an instance serves nothing: a load balancer takes it out.
        ok = self.health is None or self.health.is_up("database")
        if self.health is not None:
            states.update(self.health.states())
            if self.health.instance is not None:
                states["instance"] = self.health.instance()
        return web.json_response({"ok": ok, **states}, status=200 if ok else 503)
