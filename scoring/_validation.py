"""Input checks for the public wrappers: the kernels trust their arrays."""

from __future__ import annotations

import numpy as np


def as_float_array(name: str, values, size: int | None = None, *, finite: bool = True) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if size is not None and array.size != size:
        raise ValueError(f"{name} has {array.size} values, expected {size}")
    if finite and not np.isfinite(array).all():
        raise ValueError(f"{name} has NaN or infinite values")
    return array


def as_index_array(name: str, values) -> np.ndarray:
    array = np.ascontiguousarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers")
    array = array.astype(np.int64, copy=False)
    if array.size and array.min() < 0:
        raise ValueError(f"{name} has negative values")
    return array


def check_rft(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BTYD summary arrays: integer frequency >= 0, 0 <= recency <= T."""
    x = as_float_array("frequency", frequency)
    t_x = as_float_array("recency", recency, size=x.size)
    T = as_float_array("T", T, size=x.size)
    if (x < 0).any() or (x != np.floor(x)).any():
        raise ValueError("frequency must be whole numbers >= 0")
    if (t_x < 0).any() or (t_x > T * (1 + 1e-12)).any():
        raise ValueError("recency must lie between 0 and T")
    if ((x > 0) & (t_x <= 0)).any():
        raise ValueError("a customer with repeat purchases has recency > 0")
    return x, t_x, T


def check_positive(name: str, value: float) -> float:
    value = float(value)
    if not value > 0 or not np.isfinite(value):
        raise ValueError(f"{name} must be a positive number")
    return value
