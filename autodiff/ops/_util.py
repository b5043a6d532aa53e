"""Small helpers shared by op definitions (axis handling, constants)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


def normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axis argument (None, int or tuple, negatives allowed) as a sorted tuple of ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    axes = normalize_axis(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def constant(array: np.ndarray) -> Tensor:
    """Wrap an array the backward uses as a constant (no graph)."""
    return Tensor(array, _copy=False)


def tensor_of(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    from ..tensor import as_array

    return Tensor(as_array(x, None if like is None else like.data.dtype), _copy=False)
