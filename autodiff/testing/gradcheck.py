"""Check automatic gradients against central differences (first and second order).

Use these when you write your own ``Function``: a gradient is right only when
a check that could catch it being wrong has passed. The checks work in float64
and use a *random* upstream gradient with distinct values, because an all-ones
upstream gradient cannot tell a gradient from its transpose on square shapes.
Integer and bool inputs (indices, labels, masks) are passed as constants.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import NoGraphError, grad
from ..function import enable_grad, no_grad
from ..tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """A gradient check failed; the message names the input and the worst element."""


def _as_outputs(y: Any) -> tuple[Tensor, ...]:
    if isinstance(y, Tensor):
        return (y,)
    if isinstance(y, (tuple, list)):
        for k, o in enumerate(y):
            if not isinstance(o, Tensor):
                raise TypeError(
                    f"gradcheck: the function returned {len(y)} outputs and output {k} is "
                    f"{type(o).__name__} {o!r}, not a Tensor; return only Tensors (leave out "
                    "outputs that are not Tensors)"
                )
        return tuple(y)
    raise TypeError(
        f"gradcheck: the function must return a Tensor or a tuple of Tensors, got {y!r}"
    )


def _upstream(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    # distinct values: a permuted ramp plus noise
    n = int(np.prod(shape))
    ramp = rng.permutation(n).astype(np.float64) / max(n, 1) + 0.5
    signs = rng.choice([-1.0, 1.0], size=n)
    return (ramp * signs + 0.01 * rng.standard_normal(n)).reshape(shape)


def _checked(arr: np.ndarray) -> bool:
    """Whether an input is differentiated (float) or passed as a constant (integer, bool)."""
    return arr.dtype.kind == "f"


def _prepare(inputs: Sequence[Any]) -> list[Tensor]:
    tensors = []
    for i, x in enumerate(inputs):
        arr = x.data if isinstance(x, Tensor) else np.asarray(x)
        if arr.dtype.kind == "f" and arr.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {arr.dtype} and shape {arr.shape}; gradient "
                "checks need float64 inputs (finite differences in float32 are too coarse): "
                "pass x.astype(np.float64)"
            )
        if arr.dtype.kind not in "fbiu":
            raise TypeError(
                f"gradcheck: input {i} has dtype {arr.dtype}; expected float64 inputs to "
                "check, or integer/bool ones (indices, labels, masks) passed as constants"
            )
        tensors.append(Tensor(arr.copy(), requires_grad=_checked(arr)))
    if not any(t.requires_grad for t in tensors):
        raise TypeError(
            f"gradcheck: no input to check: the inputs have dtypes "
            f"{[str(t.dtype) for t in tensors]}; gradients are checked for float64 inputs "
            "(integer and bool inputs are passed as constants)"
        )
    return tensors


def _values(fn: Callable[..., Any], arrays: list[np.ndarray], mode: dict[str, bool]) -> list:
    """``fn``'s outputs at ``arrays``, evaluated without a graph (cheap) unless ``fn``
    needs one: a function that differentiates inside (calls ``grad`` or ``backward``)
    fails without it, and from then on (``mode``) gets inputs that require grad."""
    if not mode.get("graph"):
        try:
            with no_grad():
                return _as_outputs(fn(*[Tensor(a, _copy=False) for a in arrays]))
        except NoGraphError:  # only that: any other error of fn's is fn's to report
            mode["graph"] = True
    with enable_grad():
        return _as_outputs(fn(*[Tensor(a, requires_grad=_checked(a)) for a in arrays]))


def _weighted_sum(
    fn: Callable[..., Any], arrays: list[np.ndarray], vs: list[np.ndarray], mode: dict[str, bool]
) -> float:
    outs = _values(fn, arrays, mode)
    return float(sum(np.sum(o.data * v) for o, v in zip(outs, vs)))


def _analytic(
    fn: Callable[..., Any], tensors: list[Tensor], rng: np.random.Generator, create_graph: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    outs = _as_outputs(fn(*tensors))
    vs = [_upstream(rng, o.shape) for o in outs]
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    zeros = [np.zeros(t.shape) for t in tensors]
    if not live:
        return zeros, vs
    checked = [t for t in tensors if t.requires_grad]
    grads = iter(
        grad(
            [o for o, _ in live],
            checked,
            grad_outputs=[Tensor(v.astype(o.dtype), _copy=False) for o, v in live],
            allow_unused=True,
            create_graph=create_graph,
        )
    )
    result = []
    for t, z in zip(tensors, zeros):
        g = next(grads) if t.requires_grad else None
        result.append(z if g is None else g.data)
    return result, vs


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    directional: bool = False,
    seed: int = 0,
    *,
    create_graph: bool = False,
) -> bool:
    """Compare ``fn``'s automatic gradients with central finite differences.

    ``fn`` takes Tensors and returns a Tensor (or a tuple of them). For a random
    upstream gradient ``v``, the vector-Jacobian product ``v.J`` from autodiff is
    compared with finite differences of ``<fn(x), v>`` for every element of every
    float64 input; integer and bool inputs are passed as constants (other float
    dtypes are a TypeError: finite differences in float32 are too coarse).
    ``directional=True`` instead compares ``v.J.u`` with one two-point difference
    along a random direction ``u`` (cheap for large inputs).

    Autodiff's gradient comes from each op's fast array backward where it has one;
    ``create_graph=True`` takes the differentiable ``backward`` instead (the path
    higher-order derivatives use; ``gradgradcheck`` checks both).

    Raises ``GradcheckError`` naming the input, the worst element and the
    analytic and numerical values; returns True when every input agrees. A
    finite difference that is not finite (``fn`` undefined at ``x +- eps``) is a
    failure too: there is nothing to check the gradient against.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from autodiff.testing import gradcheck
        >>> gradcheck(lambda x: ad.tanh(x) * x, [np.linspace(-1.0, 1.0, 5)])
        True
    """
    rng = np.random.default_rng(seed)
    tensors = _prepare(inputs)
    arrays = [t.data.copy() for t in tensors]
    analytic, vs = _analytic(fn, tensors, rng, create_graph)
    mode: dict[str, bool] = {}  # whether fn needs a graph to be evaluated (see _values)

    if directional:
        us = [rng.standard_normal(a.shape) * _checked(a) for a in arrays]
        plus = [a + eps * u if _checked(a) else a for a, u in zip(arrays, us)]
        minus = [a - eps * u if _checked(a) else a for a, u in zip(arrays, us)]
        numeric = (_weighted_sum(fn, plus, vs, mode) - _weighted_sum(fn, minus, vs, mode)) / (
            2 * eps
        )
        auto = float(sum(np.sum(g * u) for g, u in zip(analytic, us)))
        if not abs(auto - numeric) <= atol + rtol * abs(numeric):
            raise GradcheckError(
                f"directional gradient check failed: v.J.u = {auto!r} (autodiff) vs "
                f"{numeric!r} (finite differences), difference {abs(auto - numeric):.3g}"
            )
        return True

    for i, base in enumerate(arrays):
        if not _checked(base):
            continue
        numeric = np.zeros_like(base)
        flat, nflat = base.reshape(-1), numeric.reshape(-1)
        for j in range(flat.size):
            saved = flat[j]
            flat[j] = saved + eps
            up = _weighted_sum(fn, arrays, vs, mode)
            flat[j] = saved - eps
            down = _weighted_sum(fn, arrays, vs, mode)
            flat[j] = saved
            nflat[j] = (up - down) / (2 * eps)
        got = analytic[i]
        if got.shape != base.shape:
            raise GradcheckError(
                f"input {i}: gradient has shape {got.shape} but the input has shape {base.shape}"
            )
        tolerance = atol + rtol * np.abs(numeric)
        agree = np.abs(got - numeric) <= tolerance  # False wherever either side is NaN
        if not agree.all():
            # the worst element; one NaN must not hide the others (NaN > 0 is False)
            err = np.nan_to_num(np.abs(got - numeric) - tolerance, nan=np.inf)
            k = int(np.argmax(np.where(agree, -np.inf, err).reshape(-1)))
            index = np.unravel_index(k, base.shape) if base.shape else ()
            hint = ""
            if not np.isfinite(numeric.reshape(-1)[k]):
                hint = (
                    "; the finite difference is not finite: fn is undefined at x +- eps "
                    "there, so check at a point farther from the edge of its domain"
                )
            raise GradcheckError(
                f"gradient check failed for input {i} (shape {base.shape}) at element "
                f"{tuple(int(n) for n in index)}: autodiff gives {float(got.reshape(-1)[k])!r}, "
                f"finite differences give {float(numeric.reshape(-1)[k])!r} "
                f"(atol={atol}, rtol={rtol}){hint}"
            )
    return True


def _same_paths(
    fn: Callable[..., Any], inputs: Sequence[Any], atol: float, rtol: float, seed: int
) -> None:
    """The fast array backward (``backward_arrays``) and the differentiable ``backward``
    must give one gradient: only the second is differentiated again, so without this a
    wrong fast path would pass a second-order check."""
    fast, _ = _analytic(fn, _prepare(inputs), np.random.default_rng(seed), False)
    slow, _ = _analytic(fn, _prepare(inputs), np.random.default_rng(seed), True)
    for i, (f, g) in enumerate(zip(fast, slow)):
        agree = np.isclose(f, g, rtol=rtol, atol=atol, equal_nan=True)
        if not agree.all():
            k = int(np.argmin(agree.reshape(-1)))
            index = tuple(int(n) for n in np.unravel_index(k, g.shape)) if g.shape else ()
            raise GradcheckError(
                f"gradient check failed for input {i} (shape {g.shape}) at element {index}: "
                f"the fast array backward (backward_arrays, used when create_graph=False) "
                f"gives {float(f.reshape(-1)[k])!r}, the differentiable backward (used with "
                f"create_graph=True) gives {float(g.reshape(-1)[k])!r} (atol={atol}, "
                f"rtol={rtol}); the differentiable one agrees with finite differences"
            )


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    directional: bool = False,
    seed: int = 0,
) -> bool:
    """Check first and second derivatives: gradcheck the function (x, v) -> v.J(x).

    First the gradient computed with ``create_graph=True`` (through each op's
    differentiable ``backward``) is checked against finite differences, and the
    gradient without a graph (through each op's fast array backward, where it has
    one) against it; then the first is itself checked, with respect to both the
    inputs and the upstream gradient ``v``. Integer and bool inputs are passed as
    constants, as in ``gradcheck``.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from autodiff.testing import gradgradcheck
        >>> gradgradcheck(lambda x: ad.sin(x) * x, [np.linspace(-1.0, 1.0, 4)])
        True
    """
    gradcheck(fn, inputs, eps, atol, rtol, directional, seed, create_graph=True)
    _same_paths(fn, inputs, atol, rtol, seed)
    rng = np.random.default_rng(seed + 1)
    tensors = _prepare(inputs)
    outs = _values(fn, [t.data for t in tensors], {})
    vs = [_upstream(rng, o.shape) for o in outs]
    n = len(tensors)
    # which of fn's inputs are differentiated (the others are constants, as in gradcheck)
    positions = [k for k, t in enumerate(tensors) if t.requires_grad]
    # set when the gradient, recorded with create_graph=True, does not depend on the
    # upstream gradient at all: a backward written with numpy cannot be differentiated
    detached: list[bool] = []

    def vjp(*args: Tensor) -> tuple[Tensor, ...]:
        xs, gs = args[:n], args[n:]
        # The finite-difference passes run under no_grad with plain inputs; the inner
        # gradient still needs a graph, so record it here regardless.
        xs = tuple(
            x if x.requires_grad or not _checked(x.data) else Tensor(x.data, requires_grad=True)
            for x in xs
        )
        with enable_grad():
            return _inner(xs, gs)

    def _inner(xs: tuple[Tensor, ...], gs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        ys = _as_outputs(fn(*xs))
        wrt = [xs[k] for k in positions]
        pairs = [(y, g) for y, g in zip(ys, gs) if y.requires_grad]
        if not pairs:
            return tuple(x * 0.0 for x in wrt)
        grads = grad(
            [y for y, _ in pairs],
            wrt,
            grad_outputs=[g for _, g in pairs],
            create_graph=True,
            allow_unused=True,
        )
        if any(g.requires_grad for _, g in pairs) and any(
            g is not None and not g.requires_grad for g in grads
        ):
            detached.append(True)
        return tuple(x * 0.0 if g is None else g for x, g in zip(wrt, grads))

    try:
        return gradcheck(
            vjp, [t.data for t in tensors] + vs, eps, atol, rtol, directional=directional, seed=seed
        )
    except GradcheckError as err:
        # Say which check failed, and call the inputs after fn's own by what they are.
        def name(match: re.Match[str]) -> str:
            k = int(match.group(1))
            return f"input {k}" if k < n else f"the upstream gradient of output {k - n}"

        message = re.sub(r"input (\d+)", name, str(err), count=1)
        hint = ""
        if detached:
            hint = (
                "; the gradient computed with create_graph=True does not depend on the "
                "upstream gradient, so a backward on the way is not differentiable: one that "
                "computes with numpy (on .data) or wraps its result in a new Tensor; write "
                "backward with autodiff ops (or give the op smooth=False if it is not "
                "meant to have second derivatives)"
            )
        raise GradcheckError(
            f"second-order check (the gradient v.J(x), computed with create_graph=True, "
            f"differentiated again): {message}{hint}"
        ) from None
