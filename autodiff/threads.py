"""Run per-image work on every core: worker threads, with OpenBLAS at one thread meanwhile.

Why: a convolution's matrix products are skinny (O x C*KH*KW times C*KH*KW x pixels), and
OpenBLAS splits such a product across threads poorly. Giving each core chunks of whole
images (its own im2col, one-thread products, its own col2im) keeps a chunk's buffers in
the caches and every product on one core. Measured on a 2-core VM, conv layer
forward + backward, x (32,16,32,32), w (32,16,3,3), interleaved medians: 19-21 ms for
the whole batch at once (2-thread products, parallel numba kernels), 12.2-12.3 ms split
into chunks of three images over two threads (``autodiff.ops.conv.SPLIT_CHUNK``).
OpenBLAS's own idle workers must not spin meanwhile (``kernels.runtime.tune``).

``run_split(work, count)`` calls ``work(0) ... work(count - 1)`` on ``worker_count()``
threads (the caller is one of them), taking indices in order from a shared counter so a
core slowed by another process does less of the work. While it runs, OpenBLAS is set to
one thread (process-wide: a BLAS call from another thread of the program at that moment
also runs on one thread), and restored afterwards. Work functions run without the GIL
only inside numpy and ``nogil`` numba kernels, so they must be array code: kernel calls
and products on slices of the batch, with little Python in between.

The split is available when numpy's BLAS is an OpenBLAS whose thread count can be set
(numpy's own wheels; found through ``ctypes``), there are two or more threads to use,
and the process was tuned (``SEEGRAD_TUNE`` is not ``0``). Otherwise callers keep to
their whole-batch route.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .kernels import runtime

__all__ = ["available", "run_split", "worker_count"]

_state: dict[str, Any] = {}
_lock = threading.Lock()  # one split at a time: the BLAS setting is process-wide
_inside = threading.local()


def worker_count() -> int:
    """How many threads a split uses: numba's thread count (``NUMBA_NUM_THREADS``).

    Example:
        >>> from autodiff import threads
        >>> threads.worker_count() >= 1
        True
    """
    from numba import config  # numba's setting, read without starting its thread pool

    return max(1, int(config.NUMBA_NUM_THREADS))


def available() -> bool:
    """True when ``run_split`` would use more than one thread.

    Example:
        >>> from autodiff import threads
        >>> isinstance(threads.available(), bool)
        True
    """
    if getattr(_inside, "active", False):
        return False  # a work function that splits again runs its part on its own thread
    if os.environ.get("SEEGRAD_TUNE", "1") == "0" or worker_count() < 2:
        return False
    return runtime.openblas() is not None


def _pool() -> ThreadPoolExecutor:
    pool = _state.get("pool")
    if pool is None:
        pool = ThreadPoolExecutor(worker_count() - 1, thread_name_prefix="seegrad-split")
        _state["pool"] = pool
    return pool


def _after_fork_in_child() -> None:
    # The child has the pool object but not its threads, and a lock that a thread of the
    # parent may have held at the fork: start both afresh.
    global _lock
    _state.pop("pool", None)
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def run_split(work: Callable[[int], None], count: int) -> None:
    """Call ``work(i)`` for every i in range(count), spread over the worker threads.

    Runs in the calling thread alone when ``available()`` is False or count < 2. A call
    that raises stops its thread; the other threads finish the remaining calls, and
    then the exception is re-raised here (the calling thread's own first).

    Example:
        >>> from autodiff import threads
        >>> squares = [0] * 5
        >>> def work(i):
        ...     squares[i] = i * i
        >>> threads.run_split(work, 5)
        >>> squares
        [0, 1, 4, 9, 16]
    """
    if count < 2 or not available():
        for i in range(count):
            work(i)
        return
    indices = itertools.count()  # next() on it is atomic under the GIL

    def drain() -> None:
        _inside.active = True
        try:
            for i in indices:
                if i >= count:
                    break
                work(i)
        finally:
            _inside.active = False

    blas = runtime.openblas()  # None only when a test forces the split without OpenBLAS
    with _lock:
        previous = blas.get_num_threads() if blas else None
        if blas:
            blas.set_num_threads(1)
        try:
            helpers = [_pool().submit(drain) for _ in range(min(worker_count(), count) - 1)]
            try:
                drain()
            finally:
                for helper in helpers:
                    helper.exception()  # wait for every helper before re-raising
            for helper in helpers:
                helper.result()
        finally:
            if blas:
                blas.set_num_threads(previous)
