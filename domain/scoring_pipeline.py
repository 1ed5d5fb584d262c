"""Moving a workspace between PostgreSQL and the scoring kernels.

Full rescoring: customers (with their service history aggregated in SQL) and
purchases leave by binary COPY straight into NumPy arrays; `score_model.compute`
runs the kernels; the scores go back by binary COPY into a staging table and
are swapped in with one INSERT ... ON CONFLICT statement (plus the removal of
rows of customers that are gone) in the same transaction as the fitted models,
so a run killed half-way leaves the previous scores and models intact.

Incremental rescoring: one customer, inside the caller's transaction, with the
models and workspace distributions of the last full run (no refit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain import pgcopy
from domain.db import unit_of_work
from domain.score_model import N_PROVINCES, CustomerData, ScoringConfig, ScoringContext, Scores, compute
from domain.tables import model_fits, workspaces
import scoring
from scoring import RFM_SEGMENTS, lifecycle, loyalty, personas
from scoring.traits import BARGAINER, FAULT_FINDER, HESITANT

DAY = 86400.0
Progress = Callable[[str], None]

# One row per live customer, ordered by id: first contact, profile features
# for lookalikes, and the service history the scores need, aggregated here.
_CUSTOMERS_SQL = """
WITH bought AS (
    SELECT customer_id, min(purchased_at) FILTER (WHERE total >= 0) AS first_at,
           count(*) FILTER (WHERE total >= 0 AND discount > 0) AS discounted,
           coalesce(sum(-total) FILTER (WHERE total < 0), 0) AS refunds,
           coalesce(sum(discount), 0) AS discounts
    FROM purchases WHERE workspace_id = $1 {purchase_filter} GROUP BY customer_id),
touched AS (
    SELECT i.customer_id,
           count(*) FILTER (WHERE kind = 'discount_request') AS discount_requests,
           count(*) FILTER (WHERE kind IN ('complaint', 'return')) AS complaints_and_returns,
           count(*) FILTER (WHERE kind = 'referral') AS referrals,
           avg(score) FILTER (WHERE kind = 'survey') AS survey_mean,
           sum(staff_minutes) AS staff_minutes,
           count(*) FILTER (WHERE kind = 'enquiry' AND (b.first_at IS NULL OR occurred_at < b.first_at))
               AS enquiries_before_first,
           count(*) AS touches
    FROM interactions i LEFT JOIN bought b USING (customer_id)
    WHERE i.workspace_id = $1 {interaction_filter} GROUP BY i.customer_id)
SELECT c.id,
       extract(epoch FROM coalesce(c.acquired_at, c.created_at))::float8 / 86400 AS since,
       coalesce(extract(year FROM age(c.birth_date))::float8, 'NaN') AS age,
       (c.kind = 'organisation')::int::float8 AS organisation,
       coalesce(array_position(ARRAY['low','lower_middle','middle','upper_middle','high'], c.income_band)::float8,
                'NaN') AS income_band,
       coalesce(array_position(ARRAY['none','diploma','bachelor','master','phd'], c.education)::float8, 'NaN')
           AS education,
       CASE c.gender WHEN 'female' THEN 1.0 WHEN 'male' THEN 0.0 ELSE 'NaN' END::float8 AS female,
       coalesce(array_position({provinces}::text[], c.province) - 1, -1)::float8 AS province,
       coalesce(b.discounted, 0)::float8 AS discounted, coalesce(b.refunds, 0)::float8 AS refunds,
       coalesce(b.discounts, 0)::float8 AS discounts,
       coalesce(t.discount_requests, 0)::float8 AS discount_requests,
       coalesce(t.complaints_and_returns, 0)::float8 AS complaints_and_returns,
       coalesce(t.referrals, 0)::float8 AS referrals, coalesce(t.survey_mean::float8, 'NaN') AS survey_mean,
       coalesce(t.staff_minutes, 0)::float8 AS staff_minutes,
       coalesce(t.enquiries_before_first, 0)::float8 AS enquiries_before_first,
       coalesce(t.touches, 0)::float8 AS touches
