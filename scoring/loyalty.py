"""Loyalty index 0-100 with the contribution of each factor.

Behavioural loyalty (they keep buying) and attitudinal loyalty (they like you),
each factor scaled to 0..1 and weighted:

    factor          scaled as                                     weight
    repeat_ratio    repeat purchase periods / all purchase periods  0.15
    tenure          workspace percentile of T                       0.10
    frequency       workspace percentile of purchase periods        0.15
    recency         1 - workspace percentile of days since last     0.15
    alive           BG/NBD probability alive                        0.15
    referrals       1 - exp(-referrals / 2)                         0.15
    satisfaction    mean survey score / 10                          0.15

A customer who never answered a survey is not marked down for it: the
satisfaction weight is shared out over the other factors. The index is the
weighted mean times 100; the contributions (in index points) add up to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FACTORS = ("repeat_ratio", "tenure", "frequency", "recency", "alive", "referrals", "satisfaction")
WEIGHTS = np.array([0.15, 0.10, 0.15, 0.15, 0.15, 0.15, 0.15])


@dataclass(frozen=True)
class Loyalty:
    index: np.ndarray  # 0..100
    contributions: np.ndarray  # (n, len(FACTORS)) index points, summing to index


def loyalty_index(repeat_ratio, tenure_pct, frequency_pct, recency_pct, p_alive, referrals, survey_mean,
                  weights: np.ndarray = WEIGHTS) -> Loyalty:
    survey = np.asarray(survey_mean, dtype=np.float64)
    scaled = np.column_stack([
        np.clip(repeat_ratio, 0.0, 1.0),
        tenure_pct,
        frequency_pct,
        1.0 - np.asarray(recency_pct, dtype=np.float64),
        np.clip(p_alive, 0.0, 1.0),
        -np.expm1(-np.asarray(referrals, dtype=np.float64) / 2.0),
        np.where(np.isnan(survey), 0.0, np.clip(survey / 10.0, 0.0, 1.0)),
    ])
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), scaled.shape).copy()
    w[np.isnan(survey), FACTORS.index("satisfaction")] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    contributions = 100.0 * w * scaled
    return Loyalty(contributions.sum(axis=1), contributions)
