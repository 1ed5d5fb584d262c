"""How a workspace's customers are scored: the sequence of kernels, its
settings, and the context a full run leaves for incremental rescoring.

Time is in days (epoch days, UTC); BG/NBD works on daily purchase periods. A
full run fits the models and records the workspace's distributions (quantile
tables, RFM thresholds, median purchase interval, cluster centres, the
lookalike centre) in a `ScoringContext`; rescoring one customer later reuses
that context, so a customer scores the same either way for the same data.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

import scoring
from scoring import clusters, lifecycle, loyalty, personas, traits
from scoring.percentiles import percentile, quantile_table
from scoring.rfm import SEGMENT_GRID, apply_thresholds, score_thresholds

DAYS_PER_MONTH = 30.0
LOOKALIKE_SEED_PERCENTILE = 0.95
CLUSTER_FEATURES = ["days_since_last", "purchase_periods", "average_order", "tenure_days", "loyalty",
                    "cost_to_serve"]
# The numbers behind traits and types, stored in this order.
EVIDENCE = ("discounted_share", "discount_requests", "complaints_and_returns", "enquiries_before_first_purchase",
            "days_to_first_purchase", "staff_minutes", "referrals", "survey_mean", "refunds")
PROFILE_FEATURES = ["age", "organisation", "income_band", "education", "female"]
N_PROVINCES = 12  # one-hot for the most common provinces; the rest share none


@dataclass(frozen=True)
class ScoringConfig:
    """Per-workspace settings (workspaces.settings["scoring"]), with defaults."""

    # In the workspace currency. Unset: an hour of staff time is valued at the
    # workspace's median order, so service time weighs in whatever the currency.
    cost_per_staff_minute: float | None = None
    margin: float = 1.0
    monthly_discount_rate: float = 0.01
    clv_horizon_months: int = 12
    penalizer: float = 0.0
    clusters: int = 5
    personas: personas.PersonaRules = field(default_factory=personas.PersonaRules)

    @classmethod
    def from_settings(cls, settings: dict) -> ScoringConfig:
        raw = dict(settings.get("scoring", {}))
        rules = personas.PersonaRules(**raw.pop("personas", {}))
        return cls(**raw, personas=rules)

    def problems(self) -> list[tuple[str, str]]:
        """(setting, what is wrong) for each unusable value."""
        checks = [
            ("cost_per_staff_minute", self.cost_per_staff_minute is None or self.cost_per_staff_minute >= 0,
             "must be 0 or more"),
            ("margin", 0 < self.margin <= 1e6, "must be above 0"),
            ("monthly_discount_rate", 0 <= self.monthly_discount_rate < 1, "must be in [0, 1)"),
            ("clv_horizon_months", 0 <= self.clv_horizon_months <= 600, "must be 0 to 600"),
            ("penalizer", self.penalizer >= 0, "must be 0 or more"),
            ("clusters", 1 <= self.clusters <= 50, "must be 1 to 50"),
        ]
        return [(name, message) for name, ok, message in checks if not ok]


@dataclass
class CustomerData:
    """One row per customer (ordered by id), plus their purchases (refunds excluded)."""

    ids: np.ndarray
    since: np.ndarray  # first contact, epoch days
    profile: np.ndarray  # n x (len(PROFILE_FEATURES) + N_PROVINCES)
    discounted: np.ndarray  # purchases with a discount
    refunds: np.ndarray  # refunded amount (positive)
    discounts: np.ndarray  # discount granted
    discount_requests: np.ndarray
    complaints_and_returns: np.ndarray
    referrals: np.ndarray
    survey_mean: np.ndarray  # NaN: no survey
    staff_minutes: np.ndarray
    enquiries_before_first: np.ndarray
    touches: np.ndarray  # interactions of any kind
    purchase_customer: np.ndarray  # index into ids
    purchase_time: np.ndarray  # epoch days
    purchase_amount: np.ndarray
    now: float

    @property
    def n(self) -> int:
        return self.ids.size


@dataclass
class ScoringContext:
    as_of: float
    bgnbd: scoring.BgNbdFit
    gamma_gamma: scoring.GammaGammaFit
    tables: dict[str, list[float]]
    rfm_thresholds: dict[str, list[float]]
    median_interval: float
    staff_minute_cost: float
    cluster_mean: list[float] | None = None
    cluster_std: list[float] | None = None
    cluster_centres: list[list[float]] | None = None
    cluster_profiles: list[dict] | None = None
    lookalike_mean: list[float] | None = None
    lookalike_std: list[float] | None = None
    lookalike_centre: list[float] | None = None
    provinces: list[str] = field(default_factory=list)  # the profile's one-hot columns, in order

    def to_json(self) -> dict:
        data = asdict(self)
        data["bgnbd"] = asdict(self.bgnbd)
        data["gamma_gamma"] = asdict(self.gamma_gamma)
        data["rfm_thresholds"] = {k: [None if math.isinf(v) else v for v in vs] for k, vs in
                                  self.rfm_thresholds.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> ScoringContext:
        data = dict(data)
        data["bgnbd"] = scoring.BgNbdFit(**data["bgnbd"])
        data["gamma_gamma"] = scoring.GammaGammaFit(**data["gamma_gamma"])
        data["rfm_thresholds"] = {k: [math.inf if v is None else v for v in vs]
                                  for k, vs in data["rfm_thresholds"].items()}
        return cls(**data)


@dataclass
class Scores:
    """Per customer, aligned with CustomerData.ids."""

    summary: scoring.RfmSummary
    rfm: np.ndarray  # n x 3 int8, 0 for customers without purchases
    segment: np.ndarray  # int8 into RFM_SEGMENTS, -1 without purchases
    p_alive: np.ndarray
    expected_90d: np.ndarray
    clv: np.ndarray
    value: np.ndarray
    cost_to_serve: np.ndarray
    net_value: np.ndarray
    loyalty: loyalty.Loyalty
    customer_type: np.ndarray  # int8 into personas.TYPES
    stage: np.ndarray  # int8 into lifecycle.STAGES
    traits: np.ndarray  # bit masks
    cluster: np.ndarray  # int32, -1 without purchases
    lookalike: np.ndarray  # NaN except leads and prospects
    evidence: dict[str, np.ndarray]


def compute(data: CustomerData, config: ScoringConfig, context: ScoringContext | None = None,
            refit: bool = True, rng: np.random.Generator | None = None) -> tuple[Scores, ScoringContext]:
    """Score every customer of `data`. Without a context (or with refit) the
    models are fitted and the workspace's distributions recorded; with one, they
    are reused as they are (incremental rescoring)."""
    fitting = context is None or refit
    previous_centres = _previous_centres(context) if fitting else None  # read before the refit replaces context
    layout = scoring.group_purchases(data.purchase_customer, data.purchase_time, data.purchase_amount,
                                     end=data.now, n_customers=data.n)
    s = scoring.rfm_summary(layout, period=1.0, unit=1.0)
    buyers = s.purchase_count > 0
    periods = np.where(buyers, s.frequency + 1, 0)
    days_since_last = np.where(buyers, data.now - np.nan_to_num(s.last_purchase), np.inf)

    if fitting:
        if buyers.sum() < 3:
            raise ValueError("scoring needs at least three customers with purchases")
        warm = context.bgnbd if context is not None else None
        bg = scoring.fit_bgnbd(s.frequency[buyers], s.recency[buyers], s.T[buyers], config.penalizer, initial=warm)
        gg = scoring.fit_gamma_gamma(s.frequency[buyers], s.monetary[buyers], config.penalizer,
                                     initial=context.gamma_gamma if context is not None else None)
    else:
        bg, gg = context.bgnbd, context.gamma_gamma

    p_alive = np.zeros(data.n)
    expected = np.zeros(data.n)
    clv = np.zeros(data.n)
    if buyers.any():
        f, r, T, m = s.frequency[buyers], s.recency[buyers], s.T[buyers], s.monetary[buyers]
        p_alive[buyers] = scoring.probability_alive(bg, f, r, T)
        expected[buyers] = scoring.expected_purchases(bg, 90.0, f, r, T)
        clv[buyers] = scoring.customer_lifetime_value(bg, gg, f, r, T, m, config.clv_horizon_months,
                                                      config.monthly_discount_rate, config.margin, DAYS_PER_MONTH)
    value = s.total_spend - data.refunds + clv
    if fitting:
        minute_cost = config.cost_per_staff_minute
        if minute_cost is None:
            minute_cost = float(np.median(data.purchase_amount)) / 60.0 if data.purchase_amount.size else 0.0
    else:
        minute_cost = context.staff_minute_cost
    cost = data.staff_minutes * minute_cost + data.discounts + data.refunds
    tenure_months = np.maximum(s.T / DAYS_PER_MONTH, 1.0)
    net_value = clv - cost / tenure_months * config.clv_horizon_months * p_alive

    if fitting:
        tables = {
            "tenure_days": quantile_table(s.T[buyers]),
            "purchase_periods": quantile_table(periods[buyers]),
            "days_since_last": quantile_table(days_since_last[buyers]),
            "value": quantile_table(value[buyers]),
            "cost_to_serve": quantile_table(cost[buyers]),
        }
        thresholds = {
            "r": score_thresholds(np.sort(-days_since_last[buyers])),
            "f": score_thresholds(np.sort(periods[buyers].astype(np.float64))),
            "m": score_thresholds(np.sort(s.total_spend[buyers])),
        }
        repeaters = buyers & (s.frequency > 0)
        median_interval = float(np.median(s.recency[repeaters] / s.frequency[repeaters])) if repeaters.any() else 30.0
        context = ScoringContext(as_of=data.now, bgnbd=bg, gamma_gamma=gg,
                                 tables={k: v.tolist() for k, v in tables.items()},
                                 rfm_thresholds={k: v.tolist() for k, v in thresholds.items()},
                                 median_interval=median_interval, staff_minute_cost=minute_cost)
    tables = {k: np.asarray(v) for k, v in context.tables.items()}

    rfm = np.zeros((data.n, 3), dtype=np.int8)
    segment = np.full(data.n, -1, dtype=np.int8)
    if buyers.any():
        for j, (key, values) in enumerate((("r", -days_since_last), ("f", periods.astype(np.float64)),
                                           ("m", s.total_spend))):
            rfm[buyers, j] = apply_thresholds(np.ascontiguousarray(values[buyers]),
                                               np.asarray(context.rfm_thresholds[key]))
        fm = (rfm[buyers, 1].astype(np.int16) + rfm[buyers, 2] + 1) // 2
        segment[buyers] = SEGMENT_GRID[rfm[buyers, 0] - 1, fm - 1]

    bought = buyers.astype(np.float64)
    index = loyalty.loyalty_index(
        repeat_ratio=np.divide(s.frequency, periods, out=np.zeros(data.n), where=periods > 0),
        tenure_pct=percentile(s.T, tables["tenure_days"]) * bought,
        frequency_pct=percentile(periods, tables["purchase_periods"]) * bought,
        recency_pct=np.where(buyers, percentile(np.where(buyers, days_since_last, 0.0), tables["days_since_last"]),
                             1.0),
        p_alive=p_alive, referrals=data.referrals, survey_mean=data.survey_mean)
    friction = data.discount_requests + data.complaints_and_returns
    customer_type = personas.customer_types(
        np.where(buyers, percentile(value, tables["value"]), 0.0), percentile(cost, tables["cost_to_serve"]),
        data.referrals, data.survey_mean, friction, s.purchase_count, config.personas)
    interval = np.where(s.frequency > 0, np.divide(s.recency, np.maximum(s.frequency, 1)), context.median_interval)
    stage = lifecycle.lifecycle_stages(periods, days_since_last, interval, np.where(buyers, p_alive, 1.0),
                                       data.touches > 0, index.index)
    first = np.where(buyers, np.nan_to_num(s.first_purchase), np.nan)
    days_to_first = first - data.since
    trait_mask = traits.inferred_traits(s.purchase_count, data.discounted, data.discount_requests,
                                        data.complaints_and_returns, data.enquiries_before_first, days_to_first)

    cluster_features = np.column_stack([
        np.where(buyers, days_since_last, 0.0), periods,
        np.divide(s.total_spend, s.purchase_count, out=np.zeros(data.n), where=buyers),
        s.T, index.index, cost])
    cluster = np.full(data.n, -1, dtype=np.int32)
    lookalike = np.full(data.n, np.nan)
    leads = ~buyers
    # Missing profile values take the workspace's mean, so they pull nowhere.
    profile = np.array(data.profile, dtype=np.float64)
    if fitting:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column
            means = np.nan_to_num(np.nanmean(profile, axis=0))
    else:
        means = np.asarray(context.lookalike_mean)
    profile = np.where(np.isnan(profile), means, profile)
    if fitting:
        rng = rng or np.random.default_rng(0)
        k = min(config.clusters, int(buyers.sum()))
        result = clusters.kmeans(cluster_features[buyers], CLUSTER_FEATURES, k, rng, initial=previous_centres)
        cluster[buyers] = result.labels
        context.cluster_mean, context.cluster_std = result.mean.tolist(), result.std.tolist()
        context.cluster_centres = result.centres.tolist()
        context.cluster_profiles = [asdict(p) for p in result.profiles]
        z, mean, std = clusters.standardise(profile)
        seeds = buyers & (np.where(buyers, percentile(value, tables["value"]), 0.0) >= LOOKALIKE_SEED_PERCENTILE)
        centre = z[seeds].mean(axis=0) if seeds.any() else np.zeros(z.shape[1])
        context.lookalike_mean, context.lookalike_std, context.lookalike_centre = (
            mean.tolist(), std.tolist(), centre.tolist())
    elif buyers.any() and context.cluster_centres is not None:
        stored = clusters.Clustering(np.zeros(0, np.int32), np.asarray(context.cluster_centres),
                                     np.asarray(context.cluster_mean), np.asarray(context.cluster_std), 0.0, 0, [])
        cluster[buyers] = stored.assign(cluster_features[buyers])
    if leads.any() and context.lookalike_centre is not None:
        z = (profile[leads] - np.asarray(context.lookalike_mean)) / np.asarray(context.lookalike_std)
        lookalike[leads] = clusters.similarity(z, np.asarray(context.lookalike_centre))

    evidence = {
        "discounted_share": np.divide(data.discounted, s.purchase_count, out=np.zeros(data.n), where=buyers),
        "discount_requests": data.discount_requests,
        "complaints_and_returns": data.complaints_and_returns,
        "enquiries_before_first_purchase": data.enquiries_before_first,
        "days_to_first_purchase": days_to_first,
        "staff_minutes": data.staff_minutes,
        "referrals": data.referrals,
        "survey_mean": data.survey_mean,
        "refunds": data.refunds,
    }
    return Scores(s, rfm, segment, p_alive, expected, clv, value, cost, net_value, index, customer_type, stage,
                  trait_mask, cluster, lookalike, evidence), context


def _previous_centres(context: ScoringContext | None) -> np.ndarray | None:
    """The last run's cluster centres in original units: a refit starts from
    them, so that clusters (and their segments) keep their numbers."""
    if context is None or context.cluster_centres is None:
        return None
    return np.asarray(context.cluster_centres) * np.asarray(context.cluster_std) + np.asarray(context.cluster_mean)
