"""2-D convolution (NCHW): ``conv2d`` and its adjoint ``conv_transpose2d``.

Both run on the numba kernels in ``autodiff.kernels.conv``: ``im2col`` unfolds the
input into ``cols`` (C*KH*KW, N*OH*OW) so the convolution is one matrix product per
group, and ``col2im`` is its adjoint. Three nodes cover every derivative:

* ``Conv2d(x, W[, b])``: ``y = conv(x, W) + b``;
* ``ConvTranspose2d(g, W)``: ``conv^T(g, W)``, the gradient of ``conv`` w.r.t. ``x``;
* ``Conv2dWeightGrad(x, g)``: the gradient of ``conv`` w.r.t. ``W``.

Big convolutions run on every core (``autodiff.threads``), by one of two routes: chunks
of images, each with its own im2col and numpy products (``_forward``), or, with one group
and big enough output planes, image by image inside numba calling BLAS's gemm directly
(``_forward_images``, ``_backward_images``; see IMAGE_PLANE for the measurements).

``conv`` is bilinear in (x, W), so the backward of each node is written with the
other two (plus ``conv`` itself) and the family is closed under differentiation:
gradgradcheck passes for both public ops.

dtypes: x, weight and bias must share one floating dtype (as in PyTorch); float32 in
gives float32 out. An upstream gradient of a wider dtype is cast to the op's dtype.
float16 is computed in float32 and returned as float16 (numba has no float16), and an
array in swapped byte order ('>f4') is taken as its native twin (``kernel_array``); the
pooling ops do the same.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import threads
from ..function import Function, is_grad_enabled
from ..kernels import SERIAL_TWINS, col2im, conv_out_size, im2col, runtime
from ..kernels.conv import conv_backward_images, conv_forward_images
from ..kernels.reference import col2im_ref, im2col_ref
from ..registry import REAL, register
from ..tensor import Tensor
from ._util import as_result, check_float, kernel_array, kernel_dtype
from .shape import astype, reshape

__all__ = ["conv2d", "conv_transpose2d"]

#: ``Conv2d`` keeps its im2col buffer for the weight gradient when it is at most this
#: big (one im2col fewer per training step, at the price of KH*KW copies of the input).
COLS_CACHE_BYTES = 128 * 2**20

#: Problems with fewer elements run on the plain-numpy twins in ``kernels.reference``:
#: launching numba's thread pool costs more than such work (5-10 ms per call measured on a
#: busy 2-core VM), and a gradient check makes thousands of tiny calls.
SMALL_PROBLEM = 4096

#: Problems with fewer elements (the bigger array a kernel touches: cols for im2col and
#: col2im, x for pooling) run on the kernel's serial twin if it has one
#: (``kernels.SERIAL_TWINS``): the thread pool's start costs more than the second core
#: saves there, and inside a training step, where the inputs come from memory, more so.
SERIAL_PROBLEM = 2**21

#: A convolution whose im2col buffer has at least this many elements, on two or more
#: images, is split into chunks of whole images of about this many elements each, at
#: least one chunk per worker thread (``autodiff.threads``). Forward + backward, 3x3 pad 1,
#: float32, 2 threads, interleaved medians of two runs, ms (whole batch / chunks of 2**17,
#: 2**19, 2**21 elements; a dash where the split does not apply):
#:
#:     x (32,16,32,32), O 32   (4.7M elements)   19.4 20.9 / 13.9 13.9 / 12.3 12.2 / 14.8 14.2
#:     x (64,16,14,14), O 32   (1.8M)             6.4  7.2 /  5.5  6.4 /  5.2  5.5 /  6.2  7.2
#:     x (64,1,28,28),  O 16   (0.45M)            2.8  2.3 /  3.0  2.5 /  -         /  -
#:     x (8,16,14,14),  O 32   (0.23M)            1.0  1.0 /  1.3  1.2 /  -         /  -
#:
#: Below about 5 * 10**5 elements the threads' start costs more than they save.
SPLIT_CHUNK = 2**19

#: Fewer im2col rows per group than this and a product over them is tiny: conv2d's forward
#: and weight gradient then work image by image (see ``_conv_forward``, ``_weight_grad``).
FEW_ROWS = 16

#: A convolution with one group, output planes of at least IMAGE_PLANE pixels and an
#: im2col of at least IMAGE_SPLIT elements (the whole batch's) runs image by image inside
#: numba on every core, calling BLAS itself (``kernels.conv.conv_forward_images`` and
#: ``conv_backward_images``): each image's im2col buffer stays in the core's cache, and
#: the threads never wait for the GIL between images. The batch is cut into
#: IMAGE_CHUNKS_PER_WORKER chunks per thread, taken in turn, so a core slowed by another
#: process does less. Forward + backward, 3x3 pad 1, float32, 2 threads, paired A/B in one
#: process (16 rounds), median ms of the other routes / of this one, and the median ratio:
#:
#:     x (32,16,32,32), O 32   (plane 1024)   14.8 / 12.8   0.91   (the benchmark layer)
#:     x (128,3,32,32), O 32   (plane 1024)   18.0 / 13.3   0.77
#:     x (64,1,28,28),  O 16   (plane 784)     3.6 /  2.5   0.68   (the benchmark CNN's)
#:     x (16,64,16,16), O 64   (plane 256)    12.7 / 11.3   0.91
#:     x (64,16,14,14), O 32   (plane 196)     6.9 /  6.4   0.91   (the benchmark CNN's)
#:     x (64,32,10,10), O 32   (plane 100)     7.2 /  7.6   1.07
#:     x (64,32,7,7),   O 64   (plane 49)      6.6 /  7.1   1.16
#:
#: Below about 144 pixels a plane's products are too small for BLAS to run well.
IMAGE_PLANE = 144
IMAGE_SPLIT = 2**18
IMAGE_CHUNKS_PER_WORKER = 4

# The kernel's size formula, called from Python without a trip through numba's dispatcher.
_out_size = conv_out_size.py_func


def run_kernel(
    kernel: Any, reference: Any, size: int, *args: Any, serial: bool = False
) -> np.ndarray:
    """``kernel(*args)`` on a problem of ``size`` elements, by the fastest of three routes.

    Below SMALL_PROBLEM the numpy ``reference``, below SERIAL_PROBLEM (or always, when
    ``serial``: the caller is one of several threads sharing a batch) the kernel's serial
    twin, else the parallel kernel. All return a new array in the dtype of the first
    argument (the reference may return a view or promote, so it is normalised here).

    numba's workqueue thread pool aborts the whole process when a second Python thread
    enters it, so the parallel kernels run under ``_PARALLEL``; a thread that finds it
    taken runs the serial twin instead (both threads then work, one core each), or waits
    for a kernel without one.
    """
    if size < SMALL_PROBLEM:
        return np.ascontiguousarray(reference(*args), dtype=args[0].dtype)
    if serial:
        return SERIAL_TWINS[kernel](*args)
    twin = SERIAL_TWINS.get(kernel)
    if twin is not None and size < SERIAL_PROBLEM:
        return twin(*args)
    if not _PARALLEL.acquire(blocking=twin is None):
        return twin(*args)
    try:
        return kernel(*args)
    finally:
        _PARALLEL.release()


#: Held while a parallel kernel runs (see ``run_kernel``).
_PARALLEL = threading.Lock()


def _new_lock_in_child() -> None:
    # A fork while another thread held the lock would leave the child's copy held forever.
    global _PARALLEL
    _PARALLEL = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def image_chunks(n: int, per_image: int) -> list[slice]:
    """How a batch of ``n`` images with ``per_image`` im2col elements each is processed.

    One slice over the whole batch (one thread, parallel kernels and BLAS), or, for a
    problem of at least SPLIT_CHUNK elements when ``threads.available()``, consecutive
    chunks of about SPLIT_CHUNK elements, at least one per worker thread.
    """
    if n < 2 or n * per_image < SPLIT_CHUNK or not threads.available():
        return [slice(0, n)]
    step = min(max(1, SPLIT_CHUNK // max(per_image, 1)), -(-n // threads.worker_count()))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def pair(value: Any, name: str, op: str, minimum: int) -> tuple[int, int]:
    """``value`` (an int or a pair of ints) as a pair of ints, each at least ``minimum``.

    A bool is not a size (``stride=True`` would silently be 1), as in ``nn``'s size checks.
    """
    given = value
    if isinstance(value, (int, np.integer)):
        value = (value, value)
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(_is_int(v) and v >= minimum for v in value)
    )
    if not ok:
        raise ValueError(
            f"{op}: {name} must be an int or a pair of ints >= {minimum}, got {given!r}"
        )
    return int(value[0]), int(value[1])


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


@dataclass(frozen=True)
class ConvSpec:
    """Stride, padding, dilation (pairs) and groups of one convolution."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int

    @classmethod
    def make(cls, op: str, stride: Any, padding: Any, dilation: Any, groups: Any) -> ConvSpec:
        if not _is_int(groups) or groups < 1:
            raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
        return cls(
            pair(stride, "stride", op, 1),
            pair(padding, "padding", op, 0),
            pair(dilation, "dilation", op, 1),
            int(groups),
        )

    def kernel_args(self, kh: int, kw: int) -> tuple[int, ...]:
        """The hyper-parameters in the order the im2col/col2im kernels take them."""
        return (kh, kw, *self.stride, *self.padding, *self.dilation)

    def out_hw(self, h: int, w: int, kh: int, kw: int) -> tuple[int, int]:
        return (
            _out_size(h, kh, self.stride[0], self.padding[0], self.dilation[0]),
            _out_size(w, kw, self.stride[1], self.padding[1], self.dilation[1]),
        )


