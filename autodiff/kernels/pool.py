"""Max and average 2-D pooling kernels (NCHW).

Layouts: x and gx are (N, C, H, W); y, gy and ggy are (N, C, OH, OW) with
OH = (H + 2*ph - kh)//sh + 1 (floor mode, no dilation), OW likewise. Arrays are C-contiguous
float32 or float64 and every output has the input's dtype.

Max pooling
    Padding counts as -inf, so it never wins. NaN propagates: a window containing NaN
    has max NaN, and the NaN elements are the ones that "equal" it.
    Ties: when k elements of a window equal its max, each receives gy/k (the subgradient
    that keeps the gradient of a symmetric input symmetric). Overlapping windows accumulate.
    max_pool2d_backward is linear in gy for fixed (x, y); max_pool2d_gather is its adjoint,
    ggy[w] = sum over argmax elements e of w of ggx[e] / k, which is what double backward
    needs for the gradient w.r.t. gy.

Average pooling
    Zero padding counts in the divisor, which is always kh*kw (PyTorch's
    count_include_pad=True). avg_pool2d_backward is the exact adjoint of the forward.

All kernels parallelise over the N*C planes: each task owns its output plane, so
accumulation from overlapping windows needs no atomics. Arguments are assumed validated
by the caller (OH, OW >= 1, strides >= 1, paddings >= 0); no configuration of that kind
indexes out of bounds.
"""

import numpy as np
from numba import njit, prange

from .runtime import serial_twin


@njit(cache=True, inline="always")
def pool_out_size(size, k, stride, pad):
    """Output length of a pooling axis: (size + 2*pad - k)//stride + 1."""
    return (size + 2 * pad - k) // stride + 1


@njit(cache=True, inline="always")
def _is_max(v, m):
    # NaN never compares equal, but a NaN max must route its gradient to the NaN inputs.
    return v == m or (v != v and m != m)


@njit(cache=True, inline="always")
def _window(o, stride, pad, k, size):
    """Clip window [o*stride - pad, o*stride - pad + k) to [0, size)."""
    start = o * stride - pad
    stop = start + k
    if start < 0:
        start = 0
    if stop > size:
        stop = size
    return start, stop


