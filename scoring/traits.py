"""Behaviour traits inferred from the record, with the evidence kept:

- BARGAINER: at least half of their purchases discounted (two purchases or
  more), or three discount requests or more;
- FAULT_FINDER: two complaints and returns or more, at least 0.3 per purchase;
- HESITANT: three enquiries or more before their first purchase, or 60 days
  or more from first contact to first purchase.

Staff-set traits are kept apart (customers.staff_traits) and win where shown.
"""

from __future__ import annotations

import numpy as np

TRAITS = ("bargainer", "fault_finder", "hesitant")
BARGAINER, FAULT_FINDER, HESITANT = 1, 2, 4  # bits


def inferred_traits(purchases, discounted_purchases, discount_requests, complaints_and_returns,
                    enquiries_before_first, days_to_first_purchase) -> np.ndarray:
    """Bit masks (BARGAINER | FAULT_FINDER | HESITANT) as int8."""
    purchases = np.asarray(purchases, dtype=np.float64)
    share = np.asarray(discounted_purchases) / np.maximum(purchases, 1.0)
    bargainer = ((purchases >= 2) & (share >= 0.5)) | (np.asarray(discount_requests) >= 3)
    friction = np.asarray(complaints_and_returns, dtype=np.float64)
    fault_finder = (friction >= 2) & (friction >= 0.3 * np.maximum(purchases, 1.0))
    hesitant = (np.asarray(enquiries_before_first) >= 3) | (np.nan_to_num(days_to_first_purchase) >= 60)
    return (bargainer * BARGAINER + fault_finder * FAULT_FINDER + hesitant * HESITANT).astype(np.int8)


def trait_names(mask: int) -> list[str]:
    return [name for bit, name in zip((BARGAINER, FAULT_FINDER, HESITANT), TRAITS) if mask & bit]
