"""2-D pooling (NCHW): ``max_pool2d``, ``avg_pool2d`` and ``global_avg_pool2d``.

The window ops run on the numba kernels in ``autodiff.kernels.pool``. Each backward is
a node of its own, so second derivatives work:

* max pooling routes ``gy`` to the window's maximum (ties split evenly, as for ``max``).
  For a fixed input that routing is linear in ``gy``; its adjoint, the *gather* of a
  gradient from the argmax elements, is the backward of the backward, and vice versa.
  The routing itself is piecewise constant in ``x``, so it contributes no second
  derivative w.r.t. ``x``.
* average pooling is linear; its backward spreads ``gy / (KH*KW)`` over each window
  and the backward of that spreading is average pooling again.

Padding follows PyTorch: at most half the kernel; max pooling pads with -inf, average
pooling with zeros that count in the divisor (``count_include_pad=True``). Output sizes
use floor mode: OH = (H + 2*padding - KH)//stride + 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..kernels import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    max_pool2d_gather,
)
from ..kernels.reference import (
    avg_pool2d_backward_ref,
    avg_pool2d_forward_ref,
    max_pool2d_backward_ref,
    max_pool2d_forward_ref,
    max_pool2d_gather_ref,
)
from ..registry import REAL, register
from ..tensor import Tensor
from ._util import as_result, check_float, kernel_array
from .conv import cast_like, pair, run_kernel
from .reductions import Mean, mean

__all__ = ["max_pool2d", "avg_pool2d", "global_avg_pool2d"]

#: (kh, kw, sh, sw, ph, pw): the hyper-parameters in the order the kernels take them
PoolArgs = tuple[int, int, int, int, int, int]


def _pool_args(op: str, kernel_size: Any, stride: Any, padding: Any) -> PoolArgs:
    kh, kw = pair(kernel_size, "kernel_size", op, 1)
    sh, sw = pair(kernel_size if stride is None else stride, "stride", op, 1)
    ph, pw = pair(padding, "padding", op, 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"{op}: padding {(ph, pw)} must be at most half the kernel size {(kh, kw)}"
        )
    return kh, kw, sh, sw, ph, pw


def _check_input(op: str, x: np.ndarray, args: PoolArgs) -> np.ndarray:
    """x as the kernels take it (``kernel_array``), after checking the window fits."""
    kh, kw, sh, sw, ph, pw = args
    if x.ndim != 4:
        raise ValueError(f"{op}: expects input (N, C, H, W), got shape {x.shape}")
    check_float(op, x)
    h, w = x.shape[2] + 2 * ph, x.shape[3] + 2 * pw
    if h < kh or w < kw:
        raise ValueError(
            f"{op}: input {x.shape} with padding {(ph, pw)} is smaller than the kernel {(kh, kw)}"
        )
    return kernel_array(x)


class MaxPool2d(Function):
    name = "max_pool2d"
    rule = "gx = gy routed to each window's max (split among ties)"

    def __init__(self, args: PoolArgs) -> None:
        self.args = args

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = x.dtype
        x = _check_input("max_pool2d", x, self.args)
        y = run_kernel(max_pool2d_forward, max_pool2d_forward_ref, x.size, x, *self.args)
        self.saved = (x, y)
        return as_result(y, out)

    def backward(self, gy: Tensor) -> Tensor:
        x, y = self.saved
        return MaxPool2dBackward(self.args, x, y)(cast_like(gy, x))


class MaxPool2dBackward(Function):
    """gy -> gx for fixed (x, y): linear in gy; its adjoint is ``MaxPool2dGather``."""

    name = "max_pool2d_backward"
    rule = "ggy = gather(ggx at each window's max) / count(ties)"

    def __init__(self, args: PoolArgs, x: np.ndarray, y: np.ndarray) -> None:
        self.args, self.x, self.y = args, x, y

    def forward(self, gy: np.ndarray) -> np.ndarray:
        gx = run_kernel(
            max_pool2d_backward,
            max_pool2d_backward_ref,
            self.x.size,
            kernel_array(gy),
            self.x,
            self.y,
            *self.args,
        )
        return as_result(gx, gy.dtype)

    def backward(self, ggx: Tensor) -> Tensor:
        return MaxPool2dGather(self.args, self.x, self.y)(cast_like(ggx, self.x))


class MaxPool2dGather(Function):
    """ggx -> ggy: the mean of ggx over each window's max elements (adjoint of the above)."""

    name = "max_pool2d_gather"
    rule = "g = max_pool2d_backward(gz)"

    def __init__(self, args: PoolArgs, x: np.ndarray, y: np.ndarray) -> None:
        self.args, self.x, self.y = args, x, y

    def forward(self, ggx: np.ndarray) -> np.ndarray:
        args = (kernel_array(ggx), self.x, self.y, *self.args)
        ggy = run_kernel(max_pool2d_gather, max_pool2d_gather_ref, ggx.size, *args)
        return as_result(ggy, ggx.dtype)

    def backward(self, gz: Tensor) -> Tensor:
        return MaxPool2dBackward(self.args, self.x, self.y)(cast_like(gz, self.x))


