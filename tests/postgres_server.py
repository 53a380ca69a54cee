"""A throwaway PostgreSQL server for the tests, started the way its users start one.

``initdb`` and ``pg_ctl`` from the distribution's packages (``/usr/lib/postgresql/<version>/bin``)
make a cluster in a temporary folder. It listens only on a unix socket in that folder, and runs
with ``fsync`` off: the tests need speed, not durability across power cuts. PostgreSQL refuses
to run as root, so when the tests run as root the server runs as an unprivileged user (the
``postgres`` user the package creates, else ``nobody``). ``stop()`` removes everything.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from glob import glob
from pathlib import Path
from urllib.parse import quote

BINARIES = "/usr/lib/postgresql/*/bin"
USER = "jobqueue"
"""The name of the cluster's superuser (a database role, not a system user)."""

SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}


def find_binaries() -> Path | None:
    """The newest installed version's folder holding ``initdb`` and ``pg_ctl``, if any."""
    found = [Path(p) for p in glob(BINARIES) if (Path(p) / "initdb").exists()]
    return max(found, key=lambda p: int(p.parent.name), default=None) if found else None


def missing_reason() -> str | None:
    """Why no server can be started here, or ``None`` when one can."""
    if find_binaries() is None:
        return f"PostgreSQL server binaries not found in {BINARIES} (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'jobqueue-lab[postgres]')"
    return None


def throwaway_server() -> Iterator[PostgresServer]:
    """The body of a fixture: a started server, stopped afterwards; the test is skipped where
    none can be started."""
    import pytest

    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


class PostgresServer:
    """One cluster in a temporary folder; ``dsn()`` connects to it. A subclass may start it
    with other ``settings`` (the benchmarks run it durable)."""

    settings = SETTINGS

    def __init__(self) -> None:
        self.bin = find_binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="jobqueue-lab-pg-"))
        self.data = self.folder / "data"
        self.user = server_user()
        self._schemas = itertools.count(1)

    def start(self) -> PostgresServer:
        if self.user is not None:
            shutil.chown(self.folder, self.user, self.user)
        self._run(
            "initdb", "-D", self.data, "-U", USER, "--auth=trust", "--no-locale", "-E", "UTF8"
        )
        self.resume()
        return self

    def pause(self) -> None:
        """Shut the server down the way an operator does (``-m fast``), keeping its data:
        every session it had is ended."""
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server (again) on its data."""
        options = " ".join(f"-c {name}={value}" for name, value in self.settings.items())
        options += f" -c unix_socket_directories='{self.folder}'"
        log = self.folder / "server.log"
        self._run("pg_ctl", "-D", self.data, "-l", log, "-w", "-o", options, "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def dsn(self, schema: str | None = None) -> str:
        """A ``postgresql://`` URL for the server, with ``schema`` first on the search path."""
        url = f"postgresql://{USER}@/postgres?host={quote(str(self.folder), safe='')}"
        if schema is not None:
            url += "&options=" + quote(f"-c search_path={schema}", safe="")
        return url

    def new_schema(self) -> str:
        """A URL for an empty schema of its own: a fresh database for one store, in a blink."""
        import psycopg

        name = f"store_{next(self._schemas)}"
        with psycopg.connect(self.dsn(), autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {name}")
        return self.dsn(name)

    def _run(self, program: str, *args: object) -> None:
        command = [str(self.bin / program), *map(str, args)]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def server_user() -> str | None:
    """The user to run the server as: ``None`` (this one) unless this one is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists")
