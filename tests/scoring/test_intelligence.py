"""Loyalty, personas, lifecycle, traits, percentiles and clusters on hand-made customers."""

import numpy as np
import pytest

from scoring import clusters, lifecycle, loyalty, personas, traits
from scoring.percentiles import percentile, quantile_table


def test_loyalty_contributions_add_up_and_missing_surveys_do_not_count_against():
    result = loyalty.loyalty_index(repeat_ratio=[0.9, 0.9, 0.0], tenure_pct=[0.8, 0.8, 0.1],
                                   frequency_pct=[0.9, 0.9, 0.1], recency_pct=[0.1, 0.1, 0.9], p_alive=[0.95, 0.95, 0.1],
                                   referrals=[3, 3, 0], survey_mean=[np.nan, 10.0, 2.0])
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.index)
    assert ((result.index >= 0) & (result.index <= 100)).all()
    satisfaction = loyalty.FACTORS.index("satisfaction")
    assert result.contributions[0, satisfaction] == 0
    assert result.index[1] > result.index[0] > result.index[2]
    assert result.index[0] > 75  # no survey, yet loyal by everything else


def test_the_four_customer_types():
    # a loyal referrer, a big spender with 40 support hours, the very top spender,
    # a low spender who keeps asking for discounts and complaining, and an ordinary customer
    value_pct = [0.90, 0.92, 0.995, 0.20, 0.50]
    cost_pct = [0.20, 0.97, 0.40, 0.60, 0.50]
    referrals = [4, 0, 0, 0, 0]
    survey = [np.nan, 6.0, np.nan, 3.0, 8.0]
    friction = [0, 2, 0, 9, 1]
    purchases = [12, 15, 20, 4, 5]
    types = personas.customer_types(value_pct, cost_pct, referrals, survey, friction, purchases)
    names = [personas.TYPES[t] for t in types]
    assert names == ["tribe", "vampire", "snow_leopard", "churner", "standard"]


def test_type_rules_are_configurable():
    strict = personas.PersonaRules(advocate_referrals=10, advocate_survey=11.0)
    types = personas.customer_types([0.9], [0.1], [4], [10.0], [0], [5], strict)
    assert personas.TYPES[types[0]] == "standard"


@pytest.mark.parametrize(("periods", "silent", "interval", "alive", "engaged", "loyalty_index", "stage"), [
    (0, np.inf, 30, 1.0, False, 0, "lead"),
    (0, np.inf, 30, 1.0, True, 0, "prospect"),
    (1, 10, 30, 1.0, True, 20, "new"),
    (3, 20, 30, 0.9, True, 40, "active"),
    (12, 15, 20, 0.97, True, 80, "loyal"),
    (12, 15, 20, 0.97, True, 40, "active"),
    (5, 70, 30, 0.7, True, 50, "at_risk"),
    (5, 20, 30, 0.5, True, 50, "at_risk"),
    (5, 130, 30, 0.7, True, 50, "inactive"),
    (5, 400, 30, 0.7, True, 50, "lost"),
    (5, 20, 30, 0.05, True, 50, "lost"),
    (1, 200, 30, 1.0, True, 20, "inactive"),
])
def test_lifecycle_rules(periods, silent, interval, alive, engaged, loyalty_index, stage):
    code = lifecycle.lifecycle_stages([periods], [silent], [interval], [alive], [engaged], [loyalty_index])[0]
    assert lifecycle.STAGES[code] == stage


def test_inferred_traits_with_their_thresholds():
    masks = traits.inferred_traits(
        purchases=[10, 10, 1, 0, 10, 1],
        discounted_purchases=[6, 1, 0, 0, 0, 0],
        discount_requests=[0, 4, 0, 0, 0, 0],
        complaints_and_returns=[0, 0, 2, 0, 2, 0],
        enquiries_before_first=[0, 0, 0, 5, 0, 1],
        days_to_first_purchase=[1, 1, 1, np.nan, 1, 90])
    assert [traits.trait_names(m) for m in masks] == [
        ["bargainer"], ["bargainer"], ["fault_finder"], ["hesitant"], [], ["hesitant"]]


def test_percentiles_from_a_quantile_table():
    table = quantile_table(np.arange(1, 101, dtype=float))
    got = percentile([0.0, 1.0, 50.5, 100.0, 1000.0], table)
    assert got[0] == 0.0 and got[-1] == 1.0 and got[-2] == 1.0
    assert got[2] == pytest.approx(0.5, abs=0.01)
    tied = quantile_table(np.array([5.0] * 90 + [9.0] * 10))
    assert percentile([5.0], tied)[0] == pytest.approx(0.45, abs=0.01)  # the middle of the tied run


def test_kmeans_finds_separated_groups_and_is_seeded():
    rng = np.random.default_rng(0)
    blobs = [rng.normal(centre, 0.3, size=(300, 2)) for centre in ([0, 0], [10, 0], [0, 10])]
    x = np.vstack(blobs)
    first = clusters.kmeans(x, ["a", "b"], 3, np.random.default_rng(5))
    again = clusters.kmeans(x, ["a", "b"], 3, np.random.default_rng(5))
    np.testing.assert_array_equal(first.labels, again.labels)
    for block in range(3):
        labels = first.labels[block * 300:(block + 1) * 300]
        assert (labels == labels[0]).all()
    assert sorted(p.size for p in first.profiles) == [300, 300, 300]
    np.testing.assert_array_equal(first.assign(x[:5]), first.labels[:5])
    centre = first.profiles[first.labels[0]].centre
    assert centre["a"] == pytest.approx(0, abs=0.1) and centre["b"] == pytest.approx(0, abs=0.1)


def test_a_refit_from_the_last_centres_keeps_the_cluster_numbers():
    """Refitted on slightly changed data and seeded differently, k-means started
    from the previous centres gives every unchanged group its old number."""
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(centre, 0.5, size=(400, 2)) for centre in ([0, 0], [8, 0], [0, 8], [8, 8])])
    first = clusters.kmeans(x, ["a", "b"], 4, np.random.default_rng(2))
    changed = np.vstack([x, rng.normal([8, 8], 0.5, size=(40, 2))])
    previous = first.centres * first.std + first.mean  # back to original units
    renumbered = [clusters.kmeans(changed, ["a", "b"], 4, np.random.default_rng(seed)).labels[:x.shape[0]]
                  for seed in range(3, 13)]
    assert any((labels != first.labels).any() for labels in renumbered)  # seeded afresh, numbers move
    for seed in range(3, 13):
        kept = clusters.kmeans(changed, ["a", "b"], 4, np.random.default_rng(seed), initial=previous)
        np.testing.assert_array_equal(kept.labels[:x.shape[0]], first.labels)


def test_lookalikes_rank_the_similar_first():
    z = np.array([[1.0, 1.0], [1.1, 0.9], [-1.0, -1.0], [0.9, 1.2]])
    scores = clusters.similarity(z, z[:2].mean(axis=0))
    assert scores[3] > 0.95 and scores[2] < 0.05
