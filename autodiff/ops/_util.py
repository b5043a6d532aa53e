"""Small helpers shared by op definitions (axis handling, constants)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from ..function import user_call_site, where
from ..tensor import Tensor


def arg_error(op: str, message: str, kind: type[Exception] = ValueError) -> Exception:
    """An exception for a bad argument of ``op`` that names the op and the user's line."""
    return kind(f"{op} at {where(user_call_site(2))}: {message}")


def shape_arg(op: str, shape: Any) -> tuple[int, ...]:
    """A shape argument (an integer, or an iterable or array of integers) as a tuple of ints."""
    if type(shape) is tuple and all(type(n) is int for n in shape):
        return shape  # the engine's own calls: nothing to convert
    try:
        if isinstance(shape, (int, np.integer)) or getattr(shape, "ndim", None) == 0:
            return (operator.index(shape),)
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        raise arg_error(
            op, f"a shape must be an integer or a sequence of integers, got {shape!r}", TypeError
        ) from None


def axis_arg(op: str, axis: Any, shape: tuple[int, ...]) -> int:
    """One axis of an array of ``shape`` (negatives count from the end) as an int >= 0."""
    ndim = len(shape)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise arg_error(op, f"axis must be an int, got {axis!r}", TypeError)
    if not -ndim <= axis < ndim:
        raise arg_error(op, f"axis {axis} is out of range for a tensor of shape {shape}")
    return int(axis) % ndim


def normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axis argument (None, int or tuple, negatives allowed) as a sorted tuple of ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):  # numpy lets a 0-d array take 0 and -1
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    axes = normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class _Ones(dict):
    """dtype -> a read-only 0-d array holding 1 in that dtype, made on first use.

    ``1 - y * y`` with a Python int converts the int on every call, which costs as much
    as a whole operation on a small array; the same 1 as a 0-d array of ``y``'s dtype
    gives the same result (same dtype, same rounding) without that conversion.
    """

    def __missing__(self, dtype: np.dtype) -> np.ndarray:
        one = np.ones((), dtype)
        one.flags.writeable = False
        self[dtype] = one
        return one


#: ``ONES[y.dtype] - y * y``: see ``_Ones``
ONES = _Ones()


def constant(array: np.ndarray) -> Tensor:
    """Wrap an array the backward uses as a constant (no graph)."""
    return Tensor(array, _copy=False)


def tensor_of(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from ..tensor import as_array

    return Tensor(as_array(x, None if like is None else like.data.dtype), _copy=False)
