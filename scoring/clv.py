"""Customer lifetime value with the discounted sum of lifetimes'
`customer_lifetime_value`:

    CLV = margin * E[spend | x, m] * sum_{k=1..H} (E[X(k f)] - E[X((k-1) f)]) / (1 + d)^k

with E[X(t)] the BG/NBD expected purchases in the next t time units, f the
number of time units in a month (``periods_per_month``: 30 for days, 4.345 for
weeks, as in lifetimes), H the horizon in months and d the monthly discount rate.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from scoring._validation import as_float_array, check_positive, check_rft
from scoring._distinct import distinct_pairs
from scoring.bgnbd import BgNbdFit, _alive_kernel, expected_if_alive
from scoring.config import jit_parallel
from scoring.gamma_gamma import GammaGammaFit, expected_average_value


@jit_parallel()
def _discounted_purchases(r, alpha, a, b, x, T, horizon, per_month, rate):
    """sum_k (E[X(k f)] - E[X((k-1) f)]) / (1 + d)^k for an alive customer,
    per distinct (x, T): it does not depend on t_x."""
    n = x.size
    out = np.empty(n)
    for i in prange(n):
        previous = 0.0
        discounted = 0.0
        factor = 1.0
        for k in range(1, horizon + 1):
            factor /= 1.0 + rate
            current = expected_if_alive(r, alpha, a, b, x[i], T[i], k * per_month)
            discounted += (current - previous) * factor
            previous = current
        out[i] = discounted
    return out


def customer_lifetime_value(bgnbd: BgNbdFit, gamma_gamma: GammaGammaFit, frequency, recency, T, monetary,
                            horizon_months: int = 12, monthly_discount_rate: float = 0.01, margin: float = 1.0,
                            periods_per_month: float = 30.0) -> np.ndarray:
    """Discounted expected margin over the next ``horizon_months`` for each customer."""
    x, t_x, T = check_rft(frequency, recency, T)
    m = as_float_array("monetary", monetary, size=x.size)
    if horizon_months < 0 or int(horizon_months) != horizon_months:
        raise ValueError("horizon_months must be a whole number >= 0")
    if not 0 <= monthly_discount_rate < 1:
        raise ValueError("monthly_discount_rate must be in [0, 1)")
    periods_per_month = check_positive("periods_per_month", periods_per_month)
    value = margin * expected_average_value(gamma_gamma, x, m)
    # The horizon sum depends on (x, T) only, and a store's customers share few
    # of those (ages in whole days): compute it once per distinct pair.
    px, pT, pair = distinct_pairs(x, T)
    per_pair = _discounted_purchases(*bgnbd.params, px, pT, int(horizon_months), periods_per_month,
                                     float(monthly_discount_rate))
    return value * _alive_kernel(*bgnbd.params, x, t_x, T) * per_pair[pair]