FROM customers c LEFT JOIN bought b ON b.customer_id = c.id LEFT JOIN touched t ON t.customer_id = c.id
WHERE c.workspace_id = $1 AND c.deleted_at IS NULL {customer_filter}
ORDER BY c.id"""
_CUSTOMER_COLUMNS = {"id": "int8", "since": "float8", "age": "float8", "organisation": "float8",
                     "income_band": "float8", "education": "float8", "female": "float8", "province": "float8",
                     "discounted": "float8", "refunds": "float8", "discounts": "float8",
                     "discount_requests": "float8", "complaints_and_returns": "float8", "referrals": "float8",
                     "survey_mean": "float8", "staff_minutes": "float8", "enquiries_before_first": "float8",
                     "touches": "float8"}

_PURCHASES_SQL = """
SELECT customer_id, extract(epoch FROM purchased_at)::float8 / 86400 AS at, total::float8 AS amount
FROM purchases WHERE workspace_id = $1 AND total >= 0 {purchase_filter}"""
_PURCHASE_COLUMNS = {"customer_id": "int8", "at": "float8", "amount": "float8"}


async def common_provinces(conn: AsyncConnection, workspace_id: int) -> list[str]:
    """The workspace's most common provinces: the lookalike profile's one-hot columns."""
    rows = await conn.execute(text(
        "SELECT province FROM customers WHERE workspace_id = :w AND deleted_at IS NULL AND province IS NOT NULL "
        "GROUP BY province ORDER BY count(*) DESC, province LIMIT :n"), {"w": workspace_id, "n": N_PROVINCES})
    return [r.province for r in rows]


async def extract(conn: AsyncConnection, workspace_id: int, provinces: list[str], customer_id: int | None = None,
                  now: float | None = None) -> CustomerData:
    """The workspace's customers (or one of them) as arrays."""
    one = customer_id is not None
    filters = {
        "purchase_filter": "AND customer_id = $3" if one else "",
        "interaction_filter": "AND i.customer_id = $3" if one else "",
        "customer_filter": "AND c.id = $3" if one else "",
    }
    args = (workspace_id, provinces, customer_id) if one else (workspace_id, provinces)
    read = pgcopy.fetch_columns if one else pgcopy.copy_out
    rows = await read(conn, _CUSTOMERS_SQL.format(provinces="$2", **filters), _CUSTOMER_COLUMNS, *args)
    purchase_sql = _PURCHASES_SQL.format(purchase_filter="AND customer_id = $2" if one else "")
    bought = await read(conn, purchase_sql, _PURCHASE_COLUMNS, *((workspace_id, customer_id) if one
                                                                 else (workspace_id,)))
    ids = rows["id"]
    index = np.searchsorted(ids, bought["customer_id"])
    known = (index < ids.size) & (ids[np.minimum(index, ids.size - 1)] == bought["customer_id"]) if ids.size else \
        np.zeros(index.size, dtype=bool)  # purchases of deleted customers drop out here
    province = rows["province"].astype(np.int64)
    one_hot = (province[:, None] == np.arange(N_PROVINCES)[None, :]).astype(np.float64)
    profile = np.column_stack([rows["age"], rows["organisation"], rows["income_band"], rows["education"],
                               rows["female"], one_hot])
    moment = time.time() / DAY if now is None else now
    return CustomerData(
        ids=ids, since=rows["since"], profile=profile, discounted=rows["discounted"], refunds=rows["refunds"],
        discounts=rows["discounts"], discount_requests=rows["discount_requests"],
        complaints_and_returns=rows["complaints_and_returns"], referrals=rows["referrals"],
        survey_mean=rows["survey_mean"], staff_minutes=rows["staff_minutes"],
        enquiries_before_first=rows["enquiries_before_first"], touches=rows["touches"],
        purchase_customer=index[known], purchase_time=np.minimum(bought["at"][known], moment),
        purchase_amount=bought["amount"][known], now=moment)


# --- load ----------------------------------------------------------------------------

_STAGING = "scores_staging"
_STAGED = {
    "customer_id": "int8", "purchase_count": "int8", "frequency": "int8", "recency": "float8", "tenure": "float8",
    "monetary": "float8", "total_spend": "float8", "first_purchase": "float8", "last_purchase": "float8",
    "rfm_r": "int8", "rfm_f": "int8", "rfm_m": "int8", "segment": "int8", "probability_alive": "float8",
    "expected_purchases_90d": "float8", "clv": "float8", "value": "float8", "loyalty": "float8",
    "cost_to_serve": "float8", "net_value": "float8", "customer_type": "int8", "stage": "int8", "traits": "int8",
    "cluster": "int8", "lookalike": "float8",
    **{f"factor_{name}": "float8" for name in loyalty.FACTORS},
    **{f"evidence_{name}": "float8" for name in (
        "discounted_share", "discount_requests", "complaints_and_returns", "enquiries_before_first_purchase",
        "days_to_first_purchase", "staff_minutes", "referrals", "survey_mean", "refunds")},
}


_STAGING_COLUMNS = ", ".join(f"{name} {'bigint' if kind == 'int8' else 'double precision'}"
                             for name, kind in _STAGED.items())
