"""im2col / col2im kernels for 2-D convolution (NCHW).

Layouts
-------
x     : (N, C, H, W), C-contiguous float32 or float64.
cols  : (C*KH*KW, N*OH*OW). Row r = (c*KH + i)*KW + j holds kernel tap (i, j) of channel c;
        column q = (n*OH + oh)*OW + ow is one output pixel. ``ones_row=True`` appends a
        row of ones (row C*KH*KW), the input a bias multiplies.
ymat  : (O, N*OH*OW), the product ``W.reshape(O, C*KH*KW) @ cols``.

With this layout the whole forward pass is ONE large GEMM, and so is the weight gradient
(``gymat @ cols.T``) and the input gradient (``W_mat.T @ gymat`` followed by ``col2im``).
Rows are ordered (c, kh, kw), so for grouped convolution (weight (O, Cg, KH, KW), W_mat
(O, Cg*KH*KW)) group g is the contiguous row block ``rows = [g*Cg*KH*KW, (g+1)*Cg*KH*KW)``
of ``cols``: ``ymat[og] = W_mat[og] @ cols[rows]`` and ``gcols[rows] = W_mat[og].T @ gymat[og]``
with ``og = [g*Og, (g+1)*Og)``; all slices, no copies.

OH = (H + 2*ph - dh*(KH-1) - 1)//sh + 1, OW likewise. Padding is implicit zeros; nothing is
ever allocated for it. The kernels assume the caller validated the arguments (OH, OW >= 1,
strides and dilations >= 1, paddings >= 0) but never index out of bounds for any such
configuration.

``ymat`` is not NCHW: output pixels of all images are interleaved along the columns, so the
op must move the O axis inside the N axis: ``ymat.reshape(O, N, OH, OW).transpose(1, 0, 2, 3)``
then a copy, and ``gy.transpose(1, 0, 2, 3).reshape(O, -1)`` for the incoming gradient. Those
copies move whole contiguous OH*OW planes, which numpy already does at memory speed; numba
versions were measured and were slower (0.25-0.6 ms vs 0.17 ms below), so none is provided.
An alternative layout (N, C*KH*KW, OH*OW) with a batched matmul avoids the transpose, but
its weight gradient needs a sum over N of small GEMMs (einsum: 13 ms vs 2.5 ms), so it
loses.

Benchmark: 2-core VM, numpy 2.4 + OpenBLAS (2 threads), numba 0.68 (workqueue layer),
float32 x (32,16,32,32), w (32,16,3,3), stride 1, pad 1, so cols is (144, 32768), 19 MB.
Each phase timed inside a forward+backward step, 60 steps, median / best in ms (the VM
is shared: medians move by 30% from run to run; re-measured after the unsigned-index
rewrite of both kernels):

    im2col                                  2.0-2.4 / 1.1
    W_mat @ cols (one product per image)    4.6 / 2.8
    gy -> gymat                             0.6 / 0.5
    W_mat.T @ gymat (cols grad)             4.0 / 3.0
    col2im                                  2.0-3.2 / 1.4
    cols @ gymat.T  (weight grad)           3.4 / 2.8
    step                                   ~19  / 13.6    (PyTorch: ~11-13 / 8.5)

The three matrix products run at 75-110 GFLOP/s on these skinny shapes against 133 for a
1024^3 GEMM, and each streams the 19 MB cols (or its gradient) through memory once;
im2col and col2im run near memory speed (inside a training step their inputs often
come from memory rather than cache, so they take up to twice their warm time there).
Reaching PyTorch (oneDNN's direct convolution) would take a register-blocked direct
convolution instead of im2col. Every step allocates
multi-MB buffers, and first-touch page faults are expensive in this VM, hence the heap
settings in ``runtime.py``.
"""

import numpy as np
from numba import njit, prange

from .runtime import serial_twin


@njit(cache=True, inline="always")
def _valid_range(count, stride, offset, size):
    """Return [lo, hi) of o in [0, count) with 0 <= o*stride + offset < size."""
    # Precomputing the range keeps the inner loops branch-free.
    if offset >= 0:
        lo = 0
    else:
        lo = (-offset + stride - 1) // stride
    if size - offset <= 0:
        hi = 0
    else:
        hi = (size - 1 - offset) // stride + 1
    if hi > count:
        hi = count
    if lo > hi:
        lo = hi
    return lo, hi


