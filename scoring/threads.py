"""How many threads the parallel kernels use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba


@contextmanager
def single_threaded() -> Iterator[None]:
    """Kernels called in this block run in the calling thread only. For one
    customer, waking the thread pool cost more than the work, and OpenMP's
    workers then spun for milliseconds after each call: a server recording
    purchases lost most of a core to them. The setting is the calling
    thread's own, and is restored on the way out."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)