def _check_dtypes(
    op: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, names: Any = None
) -> None:
    check_float(op, x)
    for name, a in zip(names or ("weight", "bias"), (w, b)):
        # A swapped byte order is the same number type: kernel_array evens it out.
        if a is None or a.dtype == x.dtype:
            continue
        if a.dtype.newbyteorder("=") != x.dtype.newbyteorder("="):
            want = x.dtype.newbyteorder("=").name
            raise TypeError(
                f"{op}: {name} has dtype {a.dtype} but the input has dtype {x.dtype} (shapes "
                f"{a.shape} and {x.shape}); convert one of them (e.g. {name}.astype(np.{want}))"
            )


def _check_conv(op: str, x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> tuple[int, int]:
    """Validate a convolution of x (N, C, H, W) by w (O, C/groups, KH, KW); return (OH, OW)."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(
            f"{op}: expects input (N, C, H, W) and weight (O, C/groups, KH, KW), got input "
            f"{x.shape} and weight {w.shape}"
        )
    g = spec.groups
    if x.shape[1] != w.shape[1] * g:
        raise ValueError(
            f"{op}: input has {x.shape[1]} channels but weight {w.shape} expects "
            f"{w.shape[1] * g} (groups={g})"
        )
    if w.shape[0] % g:
        raise ValueError(
            f"{op}: weight {w.shape} has {w.shape[0]} output channels, not divisible by groups={g}"
        )
    oh, ow = spec.out_hw(*x.shape[2:], *w.shape[2:])
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{op}: input {x.shape} is too small for weight {w.shape} with stride "
            f"{spec.stride}, padding {spec.padding}, dilation {spec.dilation}: output size would "
            f"be {oh}x{ow}; the padded input must be at least dilation*(kernel-1)+1"
        )
    return oh, ow


def _conv_forward(
    w: np.ndarray,
    cols: np.ndarray,
    oh: int,
    ow: int,
    groups: int,
    b: np.ndarray | None,
    out: np.ndarray,
) -> None:
    """out (N, O, OH, OW) = W (O, Cg*KH*KW) @ cols (+ b), per group.

    ``w`` may be the matrix itself: ``[W_mat | b]`` for cols with a row of ones.

    Two ways to get NCHW out of it: one product per image (numpy's batched matmul over
    the view (N, C*KH*KW, OH*OW) of cols) writes y directly; one big product writes
    (O, N*OH*OW) and a copy moves the O axis inside N. The big product wins unless each
    image's product is itself large (OH*OW >= 1024) or the reduction is tiny (fewer than
    16 rows, where the product is memory-bound and the copy would double its traffic).
    Interleaved A/B, float32, 3x3 pad 1, whole batch on one thread, ms (per image / big
    + copy):

        x (64,16,14,14), O 32     2.58 / 1.93
        x (64,16,20,20), O 32     4.38 / 4.00
        x (64,8,28,28),  O 16     2.76 / 2.21
        x (32,64,14,14), O 64     5.99 / 4.44
        x (32,16,32,32), O 32     5.20 / 6.75
        x (64,1,28,28),  O 16     0.37 / 0.76
    """
    n, o, plane = out.shape[0], w.shape[0], oh * ow
    w_mat = w.reshape(o, math.prod(w.shape[1:]))  # not -1: O may be 0
    og, rows = o // groups, w_mat.shape[1]
    y = out.reshape(n, o, plane)
    per_image = plane >= 1024 or rows < FEW_ROWS
    cols3 = cols.reshape(cols.shape[0], n, plane).transpose(1, 0, 2)
    for k in range(groups):
        blk, rblk = slice(k * og, (k + 1) * og), slice(k * rows, (k + 1) * rows)
        if per_image:
            np.matmul(w_mat[blk], cols3[:, rblk], out=y[:, blk])
        else:
            ymat = (w_mat[blk] @ cols[rblk]).reshape(og, n, plane)
            y_blk = y[:, blk].transpose(1, 0, 2)
            if b is None:
                np.copyto(y_blk, ymat)
            else:  # the bias rides along with the transposing copy: one pass over y fewer
                np.add(ymat, b[blk].reshape(og, 1, 1), out=y_blk)
    if per_image and b is not None:
        y += b.reshape(1, o, 1)


class ColsCache(NamedTuple):
    """The im2col buffers a forward keeps for the weight gradient."""

    chunks: list[slice]  # the batch's chunks of images (``image_chunks``)
    cols: list[np.ndarray]  # the im2col buffer of each chunk
    ones_row: bool  # each buffer ends with the bias's row of ones


def _forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, spec: ConvSpec, oh: int, ow: int
) -> tuple[np.ndarray, ColsCache]:
    """conv(x, W) + b, and the im2col buffers for the weight gradient.

    With one group the bias is a weight like the others, on an input that is always 1:
    cols gets a row of ones and W_mat the column b, so the product adds the bias and the
    weight gradient's product gives dL/db. That saves a pass over y here and one over gy
    in the backward (benchmark layer, paired A/B: 0.955 of the time). With groups each
    group's rows would need their own row of ones, so the bias is added afterwards; so it
    is when the output has fewer pixels than W_mat has columns (one wide layer on one
    image), where copying W into ``[W_mat | b]`` costs more than the pass it saves.
    """
    n, o, taps = x.shape[0], w.shape[0], w.shape[2] * w.shape[3]
    args = spec.kernel_args(*w.shape[2:])
    per_image = int(np.prod(x.shape[1:])) * taps
    y = np.empty((n, o, oh, ow), dtype=x.dtype)
    route = _image_route(x.dtype, spec, n, per_image, oh * ow)
    if route is not None:
        _forward_images(*route, x, w, b, spec, out=y)
        return y, ColsCache(route[1], [], b is not None)  # keeps no im2col buffer
    chunks = image_chunks(n, per_image)
    serial = len(chunks) > 1
    cols = [None] * len(chunks)
    rows = w.shape[1] * taps
    ones_row = b is not None and spec.groups == 1 and n * oh * ow > rows
    if ones_row:
        w, b = np.concatenate([w.reshape(o, math.prod(w.shape[1:])), b.reshape(o, 1)], 1), None

    def work(i: int) -> None:
        part = x[chunks[i]]
        cols[i] = run_kernel(
            im2col, im2col_ref, part.size * taps, part, *args, ones_row, serial=serial
        )
        _conv_forward(w, cols[i], oh, ow, spec.groups, b, out=y[chunks[i]])

    threads.run_split(work, len(chunks))
    return y, ColsCache(chunks, cols, ones_row)


def _image_route(
    dtype: np.dtype, spec: ConvSpec, n: int, per_image: int, plane: int
) -> tuple[Any, list[slice]] | None:
    """(BLAS gemm, chunks of images) for the image-by-image route (see IMAGE_PLANE), or
    None where the other routes serve better or BLAS cannot be called from numba."""
    if (
        spec.groups != 1
        or plane < IMAGE_PLANE
        or n < 2
        or n * per_image < IMAGE_SPLIT
        or not threads.available()
    ):
        return None
    gemm = runtime.gemm(dtype)
    if gemm is None:
        return None
    count = min(n, IMAGE_CHUNKS_PER_WORKER * threads.worker_count())
    bounds = [n * i // count for i in range(count + 1)]
    return gemm, [slice(bounds[i], bounds[i + 1]) for i in range(count)]


def _forward_images(
    gemm: Any,
    chunks: list[slice],
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    spec: ConvSpec,
    out: np.ndarray,
) -> None:
    """``_forward`` on the image-by-image route: out (N, O, OH, OW) = conv(x, W) + b.

    The bias is W_mat's last column, met by a row of ones in each image's im2col buffer.
    """
    n, o = out.shape[:2]
    w_mat = w.reshape(o, math.prod(w.shape[1:]))
    if b is not None:
        w_mat = np.concatenate([w_mat, b.reshape(o, 1)], 1)
    y3 = out.reshape(n, o, out.shape[2] * out.shape[3])
    args = spec.kernel_args(*w.shape[2:])

    def images(i: int) -> None:
        part = chunks[i]
        conv_forward_images(gemm, x, w_mat, y3, part.start, part.stop, *args)

    threads.run_split(images, len(chunks))


def _as_gymat(gy: np.ndarray) -> np.ndarray:
    """gy (N, O, OH, OW) -> (O, N*OH*OW), the column order of ``cols``."""
    n, o = gy.shape[:2]
    return np.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(o, n * gy.shape[2] * gy.shape[3])


def cast_like(g: Tensor, like: Tensor | np.ndarray) -> Tensor:
    """``g`` in the dtype of ``like``.

    Gradients may arrive wider than the op (a float64 loss on float32 layers); the
    kernels compile one version per dtype and the engine casts input gradients anyway.
    """
    return g if g.dtype == like.dtype else astype(g, like.dtype)


def _input_grad(
    gymat: np.ndarray, w: np.ndarray, spec: ConvSpec, x_shape: tuple, serial: bool
) -> np.ndarray:
    """conv^T: col2im(W_mat.T @ gymat) per group, an array of shape ``x_shape``."""
    o, groups = w.shape[0], spec.groups
    w_mat = w.reshape(o, math.prod(w.shape[1:]))
    if groups == 1:
        gcols = w_mat.T @ gymat
    else:
        rows, og = w_mat.shape[1], o // groups
        gcols = np.empty((rows * groups, gymat.shape[1]), dtype=gymat.dtype)
        for k in range(groups):
            np.matmul(
                w_mat[k * og : (k + 1) * og].T,
                gymat[k * og : (k + 1) * og],
                out=gcols[k * rows : (k + 1) * rows],
            )
    args = spec.kernel_args(*w.shape[2:])
    return run_kernel(col2im, col2im_ref, gcols.size, gcols, x_shape, *args, serial=serial)


def _weight_grad(
    x: np.ndarray,
    gy: np.ndarray,
    gymat: np.ndarray | None,
    cols: np.ndarray | None,
    spec: ConvSpec,
    kernel_hw: tuple,
    serial: bool,
    ones_row: bool = False,
) -> np.ndarray:
    """dL/dW = gymat @ cols.T per group, with ``cols = im2col(x)`` unless it is given,
    transposed: (rows of cols, O). A row of ones in cols (given, or made here when
    ``ones_row``) gives dL/db as the last row.

    ``gymat`` is ``_as_gymat(gy)`` if the caller has it. With few rows (a first layer
    on one channel) the sum over images of gy_n @ cols_n.T needs no transposed copy of
    gy and is twice as fast (x (64,1,28,28), 16 filters: 0.60 vs 1.19 ms); otherwise
    the product is computed transposed, ``cols @ gymat.T`` into a (Cg*KH*KW, O) array,
    the orientation OpenBLAS runs faster (benchmark layer: 3.5 vs 4.6 ms median).
    """
    if cols is None:
        args = spec.kernel_args(*kernel_hw)
        size = x.size * args[0] * args[1]
        cols = run_kernel(im2col, im2col_ref, size, x, *args, ones_row, serial=serial)
    n, o = gy.shape[:2]
    groups = spec.groups
    rows, og = cols.shape[0] // groups, o // groups
    gw_t = np.empty((rows, o), dtype=x.dtype)
    if rows < FEW_ROWS and gymat is None:
        plane = gy.shape[2] * gy.shape[3]
        gy3 = gy.reshape(n, o, plane)
        cols3 = cols.reshape(cols.shape[0], n, plane).transpose(1, 2, 0)  # (N, OH*OW, rows)
        for k in range(groups):
            products = np.matmul(
                gy3[:, k * og : (k + 1) * og], cols3[..., k * rows : (k + 1) * rows]
            )
            gw_t[:, k * og : (k + 1) * og] = products.sum(axis=0).T
    else:
        gymat = _as_gymat(gy) if gymat is None else gymat
        for k in range(groups):
            np.matmul(
                cols[k * rows : (k + 1) * rows],
                gymat[k * og : (k + 1) * og].T,
                out=gw_t[:, k * og : (k + 1) * og],
            )
    return gw_t


def _backward(
    gy: np.ndarray,
    spec: ConvSpec,
    x_shape: tuple,
    kernel_hw: tuple,
    w: np.ndarray | None = None,
    x: np.ndarray | None = None,
    cached: ColsCache | None = None,
    bias_grad: bool = False,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dL/dx if ``w`` is given, dL/dW if ``x`` is given, dL/db if ``bias_grad``) of
    conv(x, W) + b for the upstream gradient ``gy``.

    ``cached`` is what ``_forward`` returned; without it the batch is chunked afresh and
    the weight gradient runs im2col again. Each chunk makes one transposed copy of its
    gy for both products (none for a single image). dL/db comes out of the weight
    gradient's product when cols has (or can be given) the row of ones, else it is a
    sum of its own.
    """
    taps = kernel_hw[0] * kernel_hw[1]
    per_image = int(np.prod(x_shape[1:])) * taps
    route = _image_route(gy.dtype, spec, gy.shape[0], per_image, gy.shape[2] * gy.shape[3])
    if route is not None:
        return _backward_images(*route, gy, spec, x_shape, kernel_hw, w, x, bias_grad)
    if cached is None:
        chunks = image_chunks(gy.shape[0], per_image)
        cached = ColsCache(chunks, None, x is not None and bias_grad and spec.groups == 1)
    chunks, cols, ones_row = cached
    bias_in_product = bias_grad and x is not None and ones_row
    input_grad, serial = w is not None, len(chunks) > 1
    gx = np.empty(x_shape, dtype=gy.dtype) if input_grad and serial else None
    gx_parts, gw_parts, gb_parts = ([None] * len(chunks) for _ in range(3))

    # The order inside a chunk is for the caches: a separate bias sum reads this chunk's gy
    # from memory and the transposed copy right after finds it in cache (0.077 -> 0.048 ms
    # per chunk of the benchmark layer, timed inside the step); the weight gradient uses
    # that copy before the input gradient's im2col-sized buffer pushes it out.
    def work(i: int) -> None:
        part, g = chunks[i], gy[chunks[i]]
        if bias_grad and not bias_in_product:
            gb_parts[i] = _bias_grad(g)
        gymat = _as_gymat(g) if input_grad else None
        if x is not None:
            part_cols = cols[i] if cols else None
            gw_parts[i] = _weight_grad(
                x[part], g, gymat, part_cols, spec, kernel_hw, serial, ones_row
            )
        if input_grad:
            gx_parts[i] = _input_grad(gymat, w, spec, (len(g), *x_shape[1:]), serial)
            if serial:
                gx[part] = gx_parts[i]  # while it is still in this core's cache

    threads.run_split(work, len(chunks))
    if input_grad and not serial:
        gx = gx_parts[0]
    gw = gb = None
    if x is not None:
        gw_t = _chunk_sum(gw_parts)
        rows = x.shape[1] // spec.groups * taps
        gw = gw_t[:rows].T.reshape(gy.shape[1], x.shape[1] // spec.groups, *kernel_hw)
        if bias_in_product:
            gb = gw_t[rows]
    if bias_grad and not bias_in_product:
        gb = _chunk_sum(gb_parts)
    return gx, gw, gb


def _backward_images(
    gemm: Any,
    chunks: list[slice],
    gy: np.ndarray,
    spec: ConvSpec,
    x_shape: tuple,
    kernel_hw: tuple,
    w: np.ndarray | None,
    x: np.ndarray | None,
    bias_grad: bool,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """``_backward`` on the image-by-image route (one group; see IMAGE_PLANE).

    No im2col buffer is kept from the forward: each image's is made again, in cache.
    The bias gradient rides in the weight gradient's product when there is one.
    """
    n, o = gy.shape[:2]
    rows = x_shape[1] * kernel_hw[0] * kernel_hw[1]
    dtype, nothing = gy.dtype, np.empty((0, 1, 1, 1), dtype=gy.dtype)
    gy3 = gy.reshape(n, o, gy.shape[2] * gy.shape[3])
    gx = np.empty(x_shape, dtype=dtype) if w is not None else nothing
    w_mat = w.reshape(o, rows) if w is not None else np.empty((0, 0), dtype=dtype)
    bias_in_product = bias_grad and x is not None
    gw_rows = rows + bias_in_product if x is not None else 0
    gw_parts = [np.zeros((gw_rows, o), dtype=dtype) for _ in chunks]
    gb_parts: list[np.ndarray | None] = [None] * len(chunks)
    args = spec.kernel_args(*kernel_hw)
    xs = x if x is not None else nothing

    def images(i: int) -> None:
        part = chunks[i]
        if bias_grad and not bias_in_product:
            gb_parts[i] = _bias_grad(gy[part])
        conv_backward_images(gemm, xs, w_mat, gy3, gx, gw_parts[i], part.start, part.stop, *args)

    threads.run_split(images, len(chunks))
    gw = gb = None
    if x is not None:
        gw_t = _chunk_sum(gw_parts)
        gw = gw_t[:rows].T.reshape(o, x_shape[1], *kernel_hw)
        if bias_in_product:
            gb = gw_t[rows]
    if bias_grad and not bias_in_product:
        gb = _chunk_sum(gb_parts)
    return (gx if w is not None else None), gw, gb


def _bias_grad(g: np.ndarray) -> np.ndarray:
    """dL/db of a conv for its upstream gradient g (N, O, OH, OW): the sum over N, OH, OW.

    A matrix-vector product over the contiguous (image, channel) planes: 4x faster than
    g.sum(axis=(0, 2, 3)), whose reduction runs over strided axes.
    """
    m, o = g.shape[:2]
    plane = g.shape[2] * g.shape[3]
    planes = g.reshape(m * o, plane) @ np.ones(plane, dtype=g.dtype)
    return planes.reshape(m, o).sum(axis=0)


def _chunk_sum(parts: list[np.ndarray]) -> np.ndarray:
    """The chunks' partial sums added in chunk order, so the result does not depend on
    which thread finished first."""
    total = parts[0]
    for more in parts[1:]:
        total += more
    return total


class Conv2d(Function):
    rule = "gx = conv_transpose2d(gy, W), gW = conv2d_weight_grad(x, gy), gb = sum(gy, (0, 2, 3))"

    def __init__(self, spec: ConvSpec) -> None:
        self.spec = spec

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        _check_dtypes("conv2d", x, w, b)
        oh, ow = _check_conv("conv2d", x, w, self.spec)
        if b is not None and b.shape != (w.shape[0],):
            raise ValueError(f"conv2d: bias must have shape ({w.shape[0]},), got {b.shape}")
        out = x.dtype
        x, w = kernel_array(x), kernel_array(w)
        y, cached = _forward(x, w, None if b is None else kernel_array(b), self.spec, oh, ow)
        if is_grad_enabled() and sum(c.nbytes for c in cached.cols) <= COLS_CACHE_BYTES:
            self.saved = cached
        return as_result(y, out)

    def backward_arrays(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, w = self.inputs[0], self.inputs[1]
        gy = np.ascontiguousarray(gy, dtype=kernel_dtype(x.dtype))
        cached = getattr(self, "saved", None)
        self.saved = None
        with_bias = len(self.inputs) == 3
        gx, gw, gb = _backward(
            gy,
            self.spec,
            x.shape,
            w.shape[2:],
            w=kernel_array(w.data) if x.requires_grad else None,
            x=kernel_array(x.data) if w.requires_grad else None,
            cached=cached,
            bias_grad=with_bias and self.inputs[2].requires_grad,
        )
        return (gx, gw, gb) if with_bias else (gx, gw)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        x, w = self.inputs[0], self.inputs[1]
        gy = cast_like(gy, x)
        gx = gw = None
        if x.requires_grad:
            gx = ConvTranspose2d(self.spec, x.shape[2:])(gy, w)
        if w.requires_grad:
            cached = getattr(self, "saved", None)
            gw = Conv2dWeightGrad(self.spec, w.shape[2:], cached)(x, gy)
        if len(self.inputs) == 2:
            return gx, gw
        gb = gy.sum(axis=(0, 2, 3)) if self.inputs[2].requires_grad else None
        return gx, gw, gb


class ConvTranspose2d(Function):
    """conv^T(g, W): g (N, O, OH, OW) -> (N, C, H, W) for the conv of an (H, W) input by W."""

    name = "conv_transpose2d"
    rule = "gg = conv2d(gz, W), gW = conv2d_weight_grad(gz, g)"

    def __init__(self, spec: ConvSpec, out_hw: tuple[int, int]) -> None:
        self.spec = spec
        self.out_hw = tuple(out_hw)

    def forward(self, g: np.ndarray, w: np.ndarray) -> np.ndarray:
        _check_dtypes("conv_transpose2d", g, w)
        groups = self.spec.groups
        if g.ndim != 4 or w.ndim != 4 or g.shape[1] != w.shape[0] or w.shape[0] % groups:
            raise ValueError(
                f"conv_transpose2d: expects input (N, C_in, H, W) and weight (C_in, "
                f"C_out/groups, KH, KW) with C_in divisible by groups={groups}, got input "
                f"{g.shape} and weight {w.shape}"
            )
        n, o = g.shape[:2]
        x_shape = (n, w.shape[1] * groups, *self.out_hw)
        if self.spec.out_hw(*self.out_hw, *w.shape[2:]) != g.shape[2:]:
            raise ValueError(
                f"conv_transpose2d: an output of size {self.out_hw} does not convolve back to "
                f"the input's size {g.shape[2:]} with weight {w.shape}"
            )
        w = kernel_array(w)
        gx, _, _ = _backward(kernel_array(g), self.spec, x_shape, w.shape[2:], w=w)
        return as_result(gx, g.dtype)

    def backward(self, gz: Tensor) -> tuple[Tensor | None, Tensor | None]:
        g, w = self.inputs
        gz = cast_like(gz, g)
        gg = Conv2d(self.spec)(gz, w) if g.requires_grad else None
        gw = Conv2dWeightGrad(self.spec, w.shape[2:])(gz, g) if w.requires_grad else None
        return gg, gw


class Conv2dWeightGrad(Function):
    """dL/dW of ``conv2d(x, W)`` given x and gy (N, O, OH, OW): gymat @ cols.T per group."""

    name = "conv2d_weight_grad"
    rule = "gx = conv_transpose2d(gy, gW), ggy = conv2d(x, gW)"

    def __init__(
        self,
        spec: ConvSpec,
        kernel_hw: tuple[int, int],
        cached: ColsCache | None = None,
    ) -> None:
        self.spec = spec
        self.kernel_hw = tuple(kernel_hw)
        self.saved = cached

    def forward(self, x: np.ndarray, gy: np.ndarray) -> np.ndarray:
        _check_dtypes("conv2d_weight_grad", x, gy, names=("gradient",))
        out = x.dtype
        x, gy = kernel_array(x), kernel_array(gy)
        _, gw, _ = _backward(gy, self.spec, x.shape, self.kernel_hw, x=x, cached=self.saved)
        self.saved = None  # the cache served this one product
        return as_result(gw, out)

    def backward(self, gw: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, gy = self.inputs
        gw = cast_like(gw, x)
        gx = ConvTranspose2d(self.spec, x.shape[2:])(gy, gw) if x.requires_grad else None
        ggy = Conv2d(self.spec)(x, gw) if gy.requires_grad else None
        return gx, ggy


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as in every deep-learning library) of NCHW input.

    Args:
        x: input (N, C, H, W).
        weight: filters (O, C/groups, KH, KW), same dtype as ``x``.
        bias: optional (O,), added to every output pixel of its channel.
        stride, padding, dilation: an int or an (h, w) pair; padding adds zeros.
        groups: split C and O into this many independent blocks (C for depthwise).

    Returns:
        (N, O, OH, OW) with OH = (H + 2*padding - dilation*(KH-1) - 1)//stride + 1.

    Raises:
        ValueError naming the shapes when the configuration is impossible (channel
        mismatch, O not divisible by groups, output smaller than 1x1, not 4-D);
        TypeError when the dtypes differ or are not float16, float32 or float64
        (float16 is computed in float32; a '>f4' array counts as float32).

    Example (a 2x2 box filter sums each window):
        >>> import numpy as np
        >>> import autodiff as ad
        >>> x = ad.tensor(np.arange(9.0, dtype=np.float32).reshape(1, 1, 3, 3))
        >>> ad.conv2d(x, ad.tensor(np.ones((1, 1, 2, 2), np.float32))).numpy().tolist()
        [[[[8.0, 12.0], [20.0, 24.0]]]]
    """
    fn = Conv2d(ConvSpec.make("conv2d", stride, padding, dilation, groups))
    return fn(x, weight) if bias is None else fn(x, weight, bias)


def conv_transpose2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """Transposed convolution: the gradient of ``conv2d`` w.r.t. its input, as an op.

    ``weight`` has shape (C_in, C_out/groups, KH, KW), as in PyTorch; the output is
    (N, C_out, H_out, W_out) with H_out = (H-1)*stride - 2*padding + dilation*(KH-1)
    + output_padding + 1. ``output_padding`` (< stride) picks among the input sizes that
    a strided ``conv2d`` maps to the same output size. (PyTorch also accepts
    output_padding < dilation; here it must be smaller than the stride.)

    Example (stride 2 spreads each pixel over a 2x2 block):
        >>> import numpy as np
        >>> import autodiff as ad
        >>> x = ad.tensor(np.array([[[[1.0, 2.0]]]], np.float32))
        >>> w = ad.tensor(np.ones((1, 1, 2, 2), np.float32))
        >>> ad.conv_transpose2d(x, w, stride=2).numpy().tolist()
        [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]]]
    """
    spec = ConvSpec.make("conv_transpose2d", stride, padding, dilation, groups)
    extra = pair(output_padding, "output_padding", "conv_transpose2d", 0)
    if extra[0] >= spec.stride[0] or extra[1] >= spec.stride[1]:
        raise ValueError(
            f"conv_transpose2d: output_padding {extra} must be smaller than the stride "
            f"{spec.stride}"
        )
    shape = x.shape if isinstance(x, Tensor) else np.shape(x)
    kshape = weight.shape if isinstance(weight, Tensor) else np.shape(weight)
    if len(shape) != 4 or len(kshape) != 4:
        raise ValueError(
            f"conv_transpose2d: expects input (N, C_in, H, W) and weight (C_in, C_out/groups, "
            f"KH, KW), got input {tuple(shape)} and weight {tuple(kshape)}"
        )
    out_hw = tuple(
        (shape[2 + a] - 1) * spec.stride[a]
        - 2 * spec.padding[a]
        + spec.dilation[a] * (kshape[2 + a] - 1)
        + extra[a]
        + 1
        for a in range(2)
    )
    if min(out_hw) < 1:
        raise ValueError(
            f"conv_transpose2d: input {tuple(shape)} with weight {tuple(kshape)}, stride "
            f"{spec.stride} and padding {spec.padding} gives output size {out_hw}; the "
            "padding is too large"
        )
    y = ConvTranspose2d(spec, out_hw)(x, weight)
    if bias is None:
        return y
    return y + reshape(bias, (1, -1, 1, 1))


# ----------------------------------------------------------------- registry
def _conv_geometry(draw: Any, st: Any, max_stride: int) -> dict[str, Any]:
    """Kernel, stride, padding (0..k-1), dilation and groups."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return {
        "kernel": (kh, kw),
        "stride": (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride))),
        "padding": (draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))),
        "dilation": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        "groups": draw(st.sampled_from([1, 1, 2])),
    }


