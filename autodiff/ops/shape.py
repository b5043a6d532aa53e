"""Shape ops: reshape, transpose, broadcast_to, sum_to, getitem, concatenate, split, pad...

These move or copy values without changing them, so each backward is the
inverse movement: reshape back, transpose with the inverse permutation, sum
a broadcast back (``sum_to``), scatter-add a selection back (``getitem``).
``broadcast_to`` and ``sum_to`` are each other's backward; the engine uses
``sum_to`` to reduce every broadcast gradient in one place.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from ..function import Function, _as_tensors, is_grad_enabled
from ..registry import REAL, register
from ..tensor import Tensor
from ._util import arg_error, axis_arg, shape_arg


class Reshape(Function):
    rule = "gx = reshape(gy, x.shape)"
    reads_inputs = False

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.shape)

    def backward(self, gy: Tensor) -> Tensor:
        return reshape(gy, self.inputs[0].shape)

    def backward_arrays(self, gy):
        return gy.reshape(self.inputs[0].data.shape)


class Transpose(Function):
    rule = "gx = transpose(gy, inverse(axes))"
    reads_inputs = False

    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        self.axes = axes

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.transpose(x, self.axes)

    def backward(self, gy: Tensor) -> Tensor:
        if self.axes is None:
            return transpose(gy)
        return transpose(gy, tuple(np.argsort([a % gy.ndim for a in self.axes])))

    def backward_arrays(self, gy):
        if self.axes is None:
            return np.transpose(gy)
        return np.transpose(gy, np.argsort([a % gy.ndim for a in self.axes]))


class BroadcastTo(Function):
    rule = "gx = sum_to(gy, x.shape)"
    reads_inputs = False

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(x, self.shape)

    def backward(self, gy: Tensor) -> Tensor:
        return sum_to(gy, self.inputs[0].shape)

    def backward_arrays(self, gy):
        return sum_to_array(gy, self.inputs[0].data.shape)


def sum_to_array(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``x`` down to ``shape`` (the inverse of numpy broadcasting)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if lead < 0 or np.broadcast_shapes(shape, x.shape) != x.shape:
        raise ValueError(f"sum_to: cannot reduce shape {x.shape} to shape {shape}")
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    if x.dtype == HALF:  # float16 summed along a strided axis stagnates (1024 + 0.5)
        y = x.sum(axis=axes, keepdims=True, dtype=SINGLE).astype(HALF)
    else:
        y = x.sum(axis=axes, keepdims=True)
    return y.reshape(shape) if lead else y


class SumTo(Function):
    name = "sum_to"
    rule = "gx = broadcast_to(gy, x.shape)"
    reads_inputs = False

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return sum_to_array(x, self.shape)

    def backward(self, gy: Tensor) -> Tensor:
        return broadcast_to(gy, self.inputs[0].shape)

    def backward_arrays(self, gy):
        return np.broadcast_to(gy, self.inputs[0].data.shape)


def _plain_index(index: Any) -> Any:
    """The index with Tensors unwrapped and arrays and lists copied: the backward reads
    it again, and the caller may change their index array in the meantime."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data.copy()
    if isinstance(index, np.ndarray):
        return index.copy()
    if isinstance(index, list):
        try:
            arr = np.asarray(index)
        except (TypeError, ValueError):  # Tensors or ragged items inside
            arr = None
        if arr is not None and arr.dtype.kind in "biu":
            return arr  # a new array: numpy reads a list of ints or bools the same way
        return [_plain_index(i) for i in index]  # ([] or other items: numpy's own reading)
    return index


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice, np.integer)) or p is None or p is Ellipsis for p in parts)


class GetItem(Function):
    name = "getitem"
    rule = "gx = scatter_add(zeros_like(x), index, gy)"
    reads_inputs = False

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = x[self.index]
        # Basic indexing returns a view; copy so later in-place updates of x never show through.
        return y.copy() if isinstance(y, np.ndarray) and y.base is not None else y

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0]
        return GetItemGrad(self.index, x.shape)(gy)


