"""HTTP/1.1 keep-alive connections to bol.com, straight on asyncio and h11.

httpx's default pool (httpcore over anyio) checks every connection it holds, with a
system call each, whenever a request starts or ends, and hands one idle connection to
several waiting requests at once, which then try again: at a thousand sellers that cost
the poll more CPU than everything else it does per request. Here each origin keeps a
stack of idle connections: a request takes the most recent one, or opens a new one, and
puts it back when the answer is read. ``BolApi`` bounds how many requests are in flight,
so this pool keeps at most that many idle and never waits for one. It knows no proxies:
``pool_for`` sends the URLs the environment names a proxy for through httpx's own
transport instead (``Proxied``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx

Origin = tuple[bytes, str, int]
DEFAULT_PORTS = {b"http": 80, b"https": 443}
# How long an idle connection is kept (httpx's default): servers drop idle ones sooner or
# later, and a request on a connection the server has just closed costs a retry.
KEEPALIVE_S = 5.0
READ_SIZE = 64 * 1024
CLOSE_S = 5.0  # how long closing waits for the connections to be gone


class _Stale(Exception):
    """A kept connection that the server closed before it answered anything: try a new one."""


class _Connection:
    """One HTTP/1.1 connection: a request at a time, read whole."""

    __slots__ = ("expires_at", "protocol", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = h11.Connection(h11.CLIENT)
        self.expires_at = 0.0

    @property
    def closed(self) -> bool:
        """Whether the server has closed it while it was idle."""
        return self.writer.is_closing() or self.reader.at_eof()

    async def exchange(
        self,
        request: httpx.Request,
        body: bytes,
        timeouts: dict[str, float | None],
        fresh: bool,
    ) -> tuple[h11.Response, bytes]:
        """Send ``request`` and read the whole answer. ``_Stale`` when a kept (not
        ``fresh``) connection was closed before any byte of the answer came."""
        protocol = self.protocol
        out = protocol.send(
            h11.Request(
                method=request.method,
                target=request.url.raw_path,
                headers=request.headers.raw,
            )
        )
        assert out is not None
        if body:
            out += protocol.send(h11.Data(data=body)) or b""
        out += protocol.send(h11.EndOfMessage()) or b""
        try:
            self.writer.write(out)
            if self.writer.transport.get_write_buffer_size():
                async with asyncio.timeout(timeouts.get("write")):
                    await self.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending to bol.com") from None
        except OSError as exc:
            if not fresh:
                raise _Stale from exc
            raise httpx.WriteError(str(exc) or type(exc).__name__) from exc
        return await self._read(timeouts.get("read"), fresh)

    async def _read(self, timeout: float | None, fresh: bool) -> tuple[h11.Response, bytes]:
        protocol = self.protocol
        head: h11.Response | None = None
        chunks: list[bytes] = []
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is h11.NEED_DATA:
                try:
                    async with asyncio.timeout(timeout):
                        data = await self.reader.read(READ_SIZE)
                except TimeoutError:
                    raise httpx.ReadTimeout("timed out waiting for bol.com") from None
                except OSError as exc:
                    if head is None and not fresh:
                        raise _Stale from exc
                    raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
                if not data and head is None and not fresh:
                    raise _Stale
                protocol.receive_data(data)
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return head, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                raise httpx.RemoteProtocolError("bol.com closed the connection mid-answer")
            # InformationalResponse (1xx): read on

    def reusable(self) -> bool:
        """Whether both sides are done and may start the next request on it."""
        protocol = self.protocol
        if protocol.our_state is h11.DONE and protocol.their_state is h11.DONE:
            protocol.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        self.writer.close()


class KeepAlivePool(httpx.AsyncBaseTransport):
    """An ``httpx`` transport: HTTP/1.1, kept-alive connections per origin, reused most
    recent first; at most ``max_idle`` idle ones per origin."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_idle: int = 16,
        keepalive_s: float = KEEPALIVE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ssl = ssl_context
        self._max_idle = max_idle
        self._keepalive_s = keepalive_s
        self._clock = clock
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.raw_scheme, url.host, url.port or DEFAULT_PORTS.get(url.raw_scheme, 80))
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        body = await request.aread()
        while True:
            connection = self._idle_connection(origin)
            fresh = connection is None
            if connection is None:
                connection = await self._connect(origin, timeouts.get("connect"))
            try:
                head, answer = await connection.exchange(request, body, timeouts, fresh)
            except _Stale:
                self._discard(connection)
                continue  # that one was closed while idle: a new one answers
            except BaseException:
                self._discard(connection)
                raise
            if connection.reusable():
                self._keep(origin, connection)
            else:
                self._discard(connection)
            return httpx.Response(
                head.status_code,
                headers=head.headers,
                stream=httpx.ByteStream(answer),
                extensions={"http_version": b"HTTP/" + head.http_version},
                request=request,
            )

    def _idle_connection(self, origin: Origin) -> _Connection | None:
        stack = self._idle.get(origin)
        now = self._clock()
        while stack:
            connection = stack.pop()
            if connection.expires_at > now and not connection.closed:
                return connection
            self._discard(connection)
        return None

    def _keep(self, origin: Origin, connection: _Connection) -> None:
        stack = self._idle.setdefault(origin, [])
        if len(stack) >= self._max_idle:
            self._discard(connection)
            return
        connection.expires_at = self._clock() + self._keepalive_s
        stack.append(connection)

    def _discard(self, connection: _Connection) -> None:
        self._open.discard(connection)
        connection.close()

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        tls: dict[str, Any] = {}
        if scheme == b"https":
            tls = {"ssl": self._ssl or ssl.create_default_context(), "server_hostname": host}
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, **tls)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        connection = _Connection(reader, writer)
        self._open.add(connection)
        return connection

    async def aclose(self) -> None:
        """Close every connection, idle or not, and wait until they are."""
        open_now = list(self._open)
        self._open.clear()
        self._idle.clear()
        for connection in open_now:
            connection.close()
        # A TLS peer that does not answer the goodbye: its transport is closed anyway.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_S):
                for connection in open_now:
                    with contextlib.suppress(OSError):
                        await connection.writer.wait_closed()


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``ALL_PROXY`` and the
    like, less ``NO_PROXY``), as httpx's own client would use it; None: direct. A proxy
    given as ``host:port`` is spoken to in plain HTTP, as httpx takes it."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _origin(url: httpx.URL) -> tuple[bytes, str, int | None]:
    return (url.raw_scheme, url.host, url.port)


