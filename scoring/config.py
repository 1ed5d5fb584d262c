"""Numba flags for every kernel, in one place.

`cache=True` keeps compiled kernels on disk (``__pycache__``) so only the first
call on a machine pays for compilation; `nogil` lets the API call kernels from a
thread without blocking the event loop. No `fastmath`: the likelihoods rely on
IEEE behaviour of inf and NaN, and reassociation would break the 1e-9
agreement with the reference formulas.
"""

from __future__ import annotations

import os
from pathlib import Path

import numba

SERIAL = {"cache": True, "nogil": True}
PARALLEL = {"cache": True, "nogil": True, "parallel": True}


def jit(**flags):
    return numba.njit(**{**SERIAL, **flags})


def jit_parallel(**flags):
    return numba.njit(**{**PARALLEL, **flags})


def compiled_on_disk() -> bool:
    """Whether the kernels' compiled code is cached on this machine already
    (`cache=True` writes an index file per kernel next to its module, or under
    NUMBA_CACHE_DIR)."""
    place = os.environ.get("NUMBA_CACHE_DIR")
    where = Path(place) if place else Path(__file__).parent / "__pycache__"
    return any(where.rglob("*.nbi"))
