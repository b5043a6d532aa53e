"""Process settings the kernels need to run at speed on small machines.

Measured on a 2-core VM (conv layer forward+backward, x (32,16,32,32), w (32,16,3,3)):
58 ms with numba's default threading layer, 51 ms with only the allocator settings,
30 ms with all three settings below:

* numba's ``workqueue`` threading layer: its workers sleep after a parallel region,
  while OpenMP workers spin and take the cores away from the BLAS matrix products
  that follow every im2col;
* glibc malloc keeps freed blocks up to 32 MB in the heap (``M_MMAP_THRESHOLD``) and
  does not hand memory back eagerly (``M_TRIM_THRESHOLD``): a convolution allocates
  multi-megabyte buffers every step, and first-touch page faults on fresh mappings
  cost more than the im2col kernel itself;
* numpy stops asking for transparent huge pages, whose page faults cost ~4x more.

The price of ``workqueue``: each call of a parallel kernel costs about 150 us to start
(measured with a trivial kernel; OpenMP with spinning workers: 2 us, with sleeping ones
(``OMP_WAIT_POLICY=PASSIVE``): about 100 us). Since the conv and pooling kernels became
vectorised copies that run near memory speed, that start is a large part of a
mid-sized call, so those kernels have serial twins (``serial_twin`` below) that the
ops pick below a measured problem size (``autodiff.ops.conv.SERIAL_PROBLEM``).

``tune()`` runs when ``autodiff`` is imported. The settings are process-wide; set
``SEEGRAD_TUNE=0`` in the environment to leave the process as it is. An explicit
``NUMBA_THREADING_LAYER`` is always respected.
"""

from __future__ import annotations

import ctypes
import os
import types
from typing import Any

import numpy as np
from numba import njit

__all__ = ["tune", "TUNED", "serial_twin"]

#: what ``tune()`` changed, for benchmark reports
TUNED: list[str] = []

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune() -> list[str]:
    """Apply the settings above (once); returns a description of what was set.

    Example:
        >>> from autodiff.kernels import runtime
        >>> isinstance(runtime.tune(), list)
        True
    """
    if TUNED or os.environ.get("SEEGRAD_TUNE", "1") == "0":
        return TUNED
    if "NUMBA_THREADING_LAYER" not in os.environ:
        import numba

        numba.config.THREADING_LAYER = "workqueue"
        TUNED.append("numba threading layer: workqueue")
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
        libc.mallopt(_M_TRIM_THRESHOLD, 2**30)
        TUNED.append("malloc: mmap threshold 32 MB, trim threshold 1 GB")
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune
    set_hugepage = getattr(getattr(np, "_core", np).multiarray, "_set_madvise_hugepage", None)
    if set_hugepage is not None:
        set_hugepage(False)
        TUNED.append("numpy: no transparent huge pages")
    return TUNED


def serial_twin(kernel: Any) -> Any:
    """``kernel`` (a ``parallel=True`` numba function) compiled without ``parallel``.

    Its ``prange`` loops run as plain loops on the calling thread, so a call does not pay
    the thread pool's start (above). For memory-bound kernels on mid-sized problems that
    is the faster choice; the caller picks by problem size. The twin is a copy of the
    Python function under its own name, so the two never share a cache file.

    Example:
        >>> from autodiff.kernels.conv import im2col
        >>> serial_twin(im2col).py_func.__name__
        'im2col_serial'
    """
    f = kernel.py_func
    twin = types.FunctionType(
        f.__code__, f.__globals__, f.__name__ + "_serial", f.__defaults__, f.__closure__
    )
    twin.__qualname__ = f.__qualname__ + "_serial"
    twin.__doc__ = f.__doc__
    options = {k: v for k, v in kernel.targetoptions.items() if k not in ("parallel", "nopython")}
    return njit(cache=True, **options)(twin)
