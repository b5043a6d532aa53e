"""The op registry: what the property tests walk.

Every op registers itself next to its definition with the *domain* of its
inputs (where it is defined and differentiable), how to draw its arguments and
whether it is smooth enough for a second-order check. The registry is plain
data: it imports nothing from the testing tools, which turn it into hypothesis
strategies only when tests run (``autodiff.testing``).

Example:
    >>> import autodiff as ad
    >>> info = ad.registry.get("log")
    >>> info.domains[0].low > 0
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Domain",
    "OpInfo",
    "register",
    "get",
    "all_ops",
    "REAL",
    "POSITIVE",
    "NONZERO",
    "UNIT",
    "KINK_AT_ZERO",
]


@dataclass(frozen=True)
class Domain:
    """Where an input's values are drawn from.

    Values are uniform in ``[low, high]`` but at least ``margin`` away from
    each point in ``avoid`` (kinks like 0 for ``abs``, where finite
    differences would straddle a non-differentiable point).

    Example (``abs`` is drawn away from its kink at 0; ``log`` from positive values):
        >>> import autodiff as ad
        >>> from autodiff.registry import Domain
        >>> ad.registry.get("abs").domains
        (Domain(low=-2.0, high=2.0, avoid=(0.0,), margin=0.05),)
        >>> ad.registry.get("log").domains[0] == ad.registry.POSITIVE
        True
        >>> Domain(0.1, 5.0)  # for your own op defined on (0, inf)
        Domain(low=0.1, high=5.0, avoid=(), margin=0.05)
    """

    low: float = -2.0
    high: float = 2.0
    avoid: tuple[float, ...] = ()
    margin: float = 0.05


REAL = Domain()
POSITIVE = Domain(0.2, 3.0)
NONZERO = Domain(-3.0, 3.0, avoid=(0.0,), margin=0.3)
UNIT = Domain(-0.95, 0.95)
KINK_AT_ZERO = Domain(-2.0, 2.0, avoid=(0.0,), margin=0.05)

#: draw(draw, st) -> (list of float64 arrays, dict of keyword arguments)
CaseFn = Callable[[Any, Any], tuple[list[Any], dict[str, Any]]]
#: params(draw, st, shapes) -> dict of keyword arguments
ParamsFn = Callable[[Any, Any, list[tuple[int, ...]]], dict[str, Any]]


@dataclass
class OpInfo:
    """A registered op: how to call it and how to draw valid inputs for it.

    Attributes:
        name: registry key (usually the public function name).
        fn: the public function, called as ``fn(*tensors, **kwargs)``.
        functions: the ``Function`` classes this entry exercises (the meta-test
            checks that every Function subclass in ``autodiff.ops`` is covered).
        domains: one ``Domain`` per tensor input.
        shapes: ``"same"`` (all inputs share one random shape), ``"broadcast"``
            (random broadcast-compatible shapes) or ``"custom"`` (use ``cases``).
        params: draws extra keyword arguments given the input shapes.
        cases: draws the whole call (inputs and keyword arguments) for ops whose
            inputs are constrained together (matmul, reshape, concatenate...).
        smooth: run a second-order check (gradgradcheck) too.
        differentiable: False for ops like argmax (checked for "no graph" only).
        atol, rtol: tolerances for the float64 gradient checks.

    Example (the apple bill's ``mul``: two inputs that broadcast together):
        >>> import autodiff as ad
        >>> info = ad.registry.get("mul")
        >>> info.name, info.shapes, len(info.domains), info.smooth, info.differentiable
        ('mul', 'broadcast', 2, True, True)
        >>> [f.__name__ for f in info.functions]
        ['Mul']
        >>> info.fn(ad.tensor(100.0), ad.tensor(2.0))
        Tensor(200.)
    """

    name: str
    fn: Callable[..., Any]
    functions: tuple[type, ...] = ()
    domains: tuple[Domain, ...] = (REAL,)
    shapes: str = "same"
    params: ParamsFn | None = None
    cases: CaseFn | None = None
    smooth: bool = True
    differentiable: bool = True
    atol: float = 1e-5
    rtol: float = 1e-4
    min_dims: int = 0
    max_dims: int = 3
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, OpInfo] = {}


def register(name: str, fn: Callable[..., Any], **kwargs: Any) -> OpInfo:
    """Register an op for the property tests (see ``OpInfo`` for the fields).

    Example:
        >>> import autodiff as ad
        >>> from autodiff.registry import register, POSITIVE
        >>> def cube_root(x):
        ...     return x ** (1.0 / 3.0)
        >>> info = register("my_cube_root", cube_root, domains=(POSITIVE,))
        >>> ad.registry.get("my_cube_root").name
        'my_cube_root'
        >>> ad.registry.unregister("my_cube_root")
    """
    if name in _REGISTRY and _REGISTRY[name].fn is not fn:
        raise ValueError(f"op '{name}' is already registered")
    info = OpInfo(name=name, fn=fn, **kwargs)
    if info.shapes == "custom" and info.cases is None:
        raise ValueError(f"op '{name}': shapes='custom' needs a cases function")
    _REGISTRY[name] = info
    return info


def unregister(name: str) -> None:
    """Remove an op from the registry (for user ops registered in tests)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> OpInfo:
    """The registered ``OpInfo`` called ``name``.

    Example:
        >>> import autodiff as ad
        >>> ad.registry.get("tanh").fn is ad.tanh
        True
        >>> ad.registry.get("no_such_op")
        Traceback (most recent call last):
            ...
        KeyError: "no op named 'no_such_op' is registered"
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op named '{name}' is registered") from None


def all_ops() -> list[OpInfo]:
    """Every registered op, in registration order.

    Example:
        >>> import autodiff as ad
        >>> names = [info.name for info in ad.registry.all_ops()]
        >>> "mul" in names and "conv2d" in names
        True
        >>> [info.name for info in ad.registry.all_ops() if not info.differentiable]
        ['argmax', 'argmin']
    """
    return list(_REGISTRY.values())