_ONE_ROW = "(SELECT " + ", ".join(
    f"CAST(:{name} AS {'bigint' if kind == 'int8' else 'double precision'}) AS {name}"
    for name, kind in _STAGED.items()) + ")"


def _text_array(values) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def _nan_null(column: str) -> str:
    return f"NULLIF({column}, 'NaN')"


def _json(prefix: str, names) -> str:
    pairs = ", ".join(f"'{name}', {_nan_null(f's.{prefix}{name}')}" for name in names)
    return f"jsonb_strip_nulls(jsonb_build_object({pairs}))"


# Codes become the stored words here; every piece of this SQL is a constant.
_SWAP_SQL = f"""
INSERT INTO customer_scores AS cs (
    workspace_id, customer_id, purchase_count, frequency, recency, tenure, monetary, total_spend,
    first_purchase_at, last_purchase_at, rfm_r, rfm_f, rfm_m, rfm_segment, probability_alive,
    expected_purchases_90d, clv, value, loyalty, loyalty_factors, cost_to_serve, net_value, customer_type,
    lifecycle_stage, inferred_traits, cluster, lookalike, evidence, computed_at)
SELECT :workspace_id, s.customer_id, s.purchase_count, s.frequency, s.recency, s.tenure, s.monetary, s.total_spend,
       to_timestamp(NULLIF(s.first_purchase, 'NaN') * 86400), to_timestamp(NULLIF(s.last_purchase, 'NaN') * 86400),
       NULLIF(s.rfm_r, 0), NULLIF(s.rfm_f, 0), NULLIF(s.rfm_m, 0),
       ({_text_array(RFM_SEGMENTS)})[NULLIF(s.segment, -1) + 1], s.probability_alive, s.expected_purchases_90d,
       s.clv, s.value, s.loyalty, {_json('factor_', loyalty.FACTORS)}, s.cost_to_serve, s.net_value,
       ({_text_array(personas.TYPES)})[s.customer_type + 1], ({_text_array(lifecycle.STAGES)})[s.stage + 1],
       array_remove(ARRAY[CASE WHEN s.traits & {BARGAINER} > 0 THEN 'bargainer' END,
                          CASE WHEN s.traits & {FAULT_FINDER} > 0 THEN 'fault_finder' END,
                          CASE WHEN s.traits & {HESITANT} > 0 THEN 'hesitant' END], NULL),
       NULLIF(s.cluster, -1), {_nan_null('s.lookalike')},
       {_json('evidence_', ('discounted_share', 'discount_requests', 'complaints_and_returns',
                            'enquiries_before_first_purchase', 'days_to_first_purchase', 'staff_minutes',
                            'referrals', 'survey_mean', 'refunds'))},
       :computed_at
FROM {{source}} s
ON CONFLICT (customer_id) DO UPDATE SET
    purchase_count = EXCLUDED.purchase_count, frequency = EXCLUDED.frequency, recency = EXCLUDED.recency,
    tenure = EXCLUDED.tenure, monetary = EXCLUDED.monetary, total_spend = EXCLUDED.total_spend,
    first_purchase_at = EXCLUDED.first_purchase_at, last_purchase_at = EXCLUDED.last_purchase_at,
    rfm_r = EXCLUDED.rfm_r, rfm_f = EXCLUDED.rfm_f, rfm_m = EXCLUDED.rfm_m, rfm_segment = EXCLUDED.rfm_segment,
    probability_alive = EXCLUDED.probability_alive, expected_purchases_90d = EXCLUDED.expected_purchases_90d,
    clv = EXCLUDED.clv, value = EXCLUDED.value, loyalty = EXCLUDED.loyalty,
    loyalty_factors = EXCLUDED.loyalty_factors, cost_to_serve = EXCLUDED.cost_to_serve,
    net_value = EXCLUDED.net_value, customer_type = EXCLUDED.customer_type,
    lifecycle_stage = EXCLUDED.lifecycle_stage, inferred_traits = EXCLUDED.inferred_traits,
    cluster = EXCLUDED.cluster, lookalike = EXCLUDED.lookalike, evidence = EXCLUDED.evidence,
    computed_at = EXCLUDED.computed_at
WHERE cs.computed_at <= EXCLUDED.computed_at"""


