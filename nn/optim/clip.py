"""Gradient clipping and the max-norm weight constraint (all in place, dtype preserving).

Each function accepts a single parameter or an iterable of parameters (objects with
``.data`` and ``.grad``; parameters whose ``grad`` is None are skipped by the gradient
functions).  Call the gradient clippers between ``backward()`` and ``optimizer.step()``;
call :func:`apply_max_norm_` *after* ``optimizer.step()``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .optimizer import _changed, _iter_params

__all__ = ["clip_grad_value_", "clip_grad_norm_", "apply_max_norm_"]


def _set_grad(grad: Any, new: np.ndarray) -> None:
    arr = grad.data
    if isinstance(arr, np.ndarray) and arr.flags.writeable:
        arr[...] = new  # in place: other references to the gradient see the clipped values
    else:
        grad.data = new.astype(np.asarray(arr).dtype, copy=False)


def clip_grad_value_(params: Any, clip_value: float) -> None:
    """Clip every gradient element to ``[-clip_value, clip_value]`` in place.

    ``g <- min(max(g, -c), c)`` elementwise (Keras ``clipvalue``, PyTorch
    ``clip_grad_value_``).  Note it can change the gradient's direction.

    Example:
        >>> import nn
        >>> w = nn.Parameter([0.25, -2.0])
        >>> (w * w).sum().backward()  # grad = 2 * w = [0.5, -4]
        >>> nn.optim.clip_grad_value_([w], clip_value=1.0)
        >>> w.grad.data  # elementwise: the direction changed
        array([ 0.5, -1. ], dtype=float32)
    """
    c = float(clip_value)
    if not c >= 0.0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value}")
    for p in _iter_params(params):
        if p.grad is None:
            continue
        g = np.asarray(p.grad.data)
        _set_grad(p.grad, np.clip(g, -c, c))


def clip_grad_norm_(params: Any, max_norm: float, error_if_nonfinite: bool = False) -> float:
    """Rescale all gradients together so their *global* L2 norm is at most ``max_norm``.

    ::

        total = sqrt(sum over all parameters and elements of g**2)
        if total > max_norm:  g <- g * (max_norm / total)     for every gradient

    (Pascanu, Mikolov & Bengio, 2013; PyTorch ``clip_grad_norm_``, Keras
    ``global_clipnorm``.)  The direction of the full gradient vector is preserved.  The norm
    is accumulated in float64 (no overflow for large float32 gradients) but the gradients
    keep their dtype.  No epsilon is needed: the scale is only applied when
    ``total > max_norm >= 0``.

    Returns the total norm *before* clipping, as a Python float.  With
    ``error_if_nonfinite=True`` a NaN/inf total raises ValueError (otherwise the
    gradients become NaN/0, as in PyTorch).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> a, b = nn.Parameter([1.5]), nn.Parameter([2.0])
        >>> ((a * a).sum() + (b * b).sum()).backward()  # grads [3] and [4]
        >>> nn.optim.clip_grad_norm_([a, b], max_norm=1.0)  # global norm before clipping
        5.0
        >>> np.round(a.grad.data, 4), np.round(b.grad.data, 4)  # scaled by 1 / 5 together
        (array([0.6], dtype=float32), array([0.8], dtype=float32))
    """
    max_norm = float(max_norm)
    if not max_norm >= 0.0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm}")
    grads = [p.grad for p in _iter_params(params) if p.grad is not None]
    sq = 0.0
    for grad in grads:
        g = np.asarray(grad.data, dtype=np.float64)
        sq += float(np.sum(g * g))
    total = math.sqrt(sq)
    if not math.isfinite(total) and error_if_nonfinite:
        raise ValueError(f"the total gradient norm is non-finite ({total})")
    if total > max_norm or math.isnan(total):
        scale = max_norm / total
        for grad in grads:
            g = np.asarray(grad.data)
            _set_grad(grad, g * np.asarray(scale, dtype=g.dtype))
    return total


def apply_max_norm_(params: Any, max_norm: float, axis: int | tuple[int, ...] = 0) -> None:
    """Max-norm constraint (Srebro et al., 2005; Srivastava et al., 2014 sec. 5.1) in place.

    For every parameter, the L2 norm is taken along ``axis`` (keepdims) and every slice
    whose norm exceeds ``max_norm`` is rescaled to norm exactly ``max_norm``::

        n = ||w||_2 along axis
        w <- w * max_norm / n        where n > max_norm

    ``axis=0`` (the default, as in Keras ``MaxNorm``) reduces over the rows, so for a
    weight matrix stored as ``(fan_in, fan_out)`` each output unit's incoming weight vector
    (a column) is constrained; for PyTorch-style ``(fan_out, fan_in)`` weights pass
    ``axis=1``.  For a conv kernel, pass every axis except the output-channel axis.
    The constraint is applied to *every* parameter given, so pass weights only (a 1-d bias
    with ``axis=0`` would be constrained as a single vector).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([[3.0, 0.3], [4.0, 0.4]])  # (fan_in, fan_out): column norms 5, 0.5
        >>> nn.optim.apply_max_norm_([w], max_norm=1.0)  # after optimizer.step()
        >>> np.round(w.data, 4)  # the first column is rescaled to norm 1, the second is kept
        array([[0.6, 0.3],
               [0.8, 0.4]], dtype=float32)
    """
    max_norm = float(max_norm)
    if not max_norm >= 0.0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm}")
    for p in _iter_params(params):
        w = p.data
        norms = np.sqrt(np.sum(np.square(w, dtype=np.float64), axis=axis, keepdims=True))
        scale = np.ones_like(norms)
        np.divide(max_norm, norms, out=scale, where=norms > max_norm)
        w *= scale.astype(w.dtype)
        _changed(p)
