"""BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way:
An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.

Per customer with x repeat purchases, the last at t_x, watched for T:

    L = B(a, b+x)/B(a, b) * G(r+x) a^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))

computed in log space (log-sum-exp of the two terms). Each evaluation
tabulates the terms that depend only on the integer x (log-gammas, log-betas,
digammas) once per distinct x, and customers with equal (x, t_x, T) are merged
with weights before fitting, as Fader and Hardie do.

Fitting follows lifetimes: time is scaled so the largest T is 1, the weighted
mean negative log-likelihood plus ``penalizer * sum(params**2)`` is minimised
over log-parameters (from 0.1 unless a warm start is given), and alpha is
scaled back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import prange

from scoring import _fitting
from scoring._validation import as_float_array, check_rft
from scoring.config import jit, jit_parallel
from scoring.special import betaln, digamma, hyp2f1_minus_one


@dataclass(frozen=True)
class BgNbdFit:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float  # total, in the caller's time unit, without the penalty
    converged: bool
    iterations: int
    n_customers: int
    penalizer: float = 0.0
    standard_errors: dict[str, float] = field(default_factory=dict)

    @property
    def params(self) -> tuple[float, float, float, float]:
        return self.r, self.alpha, self.a, self.b


@jit()
def _x_tables(r, a, b, max_x):
    """Per distinct frequency: log-gamma/log-beta terms and digammas."""
    n = max_x + 1
    lg_rx = np.empty(n)
    lb_alive = np.empty(n)
    lb_dead = np.empty(n)
    psi_rx = np.empty(n)
    psi_bx = np.empty(n)
    psi_bx1 = np.empty(n)
    psi_abx = np.empty(n)
    lb_ab = betaln(a, b)
    for x in range(n):
        lg_rx[x] = math.lgamma(r + x)
        lb_alive[x] = betaln(a, b + x) - lb_ab
        lb_dead[x] = betaln(a + 1.0, b + x - 1.0) - lb_ab if x > 0 else 0.0
        psi_rx[x] = digamma(r + x)
        psi_bx[x] = digamma(b + x)
        psi_bx1[x] = digamma(b + x - 1.0) if x > 0 else 0.0
        psi_abx[x] = digamma(a + b + x)
    return lg_rx, lb_alive, lb_dead, psi_rx, psi_bx, psi_bx1, psi_abx


@jit_parallel()
def _loglik_kernel(r, alpha, a, b, x, t_x, T, weights, max_x):
    lg_rx, lb_alive, lb_dead, psi_rx, psi_bx, psi_bx1, psi_abx = _x_tables(r, a, b, max_x)
    head = -math.lgamma(r) + r * math.log(alpha)
    psi_r, psi_a, psi_a1, psi_b, psi_ab = digamma(r), digamma(a), digamma(a + 1.0), digamma(b), digamma(a + b)
    log_alpha = math.log(alpha)
    ll = 0.0
    g_r = 0.0
    g_alpha = 0.0
    g_a = 0.0
    g_b = 0.0
    for i in prange(x.size):
        xi = int(x[i])
        w = weights[i]
        rx = r + xi
        log_aT = math.log(alpha + T[i])
        alive = lb_alive[xi] - rx * log_aT
        if xi > 0:
            log_at = math.log(alpha + t_x[i])
            dead = lb_dead[xi] - rx * log_at
            top = max(alive, dead)
            lse = top + math.log(math.exp(alive - top) + math.exp(dead - top))
            w1 = math.exp(alive - lse)
            w2 = math.exp(dead - lse)
            inv_at = 1.0 / (alpha + t_x[i])
        else:
            log_at = 0.0
            lse = alive
            w1 = 1.0
            w2 = 0.0
            inv_at = 0.0
        ll += w * (lg_rx[xi] + head + lse)
        g_r += w * (psi_rx[xi] - psi_r + log_alpha - w1 * log_aT - w2 * log_at)
        g_alpha += w * (r / alpha - rx * (w1 / (alpha + T[i]) + w2 * inv_at))
        g_a += w * (psi_ab - psi_a + w1 * (psi_a - psi_abx[xi]) + w2 * (psi_a1 - psi_abx[xi]))
        g_b += w * (psi_ab - psi_b + w1 * (psi_bx[xi] - psi_abx[xi]) + w2 * (psi_bx1[xi] - psi_abx[xi]))
    return ll, np.array([g_r, g_alpha, g_a, g_b])


def log_likelihood(params, frequency, recency, T, weights=None) -> tuple[float, np.ndarray]:
    """Total weighted log-likelihood at (r, alpha, a, b) and its gradient."""
    x, t_x, T = check_rft(frequency, recency, T)
    w = np.ones(x.size) if weights is None else as_float_array("weights", weights, size=x.size)
    r, alpha, a, b = (float(p) for p in params)
    max_x = int(x.max()) if x.size else 0
    return _loglik_kernel(r, alpha, a, b, x, t_x, T, w, max_x)


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, their counts, and each input row's
    index among them (to scatter per-row results back)."""
    stacked = np.column_stack(columns)
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return [unique[:, j].copy() for j in range(unique.shape[1])], counts.astype(np.float64), inverse.ravel()