def _staged_columns(data: CustomerData, scores: Scores) -> dict[str, tuple[str, np.ndarray]]:
    s = scores.summary
    values = {
        "customer_id": data.ids, "purchase_count": s.purchase_count, "frequency": s.frequency,
        "recency": s.recency, "tenure": s.T, "monetary": s.monetary, "total_spend": s.total_spend,
        "first_purchase": s.first_purchase, "last_purchase": s.last_purchase, "rfm_r": scores.rfm[:, 0],
        "rfm_f": scores.rfm[:, 1], "rfm_m": scores.rfm[:, 2], "segment": scores.segment,
        "probability_alive": scores.p_alive, "expected_purchases_90d": scores.expected_90d, "clv": scores.clv,
        "value": scores.value, "loyalty": scores.loyalty.index, "cost_to_serve": scores.cost_to_serve,
        "net_value": scores.net_value, "customer_type": scores.customer_type, "stage": scores.stage,
        "traits": scores.traits, "cluster": scores.cluster, "lookalike": scores.lookalike,
        **{f"factor_{name}": scores.loyalty.contributions[:, j] for j, name in enumerate(loyalty.FACTORS)},
        **{f"evidence_{name}": values for name, values in scores.evidence.items()},
    }
    return {name: (_STAGED[name], values[name]) for name in _STAGED}


async def load(conn: AsyncConnection, workspace_id: int, data: CustomerData, scores: Scores,
               computed_at: float, full: bool) -> None:
    """Stage and swap in, inside the caller's transaction. A full load also
    removes the scores of customers no longer there. Rows rescored
    incrementally after `computed_at` are left alone."""
    moment = {"workspace_id": workspace_id, "computed_at": _timestamp(computed_at)}
    staged = _staged_columns(data, scores)
    if not full and data.n == 1:
        # One customer: straight from bind parameters, no staging table.
        await conn.execute(text(_SWAP_SQL.format(source=_ONE_ROW)),
                           {**moment, **{name: values[0].item() for name, (_, values) in staged.items()}})
        return
    await conn.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} ({_STAGING_COLUMNS}) ON COMMIT DROP"))
    await pgcopy.copy_in(conn, _STAGING, staged)
    await conn.execute(text(_SWAP_SQL.format(source=_STAGING)), moment)
    if full:
        await conn.execute(text(f"""
            DELETE FROM customer_scores cs WHERE cs.workspace_id = :workspace_id
            AND NOT EXISTS (SELECT 1 FROM {_STAGING} s WHERE s.customer_id = cs.customer_id)"""),
                           {"workspace_id": workspace_id})
    await conn.execute(text(f"DROP TABLE {_STAGING}"))


def _timestamp(epoch_days: float) -> datetime:
    return datetime.fromtimestamp(epoch_days * DAY, UTC)


# --- models and settings ----------------------------------------------------------------

async def read_config(conn: AsyncConnection, workspace_id: int) -> ScoringConfig:
    settings = await conn.scalar(select(workspaces.c.settings).where(workspaces.c.id == workspace_id))
    return ScoringConfig.from_settings(settings or {})


async def read_context(conn: AsyncConnection, workspace_id: int) -> ScoringContext | None:
    """The last full run's models and distributions; None if there is none, or
    if it was written by a version of Tribe that stored other fields (the next
    full run refits)."""
    params = await conn.scalar(select(model_fits.c.params).where(model_fits.c.workspace_id == workspace_id,
                                                                 model_fits.c.model == "context"))
    if not params:
        return None
    try:
        return ScoringContext.from_json(params)
    except (TypeError, KeyError):
        return None


async def save_models(conn: AsyncConnection, workspace_id: int, context: ScoringContext, quality: dict | None,
                      seconds: dict) -> None:
    bg, gg = context.bgnbd, context.gamma_gamma
    rows = [
        ("bgnbd", {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "time_unit": "day"},
         {"log_likelihood": bg.log_likelihood, "converged": bg.converged, "iterations": bg.iterations,
          "customers": bg.n_customers, "standard_errors": bg.standard_errors, "penalizer": bg.penalizer}),
        ("gamma_gamma", {"p": gg.p, "q": gg.q, "v": gg.v},
         {"log_likelihood": gg.log_likelihood, "converged": gg.converged, "iterations": gg.iterations,
          "customers": gg.n_customers, "standard_errors": gg.standard_errors,
          "frequency_monetary_correlation": gg.frequency_monetary_correlation,
          "independence_doubtful": gg.independence_doubtful}),
        ("context", context.to_json(), {"seconds": seconds}),
    ]
    if quality is not None:
        rows.append(("quality", quality, {}))
    for model, params, diagnostics in rows:
        statement = insert(model_fits).values(workspace_id=workspace_id, model=model, params=params,
                                              diagnostics=diagnostics, fitted_at=_timestamp(context.as_of))
        await conn.execute(statement.on_conflict_do_update(
            index_elements=[model_fits.c.workspace_id, model_fits.c.model],
            set_={"params": statement.excluded.params, "diagnostics": statement.excluded.diagnostics,
                  "fitted_at": statement.excluded.fitted_at}))