class GetItemGrad(Function):
    """Scatter-add ``gy`` into zeros of the input's shape (repeated indices accumulate)."""

    name = "getitem_grad"
    rule = "gx = getitem(gy, index)"
    reads_inputs = False

    def __init__(self, index: Any, shape: tuple[int, ...]) -> None:
        self.index = index
        self.shape = shape

    def forward(self, gy: np.ndarray) -> np.ndarray:
        gx = np.zeros(self.shape, dtype=gy.dtype)
        if _is_basic(self.index):
            gx[self.index] = gy
        else:
            np.add.at(gx, self.index, gy)
        return gx

    def backward(self, ggx: Tensor) -> Tensor:
        return getitem(ggx, self.index)


class Concatenate(Function):
    rule = "gx_i = the i-th slice of gy along axis"
    reads_inputs = False

    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        return np.concatenate(xs, axis=self.axis)

    def backward(self, gy: Tensor) -> tuple[Tensor, ...]:
        sizes = np.cumsum([x.shape[self.axis] for x in self.inputs])[:-1]
        return split(gy, [int(s) for s in sizes], axis=self.axis)


class Split(Function):
    rule = "gx = concatenate(gys, axis)"
    reads_inputs = False

    def __init__(self, indices: Any, axis: int = 0) -> None:
        self.indices = indices
        self.axis = axis

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        if np.ndim(self.indices) == 1:  # indices (a count of sections needs no check)
            # np.split takes indices in any order, but pieces that overlap or leave a gap
            # would not concatenate back into x, which is what the gradient does
            n = x.shape[self.axis]
            at = [min(max(int(i) + n if i < 0 else int(i), 0), n) for i in self.indices]
            if any(a > b for a, b in zip(at, at[1:])):
                raise ValueError(
                    f"split indices {list(self.indices)} must not decrease (as positions in "
                    f"an axis of length {n}): the pieces must tile the axis"
                )
        return tuple(p.copy() for p in np.split(x, self.indices, axis=self.axis))

    def backward(self, *gys: Tensor) -> Tensor:
        return concatenate(gys, axis=self.axis)


class Pad(Function):
    rule = "gx = gy[the unpadded region]"
    reads_inputs = False

    def __init__(self, pad_width: Any, value: float = 0.0) -> None:
        self.pad_width = pad_width
        self.value = value

    def forward(self, x: np.ndarray) -> np.ndarray:
        width = np.broadcast_to(np.asarray(self.pad_width, dtype=int), (x.ndim, 2))
        self.width = width
        return np.pad(x, width, mode="constant", constant_values=self.value)

    def backward(self, gy: Tensor) -> Tensor:
        index = tuple(
            slice(int(lo), gy.shape[i] - int(hi)) for i, (lo, hi) in enumerate(self.width)
        )
        return getitem(gy, index)


class Copy(Function):
    rule = "gx = gy"
    reads_inputs = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.copy()

    def backward(self, gy: Tensor) -> Tensor:
        return gy


class AsType(Function):
    name = "astype"
    rule = "gx = gy (cast back to x.dtype)"
    reads_inputs = False

    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.astype(self.dtype)

    def backward(self, gy: Tensor) -> Tensor:
        # The engine casts every gradient to its input's dtype.
        return gy


def _unchanged(x: Any, shape: tuple[int, ...]) -> bool:
    """Whether ``x`` can stand for its own reshape (or broadcast, or sum) to ``shape``.

    Only when ``x`` wants no gradient: in a graph the result is a node of its own, so that
    ``grad()`` and ``retain_grad()`` tell it apart from ``x`` (as in PyTorch), and under
    ``no_grad`` it is a new tensor that does not require grad, as every op's output there.
    """
    return isinstance(x, Tensor) and x.shape == shape and not x.requires_grad


def reshape(x: Any, shape: Any) -> Tensor:
    """Same values in a new shape (one dimension may be -1).

    Example:
        >>> import autodiff as ad
        >>> ad.reshape(ad.tensor([1.0, 2.0, 3.0, 4.0]), (2, 2)).shape
        (2, 2)
    """
    shape = shape_arg("reshape", shape)
    if _unchanged(x, shape):
        return x
    return Reshape(shape)(x)


