"""Gamma-Gamma: likelihood and gradient against the formula, the CDNOW
estimates, lifetimes, parameter recovery and the independence check."""

import warnings

import numpy as np
import pytest

from scoring import GammaGammaFit, expected_average_value, fit_gamma_gamma
from scoring.gamma_gamma import log_likelihood
from tests.scoring import naive


def _customers(rng, n):
    return rng.integers(1, 200, n).astype(float), rng.gamma(2.0, 40.0, n) + 0.01


@pytest.mark.parametrize("seed", range(5))
def test_log_likelihood_equals_the_formula(seed):
    rng = np.random.default_rng(seed)
    x, m = _customers(rng, 2000)
    params = rng.uniform([0.5, 0.5, 0.5], [20.0, 20.0, 500.0])
    assert log_likelihood(params, x, m)[0] == pytest.approx(naive.gamma_gamma_loglik(*params, x, m).sum(), rel=1e-9)


def test_gradient_and_hessian_match_finite_differences():
    x, m = _customers(np.random.default_rng(3), 500)
    params = np.array([4.0, 3.0, 20.0])
    _, gradient, hessian = log_likelihood(params, x, m)
    for j in range(3):
        h = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        above, below = log_likelihood(up, x, m), log_likelihood(down, x, m)
        assert gradient[j] == pytest.approx((above[0] - below[0]) / (2 * h), rel=1e-6)
        np.testing.assert_allclose(hessian[:, j], (above[1] - below[1]) / (2 * h), rtol=1e-5, atol=1e-6)


def test_params_out_is_close_to_Hardie_note(cdnow):
    fit = fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"])
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": p = 6.25, q = 3.74, v = 15.44
    assert (fit.p, fit.q, fit.v) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    assert fit.n_customers == 946 and fit.converged
    assert not fit.independence_doubtful  # CDNOW: correlation about 0.11


@pytest.mark.parametrize("penalizer", [0.0, 0.01])
def test_same_results_as_lifetimes(cdnow, penalizer):
    lifetimes = pytest.importorskip("lifetimes")
    x, m = cdnow["frequency"], cdnow["monetary_value"]
    repeat = x > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lifetimes.GammaGammaFitter(penalizer_coef=penalizer).fit(x[repeat], m[repeat])
        their_value = theirs.conditional_expected_average_profit(x, m)
    ours = fit_gamma_gamma(x, m, penalizer=penalizer)
    np.testing.assert_allclose(ours.params, theirs.params_[["p", "q", "v"]].to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(expected_average_value(ours, x, m), their_value, rtol=1e-4)


def test_parameters_are_recovered_from_simulated_spend():
    """Within 4 standard errors (see the BG/NBD recovery test for why 4)."""
    rng = np.random.default_rng(99)
    p, q, v = 6.0, 4.0, 2.5e6
    n = 100_000
    x = rng.integers(1, 30, n)
    nu = rng.gamma(q, 1.0 / v, n)
    spend = rng.gamma(p * x, 1.0 / nu)  # sum of x Gamma(p, nu) transactions
    fit = fit_gamma_gamma(x, spend / x)
    for name, truth in (("p", p), ("q", q), ("v", v)):
        error = abs(getattr(fit, name) - truth) / fit.standard_errors[name]
        assert error < 4, f"{name}: {getattr(fit, name):.4g} is {error:.1f} standard errors from {truth}"


def test_dependence_between_frequency_and_spend_is_reported():
    rng = np.random.default_rng(4)
    x = rng.integers(1, 50, 5000).astype(float)
    m = x * 10 + rng.gamma(2.0, 1.0, 5000)  # spend grows with frequency
    fit = fit_gamma_gamma(x, m)
    assert fit.frequency_monetary_correlation > 0.9 and fit.independence_doubtful


def test_customers_without_repeat_or_with_zero_spend_get_the_population_mean():
    fit = GammaGammaFit(p=6.0, q=4.0, v=15.0, log_likelihood=0.0, converged=True, iterations=0, n_customers=0,
                        frequency_monetary_correlation=0.0)
    values = expected_average_value(fit, [0.0, 3.0, 3.0], [0.0, 0.0, 50.0])
    assert values[0] == pytest.approx(fit.population_mean)
    assert np.isfinite(values).all() and values[1] < values[0] < values[2]
