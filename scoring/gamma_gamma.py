"""Gamma-Gamma spend model: Fader, Hardie & Lee (2005), "RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis", JMR 42(4); the likelihood as in
Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (2013), eq. 1a.

A customer's spend per transaction is z ~ Gamma(p, nu), nu ~ Gamma(q, v).
For x repeat transactions of mean value m:

    log L = lgamma(p x + q) - lgamma(p x) - lgamma(q) + q log v
            + (p x - 1) log m + p x log x - (p x + q) log(x m + v)

Fitted, like lifetimes, on customers with x > 0 (and here m > 0, since log m is
undefined at 0) by minimising the weighted mean negative log-likelihood plus
``penalizer * sum(params**2)`` over log-parameters.

The model assumes spend per transaction is independent of how often a customer
buys; `fit_gamma_gamma` reports the Pearson correlation between frequency and
monetary value so that a violation is visible, not hidden.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import prange

from scoring import _fitting
from scoring._validation import as_float_array
from scoring.config import jit_parallel
from scoring.special import digamma, trigamma

# |correlation| above this and the independence assumption is doubtful.
CORRELATION_WARNING = 0.3


@dataclass(frozen=True)
class GammaGammaFit:
    p: float
    q: float
    v: float
    log_likelihood: float
    converged: bool
    iterations: int
    n_customers: int  # customers the fit used (x > 0 and m > 0)
    frequency_monetary_correlation: float
    penalizer: float = 0.0
    standard_errors: dict[str, float] = field(default_factory=dict)

    @property
    def params(self) -> tuple[float, float, float]:
        return self.p, self.q, self.v

    @property
    def independence_doubtful(self) -> bool:
        return abs(self.frequency_monetary_correlation) > CORRELATION_WARNING

    @property
    def population_mean(self) -> float:
        """Mean spend per transaction across customers, p v / (q - 1) (infinite if q <= 1)."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else math.inf


@jit_parallel()
def _loglik_kernel(p, q, v, distinct_x, distinct_weights, sum_w_log_m, sum_wx_log_m, x, xm, weights):
    """Log-likelihood, gradient and Hessian in (p, q, v). The sum splits into
    terms per distinct x (gamma functions), constants of the data (sums of
    log m) and one logarithm per customer, log(x m + v)."""
    total_weight = distinct_weights.sum()
    log_v = math.log(v)
    ll = total_weight * (q * log_v - math.lgamma(q)) + p * sum_wx_log_m - sum_w_log_m
    g_p = sum_wx_log_m
    g_q = total_weight * (log_v - digamma(q))
    g_v = total_weight * q / v
    h_pp = 0.0
    h_pq = 0.0
    h_qq = -total_weight * trigamma(q)
    for j in range(distinct_x.size):
        u, w = distinct_x[j], distinct_weights[j]
        pu = p * u
        log_u = math.log(u)
        psi_puq = digamma(pu + q)
        tri_puq = trigamma(pu + q)
        ll += w * (math.lgamma(pu + q) - math.lgamma(pu) + pu * log_u)
        g_p += w * u * (psi_puq - digamma(pu) + log_u)
        g_q += w * psi_puq
        h_pp += w * u * u * (tri_puq - trigamma(pu))
        h_pq += w * u * tri_puq
        h_qq += w * tri_puq
    h_pv = 0.0
    h_qv = total_weight / v
    h_vv = -total_weight * q / (v * v)
    for i in prange(x.size):
        inv = 1.0 / (xm[i] + v)
        log_xmv = math.log(xm[i] + v)
        pxq = p * x[i] + q
        ll -= weights[i] * pxq * log_xmv
        g_p -= weights[i] * x[i] * log_xmv
        g_q -= weights[i] * log_xmv
        g_v -= weights[i] * pxq * inv
        h_pv -= weights[i] * x[i] * inv
        h_qv -= weights[i] * inv
        h_vv += weights[i] * pxq * inv * inv
    hessian = np.array([[h_pp, h_pq, h_pv], [h_pq, h_qq, h_qv], [h_pv, h_qv, h_vv]])
    return ll, np.array([g_p, g_q, g_v]), hessian


