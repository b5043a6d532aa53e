"""Anomaly detection: stop at the first op that turns finite numbers into NaN or Inf.

A NaN loss after an hour of training says nothing about where it came from:
NaN spreads through every op after the first bad one. Inside
``detect_anomaly()`` every op checks its floating-point results, in both
directions, and the first one that produces NaN/Inf raises ``AnomalyError``
naming the op, the direction and the user's line where the op was created:

* **forward**: each output of each op (recorded or not);
* **backward**: each gradient an op's backward returns (on the engine's fast
  array path and on the differentiable Tensor path alike). Ops that run *inside*
  a backward (the Tensor path, ``create_graph=True``) are reported as part of the
  backward of the op being differentiated.

Integer and bool results are never checked. The checks cost one
``np.isfinite`` pass per array, so use anomaly mode to find a bug, not to train.
When it is off, the only cost is one flag test per op call.

Example:
    >>> import numpy as np
    >>> import autodiff as ad
    >>> x = ad.tensor(np.array([1.0, 0.0]), requires_grad=True)
    >>> with ad.detect_anomaly():
    ...     try:
    ...         y = x.log()
    ...     except ad.AnomalyError as err:
    ...         print(str(err).split(" at ")[0])
    op 'log' produced -inf in its forward output 0 (shape (2,) float64, 1 of 2 elements)
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from .function import Function, config, user_call_site, where
from .tensor import Tensor

__all__ = ["AnomalyError", "detect_anomaly", "is_anomaly_enabled"]


class AnomalyError(RuntimeError):
    """The first NaN/Inf produced under ``detect_anomaly()``.

    Attributes:
        op: name of the op that produced it.
        direction: ``"forward"`` or ``"backward"``.
        call_site: ``(file, line)`` of the user code that created the op, if known.
    """

    def __init__(
        self, message: str, op: str = "", direction: str = "", call_site: Any = None
    ) -> None:
        super().__init__(message)
        self.op = op
        self.direction = direction
        self.call_site = call_site


class _State:
    # The node whose backward is running, so ops inside it are blamed on it.
    __slots__ = ("node",)

    def __init__(self) -> None:
        self.node: Function | None = None


state = _State()


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()``.

    Example:
        >>> import autodiff as ad
        >>> with ad.detect_anomaly():
        ...     ad.is_anomaly_enabled()
        True
        >>> ad.is_anomaly_enabled()
        False
    """
    return config.anomaly


class detect_anomaly(contextlib.ContextDecorator):
    """Context manager (and decorator) raising ``AnomalyError`` at the first NaN/Inf.

    Nests: an inner ``detect_anomaly(False)`` switches checking off for its body
    and the outer setting comes back when it exits.

    Args:
        enabled: turn checking on (default) or off inside the block.

    Example (a backward that divides by zero):
        >>> import numpy as np
        >>> import autodiff as ad
        >>> x = ad.tensor(np.array([4.0, 0.0]), requires_grad=True)
        >>> @ad.detect_anomaly()
        ... def step():
        ...     x.sqrt().sum().backward()
        >>> try:
        ...     step()
        ... except ad.AnomalyError as err:
        ...     print(err.op, err.direction)
        sqrt backward
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = bool(enabled)
        self._saved: list[tuple[bool, Function | None]] = []

    def __enter__(self) -> None:
        self._saved.append((config.anomaly, state.node))
        config.anomaly = self.enabled

    def __exit__(self, *exc: object) -> None:
        config.anomaly, state.node = self._saved.pop()


def _bad(arr: Any) -> np.ndarray | None:
    """The non-finite mask of a float array, or None when it is all finite (or not float)."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fc":
        return None
    if np.isfinite(arr).all():
        return None
    return ~np.isfinite(arr)


def _describe(arr: np.ndarray, mask: np.ndarray) -> str:
    vals = arr[mask]
    kinds = []
    if np.isnan(vals).any():
        kinds.append("nan")
    if (vals == np.inf).any():
        kinds.append("inf")
    if (vals == -np.inf).any():
        kinds.append("-inf")
    return " and ".join(kinds or ["a non-finite value"])


def _count(arr: np.ndarray, mask: np.ndarray) -> str:
    return f"shape {arr.shape} {arr.dtype}, {int(mask.sum())} of {arr.size} elements"


def _scope(fn: Function) -> str:
    scope = getattr(fn, "scope", None) or config.scope
    return f" in layer '{'.'.join(scope)}'" if scope else ""


def _inputs_note(arrays: list[Any], what: str) -> str:
    for i, a in enumerate(arrays):
        if _bad(a) is not None:
            return f" Note: {what} {i} already contained NaN/Inf."
    return f" All {what}s were finite."


def check_forward(fn: Function, tensors: tuple[Tensor, ...], ys: Any) -> None:
    """Raise ``AnomalyError`` if a float output of ``fn``'s forward is not finite."""
    outs = ys if type(ys) is tuple else (ys,)
    for k, y in enumerate(outs):
        mask = _bad(y if isinstance(y, np.ndarray) else np.asarray(y))
        if mask is None:
            continue
        y = np.asarray(y)
        inner = f"op '{fn.name}' produced {_describe(y, mask)} in its forward output {k}"
        detail = f" ({_count(y, mask)})"
        inputs = [t.data for t in tensors]
        node = state.node
        if node is not None:
            site = getattr(node, "call_site", None)
            raise AnomalyError(
                f"op '{node.name}' produced {_describe(y, mask)} in its backward: inside it, "
                f"op '{fn.name}' returned {_describe(y, mask)} ({_count(y, mask)}); "
                f"the op was created at {where(site)}{_scope(node)}."
                + _inputs_note(inputs, f"'{fn.name}' input"),
                op=node.name,
                direction="backward",
                call_site=site,
            )
        site = user_call_site(2)
        raise AnomalyError(
            f"{inner}{detail} at {where(site)}{_scope(fn)}."
            + _inputs_note(inputs, "input")
            + " Typical causes: log or sqrt of a value <= 0, exp overflow, division by zero.",
            op=fn.name,
            direction="forward",
            call_site=site,
        )


def check_backward(fn: Function, gys: list[Tensor], gxs: tuple[Any, ...]) -> None:
    """Raise ``AnomalyError`` if a gradient returned by ``fn``'s backward is not finite."""
    for i, gx in enumerate(gxs):
        if gx is None:
            continue
        arr = gx.data if isinstance(gx, Tensor) else np.asarray(gx)
        mask = _bad(arr)
        if mask is None:
            continue
        site = getattr(fn, "call_site", None)
        raise AnomalyError(
            f"op '{fn.name}' produced {_describe(arr, mask)} in its backward, in the gradient "
            f"for input {i} ({_count(arr, mask)}); the op was created at {where(site)}"
            f"{_scope(fn)}." + _inputs_note([g.data for g in gys], "upstream gradient"),
            op=fn.name,
            direction="backward",
            call_site=site,
        )
