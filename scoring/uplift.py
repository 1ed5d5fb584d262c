"""Uplift of a campaign over its holdout group: how sure can we be it helped?

- Conversion: the difference of two proportions with Newcombe's hybrid score
  interval (Newcombe 1998, "Interval estimation for the difference between
  independent proportions", Statistics in Medicine 17, method 10): each arm's
  Wilson score interval, combined. It keeps its coverage near the nominal 95%
  for small arms and rates near 0 or 1, where the textbook Wald interval does
  not (it gives 0/29 a zero-width interval).
- Revenue per customer: the difference of two means with a BCa bootstrap
  interval (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch.
  14), resampling each arm on its own with a fixed seed. Most customers spend
  nothing in an attribution window, so a resample is drawn as a binomial count
  of spenders and then that many spends: the same distribution as resampling
  all n, at a cost proportional to the spenders.
- The minimum detectable effect of a two-proportion test (two-sided 5%, power
  80%) for given arm sizes and baseline rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from scoring.config import jit

Z95 = 1.959963984540054  # two-sided 95%
Z_POWER80 = 0.8416212335729143
BOOTSTRAP_DRAWS = 2000
SEED = 20_240_601


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for x successes in n trials ((0, 1) for n = 0)."""
    _check_counts(x, n)
    if n == 0:
        return 0.0, 1.0
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval:
    """p1 - p2 with Newcombe's hybrid score interval (method 10)."""
    p1, p2 = (x1 / n1 if n1 else 0.0), (x2 / n2 if n2 else 0.0)
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return Interval(d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def minimum_detectable_effect(n1: int, n2: int, baseline: float, z_alpha: float = Z95,
                              z_power: float = Z_POWER80) -> float | None:
    """The smallest difference in conversion rate a two-sided test at 5% finds
    with 80% power, for arms of n1 and n2 customers converting at `baseline`;
    None when it cannot be said (an empty arm, a baseline of 0 or 1)."""
    if n1 <= 0 or n2 <= 0 or not 0.0 < baseline < 1.0:
        return None
    return (z_alpha + z_power) * math.sqrt(baseline * (1 - baseline) * (1 / n1 + 1 / n2))


@jit()
def _resampled_sums(spends, n, draws, seed):
    """Sums of `draws` resamples (with replacement, size n) of n values of which
    `spends` are the non-zero ones."""
    np.random.seed(seed)
    k = spends.size
    sums = np.zeros(draws)
    if k == 0:
        return sums
    share = k / n
    for b in range(draws):
        total = 0.0
        for _ in range(np.random.binomial(n, share)):
            total += spends[np.random.randint(0, k)]
        sums[b] = total
    return sums


def bca_mean_difference(spends1: np.ndarray, n1: int, spends2: np.ndarray, n2: int,
                        draws: int = BOOTSTRAP_DRAWS, seed: int = SEED, z: float = Z95) -> Interval:
    """mean1 - mean2 with a BCa bootstrap interval, where arm i has n_i
    customers and `spends_i` are its non-zero values (the rest are zeros)."""
    spends1, spends2 = _spends(spends1, n1), _spends(spends2, n2)
    if n1 == 0 or n2 == 0:
        raise ValueError("each arm needs at least one customer")
    mean1, mean2 = spends1.sum() / n1, spends2.sum() / n2
    estimate = float(mean1 - mean2)
    boot = _resampled_sums(spends1, n1, draws, seed) / n1 - _resampled_sums(spends2, n2, draws, seed + 1) / n2
    if np.all(boot == boot[0]):  # nobody spent, or everyone the same: nothing varies
        return Interval(estimate, estimate, estimate)
    below = (np.count_nonzero(boot < estimate) + 0.5 * np.count_nonzero(boot == estimate)) / draws
    z0 = float(ndtri(min(max(below, 0.5 / draws), 1 - 0.5 / draws)))
    acceleration = _acceleration([(spends1, n1, mean1, 1.0), (spends2, n2, mean2, -1.0)])
    quantiles = []
    for z_edge in (-z, z):
        shifted = z0 + z_edge
        quantiles.append(float(ndtr(z0 + shifted / (1 - acceleration * shifted))))
    low, high = np.quantile(boot, quantiles)
    return Interval(estimate, float(low), float(high))


def _acceleration(groups) -> float:
    """The BCa acceleration of a difference of independent means from the
    empirical influence values U (x - mean in the first arm, -(y - mean) in the
    second), summed over the groups as Efron & Tibshirani (14.15) do; the
    zeros' share is added in closed form."""
    cubes = squares = 0.0
    for spends, n, mean, sign in groups:
        u = sign * (spends - mean)
        zero = -sign * mean
        cubes += (np.sum(u ** 3) + (n - spends.size) * zero ** 3) / n ** 3
        squares += (np.sum(u ** 2) + (n - spends.size) * zero ** 2) / n ** 2
    return 0.0 if squares == 0 else float(cubes / (6.0 * squares ** 1.5))


def _spends(values: np.ndarray, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    values = values[values != 0]
    if values.size > n:
        raise ValueError("more spenders than customers")
    if not np.all(np.isfinite(values)):
        raise ValueError("spends must be finite")
    return values


def _check_counts(x: int, n: int) -> None:
    if n < 0 or not 0 <= x <= n:
        raise ValueError(f"need 0 <= successes <= trials, got {x} of {n}")
