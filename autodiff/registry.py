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
    "unregister",
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
    differences would straddle a non-differentiable point); ``intervals()``
    gives the pieces that leaves. ``avoid`` is a tuple or list of points;
    ``low == high`` fixes the value. A domain with ``low > high``, a negative
    margin or nothing left between the kinks is refused when it is made.

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

    def __post_init__(self) -> None:
        # A bad domain would otherwise surface much later, as odd values deep in a
        # hypothesis run (uniform(2, 1) draws from (1, 2] without complaint).
        if not self.low <= self.high:  # (low == high fixes the value)
            raise ValueError(f"Domain(low={self.low}, high={self.high}): expected low <= high")
        if not self.margin >= 0:
            raise ValueError(f"Domain margin must be >= 0, got {self.margin}")
        if isinstance(self.avoid, (int, float)):
            raise TypeError(
                f"Domain avoid must be a sequence of points, got {self.avoid!r} "
                f"(write avoid=({self.avoid!r},) for one point)"
            )
        object.__setattr__(self, "avoid", tuple(float(p) for p in self.avoid))  # a list too
        if not self.intervals():
            raise ValueError(
                f"{self!r} is empty: every value in [{self.low}, {self.high}] is within "
                f"margin {self.margin} of a point in avoid={self.avoid}"
            )

    def intervals(self) -> list[tuple[float, float]]:
        """``[low, high]`` without the points closer than ``margin`` to a kink in ``avoid``.

        These are the pieces values are drawn from, uniformly over their total length.

        Example (``abs``'s domain, split at its kink):
            >>> from autodiff.registry import Domain
            >>> Domain(-2.0, 2.0, avoid=(0.0,), margin=0.5).intervals()
            [(-2.0, -0.5), (0.5, 2.0)]
        """
        pieces = [(float(self.low), float(self.high))]
        for point in self.avoid:
            cut_lo, cut_hi = point - self.margin, point + self.margin
            kept = []
            for lo, hi in pieces:
                if cut_hi <= lo or cut_lo >= hi:  # this kink is outside the piece
                    kept.append((lo, hi))
                    continue
                if lo < cut_lo:
                    kept.append((lo, cut_lo))
                if cut_hi < hi:
                    kept.append((cut_hi, hi))
            pieces = kept
        return pieces


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
        domains: one ``Domain`` per tensor input (a tuple or list).
        shapes: ``"same"`` (all inputs share one random shape), ``"broadcast"``
            (random broadcast-compatible shapes) or ``"custom"`` (use ``cases``).
        params: draws extra keyword arguments given the input shapes.
        cases: draws the whole call (inputs and keyword arguments) for ops whose
            inputs are constrained together (matmul, reshape, concatenate...).
        smooth: run a second-order check (gradgradcheck) too.
        differentiable: False for ops like argmax (checked for "no graph" only).
        atol, rtol: tolerances for the float64 gradient checks.
        min_dims, max_dims: how many axes the drawn shapes have (``"same"`` and
            ``"broadcast"``; a ``cases`` function draws its own shapes).

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

    The entry is checked now (``fn`` callable, a ``Domain`` per input, ``functions``
    Function subclasses, known ``shapes``, ``0 <= min_dims <= max_dims``): a
    TypeError or ValueError names the field. A name already registered with another
    ``fn`` is a ValueError; ``unregister`` it first.

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
        raise ValueError(
            f"op '{name}' is already registered (with {_REGISTRY[name].fn!r}); "
            f"call autodiff.registry.unregister('{name}') first to replace it"
        )
    info = OpInfo(name=name, fn=fn, **kwargs)
    _validate(info)
    _REGISTRY[name] = info
    return info


_SHAPES = ("same", "broadcast", "custom")


def _validate(info: OpInfo) -> None:
    """Refuse an entry the strategies would misread (silently, or much later)."""
    name = info.name
    if not callable(info.fn):
        raise TypeError(f"op '{name}': fn must be callable, got {info.fn!r}")
    if info.shapes not in _SHAPES:
        raise ValueError(f"op '{name}': shapes must be one of {_SHAPES}, got {info.shapes!r}")
    if info.shapes == "custom" and info.cases is None:
        raise ValueError(f"op '{name}': shapes='custom' needs a cases function")
    # a list works as well as a tuple; a lone Domain or class is the common slip
    if isinstance(info.domains, list):
        info.domains = tuple(info.domains)
    if isinstance(info.functions, list):
        info.functions = tuple(info.functions)
    if not isinstance(info.domains, tuple) or not all(isinstance(d, Domain) for d in info.domains):
        raise TypeError(
            f"op '{name}': domains must be a tuple with one Domain per tensor input, got "
            f"{info.domains!r} (for one input write domains=(Domain(...),))"
        )
    if info.cases is None and not info.domains:
        raise ValueError(f"op '{name}': give one Domain per tensor input (domains is empty)")
    # The meta-test compares these classes with the ops' Function subclasses.
    from .function import Function

    if not isinstance(info.functions, tuple) or not all(
        isinstance(f, type) and issubclass(f, Function) for f in info.functions
    ):
        raise TypeError(
            f"op '{name}': functions must be a tuple of Function subclasses, got "
            f"{info.functions!r} (for one class write functions=(MyOp,))"
        )
    if not 0 <= info.min_dims <= info.max_dims:
        raise ValueError(
            f"op '{name}': expected 0 <= min_dims <= max_dims, got min_dims={info.min_dims}, "
            f"max_dims={info.max_dims}"
        )


def unregister(name: str) -> None:
    """Remove an op from the registry (for user ops registered in tests); no error if absent.

    Example:
        >>> import autodiff as ad
        >>> from autodiff.registry import register, unregister
        >>> _ = register("my_negative", ad.neg)
        >>> unregister("my_negative")
        >>> "my_negative" in [info.name for info in ad.registry.all_ops()]
        False
    """
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
