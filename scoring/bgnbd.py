"""BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way:
An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.

Per customer with x repeat purchases, the last at t_x, watched for T:

    L = B(a, b+x)/B(a, b) * G(r+x) a^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))

computed in log space (log-sum-exp of the two terms). Each evaluation
tabulates the terms that depend only on the integer x (log-gammas, log-betas,
digammas) once per distinct x and the logarithms once per distinct T and t_x,
and customers without repeat purchases are merged with weights per distinct T
(Fader and Hardie merge equal (x, t_x, T) the same way).

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
from scoring._distinct import distinct_index, distinct_pairs
from scoring._validation import as_float_array, check_rft
from scoring.config import jit, jit_parallel
from scoring.special import betaln, digamma, hyp2f1_minus_one, trigamma


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
    """Per distinct frequency x: the log-gamma and log-beta terms, digammas and
    trigammas that depend on x; rows are indexed by x."""
    n = max_x + 1
    table = np.zeros((11, n))
    lb_ab = betaln(a, b)
    for x in range(n):
        table[0, x] = math.lgamma(r + x)
        table[1, x] = betaln(a, b + x) - lb_ab
        table[3, x] = digamma(r + x)
        table[4, x] = digamma(b + x)
        table[6, x] = digamma(a + b + x)
        table[7, x] = trigamma(r + x)
        table[8, x] = trigamma(b + x)
        table[10, x] = trigamma(a + b + x)
        if x > 0:
            table[2, x] = betaln(a + 1.0, b + x - 1.0) - lb_ab
            table[5, x] = digamma(b + x - 1.0)
            table[9, x] = trigamma(b + x - 1.0)
    return table


@dataclass(frozen=True)
class _Grid:
    """Customers as indices into their distinct T and t_x values, so that each
    evaluation takes the logarithms once per distinct value (a store's data
    holds a few hundred distinct ages in days), with customers without repeat
    purchases merged into weights per distinct T."""

    T: np.ndarray  # distinct T values
    t_x: np.ndarray  # distinct t_x values
    zero_weights: np.ndarray  # per distinct T: total weight of customers with x = 0
    x: np.ndarray  # int64, customers with x > 0
    t_index: np.ndarray
    T_index: np.ndarray
    weights: np.ndarray
    max_x: int

    @classmethod
    def build(cls, x, t_x, T, weights) -> _Grid:
        uT, iT = distinct_index(T)
        ut, it = distinct_index(t_x)
        zero = x == 0
        repeat = ~zero
        # Equal (x, t_x, T) are one row with their weights summed.
        distinct, inverse = distinct_index((x[repeat].astype(np.int64) * ut.size + it[repeat]) * uT.size + iT[repeat])
        return cls(uT, ut, np.bincount(iT[zero], weights=weights[zero], minlength=uT.size),
                   distinct // (ut.size * uT.size), (distinct // uT.size) % ut.size, distinct % uT.size,
                   np.bincount(inverse, weights=weights[repeat]), int(x.max()) if x.size else 0)

    def scaled(self, factor: float) -> _Grid:
        return _Grid(self.T * factor, self.t_x * factor, self.zero_weights, self.x, self.t_index, self.T_index,
                     self.weights, self.max_x)

    def loglik(self, params) -> tuple[float, np.ndarray, np.ndarray]:
        return _loglik_kernel(*(float(p) for p in params), self.T, self.t_x, self.zero_weights, self.x,
                              self.t_index, self.T_index, self.weights, self.max_x)

    @property
    def total_weight(self) -> float:
        return float(self.zero_weights.sum() + self.weights.sum())


@jit_parallel()
def _loglik_kernel(r, alpha, a, b, uT, ut, zero_weights, x, t_index, T_index, weights, max_x):
    """Total log-likelihood, gradient and Hessian in (r, alpha, a, b).

    Per customer ll = C + lse(A1, A2), with C the terms common to both, A1 the
    'alive at T' and A2 the 'died after t_x' term; the Hessian of the
    log-sum-exp is w1 H(A1) + w2 H(A2) + w1 w2 (g1 - g2)(g1 - g2)^T."""
    tab = _x_tables(r, a, b, max_x)
    lg_rx, lb_alive, lb_dead, psi_rx, psi_bx, psi_bx1, psi_abx = tab[0], tab[1], tab[2], tab[3], tab[4], tab[5], tab[6]
    tri_rx, tri_bx, tri_bx1, tri_abx = tab[7], tab[8], tab[9], tab[10]
    log_aT = np.log(alpha + uT)
    inv_aT = 1.0 / (alpha + uT)
    log_at = np.log(alpha + ut)
    inv_at = 1.0 / (alpha + ut)
    head = -math.lgamma(r) + r * math.log(alpha)
    psi_r, psi_a, psi_a1, psi_b, psi_ab = digamma(r), digamma(a), digamma(a + 1.0), digamma(b), digamma(a + b)
    tri_r, tri_a, tri_a1, tri_b, tri_ab = trigamma(r), trigamma(a), trigamma(a + 1.0), trigamma(b), trigamma(a + b)
    log_alpha = math.log(alpha)

    # Customers without repeat purchases: only the "alive" term, one per distinct T.
    w0 = zero_weights.sum()
    ll = w0 * (lg_rx[0] + head + lb_alive[0])
    g_r = w0 * (psi_rx[0] - psi_r + log_alpha)
    g_alpha = 0.0
    g_a = w0 * (psi_ab - psi_abx[0])
    g_b = w0 * (psi_ab - psi_b + psi_bx[0] - psi_abx[0])
    h_rr = w0 * (tri_rx[0] - tri_r)
    h_ralpha = 0.0
    h_alphaalpha = 0.0
    h_aa = w0 * (tri_ab - tri_abx[0])
    h_ab = w0 * (tri_ab - tri_abx[0])
    h_bb = w0 * (tri_ab - tri_b + tri_bx[0] - tri_abx[0])
    for j in range(uT.size):
        zw = zero_weights[j]
        ll -= zw * r * log_aT[j]
        g_r -= zw * log_aT[j]
        g_alpha += zw * (r / alpha - r * inv_aT[j])
        h_ralpha += zw * (1.0 / alpha - inv_aT[j])
        h_alphaalpha += zw * r * (inv_aT[j] * inv_aT[j] - 1.0 / (alpha * alpha))
    h_ra = 0.0
    h_rb = 0.0
    h_alphaa = 0.0
    h_alphab = 0.0

    for i in prange(x.size):
        xi = x[i]
        w = weights[i]
        rx = r + xi
        lT = log_aT[T_index[i]]
        lt = log_at[t_index[i]]
        iT = inv_aT[T_index[i]]
        it = inv_at[t_index[i]]
        alive = lb_alive[xi] - rx * lT
        dead = lb_dead[xi] - rx * lt
        # log-sum-exp of the two terms; w1, w2 are their shares of the sum
        if alive >= dead:
            e = math.exp(dead - alive)
            lse = alive + math.log1p(e)
            w1 = 1.0 / (1.0 + e)
            w2 = e * w1
        else:
            e = math.exp(alive - dead)
            lse = dead + math.log1p(e)
            w2 = 1.0 / (1.0 + e)
            w1 = e * w2
        ll += w * (lg_rx[xi] + head + lse)
        g_r += w * (psi_rx[xi] - psi_r + log_alpha - w1 * lT - w2 * lt)
        g_alpha += w * (r / alpha - rx * (w1 * iT + w2 * it))
        g_a += w * (psi_ab - psi_a + w1 * (psi_a - psi_abx[xi]) + w2 * (psi_a1 - psi_abx[xi]))
        g_b += w * (psi_ab - psi_b + w1 * (psi_bx[xi] - psi_abx[xi]) + w2 * (psi_bx1[xi] - psi_abx[xi]))
        # gradient of A1 minus gradient of A2
        d0 = lt - lT
        d1 = rx * (it - iT)
        d2 = -1.0 / a
        d3 = 1.0 / (b + xi - 1.0)
        ww = w * w1 * w2
        h_rr += w * (tri_rx[xi] - tri_r) + ww * d0 * d0
        h_ralpha += w * (1.0 / alpha - w1 * iT - w2 * it) + ww * d0 * d1
        h_alphaalpha += w * (rx * (w1 * iT * iT + w2 * it * it) - r / (alpha * alpha)) + ww * d1 * d1
        h_ra += ww * d0 * d2
        h_rb += ww * d0 * d3
        h_alphaa += ww * d1 * d2
        h_alphab += ww * d1 * d3
        h_aa += w * (tri_ab - tri_a + w1 * (tri_a - tri_abx[xi]) + w2 * (tri_a1 - tri_abx[xi])) + ww * d2 * d2
        h_ab += w * (tri_ab - tri_abx[xi]) + ww * d2 * d3
        h_bb += w * (tri_ab - tri_b + w1 * (tri_bx[xi] - tri_abx[xi]) + w2 * (tri_bx1[xi] - tri_abx[xi])) + ww * d3 * d3
    hessian = np.array([
        [h_rr, h_ralpha, h_ra, h_rb],
        [h_ralpha, h_alphaalpha, h_alphaa, h_alphab],
        [h_ra, h_alphaa, h_aa, h_ab],
        [h_rb, h_alphab, h_ab, h_bb],
    ])
    return ll, np.array([g_r, g_alpha, g_a, g_b]), hessian


def log_likelihood(params, frequency, recency, T, weights=None) -> tuple[float, np.ndarray, np.ndarray]:
    """Total weighted log-likelihood at (r, alpha, a, b), its gradient and Hessian."""
    x, t_x, T = check_rft(frequency, recency, T)
    w = np.ones(x.size) if weights is None else as_float_array("weights", weights, size=x.size)
    return _Grid.build(x, t_x, T, w).loglik(params)


def fit_bgnbd(frequency, recency, T, penalizer: float = 0.0, initial: BgNbdFit | None = None,
              with_standard_errors: bool = True) -> BgNbdFit:
    """Maximum-likelihood (r, alpha, a, b); ``initial`` warm-starts from a previous fit."""
    x, t_x, T = check_rft(frequency, recency, T)
    if x.size == 0 or T.max() <= 0:
        raise ValueError("BG/NBD needs customers observed for some time (T > 0)")
    grid = _Grid.build(x, t_x, T, np.ones(x.size))
    scale = 1.0 / T.max()
    scaled = grid.scaled(scale)
    if initial is not None:
        start = np.log([initial.r, initial.alpha * scale, initial.a, initial.b])
    else:
        start = np.full(4, 0.1)
    optimum = _fitting.maximise(scaled.loglik, grid.total_weight, start, penalizer)
    r, alpha_scaled, a, b = optimum.params
    params = np.array([r, alpha_scaled / scale, a, b])
    errors = _fitting.standard_errors(grid.loglik, params) if with_standard_errors else np.full(4, np.nan)
    return BgNbdFit(*(float(v) for v in params), log_likelihood=float(grid.loglik(params)[0]),
                    converged=optimum.converged, iterations=optimum.iterations, n_customers=int(x.size),
                    penalizer=penalizer, standard_errors=dict(zip(("r", "alpha", "a", "b"), errors.tolist())))


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
    u = (a - 1.0) * math.log1p(-z)
    if math.isfinite(s):
        # 1 - (1-z)^(a-1) (1+s), kept accurate near z = 0; (1+s) may be negative
        # when a + b + x < 1, so no logarithm of it.
        return c / (a - 1.0) * (-math.expm1(u) - math.exp(u) * s)
    # The series overflows only for huge a and b (a fit at the edge of the
    # parameter space, where dropout no longer varies between customers): then
    # the Beta is its mean p and E = (1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p.
    p = a / (a + b + x)
    return -math.expm1(-(r + x) * math.log1p(p * t / (alpha + T))) / p


@jit_parallel()
def _alive_kernel(r, alpha, a, b, x, t_x, T):
    alive = np.empty(x.size)
    for i in prange(x.size):
        alive[i] = _p_alive(r, alpha, a, b, x[i], t_x[i], T[i])
    return alive


@jit_parallel()
def _if_alive_kernel(r, alpha, a, b, x, T, t):
    out = np.empty(x.size)
    for i in prange(x.size):
        out[i] = expected_if_alive(r, alpha, a, b, x[i], T[i], t)
    return out


def probability_alive(fit: BgNbdFit, frequency, recency, T) -> np.ndarray:
    """P(the customer has not dropped out | x, t_x, T)."""
    x, t_x, T = check_rft(frequency, recency, T)
    return _alive_kernel(*fit.params, x, t_x, T)


def expected_purchases(fit: BgNbdFit, t: float, frequency, recency, T) -> np.ndarray:
    """Expected purchases in the next ``t`` time units, given each customer's history."""
    x, t_x, T = check_rft(frequency, recency, T)
    # The hypergeometric part depends on (x, T) only: once per distinct pair.
    px, pT, pair = distinct_pairs(x, T)
    return _alive_kernel(*fit.params, x, t_x, T) * _if_alive_kernel(*fit.params, px, pT, float(t))[pair]


def expected_purchases_new_customer(fit: BgNbdFit, t) -> np.ndarray:
    """E[X(t)]: repeat purchases a new customer makes in their first ``t`` time
    units (the model's curve for calibration plots)."""
    ts = np.atleast_1d(as_float_array("t", t))
    return np.array([expected_if_alive(*fit.params, 0.0, 0.0, float(ti)) for ti in ts])
