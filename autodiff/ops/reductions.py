"""Reductions: sum, mean, var, std, max, min, logsumexp, argmax/argmin.

All follow numpy's ``axis``/``keepdims`` semantics. A reduction's backward
puts the reduced axes back (``keepdims`` shape) and broadcasts the gradient
over them.

Tie convention for ``max``/``min`` (shared with ``maximum``/``minimum`` and
max-pooling): the gradient is split evenly among all elements equal to the
extreme value, so the result does not depend on element order.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from ..function import Function
from ..registry import REAL, register
from ..tensor import Tensor
from ._util import arg_error, constant, kept_shape, normalize_axis
from .elementwise import where
from .shape import HALF, SINGLE, astype, broadcast_to, reshape, widen, widen_array

# float16 reductions accumulate in float32 and round once (as PyTorch's CPU kernels do):
# numpy adds float16 along a strided axis in float16 (1024 + 0.5 is 1024, so 10,000 halves
# sum to 1024), float16 squares overflow above 256, and 1 / n is subnormal past n = 16384


def _is_half(x: Any) -> bool:
    return getattr(x, "dtype", None) == HALF


def _spread(gy: Tensor, x_shape: tuple[int, ...], axis: Any, keepdims: bool) -> Tensor:
    """Broadcast a reduction's gradient back over the reduced axes."""
    if not keepdims:
        gy = reshape(gy, kept_shape(x_shape, axis))
    return broadcast_to(gy, x_shape)


class Sum(Function):
    rule = "gx = broadcast(gy)"
    reads_inputs = False

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.dtype == HALF:
            return x.sum(axis=self.axis, keepdims=self.keepdims, dtype=SINGLE).astype(HALF)
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy: Tensor) -> Tensor:
        return _spread(gy, self.inputs[0].shape, self.axis, self.keepdims)

    def backward_arrays(self, gy):
        shape = self.inputs[0].data.shape
        if not self.keepdims:
            gy = gy.reshape(kept_shape(shape, self.axis))
        return np.broadcast_to(gy, shape)


class Mean(Function):
    rule = "gx = broadcast(gy) / n"
    reads_inputs = False

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0]
        count = x.size // builtins.max(self.output().size, 1) if x.size else 1
        gy = widen(gy)  # float16: gy / n in float32; the engine rounds it to float16 once
        return _spread(gy * (1.0 / count), x.shape, self.axis, self.keepdims)

    def backward_arrays(self, gy):
        x = self.inputs[0].data
        count = x.size // builtins.max(gy.size, 1) if x.size else 1
        gy = widen_array(gy)  # (see backward)
        if not self.keepdims:
            gy = gy.reshape(kept_shape(x.shape, self.axis))
        return np.broadcast_to(gy * np.asarray(1.0 / count, gy.dtype), x.shape)


class Max(Function):
    rule = "gx = broadcast(gy) * (x == max) / count(ties)"

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0].data
        return _spread(gy, x.shape, self.axis, self.keepdims) * constant(
            _tie_weights(x, x.max(axis=self.axis, keepdims=True), self.axis)
        )


class Min(Function):
    rule = "gx = broadcast(gy) * (x == min) / count(ties)"

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.min(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0].data
        return _spread(gy, x.shape, self.axis, self.keepdims) * constant(
            _tie_weights(x, x.min(axis=self.axis, keepdims=True), self.axis)
        )


def _tie_weights(x: np.ndarray, extreme: np.ndarray, axis: Any) -> np.ndarray:
    hit = (x == extreme).astype(x.dtype)
    return hit / hit.sum(axis=axis, keepdims=True)


class LogSumExp(Function):
    rule = "gx = broadcast(gy) * exp(x - y)"

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.dtype == HALF:  # in float32, rounded once
            return self._lse(x.astype(SINGLE)).astype(HALF)
        return self._lse(x)

    def _lse(self, x: np.ndarray) -> np.ndarray:
        # max over an empty axis has no value; the shift is arbitrary, and then the sum of no
        # terms is 0 and its log -inf, as in scipy and PyTorch
        empty_ok = {"initial": -np.inf} if x.dtype.kind == "f" else {}
        m = x.max(axis=self.axis, keepdims=True, **empty_ok)
        m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # log(0) = -inf is the answer for no terms
            y = np.log(np.exp(x - m).sum(axis=self.axis, keepdims=True)) + m
        return y if self.keepdims else y.reshape(np.sum(y, axis=self.axis).shape)

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0]
        if x.dtype == HALF:
            # y recomputed in float32 from x (exp(x - y) read through a rounded y is off by
            # up to 13% at 400); nothing but x is held, as for float32
            x, gy = astype(x, SINGLE), astype(gy, SINGLE)
            y = LogSumExp(self.axis, self.keepdims)(x)
        else:
            y = self.output()
        y = _spread(y, x.shape, self.axis, self.keepdims)
        return _spread(gy, x.shape, self.axis, self.keepdims) * (x - y).exp()


class ArgMax(Function):
    differentiable = False

    def __init__(self, axis: Any = None, keepdims: bool = False) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(x, axis=self.axis, keepdims=self.keepdims)


class ArgMin(ArgMax):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.argmin(x, axis=self.axis, keepdims=self.keepdims)


