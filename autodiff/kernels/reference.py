"""Plain-numpy reference implementations of the kernels.

The tests compare every numba kernel with its twin here, and the ops run these
twins for tiny problems (``autodiff.ops.conv.SMALL_PROBLEM``), where starting
numba's parallel region costs more than the work. They favour obviousness over
speed: explicit padding, one strided slice per kernel tap (i, j), and the same
layouts and conventions as the numba kernels (see conv.py, pool.py).
"""

import numpy as np


def _tap(i, j, oh, ow, sh, sw, dh=1, dw=1):
    """Slices into the padded input selecting tap (i, j) of every output window."""
    return (
        slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
        slice(j * dw, j * dw + sw * (ow - 1) + 1, sw),
    )


def _pad(x, ph, pw, value):
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def conv_out_hw(h, w, kh, kw, sh, sw, ph, pw, dh, dw):
    return (
        (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1,
        (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1,
    )


def pool_out_hw(h, w, kh, kw, sh, sw, ph, pw):
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def im2col_ref(x, kh, kw, sh, sw, ph, pw, dh, dw, ones_row=False):
    if ones_row:
        cols = im2col_ref(x, kh, kw, sh, sw, ph, pw, dh, dw)
        return np.concatenate([cols, np.ones((1, cols.shape[1]), cols.dtype)])
    n, c, h, w = x.shape
    oh, ow = conv_out_hw(h, w, kh, kw, sh, sw, ph, pw, dh, dw)
    xp = _pad(x, ph, pw, 0)
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            si, sj = _tap(i, j, oh, ow, sh, sw, dh, dw)
            cols[:, i, j] = xp[:, :, si, sj].transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * oh * ow)


def col2im_ref(cols, x_shape, kh, kw, sh, sw, ph, pw, dh, dw):
    n, c, h, w = x_shape
    oh, ow = conv_out_hw(h, w, kh, kw, sh, sw, ph, pw, dh, dw)
    c6 = cols.reshape(c, kh, kw, n, oh, ow)
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            si, sj = _tap(i, j, oh, ow, sh, sw, dh, dw)
            # For a fixed tap the strided slice hits each cell at most once, so += is safe.
            xp[:, :, si, sj] += c6[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, ph : ph + h, pw : pw + w]


def max_pool2d_forward_ref(x, kh, kw, sh, sw, ph, pw):
    n, c, h, w = x.shape
    oh, ow = pool_out_hw(h, w, kh, kw, sh, sw, ph, pw)
    xp = _pad(x, ph, pw, -np.inf)
    taps = [xp[(..., *_tap(i, j, oh, ow, sh, sw))] for i in range(kh) for j in range(kw)]
    return np.max(np.stack(taps), axis=0)


def _max_masks(x, y, kh, kw, sh, sw, ph, pw):
    """(masks of argmax elements per tap, count of argmax elements per window)."""
    oh, ow = y.shape[2:]
    xp = _pad(x, ph, pw, -np.inf)
    real = _pad(np.ones(x.shape, dtype=bool), ph, pw, False)  # padding is never an argmax
    nan_max = np.isnan(y)
    masks = {}
    for i in range(kh):
        for j in range(kw):
            tap = _tap(i, j, oh, ow, sh, sw)
            # as the kernels' _is_max: a NaN max routes its gradient to the NaN inputs
            hit = (xp[(..., *tap)] == y) | (np.isnan(xp[(..., *tap)]) & nan_max)
            masks[i, j] = hit & real[(..., *tap)]
    count = sum(masks.values())
    return masks, count


def max_pool2d_backward_ref(gy, x, y, kh, kw, sh, sw, ph, pw):
    n, c, h, w = x.shape
    oh, ow = y.shape[2:]
    masks, count = _max_masks(x, y, kh, kw, sh, sw, ph, pw)
    gxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=gy.dtype)
    for (i, j), mask in masks.items():
        gxp[(..., *_tap(i, j, oh, ow, sh, sw))] += np.where(mask, gy / count, 0)
    return gxp[:, :, ph : ph + h, pw : pw + w]


def max_pool2d_gather_ref(ggx, x, y, kh, kw, sh, sw, ph, pw):
    oh, ow = y.shape[2:]
    masks, count = _max_masks(x, y, kh, kw, sh, sw, ph, pw)
    ggxp = _pad(ggx, ph, pw, 0)
    acc = np.zeros(y.shape, dtype=np.float64)
    for (i, j), mask in masks.items():
        acc += np.where(mask, ggxp[(..., *_tap(i, j, oh, ow, sh, sw))], 0)
    return (acc / count).astype(ggx.dtype)


def avg_pool2d_forward_ref(x, kh, kw, sh, sw, ph, pw):
    n, c, h, w = x.shape
    oh, ow = pool_out_hw(h, w, kh, kw, sh, sw, ph, pw)
    xp = _pad(x, ph, pw, 0)
    acc = np.zeros((n, c, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            acc += xp[(..., *_tap(i, j, oh, ow, sh, sw))]
    return (acc / (kh * kw)).astype(x.dtype)


def avg_pool2d_backward_ref(gy, x_shape, kh, kw, sh, sw, ph, pw):
    n, c, h, w = x_shape
    oh, ow = gy.shape[2:]
    gxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=gy.dtype)
    for i in range(kh):
        for j in range(kw):
            gxp[(..., *_tap(i, j, oh, ow, sh, sw))] += gy / (kh * kw)
    return gxp[:, :, ph : ph + h, pw : pw + w]


def relu_forward_ref(x):
    return np.maximum(x, 0)


def relu_backward_ref(gy, x):
    return gy * (x > 0)