@njit(cache=True, inline="always")
def conv_out_size(size, k, stride, pad, dil):
    """Output length of a convolution axis: (size + 2*pad - dil*(k-1) - 1)//stride + 1."""
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


# Index arithmetic is unsigned on purpose: numba guards every signed index against
# negative (wrap-around) values, and that guard keeps LLVM from vectorising the copy
# loops. uint64 indices have no guard (measured on the benchmark CNN's second layer,
# (64,16,14,14): im2col 1.9 -> 0.6 ms, col2im 1.3 -> 0.7 ms). Every uint64 value below is
# non-negative by construction: _valid_range clips the spans to the array.
_U = np.uint64


@njit(cache=True, inline="always")
def _zero(dst, lo, hi):
    for k in range(_U(lo), _U(hi)):
        dst[k] = 0


@njit(cache=True, inline="always")
def _shifted_plane(dst, src, start, lo, hi):
    """dst[lo:hi] = src[start : start + hi - lo], clipped to src (the rest is left as is).

    With unit strides and an output as wide as the input ("same" padding), the valid
    rows of a tap are one shifted run of the flat input plane: one long copy instead of
    a short one per row (benchmark CNN's second layer: 0.9 -> 0.5 ms); the caller then
    zeroes the columns that fell into the padding.
    """
    skip = max(0, -start)
    stop = min(hi - lo, src.size - start)
    d0 = _U(lo + skip)
    s0 = _U(start + skip)
    for k in range(_U(max(stop - skip, 0))):
        dst[d0 + k] = src[s0 + k]


@njit(cache=True, inline="always")
def _unfold_tap(dst, src, i, j, geometry):
    """dst (OH*OW) = kernel tap (i, j) of the input plane src (H*W): one row of cols.

    ``geometry`` is (OH, OW, H, W, sh, sw, ph, pw, dh, dw).
    """
    oh, ow, h, w, sh, sw, ph, pw, dh, dw = geometry
    off = j * dw - pw
    wlo, whi = _valid_range(ow, sw, off, w)
    hlo, hhi = _valid_range(oh, sh, i * dh - ph, h)
    span = _U(whi - wlo)
    plane = oh * ow
    _zero(dst, 0, hlo * ow)
    _zero(dst, hhi * ow, plane)
    if sh == 1 and sw == 1 and ow == w and hlo < hhi:
        _shifted_plane(dst, src, (hlo - ph + i * dh) * w + off, hlo * ow, hhi * ow)
        for y in range(hlo, hhi):
            _zero(dst, y * ow, y * ow + wlo)
            _zero(dst, y * ow + whi, (y + 1) * ow)
        return
    for y in range(hlo, hhi):
        d0 = _U(y * ow + wlo)
        s0 = _U((y * sh - ph + i * dh) * w + off + wlo * sw)
        _zero(dst, y * ow, y * ow + wlo)
        if sw == 1:
            for k in range(span):
                dst[d0 + k] = src[s0 + k]
        else:
            for k in range(span):
                dst[d0 + k] = src[s0 + k * _U(sw)]
        _zero(dst, y * ow + whi, (y + 1) * ow)


@njit(cache=True, inline="always")
def _fold_tap(dst, src, i, j, geometry):
    """dst (H*W) += the row src (OH*OW) of kernel tap (i, j): im2col's adjoint for one row."""
    oh, ow, h, w, sh, sw, ph, pw, dh, dw = geometry
    hlo, hhi = _valid_range(oh, sh, i * dh - ph, h)
    off = j * dw - pw
    wlo, whi = _valid_range(ow, sw, off, w)
    span = _U(whi - wlo)
    for y in range(hlo, hhi):
        s0 = _U(y * ow + wlo)
        d0 = _U((y * sh - ph + i * dh) * w + off + wlo * sw)
        if sw == 1:
            for k in range(span):
                dst[d0 + k] += src[s0 + k]
        else:
            for k in range(span):
                dst[d0 + k * _U(sw)] += src[s0 + k]


