"""Workspace percentiles through stored quantile tables.

A full rescoring records, for each quantity ranked within the workspace, its
values at the 0th, 1st, ..., 100th percentiles. Every percentile - in the full
run and when one customer is rescored later with nothing else read - is then
read off that table the same way, so both give the same answer for the same
customer.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from scoring.config import jit_parallel

PROBABILITIES = np.linspace(0.0, 1.0, 101)


def quantile_table(values: np.ndarray) -> np.ndarray:
    """The 101 percentile points of `values` (all zeros when there are none)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return np.zeros(PROBABILITIES.size)
    return np.quantile(values, PROBABILITIES)


@jit_parallel()
def _lookup(values, table, probabilities):
    out = np.empty(values.size)
    last = table.size - 1
    for i in prange(values.size):
        v = values[i]
        lo = np.searchsorted(table, v, side="left")
        hi = np.searchsorted(table, v, side="right")
        if hi > lo:  # v is a table point (perhaps repeated): the middle of its run
            out[i] = 0.5 * (probabilities[lo] + probabilities[hi - 1])
        elif lo == 0:
            out[i] = 0.0
        elif lo > last:
            out[i] = 1.0
        else:
            span = table[lo] - table[lo - 1]
            out[i] = probabilities[lo - 1] + (v - table[lo - 1]) / span * (probabilities[lo] - probabilities[lo - 1])
    return out


def percentile(values, table: np.ndarray) -> np.ndarray:
    """Where each value stands in the workspace, 0..1 (ties share the middle of their run)."""
    return _lookup(np.ascontiguousarray(values, dtype=np.float64), np.asarray(table, dtype=np.float64),
                   PROBABILITIES)
