"""``Tensor``: an ndarray that remembers the op that made it.

A Tensor holds its value in ``data`` (a numpy array), its gradient in ``grad``
(another Tensor, filled by ``backward``) and, when it was computed by a
recorded op, a reference to that op in ``creator``. Following ``creator`` ->
``inputs`` -> ``creator`` ... walks the graph backwards; nothing points the
other way except weak references, so dropping the last Tensor frees the graph.
"""

from __future__ import annotations

import collections
import operator
import weakref
from typing import Any

import numpy as np

__all__ = ["Tensor", "tensor", "as_array", "DEFAULT_FLOAT"]

#: dtype given to Python floats and float lists (numpy arrays keep their own dtype)
DEFAULT_FLOAT = np.dtype(np.float32)


def as_array(data: Any, like: np.dtype | None = None) -> np.ndarray:
    """Turn ``data`` into an ndarray without upcasting float32 work.

    Python scalars and lists of Python numbers take the dtype of the float tensor
    they meet (``like``), so ``x * 0.5`` and ``x * [1, 2]`` stay float32. Python
    floats and float lists on their own become float32; numpy arrays and numpy
    scalars keep their dtype.

    Example:
        >>> import numpy as np
        >>> from autodiff.tensor import as_array
        >>> as_array(1.1), as_array([100.0, 150.0])
        (array(1.1, dtype=float32), array([100., 150.], dtype=float32))
        >>> as_array(2, like=np.dtype("float64")), as_array([2, 3], like=np.dtype("float32"))
        (array(2.), array([2., 3.], dtype=float32))
        >>> a = np.array([100.0, 150.0])  # float64: kept, and not copied
        >>> as_array(a) is a
        True
    """
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    if isinstance(data, (bool, int, float)) and like is not None:
        if (
            like.kind == "f"
            or isinstance(data, bool)
            or (isinstance(data, int) and like.kind in "iu")
        ):
            return np.array(data, dtype=like)
        return np.array(data, dtype=DEFAULT_FLOAT if isinstance(data, float) else None)
    arr = np.asarray(data)
    if like is not None and like.kind == "f" and arr.dtype.kind in "biuf":
        return arr.astype(like, copy=False)  # a list of Python numbers meeting a float tensor
    if arr.dtype == np.float64:
        arr = arr.astype(DEFAULT_FLOAT)
    return arr


