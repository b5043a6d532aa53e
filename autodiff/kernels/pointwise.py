"""Pointwise kernels: ReLU forward and backward in one pass each.

numpy's ``maximum(x, 0)`` on float32 runs at a fifth of memory speed here, and
``gy * (x > 0)`` makes two passes and a mask. These serial loops run at copy speed
(interleaved A/B on a (64,16,28,28) float32 array: forward 0.52 -> 0.10 ms, backward
0.34 -> 0.15 ms; at 1024 elements they still save 1-2 us per call). They are serial on
purpose: starting numba's parallel region costs more than the whole loop.

Results equal the numpy expressions bit for bit: NaN passes through and -0.0 becomes +0.0
in the forward; the backward is the product gy * (x > 0), so it gives -0.0 for a negative
gy and NaN for an infinite one where x <= 0, as the recorded (differentiable) backward does.
"""

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def relu_forward(x):
    """max(x, 0) of a C-contiguous array, NaN propagating (as ``np.maximum(x, 0)``)."""
    y = np.empty_like(x)
    src, dst = x.ravel(), y.ravel()
    for i in range(src.size):
        v = src[i]
        dst[i] = v if (v > 0) | (v != v) else 0
    return y


@njit(cache=True, error_model="numpy")
def relu_backward(gy, x):
    """``gy * (x > 0)`` for C-contiguous gy and x of one shape, in one pass."""
    gx = np.empty_like(gy)
    g, src, dst = gy.ravel(), x.ravel(), gx.ravel()
    for i in range(src.size):
        dst[i] = g[i] * (src[i] > 0)
    return gx