def fit_bgnbd(frequency, recency, T, penalizer: float = 0.0, initial: BgNbdFit | None = None,
              with_standard_errors: bool = True) -> BgNbdFit:
    """Maximum-likelihood (r, alpha, a, b); ``initial`` warm-starts from a previous fit."""
    x, t_x, T = check_rft(frequency, recency, T)
    if x.size == 0 or T.max() <= 0:
        raise ValueError("BG/NBD needs customers observed for some time (T > 0)")
    (ux, ut, uT), weights, _ = compress(x, t_x, T)
    scale = 1.0 / uT.max()
    max_x = int(ux.max())
    st, sT = ut * scale, uT * scale

    def scaled(params):
        return _loglik_kernel(*params, ux, st, sT, weights, max_x)

    if initial is not None:
        start = np.log([initial.r, initial.alpha * scale, initial.a, initial.b])
    else:
        start = np.full(4, 0.1)
    optimum = _fitting.maximise(scaled, weights.sum(), start, penalizer)
    r, alpha_scaled, a, b = optimum.params
    params = np.array([r, alpha_scaled / scale, a, b])

    def natural(p):
        return _loglik_kernel(*p, ux, ut, uT, weights, max_x)

    errors = _fitting.standard_errors(natural, params) if with_standard_errors else np.full(4, np.nan)
    return BgNbdFit(*(float(v) for v in params), log_likelihood=float(natural(params)[0]), converged=optimum.converged,
                    iterations=optimum.iterations, n_customers=int(x.size), penalizer=penalizer,
                    standard_errors=dict(zip(("r", "alpha", "a", "b"), errors.tolist())))


# --- predictions ---------------------------------------------------------------


@jit()
def _log_dead_odds(r, alpha, a, b, x, t_x, T):
    """log of P(dead | x, t_x, T) / P(alive | ...) for x > 0."""
    return (r + x) * math.log((alpha + T) / (alpha + t_x)) + math.log(a / (b + x - 1.0))


@jit()
def _p_alive(r, alpha, a, b, x, t_x, T):
    if x == 0:
        return 1.0
    odds = _log_dead_odds(r, alpha, a, b, x, t_x, T)
    # expit(-odds), without overflow for either sign
    if odds > 0:
        e = math.exp(-odds)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(odds))


@jit()
def expected_if_alive(r, alpha, a, b, x, T, t):
    """E[purchases in (T, T+t] | x, T, alive]; Fader, Hardie & Lee (2005) eq. 10
    over its denominator. After Euler's transformation,
    2F1(r+x, b+x; a+b+x-1; z) (1-z)^(r+x) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)
    with z = t / (alpha+T+t), whose series has parameter-sized numerators, so it
    neither overflows for large x nor needs many terms."""
    if t <= 0.0:
        return 0.0
    c = a + b + x - 1.0
    z = t / (alpha + T + t)
    s = hyp2f1_minus_one(a + b - 1.0 - r, a - 1.0, c, z)
    # 1 - (1-z)^(a-1) (1+s), kept accurate near z = 0; (1+s) may be negative
    # when a + b + x < 1, so no logarithm of it.
    u = (a - 1.0) * math.log1p(-z)
    return c / (a - 1.0) * (-math.expm1(u) - math.exp(u) * s)


@jit_parallel()
def _predict_kernel(r, alpha, a, b, x, t_x, T, t):
    n = x.size
    alive = np.empty(n)
    expected = np.empty(n)
    for i in prange(n):
        alive[i] = _p_alive(r, alpha, a, b, x[i], t_x[i], T[i])
        expected[i] = alive[i] * expected_if_alive(r, alpha, a, b, x[i], T[i], t)
    return alive, expected


def probability_alive(fit: BgNbdFit, frequency, recency, T) -> np.ndarray:
    """P(the customer has not dropped out | x, t_x, T)."""
    x, t_x, T = check_rft(frequency, recency, T)
    return _predict_kernel(*fit.params, x, t_x, T, 0.0)[0]


def expected_purchases(fit: BgNbdFit, t: float, frequency, recency, T) -> np.ndarray:
    """Expected purchases in the next ``t`` time units, given each customer's history."""
    x, t_x, T = check_rft(frequency, recency, T)
    return _predict_kernel(*fit.params, x, t_x, T, float(t))[1]


def expected_purchases_new_customer(fit: BgNbdFit, t) -> np.ndarray:
    """E[X(t)]: repeat purchases a new customer makes in their first ``t`` time
    units (the model's curve for calibration plots)."""
    ts = np.atleast_1d(as_float_array("t", t))
    return np.array([expected_if_alive(*fit.params, 0.0, 0.0, float(ti)) for ti in ts])
