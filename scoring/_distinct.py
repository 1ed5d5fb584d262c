"""Distinct values and each element's index among them."""

from __future__ import annotations

import numpy as np


def distinct_index(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distinct, index = np.unique(values, return_inverse=True)
    return distinct, index.ravel()


def distinct_pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, T) pairs, as (x values, T values, each element's pair index)."""
    distinct_T, T_index = distinct_index(T)
    pairs, pair_index = distinct_index(x.astype(np.int64) * distinct_T.size + T_index)
    return (pairs // distinct_T.size).astype(np.float64), distinct_T[pairs % distinct_T.size], pair_index
