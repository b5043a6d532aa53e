"""Small helpers shared by op definitions (axis handling, constants, kernel dtypes)."""

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


# ---------------------------------------------------------------- dtypes of kernel ops
#
# The numba kernels (convolution, pooling, the LSTM step) and the fused recurrent steps
# compute in float32 or float64 in native byte order. float16 is computed in float32 and
# returned as float16 (numba has no float16; PyTorch's CPU kernels accumulate float16 in
# float32 too), and an array in swapped byte order (a '>f4' read from a file) is taken as
# its native twin and gives a native result, as numpy's arithmetic does.


def kernel_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype the kernels compute a float ``dtype`` in: float32 or float64, native order.

    numba compiles neither float16 nor a swapped byte order (a '>f4' array read from a
    file): float16 is computed in float32 (PyTorch's CPU kernels accumulate it in float32
    too) and a swapped dtype becomes its native twin.

    Example:
        >>> import numpy as np
        >>> [kernel_dtype(np.dtype(t)).name for t in ("float16", ">f4", "float64")]
        ['float32', 'float32', 'float64']
    """
    if dtype.isnative and dtype.itemsize >= 4:
        return dtype
    return np.dtype(np.float32) if dtype.itemsize < 4 else dtype.newbyteorder("=")


def kernel_array(a: np.ndarray) -> np.ndarray:
    """``a`` as the kernels take it: C-contiguous, in ``kernel_dtype`` (no copy if it is)."""
    return np.ascontiguousarray(a, dtype=kernel_dtype(a.dtype))


def as_result(y: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A kernel's result ``y`` in the op's output dtype: ``dtype`` in native byte order
    (float16 in gives float16 out; '>f4' in gives float32 out, as numpy's arithmetic does)."""
    if y.dtype == dtype and dtype.isnative:
        return y
    return y.astype(dtype.newbyteorder("="), copy=False)


def check_float(op: str, x: np.ndarray) -> None:
    """Raise a TypeError naming ``op`` unless ``x`` is a float array the kernels can take."""
    if x.dtype.kind != "f" or x.dtype.itemsize > 8:
        raise TypeError(
            f"{op}: needs a float16, float32 or float64 input, got {x.dtype} (shape {x.shape})"
        )


_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def kernel_inputs(op: str, *arrays: np.ndarray) -> tuple[np.dtype, tuple[np.ndarray, ...]]:
    """(output dtype, arrays in the compute dtype) for a fused op on several float arrays.

    The output dtype is numpy's promotion of the inputs' dtypes (float32 with float64 gives
    float64), in native byte order; the arrays are cast to its ``kernel_dtype`` (float16 to
    float32), keeping their strides, with no copy when they have it already (the float32
    and float64 hot paths). Anything but float16/32/64 is a TypeError naming ``op``.

    Example:
        >>> import numpy as np
        >>> out, (a, b) = kernel_inputs("op", np.zeros(2, np.float16), np.zeros(2, ">f2"))
        >>> out.name, a.dtype.name, b.dtype.name, b.dtype.isnative
        ('float16', 'float32', 'float32', True)
    """
    first = arrays[0].dtype
    if first is _F32 or first is _F64:  # the hot path: numpy shares these dtype objects
        for a in arrays:
            if a.dtype is not first:
                break
        else:
            return first, arrays
    for a in arrays:
        check_float(op, a)
    out = np.result_type(*arrays).newbyteorder("=")
    dt = kernel_dtype(out)
    return out, tuple(a.astype(dt, copy=False) for a in arrays)
