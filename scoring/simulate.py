"""Customers drawn from the BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma
(Fader, Hardie & Lee 2005, "RFM and CLV") generative processes.

The demo store and the parameter-recovery tests use this one generator, so a
fit on the demo store can be checked against the parameters that made it.

BG/NBD: a customer's transaction rate is lambda ~ Gamma(r, alpha) (shape r, rate
alpha); after each repeat purchase they drop out with probability p ~ Beta(a, b).
Time is continuous (rounding times to whole days biases the fit at large N).
The first purchase is at time 0 of the customer's own clock; `T` is how long
they have been watched since then.

Gamma-Gamma: each customer's spend per transaction is z ~ Gamma(p, nu) with
nu ~ Gamma(q, gamma) across customers (`v` below is the paper's gamma).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float


@dataclass(frozen=True)
class SimulatedPurchases:
    """Flat purchase arrays (customer index, time since that customer's first
    purchase, amount), sorted by customer then time, plus each customer's `T`
    and the hidden per-customer parameters (for checks)."""

    customer: np.ndarray  # int64
    time: np.ndarray  # float64, in the unit of the rates (0 for the first purchase)
    amount: np.ndarray  # float64
    T: np.ndarray  # float64, per customer
    lam: np.ndarray
    dropout: np.ndarray
    nu: np.ndarray


def simulate(
    T: np.ndarray,
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    rng: np.random.Generator,
) -> SimulatedPurchases:
    """Every purchase (the first included) of len(T) customers observed for T."""
    T = np.asarray(T, dtype=np.float64)
    n = T.size
    lam = rng.gamma(bgnbd.r, 1.0 / bgnbd.alpha, n)
    dropout = rng.beta(bgnbd.a, bgnbd.b, n)
    # Repeat purchases made: the Poisson count in (0, T] unless death comes
    # first, after the k-th repeat purchase with k ~ Geometric(p).
    arrivals = rng.poisson(lam * T)
    survives = rng.geometric(np.clip(dropout, 1e-12, 1.0))
    repeats = np.minimum(arrivals, survives)
    # The first m of n uniform order statistics on (0, T], without drawing all n:
    # U_(j) = S_j / (S_m + G) with S the partial sums of Exp(1) and G ~ Gamma(n - m + 1).
    owner = np.repeat(np.arange(n), repeats)
    spacing = rng.exponential(1.0, owner.size)
    partial = np.cumsum(spacing)
    starts = np.concatenate(([0], np.cumsum(repeats)[:-1]))
    before = np.repeat(partial[starts - 1] * (starts > 0) if owner.size else np.zeros(n), repeats)
    partial -= before
    rest = rng.gamma(arrivals - repeats + 1.0, 1.0)
    last = np.zeros(n)
    has = repeats > 0
    last[has] = partial[starts[has] + repeats[has] - 1]
    repeat_times = partial / (last + rest)[owner] * T[owner]

    counts = repeats + 1
    customer = np.repeat(np.arange(n), counts)
    time = np.zeros(customer.size)
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    is_repeat = np.ones(customer.size, dtype=bool)
    is_repeat[first] = False
    time[is_repeat] = repeat_times

    nu = rng.gamma(gamma_gamma.q, 1.0 / gamma_gamma.v, n)
    amount = rng.gamma(gamma_gamma.p, 1.0 / nu[customer])
    return SimulatedPurchases(customer, time, amount, T, lam, dropout, nu)