def memory_owner(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``a`` looks at (``a`` itself if it is no view)."""
    while True:
        base = a.base
        while base is not None and not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)  # as_strided's DummyArray holds the array
        if base is None:
            return a
        a = base


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Args:
        data: array-like value. Python floats and lists of floats become float32;
            numpy arrays keep their dtype (use float64 for gradient checking).
            The data is copied, so later in-place updates never touch the caller's array.
        requires_grad: record ops on this tensor so ``backward`` can reach it.
            Only floating-point tensors can require grad.
        name: optional label used in error messages and drawings.
        dtype: optional dtype to convert to.

    Example (the apple bill: 2 apples at 100 with 10% tax):
        >>> from autodiff import Tensor
        >>> price = Tensor(100.0, requires_grad=True, name="apple price")
        >>> tax = Tensor(1.1, requires_grad=True)
        >>> total = price * 2 * tax
        >>> total.backward()
        >>> round(float(price.grad.data), 4), round(float(tax.grad.data), 4)
        (2.2, 200.0)
    """

    __slots__ = (
        "data",
        "grad",
        "creator",
        "requires_grad",
        "name",
        "generation",
        "retains_grad",
        "__weakref__",
    )
    #: ``x op= y`` writes into x under no_grad also when x needs no gradient: nn.Parameter
    #: sets it, so a frozen layer (an EMA target network) is updated in place too.
    updated_in_place = False
    # Make numpy defer to Tensor in mixed expressions such as ``ndarray * Tensor``.
    __array_ufunc__ = None
    __array_priority__ = 1000

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        name: str | None = None,
        dtype: Any = None,
        *,
        _copy: bool = True,
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if _copy:
            if dtype is not None and not isinstance(data, np.ndarray):
                arr = np.asarray(data, dtype=dtype)  # 1.1 as float64 is 1.1, not float32's
            else:
                arr = as_array(data)
                if dtype is not None:
                    arr = arr.astype(dtype, copy=False)
            if arr is data:
                arr = arr.copy()
            data = arr
        self.data: np.ndarray = data
        self.grad: Tensor | None = None
        self.creator = None
        self.requires_grad = False
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Tensor: name must be a str or None, got {type(name).__name__}")
        self.name = name
        self.generation = 0
        self.retains_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ----------------------------------------------------------------- basics
    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (only floating-point tensors may require grad)."""
        if flag and self.data.dtype.kind not in "fc":
            label = f" '{self.name}'" if self.name else ""
            raise TypeError(
                f"tensor{label} of dtype {self.data.dtype} cannot require grad: only "
                "floating-point tensors have gradients (convert with dtype=np.float32)"
            )
        self.requires_grad = bool(flag)
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape (a tuple of ints)."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the values."""
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (not by a recorded op)."""
        return self.creator is None

    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed), as ``autodiff.transpose(self)``."""
        return ops.transpose(self)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20)
        extras = []
        if self.data.dtype != DEFAULT_FLOAT:
            extras.append(f"dtype={self.data.dtype}")
        if self.creator is not None:
            extras.append(f"op={self.creator.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        tail = (", " + ", ".join(extras)) if extras else ""
        return f"Tensor({body}{tail})"

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        if self.data.size != 1:
            raise TypeError(
                f"only a tensor with one element converts to a float, got shape {self.shape}"
            )
        return float(self.data.item())  # also for shape (1,), which numpy 2 refuses

    def __int__(self) -> int:
        if self.data.size != 1:
            raise TypeError(
                f"only a tensor with one element converts to an int, got shape {self.shape}"
            )
        return int(self.data.item())  # truncates toward zero, as int(2.7) does

    def __index__(self) -> int:
        # Only a 0-d integer tensor stands in for an index (range(t), seq[t]), as a numpy
        # integer scalar does: a float one would silently truncate, and a shape-(1,) one
        # would turn numpy's array[t] from a fancy index (an array) into a scalar.
        if self.data.dtype.kind not in "iu" or self.data.ndim != 0:
            raise TypeError(
                f"only a 0-d integer tensor can be used as an index, got shape "
                f"{self.shape} and dtype {self.data.dtype}"
            )
        return int(self.data.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # np.array(t) and np.copy(t) ask for a copy (numpy 2 passes copy=True): writing
        # into the result must not change the tensor, whose graph may read it in backward
        arr = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return arr.copy() if copy and arr is self.data else arr

    __hash__ = object.__hash__

    # ------------------------------------------------------------- autodiff
    def backward(
        self,
        grad: Any = None,
        retain_graph: bool = False,
        create_graph: bool = False,
    ) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Args:
            grad: gradient of some scalar with respect to this tensor; may be
                omitted when the tensor holds a single element. It is cast to this
                tensor's dtype (a complex one for a real tensor is a TypeError).
            retain_graph: keep the graph's buffers so backward can run again.
            create_graph: record the backward pass itself, so the gradients can
                be differentiated again (implies ``retain_graph``).

        ``.grad`` is written only once the whole pass has run: a backward stopped by an
        error (or Ctrl-C) changes none. A node whose input was changed in place after it
        was recorded is a RuntimeError (see ``mark_changed``).

        Example:
            >>> import autodiff as ad
            >>> x = ad.tensor(3.0, requires_grad=True)
            >>> (x * x).backward()
            >>> float(x.grad.data)
            6.0
        """
        engine.backward((self,), None if grad is None else (grad,), retain_graph, create_graph)

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        self.retains_grad = True
        return self

    def zero_grad(self) -> None:
        """Clear the accumulated gradient (``grad`` becomes None)."""
        self.grad = None

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor(self.data, name=self.name, _copy=False)

    def numpy(self) -> np.ndarray:
        """The underlying numpy array (shared, not copied)."""
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        """The values as nested Python lists (no graph)."""
        return self.data.tolist()

    # ------------------------------------------------------------ operators
    # The arithmetic operators create their node directly (``x + y`` is ``Add()(x, y)``,
    # the body of ``ops.add``): one Python call less on the framework's hottest path.
    def __add__(self, other: Any) -> Tensor:
        return Add()(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return Add()(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return Sub()(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return Sub()(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul()(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return Mul()(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return Div()(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return Div()(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return Neg()(self)

    def __pos__(self) -> Tensor:
        return self if config.grad_enabled or not self.requires_grad else self.detach()

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    # In-place operators on a parameter (a leaf that requires grad, or any nn.Parameter)
    # follow PyTorch: ``p -= lr * p.grad`` updates p under no_grad, the update step of
    # the lecture notes, and is refused while recording if p requires grad (Python would
    # otherwise bind a new tensor to ``p`` and nothing would train). On any other tensor
    # ``x += y`` is ``x = x + y``: a new tensor, so a value a graph saved (or a gradient
    # a backward shares) never changes.
    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(other, "+")

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(other, "-")

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(other, "*")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(other, "/")

    def __ipow__(self, other: Any) -> Tensor:
        return self._in_place(other, "**")

    def _in_place(self, other: Any, symbol: str) -> Tensor:
        parameter = self.creator is None and (self.requires_grad or self.updated_in_place)
        if not parameter:
            return _BINARY[symbol](self, other)
        if config.grad_enabled and self.requires_grad:
            raise RuntimeError(
                f"x {symbol}= y on a leaf tensor that requires grad (shape {self.shape}): "
                f"an update step runs under `with autodiff.no_grad():` (or on x.data, as "
                f"the optimizers do); to make a new tensor write x = x {symbol} y"
            )
        value = other.data if isinstance(other, Tensor) else other
        try:
            _UFUNCS[symbol](self.data, value, out=self.data, casting="same_kind")
        except (TypeError, ValueError) as err:
            raise retyped(
                err,
                f"x {symbol}= y in place: x has shape {self.shape} and dtype {self.dtype}, "
                f"y has shape {np.shape(value)}: {err}",
            ) from None
        self.mark_changed()
        return self

    def mark_changed(self) -> None:
        """Record that ``data`` was changed in place.

        A graph recorded before the change still refers to this tensor, and its backward
        would read the new value where it needs the old one (``x @ w`` keeps ``w`` for
        ``dL/dx``): the engine refuses to run such a backward. ``p op= y``, the optimizers,
        ``apply_max_norm_``, the ``nn.init`` fills and ``load_state_dict`` call this; call
        it yourself after writing into ``p.data`` in place (an optimizer of your own),
        which is otherwise invisible, as ``.data`` writes are in PyTorch.

        Example:
            >>> import autodiff as ad
            >>> w = ad.tensor([2.0], requires_grad=True)
            >>> loss = (w * w).sum()
            >>> w.data -= 0.5  # an update step before backward
            >>> w.mark_changed()
            >>> try:
            ...     loss.backward()
            ... except RuntimeError as err:
            ...     print("changed in place" in str(err))
            True
        """
        # The stamp goes on the memory, not on this Tensor: a view (w.T, a reshape inside
        # a layer) or w.detach() is another Tensor over the same numbers.
        config.changes += 1
        owner = memory_owner(self.data)
        key = id(owner)
        changed = config.changed
        entry = changed.get(key)
        if entry is not None and entry[0]() is owner:  # an optimizer's every step: reuse
            changed[key] = (entry[0], config.changes)
            return
        forget = changed.pop
        changed[key] = (weakref.ref(owner, lambda _, k=key: forget(k, None)), config.changes)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        # numpy functions compute on the values: np.dot(x, w) returns a plain array outside
        # the graph, and w would silently get no gradient. A float result from a tensor
        # that requires grad, while recording, is refused; anything else (np.allclose,
        # np.argmax, np.sum under no_grad) gets numpy's answer on the values.
        result = func(*_values_of(args), **_values_of(kwargs))
        if config.grad_enabled and _any_requires_grad((args, kwargs)):
            if _holds_floats(result):
                name = getattr(func, "__name__", "function")
                raise TypeError(
                    f"np.{name} got a Tensor that requires grad and returns a plain array, "
                    f"outside the graph: the tensor would get no gradient through it. Use the "
                    f"Tensor operations (x @ w, x.sum(), autodiff.concatenate, autodiff.where, "
                    f"...); for the values alone pass x.data or work under autodiff.no_grad()"
                )
        return result

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    # Comparisons are not differentiable: they return bool tensors.
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data == _raw(other), _copy=False)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data != _raw(other), _copy=False)

    def __lt__(self, other: Any) -> Tensor:
        return Tensor(self.data < _raw(other), _copy=False)

    def __le__(self, other: Any) -> Tensor:
        return Tensor(self.data <= _raw(other), _copy=False)

    def __gt__(self, other: Any) -> Tensor:
        return Tensor(self.data > _raw(other), _copy=False)

    def __ge__(self, other: Any) -> Tensor:
        return Tensor(self.data >= _raw(other), _copy=False)

    # --------------------------------------------------------- method forms
    def astype(self, dtype: Any) -> Tensor:
        """``x.astype(...)`` is ``autodiff.astype(x, ...)``."""
        return ops.astype(self, dtype)

    def reshape(self, *shape: Any) -> Tensor:
        """``x.reshape(...)`` is ``autodiff.reshape(x, ...)``."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]  # x.reshape((2, 3)) as well as x.reshape(2, 3)
        return ops.reshape(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        """``x.transpose(...)`` is ``autodiff.transpose(x, ...)``."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """``x.swapaxes(...)`` is ``autodiff.swapaxes(x, ...)``."""
        return ops.swapaxes(self, axis1, axis2)

    def flatten(self, start_axis: int = 0) -> Tensor:
        """``x.flatten(...)`` is ``autodiff.flatten(x, ...)``."""
        return ops.flatten(self, start_axis)

    def squeeze(self, axis: Any = None) -> Tensor:
        """``x.squeeze(...)`` is ``autodiff.squeeze(x, ...)``."""
        return ops.squeeze(self, axis)

    def expand_dims(self, axis: Any) -> Tensor:
        """``x.expand_dims(...)`` is ``autodiff.expand_dims(x, ...)``."""
        return ops.expand_dims(self, axis)

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        """``x.broadcast_to(...)`` is ``autodiff.broadcast_to(x, ...)``."""
        return ops.broadcast_to(self, shape)

    def sum_to(self, shape: tuple[int, ...]) -> Tensor:
        """``x.sum_to(...)`` is ``autodiff.sum_to(x, ...)``."""
        return ops.sum_to(self, shape)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """``x.sum(...)`` is ``autodiff.sum(x, ...)``."""
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """``x.mean(...)`` is ``autodiff.mean(x, ...)``."""
        return ops.mean(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """``x.var(...)`` is ``autodiff.var(x, ...)``."""
        return ops.var(self, axis, keepdims, ddof)

    def std(self, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """``x.std(...)`` is ``autodiff.std(x, ...)``."""
        return ops.std(self, axis, keepdims, ddof)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """``x.max(...)`` is ``autodiff.max(x, ...)``."""
        return ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """``x.min(...)`` is ``autodiff.min(x, ...)``."""
        return ops.min(self, axis, keepdims)

    def argmax(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """``x.argmax(...)`` is ``autodiff.argmax(x, ...)``."""
        return ops.argmax(self, axis, keepdims)

    def argmin(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """``x.argmin(...)`` is ``autodiff.argmin(x, ...)``."""
        return ops.argmin(self, axis, keepdims)

    def logsumexp(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """``x.logsumexp(...)`` is ``autodiff.logsumexp(x, ...)``."""
        return ops.logsumexp(self, axis, keepdims)

    def exp(self) -> Tensor:
        """``x.exp(...)`` is ``autodiff.exp(x, ...)``."""
        return ops.exp(self)

    def log(self) -> Tensor:
        """``x.log(...)`` is ``autodiff.log(x, ...)``."""
        return ops.log(self)

    def sqrt(self) -> Tensor:
        """``x.sqrt(...)`` is ``autodiff.sqrt(x, ...)``."""
        return ops.sqrt(self)

    def abs(self) -> Tensor:
        """``x.abs(...)`` is ``autodiff.abs(x, ...)``."""
        return ops.abs(self)

    def sin(self) -> Tensor:
        """``x.sin(...)`` is ``autodiff.sin(x, ...)``."""
        return ops.sin(self)

    def cos(self) -> Tensor:
        """``x.cos(...)`` is ``autodiff.cos(x, ...)``."""
        return ops.cos(self)

    def tanh(self) -> Tensor:
        """``x.tanh(...)`` is ``autodiff.tanh(x, ...)``."""
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        """``x.sigmoid(...)`` is ``autodiff.sigmoid(x, ...)``."""
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        """``x.relu(...)`` is ``autodiff.relu(x, ...)``."""
        return ops.relu(self)

    def clip(self, low: Any = None, high: Any = None) -> Tensor:
        """``x.clip(...)`` is ``autodiff.clip(x, ...)``."""
        return ops.clip(self, low, high)

    def softmax(self, axis: int = -1) -> Tensor:
        """``x.softmax(...)`` is ``autodiff.softmax(x, ...)``."""
        return ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """``x.log_softmax(...)`` is ``autodiff.log_softmax(x, ...)``."""
        return ops.log_softmax(self, axis)

    def matmul(self, other: Any) -> Tensor:
        """``x.matmul(...)`` is ``autodiff.matmul(x, ...)``."""
        return ops.matmul(self, other)

    def pow(self, exponent: Any) -> Tensor:
        """``x.pow(...)`` is ``autodiff.pow(x, ...)``."""
        return ops.pow(self, exponent)


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def tensor(
    data: Any, requires_grad: bool = False, name: str | None = None, dtype: Any = None
) -> Tensor:
    """Make a Tensor (same arguments as ``Tensor``).

    Example:
        >>> import autodiff as ad
        >>> ad.tensor([1.0, 2.0]).dtype
        dtype('float32')
    """
    return Tensor(data, requires_grad=requires_grad, name=name, dtype=dtype)


# The ops and the engine import Tensor, so they are bound after the class exists.
from . import engine, ops  # noqa: E402
from .function import config, retyped  # noqa: E402
from .ops.arithmetic import Add, Div, Mul, Neg, Sub  # noqa: E402

_BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
_UFUNCS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "**": np.power}
# Containers numpy functions take tensors in (np.stack(deque_of_tensors) included).
_SEQUENCES = (list, tuple, collections.deque)


def _values_of(obj: Any) -> Any:
    """``obj`` with every Tensor inside (sequences, dicts) replaced by its array."""
    if isinstance(obj, Tensor):
        return obj.data
    if isinstance(obj, _SEQUENCES):  # subclasses too (a namedtuple becomes a tuple)
        values = [_values_of(o) for o in obj]
        return tuple(values) if isinstance(obj, tuple) else values
    if isinstance(obj, dict):
        return {k: _values_of(v) for k, v in obj.items()}
    return obj


def _holds_floats(result: Any) -> bool:
    """Whether a numpy function's result is, or holds (np.split, np.linalg.svd), floats."""
    if isinstance(result, _SEQUENCES):
        return any(_holds_floats(r) for r in result)
    kind = getattr(np.asarray(result) if np.isscalar(result) else result, "dtype", None)
    return kind is not None and kind.kind in "fc"


def _any_requires_grad(obj: Any) -> bool:
    if isinstance(obj, Tensor):
        return obj.requires_grad
    if isinstance(obj, _SEQUENCES):
        return any(_any_requires_grad(o) for o in obj)
    if isinstance(obj, dict):
        return any(_any_requires_grad(v) for v in obj.values())
    return False
