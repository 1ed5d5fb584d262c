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
from scoring.special import digamma

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
def _loglik_kernel(p, q, v, x, m, weights):
    lg_q = math.lgamma(q)
    log_v = math.log(v)
    psi_q = digamma(q)
    ll = 0.0
    g_p = 0.0
    g_q = 0.0
    g_v = 0.0
    for i in prange(x.size):
        xi, mi, w = x[i], m[i], weights[i]
        px = p * xi
        log_m = math.log(mi)
        log_x = math.log(xi)
        log_xmv = math.log(xi * mi + v)
        psi_pxq = digamma(px + q)
        ll += w * (math.lgamma(px + q) - math.lgamma(px) - lg_q + q * log_v + (px - 1.0) * log_m
                   + px * log_x - (px + q) * log_xmv)
        g_p += w * xi * (psi_pxq - digamma(px) + log_m + log_x - log_xmv)
        g_q += w * (psi_pxq - psi_q + log_v - log_xmv)
        g_v += w * (q / v - (px + q) / (xi * mi + v))
    return ll, np.array([g_p, g_q, g_v])


def _usable(frequency, monetary) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array("frequency", frequency)
    m = as_float_array("monetary", monetary, size=x.size)
    if (x < 0).any() or (m < 0).any():
        raise ValueError("frequency and monetary value must be >= 0")
    keep = (x > 0) & (m > 0)
    return x[keep], m[keep]


def log_likelihood(params, frequency, monetary, weights=None) -> tuple[float, np.ndarray]:
    """Total weighted log-likelihood at (p, q, v) and its gradient, over customers with x > 0 and m > 0."""
    x, m = _usable(frequency, monetary)
    w = np.ones(x.size) if weights is None else as_float_array("weights", weights, size=x.size)
    return _loglik_kernel(*(float(v) for v in params), x, m, w)


def fit_gamma_gamma(frequency, monetary, penalizer: float = 0.0, initial: GammaGammaFit | None = None,
                    with_standard_errors: bool = True) -> GammaGammaFit:
    """Maximum-likelihood (p, q, v) over the customers with repeat purchases."""
    x, m = _usable(frequency, monetary)
    if x.size < 3:
        raise ValueError("Gamma-Gamma needs at least three customers with repeat purchases of positive value")
    weights = np.ones(x.size)

    def loglik(params):
        return _loglik_kernel(*params, x, m, weights)

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
