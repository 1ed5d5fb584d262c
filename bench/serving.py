"""What the benchmarks that serve the API share: a scratch database, `tribe
serve` as a user runs it (rate limit and scheduled segment refresh out of the
way), and the results file."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from domain import db, embedded_pg, migrate


@contextlib.asynccontextmanager
async def scratch_database(prefix: str):
    """A fresh, migrated database on DATABASE_URL's server (or a throwaway
    embedded PostgreSQL), dropped afterwards: its URL and an engine."""
    with contextlib.ExitStack() as stack:
        server_url = os.environ.get("DATABASE_URL") or stack.enter_context(embedded_pg.throwaway())
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(make_url(server_url).set(drivername="postgresql").render_as_string(
            hide_password=False))
        await admin.execute(f'CREATE DATABASE "{name}"')
        database_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        engine = db.make_engine(database_url)
        try:
            await migrate.upgrade(engine)
            yield database_url, engine
        finally:
            await engine.dispose()
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.close()


def write_results(name: str, results: dict) -> None:
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / name).write_text(json.dumps(results, indent=2))


@contextlib.contextmanager
def tribe_server(database_url: str, workers: int):
    """The server's base URL (http://127.0.0.1:PORT) once it is ready."""
    port = 18_000 + random.randrange(1000)
    env = {**os.environ, "DATABASE_URL": database_url, "TRIBE_RATE_PER_SECOND": "1000000",
           "TRIBE_RATE_BURST": "1000000", "TRIBE_SEGMENT_REFRESH_MINUTES": "0"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "tribe"), "serve", "--port", str(port),
                                "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


# Appended to every wrk script: the latency percentiles printed as JSON at the end.
_WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format('{"requests":%d,"seconds":%f,"non2xx":%d,"socket_errors":%d,'
    .. '"p50":%f,"p95":%f,"p99":%f}\\n', summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def run_wrk(url: str, script: str, connections: int, seconds: int) -> dict:
    """`wrk -t1` with `script` (Lua: its `request`, maybe `delay`) for `seconds`
    over `connections` connections: requests, req/s and latency percentiles in ms."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as file:
        file.write(script + _WRK_DONE)
        file.flush()
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
                              file.name, url], capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["requests_per_second"] = result["requests"] / result["seconds"]
    return result

