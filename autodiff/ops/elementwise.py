"""Elementwise functions: exp, log, trig, activations, clip, maximum/minimum, where.

Each backward multiplies the upstream gradient by the local derivative,
written with Tensor ops so it can be differentiated again. Where the
derivative is a mask (relu, clip), the mask is a constant: its own derivative
is zero almost everywhere.

Tie convention: ``maximum``/``minimum`` (like the ``max``/``min`` reductions
and max-pooling) split the gradient evenly between tied inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function, _as_default_float, _is_python_float
from ..kernels import relu_backward, relu_forward
from ..registry import KINK_AT_ZERO, POSITIVE, REAL, Domain, register
from ..tensor import Tensor
from ._util import ONES, constant
from .shape import widen

#: dtypes the numba kernels are compiled for; others take the plain numpy expression
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: Smaller arrays take the numpy expression, at most 1-2 us slower per call there, so that
#: a program of small tensors (a gradient check, the apple bill) never pays numba's
#: one-time start (0.3-0.6 s for the first kernel of a process).
KERNEL_MIN_SIZE = 4096


def _use_kernel(x: np.ndarray) -> bool:
    return x.size >= KERNEL_MIN_SIZE and x.dtype in KERNEL_DTYPES


def _contiguous(a: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would also turn a 0-d array into shape (1,)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


class Exp(Function):
    rule = "gx = gy * y"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.exp(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * self.output()

    def backward_arrays(self, gy):
        return gy * self.output().data


class Log(Function):
    rule = "gx = gy / x"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.log(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy / self.inputs[0]

    def backward_arrays(self, gy):
        return gy / self.inputs[0].data


class Log1p(Function):
    rule = "gx = gy / (1 + x)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.log1p(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy / (self.inputs[0] + 1.0)


class Sqrt(Function):
    rule = "gx = gy / (2 * y)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sqrt(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy / (self.output() * 2.0)


class Abs(Function):
    rule = "gx = gy * sign(x)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.abs(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * constant(np.sign(self.inputs[0].data))


class Sin(Function):
    rule = "gx = gy * cos(x)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sin(x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * cos(self.inputs[0])


class Cos(Function):
    rule = "gx = -gy * sin(x)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.cos(x)

    def backward(self, gy: Tensor) -> Tensor:
        return -(gy * sin(self.inputs[0]))


class Tan(Function):
    rule = "gx = gy * (1 + y**2)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.tan(x)

    def backward(self, gy: Tensor) -> Tensor:
        y = self.output()
        # y * y overflows float16 from |y| = 256 (x within 0.004 of pi/2)
        y, gy = widen(y), widen(gy)
        return gy * (y * y + 1.0)


class Tanh(Function):
    rule = "gx = gy * (1 - y**2)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    def backward(self, gy: Tensor) -> Tensor:
        y = self.output()
        return gy * (1.0 - y * y)

    def backward_arrays(self, gy):
        y = self.output().data
        return gy * (ONES[y.dtype] - y * y)


class Sigmoid(Function):
    rule = "gx = gy * y * (1 - y)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        # 1 / (1 + exp(-x)) keeps its relative accuracy for very negative x (the tanh form
        # 0.5 + 0.5 * tanh(x / 2) cancels to 0 below x = -17 in float32); exp(-x) overflowing
        # to inf there gives the right limit, 0.
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-x))

    def backward(self, gy: Tensor) -> Tensor:
        y = self.output()
        return gy * y * (1.0 - y)

    def backward_arrays(self, gy):
        y = self.output().data
        return gy * y * (ONES[y.dtype] - y)


class Relu(Function):
    name = "relu"
    rule = "gx = gy * (x > 0)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        if _use_kernel(x):
            return relu_forward(_contiguous(x))
        return np.maximum(x, 0)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * constant(self.inputs[0].data > 0)

    def backward_arrays(self, gy):
        x = self.inputs[0].data
        if _use_kernel(x) and gy.dtype == x.dtype:
            return relu_backward(_contiguous(gy), _contiguous(x))
        return gy * (x > 0)


class LeakyRelu(Function):
    name = "leaky_relu"
    rule = "gx = gy * (1 if x > 0 else slope)"

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.where(x > 0, x, x * np.asarray(self.slope, x.dtype))

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0].data
        return gy * constant(np.where(x > 0, 1, self.slope).astype(x.dtype))


class Elu(Function):
    rule = "gx = gy * (1 if x > 0 else y + alpha)"

    def __init__(self, alpha: float = 1.0, scale: float = 1.0) -> None:
        self.alpha = alpha
        self.scale = scale

    def forward(self, x: np.ndarray) -> np.ndarray:
        a = np.asarray(self.alpha, x.dtype)
        s = np.asarray(self.scale, x.dtype)
        return s * np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0]
        positive = constant(x.data > 0)
        # d/dx scale*alpha*(e^x - 1) = scale*alpha*e^x = y + scale*alpha on the negative side
        negative_slope = self.output() + self.scale * self.alpha
        return where(positive, gy * self.scale, gy * negative_slope)


class Softplus(Function):
    rule = "gx = gy * sigmoid(x)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.logaddexp(np.zeros((), x.dtype), x)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * sigmoid(self.inputs[0])


class Step(Function):
    """Heaviside step (the perceptron's activation): 1 where x > 0, else 0."""

    rule = "gx = 0"

    def forward(self, x: np.ndarray) -> np.ndarray:
        return (x > 0).astype(x.dtype if x.dtype.kind == "f" else np.float32)

    def backward(self, gy: Tensor) -> Tensor:
        return gy * 0.0


class Clip(Function):
    rule = "gx = gy * (low <= x <= high)"

    def __init__(self, low: float | None, high: float | None) -> None:
        self.low = low
        self.high = high

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.low, self.high)

    def backward(self, gy: Tensor) -> Tensor:
        x = self.inputs[0].data
        inside = np.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * constant(inside)


