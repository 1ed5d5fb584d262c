"""PostgreSQL restarted under load: what clients see, and what is kept.

    .venv/bin/python bench/bench_faults.py [--rate 40] [--before 4] [--after 8] [--workers 2]

Needs PostgreSQL's own server binaries (/usr/lib/postgresql/15/bin, as .ci/run
installs them): the script makes a throwaway cluster it can restart with
`pg_ctl restart -m fast` and then `-m immediate`. Against it, `tribe serve
--workers N` on a demo store of 500 customers, under a bounded mixed load of
--rate requests a second (three customer reads for each purchaseRecord, every
purchase with its own idempotency key), and one WebSocket subscriber to
customerChanged that, when cut off, subscribes again from its last cursor (as
the README tells clients to).

For each restart it prints: how long the server took to restart, the errors
inside and outside the outage (the outage: from the restart command to the
first success after it), their codes (never "Internal error."), how long after
the server was back each operation first succeeded, and at the end: every
acknowledged purchase present in the database, and every one announced to the
subscriber (none missed, none twice).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import websockets
from sqlalchemy import func, select

from domain import db, migrate
from domain.db import unit_of_work
from domain.demo import build_demo
from domain.tables import customers, purchases
from domain.vocab import Role
from domain.workspaces import create_key, create_workspace
from gql_api.ids import to_global_id
from serving import tribe_server, write_results

PG = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
READ = "query($id: ID!) { customer(id: $id) { displayName scores { clv } } }"
WRITE = """mutation($input: PurchaseRecordInput!) { purchaseRecord(input: $input) {
  purchase { id } userErrors { code } } }"""
FEED = "subscription($after: String) { customerChanged(after: $after) { cursor eventId change details } }"


@contextlib.contextmanager
def cluster():
    """A throwaway PostgreSQL 15 cluster on a free port: (its URL, its pg_ctl)."""
    folder = tempfile.mkdtemp(prefix="tribe-faults-")
    subprocess.run(["chown", "postgres", folder], check=True)
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, PG / "initdb", "-D", f"{folder}/data", "-U", "postgres", "--auth=trust", "-E",
                    "UTF8"], check=True, stdout=subprocess.DEVNULL)
    port = 19_000 + os.getpid() % 1000
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"

    def pg_ctl(*args: str) -> None:
        subprocess.run([*as_postgres, PG / "pg_ctl", "-D", f"{folder}/data", "-l", f"{folder}/log", "-w",
                        "-o", options, *args], check=True, stdout=subprocess.DEVNULL)
    pg_ctl("start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", pg_ctl
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl("-m", "immediate", "stop")
        subprocess.run(["rm", "-rf", folder], check=False)


class Load:
    """The clients: every request's outcome, and the purchases acknowledged."""

    def __init__(self, url: str, key: str, ids: list[str]):
        self.url, self.key, self.ids = url, key, ids
        self.outcomes: list[tuple[float, str, str]] = []  # (when, read|write, ok|code)
        self.acknowledged: set[str] = set()  # purchase ids
        self.serial = itertools.count()

    async def one(self, client: httpx.AsyncClient, kind: str) -> None:
        n = next(self.serial)
        variables = {"id": self.ids[n % len(self.ids)]} if kind == "read" else {"input": {
            "customerId": self.ids[n % len(self.ids)], "idempotencyKey": f"fault-{n}",
            "items": [{"product": "tea", "amount": "1000"}]}}
        try:
            answer = await client.post(self.url, json={"query": READ if kind == "read" else WRITE,
                                                       "variables": variables},
                                       headers={"Authorization": f"Bearer {self.key}"}, timeout=10)
            body = answer.json()
            errors = body.get("errors") or []
            outcome = "ok" if not errors else (errors[0].get("extensions") or {}).get("code") or errors[0]["message"]
            if kind == "write" and not errors and body["data"]["purchaseRecord"]["purchase"]:
                self.acknowledged.add(body["data"]["purchaseRecord"]["purchase"]["id"])
        except (httpx.HTTPError, ValueError) as exc:
            outcome = type(exc).__name__
        self.outcomes.append((time.monotonic(), kind, outcome))

    async def run(self, rate: int, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient() as client:
            pending = set()
            for n in itertools.count():
                if stop.is_set():
                    break
                pending.add(asyncio.create_task(self.one(client, "write" if n % 4 == 0 else "read")))
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*pending)


async def subscriber(ws_url: str, key: str, seen: list[dict], stop: asyncio.Event) -> int:
    """Follows customerChanged, resuming from its last cursor after each cut; the number of reconnections."""
    cursor, reconnections = None, -1
    while not stop.is_set():
        reconnections += 1
        with contextlib.suppress(OSError, websockets.WebSocketException, asyncio.TimeoutError):
            async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as socket:
                await socket.send(json.dumps({"type": "connection_init",
                                              "payload": {"Authorization": f"Bearer {key}"}}))
                if json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] != "connection_ack":
                    continue
                await socket.send(json.dumps({"id": "1", "type": "subscribe",
                                              "payload": {"query": FEED, "variables": {"after": cursor}}}))
                while not stop.is_set():
                    with contextlib.suppress(asyncio.TimeoutError):
                        message = json.loads(await asyncio.wait_for(socket.recv(), 0.5))
                        if message["type"] != "next":
                            break
                        event = message["payload"]["data"]["customerChanged"]
                        seen.append(event)
                        cursor = event["cursor"]
        await asyncio.sleep(0.2)
    return reconnections


