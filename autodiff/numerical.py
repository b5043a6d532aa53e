"""Numerical differentiation: the central difference learners meet first.

These are the reference the automatic gradients are checked against (see
``autodiff.testing.gradcheck``), and they are slow on purpose: two function
evaluations per input element.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import NoGraphError
from .function import no_grad

__all__ = ["numerical_diff", "numerical_gradient"]


def numerical_diff(f: Callable[[float], Any], x: float, h: float = 1e-4) -> float:
    """Central difference (f(x+h) - f(x-h)) / 2h of a scalar function.

    Example (d/dx of 0.01x^2 + 0.1x at x = 5 is 0.2):
        >>> from autodiff import numerical_diff
        >>> round(numerical_diff(lambda x: 0.01 * x**2 + 0.1 * x, 5.0), 6)
        0.2
    """
    mode: dict[str, bool] = {}
    up, down = _value(f, x + h, mode), _value(f, x - h, mode)
    if up.size != 1:
        raise TypeError(f"numerical_diff needs a scalar function, f returned shape {up.shape}")
    return (float(up.item()) - float(down.item())) / (2 * h)


def _value(f: Callable[[Any], Any], x: Any, mode: dict[str, bool]) -> np.ndarray:
    """f(x) as an array: f may return a number, an array or a Tensor (a loss).

    Evaluated without a graph, as values are all a difference quotient needs (and numpy
    functions on a model's output then work), unless f differentiates inside (a Hessian
    check): that fails without one, and from then on (``mode``) f runs recording.
    """
    if not mode.get("graph"):
        try:
            with no_grad():
                y = f(x)
            return np.asarray(getattr(y, "data", y))
        except NoGraphError:
            mode["graph"] = True
    y = f(x)
    return np.asarray(getattr(y, "data", y))


def numerical_gradient(
    f: Callable[[np.ndarray], Any], x: np.ndarray, h: float = 1e-4
) -> np.ndarray:
    """Gradient of a scalar function of an array, one central difference per element.

    ``x`` is perturbed in place and restored, so ``f`` sees the changed values;
    the result has ``x``'s shape. ``f`` may return a number, an array (summed) or a
    Tensor, such as a loss computed from a model that reads ``x``. The quotient
    divides by the step actually taken: in float32, ``x +- h`` rounds (1000 + 1e-4
    is stored as 1000.000122, so the step around 1000 is 2.44e-4), and dividing by
    ``2h`` would be 22% off. A read-only ``x``, or an ``h`` so small that ``x + h``
    and ``x - h`` are the same number, is a ValueError.

    Example (the gradient of x0^2 + x1^2 at (3, 4) is (6, 8)):
        >>> import numpy as np
        >>> from autodiff import numerical_gradient
        >>> g = numerical_gradient(lambda v: np.sum(v**2), np.array([3.0, 4.0]))
        >>> np.round(g, 6).tolist()
        [6.0, 8.0]
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"numerical_gradient needs a floating-point array, got {x.dtype}")
    if not x.flags.writeable:
        raise ValueError(
            f"numerical_gradient perturbs x in place, but the array of shape {x.shape} "
            "is read-only; pass a writable copy that f reads (x.copy())"
        )
    grad = np.zeros_like(x)
    flat = x.reshape(-1)  # a view: perturbing it perturbs x
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient needs a contiguous array")
    gflat = grad.reshape(-1)
    mode: dict[str, bool] = {}
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        high = float(flat[i])  # x + h as stored, rounded to x's dtype
        up = float(np.sum(_value(f, x, mode)))
        flat[i] = saved - h
        step = high - float(flat[i])
        down = float(np.sum(_value(f, x, mode)))
        flat[i] = saved
        if step == 0.0:
            raise ValueError(
                f"numerical_gradient: h={h} is below the resolution of {x.dtype} at element "
                f"{tuple(int(n) for n in np.unravel_index(i, x.shape))} (value {float(saved)!r}): "
                "x + h == x - h there; use a larger h or a float64 array"
            )
        gflat[i] = (up - down) / step
    return grad
