"""``Module`` and ``Parameter``: the bottom layer of ``nn``.

A ``Module`` is a box of parameters (trained), buffers (saved but not trained,
e.g. batch-norm running statistics) and sub-modules. Assigning an attribute is
enough to register it, in order::

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 100)   # sub-module "fc1"
            self.fc2 = nn.Linear(100, 10)    # its weight is "fc2.weight"

Calling a module runs ``forward`` inside ``autodiff.name_scope(<its attribute
name>)`` so every op created there remembers its module path (drawings group
nodes by it), and parameters are named by their dotted path (``fc1.weight``)
unless you named them yourself.
"""

from __future__ import annotations

import itertools
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

import autodiff as ad
from autodiff import Tensor

__all__ = [
    "Parameter",
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "RemovableHandle",
    "LoadResult",
    "functional_call",
]


class Parameter(Tensor):
    """A trainable leaf tensor: ``requires_grad=True`` and float32 unless told otherwise.

    Args:
        data: initial value (copied). Converted to ``dtype`` (default float32),
            whatever its original dtype.
        requires_grad: False freezes the parameter (it is then "non-trainable").
        name: a label for errors and drawings. When omitted, the owning module
            names it by its dotted path (``fc1.weight``).
        dtype: the dtype to store (float32 by default; float64 for gradient checks).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter(np.zeros((2, 3)))
        >>> w.dtype, w.requires_grad, w.is_leaf
        (dtype('float32'), True, True)
    """

    # the last name a module gave this parameter; a different ``name`` is the user's own
    __slots__ = ("_auto_name",)
    updated_in_place = True  # frozen too: ``target_p *= 0.99`` under no_grad updates it

    def __init__(
        self,
        data: Any,
        requires_grad: bool = True,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(data, Tensor):
            data = data.data
        arr = np.array(data, dtype=dtype or ad.DEFAULT_FLOAT)  # always a fresh copy
        super().__init__(arr, requires_grad, name, _copy=False)
        self._auto_name: str | None = None

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor") :]


def _label_parameter(p: Parameter, name: str) -> None:
    if isinstance(p, Parameter) and (p.name is None or p.name == p._auto_name):
        p.name = name
        p._auto_name = name


class RemovableHandle:
    """Returned by ``register_forward_hook``; call ``remove()`` to detach the hook.

    Example:
        >>> import nn
        >>> layer = nn.ReLU()
        >>> handle = layer.register_forward_hook(lambda m, args, out: None)
        >>> handle.remove()
        >>> len(layer._forward_hooks)
        0
    """

    _ids = itertools.count()

    def __init__(self, hooks: dict[int, Callable[..., Any]]) -> None:
        self._hooks = hooks
        self.id = next(self._ids)

    def remove(self) -> None:
        """Detach the hook (removing twice is harmless)."""
        self._hooks.pop(self.id, None)


class LoadResult(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped: missing and unexpected keys.

    Example:
        >>> import nn
        >>> state = nn.Linear(3, 2).state_dict()
        >>> del state["bias"]
        >>> state["step"] = 0
        >>> result = nn.Linear(3, 2).load_state_dict(state, strict=False)
        >>> result
        LoadResult(missing_keys=['bias'], unexpected_keys=['step'])
        >>> result.missing_keys
        ['bias']
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


# Bumped whenever a parameter or sub-module is attached anywhere, so a root module knows
# at its next call that the dotted names of its parameters may need refreshing.
_structure_version = 0
# How many Module.__call__ frames are active: 0 means "this call is a root call".
_call_depth = 0
# Length of the name-scope stack when the current root call started (user scopes sit below it).
_root_scope_start = 0
# The root module of the running call. A module's ``_path`` is its dotted path from the
# root that named it last (``_owner``, a weak reference): current while that root runs.
# (Module calls from several threads at once share this state: names may then be wrong,
# as the name-scope stack is shared too, but nothing fails.)
_root: Any = None
# Dotted paths (from the root) of the modules whose calls are running, innermost last.
_running: list[str] = []


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign parameters and
    sub-modules as attributes, and write ``forward``. Call the module (not
    ``forward``) so hooks, name scopes and parameter names work.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> class TwoLayer(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1 = nn.Linear(4, 3)
        ...         self.act = nn.ReLU()
        ...         self.fc2 = nn.Linear(3, 2)
        ...     def forward(self, x):
        ...         return self.fc2(self.act(self.fc1(x)))
        >>> model = TwoLayer()
        >>> [name for name, _ in model.named_parameters()]
        ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
        >>> model(np.ones((5, 4))).shape
        (5, 2)
        >>> model.fc2.weight.name
        'fc2.weight'
        >>> model.num_parameters()
        23
    """

    training: bool
    # The axis of the input that indexes samples: summary() and plot_model() put their batch
    # of one there (a time-major recurrent layer or model says 1).
    batch_axis: int = 0

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_name_in_parent"] = None
        d["_named_at"] = -1
        d["_path"] = ""
        d["_owner"] = None
        d["training"] = True

    # ------------------------------------------------------------ registration
    def _check_init(self) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                "assigning parameters or sub-modules"
            )

    def __getstate__(self) -> dict[str, Any]:
        # Copies and pickles are named afresh at their first call: the weak reference to
        # the root that named this module can be neither pickled nor shared with a copy.
        state = dict(self.__dict__)
        state["_owner"] = None
        state["_named_at"] = -1
        return state

    def __setattr__(self, name: str, value: Any) -> None:
        global _structure_version
        if isinstance(value, Parameter):
            self._check_init()
            self._forget(name, keep=self._parameters)
            self._parameters[name] = value
            _label_parameter(value, name)
            _structure_version += 1
        elif isinstance(value, Module):
            self._check_init()
            self._forget(name, keep=self._modules)
            self._modules[name] = value
            value.__dict__["_name_in_parent"] = name
            for path, p in value.named_parameters():
                _label_parameter(p, f"{name}.{path}")
            _structure_version += 1
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = _as_buffer(value, name)
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter '{name}' of "
                    f"{type(self).__name__}: wrap it in nn.Parameter (or assign None)"
                )
            self._parameters[name] = None
        else:
            if "_modules" in self.__dict__:
                self._forget(name)
            if isinstance(value, (list, tuple, dict)):
                _warn_if_hidden_modules(self, name, value)
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: Any = None) -> None:
        """Remove ``name`` from every store but ``keep`` (where it is about to be
        reassigned: a replaced layer keeps its place in the forward order, and a replaced
        parameter its place in ``parameters()`` and ``state_dict()``)."""
        for store in (self._parameters, self._buffers, self._modules):
            if store is not keep:
                store.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and modules live here.
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if any(name in s for s in (self._parameters, self._buffers, self._modules)):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder, e.g. a disabled bias) by name.

        Example:
            >>> import nn
            >>> m = nn.Module()
            >>> m.register_parameter("scale", nn.Parameter([1.0]))
            >>> [n for n, _ in m.named_parameters()]
            ['scale']
        """
        if param is None:
            self._check_init()
            self._forget(name, keep=self._parameters)
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(
                f"{type(self).__name__}.register_parameter('{name}'): expected an nn.Parameter "
                f"(or None), got {type(param).__name__}; wrap it: nn.Parameter(value)"
            )
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Add a buffer: state that is saved in ``state_dict`` but not trained.

        Batch norm keeps its running mean and variance in buffers. The value is
        stored as a Tensor that does not require grad (or None). Non-persistent
        buffers are left out of ``state_dict``.

        Example:
            >>> import numpy as np
            >>> import nn
            >>> m = nn.Module()
            >>> m.register_buffer("count", np.zeros(1, dtype=np.float32))
            >>> list(m.state_dict())
            ['count']
        """
        self._check_init()
        self._forget(name)
        self._buffers[name] = _as_buffer(value, name)
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    # ----------------------------------------------------------------- walking
    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)``, each parameter once, in registration order.

        Example:
            >>> import nn
            >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
            >>> [n for n, _ in model.named_parameters()]
            ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for path, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{path}.{name}" if path else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Yield every parameter once (what you hand to an optimizer).

        Example:
            >>> import nn
            >>> sum(p.size for p in nn.Linear(3, 2).parameters())
            8
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted_name, buffer)`` for every buffer that is not None.

        Example:
            >>> import nn
            >>> [n for n, _ in nn.BatchNorm1d(3).named_buffers()]
            ['running_mean', 'running_var']
        """
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for path, module in modules:
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{path}.{name}" if path else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Yield every buffer that is not None.

        Example:
            >>> import nn
            >>> len(list(nn.BatchNorm1d(3).buffers()))
            2
        """
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the direct sub-modules.

        Example:
            >>> import nn
            >>> [n for n, _ in nn.Sequential(nn.Linear(2, 2), nn.Tanh()).named_children()]
            ['0', '1']
        """
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules.

        Example:
            >>> import nn
            >>> [type(m).__name__ for m in nn.Sequential(nn.Linear(2, 2), nn.Tanh()).children()]
            ['Linear', 'Tanh']
        """
        for _, m in self.named_children():
            yield m

    def named_modules(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted_path, module)`` for this module (path ``prefix``) and all below it.

        A module registered at several paths is yielded once, at its first path, unless
        ``remove_duplicate=False``, which yields every path (a module inside itself is
        still not entered again).

        Example:
            >>> import nn
            >>> model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Tanh()))
            >>> [path for path, _ in model.named_modules()]
            ['', '0', '1', '1.0']
            >>> shared = nn.Linear(2, 2)
            >>> twice = nn.Sequential(shared, shared)
            >>> [path for path, _ in twice.named_modules(remove_duplicate=False)]
            ['', '0', '1']
        """
        seen: set[int] = set()
        stack: list[tuple[str, Module, frozenset[int]]] = [(prefix, self, frozenset())]
        while stack:
            path, module, ancestors = stack.pop()
            if id(module) in (seen if remove_duplicate else ancestors):
                continue
            seen.add(id(module))
            yield path, module
            # the ids above a path only matter when a module may be met again
            inside = ancestors if remove_duplicate else ancestors | {id(module)}
            kids = [(f"{path}.{n}" if path else n, m, inside) for n, m in module.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """Yield this module and every module below it.

        Example:
            >>> import nn
            >>> len(list(nn.Sequential(nn.Linear(2, 2), nn.ReLU()).modules()))
            3
        """
        for _, m in self.named_modules():
            yield m

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module and then on this one (e.g. custom init); returns self.

        Example:
            >>> import nn
            >>> def zero_bias(m):
            ...     if isinstance(m, nn.Linear):
            ...         nn.init.zeros_(m.bias)
            >>> model = nn.Sequential(nn.Linear(2, 2)).apply(zero_bias)
        """
        seen: set[int] = set()  # a shared sub-module gets fn once

        def visit(module: Module) -> None:
            for child in module.children():
                if id(child) not in seen:
                    seen.add(id(child))
                    visit(child)
            fn(module)

        visit(self)
        return self

    # --------------------------------------------------------------- modes etc.
    def train(self, mode: bool = True) -> Module:
        """Switch this module and all below it to training mode (``mode=False``: eval).

        Example:
            >>> import nn
            >>> model = nn.Sequential(nn.Dropout(0.5))
            >>> model.eval()[0].training, model.train()[0].training
            (False, True)
        """
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode: dropout is off, batch norm uses its running statistics.

        Example:
            >>> import nn
            >>> nn.BatchNorm1d(3).eval().training
            False
        """
        return self.train(False)

    def requires_grad_(self, flag: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter; frozen ones count as non-trainable.

        Example:
            >>> import nn
            >>> nn.Linear(3, 2).requires_grad_(False).num_parameters(trainable_only=True)
            0
        """
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def zero_grad(self) -> None:
        """Drop every parameter's gradient (``grad = None``), ready for the next backward.

        Example:
            >>> import nn
            >>> layer = nn.Linear(2, 1)
            >>> layer(nn.Parameter([[1.0, 2.0]])).sum().backward()
            >>> layer.zero_grad()
            >>> layer.weight.grad is None
            True
        """
        for p in self.parameters():
            p.grad = None

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Number of scalar parameters (each shared parameter counted once).

        Example:
            >>> import nn
            >>> nn.Linear(784, 100).num_parameters()
            78500
        """
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def astype(self, dtype: Any) -> Module:
        """Convert every floating-point parameter and buffer to ``dtype`` in place; returns self.

        ``astype(np.float64)`` is what gradient checks need. Gradients are dropped.

        Example:
            >>> import numpy as np
            >>> import nn
            >>> nn.Linear(2, 2).astype(np.float64).weight.dtype
            dtype('float64')
        """
        dtype = np.dtype(dtype)
        for t in itertools.chain(self.parameters(), self.buffers()):
            if t.data.dtype.kind == "f":
                t.data = t.data.astype(dtype)
                t.grad = None
        return self

    # ------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the module's output; subclasses override this (call the module, not this)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        global _call_depth, _root_scope_start, _root
        owner = self._owner
        if _call_depth == 0:
            _root_scope_start = len(ad.current_scope())
            _root = self
            # (a deep copy still points at the original's weak reference: name it afresh)
            if self._named_at != _structure_version or owner is None or owner() is not self:
                self._refresh_names()
            scope = path = None
        elif owner is not None and owner() is _root:
            # named from the root: push the path relative to the running parent, so a layer
            # of a ModuleList that its parent iterates over is "blocks.0"
            path, parent = self._path, _running[-1] if _running else ""
            if not parent:
                scope = path
            elif path.startswith(parent + "."):
                scope = path[len(parent) + 1 :]
            else:  # called from outside its parent
                scope = self._name_in_parent
        else:  # not in the root's tree (made inside a forward): its attribute name
            scope, path = self._name_in_parent, None
        _call_depth += 1
        _running.append(path or "")
        try:
            with ad.name_scope(scope or type(self).__name__):
                if self._forward_pre_hooks:
                    for hook in list(self._forward_pre_hooks.values()):
                        changed = hook(self, args)
                        if changed is not None:
                            args = changed if isinstance(changed, tuple) else (changed,)
                out = self.forward(*args, **kwargs)
                if self._forward_hooks:
                    for hook in list(self._forward_hooks.values()):
                        changed = hook(self, args, out)
                        if changed is not None:
                            out = changed
        finally:
            _call_depth -= 1
            if _running:
                _running.pop()
            if _call_depth <= 0:
                _root = None  # no reference kept to a model once its call is over
        return out

    def describe(self) -> str:
        """``Linear 'encoder.fc2'`` while running inside a parent's call, else ``Linear``.

        Layers start their error messages with it, so an error names the layer.

        Example:
            >>> import nn
            >>> nn.Linear(2, 3).describe()
            'Linear'
        """
        path = ".".join(ad.current_scope()[_root_scope_start + 1 :]) if _call_depth > 1 else ""
        return f"{type(self).__name__} '{path}'" if path else type(self).__name__

    def _refresh_names(self) -> None:
        # Attach-time naming is relative to the parent; a root call makes it relative to the
        # root: parameter labels and every sub-module's dotted path. A root that had named
        # some of these modules (a model whose layer is now called on its own) names its
        # tree again at its next call; roots that share nothing (a model and its loss)
        # never rename each other.
        me = weakref.ref(self)
        for path, m in self.named_modules():
            before = m._owner() if m._owner is not None else None
            if before is not None and before is not self:
                before.__dict__["_named_at"] = -1
            m.__dict__["_path"] = path
            m.__dict__["_owner"] = me
        for path, p in self.named_parameters():
            _label_parameter(p, path)
        self.__dict__["_named_at"] = _structure_version

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every forward; a non-None result replaces
        the output. Returns a handle whose ``remove()`` detaches the hook.

        Example:
            >>> import numpy as np
            >>> import nn
            >>> shapes = []
            >>> layer = nn.Linear(3, 2)
            >>> handle = layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
            >>> _ = layer(np.zeros((4, 3)))
            >>> handle.remove()
            >>> shapes
            [(4, 2)]
        """
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; a non-None result replaces the args.

        Example:
            >>> import nn
            >>> layer = nn.Identity()
            >>> handle = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
            >>> layer(nn.Parameter([1.0])).tolist()
            [2.0]
        """
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # --------------------------------------------------------------- state dicts
    def state_dict(self) -> dict[str, np.ndarray]:
        """A flat ``{dotted_name: numpy copy}`` of every parameter and persistent buffer.

        The copies do not follow later training, so a state dict is a snapshot
        (save it with ``np.savez(path, **model.state_dict())``).

        Example:
            >>> import nn
            >>> sd = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).state_dict()
            >>> {k: v.shape for k, v in sd.items()}  # doctest: +NORMALIZE_WHITESPACE
            {'0.weight': (3, 2), '0.bias': (2,), '1.weight': (2,), '1.bias': (2,),
             '1.running_mean': (2,), '1.running_var': (2,)}
        """
        return {name: t.data.copy() for name, t in self._state_items()}

    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        for path, module in self.named_modules():
            items = [
                *module._parameters.items(),
                *((n, b) for n, b in module._buffers.items() if n not in module._non_persistent),
            ]
            for name, t in items:
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{path}.{name}" if path else name), t

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Copy values from ``state`` into the parameters and buffers, in place.

        Every key, shape and value is checked (and converted to the model's dtype)
        before anything is written, so a failed load leaves the model untouched.
        With ``strict=True`` (default) missing and unexpected keys are errors;
        shapes must always match. A conversion that loses more than rounding is an
        error too: an integer that does not fit, a fraction into an integer or bool
        buffer, a finite value that becomes inf, a nonzero imaginary part
        (float64 into float32 rounds, as usual). Values are copied into the existing
        arrays, so optimizers holding the parameters keep working, and each is
        marked changed (``Tensor.mark_changed``): a graph recorded before the load
        refuses to backward.

        Returns the missing and unexpected keys (empty when strict).

        Example:
            >>> import nn
            >>> a, b = nn.Linear(3, 2), nn.Linear(3, 2)
            >>> _ = b.load_state_dict(a.state_dict())
            >>> bool((a.weight.data == b.weight.data).all())
            True
            >>> nn.Linear(3, 4).load_state_dict(a.state_dict())  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            ValueError: Linear.load_state_dict: shape mismatch for 'weight': the model ...
        """
        own = dict(self._state_items())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        arrays = {}
        for key, t in own.items():
            if key not in state:
                continue
            value = state[key]
            arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            if arr.shape != t.data.shape:
                problems.append(
                    f"shape mismatch for '{key}': the model expects {t.data.shape}, "
                    f"the state dict has {arr.shape}"
                )
                continue
            try:  # converted now, so that a value that cannot be leaves nothing half-loaded
                converted = _converted(arr, t.data.dtype)
            except (ValueError, TypeError, OverflowError) as exc:
                problems.append(
                    f"the value for '{key}' ({arr.dtype}) cannot be converted to the "
                    f"model's {t.data.dtype}: {exc}"
                )
                continue
            if _lossy(arr, converted):
                problems.append(
                    f"the value for '{key}' ({arr.dtype}) cannot be stored in the model's "
                    f"{t.data.dtype} without losing values"
                )
                continue
            arrays[key] = converted
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: " + "; ".join(problems))
        for key, arr in arrays.items():
            own[key].data[...] = arr
            own[key].mark_changed()
        return LoadResult(missing, unexpected)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The text inside ``Name(...)`` in the repr; layers override it to show their settings.

        Example:
            >>> import nn
            >>> nn.Linear(3, 2).extra_repr()
            'in_features=3, out_features=2, bias=True'
        """
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        kids = list(self.named_children())
        if not kids:
            return f"{type(self).__name__}({extra})"
        lines = [f"{type(self).__name__}({extra}" if extra else f"{type(self).__name__}("]
        if extra:
            lines[0] += ","
        for name, m in kids:
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)

    def summary(
        self, input_shape: tuple[int, ...], dtype: Any = np.float32, print_fn: Any = print
    ) -> str:
        """Print and return a Keras-style table of layers, output shapes and parameter counts.

        Runs one forward pass on zeros of ``input_shape`` with a batch axis of 1
        inserted at ``self.batch_axis`` (in front, except for time-major recurrent
        layers) under ``no_grad`` in eval mode (the training flags and running
        statistics are left as they were). See ``nn.summary.summary``.

        Example:
            >>> import nn
            >>> text = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).summary((4,), print_fn=None)
            >>> text.total_params
            15
        """
        from .summary import summary

        return summary(self, input_shape, dtype=dtype, print_fn=print_fn)


def _warn_if_hidden_modules(owner: Module, name: str, value: Any) -> None:
    # Modules in a plain container are not registered: their parameters would never be
    # trained, saved or moved, and nothing else would tell a learner so.
    items = value.values() if isinstance(value, dict) else value
    hidden = [v for v in items if isinstance(v, Module)]
    if hidden and "_modules" in owner.__dict__:
        # A list of modules that are registered anyway (self.layers = [self.fc1, ...]) is fine.
        registered = {id(m) for m in owner.modules()}
        hidden = [m for m in hidden if id(m) not in registered]
    if hidden:
        fix = "nn.ModuleDict" if isinstance(value, dict) else "nn.ModuleList"
        warnings.warn(
            f"{type(owner).__name__}.{name} is a plain {type(value).__name__} holding Modules: "
            "their parameters are not registered (not in parameters(), state_dict() or the "
            f"optimizer); hold them in {fix} (or nn.Sequential) instead",
            UserWarning,
            stacklevel=3,
        )


def _as_buffer(value: Any, name: str) -> Tensor | None:
    if value is None:
        return None
    if isinstance(value, Parameter):
        raise TypeError(f"buffer '{name}' got a Parameter; use register_parameter for it")
    data = value.data if isinstance(value, Tensor) else np.asarray(value)
    return Tensor(data, name=name, _copy=False)


class Sequential(Module):
    """Layers applied one after another: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Also built from an ``OrderedDict`` of named layers. Supports indexing
    (``model[0]``; a slice gives a new Sequential of the same layers, of the same class
    unless that class has a constructor of its own, as the models do), ``len``,
    iteration and ``append``.

    Example:
        >>> from collections import OrderedDict
        >>> import numpy as np
        >>> import nn
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> model(np.ones((3, 4))).shape
        (3, 2)
        >>> len(model), type(model[-1]).__name__
        (3, 'Linear')
        >>> named = nn.Sequential(OrderedDict(fc1=nn.Linear(4, 8), act=nn.ReLU()))
        >>> [n for n, _ in named.named_parameters()]
        ['fc1.weight', 'fc1.bias']
    """

    @property
    def batch_axis(self) -> int:
        """The first layer's, as it reads the input, unless set (an Embedding before a
        time-major RNN takes (T, batch) ids: ``model.batch_axis = 1``)."""
        if "_batch_axis" in self.__dict__:
            return self.__dict__["_batch_axis"]
        first = next(iter(self._modules.values()), None)
        return 0 if first is None else first.batch_axis

    @batch_axis.setter
    def batch_axis(self, axis: int) -> None:
        self.__dict__["_batch_axis"] = int(axis)

    def __init__(self, *layers: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            for name, layer in layers[0].items():
                self._add(str(name), layer)
        else:
            for layer in layers:
                self.append(layer)

    def _add(self, name: str, layer: Any) -> None:
        if not isinstance(layer, Module):
            raise TypeError(
                f"{type(self).__name__} takes Modules, got {type(layer).__name__} at '{name}'"
            )
        setattr(self, name, layer)

    def append(self, layer: Module) -> Sequential:
        """Add a layer at the end (named by its position); returns self.

        Example:
            >>> import nn
            >>> len(nn.Sequential(nn.Linear(2, 2)).append(nn.ReLU()))
            2
        """
        self._add(str(len(self._modules)), layer)
        return self

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            # a subclass with its own constructor (a model) takes other arguments
            same_init = type(self).__init__ is Sequential.__init__
            return (type(self) if same_init else Sequential)(OrderedDict(items[index]))
        try:
            return items[index][1]
        except IndexError:
            raise IndexError(
                f"index {index} is out of range for a {type(self).__name__} of length {len(items)}"
            ) from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def forward(self, x: Any) -> Any:
        """Feed ``x`` through every layer in order."""
        for layer in self._modules.values():
            x = layer(x)
        return x


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list would hide them).

    Example:
        >>> import nn
        >>> blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
        >>> len(blocks), len(list(blocks.parameters()))
        (3, 6)
        >>> blocks.append(nn.ReLU())[3]
        ReLU()
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end; returns self.

        Example:
            >>> import nn
            >>> len(nn.ModuleList().append(nn.Tanh()))
            1
        """
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList takes Modules, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append every module of ``modules``; returns self.

        Example:
            >>> import nn
            >>> len(nn.ModuleList().extend([nn.Tanh(), nn.ReLU()]))
            2
        """
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        try:
            return items[index]
        except IndexError:
            raise IndexError(
                f"index {index} is out of range for a ModuleList of length {len(items)}"
            ) from None

    def __setitem__(self, index: int, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList takes Modules, got {type(module).__name__}")
        try:
            key = list(self._modules)[index]
        except IndexError:
            raise IndexError(
                f"index {index} is out of range for a ModuleList of length {len(self)}"
            ) from None
        setattr(self, key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A ModuleList only holds modules; iterate over it in your own forward."""
        raise NotImplementedError(
            "ModuleList is a container, not a layer: iterate over it in your forward() "
            "(or use nn.Sequential to chain the modules)"
        )


class ModuleDict(Module):
    """A dict of modules whose parameters are registered (a plain dict would hide them).

    Keys are the modules' names (``layers.fc1.weight``) and keep their insertion order,
    as in PyTorch. Like :class:`ModuleList` it is a container, not a layer: look the
    modules up in your own ``forward``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> layers = nn.ModuleDict({"fc1": nn.Linear(4, 3), "act": nn.ReLU()})
        >>> layers["fc2"] = nn.Linear(3, 2)
        >>> list(layers), [n for n, _ in layers.named_parameters()][:2]
        (['fc1', 'act', 'fc2'], ['fc1.weight', 'fc1.bias'])
        >>> x = np.ones((5, 4))
        >>> for layer in layers.values():
        ...     x = layer(x)
        >>> x.shape, "act" in layers, len(layers)
        ((5, 2), True, 3)
    """

    def __init__(
        self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
    ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _check_key(self, key: Any) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(
                f"ModuleDict keys must be non-empty strings without '.' (they become parts "
                f"of dotted parameter names); got {key!r}"
            )
        # a key stored by setattr must not replace an attribute or method of the container
        if key not in self._modules and hasattr(self, key):
            raise KeyError(f"ModuleDict key {key!r} is the name of a ModuleDict attribute")

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict takes Modules, got {type(module).__name__} at {key!r}")
        self._check_key(key)
        setattr(self, key, module)

    def _missing(self, key: Any) -> KeyError:
        return KeyError(f"ModuleDict has no key {key!r}; its keys are {list(self._modules)}")

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise self._missing(key)
        return self._modules[key]

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise self._missing(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        """The keys, in insertion order.

        Example:
            >>> import nn
            >>> nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()}).keys()
            ['b', 'a']
        """
        return list(self._modules)

    def values(self) -> list[Module]:
        """The modules, in insertion order.

        Example:
            >>> import nn
            >>> nn.ModuleDict({"act": nn.ReLU()}).values()
            [ReLU()]
        """
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        """``(key, module)`` pairs, in insertion order.

        Example:
            >>> import nn
            >>> nn.ModuleDict({"act": nn.ReLU()}).items()
            [('act', ReLU())]
        """
        return list(self._modules.items())

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> ModuleDict:
        """Add or replace modules from a mapping or ``(key, module)`` pairs; returns self.

        A replaced module keeps its place in the order.

        Example:
            >>> import nn
            >>> layers = nn.ModuleDict({"act": nn.ReLU(), "out": nn.Linear(2, 1)})
            >>> layers.update([("act", nn.Tanh()), ("drop", nn.Dropout(0.5))]).values()
            [Tanh(), Linear(in_features=2, out_features=1, bias=True), Dropout(p=0.5)]
        """
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(
                    "ModuleDict.update takes a mapping or (key, module) pairs; got an item "
                    f"of type {type(pair).__name__}"
                )
            self[pair[0]] = pair[1]
        return self

    def pop(self, key: str) -> Module:
        """Remove the module under ``key`` and return it.

        Example:
            >>> import nn
            >>> layers = nn.ModuleDict({"act": nn.ReLU(), "out": nn.Linear(2, 1)})
            >>> layers.pop("act"), layers.keys()
            (ReLU(), ['out'])
        """
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every module.

        Example:
            >>> import nn
            >>> layers = nn.ModuleDict({"act": nn.ReLU()})
            >>> layers.clear()
            >>> len(layers), layers.num_parameters()
            (0, 0)
        """
        for key in list(self._modules):
            del self[key]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A ModuleDict only holds modules; look them up in your own forward."""
        raise NotImplementedError(
            "ModuleDict is a container, not a layer: look its modules up in your forward() "
            "(or use nn.Sequential to chain the modules)"
        )


def functional_call(module: Module, params: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``module`` with some parameters (by dotted name) replaced by the given tensors.

    The module's own parameters are restored afterwards. This is how a layer
    is gradient-checked: the replacements are the checker's float64 inputs.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> from autodiff.testing import gradcheck
        >>> layer = nn.Linear(3, 2).astype(np.float64)
        >>> names = [n for n, _ in layer.named_parameters()]
        >>> def f(x, *ps):
        ...     return nn.functional_call(layer, dict(zip(names, ps)), x)
        >>> x = np.random.default_rng(0).normal(size=(4, 3))
        >>> gradcheck(f, [x] + [p.data for p in layer.parameters()])
        True
    """
    modules = dict(module.named_modules())
    saved = []
    try:
        for key, value in params.items():
            path, _, name = key.rpartition(".")
            owner = modules.get(path)
            if owner is None or name not in owner._parameters:
                raise KeyError(f"functional_call: {type(module).__name__} has no parameter {key!r}")
            saved.append((owner, name, owner._parameters[name]))
            owner._parameters[name] = value
        return module(*args, **kwargs)
    finally:
        for owner, name, old in reversed(saved):
            owner._parameters[name] = old


def _converted(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    # Overflow and dropped imaginary parts are judged by _lossy, value by value.
    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        return arr.astype(dtype, copy=False)


def _lossy(arr: np.ndarray, converted: np.ndarray) -> bool:
    """Whether ``converted`` lost more of ``arr`` than rounding: an int that did not fit,
    a fraction cut to an int, a finite float that became inf, an imaginary part dropped.
    float64 into float32 (rounding) is fine."""
    if not arr.size or arr.dtype.kind not in "biufc":
        return False
    if arr.dtype.kind == "c" and converted.dtype.kind != "c" and np.any(arr.imag != 0):
        return True
    if converted.dtype.kind in "fc":
        return bool(np.any(np.isfinite(arr) & ~np.isfinite(converted)))
    return not np.array_equal(converted, arr)  # numpy compares ints and floats by value
