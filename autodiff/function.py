"""The node contract: every differentiable op is a ``Function`` subclass.

A ``Function`` turns numpy arrays into numpy arrays in ``forward`` and turns the
gradients of its outputs into gradients of its inputs in ``backward``. The
backward is written with the framework's own differentiable ops (Tensors in,
Tensors out), so the engine can record it as a graph when ``create_graph=True``
and higher-order derivatives come for free.

This module also owns the two pieces of global state the engine needs:
whether graphs are being recorded (``no_grad``) and the name-scope stack that
``nn`` pushes module paths onto, so pictures can say ``fc1.weight``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from .tensor import DEFAULT_FLOAT, Tensor, as_array

__all__ = [
    "Function",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "name_scope",
    "current_scope",
]


class _Config:
    """Process-wide switches. One instance, read on every op call, so keep it tiny."""

    __slots__ = ("grad_enabled", "scope", "call_sites", "anomaly", "changes", "changed")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope: tuple[str, ...] = ()
        self.call_sites = True
        # Set by ``autodiff.detect_anomaly``; the only check anomaly mode adds to the hot path.
        self.anomaly = False
        # How many in-place changes of tensors so far (``Tensor.mark_changed``): a clock
        # each node reads when it is recorded, so backward can tell a node whose inputs
        # changed after it was made with one comparison.
        self.changes = 0
        # id(array owning the memory) -> (weak reference to it, clock of its last change)
        self.changed: dict[int, tuple[weakref.ref, int]] = {}


config = _Config()


def is_grad_enabled() -> bool:
    """Return True when ops record a graph for backward.

    Example:
        >>> import autodiff as ad
        >>> with ad.no_grad():
        ...     ad.is_grad_enabled()
        False
    """
    return config.grad_enabled


class _ContextDecorator(contextlib.ContextDecorator):
    """A ContextDecorator that also covers generator functions.

    Decorating a generator function with a plain ContextDecorator covers only the call
    that creates the generator: its body runs later, outside the context. Here every
    resumption of the body runs inside a fresh context, and the caller's setting is back
    in force while the generator is suspended at a ``yield``.
    """

    def __call__(self, func: Callable) -> Callable:
        if not inspect.isgeneratorfunction(func):
            return super().__call__(func)
        make = self._recreate_cm

        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                with make():
                    body = func(*args, **kwargs)
                    value = body.send(None)
                while True:
                    try:
                        sent = yield value
                    except GeneratorExit:
                        with make():
                            body.close()
                        raise
                    except BaseException as error:  # thrown in by the caller: pass it on
                        with make():
                            value = body.throw(error)
                    else:
                        with make():
                            value = body.send(sent)
            except StopIteration as done:
                return done.value

        return generator


class _GradMode(_ContextDecorator):
    """Recording on or off inside a ``with`` block or a decorated function."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(config.grad_enabled)
        config.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        config.grad_enabled = self._saved.pop()


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: as a plain call (from then on), as a context
    manager (inside the block) or as a decorator (inside the function), as in PyTorch.

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor([1.0], requires_grad=True)
        >>> with ad.set_grad_enabled(False):
        ...     y = x * 2
        >>> y.requires_grad
        False
        >>> _ = ad.set_grad_enabled(False)  # an inference script: recording stays off
        >>> (x * 2).requires_grad
        False
        >>> _ = ad.set_grad_enabled(True)
        >>> (x * 2).requires_grad
        True
    """

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        # The call itself switches; a ``with`` or a decorator then owns the switch back.
        self._before: bool | None = config.grad_enabled
        config.grad_enabled = self.mode

    def __enter__(self) -> None:
        before, self._before = self._before, None
        self._saved.append(config.grad_enabled if before is None else before)
        config.grad_enabled = self.mode

    def __call__(self, func: Callable) -> Callable:
        if self._before is not None:  # decorating: only calls of func change the mode
            config.grad_enabled, self._before = self._before, None
        return super().__call__(func)


class no_grad(_GradMode):
    """Nothing inside is recorded: no graph is kept, outputs do not require grad.

    Works as a context manager and as a decorator, also of a generator function: its
    body runs without recording, while the code consuming it keeps its own setting.

    Example:
        >>> import autodiff as ad
        >>> w = ad.tensor([2.0], requires_grad=True)
        >>> with ad.no_grad():
        ...     y = w * 3
        >>> y.requires_grad, y.creator is None
        (False, True)
    """

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block (context or decorator).

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor([1.0], requires_grad=True)
        >>> with ad.no_grad():
        ...     with ad.enable_grad():
        ...         y = x * 2
        ...     z = x * 2
        >>> y.requires_grad, z.requires_grad
        (True, False)
    """

    def __init__(self) -> None:
        super().__init__(True)


