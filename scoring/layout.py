"""The purchase layout every kernel reads.

Purchases are grouped by customer in a compressed (CSR-like) layout:

- ``offsets``: int64, length n_customers + 1; customer ``i``'s purchases are
  ``offsets[i]:offsets[i + 1]`` of the flat arrays (a customer with no
  purchase has an empty range);
- ``times``: float64, one per purchase, sorted ascending within a customer, in
  any time unit (the pipeline uses days since the Unix epoch, UTC);
- ``amounts``: float64, one per purchase;
- ``end``: the observation end time, in the same unit (no purchase after it).

`group_purchases` builds it from unsorted (customer, time, amount) arrays with a
counting sort by customer (linear) and a sort of each customer's few times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import prange

from scoring._validation import as_float_array, as_index_array
from scoring.config import jit, jit_parallel


@dataclass(frozen=True)
class PurchaseLayout:
    offsets: np.ndarray
    times: np.ndarray
    amounts: np.ndarray
    end: float

    @property
    def n_customers(self) -> int:
        return self.offsets.size - 1

    @property
    def n_purchases(self) -> int:
        return self.times.size


@jit()
def _counting_sort(customer, times, amounts, n_customers):
    counts = np.zeros(n_customers + 1, dtype=np.int64)
    for c in customer:
        counts[c + 1] += 1
    offsets = np.cumsum(counts)
    cursor = offsets[:-1].copy()
    sorted_times = np.empty(times.size)
    sorted_amounts = np.empty(amounts.size)
    for k in range(customer.size):
        slot = cursor[customer[k]]
        sorted_times[slot] = times[k]
        sorted_amounts[slot] = amounts[k]
        cursor[customer[k]] += 1
    return offsets, sorted_times, sorted_amounts


@jit_parallel()
def _sort_within_customers(offsets, times, amounts):
    for i in prange(offsets.size - 1):
        lo, hi = offsets[i], offsets[i + 1]
        if hi - lo < 2:
            continue
        # already sorted is the common case (data usually arrives in time order)
        ordered = True
        for k in range(lo + 1, hi):
            if times[k] < times[k - 1]:
                ordered = False
                break
        if ordered:
            continue
        order = np.argsort(times[lo:hi], kind="mergesort")
        t = times[lo:hi][order]
        m = amounts[lo:hi][order]
        times[lo:hi] = t
        amounts[lo:hi] = m


def group_purchases(customer, times, amounts, end: float, n_customers: int | None = None) -> PurchaseLayout:
    """The layout from unsorted purchases. ``customer`` holds indices
    0..n_customers-1; customers without purchases get empty ranges."""
    customer = as_index_array("customer", customer)
    times = as_float_array("times", times, size=customer.size)
    amounts = as_float_array("amounts", amounts, size=customer.size)
    n = int(customer.max()) + 1 if n_customers is None and customer.size else (n_customers or 0)
    if customer.size and customer.max() >= n:
        raise ValueError(f"customer index {customer.max()} out of range for {n} customers")
    if times.size and times.max() > end:
        raise ValueError("a purchase time is after the observation end")
    offsets, sorted_times, sorted_amounts = _counting_sort(customer, times, amounts, n)
    _sort_within_customers(offsets, sorted_times, sorted_amounts)
    return PurchaseLayout(offsets, sorted_times, sorted_amounts, float(end))
