"""RFM summary against a plain-Python reference and lifetimes; scores and segments."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import RFM_SEGMENTS, group_purchases, rfm_scores, rfm_summary
from scoring.rfm import SEGMENT_GRID
from tests.scoring import naive

purchases = st.lists(
    st.tuples(st.integers(0, 7), st.integers(0, 400).map(lambda h: h / 8.0),  # several per day, duplicates
              st.sampled_from([0.0, 1.0, 2.5, 100.0, 1e9])),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(purchases, st.sampled_from([(1.0, 1.0), (1.0, 7.0), (7.0, 7.0), (0.5, 1.0)]))
def test_summary_matches_the_reference(rows, period_unit):
    period, unit = period_unit
    n = 8
    end = 60.0
    customer = np.array([c for c, _, _ in rows], dtype=np.int64)
    times = np.array([t for _, t, _ in rows])
    amounts = np.array([m for _, _, m in rows])
    order = np.random.default_rng(len(rows)).permutation(len(rows))  # unsorted input
    layout = group_purchases(customer[order], times[order], amounts[order], end, n_customers=n)
    got = rfm_summary(layout, period, unit)
    expected = naive.rfm_summary(customer, times, amounts, end, period, unit, n)
    for i, (x, t_x, T, m, count, spend) in enumerate(expected):
        assert got.frequency[i] == x
        assert got.recency[i] == pytest.approx(t_x)
        assert got.T[i] == pytest.approx(T)
        assert got.monetary[i] == pytest.approx(m, rel=1e-12)
        assert got.purchase_count[i] == count
        assert got.total_spend[i] == pytest.approx(spend, rel=1e-12)


def test_summary_equals_lifetimes_on_daily_data():
    pd = pytest.importorskip("pandas")
    utils = pytest.importorskip("lifetimes.utils")
    rng = np.random.default_rng(5)
    n, k = 300, 3000
    customer = rng.integers(0, n, k)
    day = rng.integers(0, 365, k)
    seconds = rng.integers(0, 86400, k)
    amount = rng.gamma(2.0, 50.0, k).round(2)
    stamps = pd.Timestamp("2025-01-01") + pd.to_timedelta(day, "D") + pd.to_timedelta(seconds, "s")
    frame = pd.DataFrame({"id": customer, "date": stamps, "amount": amount})
    end = pd.Timestamp("2026-01-10")
    theirs = utils.summary_data_from_transaction_data(frame, "id", "date", "amount", observation_period_end=end,
                                                      freq="D", freq_multiplier=7).sort_index()
    epoch_days = (stamps - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    layout = group_purchases(customer, np.asarray(epoch_days), amount,
                             (end - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1), n_customers=n)
    ours = rfm_summary(layout, period=1.0, unit=7.0)
    ids = theirs.index.to_numpy()
    np.testing.assert_array_equal(ours.frequency[ids], theirs["frequency"].to_numpy())
    np.testing.assert_allclose(ours.recency[ids], theirs["recency"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.T[ids], theirs["T"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.monetary[ids], theirs["monetary_value"].to_numpy(), rtol=1e-12)


def test_layout_sorts_and_leaves_gaps_for_customers_without_purchases():
    layout = group_purchases([2, 0, 2, 2], [5.0, 1.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], end=10.0, n_customers=4)
    np.testing.assert_array_equal(layout.offsets, [0, 1, 1, 4, 4])
    np.testing.assert_array_equal(layout.times, [1.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(layout.amounts, [2.0, 3.0, 4.0, 1.0])
    summary = rfm_summary(layout)
    assert summary.purchase_count.tolist() == [1, 0, 3, 0]
    assert np.isnan(summary.first_purchase[1]) and summary.T[1] == 0


@pytest.mark.parametrize(("customer", "times", "end", "message"), [
    ([0, -1], [1.0, 2.0], 5.0, "negative"),
    ([0, 1], [1.0, 9.0], 5.0, "after the observation end"),
    ([0, 1], [1.0, np.nan], 5.0, "NaN"),
])
def test_layout_refuses_bad_input(customer, times, end, message):
    with pytest.raises(ValueError, match=message):
        group_purchases(customer, times, [1.0, 1.0], end)


def test_scores_are_quintiles_with_ties_scored_alike():
    days = np.arange(100, dtype=float)
    scores = rfm_scores(days, np.ones(100), np.arange(100.0))
    assert np.bincount(scores.r, minlength=6)[1:].tolist() == [20] * 5
    assert scores.r[0] == 5 and scores.r[-1] == 1  # recent is good
    assert set(scores.f.tolist()) == {3}  # all tied: the middle score
    shuffled = np.random.default_rng(1).permutation(100)
    again = rfm_scores(days[shuffled], np.ones(100), np.arange(100.0)[shuffled])
    np.testing.assert_array_equal(again.m, scores.m[shuffled])


def test_tiny_workspaces_score_deterministically():
    one = rfm_scores([3.0], [2.0], [10.0])
    assert (one.r[0], one.f[0], one.m[0]) == (3, 3, 3)
    two = rfm_scores([1.0, 30.0], [5.0, 1.0], [900.0, 10.0])
    assert two.r.tolist() == [4, 2] and two.f.tolist() == [4, 2]
    assert rfm_scores([], [], []).r.size == 0


def test_segment_grid_names_every_segment_and_reads_as_documented():
    assert {RFM_SEGMENTS[i] for i in SEGMENT_GRID.ravel()} == set(RFM_SEGMENTS)
    # five customers with distinct values score exactly 1..5 by rank
    days = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # customer 0 bought most recently
    best = rfm_scores(days, days, days)
    assert best.r.tolist() == [5, 4, 3, 2, 1] and best.f.tolist() == [1, 2, 3, 4, 5]
    assert best.segment_names().tolist() == ["new_customers", "potential_loyalists", "need_attention", "at_risk",
                                             "cant_lose_them"]
    aligned = rfm_scores(days, 6 - days, 6 - days)
    assert aligned.segment_names().tolist() == ["champions", "loyal_customers", "need_attention", "hibernating",
                                                "lost"]