# --- the two entry points -----------------------------------------------------------------

@dataclass(frozen=True)
class RescoreReport:
    customers: int
    purchases: int
    seconds: dict[str, float]
    context: ScoringContext
    quality: dict | None


async def rescore_workspace(engine: AsyncEngine, workspace_id: int, refit: bool = True,
                            progress: Progress | None = None, now: float | None = None) -> RescoreReport:
    """Full rescoring of one workspace (see the module docstring)."""
    step = progress or (lambda _label: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    async with engine.connect() as conn:
        # One consistent snapshot for everything read.
        await conn.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        provinces = await common_provinces(conn, workspace_id)
        data = await extract(conn, workspace_id, provinces, now=now)
        config = await read_config(conn, workspace_id)
        previous = await read_context(conn, workspace_id)
        await conn.rollback()
    seconds["extract"] = time.perf_counter() - started
    step("extract")

    started = time.perf_counter()
    scores, context = compute(data, config, previous, refit=refit or previous is None)
    context.provinces = provinces
    quality = holdout_report(data, config) if refit or previous is None else None
    seconds["kernels"] = time.perf_counter() - started
    step("kernels")

    started = time.perf_counter()
    async with unit_of_work(engine, workspace_id) as conn:
        await load(conn, workspace_id, data, scores, data.now, full=True)
        seconds["load"] = time.perf_counter() - started
        await save_models(conn, workspace_id, context, quality, seconds)
    step("load")
    return RescoreReport(data.n, int(data.purchase_time.size), seconds, context, quality)


async def rescore_customer(conn: AsyncConnection, workspace_id: int, customer_id: int,
                           now: float | None = None) -> bool:
    """Rescore one customer in the caller's transaction with the stored models.
    False when the workspace has never been fully scored (nothing to score with)."""
    context = await read_context(conn, workspace_id)
    if context is None:
        return False
    data = await extract(conn, workspace_id, context.provinces, customer_id, now=now)
    if data.n == 0:
        return False
    scores, _ = compute(data, await read_config(conn, workspace_id), context, refit=False)
    await load(conn, workspace_id, data, scores, data.now, full=False)
    return True


# --- model quality ---------------------------------------------------------------------------

BUCKETS = 7  # calibration frequencies 0..6 and "7 or more"


def holdout_report(data: CustomerData, config: ScoringConfig, holdout_share: float = 0.25) -> dict | None:
    """Fit on the first part of the observed period, predict the repeat purchases
    of the rest, and compare with what happened, per calibration frequency."""
    if data.purchase_time.size == 0:
        return None
    start = float(data.purchase_time.min())
    cutoff = data.now - (data.now - start) * holdout_share
    early = data.purchase_time <= cutoff
    layout = scoring.group_purchases(data.purchase_customer[early], data.purchase_time[early],
                                     data.purchase_amount[early], end=cutoff, n_customers=data.n)
    calibration = scoring.rfm_summary(layout)
    seen = calibration.purchase_count > 0
    if seen.sum() < 10:
        return None
    bg = scoring.fit_bgnbd(calibration.frequency[seen], calibration.recency[seen], calibration.T[seen],
                           config.penalizer, with_standard_errors=False)
    horizon = data.now - cutoff
    predicted = scoring.expected_purchases(bg, horizon, calibration.frequency[seen], calibration.recency[seen],
                                           calibration.T[seen])
    later = ~early
    # Actual repeat purchases in the holdout: distinct purchase days per customer.
    day = np.floor(data.purchase_time[later]).astype(np.int64)
    span = int(day.max() - day.min() + 1) if day.size else 1
    visits = np.unique(data.purchase_customer[later] * span + (day - (day.min() if day.size else 0)))
    actual = np.bincount(visits // span, minlength=data.n)[seen]
    bucket = np.minimum(calibration.frequency[seen], BUCKETS)
    rows = []
    for b in range(BUCKETS + 1):
        members = bucket == b
        if members.any():
            rows.append({"frequency": b if b < BUCKETS else f"{BUCKETS}+", "customers": int(members.sum()),
                         "predicted": float(predicted[members].mean()), "actual": float(actual[members].mean())})
    return {"calibration_end": cutoff, "holdout_days": horizon, "customers": int(seen.sum()),
            "predicted_total": float(predicted.sum()), "actual_total": float(actual.sum()),
            "params": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b}, "by_frequency": rows}
