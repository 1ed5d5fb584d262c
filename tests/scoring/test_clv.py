"""CLV: lifetimes' discounted sum, and finite for every valid customer."""

import warnings

import numpy as np
import pandas as pd
import pytest

from scoring import customer_lifetime_value, fit_bgnbd, fit_gamma_gamma


@pytest.fixture(scope="module")
def fits(cdnow):
    return (fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"]),
            fit_gamma_gamma(cdnow["frequency"], cdnow["monetary_value"]))


@pytest.mark.parametrize(("months", "rate", "freq", "per_month"), [(12, 0.01, "W", 4.345), (3, 0.0, "W", 4.345),
                                                                    (24, 0.02, "D", 30.0)])
def test_same_clv_as_lifetimes(cdnow, fits, months, rate, freq, per_month):
    lifetimes = pytest.importorskip("lifetimes")
    x, t_x, T, m = (cdnow[c] for c in ("frequency", "recency", "T", "monetary_value"))
    bgnbd, gamma_gamma = fits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = lifetimes.BetaGeoFitter().fit(x, t_x, T)
        gg = lifetimes.GammaGammaFitter().fit(x[x > 0], m[x > 0])
        theirs = gg.customer_lifetime_value(bg, pd.Series(x), pd.Series(t_x), pd.Series(T), pd.Series(m),
                                            time=months, discount_rate=rate, freq=freq).to_numpy()
    ours = customer_lifetime_value(bgnbd, gamma_gamma, x, t_x, T, m, months, rate, 1.0, per_month)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_margin_scales_and_horizon_accumulates(cdnow, fits):
    args = [cdnow[c] for c in ("frequency", "recency", "T", "monetary_value")]
    one = customer_lifetime_value(*fits, *args, horizon_months=12)
    np.testing.assert_allclose(customer_lifetime_value(*fits, *args, horizon_months=12, margin=0.3), 0.3 * one)
    longer = customer_lifetime_value(*fits, *args, horizon_months=24)
    assert (longer >= one).all() and (longer > one).any()
    assert (customer_lifetime_value(*fits, *args, horizon_months=0) == 0).all()


def test_finite_for_edge_customers(fits):
    # one purchase only; zero-value purchases; everything on one day; thousands of purchases over decades
    x = np.array([0.0, 3.0, 0.0, 4000.0])
    t_x = np.array([0.0, 10.0, 0.0, 1500.0])
    T = np.array([30.0, 40.0, 0.0, 1560.0])
    m = np.array([0.0, 0.0, 0.0, 25.0])
    clv = customer_lifetime_value(*fits, x, t_x, T, m, horizon_months=120, periods_per_month=4.345)
    assert np.isfinite(clv).all() and (clv >= 0).all()


def test_bad_arguments_are_refused(fits):
    with pytest.raises(ValueError, match="horizon"):
        customer_lifetime_value(*fits, [1.0], [1.0], [2.0], [5.0], horizon_months=-1)
    with pytest.raises(ValueError, match="discount"):
        customer_lifetime_value(*fits, [1.0], [1.0], [2.0], [5.0], monthly_discount_rate=1.5)


def test_finite_when_the_fit_lands_on_the_edge_of_the_parameter_space():
    """A handful of customers can drive a and b towards infinity (no spread in
    dropout); predictions must still be numbers, and continuous with the limit."""
    x = np.array([2.0, 0.0, 1.0, 1.0, 1.0])
    t_x = np.array([61.0, 0.0, 32.0, 31.0, 31.0])
    T = np.array([161.0, 156.0, 144.0, 114.0, 84.0])
    m = np.array([1000.0, 0.0, 1000.0, 1000.0, 1000.0])
    bgnbd = fit_bgnbd(x, t_x, T)
    assert bgnbd.a > 1e5 and bgnbd.b > 1e5
    clv = customer_lifetime_value(bgnbd, fit_gamma_gamma(x, m), x, t_x, T, m)
    assert np.isfinite(clv).all() and (clv > 0).all()
    from scoring.bgnbd import expected_if_alive
    near_limit = [expected_if_alive(1.7, 100.0, 0.686 * k, 0.314 * k, 0.0, 156.0, 90.0) for k in (1e3, 1e8)]
    assert near_limit[0] == pytest.approx(near_limit[1], rel=1e-3)
