"""Numba flags for every kernel, in one place.

`cache=True` keeps compiled kernels on disk (``__pycache__``) so only the first
call on a machine pays for compilation; `nogil` lets the API call kernels from a
thread without blocking the event loop. No `fastmath`: the likelihoods rely on
IEEE behaviour of inf and NaN, and reassociation would break the 1e-9
agreement with the reference formulas.
"""

from __future__ import annotations

import numba

SERIAL = {"cache": True, "nogil": True}
PARALLEL = {"cache": True, "nogil": True, "parallel": True}


def jit(**flags):
    return numba.njit(**{**SERIAL, **flags})


def jit_parallel(**flags):
    return numba.njit(**{**PARALLEL, **flags})