def _check_axis(x: Any, axis: Any) -> None:
    ndim = x.ndim if isinstance(x, Tensor) else np.ndim(x)
    normalize_axis(axis, ndim)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (None: all elements).

    Example:
        >>> import autodiff as ad
        >>> ad.sum(ad.tensor([[1.0, 2.0], [3.0, 4.0]]), axis=0)
        Tensor([4., 6.])
    """
    return Sum(axis, keepdims)(x)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis``.

    Example:
        >>> import autodiff as ad
        >>> ad.mean(ad.tensor([1.0, 2.0, 6.0]))
        Tensor(3.)
    """
    return Mean(axis, keepdims)(x)


def var(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis`` (``ddof=1`` for the unbiased estimate); built from mean.

    Example:
        >>> import autodiff as ad
        >>> ad.var(ad.tensor([1.0, 2.0, 3.0, 4.0]))
        Tensor(1.25)
    """
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.dtype == HALF:  # squares of 256 and more overflow: the statistics in float32
        return astype(var(astype(x, SINGLE), axis, keepdims, ddof), HALF)
    try:
        axes = normalize_axis(axis, x.ndim)
    except (ValueError, TypeError) as err:  # before mean() would report it under its name
        raise arg_error("var", f"{err} (tensor shape {x.shape})", type(err)) from None
    centered = x - mean(x, axis, keepdims=True)
    n = math.prod(x.shape[a] for a in axes)  # the count of each variance
    squares = mean(centered * centered, axis, keepdims)
    if not ddof:
        return squares
    # numpy divides by max(n - ddof, 0): inf, or nan for a zero sum, when ddof >= n
    return squares * (n / (n - ddof) if n > ddof else math.inf)


def std(x: Any, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Standard deviation, the square root of ``var``.

    Example:
        >>> import autodiff as ad
        >>> ad.std(ad.tensor([1.0, 3.0]))
        Tensor(1.)
    """
    if _is_half(x):  # the variance and its root in float32 (see var)
        return astype(std(astype(x, SINGLE), axis, keepdims, ddof), HALF)
    v = var(x, axis, keepdims, ddof)
    zero = v.data == 0
    if not zero.any():
        return v.sqrt()
    # sqrt's slope is infinite at 0: there the gradient is taken as 0 (a subgradient, as in
    # PyTorch) instead of 0 * inf = nan. The sqrt only ever sees 1 at those places, so no
    # inf appears in the graph and second derivatives stay finite too.
    return where(zero, 0.0, where(zero, 1.0, v).sqrt())


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient evenly.

    Example:
        >>> import autodiff as ad
        >>> ad.max(ad.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1)
        Tensor([5., 3.])
    """
    return Max(axis, keepdims)(x)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient evenly.

    Example:
        >>> import autodiff as ad
        >>> ad.min(ad.tensor([1.0, -5.0]))
        Tensor(-5.)
    """
    return Min(axis, keepdims)(x)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, computed without overflow.

    Example:
        >>> import autodiff as ad
        >>> round(ad.logsumexp(ad.tensor([1000.0, 1000.0])).item(), 2)
        1000.69
    """
    return LogSumExp(axis, keepdims)(x)


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Index of the maximum (an int64 tensor; not differentiable).

    Example:
        >>> import autodiff as ad
        >>> ad.argmax(ad.tensor([[1.0, 5.0], [3.0, 2.0]]), axis=1)
        Tensor([1, 0], dtype=int64)
    """
    return ArgMax(axis, keepdims)(x)


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Index of the minimum (an int64 tensor; not differentiable).

    Example:
        >>> import autodiff as ad
        >>> ad.argmin(ad.tensor([3.0, 1.0, 2.0]))
        Tensor(1, dtype=int64)
    """
    return ArgMin(axis, keepdims)(x)


def _axis_params(draw: Any, st: Any, shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    return {"axis": draw(st.axes(len(shapes[0]))), "keepdims": draw(st.booleans())}


for _fn, _classes in [
    (sum, (Sum,)),
    (mean, (Mean,)),
    (var, (Mean,)),
    (max, (Max,)),
    (min, (Min,)),
    (logsumexp, (LogSumExp,)),
]:
    register(_fn.__name__, _fn, functions=_classes, domains=(REAL,), params=_axis_params)


def _spread_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    # every side >= 2: std is not differentiable where the variance is 0
    shape = draw(st.shapes(min_dims=1, min_side=2, max_side=3))
    return [draw(st.arrays(shape, REAL))], _axis_params(draw, st, [shape])


register("std", std, functions=(Mean,), shapes="custom", cases=_spread_case)
register(
    "var_unbiased",
    var,
    functions=(Mean,),
    domains=(REAL,),
    min_dims=1,
    params=lambda draw, st, shapes: {"axis": 0, "ddof": 1} if shapes[0][0] > 1 else {"axis": 0},
)
for _fn, _cls in [(argmax, ArgMax), (argmin, ArgMin)]:
    register(
        _fn.__name__,
        _fn,
        functions=(_cls,),
        differentiable=False,
        params=lambda draw, st, shapes: {"axis": draw(st.axes(len(shapes[0]), allow_tuple=False))},
    )