class name_scope(_ContextDecorator):
    """Push ``name`` onto the scope stack; ops created inside remember the path.

    ``nn.Module`` uses this so drawings can group nodes by module (``fc1``,
    ``encoder.layers.0``). The engine only stores the tuple; it never interprets it.
    Works as a context manager and as a decorator. (A class rather than a generator
    context manager: every module call enters one, and this costs a fifth as much.)

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor([1.0], requires_grad=True)
        >>> with ad.name_scope("block"):
        ...     y = x * 2
        >>> y.creator.scope
        ('block',)
    """

    __slots__ = ("name", "saved")

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self.saved = config.scope
        config.scope = self.saved + (self.name,)

    def __exit__(self, *exc: object) -> None:
        config.scope = self.saved

    def _recreate_cm(self) -> name_scope:
        # A decorated function may call itself: each call needs its own saved scope.
        return name_scope(self.name)


def current_scope() -> tuple[str, ...]:
    """The current name-scope path as a tuple of names.

    Example:
        >>> import autodiff as ad
        >>> with ad.name_scope("encoder"), ad.name_scope("layer0"):
        ...     ad.current_scope()
        ('encoder', 'layer0')
        >>> ad.current_scope()
        ()
    """
    return config.scope


_PACKAGE_DIRS: tuple[str, ...] = ()


def _package_dirs() -> tuple[str, ...]:
    # Frames inside autodiff/ and nn/ are framework code; the user's line is the first outside.
    global _PACKAGE_DIRS
    if not _PACKAGE_DIRS:
        import os

        here = os.path.dirname(os.path.abspath(__file__))
        root = os.path.dirname(here)
        _PACKAGE_DIRS = (here + os.sep, os.path.join(root, "nn") + os.sep)
    return _PACKAGE_DIRS


# file name -> whether it belongs to the packages. Keyed by name: a string caches its
# hash, while hashing a code object hashes its whole body.
_INSIDE: dict[str, bool] = {}


def _user_frame(skip: int) -> tuple[Any, int] | None:
    """(code, last instruction) of the first frame outside the packages: cheap to take.

    The line number is worked out only when someone asks (``Function.call_site``).
    """
    frame = sys._getframe(skip + 1)
    while frame is not None:
        code = frame.f_code
        inside = _INSIDE.get(code.co_filename)
        if inside is None:
            inside = _INSIDE[code.co_filename] = code.co_filename.startswith(_package_dirs())
        if not inside:
            return code, frame.f_lasti
        frame = frame.f_back
    return None


def _line_of(code: Any, lasti: int) -> int:
    # Cached: the growth monitor asks for the root's line after every backward, and
    # scanning a long script's line table each time would cost more than the backward.
    hit = _LINES.get((id(code), lasti))
    if hit is not None and hit[0] is code:
        return hit[1]
    found = code.co_firstlineno
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            found = line
            break
    if len(_LINES) > 4096:
        _LINES.clear()
    _LINES[(id(code), lasti)] = (code, found)  # holding the code keeps its id unique
    return found


_LINES: dict[tuple[int, int], tuple[Any, int]] = {}


def user_call_site(skip: int = 2) -> tuple[str, int] | None:
    """File and line of the first stack frame outside the autodiff and nn packages."""
    found = _user_frame(skip)
    if found is None:
        return None
    code, lasti = found
    return code.co_filename, _line_of(code, lasti)


