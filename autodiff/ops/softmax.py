"""Softmax and log-softmax over one axis, stable for inputs like [900, 1000, 1000]."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..registry import Domain, register
from ..tensor import Tensor
from .shape import astype

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)


class Softmax(Function):
    rule = "gx = y * (gy - sum(gy * y, axis))"

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def backward(self, gy: Tensor) -> Tensor:
        y = self.output()
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))

    def backward_arrays(self, gy):
        y = self.output().data
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    name = "log_softmax"
    rule = "gx = gy - exp(y) * sum(gy, axis)"

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, gy: Tensor) -> Tensor:
        y = self.output()
        return gy - y.exp() * gy.sum(axis=self.axis, keepdims=True)

    def backward_arrays(self, gy):
        y = self.output().data
        return gy - np.exp(y) * gy.sum(axis=self.axis, keepdims=True)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max so it never overflows.

    Example:
        >>> import autodiff as ad
        >>> ad.softmax(ad.tensor([900.0, 1000.0, 1000.0])).numpy().round(4).tolist()
        [0.0, 0.5, 0.5]
    """
    if getattr(x, "dtype", None) == _F16:
        # in float32, rounded once: in float16 the backward's gy - sum(gy * y) cancels for a
        # peaked softmax (a sample's gradient off by its own size at logits of +-30), and the
        # sum of exps along a strided axis stagnates at 2048
        return astype(Softmax(axis)(astype(x, _F32)), _F16)
    return Softmax(axis)(x)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed without taking the log of a rounded zero.

    Example:
        >>> import autodiff as ad
        >>> ad.log_softmax(ad.tensor([900.0, 1000.0, 1000.0]))
        Tensor([-100.6931,   -0.6931,   -0.6931])
    """
    if getattr(x, "dtype", None) == _F16:  # in float32, rounded once (see softmax)
        return astype(LogSoftmax(axis)(astype(x, _F32)), _F16)
    return LogSoftmax(axis)(x)


def _axis_param(draw: Any, st: Any, shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    return {"axis": draw(st.axes(len(shapes[0]), allow_none=False, allow_tuple=False))}


register(
    "softmax",
    softmax,
    functions=(Softmax,),
    domains=(Domain(-3, 3),),
    params=_axis_param,
    min_dims=1,
)
register(
    "log_softmax",
    log_softmax,
    functions=(LogSoftmax,),
    domains=(Domain(-3, 3),),
    params=_axis_param,
    min_dims=1,
)
