"""Special functions for the kernels, compiled with Numba.

`math.lgamma` is available in Numba; digamma and the Gauss hypergeometric
function are not, so they are here.
"""

from __future__ import annotations

import math

from scoring.config import jit

# Bernoulli-number coefficients of the asymptotic digamma series:
# psi(x) ~ ln x - 1/(2x) - sum B_2k / (2k x^2k)
_PSI_COEFFS = (1.0 / 12, -1.0 / 120, 1.0 / 252, -1.0 / 240, 1.0 / 132, -691.0 / 32760, 1.0 / 12)


@jit()
def digamma(x: float) -> float:
    """psi(x) for x > 0, to about 1e-15 relative: recurrence up to x >= 10,
    then the asymptotic series."""
    shift = 0.0
    while x < 10.0:
        shift -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    series = 0.0
    power = inv2
    for c in _PSI_COEFFS:
        series += c * power
        power *= inv2
    return shift + math.log(x) - 0.5 / x - series


# Asymptotic trigamma series: psi1(x) ~ 1/x + 1/(2x^2) + sum B_2k / x^(2k+1)
_PSI1_COEFFS = (1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66, -691.0 / 2730, 7.0 / 6)


@jit()
def trigamma(x: float) -> float:
    """psi'(x) for x > 0, to about 1e-15 relative, the same way as digamma."""
    shift = 0.0
    while x < 10.0:
        shift += 1.0 / (x * x)
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = 0.0
    power = inv2 * inv
    for c in _PSI1_COEFFS:
        series += c * power
        power *= inv2
    return shift + inv + 0.5 * inv2 + series


@jit()
def betaln(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


@jit()
def hyp2f1_minus_one(a: float, b: float, c: float, z: float) -> float:
    """2F1(a, b; c; z) - 1 by its power series, for 0 <= z < 1 and c > 0.

    Returned minus one so callers keep full relative precision near z = 0.
    The kernels only call it with small |a|, |b| (parameter-level
    numbers after Euler's transformation) so the terms shrink from the start and
    roughly like n^(a+b-c-1) z^n later on."""
    term = 1.0
    total = 0.0
    n = 0.0
    while n < 100000.0:
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z
        total += term
        if term == 0.0 or abs(term) < 1e-17 * abs(1.0 + total):
            break
        n += 1.0
    return total

