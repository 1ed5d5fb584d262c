"""Lifecycle stage from purchases, probability alive and the customer's own
rhythm. ``interval`` is the customer's typical time between purchases
(recency / repeat purchases), or the workspace's median interval for customers
with a single purchase. Rules, first match wins:

    no purchase            PROSPECT if they have been in touch (interactions), else LEAD
    LOST                   P(alive) < 0.10, or silent for more than max(365 days, 6 intervals)
    INACTIVE               P(alive) < 0.30, or silent for more than 4 intervals
    AT_RISK                P(alive) < 0.60, or silent for more than 2 intervals
    NEW                    a single purchase period (no repeat yet)
    LOYAL                  at least 4 purchase periods and a loyalty index of 60 or more
    ACTIVE                 everyone else
"""

from __future__ import annotations

import numpy as np

STAGES = ("lead", "prospect", "new", "active", "loyal", "at_risk", "inactive", "lost")
LEAD, PROSPECT, NEW, ACTIVE, LOYAL, AT_RISK, INACTIVE, LOST = range(8)


def lifecycle_stages(purchase_periods, days_since_last, interval_days, p_alive, engaged, loyalty) -> np.ndarray:
    """int8 codes into STAGES."""
    periods = np.asarray(purchase_periods)
    silent = np.asarray(days_since_last, dtype=np.float64)
    interval = np.maximum(np.asarray(interval_days, dtype=np.float64), 1.0)
    alive = np.asarray(p_alive, dtype=np.float64)
    bought = periods > 0
    return np.select(
        [~bought & np.asarray(engaged, dtype=bool), ~bought,
         (alive < 0.10) | (silent > np.maximum(365.0, 6 * interval)),
         (alive < 0.30) | (silent > 4 * interval),
         (alive < 0.60) | (silent > 2 * interval),
         periods == 1,
         (periods >= 4) & (np.asarray(loyalty) >= 60.0)],
        [PROSPECT, LEAD, LOST, INACTIVE, AT_RISK, NEW, LOYAL], ACTIVE).astype(np.int8)