def transpose(x: Any, axes: Any = None) -> Tensor:
    """Permute axes (reverse them when ``axes`` is None), like ``np.transpose``.

    Example:
        >>> import autodiff as ad
        >>> ad.transpose(ad.tensor([[1.0, 2.0, 3.0]])).shape
        (3, 1)
    """
    return Transpose(None if axes is None else tuple(axes))(x)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes (a transpose).

    Example:
        >>> import autodiff as ad
        >>> ad.swapaxes(ad.tensor([[[1.0, 2.0]]]), 0, 2).shape
        (2, 1, 1)
    """
    shape = x.shape if isinstance(x, Tensor) else np.shape(x)
    axis1, axis2 = axis_arg("swapaxes", axis1, shape), axis_arg("swapaxes", axis2, shape)
    axes = list(range(len(shape)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """Repeat values along new or length-1 axes to reach ``shape`` (numpy rules).

    Example:
        >>> import autodiff as ad
        >>> ad.broadcast_to(ad.tensor([1.0, 2.0]), (3, 2)).shape
        (3, 2)
    """
    shape = shape_arg("broadcast_to", shape)
    if _unchanged(x, shape):
        return x
    return BroadcastTo(shape)(x)


def sum_to(x: Any, shape: Any) -> Tensor:
    """Sum over the axes that broadcasting to ``x.shape`` would have added.

    This is the gradient of ``broadcast_to``; the engine applies it whenever an
    op's gradient is larger than the input it belongs to.

    Example:
        >>> import autodiff as ad
        >>> ad.sum_to(ad.tensor([[1.0, 2.0], [3.0, 4.0]]), (1, 2))
        Tensor([[4., 6.]])
    """
    shape = shape_arg("sum_to", shape)
    if _unchanged(x, shape):
        return x
    return SumTo(shape)(x)


def expand_dims(x: Any, axis: Any) -> Tensor:
    """Insert length-1 axes at ``axis``.

    Example:
        >>> import autodiff as ad
        >>> ad.expand_dims(ad.tensor([1.0, 2.0]), 0).shape
        (1, 2)
    """
    return reshape(x, _new_shape("expand_dims", np.expand_dims, x, axis))


def squeeze(x: Any, axis: Any = None) -> Tensor:
    """Remove length-1 axes (all of them, or those in ``axis``).

    Example:
        >>> import autodiff as ad
        >>> ad.squeeze(ad.tensor([[1.0], [2.0]])).shape
        (2,)
    """
    return reshape(x, _new_shape("squeeze", np.squeeze, x, axis))


def _new_shape(op: str, numpy_fn: Any, x: Any, axis: Any) -> tuple[int, ...]:
    # numpy works the shape out (on an empty stand-in); its complaints get the op's name
    shape = x.shape if isinstance(x, Tensor) else np.shape(x)
    try:
        return numpy_fn(np.empty(shape, dtype=bool), axis).shape
    except (ValueError, TypeError) as err:
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise arg_error(op, f"{err} (tensor shape {shape}, axis {axis!r})", kind) from None


def flatten(x: Any, start_axis: int = 0) -> Tensor:
    """Merge the axes from ``start_axis`` on into one (``start_axis=1`` keeps the batch).

    Example:
        >>> import autodiff as ad
        >>> import numpy as np
        >>> ad.flatten(ad.tensor(np.zeros((2, 3, 4), np.float32)), 1).shape
        (2, 12)
    """
    shape = x.shape if isinstance(x, Tensor) else np.shape(x)
    start_axis = axis_arg("flatten", start_axis, shape or (1,))  # a 0-d tensor flattens to (1,)
    # the merged length spelled out: numpy cannot infer -1 for an empty batch
    return reshape(x, tuple(shape[:start_axis]) + (math.prod(shape[start_axis:]),))


def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]`` with numpy semantics (slices, integer arrays, boolean masks).

    The backward scatter-adds, so an index repeated twice receives twice the gradient.

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> x[[0, 0, 2]].sum().backward()
        >>> x.grad
        Tensor([2., 0., 1.])
    """
    return GetItem(_plain_index(index))(x)


