"""The scoring pipeline on a real PostgreSQL: hand-made customers get the
obvious type, stage and traits; runs are atomic; incremental agrees with full."""

import time

import numpy as np
import pytest
from sqlalchemy import func, insert, select, text

from domain import scoring_pipeline, segment_membership
from domain.bulk import copy_columns, timestamps
from domain.customers import delete_customer
from domain.db import unit_of_work
from domain.scoring_pipeline import rescore_customer, rescore_workspace
from domain.tables import customer_scores, customers, model_fits, purchases, segment_memberships, segments
from domain.score_model import EVIDENCE
from scoring import BgNbdParams, GammaGammaParams, loyalty, simulate
from tests.helpers import new_workspace

DAY = 86400.0
NOW = time.time() / DAY  # epoch days, fixed for the whole module
BACKGROUND = 500


async def _customer(conn, workspace_id, name, first_contact_days_ago=30.0):
    acquired = timestamps(np.array([(NOW - first_contact_days_ago) * DAY]))[0]
    return await conn.scalar(insert(customers).values(workspace_id=workspace_id, first_name=name, external_id=name,
                                                      acquired_at=text(f"'{acquired}'::timestamptz"))
                             .returning(customers.c.id))


async def _buyer(conn, workspace_id, name, days_ago, amount, discounted=0):
    """A customer first in touch the day before their first purchase."""
    cid = await _customer(conn, workspace_id, name, max(days_ago) + 1)
    await _purchases(conn, workspace_id, cid, days_ago, amount, discounted)
    return cid


async def _purchases(conn, workspace_id, customer_id, days_ago, amount, discounted=0):
    n = len(days_ago)
    amounts = np.round(np.broadcast_to(np.asarray(amount, dtype=float), (n,)), -3)
    await copy_columns(conn, "purchases", {
        "workspace_id": [workspace_id] * n, "customer_id": [customer_id] * n,
        "purchased_at": timestamps((NOW - np.asarray(days_ago, dtype=float)) * DAY),
        "total": amounts.tolist(), "discount": [a * 0.2 if i < discounted else 0 for i, a in enumerate(amounts)],
        "currency": ["IRR"] * n})


async def _interactions(conn, workspace_id, customer_id, kind, count, minutes=5, score=None):
    await copy_columns(conn, "interactions", {
        "workspace_id": [workspace_id] * count, "customer_id": [customer_id] * count, "kind": [kind] * count,
        "occurred_at": timestamps(NOW * DAY - np.arange(count) * 3 * DAY - 5 * DAY),
        "staff_minutes": [minutes] * count, "score": [score] * count})


@pytest.fixture(scope="module")
async def store(engine):
    """500 ordinary customers whose spend spreads evenly, and a few whose type is obvious."""
    ws = await new_workspace(engine, "scores")
    people = {}
    async with unit_of_work(engine) as conn:
        # Ordinary customers drawn from the demo store's purchase process (rates per day).
        rng = np.random.default_rng(17)
        sim = simulate(rng.uniform(30, 365, BACKGROUND), BgNbdParams(1.2, 28.0, 0.5, 6.0),
                       GammaGammaParams(6.0, 4.0, 2_500_000.0), rng)
        for k in range(BACKGROUND):
            mine = sim.customer == k
            cid = await _buyer(conn, ws.id, f"bg{k}", sim.T[k] - sim.time[mine], sim.amount[mine])
            await _interactions(conn, ws.id, cid, "support_request", 1, minutes=10)
        spend = np.bincount(sim.customer, weights=sim.amount)
        # the obvious ones spend like the top 15% of ordinary customers, in 12 regular purchases
        regular = [3 + 25 * j for j in range(12)]  # every 25 days for a year, last 3 days ago
        high = float(np.quantile(spend, 0.85)) / 12
        people["tribe"] = await _buyer(conn, ws.id, "tribe", regular, high)
        await _interactions(conn, ws.id, people["tribe"], "referral", 3, minutes=0)
        await _interactions(conn, ws.id, people["tribe"], "survey", 1, minutes=0, score=10)
        people["vampire"] = await _buyer(conn, ws.id, "vampire", regular, high)
        await _interactions(conn, ws.id, people["vampire"], "support_request", 40, minutes=60)
        people["leopard"] = await _buyer(conn, ws.id, "leopard", [5, 40, 80, 120, 160], float(spend.max()))
        people["churner"] = await _buyer(conn, ws.id, "churner", [20, 90, 160, 230], 100_000, discounted=4)
        await _interactions(conn, ws.id, people["churner"], "discount_request", 5)
        await _interactions(conn, ws.id, people["churner"], "complaint", 2)
        people["lead"] = await _customer(conn, ws.id, "lead")
        people["prospect"] = await _customer(conn, ws.id, "prospect")
        await _interactions(conn, ws.id, people["prospect"], "enquiry", 4)
        people["gone"] = await _buyer(conn, ws.id, "gone", [700, 690, 680, 670, 660, 650], 200_000)
    await rescore_workspace(engine, ws.id, now=NOW)
    return ws, people


