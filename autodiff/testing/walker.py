"""Walk the op registry: gradient checks plus the invariants users rely on.

``check_op`` is what the project's property tests call for every registered
op; call it on your own registered ops the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import no_grad
from ..registry import OpInfo
from ..tensor import Tensor
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["check_op", "check_invariants"]


def _bind(info: OpInfo, kwargs: dict[str, Any]) -> Any:
    def call(*xs: Tensor) -> Any:
        return info.fn(*xs, **kwargs)

    return call


def check_op(
    info: OpInfo, arrays: list[np.ndarray], kwargs: dict[str, Any], second_order: bool = True
) -> None:
    """Run gradcheck (and gradgradcheck for smooth ops) and the invariants on one case.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from autodiff.testing import check_op
        >>> check_op(ad.registry.get("tanh"), [np.linspace(-1.0, 1.0, 3)], {})
    """
    fn = _bind(info, kwargs)
    check_invariants(info, arrays, kwargs)
    if not info.differentiable:
        return
    try:
        gradcheck(fn, arrays, atol=info.atol, rtol=info.rtol)
        if second_order and info.smooth:
            gradgradcheck(fn, arrays, atol=info.atol, rtol=info.rtol)
    except GradcheckError as err:
        shapes = [a.shape for a in arrays]
        raise GradcheckError(
            f"op '{info.name}' with input shapes {shapes}, {kwargs}: {err}"
        ) from err


def _outputs(y: Any) -> list[Tensor]:
    return [y] if isinstance(y, Tensor) else list(y)


def _check_float32(info: OpInfo, fn: Any, arrays: list[np.ndarray], outs: list[Tensor]) -> None:
    """float32 in, float32 out: an output that follows float64 inputs (is float64) must
    follow float32 ones too. Outputs of another dtype (``astype``, argmax) are the op's
    choice and are left alone."""
    follows = [o.dtype == np.float64 for o in outs]
    if not any(follows):
        return
    small = [a.astype(np.float32) if a.dtype == np.float64 else a for a in arrays]
    with no_grad():
        got = _outputs(fn(*[Tensor(a) for a in small]))
    for k, (o, f) in enumerate(zip(got, follows)):
        if f and o.dtype != np.float32:
            raise AssertionError(
                f"op '{info.name}': float32 inputs of shapes {[a.shape for a in small]} gave "
                f"output {k} in {o.dtype}; expected float32 (float32 in, float32 out: cast "
                "constants to the input's dtype, e.g. np.asarray(c, x.dtype))"
            )


def check_invariants(info: OpInfo, arrays: list[np.ndarray], kwargs: dict[str, Any]) -> None:
    """Inputs are not mutated, nothing is recorded under no_grad, float32 inputs
    give float32 outputs (where float64 ones give float64), backward does not write
    into the upstream gradient it receives, gradients do not alias each other or
    the upstream gradient, and backward three times (with ``zero_grad`` in between,
    the last time with ``create_graph=True``) gives the same result, so a backward
    does not change what it saved and an op's fast array backward agrees with its
    differentiable ``backward``.

    Raises:
        AssertionError: naming the op and the invariant it broke.

    Example (a registered op passes; an op that writes into its input does not):
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from autodiff.registry import OpInfo
        >>> from autodiff.testing import check_invariants
        >>> check_invariants(ad.registry.get("tanh"), [np.array([-1.0, 0.5])], {})
        >>> def bumped(x):
        ...     x.data += 1.0  # bug: changes the caller's tensor
        ...     return x * 2.0
        >>> check_invariants(OpInfo("bumped", bumped), [np.zeros(2)], {})
        Traceback (most recent call last):
            ...
        AssertionError: op 'bumped' mutated its input
    """
    fn = _bind(info, kwargs)
    originals = [a.copy() for a in arrays]
    with no_grad():
        leaves = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        outs = _outputs(fn(*leaves))
    for o in outs:
        returned_input = any(o is x for x in leaves)  # e.g. reshape to the same shape
        if o.creator is not None or (o.requires_grad and not returned_input):
            raise AssertionError(f"op '{info.name}' recorded a graph under no_grad()")
    if not info.differentiable:
        for o in outs:
            if o.requires_grad:
                raise AssertionError(f"non-differentiable op '{info.name}' returned a grad tensor")
        return

    xs = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    outs = _outputs(fn(*xs))
    for a, x, orig in zip(arrays, xs, originals):
        if not np.array_equal(x.data, orig, equal_nan=True) or not np.array_equal(a, orig):
            raise AssertionError(f"op '{info.name}' mutated its input")
    _check_float32(info, fn, arrays, outs)
    live = [o for o in outs if o.requires_grad]
    if not live:
        return
    rng = np.random.default_rng(0)
    upstream = [Tensor(rng.standard_normal(o.shape).astype(o.dtype)) for o in live]
    sent = [g.data.copy() for g in upstream]
    for o, g in zip(live, upstream):
        o.backward(g, retain_graph=True)
    for k, (g, copy) in enumerate(zip(upstream, sent)):
        if not np.array_equal(g.data, copy, equal_nan=True):
            # The same array can reach several nodes (add hands one gradient to both of
            # its inputs) and a retained .grad: writing into it corrupts their gradients.
            raise AssertionError(
                f"op '{info.name}': backward wrote into the upstream gradient of output {k} "
                f"(shape {g.shape}); compute a new array (gy * mask), do not change gy in place"
            )
    first = [None if x.grad is None else x.grad.data.copy() for x in xs]
    given = [g.data for g in upstream]
    grads = [x.grad.data for x in xs if x.grad is not None]
    for i, g in enumerate(grads):
        for u in given:
            if np.shares_memory(g, u):
                raise AssertionError(
                    f"op '{info.name}': a gradient is a view of the upstream gradient"
                )
        for h in grads[i + 1 :]:
            if np.shares_memory(g, h):
                raise AssertionError(f"op '{info.name}': two input gradients share memory")
    # The second pass repeats the first (a backward that changes what it saved shows
    # here); the third records the backward (create_graph=True), so ops with a fast array
    # path (``backward_arrays``) are compared with their differentiable definition.
    for create_graph, how in [
        (False, "the same backward again"),
        (True, "recording the backward this time"),
    ]:
        for x in xs:
            x.zero_grad()
        for o, g in zip(live, upstream):
            o.backward(g, retain_graph=True, create_graph=create_graph)
        for i, (x, f) in enumerate(zip(xs, first)):
            again = None if x.grad is None else x.grad.data
            if (again is None) != (f is None) or (f is not None and not np.allclose(again, f)):
                raise AssertionError(
                    f"op '{info.name}': a second backward after zero_grad() ({how}) gave a "
                    f"different gradient for input {i}"
                )