class Proxied(httpx.AsyncBaseTransport):
    """Requests to the origins a proxy is named for go through httpx's own transport with
    that proxy; every other request through ``direct`` (the keep-alive pool, which speaks
    to bol.com directly and knows no proxies)."""

    def __init__(
        self,
        direct: httpx.AsyncBaseTransport,
        proxies: dict[str, str],
        connections: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.direct = direct
        self.by_origin = {
            _origin(httpx.URL(url)): httpx.AsyncHTTPTransport(
                verify=ssl_context or True, limits=limits, proxy=proxy
            )
            for url, proxy in proxies.items()
        }

    def transport_for(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        return self.by_origin.get(_origin(url), self.direct)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.transport_for(request.url).handle_async_request(request)

    async def aclose(self) -> None:
        for transport in (self.direct, *self.by_origin.values()):
            await transport.aclose()


def pool_for(
    urls: Iterable[str], *, connections: int, ssl_context: ssl.SSLContext | None = None
) -> httpx.AsyncBaseTransport:
    """A keep-alive pool for ``urls``, with httpx's own transport for those behind a proxy."""
    direct = KeepAlivePool(ssl_context=ssl_context, max_idle=connections)
    proxies = {url: proxy for url in urls if (proxy := proxy_for(url)) is not None}
    return Proxied(direct, proxies, connections, ssl_context) if proxies else direct
