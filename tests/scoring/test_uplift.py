"""The uplift maths against published values and independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from scoring.uplift import bca_mean_difference, minimum_detectable_effect, newcombe_difference, wilson

# (x1, n1, x2, n2) -> (difference, low, high): the values, from Newcombe (1998), table II
PUBLISHED = [((56, 70, 48, 80), (0.2000, 0.0524, 0.3339)),
             ((9, 10, 3, 10), (0.6000, 0.1705, 0.8090)),
             ((5, 56, 0, 29), (0.0893, -0.0381, 0.1926))]


@pytest.mark.parametrize(("counts", "expected"), PUBLISHED)
def test_newcombe_interval_matches_the_published_values(counts, expected):
    found = newcombe_difference(*counts)
    assert (round(found.estimate, 4), round(found.low, 4), round(found.high, 4)) == expected


@pytest.mark.parametrize("counts", [(56, 70, 48, 80), (9, 10, 3, 10), (5, 56, 0, 29), (0, 40, 0, 40),
                                    (40, 40, 1, 40), (130, 1800, 9, 200), (1, 3, 2, 7)])
def test_newcombe_interval_agrees_with_statsmodels(counts):
    x1, n1, x2, n2 = counts
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    found = newcombe_difference(*counts)
    assert found.low == pytest.approx(low, abs=1e-12) and found.high == pytest.approx(high, abs=1e-12)


def test_wilson_interval_of_nothing_is_everything_and_bad_counts_are_refused():
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_minimum_detectable_effect_shrinks_with_the_arms_and_needs_a_baseline():
    small, large = minimum_detectable_effect(900, 100, 0.1), minimum_detectable_effect(9000, 1000, 0.1)
    assert small == pytest.approx(0.0885, abs=1e-4)  # 2.8016 * sqrt(0.09 * (1/900 + 1/100))
    assert large == pytest.approx(small / np.sqrt(10))
    assert minimum_detectable_effect(100, 0, 0.1) is None and minimum_detectable_effect(100, 100, 0.0) is None


def _arm(rng, n, share, scale):
    spends = np.zeros(n)
    spenders = rng.random(n) < share
    spends[spenders] = rng.gamma(2.0, scale, spenders.sum())
    return spends


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bca_interval_agrees_with_scipys_bootstrap(seed):
    rng = np.random.default_rng(seed)
    treated, held = _arm(rng, 400, 0.3, 50.0), _arm(rng, 150, 0.2, 50.0)
    found = bca_mean_difference(treated[treated > 0], treated.size, held[held > 0], held.size, draws=4000)
    reference = stats.bootstrap((treated, held), lambda a, b, axis=-1: a.mean(axis=axis) - b.mean(axis=axis),
                                method="BCa", n_resamples=4000, random_state=seed, vectorized=True).confidence_interval
    assert found.estimate == pytest.approx(treated.mean() - held.mean())
    width = reference.high - reference.low
    # two bootstraps of 4000 draws each: their edges differ by Monte Carlo noise only
    assert abs(found.low - reference.low) < 0.08 * width and abs(found.high - reference.high) < 0.08 * width


def test_bca_interval_is_repeatable_and_degenerate_arms_give_a_point():
    spends = np.array([10.0, 20.0, 35.0])
    assert bca_mean_difference(spends, 30, spends, 40) == bca_mean_difference(spends, 30, spends, 40)
    assert bca_mean_difference(np.array([]), 30, np.array([]), 20).low == 0.0
    with pytest.raises(ValueError):
        bca_mean_difference(spends, 2, spends, 40)
