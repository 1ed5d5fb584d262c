"""`tribe serve` for the benchmarks: as a user runs it, with the rate limit and
the scheduled segment refresh out of the way."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx


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