class Function:
    """Base class of every differentiable op (a node of the graph).

    Subclass it and write two methods:

    * ``forward(*arrays)`` gets numpy arrays and returns an array (or a tuple
      of arrays for several outputs);
    * ``backward(*grads)`` gets the gradient of each output as a ``Tensor`` and
      returns one gradient ``Tensor`` (or ``None``) per input. Write it with
      autodiff ops so that ``create_graph=True`` can differentiate it again.

    Inside ``backward``, ``self.inputs`` are the input Tensors and
    ``self.output(i)`` gives output ``i`` as a Tensor. Anything else the
    backward needs can be stored on ``self`` in ``forward`` (use ``self.saved``
    for large arrays: the engine frees it after backward).

    Gradients may come back in the broadcast shape of the output and in a
    wider dtype: the engine reduces them with ``sum_to`` and casts them to each
    input's shape and dtype in one place, so an op never has to.

    Example (the two nodes of the apple bill):
        >>> import autodiff as ad
        >>> class Mul(ad.Function):
        ...     def forward(self, a, b):
        ...         return a * b
        ...     def backward(self, gy):
        ...         a, b = self.inputs
        ...         return gy * b, gy * a
        >>> x = ad.tensor(3.0, requires_grad=True)
        >>> y = Mul()(x, ad.tensor(4.0))
        >>> y.backward()
        >>> float(x.grad.data)
        4.0
    """

    #: short name shown in errors and drawings; defaults to the lower-cased class name
    name: str = ""
    #: the gradient rule as a learner would write it, shown by ``autodiff.viz``
    rule: str = ""
    #: False for ops like argmax or comparisons: outputs never require grad
    differentiable: bool = True
    #: Optional fast path for first-order backward, on numpy arrays: takes the output
    #: gradients as arrays and returns input gradients as arrays (or NotImplemented to
    #: fall back). The engine uses it when no graph of the backward is needed
    #: (create_graph=False); ``backward`` stays the differentiable definition, and the
    #: registry walk checks that both give the same gradients.
    backward_arrays: Callable[..., Any] | None = None
    #: False for ops whose backward never reads its inputs' values (add, sum, reshape):
    #: changing such an input in place between forward and backward is then harmless.
    reads_inputs: bool = True

    inputs: tuple[Tensor, ...] | None
    outputs: tuple[weakref.ref, ...] | None
    saved: Any
    generation: int
    clock: int  # ``config.changes`` when the node was recorded
    scope: tuple[str, ...]
    _site: tuple[Any, int] | None
    out_meta: tuple[tuple[tuple[int, ...], np.dtype], ...]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__.lower()

    def __call__(self, *inputs: Any) -> Any:
        # This is the hottest path of the framework: keep it free of per-call extras.
        if getattr(self, "inputs", None) is not None:
            raise _reused_error(self)  # before forward can overwrite what the node saved
        for x in inputs:
            if not isinstance(x, Tensor):
                inputs = _as_tensors(inputs)
                break
        try:
            # Nearly every op takes one or two inputs: call those without building a list.
            if len(inputs) == 1:
                ys = self.forward(inputs[0].data)
            elif len(inputs) == 2:
                a, b = inputs
                ys = self.forward(a.data, b.data)
            else:
                ys = self.forward(*[t.data for t in inputs])
        except (ValueError, IndexError, TypeError) as err:
            raise _op_error(self, inputs, err) from err
        if config.anomaly:
            _anomaly.check_forward(self, inputs, ys)
        record = False
        gen = 0  # the newest generation among the inputs
        if config.grad_enabled and self.differentiable:
            for t in inputs:
                if t.requires_grad:
                    record = True
                if t.generation > gen:
                    gen = t.generation
        if type(ys) is not tuple:
            if type(ys) is not np.ndarray:
                if type(ys) is list:  # np.asarray would stack the outputs into one
                    raise TypeError(
                        f"op '{self.name}': forward returned a list of {len(ys)} items; return "
                        "a tuple of arrays for several outputs, or one array"
                    )
                ys = np.asarray(ys)
            out = _new_tensor(ys)
            if record:
                # _record inlined for the single output of nearly every op (one call less)
                self.inputs = inputs
                self.generation = gen
                self.clock = config.changes
                self.scope = config.scope
                self._site = _user_frame(1) if config.call_sites else None
                self.outputs = (_weakref(out),)
                dtype = ys.dtype
                self.out_meta = ((ys.shape, dtype),)
                if dtype.kind in "fc":
                    out.creator = self
                    out.generation = gen + 1
                    out.requires_grad = True
            return out
        outputs = tuple([_new_tensor(y if type(y) is np.ndarray else np.asarray(y)) for y in ys])
        if record:
            self._record(inputs, outputs, gen)
        return outputs

    def _record(self, tensors: tuple[Tensor, ...], outputs: tuple[Tensor, ...], gen: int) -> None:
        """Link the outputs to this node so backward can find its way back."""
        self.inputs = tensors
        self.generation = gen
        self.clock = config.changes
        self.scope = config.scope
        self._site = _user_frame(2) if config.call_sites else None
        gen += 1
        self.outputs = tuple([_weakref(o) for o in outputs])
        self.out_meta = tuple([(o.data.shape, o.data.dtype) for o in outputs])
        for o in outputs:
            if o.data.dtype.kind in "fc":
                o.creator = self
                o.generation = gen
                o.requires_grad = True

    def forward(self, *xs: np.ndarray) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, *gys: Tensor) -> Any:
        raise NotImplementedError(f"op '{self.name}' has no backward; it cannot be differentiated")

    def output(self, index: int = 0) -> Tensor:
        """Output ``index`` of this node as a Tensor (for use inside ``backward``)."""
        ref = self.outputs[index]() if self.outputs is not None else None
        if ref is None:
            raise RuntimeError(
                f"op '{self.name}': output {index} is no longer alive; an op whose backward "
                "needs its output must keep it (store it in forward instead)"
            )
        return ref

    def release(self) -> None:
        """Drop references to inputs, outputs and saved arrays (done after backward)."""
        self.inputs = None
        self.outputs = None
        self.saved = None

    @property
    def released(self) -> bool:
        return getattr(self, "inputs", None) is None

    @property
    def call_site(self) -> tuple[str, int] | None:
        """``(file, line)`` of the user code that created this node (None if not recorded)."""
        site = getattr(self, "_site", None)
        if site is None:
            return None
        code, lasti = site
        return code.co_filename, _line_of(code, lasti)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}'>"


