"""The `tribe` command line: serve, migrate, demo, import, keys, workspaces."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from tqdm import tqdm

from domain import db, migrate
from domain.errors import DomainError, ErrorCode
from domain.vocab import Role

DEMO_WORKSPACE = "demo"
QUICKSTART_KEY = "quickstart"  # the name of the admin key `serve --quickstart` prints
SCORING_SETTINGS = {
    "cost_per_staff_minute": (float, "staff cost per minute in the workspace currency (default: an hour costs the "
                                     "median order)"),
    "margin": (float, "profit margin applied to CLV (default 1.0: CLV in revenue)"),
    "monthly_discount_rate": (float, "CLV discount rate per month (default 0.01)"),
    "clv_horizon_months": (int, "CLV horizon in months (default 12)"),
    "penalizer": (float, "L2 penalty of the BG/NBD and Gamma-Gamma fits (default 0)"),
    "clusters": (int, "k of the k-means personas (default 5)"),
}


def _engine():
    return db.make_engine()


async def _with_engine(action):
    engine = _engine()
    try:
        await _require_reachable(engine)
        return await action(engine)
    finally:
        await engine.dispose()


async def _require_reachable(engine) -> None:
    """One line saying which database could not be reached and why, instead of
    the driver's traceback (the connection is pooled for the command's use)."""
    try:
        async with engine.connect():
            pass
    except (OSError, DBAPIError) as exc:
        reason = getattr(exc, "orig", None) or exc
        where = engine.url.render_as_string(hide_password=True)
        raise SystemExit(f"tribe: cannot connect to the database at {where}: {reason}") from None


# --- migrate -----------------------------------------------------------------

async def _migrate(args) -> None:
    async def run(engine):
        if args.downgrade:
            if await migrate.current_revision(engine) is None:
                raise DomainError(ErrorCode.INVALID, "downgrade", "the database has no migrations to undo")
            await migrate.downgrade(engine)
        else:
            await migrate.upgrade(engine)
        print(f"database schema at revision {await migrate.current_revision(engine) or 'none (empty)'}")
    await _with_engine(run)


# --- workspaces and keys -----------------------------------------------------

async def _workspaces(args) -> None:
    from domain.customer_tokens import rotate_secret, secret_text, workspace_secret
    from domain.tables import workspaces
    from domain.workspaces import configure_scoring, create_workspace, get_workspace

    async def run(engine):
        async with db.unit_of_work(engine) as conn:
            if args.action == "create":
                workspace = await create_workspace(conn, args.slug, args.name)
                print(f"created workspace {workspace.slug} (id {workspace.id})")
            elif args.action == "app-secret":
                workspace = await get_workspace(conn, args.slug)
                if args.rotate:
                    secret = await rotate_secret(conn, workspace.id)
                    print("rotated: customer tokens signed before now no longer work", file=sys.stderr)
                else:
                    secret = await workspace_secret(conn, workspace.id)
                print(f"workspace id (the `ws` claim): {workspace.id}\nsecret (base64url, HS256): "
                      f"{secret_text(secret)}")
            elif args.action == "configure":
                chosen = {k: v for k, v in vars(args).items() if k in SCORING_SETTINGS and v is not None}
                settings = await configure_scoring(conn, args.slug, chosen)
                print(f"{args.slug} scoring settings: {settings}")
            else:
                for row in await conn.execute(workspaces.select().order_by(workspaces.c.id)):
                    print(f"{row.id}\t{row.slug}\t{row.name}")
    await _with_engine(run)


async def _keys(args) -> None:
    from domain.workspaces import create_key, get_workspace, list_keys, revoke_key
    from gql_api.known_keys import KEY_CACHE_SECONDS

    async def run(engine):
        async with db.unit_of_work(engine) as conn:
            workspace = await get_workspace(conn, args.workspace)
            if args.action == "create":
                key, record = await create_key(conn, workspace.id, Role(args.role), args.name or "",
                                               args.contact_details, args.notes)
                print(f"created {record.role.value} key {record.id} for workspace {workspace.slug}; "
                      "it is shown only this once:")
                print(key)
            elif args.action == "list":
                print("id\trole\tname\tprefix\tcreated\tlast used\trevoked\tcontact details\tnotes")
                for k in await list_keys(conn, workspace.id):
                    print(f"{k.id}\t{k.role.value}\t{k.name}\t{k.prefix}…\t{k.created_at:%Y-%m-%d %H:%M}\t"
                          f"{k.last_used_at or '-'}\t{k.revoked_at or '-'}\t"
                          f"{'granted' if k.contact_details else '-'}\t{'granted' if k.notes else '-'}")
            else:
                record = await revoke_key(conn, workspace.id, args.id)
                print(f"key {record.id} revoked at {record.revoked_at} (servers that have just seen it "
                      f"accept it for up to {KEY_CACHE_SECONDS:g} s more)")
    await _with_engine(run)


# --- demo --------------------------------------------------------------------

async def load_demo(engine, slug: str, customers: int, seed: int, quiet: bool = False):
    """Create workspace `slug` and fill it with the demo store; returns the counts."""
    from domain.demo import build_demo
    from domain.workspaces import create_workspace

    async with db.unit_of_work(engine) as conn:
        workspace = await create_workspace(conn, slug, "Demo store")
        with tqdm(total=6, desc="demo store", unit="table", disable=quiet) as bar:
            def step(label: str, done: int) -> None:
                bar.set_postfix_str(f"{label}: {done:,}")
                bar.update(1)
            counts = await build_demo(conn, workspace.id, customers, seed, step)
            bar.update(bar.total - bar.n)
    return counts


async def _demo(args) -> None:
    from domain.demo import describe_parameters

    async def run(engine):
        counts = await load_demo(engine, args.workspace, args.customers, args.seed)
        print(f"workspace {args.workspace}: {counts.customers:,} customers, {counts.purchases:,} purchases "
              f"({counts.purchase_items:,} items), {counts.interactions:,} interactions, {counts.notes:,} notes "
              f"in {counts.seconds:.1f} s")
        print(f"generated with {describe_parameters()}")
    await _with_engine(run)


# --- score -------------------------------------------------------------------

def _kernels_note() -> None:
    """Say so when the scoring kernels will be compiled first (half a minute of
    silence otherwise, once per machine)."""
    from scoring.config import compiled_on_disk

    if not compiled_on_disk():
        print("compiling the scoring kernels first: a one-time cost on this machine (about 30 s; the compiled "
              "code is kept in scoring/__pycache__)", flush=True)


async def score_with_progress(engine, workspace, refit: bool = False):
    """A full rescoring of `workspace` with a progress bar; its report."""
    from domain.scoring_pipeline import rescore_workspace

    _kernels_note()
    with tqdm(total=4, desc=f"score {workspace.slug}", unit="step") as bar:
        def step(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)
        return await rescore_workspace(engine, workspace.id, refit=refit, progress=step)


async def _score(args) -> None:
    from domain.tables import workspaces
    from domain.workspaces import get_workspace

    async def run(engine):
        async with db.unit_of_work(engine) as conn:
            if args.workspace:
                targets = [await get_workspace(conn, args.workspace)]
            else:
                rows = await conn.execute(workspaces.select().order_by(workspaces.c.id))
                targets = [await get_workspace(conn, r.slug) for r in rows]
        for workspace in targets:
            try:
                report = await score_with_progress(engine, workspace, args.refit)
            except ValueError as exc:
                print(f"{workspace.slug}: not scored: {exc}")
                continue
            bg, gg = report.context.bgnbd, report.context.gamma_gamma
            timing = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
            print(f"{workspace.slug}: {report.customers:,} customers, {report.purchases:,} purchases ({timing})")
            print(f"  BG/NBD r={bg.r:.4g} alpha={bg.alpha:.4g} a={bg.a:.4g} b={bg.b:.4g} (per day); "
                  f"Gamma-Gamma p={gg.p:.4g} q={gg.q:.4g} v={gg.v:.4g}; "
                  f"frequency/spend correlation {gg.frequency_monetary_correlation:+.2f}")
    await _with_engine(run)


# --- import ------------------------------------------------------------------

async def _import(args) -> None:
    from domain.importing import import_customers, import_purchases, read_csv
    from domain.tables import workspaces
    from domain.workspaces import get_workspace

    path = Path(args.file)
    if not path.is_file():
        raise DomainError(ErrorCode.NOT_FOUND, "file", f"no such file: {path}")
    total_lines = max(sum(1 for _ in path.open(encoding="utf-8-sig")) - 1, 0)

    async def run(engine):
        async with db.unit_of_work(engine) as conn:
            workspace = await get_workspace(conn, args.workspace)
            settings = (await conn.execute(
                workspaces.select().where(workspaces.c.id == workspace.id))).one()
            with tqdm(total=total_lines, desc=f"import {args.kind}", unit="row") as bar:
                if args.kind == "customers":
                    report = await import_customers(conn, workspace.id, read_csv(path), settings.default_region,
                                                    bar.update)
                else:
                    report = await import_purchases(conn, workspace.id, read_csv(path), settings.currency,
                                                    bar.update)
            await db.after_bulk_load(conn, ["customers"] if args.kind == "customers"
                                        else ["purchases", "purchase_items"])
        for error in report.errors:
            print(f"{path}: {error}", file=sys.stderr)
        print(f"{report.rows:,} rows: {report.inserted:,} new, {report.updated:,} updated, "
              f"{report.unchanged:,} unchanged, {len(report.errors):,} rejected")
        return report
    report = await _with_engine(run)
    if report.errors:
        raise SystemExit(1)


# --- serve -------------------------------------------------------------------

async def _add_demo_campaign(engine, workspace_id: int) -> None:
    from domain.campaigns.demo import add_finished_campaign
    from gql_api.ids import to_global_id

    async with db.unit_of_work(engine, workspace_id) as conn:
        finished = await add_finished_campaign(conn, workspace_id, to_global_id)
    if finished is not None:
        print(f"a finished campaign with results: campaign(id: \"{to_global_id('Campaign', finished.id)}\")")


async def _prepare_quickstart(args) -> str:
    """Migrate, load and score the demo store on first run (and finish a first
    run that was interrupted), and mint the admin key: a new one each run, the
    previous quickstart key revoked."""
    from domain.workspaces import find_workspace

    async def run(engine):
        await migrate.upgrade(engine)
        async with db.unit_of_work(engine) as conn:
            found = await find_workspace(conn, DEMO_WORKSPACE)
        if found is None:
            print(f"first run: loading the demo store ({args.demo_customers:,} customers) and scoring it…")
            await load_demo(engine, DEMO_WORKSPACE, args.demo_customers, seed=7)
        async with db.unit_of_work(engine) as conn:
            workspace = await find_workspace(conn, DEMO_WORKSPACE)
            unfinished = await _unfinished_demo(conn, workspace.id)
        if "scores" in unfinished:
            if found is not None:
                print("the demo store has purchases but no scores (an earlier first run was interrupted): scoring "
                      "it now…")
            await score_with_progress(engine, workspace)
        if "campaign" in unfinished:
            await _add_demo_campaign(engine, workspace.id)
        async with db.unit_of_work(engine) as conn:
            return await _rotate_quickstart_key(conn, workspace.id)
    return await _with_engine(run)


async def _unfinished_demo(conn, workspace_id: int) -> set[str]:
    """What a first run left undone: "scores" (purchases, but no models or a
    buyer without scores), "campaign" (the finished demo campaign)."""
    from sqlalchemy import exists, select

    from domain.tables import campaigns, customer_scores, model_fits, purchases

    left = set()
    scored = await conn.scalar(select(exists().where(model_fits.c.workspace_id == workspace_id,
                                                     model_fits.c.model == "context")))
    unscored_buyer = await conn.scalar(select(exists().where(
        purchases.c.workspace_id == workspace_id,
        ~exists().where(customer_scores.c.workspace_id == workspace_id,
                        customer_scores.c.customer_id == purchases.c.customer_id))))
    if not scored or unscored_buyer:
        left.add("scores")
    if not await conn.scalar(select(exists().where(campaigns.c.workspace_id == workspace_id))):
        left.add("campaign")
    return left


async def _rotate_quickstart_key(conn, workspace_id: int) -> str:
    """One quickstart key at a time: the ones earlier runs printed are revoked."""
    from domain.workspaces import create_key, list_keys, revoke_key

    for old in await list_keys(conn, workspace_id):
        if old.name == QUICKSTART_KEY and old.revoked_at is None:
            await revoke_key(conn, workspace_id, old.id)
    key, _ = await create_key(conn, workspace_id, Role.ADMIN, QUICKSTART_KEY)
    return key


def _serve(args) -> None:
    import uvicorn

    from gql_api.workers import serve_workers

    # Resolve the database once here so worker processes share it (and the
    # embedded server this process owns).
    os.environ["DATABASE_URL"] = db.libpq_url()
    key = asyncio.run(_prepare_quickstart(args)) if args.quickstart else None
    try:
        asyncio.run(_with_engine(migrate.require_latest))
    except migrate.SchemaOutOfDate as exc:
        raise SystemExit(f"tribe: {exc}") from None
    if args.dev:
        os.environ["TRIBE_DEV"] = "1"
    if args.refit_every:
        os.environ["TRIBE_REFIT_HOURS"] = str(args.refit_every)
    url = f"http://{args.host}:{args.port}/graphql"
    print(f"Tribe GraphQL API: {url}")
    if key:
        print(f"admin API key for workspace '{DEMO_WORKSPACE}' (send as `Authorization: Bearer <key>`; a new one "
              f"each run, the previous run's revoked):\n{key}")
    sys.stdout.flush()
    # No permessage-deflate: subscription messages are a few hundred bytes, and
    # compressing each one cost more CPU than the rest of sending it.
    options = {"ws_per_message_deflate": False, "log_level": "warning" if not args.dev else "info"}
    if args.workers > 1:
        serve_workers("gql_api.asgi:app", args.host, args.port, args.workers, **options)
    else:
        uvicorn.run("gql_api.asgi:app", host=args.host, port=args.port, **options)


# --- parser ------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tribe",
        description="Tribe customer intelligence. Uses DATABASE_URL when set, otherwise an embedded "
                    "PostgreSQL whose data lives in $TRIBE_HOME/pgdata (default ./.tribe/pgdata).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the GraphQL API",
                           description="Run the GraphQL API with uvicorn. Refuses to start on a database "
                                       "whose schema is behind this version (run `tribe migrate`).")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1,
                       help="worker processes, each with its own socket on the port (default 1)")
    serve.add_argument("--dev", action="store_true", help="development mode: GraphiQL on /graphql, verbose logs")
    serve.add_argument("--refit-every", type=float, metavar="HOURS",
                       help="rescore every workspace with a refit this often (also TRIBE_REFIT_HOURS)")
    serve.add_argument("--quickstart", action="store_true",
                       help="migrate, load the demo store on first run, and print a fresh admin key")
    serve.add_argument("--demo-customers", type=int, default=20_000,
                       help="demo store size for --quickstart (default 20000)")
    serve.set_defaults(run=_serve, is_async=False)

    mig = sub.add_parser("migrate", help="upgrade the database schema",
                         description="Apply every pending migration (or undo the latest with --downgrade).")
    mig.add_argument("--downgrade", action="store_true", help="undo the latest migration")
    mig.set_defaults(run=_migrate, is_async=True)

    demo = sub.add_parser("demo", help="build the demo store in a new workspace",
                          description="Create a workspace filled with realistic customers, purchases (drawn from "
                                      "BG/NBD and Gamma-Gamma with known parameters), interactions and notes.")
    demo.add_argument("--customers", type=int, default=100_000, help="how many customers (default 100000)")
    demo.add_argument("--workspace", default=DEMO_WORKSPACE, help="slug of the new workspace (default demo)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.set_defaults(run=_demo, is_async=True)

    score = sub.add_parser("score", help="rescore customers (RFM, CLV, loyalty, types, stages, traits)",
                           description="Full rescoring of one workspace (or all): purchases and service history "
                                       "are read, the models applied, and every customer's scores replaced at "
                                       "once. The models are refitted on the first run and with --refit; "
                                       "otherwise the stored ones are reused.")
    score.add_argument("--workspace", help="workspace slug (default: every workspace)")
    score.add_argument("--refit", action="store_true", help="refit BG/NBD, Gamma-Gamma and the clusters")
    score.set_defaults(run=_score, is_async=True)

    imp = sub.add_parser("import", help="import customers or purchases from CSV",
                         description="Import a CSV file (format in the README, examples in examples/). "
                                     "Idempotent by external_id; bad rows are reported with their line "
                                     "number and the good ones still load. Exits 1 if any row was rejected.")
    imp.add_argument("kind", choices=["customers", "purchases"])
    imp.add_argument("file", help="path of the CSV file (UTF-8, header row)")
    imp.add_argument("--workspace", required=True, help="workspace slug")
    imp.set_defaults(run=_import, is_async=True)

    keys = sub.add_parser("keys", help="create, list and revoke API keys",
                          description="API keys belong to one workspace and one role. A new key is printed "
                                      "once; only its hash is stored.")
    keys_sub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--workspace", required=True, help="workspace slug")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", help="what the key is for")
    create.add_argument("--contact-details", action="store_true",
                        help="integrator keys only: see customers' email and phone unmasked")
    create.add_argument("--notes", action="store_true", help="integrator keys only: read staff's notes")
    listing = keys_sub.add_parser("list", help="list a workspace's keys (never the keys themselves)")
    listing.add_argument("--workspace", required=True)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("--workspace", required=True)
    revoke.add_argument("id", type=int)
    keys.set_defaults(run=_keys, is_async=True)

    spaces = sub.add_parser("workspaces", help="create, list and configure workspaces",
                            description="A workspace is one business; its data is never visible to another.")
    spaces_sub = spaces.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = spaces_sub.add_parser("create", help="create a workspace")
    new.add_argument("slug", help="short name: lower-case letters, digits and dashes")
    new.add_argument("--name", help="display name")
    spaces_sub.add_parser("list", help="list workspaces")
    app_secret = spaces_sub.add_parser("app-secret", help="print (or --rotate) the secret customer tokens are "
                                                          "signed with",
                                       description="A backend can sign mobile apps' customer tokens itself with "
                                                   "this secret (JWT HS256, claims sub, ws, iat, exp) instead of "
                                                   "calling customerTokenCreate.")
    app_secret.add_argument("slug")
    app_secret.add_argument("--rotate", action="store_true", help="replace it first: every token issued so far "
                                                                  "stops working")
    configure = spaces_sub.add_parser("configure", help="set how a workspace is scored",
                                      description="Scoring settings, kept in the workspace; they apply from the "
                                                  "next `tribe score`.")
    configure.add_argument("slug")
    for name, (kind, text) in SCORING_SETTINGS.items():
        configure.add_argument(f"--{name.replace('_', '-')}", type=kind, help=text)
    spaces.set_defaults(run=_workspaces, is_async=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        if args.is_async:
            asyncio.run(args.run(args))
        else:
            args.run(args)
    except DomainError as exc:
        raise SystemExit(f"tribe: {exc}") from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