def summary(load: Load, mode: str, asked: float, back: float, next_restart: float) -> dict:
    mine = [o for o in load.outcomes if asked - 2 <= o[0] < next_restart]
    firsts = {kind: next((t for t, k, o in mine if k == kind and o == "ok" and t >= back), None)
              for kind in ("read", "write")}
    outage_end = max((t for t in firsts.values() if t is not None), default=back)
    inside = [o for o in mine if asked <= o[0] < outage_end]
    outside = [o for o in mine if not asked <= o[0] < outage_end]
    return {"mode": mode, "restart_s": back - asked,
            "requests_inside": len(inside), "errors_inside": sum(o[2] != "ok" for o in inside),
            "errors_outside": sum(o[2] != "ok" for o in outside),
            "codes": sorted({o[2] for o in mine if o[2] != "ok"}),
            "first_read_after_s": firsts["read"] and firsts["read"] - back,
            "first_write_after_s": firsts["write"] and firsts["write"] - back}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=40)
    parser.add_argument("--before", type=float, default=4.0, help="seconds of load before the first restart")
    parser.add_argument("--after", type=float, default=8.0, help="seconds of load after each restart")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with cluster() as (url, pg_ctl):
        engine = db.make_engine(url)
        await migrate.upgrade(engine)
        async with unit_of_work(engine) as conn:
            workspace = await create_workspace(conn, "faults")
            await build_demo(conn, workspace.id, 500, seed=3)
            key, _ = await create_key(conn, workspace.id, Role.ADMIN)
            ids = [to_global_id("Customer", pk) for pk in await conn.scalars(
                select(customers.c.id).where(customers.c.workspace_id == workspace.id).limit(200))]
        with tribe_server(url, args.workers) as base:
            load, seen, stop = Load(base + "/graphql", key, ids), [], asyncio.Event()
            clients = [asyncio.create_task(load.run(args.rate, stop)),
                       asyncio.create_task(subscriber(base.replace("http", "ws") + "/graphql", key, seen, stop))]
            await asyncio.sleep(args.before)
            moments = []
            for mode in ("fast", "immediate"):
                asked = time.monotonic()
                await asyncio.to_thread(pg_ctl, "-m", mode, "restart")
                moments.append((mode, asked, time.monotonic()))
                await asyncio.sleep(args.after)
            stop.set()
            _, reconnections = await asyncio.gather(*clients)
            await asyncio.sleep(0.5)
        async with unit_of_work(engine) as conn:
            stored = {to_global_id("Purchase", pk) for pk in await conn.scalars(
                select(purchases.c.id).where(purchases.c.workspace_id == workspace.id,
                                             purchases.c.external_id.is_(None), purchases.c.total == 1000))}
            count = await conn.scalar(select(func.count()).select_from(purchases)
                                      .where(purchases.c.workspace_id == workspace.id))
        await engine.dispose()
    ends = [m[1] for m in moments[1:]] + [float("inf")]
    rows = [summary(load, mode, asked, back, end) for (mode, asked, back), end in zip(moments, ends)]
    announced = [e["details"].get("purchaseId") for e in seen if e["change"] == "PURCHASE_RECORDED"]
    totals = {"requests": len(load.outcomes), "acknowledged_purchases": len(load.acknowledged),
              "acknowledged_present": len(load.acknowledged & stored), "purchases_in_database": count,
              "announced": len(set(announced) & load.acknowledged),
              "announced_twice": len(announced) - len(set(announced)),
              "subscriber_reconnections": reconnections}
    print(f"tribe serve --workers {args.workers}, {args.rate} requests/s (1 purchaseRecord in 4), "
          f"pg_ctl restart under load")
    print(f"{'restart':<10} {'took s':>7} {'inside':>7} {'errors':>7} {'outside':>8} {'read ok s':>10} "
          f"{'write ok s':>11}  codes")
    for r in rows:
        print(f"{'-m ' + r['mode']:<10} {r['restart_s']:>7.2f} {r['requests_inside']:>7} {r['errors_inside']:>7} "
              f"{r['errors_outside']:>8} {r['first_read_after_s'] or float('nan'):>10.2f} "
              f"{r['first_write_after_s'] or float('nan'):>11.2f}  {', '.join(r['codes']) or '-'}")
    print(" ".join(f"{k.replace('_', ' ')}: {v}" for k, v in totals.items()))
    write_results("faults.json", {"restarts": rows, **totals})


if __name__ == "__main__":
    asyncio.run(main())
