"""The HTTP listener of ``normwacht run`` (``NORMWACHT_HTTP_HOST``, ``NORMWACHT_HTTP_PORT``):
Slack events in HTTP mode, the Telegram webhook, and ``/healthz`` and ``/metrics``. With
``NORMWACHT_ADMIN_ADDRESS`` the last two are served there instead, apart from the public
webhook port. Channels add their routes before it starts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.config import ConfigError
from bot.runtime.health import Health

log = logging.getLogger(__name__)

# ``/metrics``: the Prometheus text of the moment (``bot.exposition``).
Metrics = Callable[[], Awaitable[bytes]]


class HttpServer:
    def __init__(
        self,
        port: int,
        host: str | None = None,
        health: Health | None = None,
        *,
        admin: tuple[str | None, int] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        # host None: every address, IPv4 and IPv6.
        self.host = host
        self.port = port
        self.health = health
        self.metrics = metrics
        self.app = web.Application()
        # /healthz and /metrics: on the admin address when there is one, else here.
        self.admin = admin
        self.admin_app = web.Application() if admin is not None else self.app
        self.admin_app.router.add_get("/healthz", self._healthz)
        self.admin_app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self._admin_runner: web.AppRunner | None = None
        self.admin_port: int | None = None
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
        return self._runner is not None or self._admin_runner is not None

    async def start(self) -> None:
        if self.admin is not None:
            host, port = self.admin
            self._admin_runner = web.AppRunner(
                self.admin_app, access_log=None, shutdown_timeout=1.0
            )
            await self._admin_runner.setup()
            try:
                await web.TCPSite(self._admin_runner, host, port).start()
            except OSError as exc:
                await self.stop()
                raise ConfigError(
                    f"NORMWACHT_ADMIN_ADDRESS: cannot listen on {_address(host, port)}: "
                    f"{exc.strerror or exc}"
                ) from exc
            self.admin_port = int(self._admin_runner.addresses[0][1])
            log.info("http: /healthz and /metrics on %s", _address(host, self.admin_port))
        if self.admin is not None and not self.needed:
            return  # no webhook to receive: the public port stays closed
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError:
            await self.stop()
            raise
        self.port = int(self._runner.addresses[0][1])
        log.info("http: listening on %s", _address(self.host, self.port))

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._admin_runner is not None:
            await self._admin_runner.cleanup()
            self._admin_runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        """The bot in Prometheus text (``normwacht_*``); 404 where nothing measures it."""
        if self.metrics is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=await self.metrics(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 while the process serves, with each part's state: ``{"ok": true,
        "telegram": "down since 2026-11-19T09:00:00+00:00", "slack": "up", "scheduler":
        "up", "instance": {"id": ..., "database": ..., "leases": ["scheduler"]}}``, and
        with TELEGRAM_PAID_BROADCAST=on what paid broadcasts cost
        (``telegram_paid_broadcasts``); with several instances on one database, each names
        the leases it holds. A platform that is down is not the process failing: it still
        serves the rest, and delivers the waiting messages once the platform is back. The
        database down is: 503."""
        states: dict[str, object] = {}
        if self.health is not None:
            await self.health.refresh()
        # Without its database an instance serves nothing: a load balancer takes it out.
        ok = self.health is None or self.health.is_up("database")
        if self.health is not None:
            states.update(self.health.states())
            states.update(self.health.notes())
            if self.health.instance is not None:
                states["instance"] = self.health.instance()
        return web.json_response({"ok": ok, **states}, status=200 if ok else 503)


def _address(host: str | None, port: int) -> str:
    """``127.0.0.1:8080``, ``[::1]:8080``, or ``port 8080 of every address``."""
    if host is None:
        return f"port {port} of every address"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
