"""RFM: the BTYD summary of each customer, 1-5 scores and the named segments.

Summary conventions are those of the literature and of
`lifetimes.utils.summary_data_from_transaction_data`: purchase times are cut
into periods of length ``period`` (period k holds times in
[k * period, (k + 1) * period)); several purchases in one period count as one,
with their amounts summed. Then, per customer,

- ``frequency`` x: number of periods with a purchase, minus one (repeat periods);
- ``recency`` t_x: start of the last purchase period minus start of the first;
- ``T``: start of the period holding ``end`` minus start of the first period;
- ``monetary``: mean of the summed amounts of the repeat periods (0 if x = 0);

recency and T are expressed in units of ``unit`` (for example times in days,
``period=1`` and ``unit=7`` give daily grouping measured in weeks, like
lifetimes' ``freq="D", freq_multiplier=7``). Also returned: the raw purchase
count, total spend, and first and last purchase times. A customer without
purchases gets zeros and NaN first/last times.

Scores: each of R (time since the last purchase, shorter is better), F
(purchase periods) and M (total spend) is scored 1-5 by its mid-rank percentile
within the workspace: ``score = min(5, 1 + floor(5 * (below + equal / 2) / n))``.
Equal values always get equal scores, the result does not depend on input
order, and a workspace of one customer scores 3/3/3.

Segments read R against FM = ceil((F + M) / 2) on this grid:

    R \\ FM |  1                2                    3                    4                5
    -------+----------------------------------------------------------------------------------------
      5    |  new_customers    potential_loyalists  potential_loyalists  champions        champions
      4    |  promising        potential_loyalists  potential_loyalists  loyal_customers  champions
      3    |  about_to_sleep   about_to_sleep       need_attention       loyal_customers  loyal_customers
      2    |  hibernating      hibernating          at_risk              at_risk          cant_lose_them
      1    |  lost             lost                 at_risk              cant_lose_them   cant_lose_them
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import prange

from scoring._validation import as_float_array, check_positive
from scoring.config import jit, jit_parallel
from scoring.layout import PurchaseLayout

RFM_SEGMENTS = (
    "champions", "loyal_customers", "potential_loyalists", "new_customers", "promising", "need_attention",
    "about_to_sleep", "at_risk", "cant_lose_them", "hibernating", "lost",
)
_GRID = (  # rows R = 1..5, columns FM = 1..5
    ("lost", "lost", "at_risk", "cant_lose_them", "cant_lose_them"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal_customers", "loyal_customers"),
    ("promising", "potential_loyalists", "potential_loyalists", "loyal_customers", "champions"),
    ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
)
SEGMENT_GRID = np.array([[RFM_SEGMENTS.index(s) for s in row] for row in _GRID], dtype=np.int8)


@dataclass(frozen=True)
class RfmSummary:
    frequency: np.ndarray  # int64
    recency: np.ndarray
    T: np.ndarray
    monetary: np.ndarray
    purchase_count: np.ndarray  # int64
    total_spend: np.ndarray
    first_purchase: np.ndarray
    last_purchase: np.ndarray


@jit_parallel()
def _summary_kernel(offsets, times, amounts, end, period, unit):
    n = offsets.size - 1
    frequency = np.zeros(n, dtype=np.int64)
    recency = np.zeros(n)
    T = np.zeros(n)
    monetary = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    spend = np.zeros(n)
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    end_period = np.floor(end / period)
    for i in prange(n):
        lo, hi = offsets[i], offsets[i + 1]
        if lo == hi:
            continue
        first_period = np.floor(times[lo] / period)
        current = first_period
        periods = 1
        repeat_sum = 0.0
        total = 0.0
        for k in range(lo, hi):
            p = np.floor(times[k] / period)
            if p != current:
                periods += 1
                current = p
            if p != first_period:
                repeat_sum += amounts[k]
            total += amounts[k]
        frequency[i] = periods - 1
        recency[i] = (current - first_period) * period / unit
        T[i] = (end_period - first_period) * period / unit
        monetary[i] = repeat_sum / (periods - 1) if periods > 1 else 0.0
        count[i] = hi - lo
        spend[i] = total
        first[i] = times[lo]
        last[i] = times[hi - 1]
    return frequency, recency, T, monetary, count, spend, first, last


def rfm_summary(layout: PurchaseLayout, period: float = 1.0, unit: float = 1.0) -> RfmSummary:
    """Per-customer BTYD summary (see the module docstring)."""
    period = check_positive("period", period)
    unit = check_positive("unit", unit)
    return RfmSummary(*_summary_kernel(layout.offsets, layout.times, layout.amounts, layout.end, period, unit))


@jit()
def score_thresholds(ordered):
    """For sorted values: the smallest value scoring 2, 3, 4 and 5 (inf where
    no value does). Scores only grow with the value, so these four numbers
    score every customer."""
    n = ordered.size
    thresholds = np.full(4, np.inf)
    start = 0
    while start < n:
        end = start + 1
        while end < n and ordered[end] == ordered[start]:
            end += 1
        score = min(5, 1 + int(np.floor(5.0 * (start + 0.5 * (end - start)) / n)))
        for level in range(2, score + 1):
            if thresholds[level - 2] == np.inf:
                thresholds[level - 2] = ordered[start]
        start = end
    return thresholds


@jit_parallel()
def apply_thresholds(values, thresholds):
    """Scores 1-5 from `score_thresholds`: also how a customer rescored alone
    is placed among the workspace's last full run."""
    scores = np.empty(values.size, dtype=np.int8)
    for i in prange(values.size):
        score = 1
        for t in thresholds:
            if values[i] >= t:
                score += 1
        scores[i] = score
    return scores


def _midrank_scores(values: np.ndarray) -> np.ndarray:
    """1-5 by mid-rank percentile (see the module docstring)."""
    return apply_thresholds(values, score_thresholds(np.sort(values)))


@dataclass(frozen=True)
class RfmScores:
    r: np.ndarray  # int8, 1-5
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray  # int8 index into RFM_SEGMENTS

    def segment_names(self) -> np.ndarray:
        return np.asarray(RFM_SEGMENTS, dtype=object)[self.segment]


def rfm_scores(days_since_last: np.ndarray, purchase_periods: np.ndarray, total_spend: np.ndarray) -> RfmScores:
    """Quintile scores and named segments for customers with at least one purchase."""
    recent = as_float_array("days_since_last", days_since_last)
    periods = as_float_array("purchase_periods", purchase_periods, size=recent.size)
    spend = as_float_array("total_spend", total_spend, size=recent.size)
    r = _midrank_scores(-recent)
    f = _midrank_scores(periods)
    m = _midrank_scores(spend)
    fm = (f.astype(np.int16) + m + 1) // 2
    return RfmScores(r, f, m, SEGMENT_GRID[r - 1, fm - 1])