def _reused_error(fn: Function) -> RuntimeError:
    return RuntimeError(
        f"op '{fn.name}': this {type(fn).__name__} instance is already a node of a graph "
        f"(recorded at {where(fn.call_site)}); a Function instance is one node, so create "
        f"a new one per call: {type(fn).__name__}()(...), not one instance called twice"
    )


def _new_tensor(data: np.ndarray) -> Tensor:
    # Tensor.__init__ without argument handling: ops create many tensors.
    t = _object_new(Tensor)
    t.data = data
    t.grad = None
    t.creator = None
    t.requires_grad = False
    t.name = None
    t.generation = 0
    t.retains_grad = False
    return t


_object_new = object.__new__
_weakref = weakref.ref


def _as_tensors(inputs: tuple[Any, ...]) -> tuple[Tensor, ...]:
    """Wrap non-Tensor inputs (at least one input is not a Tensor); Python scalars take
    the dtype of a float input.

    With no floating input, a Python float (or a list of numbers holding one) makes the
    integer tensors float32 (PyTorch's rule; numpy would promote them to float64).
    """
    if len(inputs) == 2:
        # ``x * 0.5``, ``1.0 - x``: the other input takes the tensor's dtype (the general
        # rule below gives the same answer for two inputs, with more work)
        a, b = inputs
        if isinstance(a, Tensor):
            like = a.data.dtype
            if like.kind in "biu" and _is_python_float(b):
                a = _as_default_float(a)
                like = DEFAULT_FLOAT
            return a, _constant(b, like)
        if isinstance(b, Tensor):
            like = b.data.dtype
            if like.kind in "biu" and _is_python_float(a):
                b = _as_default_float(b)
                like = DEFAULT_FLOAT
            return _constant(a, like), b
    like = None
    for x in inputs:
        if isinstance(x, Tensor):
            like = x.data.dtype
            if like.kind == "f":
                break
        elif isinstance(x, np.ndarray):
            like = x.dtype
            if like.kind == "f":
                break
    if (like is None or like.kind != "f") and any(_is_python_float(x) for x in inputs):
        # no floating input, but a Python float: integer tensors become float32 with it
        inputs = tuple(
            _as_default_float(x) if isinstance(x, Tensor) and x.data.dtype.kind in "biu" else x
            for x in inputs
        )
        like = DEFAULT_FLOAT
    wrapped = []
    for x in inputs:
        wrapped.append(x if isinstance(x, Tensor) else _constant(x, like))
    return tuple(wrapped)