class Maximum(Function):
    rule = "gx0 = gy * (x0 > x1), gx1 = gy * (x1 > x0); ties split evenly"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.maximum(a, b)

    def backward(self, gy: Tensor) -> tuple[Tensor, Tensor]:
        a, b = self.inputs
        share = (a.data > b.data) + 0.5 * (a.data == b.data)
        return gy * constant(share.astype(gy.dtype)), gy * constant((1.0 - share).astype(gy.dtype))


class Minimum(Function):
    rule = "gx0 = gy * (x0 < x1), gx1 = gy * (x1 < x0); ties split evenly"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.minimum(a, b)

    def backward(self, gy: Tensor) -> tuple[Tensor, Tensor]:
        a, b = self.inputs
        share = (a.data < b.data) + 0.5 * (a.data == b.data)
        return gy * constant(share.astype(gy.dtype)), gy * constant((1.0 - share).astype(gy.dtype))


class Where(Function):
    rule = "gx0 = none (condition), gx1 = gy where cond, gx2 = gy where not cond"

    def forward(self, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.where(cond, a, b)

    def backward(self, gy: Tensor) -> tuple[None, Tensor, Tensor]:
        cond = self.inputs[0]
        zero = constant(np.zeros((), gy.dtype))
        return None, where(cond, gy, zero), where(cond, zero, gy)


def exp(x: Any) -> Tensor:
    """Elementwise e**x.

    Example:
        >>> import autodiff as ad
        >>> ad.exp(ad.tensor([0.0]))
        Tensor([1.])
    """
    return Exp()(x)


def log(x: Any) -> Tensor:
    """Natural logarithm.

    Example:
        >>> import autodiff as ad
        >>> ad.log(ad.tensor([1.0]))
        Tensor([0.])
    """
    return Log()(x)


def log1p(x: Any) -> Tensor:
    """log(1 + x), accurate for small x.

    Example:
        >>> import autodiff as ad
        >>> ad.log1p(ad.tensor([0.0]))
        Tensor([0.])
    """
    return Log1p()(x)


def sqrt(x: Any) -> Tensor:
    """Square root.

    Example:
        >>> import autodiff as ad
        >>> ad.sqrt(ad.tensor([4.0]))
        Tensor([2.])
    """
    return Sqrt()(x)


def abs(x: Any) -> Tensor:  # noqa: A001
    """Absolute value (gradient sign(x), which is 0 at 0).

    Example:
        >>> import autodiff as ad
        >>> ad.abs(ad.tensor([-2.0]))
        Tensor([2.])
    """
    return Abs()(x)


def sin(x: Any) -> Tensor:
    """Sine.

    Example:
        >>> import autodiff as ad
        >>> ad.sin(ad.tensor([0.0]))
        Tensor([0.])
    """
    return Sin()(x)


def cos(x: Any) -> Tensor:
    """Cosine.

    Example:
        >>> import autodiff as ad
        >>> ad.cos(ad.tensor([0.0]))
        Tensor([1.])
    """
    return Cos()(x)


def tan(x: Any) -> Tensor:
    """Tangent.

    Example:
        >>> import autodiff as ad
        >>> ad.tan(ad.tensor([0.0]))
        Tensor([0.])
    """
    return Tan()(x)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent.

    Example:
        >>> import autodiff as ad
        >>> ad.tanh(ad.tensor([0.0]))
        Tensor([0.])
    """
    return Tanh()(x)


def sigmoid(x: Any) -> Tensor:
    """Logistic sigmoid 1 / (1 + e**-x).

    Example:
        >>> import autodiff as ad
        >>> ad.sigmoid(ad.tensor([0.0]))
        Tensor([0.5])
    """
    return Sigmoid()(x)


def relu(x: Any) -> Tensor:
    """Rectified linear unit max(x, 0) (gradient 0 at 0).

    Example:
        >>> import autodiff as ad
        >>> ad.relu(ad.tensor([-1.0, 2.0]))
        Tensor([0., 2.])
    """
    return Relu()(x)


def softplus(x: Any) -> Tensor:
    """log(1 + e**x), computed stably.

    Example:
        >>> import autodiff as ad
        >>> ad.softplus(ad.tensor([0.0, 100.0]))
        Tensor([  0.6931, 100.    ])
    """
    return Softplus()(x)


def step(x: Any) -> Tensor:
    """Heaviside step: 1 where x > 0 else 0; its gradient is 0.

    Example:
        >>> import autodiff as ad
        >>> ad.step(ad.tensor([-1.0, 2.0]))
        Tensor([0., 1.])
    """
    return Step()(x)


def leaky_relu(x: Any, slope: float = 0.01) -> Tensor:
    """x where x > 0, else slope * x.

    Example:
        >>> import autodiff as ad
        >>> ad.leaky_relu(ad.tensor([-1.0, 2.0]), slope=0.1)
        Tensor([-0.1,  2. ])
    """
    return LeakyRelu(slope)(x)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x where x > 0, else alpha * (e**x - 1).

    Example:
        >>> import autodiff as ad
        >>> ad.elu(ad.tensor([1.0]))
        Tensor([1.])
    """
    return Elu(alpha)(x)


def selu(x: Any) -> Tensor:
    """Scaled ELU (Klambauer et al. 2017) with the self-normalising constants.

    Example:
        >>> import autodiff as ad
        >>> round(ad.selu(ad.tensor(1.0)).item(), 4)
        1.0507
    """
    return Elu(SELU_ALPHA, SELU_SCALE)(x)


def clip(x: Any, low: Any = None, high: Any = None) -> Tensor:
    """Clamp values into [low, high] (gradient 1 inside, 0 outside).

    The bounds are numbers or arrays (or Tensors, used as constants: for a gradient with
    respect to a bound, write ``minimum(maximum(x, low), high)``).

    Example:
        >>> import autodiff as ad
        >>> ad.clip(ad.tensor([-2.0, 0.5, 2.0]), -1.0, 1.0)
        Tensor([-1. ,  0.5,  1. ])
    """
    if low is None and high is None:
        raise ValueError("clip: give at least one of low and high")
    low, high = (b.data if isinstance(b, Tensor) else b for b in (low, high))
    if isinstance(x, Tensor) and x.dtype.kind in "biu" and any(map(_is_python_float, (low, high))):
        x = _as_default_float(x)  # an int tensor clipped to 0.5 is float32, as int * 0.5
    return Clip(low, high)(x)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum (ties split the gradient evenly).

    Example:
        >>> import autodiff as ad
        >>> ad.maximum(ad.tensor([1.0, 5.0]), ad.tensor([3.0, 2.0]))
        Tensor([3., 5.])
    """
    return Maximum()(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum (ties split the gradient evenly).

    Example:
        >>> import autodiff as ad
        >>> ad.minimum(ad.tensor([1.0, 5.0]), ad.tensor([3.0, 2.0]))
        Tensor([1., 2.])
    """
    return Minimum()(a, b)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Pick from ``a`` where ``condition`` is true, else from ``b`` (broadcasting).

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor([-1.0, 2.0])
        >>> ad.where(x > 0, x, 0.0)
        Tensor([0., 2.])
    """
    if isinstance(condition, Tensor):
        condition = condition.data
    return Where()(np.asarray(condition, dtype=bool), a, b)


for _fn, _cls, _domain in [
    (exp, Exp, REAL),
    (log, Log, POSITIVE),
    (log1p, Log1p, Domain(-0.8, 3.0)),
    (sqrt, Sqrt, POSITIVE),
    (abs, Abs, KINK_AT_ZERO),
    (sin, Sin, Domain(-3.0, 3.0)),
    (cos, Cos, Domain(-3.0, 3.0)),
    (tan, Tan, Domain(-1.2, 1.2)),
    (tanh, Tanh, REAL),
    (sigmoid, Sigmoid, Domain(-4.0, 4.0)),
    (relu, Relu, KINK_AT_ZERO),
    (softplus, Softplus, Domain(-4.0, 4.0)),
    (step, Step, KINK_AT_ZERO),
]:
    register(_fn.__name__, _fn, functions=(_cls,), domains=(_domain,))

register(
    "leaky_relu",
    leaky_relu,
    functions=(LeakyRelu,),
    domains=(KINK_AT_ZERO,),
    params=lambda draw, st, shapes: {"slope": draw(st.sampled_from([0.01, 0.1, 0.3]))},
)
register(
    "elu",
    elu,
    functions=(Elu,),
    domains=(KINK_AT_ZERO,),
    params=lambda draw, st, shapes: {"alpha": draw(st.sampled_from([1.0, 0.5, 2.0]))},
)
register("selu", selu, functions=(Elu,), domains=(KINK_AT_ZERO,))
register(
    "clip",
    clip,
    functions=(Clip,),
    domains=(Domain(-2.0, 2.0, avoid=(-0.5, 0.7), margin=0.05),),
    params=lambda draw, st, shapes: {"low": -0.5, "high": draw(st.sampled_from([0.7, None]))},
)
register("maximum", maximum, functions=(Maximum,), domains=(REAL, REAL), shapes="broadcast")
register("minimum", minimum, functions=(Minimum,), domains=(REAL, REAL), shapes="broadcast")


def _where_case(draw, st):
    shape_c, shape_a, shape_b = draw(st.broadcastable_shapes(3))
    cond = draw(st.bool_arrays(shape_c))
    a = draw(st.arrays(shape_a, REAL))
    b = draw(st.arrays(shape_b, REAL, salt=1))
    return [a, b], {"condition": cond}


def _where_by_keyword(a, b, condition):
    return where(condition, a, b)


register(
    "where",
    _where_by_keyword,
    functions=(Where,),
    shapes="custom",
    cases=_where_case,
    domains=(REAL, REAL),
)