def concatenate(xs: Any, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis.

    Example:
        >>> import autodiff as ad
        >>> ad.concatenate([ad.tensor([1.0]), ad.tensor([2.0, 3.0])]).shape
        (3,)
    """
    if axis is None:  # numpy's meaning: flatten every input first
        return Concatenate(0)(*[reshape(x, -1) for x in xs])
    return Concatenate(axis)(*xs)


def stack(xs: Any, axis: int = 0) -> Tensor:
    """Join tensors along a new axis (``expand_dims`` then ``concatenate``).

    Example:
        >>> import autodiff as ad
        >>> ad.stack([ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0])]).shape
        (2, 2)
    """
    xs = list(xs)
    if not xs:
        raise ValueError("stack: need at least one tensor")
    if not all(isinstance(x, Tensor) for x in xs):
        xs = list(_as_tensors(tuple(xs)))  # numbers take the dtype of a float tensor among them
    shape = xs[0].shape if isinstance(xs[0], Tensor) else np.shape(xs[0])
    if isinstance(axis, (int, np.integer)) and not -len(shape) - 1 <= axis <= len(shape):
        raise arg_error(
            "stack",
            f"axis {axis} is out of range for stacking tensors of shape {shape}: the new "
            f"axis goes from {-len(shape) - 1} to {len(shape)}",
        )
    axis = axis_arg("stack", axis, (*shape, 1))  # the new axis may come after the last
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> tuple[Tensor, ...]:
    """Split into pieces along ``axis`` (``np.split`` semantics); returns a tuple.

    Example:
        >>> import autodiff as ad
        >>> a, b = ad.split(ad.tensor([1.0, 2.0, 3.0, 4.0]), 2)
        >>> b
        Tensor([3., 4.])
    """
    axis = axis_arg("split", axis, x.shape if isinstance(x, Tensor) else np.shape(x))
    out = Split(indices_or_sections, axis)(x)
    return out if isinstance(out, tuple) else (out,)


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """Pad with a constant (``np.pad`` ``pad_width`` forms, constant mode).

    Example:
        >>> import autodiff as ad
        >>> ad.pad(ad.tensor([1.0, 2.0]), (1, 2))
        Tensor([0., 1., 2., 0., 0.])
    """
    return Pad(pad_width, value)(x)


def copy(x: Any) -> Tensor:
    """A copy that owns its memory (gradient passes through unchanged).

    Example:
        >>> import autodiff as ad
        >>> ad.copy(ad.tensor([1.0]))
        Tensor([1.])
    """
    return Copy()(x)


# float16 work that would overflow, cancel or stagnate in float16 (squares past 256, long
# sums) runs in float32 and is rounded once, as PyTorch's CPU kernels compute float16.
HALF = np.dtype(np.float16)
SINGLE = np.dtype(np.float32)


def widen_array(a: np.ndarray) -> np.ndarray:
    """A float16 array in float32; any other array as it is."""
    return a.astype(SINGLE) if a.dtype == HALF else a


def widen(t: Tensor) -> Tensor:
    """A float16 tensor cast to float32 (a node of the graph); any other tensor as it is."""
    return astype(t, SINGLE) if t.dtype == HALF else t


def astype(x: Any, dtype: Any) -> Tensor:
    """Cast to ``dtype``; the gradient is cast back to the input's dtype.

    Example:
        >>> import autodiff as ad
        >>> import numpy as np
        >>> ad.astype(ad.tensor([1.0]), np.float64).dtype
        dtype('float64')
    """
    if isinstance(x, Tensor) and x.dtype == np.dtype(dtype):
        # no cast needed; under no_grad the output still must not require grad
        return x if is_grad_enabled() or not x.requires_grad else x.detach()
    return AsType(dtype)(x)


# ----------------------------------------------------------------- registry
def _reshape_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = draw(st.shapes(min_dims=1))
    size = int(np.prod(shape))
    new = draw(st.factorizations(size))
    if new and draw(st.booleans()):
        k = draw(st.integers(0, len(new) - 1))
        new = new[:k] + (-1,) + new[k + 1 :]
    return [draw(st.arrays(shape, REAL))], {"shape": new}


def _transpose_params(draw: Any, st: Any, shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    ndim = len(shapes[0])
    axes = draw(st.permutations(list(range(ndim))))
    if draw(st.booleans()):
        axes = [a - ndim if draw(st.booleans()) else a for a in axes]
    return {"axes": None if draw(st.booleans()) else tuple(axes)}


def _swapaxes_params(draw: Any, st: Any, shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    ndim = len(shapes[0])
    return {"axis1": draw(st.integers(0, ndim - 1)), "axis2": draw(st.integers(-ndim, ndim - 1))}


def _broadcast_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    small, big = draw(st.broadcastable_shapes(2, expand=True))
    return [draw(st.arrays(small, REAL))], {"shape": big}


def _sum_to_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    small, big = draw(st.broadcastable_shapes(2, expand=True))
    return [draw(st.arrays(big, REAL))], {"shape": small}


def _expand_params(draw: Any, st: Any, shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    ndim = len(shapes[0]) + 1
    return {"axis": draw(st.integers(-ndim, ndim - 1))}


def _squeeze_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = list(draw(st.shapes(min_dims=1)))
    k = draw(st.integers(0, len(shape)))
    shape.insert(k, 1)
    axis = k if draw(st.booleans()) else None
    return [draw(st.arrays(tuple(shape), REAL))], {"axis": axis}


def _flatten_params(draw: Any, st: Any, shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    return {"start_axis": draw(st.integers(0, builtins.max(len(shapes[0]) - 1, 0)))}


def _getitem_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = draw(st.shapes(min_dims=1))
    x = draw(st.arrays(shape, REAL))
    return [x], {"index": draw(st.indices_for(shape))}


def _concat_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    base = list(draw(st.shapes(min_dims=1)))
    axis = draw(st.integers(0, len(base) - 1))
    n = draw(st.integers(1, 3))
    arrays = []
    for _ in range(n):
        base[axis] = draw(st.integers(1, 3))
        arrays.append(draw(st.arrays(tuple(base), REAL)))
    return arrays, {"axis": axis - len(base) if draw(st.booleans()) else axis}


def _stack_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = draw(st.shapes())
    n = draw(st.integers(1, 3))
    axis = draw(st.integers(-(len(shape) + 1), len(shape)))
    return [draw(st.arrays(shape, REAL)) for _ in range(n)], {"axis": axis}


def _split_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = list(draw(st.shapes(min_dims=1)))
    axis = draw(st.integers(0, len(shape) - 1))
    sections = draw(st.integers(1, 3))
    shape[axis] = sections * draw(st.integers(1, 2))
    if draw(st.booleans()):
        ios: Any = sections
    else:
        ios = sorted(draw(st.lists(st.integers(0, shape[axis]), max_size=3)))
    return [draw(st.arrays(tuple(shape), REAL))], {"indices_or_sections": ios, "axis": axis}


def _pad_params(draw: Any, st: Any, shapes: list[tuple[int, ...]]) -> dict[str, Any]:
    ndim = len(shapes[0])
    width = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(ndim)]
    return {"pad_width": width, "value": draw(st.sampled_from([0.0, 1.5]))}


def _tuple_sum(*xs: Tensor, **kwargs: Any) -> Tensor:
    """Run ``split`` and weight its pieces, so every output gets a gradient."""
    pieces = split(*xs, **kwargs)
    total = None
    for k, p in enumerate(pieces):
        term = (p * float(k + 1)).sum()
        total = term if total is None else total + term
    return total


def _concat(*xs: Tensor, axis: int = 0) -> Tensor:
    return concatenate(xs, axis=axis)


def _stack(*xs: Tensor, axis: int = 0) -> Tensor:
    return stack(xs, axis=axis)


def _astype_wider(x: Tensor) -> Tensor:
    # float64 -> longdouble keeps finite differences exact enough to check
    return astype(x, np.longdouble)


register("reshape", reshape, functions=(Reshape,), shapes="custom", cases=_reshape_case)
register("transpose", transpose, functions=(Transpose,), params=_transpose_params, min_dims=1)
register("swapaxes", swapaxes, functions=(Transpose,), params=_swapaxes_params, min_dims=1)
register(
    "broadcast_to", broadcast_to, functions=(BroadcastTo,), shapes="custom", cases=_broadcast_case
)
register("sum_to", sum_to, functions=(SumTo,), shapes="custom", cases=_sum_to_case)
register("expand_dims", expand_dims, functions=(Reshape,), params=_expand_params)
register("squeeze", squeeze, functions=(Reshape,), shapes="custom", cases=_squeeze_case)
register("flatten", flatten, functions=(Reshape,), params=_flatten_params, min_dims=1)
register("getitem", getitem, functions=(GetItem, GetItemGrad), shapes="custom", cases=_getitem_case)
register("concatenate", _concat, functions=(Concatenate,), shapes="custom", cases=_concat_case)
register("stack", _stack, functions=(Concatenate, Reshape), shapes="custom", cases=_stack_case)
register("split", _tuple_sum, functions=(Split,), shapes="custom", cases=_split_case)
register("pad", pad, functions=(Pad,), params=_pad_params, min_dims=1)
register("copy", copy, functions=(Copy,))
register("astype", _astype_wider, functions=(AsType,), notes="float64 -> longdouble")
