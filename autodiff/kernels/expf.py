"""``exp`` for numba kernels that LLVM can vectorise in float32.

numba lowers ``np.exp`` on a scalar to a libm call per element, and numpy's own
float32 ``exp`` runs at about 2.6 ns per element on the project's VM (no AVX-512).
``exp`` below is the Cephes ``expf`` algorithm (range reduction to |r| <= ln2/2, a
degree-7 polynomial, the power of two put in through the exponent bits), written
with no calls and no branches so the loops that use it vectorise: about 0.8 ns per
element, within one ulp of the exact result (tests/test_kernels.py checks it).

float64 arguments go to ``np.exp`` unchanged: float64 is for gradient checks, where
the last bit matters more than speed.

numba's on-disk cache is keyed on the file of the kernel that calls ``exp``, not on this
one: after editing this file, delete ``autodiff/kernels/__pycache__`` so its callers
recompile.

Edge cases in float32: NaN gives NaN, +inf and x > 88.72 give inf, x <= -88 gives 0
(results below the smallest normal float32, 1.2e-38, may be flushed to 0).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = ["exp"]


@intrinsic
def _int32_bits_as_float32(typingctx, bits):
    """Reinterpret an int32 as the float32 with the same bits (no conversion)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


def exp(x):
    """exp(x) on a float32 or float64 scalar, for use inside ``@njit`` kernels.

    Example (float32 in a kernel gets the vectorisable ``expf``; plain Python gets ``np.exp``):
        >>> import numpy as np
        >>> from numba import njit
        >>> from autodiff.kernels.expf import exp
        >>> @njit
        ... def exps(x):
        ...     out = np.empty_like(x)
        ...     for k in range(x.size):
        ...         out[k] = exp(x[k])
        ...     return out
        >>> y = exps(np.array([0.0, 1.0, -100.0, 100.0], np.float32))
        >>> y.dtype, [round(float(v), 5) for v in y]
        (dtype('float32'), [1.0, 2.71828, 0.0, inf])
        >>> float(exp(1.0)) == float(np.exp(1.0))
        True
    """
    return np.exp(x)


@overload(exp, inline="always")
def _exp_overload(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return _exp_float32
    return lambda x: np.exp(x)


# Clamps that keep 2^n representable through its bits: n = floor(x log2(e) + 1/2) stays in
# [-127, 128]. Below -88, 2^-127 has exponent bits 0 and the result is 0; above 88.72
# (log of the largest float32) the final product overflows to inf, as it should.
LOWEST = np.float32(-88.0)
HIGHEST = np.float32(89.0)


def _exp_float32(x):
    # min/max rather than comparisons: a NaN passes through both (Python semantics), and
    # no branch is left for numba to build, so the caller's loop vectorises.
    y = min(max(x, LOWEST), HIGHEST)
    n = np.floor(y * np.float32(1.44269504088896341) + np.float32(0.5))
    # ln 2 split in two so n * ln2 is exact in float32
    r = y - n * np.float32(0.693359375) + n * np.float32(2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + np.float32(1)
    # 2^n from its exponent bits; 2^128 has none, so n = 128 is taken as 2^127 * 2
    k = np.int32(n)
    top = np.int32(k > np.int32(127))
    two_k = _int32_bits_as_float32((k - top + np.int32(127)) << np.int32(23))
    return p * two_k * np.float32(1 + top)


@njit(cache=True, error_model="numpy")
def exp_array(x, out):
    """``out[...] = exp(x)`` elementwise (C-contiguous arrays of one shape); for tests.

    Example:
        >>> import numpy as np
        >>> out = np.empty(2, np.float32)
        >>> exp_array(np.array([0.0, 1.0], np.float32), out)
        >>> [round(float(v), 5) for v in out]
        [1.0, 2.71828]
    """
    xf, of = x.ravel(), out.ravel()
    for k in range(xf.size):
        of[k] = exp(xf[k])
