"""The :class:`Optimizer` base class shared by every update rule in :mod:`nn.optim`.

The contract with the rest of the framework is deliberately tiny: an optimizer only ever
sees *parameters*.  A parameter is any object ``p`` with

* ``p.data`` -- a floating point numpy array (float32 in practice).  The optimizer updates
  it **in place** (``p.data -= ...``), so every other reference to the array stays valid,
  and then calls ``p.mark_changed()`` if ``p`` has one, so a graph recorded before the
  step refuses to backward with the new values;
* ``p.grad`` -- ``None`` (the parameter is skipped by :meth:`Optimizer.step`) or an object
  whose ``.data`` is an array of the same shape as ``p.data``;
* optionally ``p.name`` (only used in error messages).

Nothing in this package ever upcasts: gradients are cast to the parameter's dtype before
use, hyper-parameters are kept as Python floats (which, under numpy's NEP 50 rules, adopt
the dtype of the array they multiply), and every state array has the parameter's dtype.

State dicts are *flat*: ``str -> numpy array | Python scalar | str``, so they can be written
with ``np.savez`` and read back with ``np.load(..., allow_pickle=False)``.  The layout is::

    "optimizer"            class name, e.g. "Adam"
    "num_groups"           number of parameter groups
    "group.<g>.num_params" number of parameters in group g
    "group.<g>.<hyper>"    every hyper-parameter of group g (lr, eps, betas, ...)
    "stateful"             int64 array: flat indices of the parameters that have state
    "state.<i>.<key>"      per-parameter state of the i-th parameter (groups in order,
                           parameters in order inside a group), e.g. "state.0.exp_avg"
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

import numpy as np

__all__ = ["Optimizer"]


def _changed(p: Any) -> None:
    """Tell a tensor its data was updated in place, so a graph recorded before the update
    refuses to backward through it (``Tensor.mark_changed``); other parameter-like objects
    have nothing to tell."""
    mark = getattr(p, "mark_changed", None)
    if mark is not None:
        mark()


def _describe(p: Any, index: int | None = None) -> str:
    name = getattr(p, "name", None)
    where = f"parameter {index}" if index is not None else "parameter"
    return f"{where} ({name!r})" if name else where


class _ParamState(MutableMapping):
    """Per-parameter state keyed by parameter *identity*.

    Parameters may overload ``__eq__`` elementwise (and therefore be unhashable), so this
    mapping uses ``id(p)`` internally while still letting users write ``opt.state[p]``.
    It keeps a reference to every key, so an ``id`` can never be reused while stored.
    """

    def __init__(self) -> None:
        self._items: dict[int, tuple[Any, dict[str, Any]]] = {}

    def __getitem__(self, p: Any) -> dict[str, Any]:
        try:
            return self._items[id(p)][1]
        except KeyError:
            raise KeyError(f"no optimizer state for {_describe(p)}") from None

    def __setitem__(self, p: Any, value: dict[str, Any]) -> None:
        self._items[id(p)] = (p, value)

    def __delitem__(self, p: Any) -> None:
        del self._items[id(p)]

    def __contains__(self, p: object) -> bool:
        return id(p) in self._items

    def __iter__(self) -> Iterator[Any]:
        return (p for p, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<optimizer state for {len(self)} parameter(s)>"


def _is_parameter(obj: Any) -> bool:
    return hasattr(obj, "data") and hasattr(obj, "grad")


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``step``/``zero_grad``, state dicts.

    Parameters
    ----------
    params:
        An iterable of parameters, or a list of *param-group* dicts such as
        ``[{"params": enc_params}, {"params": head_params, "lr": 0.1}]``.  Keys missing
        from a group fall back to the optimizer-wide defaults; unknown keys are an error
        (this catches typos such as ``"learning_rate"``).
    lr:
        Learning rate (default for every group).
    weight_decay:
        L2 penalty coefficient ``lambda``.  The *gradient* is replaced by
        ``g + lambda * p`` before the update rule runs (classic L2 regularisation, the
        ``weight_decay`` of PyTorch's non-"W" optimizers -- not decoupled AdamW decay).
    **defaults:
        Further hyper-parameters of the subclass (``momentum``, ``betas``, ``eps``, ...).

    Subclasses implement :meth:`_init_state` and :meth:`_update` and declare
    ``_state_spec`` (state key -> ``"array"``, ``int`` or ``float``).

    A float16 parameter with an ``eps`` below float16's smallest normal number
    (6.1e-05) is a ValueError, here, in :meth:`step` and in :meth:`load_state_dict`:
    the update divides by a running average plus ``eps``, and in float16 a zero
    gradient then gives ``0 / 0`` = NaN weights (eps=1e-8 rounds to 0) and a small one
    a huge step (pass ``eps=1e-4``). AdaDelta, whose ``eps`` sits inside its square
    roots, only refuses one that float16 rounds to 0.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> class SignSGD(nn.optim.Optimizer):  # stateless: no _init_state/_state_spec needed
        ...     def __init__(self, params, lr=0.01, weight_decay=0.0):
        ...         super().__init__(params, lr=lr, weight_decay=weight_decay)
        ...     def _update(self, p, g, state, group):  # g: grad (+ L2 term), in p's dtype
        ...         x = p.data
        ...         x -= group["lr"] * np.sign(g)  # in place
        >>> w = nn.Parameter([1.0, -2.0])
        >>> opt = SignSGD([w], lr=0.5)
        >>> (w * w).sum().backward()  # grad = 2 * w = [2, -4]
        >>> opt.step()
        >>> np.round(w.data, 4)
        array([ 0.5, -1.5], dtype=float32)
    """

    #: state key -> "array" (same shape/dtype as the parameter), int or float
    _state_spec: dict[str, Any] = {}

    #: the update divides by ``(running average) + eps``: see ``_check_half``
    _eps_in_denominator = True

    def __init__(self, params: Any, lr: float, weight_decay: float = 0.0, **defaults: Any):
        self.defaults: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay, **defaults}
        self.param_groups: list[dict[str, Any]] = []
        self.state = _ParamState()

        if isinstance(params, dict):
            params = [params]
        if _is_parameter(params) or isinstance(params, np.ndarray):
            raise TypeError(
                "params must be an iterable of parameters or of param-group dicts; got a "
                "single parameter/array -- wrap it in a list"
            )
        try:
            params = list(params)
        except TypeError:
            raise TypeError(
                f"params must be an iterable of parameters, got {type(params).__name__}"
            ) from None
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if all(isinstance(p, dict) for p in params):
            groups = params
        elif any(isinstance(p, dict) for p in params):
            raise TypeError("params mixes parameters and param-group dicts")
        else:
            groups = [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group (dict with ``"params"`` and optional hyper-parameter overrides)."""
        if not isinstance(group, dict):
            raise TypeError(f"a param group must be a dict, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError("a param group needs a 'params' entry")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(
                f"unknown param-group option(s) {sorted(unknown)} for "
                f"{type(self).__name__}; valid options: {sorted(self.defaults)}"
            )
        plist = group["params"]
        plist = [plist] if _is_parameter(plist) else list(plist)
        if not plist:
            raise ValueError("a param group has an empty 'params' list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(plist):
            if not _is_parameter(p):
                raise TypeError(
                    f"{_describe(p, i)} of a group is a {type(p).__name__}; a parameter "
                    "needs .data (ndarray) and .grad attributes"
                )
            if not isinstance(p.data, np.ndarray) or not np.issubdtype(p.data.dtype, np.floating):
                raise TypeError(f"{_describe(p, i)}: .data must be a floating point ndarray")
            if id(p) in seen:
                raise ValueError(f"{_describe(p, i)} appears more than once in the optimizer")
            seen.add(id(p))
        new = {k: v for k, v in self.defaults.items()}
        new.update({k: v for k, v in group.items() if k != "params"})
        new = {k: self._normalize_hyper(k, v) for k, v in new.items()}
        try:
            self._validate_group(new)
        except (ValueError, TypeError) as err:
            where = f"param group {len(self.param_groups)}" if self.param_groups else ""
            raise type(err)(f"{type(self).__name__}{' ' + where if where else ''}: {err}") from None
        for i, p in enumerate(plist):
            self._check_half(p, new, i)
        new["params"] = plist
        self.param_groups.append(new)

    def _check_half(self, p: Any, group: dict[str, Any], index: int) -> None:
        """Refuse a float16 parameter whose update would divide by ``0 + eps`` with an
        ``eps`` that float16 cannot hold (below its smallest normal number, 6.1e-05).

        The update rules divide by ``sqrt(v) + eps``; in float16 the default eps (1e-8)
        rounds to 0 and ``g * g`` of a gradient below ~2e-4 underflows to 0, so a zero
        gradient gives 0 / 0 = NaN and a small one a step thousands of times too big
        (PyTorch's optimizers fail the same way on float16; the usual advice is eps=1e-4).
        """
        eps = group.get("eps")
        if eps is None or p.data.dtype.newbyteorder("=") != np.float16:
            return
        # AdaDelta's eps sits inside the square roots: only an eps float16 rounds to 0 fails
        too_small = eps < _HALF_TINY if self._eps_in_denominator else np.float16(eps) == 0
        if too_small:
            raise ValueError(
                f"{type(self).__name__}: {_describe(p, index)} is float16 and eps={eps:g} is "
                f"too small for float16 (smallest normal number {_HALF_TINY:.2g}): the update "
                "divides by a running average plus eps, so a zero gradient would give NaN and "
                "a small one a huge step; pass eps=1e-4 (or larger), or keep the parameters "
                "in float32"
            )

    @staticmethod
    def _normalize_hyper(key: str, value: Any) -> Any:
        # Python floats keep float32 arrays float32 (NEP 50); numpy float64 scalars would not.
        if isinstance(value, bool):
            return value
        if isinstance(value, np.ndarray) and value.ndim == 0:
            return float(value)  # np.array(0.01) is a number, not a tuple like betas
        if isinstance(value, (tuple, list, np.ndarray)):
            return tuple(float(v) for v in np.asarray(value).ravel())
        if isinstance(value, (int, float, np.integer, np.floating)):
            return float(value)
        return value

    def _validate_group(self, group: dict[str, Any]) -> None:
        """Range checks; subclasses extend this.  Raises ValueError."""
        _check_range("lr", group["lr"], lo=0.0)
        _check_range("weight_decay", group["weight_decay"], lo=0.0)
        if "eps" in group:
            _check_range("eps", group["eps"], lo=0.0)

    @property
    def lr(self) -> float:
        """Learning rate of the first group; assigning sets it for *all* groups."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        value = float(value)
        _check_range("lr", value, lo=0.0)
        for group in self.param_groups:
            group["lr"] = value

    def _flat_params(self) -> list[Any]:
        return [p for g in self.param_groups for p in g["params"]]

    # ------------------------------------------------------------------ stepping
    def zero_grad(self) -> None:
        """Set ``p.grad = None`` for every parameter (gradients must be recomputed)."""
        for p in self._flat_params():
            p.grad = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Apply one update to every parameter whose ``grad`` is not None.

        If ``closure`` is given it is called first (it should recompute the loss and the
        gradients) and its return value is returned. Each updated parameter is marked
        changed (``Tensor.mark_changed``). Parameters updated for the first time are
        checked (the float16 ``eps`` above) before any parameter changes.
        """
        loss = closure() if closure is not None else None
        index = 0
        if len(self.state) < sum(len(g["params"]) for g in self.param_groups):
            # parameters met for the first time are checked before anything changes
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None and p not in self.state:
                        self._check_half(p, group, index)
                    index += 1
            index = 0
        for group in self.param_groups:
            for p in group["params"]:
                index += 1
                if p.grad is None:
                    continue
                g = self._gradient(p, group, index - 1)
                if p not in self.state:
                    self.state[p] = self._init_state(p, group)
                self._update(p, g, self.state[p], group)
                _changed(p)
        return loss

    def _gradient(self, p: Any, group: dict[str, Any], index: int) -> np.ndarray:
        g = np.asarray(p.grad.data)
        if g.shape != p.data.shape:
            raise ValueError(
                f"{_describe(p, index)}: grad shape {g.shape} != data shape {p.data.shape}"
            )
        # never upcast: compute in the parameter's dtype (float32)
        g = g.astype(p.data.dtype, copy=False)
        wd = group["weight_decay"]
        if wd != 0.0:
            g = g + wd * p.data  # L2 penalty folded into the gradient (new array)
        return g

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _update(self, p: Any, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]):
        raise NotImplementedError

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """A flat ``str -> ndarray | scalar | str`` snapshot (copies, safe for ``np.savez``)."""
        out: dict[str, Any] = {
            "optimizer": type(self).__name__,
            "num_groups": len(self.param_groups),
        }
        for gi, group in enumerate(self.param_groups):
            out[f"group.{gi}.num_params"] = len(group["params"])
            for k, v in group.items():
                if k == "params":
                    continue
                out[f"group.{gi}.{k}"] = (
                    np.array(v, dtype=np.float64) if isinstance(v, tuple) else v
                )
        stateful = []
        for i, p in enumerate(self._flat_params()):
            if p not in self.state:
                continue
            stateful.append(i)
            for k, v in self.state[p].items():
                out[f"state.{i}.{k}"] = v.copy() if isinstance(v, np.ndarray) else v
        out["stateful"] = np.array(stateful, dtype=np.int64)
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state from :meth:`state_dict` output.

        Strict: the optimizer class, the group/parameter layout, the set of keys and every
        array shape must match, otherwise a ValueError names the offending key (as does a
        saved ``eps`` too small for float16 parameters).  Nothing is modified unless the
        whole dict validates.  Works on dicts read back from ``.npz`` files (0-d arrays
        are accepted wherever scalars are expected).
        """
        sd = dict(state_dict)
        name = type(self).__name__
        if "optimizer" not in sd:
            raise ValueError("state dict is missing key 'optimizer' (not an optimizer state dict?)")
        saved_name = _as_str(sd["optimizer"], "optimizer")
        if saved_name != name:
            raise ValueError(
                f"state dict is for optimizer {saved_name!r}, cannot load into {name!r}"
            )

        expected: set[str] = {"optimizer", "num_groups", "stateful"}
        _require(sd, "num_groups")
        num_groups = _as_int(sd["num_groups"], "num_groups")
        if num_groups != len(self.param_groups):
            raise ValueError(
                f"state dict key 'num_groups' = {num_groups}, but this optimizer has "
                f"{len(self.param_groups)} param group(s)"
            )
        new_hypers: list[dict[str, Any]] = []
        for gi, group in enumerate(self.param_groups):
            key = f"group.{gi}.num_params"
            _require(sd, key)
            n = _as_int(sd[key], key)
            if n != len(group["params"]):
                raise ValueError(
                    f"state dict key {key!r} = {n}, but group {gi} has {len(group['params'])} "
                    "parameter(s)"
                )
            expected.add(key)
            hyper = {}
            for k, current in group.items():
                if k == "params":
                    continue
                key = f"group.{gi}.{k}"
                _require(sd, key)
                expected.add(key)
                hyper[k] = _convert_like(sd[key], current, key)
            trial = dict(hyper)
            try:
                self._validate_group(trial)
                for i, p in enumerate(group["params"]):
                    self._check_half(p, trial, i)  # a saved eps=1e-8 for float16 parameters
            except ValueError as exc:
                raise ValueError(f"state dict group {gi}: {exc}") from None
            new_hypers.append(hyper)

        _require(sd, "stateful")
        stateful = np.asarray(sd["stateful"])
        if stateful.ndim != 1 or not (
            stateful.size == 0 or np.issubdtype(stateful.dtype, np.integer)
        ):
            raise ValueError("state dict key 'stateful' must be a 1-d integer array")
        params = self._flat_params()
        new_state: dict[int, dict[str, Any]] = {}
        for i in (int(x) for x in stateful):
            if not 0 <= i < len(params):
                raise ValueError(
                    f"state dict key 'stateful' names parameter {i}, but this optimizer has "
                    f"{len(params)} parameter(s)"
                )
            p = params[i]
            st: dict[str, Any] = {}
            for k, kind in self._state_spec.items():
                key = f"state.{i}.{k}"
                _require(sd, key)
                expected.add(key)
                v = sd[key]
                if kind == "array":
                    arr = np.asarray(v)
                    if arr.shape != p.data.shape:
                        raise ValueError(
                            f"state dict key {key!r} has shape {arr.shape}, but "
                            f"{_describe(p, i)} has shape {p.data.shape}"
                        )
                    st[k] = np.array(arr, dtype=p.data.dtype, copy=True)
                elif kind is int:
                    st[k] = _as_int(v, key)
                else:
                    st[k] = _as_float(v, key)
            new_state[i] = st

        unexpected = sorted(set(sd) - expected)
        if unexpected:
            raise ValueError(f"unexpected key(s) in state dict for {name}: {unexpected}")

        # everything validated: commit
        for group, hyper in zip(self.param_groups, new_hypers):
            group.update(hyper)
        self.state = _ParamState()
        for i, st in new_state.items():
            self.state[params[i]] = st

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for gi, group in enumerate(self.param_groups):
            hyp = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {gi}: {len(group['params'])} param(s), {hyp}")
        lines.append(")")
        return "\n".join(lines)


# ---------------------------------------------------------------------- helpers
_HALF_TINY = float(np.finfo(np.float16).tiny)


def _check_range(
    name: str, value: float, lo: float | None = None, hi: float | None = None, hi_open=False
) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"invalid {name}: {value!r} (must be a real number)")
    if not np.isfinite(value):
        raise ValueError(f"invalid {name}: {value} (must be finite)")
    if lo is not None and value < lo:
        raise ValueError(f"invalid {name}: {value} (must be >= {lo})")
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise ValueError(f"invalid {name}: {value} (must be {'<' if hi_open else '<='} {hi})")


def _require(sd: dict[str, Any], key: str) -> None:
    if key not in sd:
        raise ValueError(f"state dict is missing key {key!r}")


def _scalar(v: Any, key: str) -> Any:
    arr = np.asarray(v)
    if arr.shape != ():
        raise ValueError(f"state dict key {key!r} must be a scalar, got shape {arr.shape}")
    return arr.item()


def _as_str(v: Any, key: str) -> str:
    return str(_scalar(v, key))


def _as_int(v: Any, key: str) -> int:
    x = _scalar(v, key)
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise ValueError(f"state dict key {key!r} must be an integer, got {x!r}")
    return int(x)


def _as_float(v: Any, key: str) -> float:
    x = _scalar(v, key)
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        raise ValueError(f"state dict key {key!r} must be a number, got {x!r}")
    return float(x)


def _convert_like(v: Any, current: Any, key: str) -> Any:
    """Convert a saved hyper-parameter to the type of the current value."""
    if isinstance(current, tuple):
        arr = np.asarray(v, dtype=np.float64)
        if arr.shape != (len(current),):
            raise ValueError(
                f"state dict key {key!r} has shape {arr.shape}, expected ({len(current)},)"
            )
        return tuple(float(x) for x in arr)
    if isinstance(current, bool):
        return bool(_scalar(v, key))
    if isinstance(current, float):
        return _as_float(v, key)
    if isinstance(current, int):
        return _as_int(v, key)
    if isinstance(current, str):
        return _as_str(v, key)
    return _scalar(v, key)


def _iter_params(params: Iterable[Any] | Any) -> list[Any]:
    """Accept a single parameter or an iterable of parameters (used by clip.py)."""
    if _is_parameter(params):
        return [params]
    return list(params)