def _is_python_float(x: Any) -> bool:
    """A Python float, or a list/tuple of numbers that holds one."""
    if type(x) is float:
        return True
    return type(x) in (list, tuple) and np.asarray(x).dtype.kind == "f"


def _as_default_float(t: Tensor) -> Tensor:
    # An integer tensor meeting a Python float: both become float32 (numpy would pick
    # float64), as a Python float on its own does. Integer tensors have no gradient. Like
    # PyTorch's rule, this rounds integers beyond 2**24.
    return _new_tensor(t.data.astype(DEFAULT_FLOAT))


_CONSTANTS: dict[tuple[Any, Any, Any], Tensor] = {}


def _constant(x: Any, like: np.dtype | None) -> Tensor:
    """A Tensor for a non-Tensor input; Python scalars are cached per dtype.

    ``y * 0.5`` in a loop would otherwise allocate the same 0-d array every step.
    The cached arrays are read-only, so sharing them is safe. Zeros and NaN are not
    cached: -0.0 is a different number that compares equal to 0.0, and NaN equals
    nothing, so it would never be found again.
    """
    if (type(x) is float or type(x) is int) and x and x == x:
        key = (type(x), x, like)
        t = _CONSTANTS.get(key)
        if t is None:
            if len(_CONSTANTS) > 4096:
                _CONSTANTS.clear()
            arr = as_array(x, like)
            arr.flags.writeable = False
            t = _CONSTANTS[key] = _new_tensor(arr)
        return t
    return _new_tensor(as_array(x, like))


def where(site: tuple[str, int] | None) -> str:
    """``file:line`` of a recorded call site, or ``"an unknown line"``."""
    return f"{site[0]}:{site[1]}" if site else "an unknown line"


def retyped(err: Exception, message: str) -> Exception:
    """An exception of ``err``'s type carrying ``message`` (its base type if that fails).

    Some exception classes (numpy's ``AxisError``) take other constructor arguments,
    so rebuilding one with a plain message is tried and, if it fails, the closest
    documented type is used instead.
    """
    for kind in (type(err), ValueError, IndexError, TypeError, RuntimeError):
        if isinstance(err, kind):
            try:
                new = kind(message)
            except Exception:  # noqa: BLE001 - any failure means "try the next base"
                continue
            if str(new) == message:
                return new
    return RuntimeError(message)


def _op_error(fn: Function, tensors: tuple[Tensor, ...], err: Exception) -> Exception:
    shapes = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in tensors)
    site = user_call_site(3)
    scope = ".".join(config.scope)
    in_layer = f" in layer '{scope}'" if scope else ""
    detail = str(err).strip()
    if "could not be broadcast" in detail:
        detail += (
            "; expected shapes that broadcast (numpy rules: align the shapes on the right; "
            "each pair of axes must be equal or 1)"
        )
    return retyped(err, f"{fn.name}{in_layer} at {where(site)}: inputs [{shapes}]: {detail}")


def op(fn_cls: type[Function]) -> Callable[..., Any]:
    """Wrap a Function class into a plain function ``f(*inputs, **params)``."""

    @functools.wraps(fn_cls)
    def apply(*inputs: Any, **params: Any) -> Any:
        return fn_cls(**params)(*inputs)

    return apply


from . import anomaly as _anomaly  # noqa: E402 - it imports config from here