@njit(cache=True, parallel=True, error_model="numpy")
def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, ones_row=False):
    """Unfold x (N, C, H, W) into cols (C*KH*KW, N*OH*OW); padded taps are 0.

    With ``ones_row`` cols gets one more row, of ones: the input a bias multiplies, so
    ``[W_mat | b] @ cols`` adds the bias inside the product (see ``autodiff.ops.conv``).
    """
    n, c, h, w = x.shape
    oh = conv_out_size(h, kh, sh, ph, dh)
    ow = conv_out_size(w, kw, sw, pw, dw)
    plane = oh * ow
    cols = np.empty((c * kh * kw + ones_row, n * plane), dtype=x.dtype)
    if ones_row:
        cols[c * kh * kw] = 1
    planes = x.reshape(n * c, h * w)
    # One row per task: each thread writes long contiguous runs of its own row.
    geometry = (oh, ow, h, w, sh, sw, ph, pw, dh, dw)
    for r in prange(c * kh * kw):
        i, j = (r // kw) % kh, r % kw
        for b in range(n):
            dst = cols[r, b * plane : (b + 1) * plane]
            _unfold_tap(dst, planes[b * c + r // (kh * kw)], i, j, geometry)
    return cols


@njit(cache=True, parallel=True, error_model="numpy")
def col2im(cols, x_shape, kh, kw, sh, sw, ph, pw, dh, dw):
    """Adjoint of im2col: scatter-add cols (C*KH*KW, N*OH*OW) into x of shape x_shape (NCHW).

    Overlapping patches accumulate; values that fall into the padding are dropped.
    """
    n, c, h, w = x_shape
    oh = conv_out_size(h, kh, sh, ph, dh)
    ow = conv_out_size(w, kw, sw, pw, dw)
    plane = oh * ow
    x = np.zeros((n * c, h * w), dtype=cols.dtype)
    # One (image, channel) plane per task: every write to that plane comes from this task,
    # so overlapping patches accumulate without races.
    geometry = (oh, ow, h, w, sh, sw, ph, pw, dh, dw)
    for p in prange(n * c):
        b = p // c
        ci = p % c
        for i in range(kh):
            for j in range(kw):
                src = cols[(ci * kh + i) * kw + j, b * plane : (b + 1) * plane]
                _fold_tap(x[p], src, i, j, geometry)
    return x.reshape(n, c, h, w)


# Without the thread pool: faster below a few million elements of cols, where starting the
# pool (~150 us) costs more than the second core gives (interleaved A/B, float32, 3x3 pad 1,
# p20 ms, parallel / serial):
#     im2col (64,1,28,28)    0.27 / 0.11     col2im  0.48 / 0.16      cols   0.45 M elements
#     im2col (64,16,14,14)   0.64 / 0.49     col2im  1.00 / 0.62      cols   1.8 M
#     im2col (128,16,14,14)  1.35 / 1.86     col2im  1.74 / 2.14      cols   3.6 M
#     im2col (32,16,32,32)   1.39 / 2.04     col2im  1.79 / 2.29      cols   4.7 M
# The twins also release the GIL: a convolution split over the cores (autodiff.threads)
# runs one twin per thread on its chunk of images.
im2col_serial = serial_twin(im2col)
col2im_serial = serial_twin(col2im)


# ----------------------------------------------------------- image by image, with BLAS
# A convolution split over the cores (autodiff.threads) runs these on each thread's
# images: for each image, im2col into a buffer that stays in the core's cache, then a
# product by a BLAS ``cblas_?gemm`` that the caller passes in (a ctypes function, found by
# ``runtime.gemm``; the caller sets BLAS to one thread). Everything between two images
# runs here without the GIL, where a Python loop over images would make the threads
# queue for it. The output of image b is the contiguous (O, OH*OW) block y[b], so no
# transposing copy is needed either. Measurements: ``autodiff.ops.conv.IMAGE_PLANE``.
_ROW, _N, _T = 101, 111, 112  # CBLAS: row-major layout, no transpose, transpose


@njit(cache=True, inline="always")
def _unfold_image(cols, planes, b, c, kh, kw, geometry):
    """The first C*KH*KW rows of cols (rows, OH*OW) = im2col of image b of planes (N*C, H*W)."""
    for r in range(c * kh * kw):
        _unfold_tap(cols[r], planes[b * c + r // (kh * kw)], (r // kw) % kh, r % kw, geometry)


@njit(cache=True, nogil=True, error_model="numpy")
def conv_forward_images(gemm, x, w_mat, y, lo, hi, kh, kw, sh, sw, ph, pw, dh, dw):
    """y[b] (O, OH*OW) = w_mat @ im2col(x[b]) for images lo <= b < hi.

    w_mat is (O, C*KH*KW), or (O, C*KH*KW + 1) with the bias as its last column (cols then
    gets a row of ones). y is (N, O, OH*OW).
    """
    n, c, h, wd = x.shape
    o, k = w_mat.shape
    oh = conv_out_size(h, kh, sh, ph, dh)
    ow = conv_out_size(wd, kw, sw, pw, dw)
    plane = oh * ow
    cols = np.empty((k, plane), dtype=x.dtype)
    cols[c * kh * kw :] = 1  # the bias's row of ones, if w_mat has a bias column
    planes = x.reshape(n * c, h * wd)
    geometry = (oh, ow, h, wd, sh, sw, ph, pw, dh, dw)
    w_ptr, cols_ptr = w_mat.ctypes.data, cols.ctypes.data
    for b in range(lo, hi):
        _unfold_image(cols, planes, b, c, kh, kw, geometry)
        y_ptr = y[b].ctypes.data
        gemm(_ROW, _N, _N, o, plane, k, 1.0, w_ptr, k, cols_ptr, plane, 0.0, y_ptr, plane)


@njit(cache=True, nogil=True, error_model="numpy")
def conv_backward_images(gemm, x, w_mat, gy, gx, gw_t, lo, hi, kh, kw, sh, sw, ph, pw, dh, dw):
    """The gradients of conv_forward_images for images lo <= b < hi; gy is (N, O, OH*OW).

    If gx has elements: gx[b] (C, H, W) = col2im(w_mat[:, :C*KH*KW].T @ gy[b]), written.
    If gw_t has elements: gw_t (C*KH*KW [+ 1], O) += im2col(x[b]) @ gy[b].T, accumulated;
    its extra last row, if any, meets cols' row of ones and sums the bias gradient.
    """
    n, o, plane = gy.shape
    if gw_t.size:
        c, h, wd = x.shape[1], x.shape[2], x.shape[3]
    else:
        c, h, wd = gx.shape[1], gx.shape[2], gx.shape[3]
    oh = conv_out_size(h, kh, sh, ph, dh)
    ow = conv_out_size(wd, kw, sw, pw, dw)
    rows = c * kh * kw
    k = gw_t.shape[0]
    cols = np.empty((k, plane), dtype=gy.dtype)
    cols[rows:] = 1
    gcols = np.empty((rows if gx.size else 0, plane), dtype=gy.dtype)
    x_planes = x.reshape(x.shape[0] * x.shape[1], x.shape[2] * x.shape[3])
    gx_planes = gx.reshape(gx.shape[0] * gx.shape[1], gx.shape[2] * gx.shape[3])
    geometry = (oh, ow, h, wd, sh, sw, ph, pw, dh, dw)
    w_ptr, ldw = w_mat.ctypes.data, w_mat.shape[1]
    cols_ptr, gcols_ptr, gw_ptr = cols.ctypes.data, gcols.ctypes.data, gw_t.ctypes.data
    for b in range(lo, hi):
        g_ptr = gy[b].ctypes.data
        if gw_t.size:
            _unfold_image(cols, x_planes, b, c, kh, kw, geometry)
            gemm(_ROW, _N, _T, k, o, plane, 1.0, cols_ptr, plane, g_ptr, plane, 1.0, gw_ptr, o)
        if gx.size:
            gemm(_ROW, _T, _N, rows, plane, o, 1.0, w_ptr, ldw, g_ptr, plane, 0.0, gcols_ptr, plane)
            for ci in range(c):
                dst = gx_planes[b * c + ci]
                dst[:] = 0
                for i in range(kh):
                    for j in range(kw):
                        _fold_tap(dst, gcols[(ci * kh + i) * kw + j], i, j, geometry)
