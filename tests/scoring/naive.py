"""Slow, obvious references the kernels are tested against: the papers'
formulas written straight in NumPy/SciPy, and RFM in plain Python."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1


def bgnbd_loglik(r, alpha, a, b, x, t_x, T):
    """Fader, Hardie & Lee (2005), eq. 6, per customer."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    dead = np.where(x > 0, betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
                    -np.inf)
    return common + np.logaddexp(alive, dead)


def bgnbd_expected(r, alpha, a, b, t, x, t_x, T):
    """Fader, Hardie & Lee (2005), eq. 10, with SciPy's hyp2f1."""
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    denominator = 1 + (x > 0) * a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return numerator / denominator


def gamma_gamma_loglik(p, q, v, x, m):
    """Fader & Hardie (2013), eq. 1a, per customer."""
    return (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
            + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))


def rfm_summary(customers, times, amounts, end, period, unit, n_customers):
    """lifetimes' conventions, one customer at a time."""
    by_customer = defaultdict(lambda: defaultdict(float))
    raw = defaultdict(list)
    for c, t, m in zip(customers, times, amounts):
        by_customer[c][math.floor(t / period)] += m
        raw[c].append((t, m))
    rows = []
    for c in range(n_customers):
        if c not in by_customer:
            rows.append((0, 0.0, 0.0, 0.0, 0, 0.0))
            continue
        periods = sorted(by_customer[c])
        first, last = periods[0], periods[-1]
        repeat = [by_customer[c][p] for p in periods[1:]]
        rows.append((len(periods) - 1, (last - first) * period / unit,
                     (math.floor(end / period) - first) * period / unit,
                     sum(repeat) / len(repeat) if repeat else 0.0, len(raw[c]), sum(m for _, m in raw[c])))
    return rows
