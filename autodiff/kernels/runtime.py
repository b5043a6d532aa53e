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

A fourth setting serves ``autodiff.threads``, which splits a convolution's batch over
the cores and runs OpenBLAS at one thread meanwhile: after each multi-threaded product
OpenBLAS's idle workers spin for 2**28 cycles (about 0.1 s) before they sleep, and a
spinning worker takes a core from those threads. ``tune()`` makes them sleep after 2**20
cycles (``OPENBLAS_THREAD_TIMEOUT=20``, applied by re-reading the environment and
restarting OpenBLAS's pool), long enough to span the gaps between the products of an MLP
step. Interleaved medians in one process, ms (thread timeout 2**4 / 2**20 / 2**28):

    conv layer forward + backward (split)     12.8 / 12.4 / 20.1
    CNN training step (layer 2 split)          13.0 / 13.5 / 16.4
    MLP training step (no split)                2.84 / 2.53 / 2.42

(A later MLP A/B gave 2.42 ms at 2**20 and 2.62 at 2**28: the MLP's difference is
within the noise. The conv layer no longer runs a 2-thread product at all: its bias
gradient moved into the split.)

``tune()`` runs when ``autodiff`` is imported. The settings are process-wide; set
``SEEGRAD_TUNE=0`` in the environment to leave the process as it is. An explicit
``NUMBA_THREADING_LAYER`` is always respected.
"""

from __future__ import annotations

import ctypes
import glob
import os
import types
from typing import Any, NamedTuple

import numpy as np
from numba import njit

__all__ = ["tune", "TUNED", "serial_twin", "openblas", "OpenBLAS", "gemm"]

#: what ``tune()`` changed, for benchmark reports
TUNED: list[str] = []

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


class OpenBLAS(NamedTuple):
    """Thread controls of the OpenBLAS that numpy uses (process-wide settings).

    ``openblas()`` returns one (or None for another BLAS); the two functions are raw
    ``ctypes`` calls.

    Example (run OpenBLAS on one thread for a while, then restore it):
        >>> from autodiff.kernels import runtime
        >>> runtime.OpenBLAS._fields
        ('library', 'set_num_threads', 'get_num_threads')
        >>> blas = runtime.openblas()
        >>> if blas is not None:
        ...     before = blas.get_num_threads()
        ...     blas.set_num_threads(1)
        ...     assert blas.get_num_threads() == 1
        ...     blas.set_num_threads(before)
    """

    library: Any
    set_num_threads: Any
    get_num_threads: Any


# (setter, getter) symbol names: numpy's own wheels first, then plain OpenBLAS builds.
_OPENBLAS_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)
_found: dict[str, Any] = {}  # "blas" -> OpenBLAS | None; a dtype name -> its gemm | None


def _openblas_paths() -> list[str]:
    """Paths of the OpenBLAS libraries numpy may have loaded."""
    paths = []
    try:  # Linux: whatever is mapped into the process
        with open("/proc/self/maps") as maps:
            paths = [line.split()[-1] for line in maps if "openblas" in line.lower()]
    except OSError:
        pass
    root = os.path.dirname(np.__file__)
    for folder in (root + ".libs", os.path.join(root, ".dylibs")):
        for pattern in ("*openblas*.so*", "*openblas*.dylib", "*openblas*.dll"):
            paths += glob.glob(os.path.join(folder, pattern))
    return list(dict.fromkeys(p for p in paths if os.path.isfile(p)))


def openblas() -> OpenBLAS | None:
    """numpy's OpenBLAS, found through ``ctypes``; None for another BLAS (MKL, Accelerate).

    Example:
        >>> from autodiff.kernels import runtime
        >>> blas = runtime.openblas()
        >>> blas is None or blas.get_num_threads() >= 1
        True
    """
    if "blas" not in _found:
        _found["blas"] = None
        for path in _openblas_paths():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for setter, getter in _OPENBLAS_SYMBOLS:
                if hasattr(lib, setter) and hasattr(lib, getter):
                    get, put = getattr(lib, getter), getattr(lib, setter)
                    get.restype = ctypes.c_int
                    put.argtypes, put.restype = [ctypes.c_int], None  # void f(int)
                    _found["blas"] = OpenBLAS(lib, put, get)
                    return _found["blas"]
    return _found["blas"]


# cblas_?gemm of an OpenBLAS built with 64-bit integers (numpy's own wheels), by dtype.
_GEMM_SYMBOLS = {
    "float32": (("scipy_cblas_sgemm64_", "cblas_sgemm64_"), ctypes.c_float),
    "float64": (("scipy_cblas_dgemm64_", "cblas_dgemm64_"), ctypes.c_double),
}


def gemm(dtype: Any) -> Any:
    """numpy's OpenBLAS ``cblas_sgemm`` (float32) or ``cblas_dgemm`` (float64) as a ctypes
    function numba kernels can call, or None (another BLAS, 32-bit integers, other dtypes).

    The arguments are those of CBLAS: ``(layout, trans_a, trans_b, m, n, k, alpha, a, lda,
    b, ldb, beta, c, ldc)``, with the matrices as addresses (``array.ctypes.data``).

    Example:
        >>> import numpy as np
        >>> from autodiff.kernels import runtime
        >>> f = runtime.gemm(np.float32)
        >>> a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
        >>> c = np.empty((2, 4), np.float32)
        >>> if f is not None:
        ...     f(101, 111, 111, 2, 4, 3, 1.0, a.ctypes.data, 3, b.ctypes.data, 4, 0.0,
        ...       c.ctypes.data, 4)
        ...     assert (c == 3).all()
    """
    if not np.dtype(dtype).isnative:
        return None  # '>f4' is also called float32, but BLAS takes the machine's order
    name = np.dtype(dtype).name
    if name not in _found:
        _found[name] = None
        blas = openblas()
        symbols, real = _GEMM_SYMBOLS.get(name, ((), None))
        for symbol in symbols:
            if blas is not None and hasattr(blas.library, symbol):
                f = getattr(blas.library, symbol)
                # CBLAS's three enums (layout, transposes) are C ints; sizes are 64-bit
                e, i, p = ctypes.c_int, ctypes.c_int64, ctypes.c_void_p
                f.argtypes = [e, e, e, i, i, i, real, p, i, p, i, real, p, i]
                f.restype = None
                _found[name] = f
                break
    return _found[name]


def _quiet_openblas_workers() -> bool:
    """OPENBLAS_THREAD_TIMEOUT=20 in a running OpenBLAS (see the module notes)."""
    blas = openblas()
    if blas is None or "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return False  # an explicit setting is the user's
    lib = blas.library
    if not (hasattr(lib, "openblas_read_env") and hasattr(lib, "blas_thread_shutdown_")):
        return False
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = "20"
    try:
        lib.openblas_read_env()
    finally:
        del os.environ["OPENBLAS_THREAD_TIMEOUT"]  # child processes keep their defaults
    lib.blas_thread_shutdown_()  # the pool restarts at the next product, with the new timeout
    return True


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
    if _quiet_openblas_workers():
        TUNED.append("OpenBLAS: idle workers sleep after 2**20 cycles")
    return TUNED


def serial_twin(kernel: Any) -> Any:
    """``kernel`` (a ``parallel=True`` numba function) compiled without ``parallel``.

    Its ``prange`` loops run as plain loops on the calling thread, so a call does not pay
    the thread pool's start (above). For memory-bound kernels on mid-sized problems that
    is the faster choice; the caller picks by problem size. The twin releases the GIL
    (``nogil``), so threads that each take part of a batch (``autodiff.threads``) run
    their twins at the same time; numba's own thread pool must not be entered from
    two threads at once, so such threads call only twins. The twin is a copy of the
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
    return njit(cache=True, nogil=True, **options)(twin)
