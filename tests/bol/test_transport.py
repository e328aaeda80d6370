"""The keep-alive pool bol.com is reached through, against a small HTTP/1.1 server that
counts its connections and can misbehave: reuse, servers that hang up, timeouts,
cancellation, chunked answers, TLS."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import h11
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.bol.transport import KeepAlivePool


class Server:
    """HTTP/1.1 on 127.0.0.1: answers ``{"n": <request number>}``; ``mode`` misbehaves."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self.mode = "ok"  # ok | close-after | chunked | silent | hang-up
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    def hang_up_idle(self) -> None:
        """Close every connection from the server's side, as a server drops idle ones."""
        for writer in self.writers:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        protocol = h11.Connection(h11.SERVER)
        try:
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    if not data:
                        return
                    protocol.receive_data(data)
                    continue
                if isinstance(event, h11.EndOfMessage):
                    self.requests += 1
                    if not await self._answer(protocol, writer):
                        return
                    protocol.start_next_cycle()
        except (ConnectionError, h11.ProtocolError):
            return
        finally:
            writer.close()

    async def _answer(self, protocol: h11.Connection, writer: asyncio.StreamWriter) -> bool:
        if self.mode == "hang-up":
            return False
        if self.mode == "silent":
            await asyncio.sleep(3600)
        body = b'{"n": %d}' % self.requests
        headers = [("Content-Type", "application/json")]
        if self.mode == "chunked":
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(len(body))))
        if self.mode == "close-after":
            headers.append(("Connection", "close"))
        out = protocol.send(h11.Response(status_code=200, headers=headers)) or b""
        if self.mode == "chunked":
            out += protocol.send(h11.Data(data=body[:3])) or b""
            out += protocol.send(h11.Data(data=body[3:])) or b""
        else:
            out += protocol.send(h11.Data(data=body)) or b""
        out += protocol.send(h11.EndOfMessage()) or b""
        writer.write(out)
        await writer.drain()
        return self.mode != "close-after"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    running = Server()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def pool() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=KeepAlivePool(max_idle=4), timeout=5.0) as client:
        yield client


def url(server: Server, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.port}/x?a=1"


async def test_one_connection_serves_request_after_request(
    server: Server, pool: httpx.AsyncClient
) -> None:
    for n in range(1, 21):
        response = await pool.get(url(server))
        assert response.json() == {"n": n}
    assert server.connections == 1


async def test_requests_at_once_open_a_connection_each_and_reuse_them_later(
    server: Server, pool: httpx.AsyncClient
) -> None:
    await asyncio.gather(*(pool.get(url(server)) for _ in range(4)))
    opened = server.connections
    assert 1 <= opened <= 4
    for _ in range(3):
        await asyncio.gather(*(pool.get(url(server)) for _ in range(opened)))
    assert server.connections == opened
    assert server.requests == 4 + 3 * opened


async def test_at_most_max_idle_connections_are_kept(server: Server) -> None:
    async with httpx.AsyncClient(transport=KeepAlivePool(max_idle=2)) as client:
        await asyncio.gather(*(client.get(url(server)) for _ in range(6)))
        opened = server.connections
        await asyncio.gather(*(client.get(url(server)) for _ in range(6)))
    assert opened == 6  # the first six each needed one
    assert server.connections == 6 + 4  # two were kept, four opened anew


async def test_a_connection_the_server_dropped_while_idle_is_replaced_at_once(
    server: Server, pool: httpx.AsyncClient
) -> None:
    await pool.get(url(server))
    server.hang_up_idle()
    await asyncio.sleep(0.05)
    assert (await pool.get(url(server))).json() == {"n": 2}
    assert server.connections == 2


async def test_a_kept_connection_closed_before_it_answers_is_retried_on_a_new_one(
    server: Server, pool: httpx.AsyncClient
) -> None:
    await pool.get(url(server))
    server.mode = "hang-up"  # reads the next request, then closes without a word
    with pytest.raises(httpx.RemoteProtocolError):
        await pool.get(url(server))
    # The kept connection was tried, then one new one: its silence is an error, not a loop.
    assert server.connections == 2
    assert server.requests == 3


async def test_an_answer_with_connection_close_is_not_kept(
    server: Server, pool: httpx.AsyncClient
) -> None:
    server.mode = "close-after"
    await pool.get(url(server))
    await pool.get(url(server))
    assert server.connections == 2


async def test_a_chunked_answer_is_read_whole(server: Server, pool: httpx.AsyncClient) -> None:
    server.mode = "chunked"
    assert (await pool.get(url(server))).json() == {"n": 1}
    assert (await pool.get(url(server))).json() == {"n": 2}
    assert server.connections == 1


async def test_a_silent_server_is_a_read_timeout_and_its_connection_is_dropped(
    server: Server,
) -> None:
    async with httpx.AsyncClient(transport=KeepAlivePool(), timeout=0.2) as client:
        await client.get(url(server))
        server.mode = "silent"
        with pytest.raises(httpx.ReadTimeout):
            await client.get(url(server))
        server.mode = "ok"
        await client.get(url(server))
    assert server.connections == 2


async def test_a_cancelled_request_gives_its_connection_up(
    server: Server, pool: httpx.AsyncClient
) -> None:
    server.mode = "silent"
    task = asyncio.create_task(pool.get(url(server)))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    server.mode = "ok"
    assert (await pool.get(url(server))).status_code == 200
    assert server.connections == 2


async def test_nobody_listening_is_a_connect_error(pool: httpx.AsyncClient) -> None:
    gone = Server()
    await gone.start()
    await gone.stop()
    with pytest.raises(httpx.ConnectError):
        await pool.get(url(gone))


def self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_file, key_file)
    client_side = ssl.create_default_context(cafile=str(cert_file))
    return server_side, client_side


async def test_https_is_checked_against_the_given_certificates_and_kept_alive(
    tmp_path: Path,
) -> None:
    server_side, client_side = self_signed(tmp_path)
    server = Server()
    await server.start(tls=server_side)
    try:
        transport = KeepAlivePool(ssl_context=client_side)
        async with httpx.AsyncClient(transport=transport) as client:
            for n in (1, 2, 3):
                assert (await client.get(url(server, "https"))).json() == {"n": n}
        assert server.connections == 1
        untrusting = KeepAlivePool(ssl_context=ssl.create_default_context())
        async with httpx.AsyncClient(transport=untrusting) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(url(server, "https"))
    finally:
        await server.stop()
