"""Arithmetic: add, sub, mul, div, neg, pow (the apple bill's add and mul live here).

Binary ops return gradients in the broadcast shape of their output; the
engine sums them back to each input's shape (``sum_to``), so no rule here
has to know about broadcasting.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function, _as_default_float, _is_python_float
from ..registry import NONZERO, POSITIVE, REAL, Domain, register
from ..tensor import Tensor
from ._util import constant
from .elementwise import where
from .shape import HALF, SINGLE, widen

# The power rules' products (c * x**(c-1), then times gy; gy * y, then times log(a))
# overflow float16 where the gradient itself fits: float16 computes them in float32 and the
# engine rounds the gradient once (as PyTorch's CPU kernels compute float16 in float32).


class Add(Function):
    rule = "gx0 = gy, gx1 = gy"
    reads_inputs = False

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def backward(self, gy: Tensor) -> tuple[Tensor, Tensor]:
        return gy, gy

    def backward_arrays(self, gy):
        return gy, gy


class Sub(Function):
    rule = "gx0 = gy, gx1 = -gy"
    reads_inputs = False

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    def backward(self, gy: Tensor) -> tuple[Tensor, Tensor | None]:
        return gy, (-gy if self.inputs[1].requires_grad else None)

    def backward_arrays(self, gy):
        return gy, (-gy if self.inputs[1].requires_grad else None)


class Mul(Function):
    rule = "gx0 = gy * x1, gx1 = gy * x0"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a * b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, Tensor | None]:
        a, b = self.inputs
        return (gy * b if a.requires_grad else None, gy * a if b.requires_grad else None)

    def backward_arrays(self, gy):
        a, b = self.inputs
        return (gy * b.data if a.requires_grad else None, gy * a.data if b.requires_grad else None)


class Div(Function):
    rule = "gx0 = gy / x1, gx1 = -(gy / x1) * y"

    # gx1 is -gy * x0 / x1**2 written as -(gy / x1) * (x0 / x1): in float32, x1 * x1 loses
    # digits below |x1| = 1e-19 (subnormal) and underflows to 0 below about 3e-23 (an
    # infinite gradient), or overflows to inf (a zero gradient), where the true slope is
    # finite; and x / x would not get its exact 0. This form is
    # also one operation cheaper, as gy / x1 is shared with gx0.

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a / b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, Tensor | None]:
        a, b = self.inputs
        g_over_b = gy / b
        gb = None
        if b.requires_grad:
            y = self.output()
            gb = -(g_over_b * y)
            if not np.isfinite(y.data).all():
                # a quotient that overflowed (or b = 0) meets a zero upstream gradient:
                # 0 * inf would be nan where -gy * a / b**2 is 0
                gb = where(g_over_b.data == 0, constant(np.zeros((), gb.dtype)), gb)
        return (g_over_b if a.requires_grad else None), gb

    def backward_arrays(self, gy):
        a, b = self.inputs
        g_over_b = gy / b.data
        gb = None
        if b.requires_grad:
            y = self.output().data
            gb = -(g_over_b * y)
            if not np.isfinite(y).all():
                gb = np.where(g_over_b == 0, 0, gb)  # 0 * inf: see backward
        return (g_over_b if a.requires_grad else None), gb


class Neg(Function):
    rule = "gx = -gy"
    reads_inputs = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        return -x

    def backward(self, gy: Tensor) -> Tensor:
        return -gy

    def backward_arrays(self, gy):
        return -gy


class Pow(Function):
    """``a ** b`` with a tensor exponent (the base must be positive where b is not an integer)."""

    rule = "gx0 = gy * x1 * x0**(x1-1), gx1 = gy * y * log(x0)"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a**b

    def backward(self, gy: Tensor) -> tuple[Tensor | None, Tensor | None]:
        a, b = self.inputs
        ga = gb = None
        need_a, need_b = a.requires_grad, b.requires_grad  # (a cast under no_grad wants none)
        half = HALF in (a.dtype, b.dtype)
        if half:
            a, b, gy = widen(a), widen(b), widen(gy)
        # At a zero base the formulas meet 0 * inf: the slope in a where b == 0 too (x**0 is
        # constant) and the slope in b are 0 there, as in PyTorch. Putting 1 in place of those
        # values (only there) keeps every inf out of the graph, for second derivatives too.
        zero_base = a.data == 0
        if need_a:
            both = zero_base & (b.data == 0)
            b1 = where(both, 1.0, b) if both.any() else b
            ga = gy * b * a ** (b1 - 1)
        if need_b:
            a1 = where(zero_base, 1.0, a) if zero_base.any() else a
            y = widen(self.output()) if half else self.output()
            gb = gy * y * a1.log()
        return ga, gb


class PowScalar(Function):
    """``x ** c`` for a constant Python number ``c``."""

    rule = "gx = gy * c * x**(c-1)"

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x: np.ndarray) -> np.ndarray:
        c = self.exponent
        if c == 2:
            return x * x
        return x ** np.asarray(c, dtype=x.dtype) if x.dtype.kind == "f" else x**c

    def backward(self, gy: Tensor) -> Tensor:
        (x,) = self.inputs
        if x.dtype == HALF:
            x, gy = widen(x), widen(gy)
        c = self.exponent
        if c == 2:
            return gy * (x * 2)
        if c == 0:  # x**0 is constant; the formula would give 0 * inf = nan at x == 0
            return constant(np.zeros_like(x.data))
        return gy * (x ** (c - 1) * c)

    def backward_arrays(self, gy):
        x = self.inputs[0].data
        if x.dtype == HALF:
            x, gy = x.astype(SINGLE), gy.astype(SINGLE)
        c = self.exponent
        if c == 2:
            return gy * (x * 2)
        if c == 0:
            return np.zeros_like(x)
        return gy * (x ** np.asarray(c - 1, x.dtype) * np.asarray(c, x.dtype))


def add(a: Any, b: Any) -> Tensor:
    """Elementwise ``a + b`` with numpy broadcasting.

    Example:
        >>> import autodiff as ad
        >>> ad.add(ad.tensor([1.0, 2.0]), 1.0)
        Tensor([2., 3.])
    """
    return Add()(a, b)


def sub(a: Any, b: Any) -> Tensor:
    """Elementwise ``a - b``.

    Example:
        >>> import autodiff as ad
        >>> ad.sub(ad.tensor([3.0]), 1.0)
        Tensor([2.])
    """
    return Sub()(a, b)


def mul(a: Any, b: Any) -> Tensor:
    """Elementwise ``a * b``.

    Example:
        >>> import autodiff as ad
        >>> ad.mul(ad.tensor([2.0]), ad.tensor([3.0]))
        Tensor([6.])
    """
    return Mul()(a, b)


def div(a: Any, b: Any) -> Tensor:
    """Elementwise ``a / b``.

    Example:
        >>> import autodiff as ad
        >>> ad.div(ad.tensor([3.0]), 2.0)
        Tensor([1.5])
    """
    return Div()(a, b)


def neg(x: Any) -> Tensor:
    """Elementwise ``-x``.

    Example:
        >>> import autodiff as ad
        >>> ad.neg(ad.tensor([1.0]))
        Tensor([-1.])
    """
    return Neg()(x)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - mirrors ``**``
    """Elementwise ``a ** b``; a Python-number exponent uses the cheaper scalar rule.

    Example:
        >>> import autodiff as ad
        >>> ad.pow(ad.tensor([3.0]), 2)
        Tensor([9.])
    """
    if isinstance(a, Tensor) and a.dtype.kind in "biu" and _is_python_float(b):
        a = _as_default_float(a)  # int tensor ** 0.5 is float32, as int tensor * 0.5
    if isinstance(b, (int, float)) and not isinstance(b, bool) and isinstance(a, Tensor):
        return PowScalar(b)(a)
    return Pow()(a, b)


register("add", add, functions=(Add,), domains=(REAL, REAL), shapes="broadcast")
register("sub", sub, functions=(Sub,), domains=(REAL, REAL), shapes="broadcast")
register("mul", mul, functions=(Mul,), domains=(REAL, REAL), shapes="broadcast")
register("div", div, functions=(Div,), domains=(REAL, NONZERO), shapes="broadcast")
register("neg", neg, functions=(Neg,))
register("pow", pow, functions=(Pow,), domains=(POSITIVE, Domain(-2.0, 2.0)), shapes="broadcast")


def _scalar_exponent(draw: Any, st: Any, shapes: Any) -> dict[str, Any]:
    return {"b": draw(st.sampled_from([2, 3, -1, 0.5, 1.5, -2.5]))}


register(
    "pow_scalar",
    pow,
    functions=(PowScalar,),
    domains=(POSITIVE,),
    params=_scalar_exponent,
    notes="tensor ** Python number",
)


def _rpow(x: Tensor, base: float = 2.5) -> Tensor:
    return pow(base, x)


register(
    "rpow",
    _rpow,
    functions=(Pow,),
    domains=(REAL,),
    params=lambda draw, st, shapes: {"base": draw(st.sampled_from([0.5, 2.0, 2.5, 10.0]))},
    notes="Python number ** tensor",
)