async def _rescore_as_recording_does(conn, workspace_id, customer_id, now) -> None:
    """What recording a purchase does after writing it: rescore the customer
    and sync their segments."""
    assert await rescore_customer(conn, workspace_id, customer_id, now=now)
    await segment_membership.sync(conn, workspace_id, "purchase recorded", [customer_id])


async def _scores(engine, customer_id):
    async with unit_of_work(engine) as conn:
        return (await conn.execute(select(customer_scores).where(customer_scores.c.customer_id == customer_id))).one()


@pytest.mark.parametrize(("who", "customer_type", "stage", "inferred"), [
    ("tribe", "tribe", "loyal", []),
    ("vampire", "vampire", "loyal", []),  # loyal in behaviour; costly all the same
    ("leopard", "snow_leopard", "loyal", []),
    ("churner", "churner", "active", ["bargainer", "fault_finder"]),
    ("lead", "standard", "lead", []),
    ("prospect", "standard", "prospect", ["hesitant"]),
    ("gone", "standard", "lost", []),
])
async def test_hand_made_customers_get_the_obvious_scores(engine, store, who, customer_type, stage, inferred):
    _, people = store
    row = await _scores(engine, people[who])
    assert (row.customer_type, row.lifecycle_stage, row.inferred_traits) == (customer_type, stage, inferred), row


async def test_every_score_carries_its_reasons(engine, store):
    _, people = store
    tribe = await _scores(engine, people["tribe"])
    factors = dict(zip(loyalty.FACTORS, tribe.loyalty_factors))
    evidence = dict(zip(EVIDENCE, tribe.evidence))
    assert sum(factors.values()) == pytest.approx(tribe.loyalty)
    assert factors["referrals"] > 0 and evidence["referrals"] == 3
    assert tribe.rfm_segment == "champions" and tribe.probability_alive > 0.9
    assert tribe.clv > 0 and tribe.expected_purchases_90d > 1
    vampire = await _scores(engine, people["vampire"])
    assert dict(zip(EVIDENCE, vampire.evidence))["staff_minutes"] == 2400 and vampire.net_value < tribe.net_value
    lead = await _scores(engine, people["lead"])
    assert lead.purchase_count == 0 and lead.rfm_segment is None and lead.clv == 0
    assert 0 <= lead.lookalike <= 1


async def test_models_and_model_quality_are_stored(engine, store):
    ws, _ = store
    async with unit_of_work(engine) as conn:
        stored = {r.model: r for r in await conn.execute(select(model_fits).where(model_fits.c.workspace_id == ws.id))}
    assert set(stored) == {"bgnbd", "gamma_gamma", "context", "quality"}
    assert stored["bgnbd"].diagnostics["converged"], stored["bgnbd"]
    assert stored["bgnbd"].params["r"] > 0
    assert "frequency_monetary_correlation" in stored["gamma_gamma"].diagnostics
    quality = stored["quality"].params
    assert quality["customers"] > 0 and quality["by_frequency"]
    assert {"frequency", "customers", "predicted", "actual"} <= set(quality["by_frequency"][0])


async def test_a_failed_run_leaves_the_previous_scores_and_the_next_run_succeeds(engine, store, monkeypatch):
    ws, people = store
    before = await _scores(engine, people["tribe"])

    async def crash(*args, **kwargs):
        raise RuntimeError("killed half-way")

    monkeypatch.setattr(scoring_pipeline, "save_models", crash)
    async with unit_of_work(engine) as conn:  # new data, so a committed run would change the scores
        await _purchases(conn, ws.id, people["tribe"], [1], 9_000_000)
    with pytest.raises(RuntimeError, match="half-way"):
        await rescore_workspace(engine, ws.id, now=NOW + 1)
    assert await _scores(engine, people["tribe"]) == before
    monkeypatch.undo()
    await rescore_workspace(engine, ws.id, now=NOW + 1)
    after = await _scores(engine, people["tribe"])
    assert after.purchase_count == before.purchase_count + 1 and after.computed_at > before.computed_at


async def test_incremental_rescoring_agrees_with_a_full_run(engine, store):
    ws, people = store
    moment = NOW + 2
    await rescore_workspace(engine, ws.id, refit=True, now=moment)
    async with unit_of_work(engine) as conn:
        await _purchases(conn, ws.id, people["churner"], [0.5], 150_000)
        await _rescore_as_recording_does(conn, ws.id, people["churner"], moment)
    incremental = await _scores(engine, people["churner"])
    assert incremental.purchase_count == 5
    await rescore_workspace(engine, ws.id, refit=False, now=moment)
    full = await _scores(engine, people["churner"])
    for column in ("purchase_count", "frequency", "rfm_r", "rfm_f", "rfm_m", "rfm_segment", "customer_type",
                   "lifecycle_stage", "inferred_traits", "cluster"):
        assert getattr(incremental, column) == getattr(full, column), column
    for column in ("recency", "tenure", "probability_alive", "clv", "loyalty", "cost_to_serve", "net_value"):
        assert getattr(incremental, column) == pytest.approx(getattr(full, column), rel=1e-9), column