class AvgPool2d(Function):
    name = "avg_pool2d"
    rule = "gx = gy / (KH*KW) spread over each window"

    def __init__(self, args: PoolArgs) -> None:
        self.args = args

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = x.dtype
        x = _check_input("avg_pool2d", x, self.args)
        y = run_kernel(avg_pool2d_forward, avg_pool2d_forward_ref, x.size, x, *self.args)
        return as_result(y, out)

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0].data
        return AvgPool2dBackward(self.args, x.shape)(cast_like(gy, x))


class AvgPool2dBackward(Function):
    """gy -> gx of average pooling (linear); its adjoint is average pooling itself."""

    name = "avg_pool2d_backward"
    rule = "ggy = avg_pool2d(ggx)"

    def __init__(self, args: PoolArgs, x_shape: tuple[int, ...]) -> None:
        self.args, self.x_shape = args, tuple(x_shape)

    def forward(self, gy: np.ndarray) -> np.ndarray:
        size = int(np.prod(self.x_shape))
        args = (kernel_array(gy), self.x_shape, *self.args)
        gx = run_kernel(avg_pool2d_backward, avg_pool2d_backward_ref, size, *args)
        return as_result(gx, gy.dtype)

    def backward(self, ggx: Tensor) -> Tensor:
        return AvgPool2d(self.args)(ggx)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Maximum over each (KH, KW) window of NCHW input.

    ``stride`` defaults to ``kernel_size``; ``padding`` (at most half the kernel) pads
    with -inf, so it never wins. Tied maxima share the gradient evenly.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> x = ad.tensor(np.array([[[[1.0, 3.0], [3.0, 0.0]]]], np.float32), requires_grad=True)
        >>> y = ad.max_pool2d(x, 2)
        >>> y.backward(np.ones((1, 1, 1, 1), np.float32))
        >>> y.item(), x.grad.numpy().tolist()
        (3.0, [[[[0.0, 0.5], [0.5, 0.0]]]])
    """
    return MaxPool2d(_pool_args("max_pool2d", kernel_size, stride, padding))(x)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    """Mean over each (KH, KW) window of NCHW input; zero padding counts in the mean.

    ``stride`` defaults to ``kernel_size``; ``padding`` is at most half the kernel.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> x = ad.tensor(np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4))
        >>> ad.avg_pool2d(x, 2).numpy().tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return AvgPool2d(_pool_args("avg_pool2d", kernel_size, stride, padding))(x)


def global_avg_pool2d(x: Any, keepdims: bool = False) -> Tensor:
    """Mean over H and W of NCHW input: (N, C), or (N, C, 1, 1) with ``keepdims``.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> ad.global_avg_pool2d(ad.tensor(np.ones((2, 3, 4, 5), np.float32))).shape
        (2, 3)
    """
    ndim = x.ndim if isinstance(x, Tensor) else np.ndim(x)
    if ndim != 4:
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)
        raise ValueError(f"global_avg_pool2d: expects input (N, C, H, W), got shape {shape}")
    return mean(x, axis=(2, 3), keepdims=keepdims)


# ----------------------------------------------------------------- registry
def _pool_case(draw: Any, st: Any, ranked: bool) -> tuple[list[Any], dict[str, Any]]:
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    # Sizes from "kernel covers the whole padded input" to a few windows more.
    h = max(1, kh - 2 * ph) + draw(st.integers(0, 3))
    w = max(1, kw - 2 * pw) + draw(st.integers(0, 3))
    shape = (1, draw(st.integers(1, 2)), h, w)
    x = draw(st.arrays(shape, REAL))
    if ranked:
        # Values 0.1 apart: finite differences never swap which element is the max.
        x = np.argsort(np.argsort(x, axis=None)).reshape(shape) * 0.1 - 0.05 * x.size
    stride = None if draw(st.booleans()) else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kernel = kh if kh == kw else (kh, kw)
    return [x], {"kernel_size": kernel, "stride": stride, "padding": (ph, pw)}


def _global_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *draw(st.shapes(2, 2)))
    return [draw(st.arrays(shape, REAL))], {"keepdims": draw(st.booleans())}


register(
    "max_pool2d",
    max_pool2d,
    functions=(MaxPool2d, MaxPool2dBackward, MaxPool2dGather),
    shapes="custom",
    cases=lambda draw, st: _pool_case(draw, st, ranked=True),
)
register(
    "avg_pool2d",
    avg_pool2d,
    functions=(AvgPool2d, AvgPool2dBackward),
    shapes="custom",
    cases=lambda draw, st: _pool_case(draw, st, ranked=False),
)
register(
    "global_avg_pool2d", global_avg_pool2d, functions=(Mean,), shapes="custom", cases=_global_case
)
