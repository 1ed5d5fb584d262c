"""BG/NBD: likelihood and gradient against the paper's formula, the paper's
CDNOW estimates, lifetimes, parameter recovery and numerical stability."""

import warnings

import numpy as np
import pytest

from scoring import (
    BgNbdParams,
    GammaGammaParams,
    expected_purchases,
    expected_purchases_new_customer,
    fit_bgnbd,
    probability_alive,
    simulate,
)
from scoring.bgnbd import BgNbdFit, log_likelihood
from tests.scoring import naive


def _random_customers(rng, n):
    T = rng.uniform(0.5, 200.0, n)
    x = rng.integers(0, 60, n).astype(float)
    t_x = np.where(x > 0, rng.uniform(0.01, 1.0, n) * T, 0.0)
    return x, t_x, T


@pytest.mark.parametrize("seed", range(5))
def test_log_likelihood_equals_the_papers_formula(seed):
    rng = np.random.default_rng(seed)
    x, t_x, T = _random_customers(rng, 2000)
    params = rng.uniform([0.05, 0.5, 0.1, 0.3], [5.0, 50.0, 5.0, 20.0])
    ours = log_likelihood(params, x, t_x, T)[0]
    reference = naive.bgnbd_loglik(*params, x, t_x, T).sum()
    assert ours == pytest.approx(reference, rel=1e-9)


def test_gradient_and_hessian_match_finite_differences():
    rng = np.random.default_rng(1)
    x, t_x, T = _random_customers(rng, 500)
    params = np.array([0.7, 6.0, 0.9, 3.0])
    _, gradient, hessian = log_likelihood(params, x, t_x, T)
    for j in range(4):
        h = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        above, below = log_likelihood(up, x, t_x, T), log_likelihood(down, x, t_x, T)
        assert gradient[j] == pytest.approx((above[0] - below[0]) / (2 * h), rel=1e-6)
        np.testing.assert_allclose(hessian[:, j], (above[1] - below[1]) / (2 * h), rtol=1e-5, atol=1e-6)


def test_params_out_is_close_to_Hardie_paper(cdnow):
    fit = fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert fit.converged
    # Fader, Hardie & Lee (2005), p. 280: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    assert (fit.r, fit.alpha, fit.a, fit.b) == pytest.approx((0.243, 4.414, 0.793, 2.426), abs=1e-3)
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)


@pytest.mark.parametrize("penalizer", [0.0, 0.1])
def test_same_results_as_lifetimes(cdnow, penalizer):
    lifetimes = pytest.importorskip("lifetimes")
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lifetimes.BetaGeoFitter(penalizer_coef=penalizer).fit(x, t_x, T)
        their_alive = theirs.conditional_probability_alive(x, t_x, T)
        their_expected = theirs.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T)
        their_new = theirs.expected_number_of_purchases_up_to_time(np.array([1.0, 13.0, 52.0]))
    ours = fit_bgnbd(x, t_x, T, penalizer=penalizer)
    np.testing.assert_allclose(ours.params, theirs.params_[["r", "alpha", "a", "b"]].to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(probability_alive(ours, x, t_x, T), their_alive, rtol=1e-4)
    np.testing.assert_allclose(expected_purchases(ours, 39.0, x, t_x, T), their_expected, rtol=1e-4)
    np.testing.assert_allclose(expected_purchases_new_customer(ours, [1.0, 13.0, 52.0]), their_new, rtol=1e-4)
    if penalizer == 0.0:
        their_errors = theirs.standard_errors_[["r", "alpha", "a", "b"]].to_numpy()
        np.testing.assert_allclose(list(ours.standard_errors.values()), their_errors, rtol=1e-2)


def test_expected_purchases_match_scipys_hypergeometric():
    rng = np.random.default_rng(2)
    x, t_x, T = _random_customers(rng, 300)
    fit = BgNbdFit(r=0.8, alpha=5.0, a=0.6, b=3.0, log_likelihood=0.0, converged=True, iterations=0,
                   n_customers=0)
    for t in (1.0, 30.0, 400.0):
        reference = naive.bgnbd_expected(*fit.params, t, x, t_x, T)
        np.testing.assert_allclose(expected_purchases(fit, t, x, t_x, T), reference, rtol=1e-9)


def test_parameters_are_recovered_from_simulated_customers():
    """100,000 customers simulated in continuous time with known parameters.

    Each estimate must lie within 4 of its standard errors from the truth: for
    a correct estimator each check fails by chance with probability 6e-5 (the
    seed is fixed, so the outcome is deterministic anyway), while a biased
    likelihood or simulator lands many standard errors away at this size."""
    truth = BgNbdParams(r=1.2, alpha=4.0, a=0.5, b=6.0)
    rng = np.random.default_rng(2024)
    sim = simulate(rng.uniform(0, 104, 100_000), truth, GammaGammaParams(6.0, 4.0, 2.5e6), rng)
    x = np.bincount(sim.customer) - 1.0
    t_x = np.zeros(x.size)
    np.maximum.at(t_x, sim.customer, sim.time)
    fit = fit_bgnbd(x, t_x, sim.T)
    assert fit.converged
    for name in ("r", "alpha", "a", "b"):
        error = abs(getattr(fit, name) - getattr(truth, name)) / fit.standard_errors[name]
        assert error < 4, f"{name}: {getattr(fit, name):.4f} is {error:.1f} standard errors from the truth"


def test_no_overflow_or_nan_at_the_extremes():
    # thousands of purchases, decades of history, one purchase only, all on one day
    x = np.array([0.0, 0.0, 5000.0, 3000.0, 1.0, 2.0])
    t_x = np.array([0.0, 0.0, 3600.0, 1.0, 1e-9, 3650.0 * 3])
    T = np.array([0.0, 3650.0 * 3, 3650.0, 3650.0 * 3, 1e-9, 3650.0 * 3])
    fit = BgNbdFit(r=0.25, alpha=4.4, a=0.8, b=2.4, log_likelihood=0.0, converged=True, iterations=0,
                   n_customers=0)
    ll, gradient, hessian = log_likelihood(fit.params, x, t_x, T)
    assert np.isfinite(ll) and np.isfinite(gradient).all() and np.isfinite(hessian).all()
    alive = probability_alive(fit, x, t_x, T)
    expected = expected_purchases(fit, 365.0, x, t_x, T)
    assert np.isfinite(alive).all() and ((alive >= 0) & (alive <= 1)).all()
    assert np.isfinite(expected).all() and (expected >= 0).all()
    assert alive[0] == 1.0 and alive[3] < 1e-6  # 3000 purchases, none for 30 years


def test_fit_refuses_impossible_summaries():
    with pytest.raises(ValueError, match="recency"):
        fit_bgnbd([1, 2], [5.0, 1.0], [4.0, 3.0])
    with pytest.raises(ValueError, match="whole numbers"):
        fit_bgnbd([1.5], [1.0], [2.0])


def test_warm_start_converges_to_the_same_optimum_faster(cdnow):
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    cold = fit_bgnbd(x, t_x, T)
    warm = fit_bgnbd(x, t_x, T, initial=cold)
    np.testing.assert_allclose(warm.params, cold.params, rtol=1e-6)
    assert warm.iterations < cold.iterations