async def test_a_full_run_reads_every_purchase_once(engine, store):
    """Purchases leave in shares of the table's pages, side by side."""
    ws, _ = store
    await rescore_workspace(engine, ws.id, now=NOW)
    async with unit_of_work(engine) as conn:
        pages = await conn.scalar(text("SELECT pg_relation_size('purchases') / current_setting('block_size')::int"))
        stored = dict((await conn.execute(
            select(purchases.c.customer_id, func.count()).where(purchases.c.workspace_id == ws.id)
            .group_by(purchases.c.customer_id))).all())
        counted = dict((await conn.execute(
            select(customer_scores.c.customer_id, customer_scores.c.purchase_count)
            .where(customer_scores.c.workspace_id == ws.id, customer_scores.c.purchase_count > 0))).all())
    assert pages >= 2 * scoring_pipeline._PURCHASE_SHARES
    assert counted == stored


async def test_a_full_run_keeps_scores_rescored_after_its_snapshot(engine, store):
    """A purchase recorded while a full run computes rescores its customer then;
    the run's older figures must not overwrite that."""
    ws, people = store
    async with unit_of_work(engine) as conn:
        await _purchases(conn, ws.id, people["leopard"], [0.2], 1_000_000)
        await _rescore_as_recording_does(conn, ws.id, people["leopard"], NOW + 2.9)
    newer = await _scores(engine, people["leopard"])
    await rescore_workspace(engine, ws.id, refit=False, now=NOW + 2.8)  # its snapshot came before the purchase
    kept = await _scores(engine, people["leopard"])
    assert (kept.computed_at, kept.purchase_count, kept.clv) == (newer.computed_at, newer.purchase_count, newer.clv)
    other = await _scores(engine, people["tribe"])
    assert other.computed_at < newer.computed_at  # the run did write everyone else


async def test_deleted_customers_lose_their_scores(engine, store):
    ws, people = store
    async with unit_of_work(engine) as conn:
        await delete_customer(conn, ws.id, people["gone"])
    await rescore_workspace(engine, ws.id, refit=False, now=NOW + 3)
    async with unit_of_work(engine) as conn:
        left = await conn.scalar(select(func.count()).where(customer_scores.c.customer_id == people["gone"]))
        kept = await conn.scalar(select(func.count()).select_from(purchases)
                                 .where(purchases.c.customer_id == people["gone"]))
    assert left == 0 and kept == 6


async def test_a_workspace_never_scored_has_nothing_to_rescore_with(engine):
    ws = await new_workspace(engine)
    async with unit_of_work(engine) as conn:
        cid = await _customer(conn, ws.id, "solo")
        assert not await rescore_customer(conn, ws.id, cid)
    with pytest.raises(ValueError, match="at least three customers"):
        await rescore_workspace(engine, ws.id)


async def _changes_a_full_evaluation_finds(engine, workspace_id) -> int:
    async with engine.connect() as conn:
        async with conn.begin() as transaction:
            changes = await segment_membership.sync(conn, workspace_id, "check")
            await transaction.rollback()
    return changes


async def test_a_full_run_leaves_every_segment_as_a_full_evaluation_would(engine, store):
    """A full run re-evaluates Tribe's own segments only for customers whose
    scores moved: a lead who bought (recorded without rescoring) must still
    enter the segments of buyers, and nothing may be left for a full pass."""
    ws, people = store
    async with unit_of_work(engine) as conn:
        await _purchases(conn, ws.id, people["lead"], [40, 20, 1], 500_000)
    await rescore_workspace(engine, ws.id, refit=False, now=NOW + 4)
    async with unit_of_work(engine) as conn:
        stays = set(await conn.scalars(
            select(segments.c.key).join(segment_memberships, segment_memberships.c.segment_id == segments.c.id)
            .where(segment_memberships.c.customer_id == people["lead"], segment_memberships.c.left_at.is_(None))))
        row = (await conn.execute(select(customer_scores).where(customer_scores.c.customer_id == people["lead"]))).one()
    assert row.purchase_count == 3 and f"rfm:{row.rfm_segment}" in stays and f"stage:{row.lifecycle_stage}" in stays
    assert "stage:lead" not in stays
    assert await _changes_a_full_evaluation_finds(engine, ws.id) == 0


async def test_warming_up_scores_one_stored_customer_and_saves_nothing(engine, store, monkeypatch):
    ws, _ = store
    await rescore_workspace(engine, ws.id, refit=True, now=NOW + 2)
    computed = []
    real = scoring_pipeline.compute
    monkeypatch.setattr(scoring_pipeline, "compute", lambda *args, **kwargs: computed.append(real(*args, **kwargs)))

    async def stored() -> list[str]:  # (repr: the scores' NaNs compare unequal to themselves)
        async with unit_of_work(engine) as conn:
            return [repr(row) for table, key in ((customer_scores, customer_scores.c.customer_id),
                                                 (model_fits, model_fits.c.model))
                    for row in await conn.execute(select(table).order_by(table.c.workspace_id, key))]

    before = await stored()
    assert await scoring_pipeline.warm_up(engine)
    [(scores, _)] = computed
    assert scores.clv.shape == (1,) and np.isfinite(scores.clv).all()
    assert await stored() == before