def _channels(draw: Any, st: Any, groups: int) -> tuple[int, int, int]:
    # gradgradcheck costs (elements of x, W and the output)^2 finite differences, so a
    # case has two images or two groups or two channels per group, not all at once.
    n = draw(st.integers(1, 2)) if groups == 1 else 1
    cg = draw(st.integers(1, 2)) if n == 1 else 1
    return n, cg, draw(st.integers(1, 2))


def _kwargs(geo: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    # Plain ints for square settings, so the int form of each argument is exercised too.
    return {k: (geo[k][0] if geo[k][0] == geo[k][1] else geo[k]) for k in keys}


def _with_bias(draw: Any, st: Any, arrays: list[Any], channels: int) -> list[Any]:
    if draw(st.booleans()):
        arrays.append(draw(st.arrays((channels,), REAL, salt=2)))
    return arrays


def _conv2d_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    geo = _conv_geometry(draw, st, max_stride=3)
    (kh, kw), groups = geo["kernel"], geo["groups"]
    # From the smallest input with a 1x1 output (kernel covers the padded input) up.
    sizes = [
        max(1, geo["dilation"][a] * (k - 1) + 1 - 2 * geo["padding"][a]) + draw(st.integers(0, 2))
        for a, k in enumerate((kh, kw))
    ]
    n, cg, og = _channels(draw, st, groups)
    x = draw(st.arrays((n, cg * groups, *sizes), REAL))
    w = draw(st.arrays((og * groups, cg, kh, kw), REAL, salt=1))
    arrays = _with_bias(draw, st, [x, w], og * groups)
    return arrays, {**_kwargs(geo, ("stride", "padding", "dilation")), "groups": groups}


def _conv_transpose2d_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    geo = _conv_geometry(draw, st, max_stride=2)
    (kh, kw), groups = geo["kernel"], geo["groups"]
    extra = tuple(draw(st.integers(0, s - 1)) for s in geo["stride"])
    # H_out >= 1 needs (H-1)*S + D*(K-1) + output_padding >= 2P.
    sizes = []
    for a, k in enumerate((kh, kw)):
        s, p, d = geo["stride"][a], geo["padding"][a], geo["dilation"][a]
        short = 2 * p - d * (k - 1) - extra[a]
        sizes.append(max(1, 1 + -(-short // s)) + draw(st.integers(0, 1)))
    n, cg, og = _channels(draw, st, groups)
    x = draw(st.arrays((n, cg * groups, *sizes), REAL))
    w = draw(st.arrays((cg * groups, og, kh, kw), REAL, salt=1))
    arrays = _with_bias(draw, st, [x, w], og * groups)
    kwargs = _kwargs(geo, ("stride", "padding", "dilation"))
    return arrays, {**kwargs, "output_padding": extra, "groups": groups}


_CONV_FUNCTIONS = (Conv2d, ConvTranspose2d, Conv2dWeightGrad)
register("conv2d", conv2d, functions=_CONV_FUNCTIONS, shapes="custom", cases=_conv2d_case)
register(
    "conv_transpose2d",
    conv_transpose2d,
    functions=_CONV_FUNCTIONS,
    shapes="custom",
    cases=_conv_transpose2d_case,
)