class _Spend:
    """Repeat customers' (x, m) with what does not change between evaluations precomputed."""

    def __init__(self, x: np.ndarray, m: np.ndarray, weights: np.ndarray):
        self.x, self.weights = x, weights
        self.xm = x * m
        self.distinct_x, inverse = np.unique(x, return_inverse=True)
        self.distinct_weights = np.bincount(inverse, weights=weights)
        log_m = np.log(m)
        self.sum_w_log_m = float(weights @ log_m)
        self.sum_wx_log_m = float((weights * x) @ log_m)

    def loglik(self, params) -> tuple[float, np.ndarray, np.ndarray]:
        return _loglik_kernel(*(float(v) for v in params), self.distinct_x, self.distinct_weights, self.sum_w_log_m,
                              self.sum_wx_log_m, self.x, self.xm, self.weights)


def _usable(frequency, monetary) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array("frequency", frequency)
    m = as_float_array("monetary", monetary, size=x.size)
    if (x < 0).any() or (m < 0).any():
        raise ValueError("frequency and monetary value must be >= 0")
    keep = (x > 0) & (m > 0)
    return x[keep], m[keep]


def log_likelihood(params, frequency, monetary, weights=None) -> tuple[float, np.ndarray, np.ndarray]:
    """Total weighted log-likelihood at (p, q, v), its gradient and Hessian, over
    customers with x > 0 and m > 0."""
    x, m = _usable(frequency, monetary)
    w = np.ones(x.size) if weights is None else as_float_array("weights", weights, size=x.size)
    return _Spend(x, m, w).loglik(params)


def fit_gamma_gamma(frequency, monetary, penalizer: float = 0.0, initial: GammaGammaFit | None = None,
                    with_standard_errors: bool = True) -> GammaGammaFit:
    """Maximum-likelihood (p, q, v) over the customers with repeat purchases."""
    x, m = _usable(frequency, monetary)
    if x.size < 3:
        raise ValueError("Gamma-Gamma needs at least three customers with repeat purchases of positive value")
    loglik = _Spend(x, m, np.ones(x.size)).loglik

    # lifetimes starts every log-parameter at 0.1, which leaves v ~ 1 hopelessly far
    # from the optimum when spend is in rials; starting with the population mean
    # at the data's mean (p = 1, q = 2, v = mean m) changes where the search
    # begins, not the objective.
    start = np.log(initial.params) if initial is not None else np.log([1.0, 2.0, float(m.mean())])
    optimum = _fitting.maximise(loglik, float(x.size), start, penalizer)
    errors = _fitting.standard_errors(loglik, optimum.params) if with_standard_errors else np.full(3, np.nan)
    correlation = float(np.corrcoef(x, m)[0, 1]) if np.ptp(x) > 0 and np.ptp(m) > 0 else 0.0
    return GammaGammaFit(*(float(v) for v in optimum.params), log_likelihood=float(loglik(optimum.params)[0]),
                         converged=optimum.converged, iterations=optimum.iterations, n_customers=int(x.size),
                         frequency_monetary_correlation=correlation, penalizer=penalizer,
                         standard_errors=dict(zip(("p", "q", "v"), errors.tolist())))


def expected_average_value(fit: GammaGammaFit, frequency, monetary) -> np.ndarray:
    """E[spend per transaction | x, m]: a weighted mean of the customer's own
    average and the population mean; the population mean for x = 0."""
    x = as_float_array("frequency", frequency)
    m = as_float_array("monetary", monetary, size=x.size)
    p, q, v = fit.params
    weight = p * x / (p * x + q - 1.0)
    return (1.0 - weight) * (v * p / (q - 1.0)) + weight * m
