"""Softmax and log-softmax over one axis, stable for inputs like [900, 1000, 1000]."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..registry import Domain, register
from ..tensor import Tensor
from .shape import HALF, SINGLE, astype


class Softmax(Function):
    rule = "gx = y * (gy - sum(gy * y, axis))"

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        return _softmax(x, self.axis)

    def backward(self, gy: Tensor) -> Tensor:
        if self.inputs[0].dtype == HALF:
            # float16: y recomputed in float32 from x (the graph holds x anyway), not saved
            y, gy = Softmax(self.axis)(astype(self.inputs[0], SINGLE)), astype(gy, SINGLE)
        else:
            y = self.output()
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))

    def backward_arrays(self, gy):
        if self.inputs[0].dtype == HALF:
            y, gy = _softmax(self.inputs[0].data.astype(SINGLE), self.axis), gy.astype(SINGLE)
        else:
            y = self.output().data
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """softmax along ``axis``; float16 computed in float32 and rounded once."""
    half = x.dtype == HALF
    if half:
        x = x.astype(SINGLE)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e.astype(HALF) if half else e


class LogSoftmax(Function):
    name = "log_softmax"
    rule = "gx = gy - exp(y) * sum(gy, axis)"

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        half = x.dtype == HALF
        if half:
            x = x.astype(SINGLE)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        return y.astype(HALF) if half else y

    def backward(self, gy: Tensor) -> Tensor:
        if self.inputs[0].dtype == HALF:  # exp(y) from x in float32 (see Softmax)
            p, gy = Softmax(self.axis)(astype(self.inputs[0], SINGLE)), astype(gy, SINGLE)
            return gy - p * gy.sum(axis=self.axis, keepdims=True)
        y = self.output()
        return gy - y.exp() * gy.sum(axis=self.axis, keepdims=True)

    def backward_arrays(self, gy):
        if self.inputs[0].dtype == HALF:
            p, gy = _softmax(self.inputs[0].data.astype(SINGLE), self.axis), gy.astype(SINGLE)
            return gy - p * gy.sum(axis=self.axis, keepdims=True)
        y = self.output().data
        return gy - np.exp(y) * gy.sum(axis=self.axis, keepdims=True)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the max so it never overflows.

    Example:
        >>> import autodiff as ad
        >>> ad.softmax(ad.tensor([900.0, 1000.0, 1000.0])).numpy().round(4).tolist()
        [0.0, 0.5, 0.5]
    """
    return Softmax(axis)(x)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed without taking the log of a rounded zero.

    Example:
        >>> import autodiff as ad
        >>> ad.log_softmax(ad.tensor([900.0, 1000.0, 1000.0]))
        Tensor([-100.6931,   -0.6931,   -0.6931])
    """
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