@njit(cache=True, parallel=True)
def max_pool2d_forward(x, kh, kw, sh, sw, ph, pw):
    """y[n, c, oh, ow] = max of the (kh, kw) window of x; padding is -inf."""
    n, c, h, w = x.shape
    oh = pool_out_size(h, kh, sh, ph)
    ow = pool_out_size(w, kw, sw, pw)
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    if _is_2x2(kh, kw, ph, pw):
        _max_2x2_forward(x, y, sh, sw)
        return y
    for p in prange(n * c):
        src = x[p // c, p % c]
        dst = y[p // c, p % c]
        for yo in range(oh):
            h0, h1 = _window(yo, sh, ph, kh, h)
            for xo in range(ow):
                w0, w1 = _window(xo, sw, pw, kw, w)
                m = -np.inf
                for hi in range(h0, h1):
                    for wi in range(w0, w1):
                        v = src[hi, wi]
                        # v != v lets a NaN win; once m is NaN nothing compares greater.
                        if v > m or v != v:
                            m = v
                dst[yo, xo] = m
    return y


@njit(cache=True, parallel=True)
def max_pool2d_backward(gy, x, y, kh, kw, sh, sw, ph, pw):
    """gx (shape of x): each window's gy split evenly among the elements equal to its max."""
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    if _is_2x2(kh, kw, ph, pw) and sh == 2 and sw == 2:
        gx = np.empty(x.shape, dtype=gy.dtype)
        _max_2x2_tiled_backward(gy, x, y, gx)
        return gx
    gx = np.zeros(x.shape, dtype=gy.dtype)
    if _is_2x2(kh, kw, ph, pw):
        _max_2x2_backward(gy, x, y, gx, sh, sw)
        return gx
    for p in prange(n * c):
        b = p // c
        ci = p % c
        src = x[b, ci]
        dst = gx[b, ci]
        for yo in range(oh):
            h0, h1 = _window(yo, sh, ph, kh, h)
            for xo in range(ow):
                w0, w1 = _window(xo, sw, pw, kw, w)
                m = y[b, ci, yo, xo]
                count = 0
                for hi in range(h0, h1):
                    for wi in range(w0, w1):
                        if _is_max(src[hi, wi], m):
                            count += 1
                if count == 0:
                    continue
                share = gy[b, ci, yo, xo] / count
                for hi in range(h0, h1):
                    for wi in range(w0, w1):
                        if _is_max(src[hi, wi], m):
                            dst[hi, wi] += share
    return gx


@njit(cache=True, parallel=True)
def max_pool2d_gather(ggx, x, y, kh, kw, sh, sw, ph, pw):
    """ggy (shape of y), the adjoint of max_pool2d_backward in gy:
    ggy[window] = sum of ggx over the window's max elements / their count."""
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    ggy = np.empty(y.shape, dtype=ggx.dtype)
    if _is_2x2(kh, kw, ph, pw):
        _max_2x2_gather(ggx, x, y, ggy, sh, sw)
        return ggy
    for p in prange(n * c):
        b = p // c
        ci = p % c
        src = x[b, ci]
        g = ggx[b, ci]
        for yo in range(oh):
            h0, h1 = _window(yo, sh, ph, kh, h)
            for xo in range(ow):
                w0, w1 = _window(xo, sw, pw, kw, w)
                m = y[b, ci, yo, xo]
                count = 0
                acc = 0.0
                for hi in range(h0, h1):
                    for wi in range(w0, w1):
                        if _is_max(src[hi, wi], m):
                            count += 1
                            acc += g[hi, wi]
                ggy[b, ci, yo, xo] = acc / count if count > 0 else 0.0
    return ggy


# ------------------------------------------------------------------ 2x2 windows
# The 2x2 window without padding is most CNNs' pooling layer. With the window size a
# compile-time constant, the four taps are straight-line code without loop control or
# clipping: 3-5x faster than the general loops, whose two-iteration inner loops cost more
# than their work (measured on (64,16,28,28) float32: 0.7 vs 3.3 ms forward).
# They are inlined into the kernels above, so their prange loops are the caller's: parallel
# in the kernels, plain loops in the serial twins.


@njit(cache=True, inline="always")
def _is_2x2(kh, kw, ph, pw):
    return kh == 2 and kw == 2 and ph == 0 and pw == 0


@njit(cache=True, inline="always")
def _max4(a, b, c, d):
    """Max of four values, NaN if any is NaN; branch-free (random data defeats predictors)."""
    m = a if a > b else b
    m2 = c if c > d else d
    m = m if m > m2 else m2
    nan = (a != a) | (b != b) | (c != c) | (d != d)
    return np.nan if nan else m


@njit(cache=True, inline="always")
def _max_2x2_forward(x, y, sh, sw):
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    for p in prange(n * c):
        src = x[p // c, p % c]
        dst = y[p // c, p % c]
        for yo in range(oh):
            r0 = src[yo * sh]
            r1 = src[yo * sh + 1]
            for xo in range(ow):
                j = xo * sw
                dst[yo, xo] = _max4(r0[j], r0[j + 1], r1[j], r1[j + 1])


@njit(cache=True, inline="always")
def _hits(r0, r1, j, m):
    """Which of the window's four elements (rows r0, r1, columns j, j+1) equal its max m.

    A NaN max is matched by the NaN elements. That case is rare, so one well-predicted
    branch per window beats NaN tests on every element (backward on (64,16,28,28)
    float32, serial: 1.08 -> 0.72 ms).
    """
    a, b, c, d = r0[j], r0[j + 1], r1[j], r1[j + 1]
    if m == m:
        return a == m, b == m, c == m, d == m
    return a != a, b != b, c != c, d != d


@njit(cache=True, inline="always")
def _shares(dtype):
    """1/count for count = 0..4 tied maxima in a 2x2 window (0: no max, NaN-free window).

    A table lookup and a multiply instead of a division per window: about 1.2x faster on
    the benchmark CNN's pooling layers (backward 1.26 -> 1.02 and 0.75 -> 0.61 ms).
    For three-way ties g * (1/3) may differ from g / 3 in the last bit; every other
    count is exact.
    """
    inv = np.empty(5, dtype=dtype)
    inv[0] = 1
    inv[1] = 1
    inv[2] = 0.5
    inv[3] = 1 / 3
    inv[4] = 0.25
    return inv


@njit(cache=True, inline="always")
def _max_2x2_backward(gy, x, y, gx, sh, sw):
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    inv = _shares(gy.dtype)
    for p in prange(n * c):
        b = p // c
        ci = p % c
        src = x[b, ci]
        dst = gx[b, ci]
        for yo in range(oh):
            r0, r1 = src[yo * sh], src[yo * sh + 1]
            d0, d1 = dst[yo * sh], dst[yo * sh + 1]
            for xo in range(ow):
                j = xo * sw
                m = y[b, ci, yo, xo]
                h00, h01, h10, h11 = _hits(r0, r1, j, m)
                share = gy[b, ci, yo, xo] * inv[h00 + h01 + h10 + h11]
                d0[j] += share * h00
                d0[j + 1] += share * h01
                d1[j] += share * h10
                d1[j + 1] += share * h11


@njit(cache=True, inline="always")
def _max_2x2_tiled_backward(gy, x, y, gx):
    """Stride 2: the windows tile x, so every element of gx is written exactly once
    (no zero-fill and no read-modify-write: ~1.5x faster); a last odd row or column
    belongs to no window and gets 0."""
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    inv = _shares(gy.dtype)
    for p in prange(n * c):
        b = p // c
        ci = p % c
        src = x[b, ci]
        dst = gx[b, ci]
        for yo in range(oh):
            r0, r1 = src[2 * yo], src[2 * yo + 1]
            d0, d1 = dst[2 * yo], dst[2 * yo + 1]
            for xo in range(ow):
                j = 2 * xo
                m = y[b, ci, yo, xo]
                h00, h01, h10, h11 = _hits(r0, r1, j, m)
                share = gy[b, ci, yo, xo] * inv[h00 + h01 + h10 + h11]
                d0[j] = share * h00
                d0[j + 1] = share * h01
                d1[j] = share * h10
                d1[j + 1] = share * h11
            for j in range(2 * ow, w):
                d0[j] = 0
                d1[j] = 0
        for r in range(2 * oh, h):
            dst[r, :] = 0


@njit(cache=True, inline="always")
def _max_2x2_gather(ggx, x, y, ggy, sh, sw):
    n, c, h, w = x.shape
    oh, ow = y.shape[2], y.shape[3]
    inv = _shares(ggx.dtype)
    for p in prange(n * c):
        b = p // c
        ci = p % c
        src = x[b, ci]
        g = ggx[b, ci]
        for yo in range(oh):
            r0, r1 = src[yo * sh], src[yo * sh + 1]
            g0, g1 = g[yo * sh], g[yo * sh + 1]
            for xo in range(ow):
                j = xo * sw
                m = y[b, ci, yo, xo]
                h00, h01, h10, h11 = _hits(r0, r1, j, m)
                acc = g0[j] * h00 + g0[j + 1] * h01 + g1[j] * h10 + g1[j + 1] * h11
                ggy[b, ci, yo, xo] = acc * inv[h00 + h01 + h10 + h11]


@njit(cache=True, parallel=True)
def avg_pool2d_forward(x, kh, kw, sh, sw, ph, pw):
    """y[n, c, oh, ow] = sum of the window's in-bounds x / (kh*kw) (zero padding counted)."""
    n, c, h, w = x.shape
    oh = pool_out_size(h, kh, sh, ph)
    ow = pool_out_size(w, kw, sw, pw)
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    inv = 1.0 / (kh * kw)
    for p in prange(n * c):
        src = x[p // c, p % c]
        dst = y[p // c, p % c]
        for yo in range(oh):
            h0, h1 = _window(yo, sh, ph, kh, h)
            for xo in range(ow):
                w0, w1 = _window(xo, sw, pw, kw, w)
                # Accumulate in float64 so float32 sums of big windows stay accurate.
                acc = 0.0
                for hi in range(h0, h1):
                    for wi in range(w0, w1):
                        acc += src[hi, wi]
                dst[yo, xo] = acc * inv
    return y


@njit(cache=True, parallel=True)
def avg_pool2d_backward(gy, x_shape, kh, kw, sh, sw, ph, pw):
    """gx of shape x_shape (NCHW tuple): each window adds gy/(kh*kw) to its in-bounds cells."""
    n, c, h, w = x_shape
    oh, ow = gy.shape[2], gy.shape[3]
    gx = np.zeros((n, c, h, w), dtype=gy.dtype)
    inv = 1.0 / (kh * kw)
    for p in prange(n * c):
        g = gy[p // c, p % c]
        dst = gx[p // c, p % c]
        for yo in range(oh):
            h0, h1 = _window(yo, sh, ph, kh, h)
            for xo in range(ow):
                w0, w1 = _window(xo, sw, pw, kw, w)
                share = g[yo, xo] * inv
                for hi in range(h0, h1):
                    for wi in range(w0, w1):
                        dst[hi, wi] += share
    return gx


# Without the thread pool (see runtime.serial_twin), interleaved A/B, float32, 2x2 windows
# after a ReLU, p20 ms, parallel / serial:
#     forward  (64,16,28,28)  0.45 / 0.30      backward  1.06 / 1.64
#     forward  (64,32,14,14)  0.34 / 0.16      backward  0.69 / 0.57
# With warm caches the first backward gains from the second core, but inside a training
# step its inputs come from memory, and with the caches flushed before each call the serial
# twin wins there too (1.96 / 1.13 ms median; the benchmark CNN step A/B agrees).
max_pool2d_forward_serial = serial_twin(max_pool2d_forward)
max_pool2d_backward_serial = serial_twin(max_pool2d_backward)
