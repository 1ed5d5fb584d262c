"""`tribe serve --workers N`: N uvicorn processes, each listening on its own
socket bound to the same port with SO_REUSEPORT.

uvicorn's own workers share one listening socket, and asyncio accepts every
pending connection in one go when a worker wakes: when 50 clients connected at
once, one worker took 44 of them and the other 6, and kept them (keep-alive),
so under any load short of saturation one worker queued requests while the
other idled. With a socket per worker the kernel spreads new connections over
the workers evenly. A worker that dies is replaced; one that dies right after
starting (the port is taken, say) stops the server with an error instead.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time

QUICK_DEATH_SECONDS = 5.0


def serve_workers(app: str, host: str, port: int, workers: int, **uvicorn_options) -> None:
    _require_free(host, port)
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start(number: int):
        process = context.Process(target=_worker, args=(app, host, port, uvicorn_options),
                                  name=f"tribe-worker-{number}")
        process.start()
        return process, time.monotonic()

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    running = [start(n) for n in range(workers)]
    failed = False
    while not stopping:
        for number, (process, started) in enumerate(running):
            if process.is_alive():
                continue
            if time.monotonic() - started < QUICK_DEATH_SECONDS:
                print(f"tribe: worker {number} exited with code {process.exitcode} right after starting",
                      file=sys.stderr)
                stopping = failed = True
                break
            running[number] = start(number)
        time.sleep(0.2)
    for process, _ in running:
        if process.is_alive():
            process.terminate()  # uvicorn shuts down gracefully on SIGTERM
    for process, _ in running:
        process.join(30)
    if failed:
        raise SystemExit(1)


def _require_free(host: str, port: int) -> None:
    """SO_REUSEPORT would let the workers share the port with another server of
    the same user (a second `tribe serve`, say); a plain bind first says
    whether anyone holds it."""
    with _socket(host, port) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past connections in TIME_WAIT are no one
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"tribe: cannot listen on {host}:{port}: {exc.strerror}") from None


def _socket(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.socket(family, socket.SOCK_STREAM)


def _worker(app: str, host: str, port: int, uvicorn_options: dict) -> None:
    import uvicorn

    listener = _socket(host, port)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, **uvicorn_options)).run(sockets=[listener])
