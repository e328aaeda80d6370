"""A throwaway PostgreSQL cluster for tests and benchmarks: a temp dir, a free port.

PostgreSQL refuses to run as root, so when the tests do, ``initdb`` and the server run as
an unprivileged user (``postgres`` where it exists, else ``nobody``) that owns the temp dir.
Each test gets a database of its own, copied from a migrated template.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "normwacht"
TEMPLATE = "normwacht_template"


def binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: a packaged PostgreSQL (newest first), or PATH."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    """A PostgreSQL server of its own, stopped and deleted by ``stop``."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.base = Path(tempfile.mkdtemp(prefix="normwacht-pg-"))
        self.data = self.base / "data"
        self.port = 0
        self._user: pwd.struct_passwd | None = None
        self._names = itertools.count(1)
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    self._user = pwd.getpwnam(name)
                    break
            if self._user is None:
                raise RuntimeError("no unprivileged user to run PostgreSQL as")
            os.chown(self.base, self._user.pw_uid, self._user.pw_gid)
        self.base.chmod(0o700)

    def _run(self, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C", "PGTZ": "UTC"}
        done = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=self.base,
            env=env,
            check=False,
            **kwargs,  # type: ignore[call-overload]
        )
        if done.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr or done.stdout}\n{tail}")

    def start(self) -> Cluster:
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
            "--no-locale", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        for _ in range(5):
            self.port = _free_port()
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-w",
                    "-t", "60", "-o", f"{self._settings} -p {self.port}", "start",
                )  # fmt: skip
                return self
            except RuntimeError:
                continue  # the port was taken meanwhile
        raise RuntimeError("PostgreSQL did not start")

    @property
    def _settings(self) -> str:
        return (
            f"-c listen_addresses=127.0.0.1 -k {self.base} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
            "-c shared_buffers=64MB -c timezone=UTC"
        )

    def halt(self) -> None:
        """Stop the server as an outage would (``-m fast``: connections are cut); its
        data and port stay, for ``resume``."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the halted server again on the same port."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-w",
            "-t", "60", "-o", f"{self._settings} -p {self.port}", "start",
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    async def prepare_template(self) -> None:
        """A migrated database that each test's database is copied from."""
        import asyncpg

        from bot.store import Store

        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f"CREATE DATABASE {TEMPLATE}")
        finally:
            await conn.close()
        store = await Store.open(self.url(TEMPLATE))
        await store.close()

    async def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database, migrated (or with no tables at all); returns its URL."""
        import asyncpg

        name = f"test_{os.getpid()}_{next(self._names)}"
        template = TEMPLATE if migrated else "template0"
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        finally:
            await conn.close()
        return self.url(name)

    async def drop_database(self, url: str) -> None:
        import asyncpg

        name = url.rsplit("/", 1)[-1]
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await conn.close()
