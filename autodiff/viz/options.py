"""What a drawing shows and how it looks: one ``Options`` value shared by every view."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Options", "SCHEME", "FORWARD_ONLY", "make_options"]

#: fill colours by role; every view uses the same ones so a learner reads them once
SCHEME: dict[str, str] = {
    "input": "#e9e9e9",  # leaves that do not require grad (data, constants)
    "param": "#c7e9c0",  # leaves that require grad (parameters, the apple prices)
    "tensor": "#ffffff",  # intermediate results
    "output": "#fdd0a2",  # the tensors the drawing started from
    "op": "#d6e6f5",  # op nodes in the forward graph
    "step": "#e8e0f3",  # backward steps
    "box": "#f2f2f2",  # collapsed modules
    "grad": "#c0392b",  # gradient text and gradient edges
    "value": "#1f3b73",  # forward value text on combined edges
    "reduced": "#8e44ad",  # where a broadcast gradient was summed back
    "highlight": "#ffd54f",  # the step a frame is showing
    "pending": "#b0b0b0",  # gradients not known yet in a frame
    "cluster": "#fafafa",  # module clusters
    "bad": "#ff00ff",  # NaN / Inf
}


@dataclass(frozen=True)
class Options:
    """Everything a view can be asked to show; pass any field as a keyword to a view.

    Attributes:
        show_values: print values of small tensors (statistics for large ones).
        show_shapes: print shape and dtype.
        show_grads: print gradients (``.grad``, or the recorded ones in backward views).
        precision: significant digits of printed numbers.
        max_values: tensors with more elements than this show statistics
            (min, mean, max, norm, fraction of zeros) instead of values.
        rankdir: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
        clusters: group nodes into boxes by the module scope that produced them.
        depth: collapse every module at this nesting depth (1 = top-level modules)
            into a single box; ``None`` draws every op.
        repeats: with ``depth``, fold runs of identical chained sibling modules
            (``block0``, ``block1``, ...) into one box marked ``xN``.
        health: colour tensors by the norm of their gradient on a log scale (forward
            view only; the other views refuse it as a keyword).
        health_range: the norms mapped to the two ends of the colour scale (log scale;
            a norm of 1 in the middle when the range holds 1).
        names: extra names for tensors, e.g. ``dict(model.named_parameters())``.
        colors: overrides for ``SCHEME`` entries (unknown roles are refused).
        title: a caption drawn above the graph.
        box_titles: captions for module boxes and clusters by dotted scope path
            (``{"Sequential.0": "0: Linear"}``), for tools that know the modules.

    Example:
        >>> import autodiff as ad
        >>> opts = ad.viz.Options(rankdir="LR", depth=1)
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
        >>> "rankdir=LR" in ad.viz.forward_graph(x * 2, options=opts).source
        True
    """

    show_values: bool = True
    show_shapes: bool = True
    show_grads: bool = True
    precision: int = 4
    max_values: int = 12
    rankdir: str = "TB"
    clusters: bool = True
    depth: int | None = None
    repeats: bool = False
    health: bool = False
    health_range: tuple[float, float] = (1e-6, 1e2)
    names: Mapping[str, Any] | None = None
    colors: Mapping[str, str] = field(default_factory=dict)
    title: str = ""
    box_titles: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rankdir not in ("TB", "LR", "BT", "RL"):
            raise ValueError(f"rankdir must be 'TB' or 'LR' (or 'BT', 'RL'), got {self.rankdir!r}")
        if isinstance(self.precision, bool) or not isinstance(self.precision, int):
            raise TypeError(f"precision must be an int >= 0, got {self.precision!r}")
        if self.precision < 0:
            raise ValueError(f"precision must be an int >= 0, got {self.precision}")
        if self.depth is not None and self.depth < 1:
            raise ValueError(f"depth must be None or >= 1, got {self.depth}")
        lo, hi = self.health_range
        if not 0 < lo < hi:
            raise ValueError(f"health_range must be (low, high) with 0 < low < high, got {lo, hi}")
        # Both would otherwise be ignored without a word: the colour of a misspelt role
        # never applies, and a {tensor: "name"} dict names nothing.
        unknown = sorted(set(self.colors) - set(SCHEME))
        if unknown:
            raise ValueError(f"colors: unknown role(s) {unknown}; known: {sorted(SCHEME)}")
        for key in self.names or {}:
            if not isinstance(key, str):
                raise TypeError(
                    "names maps a name to a tensor, e.g. {'fc1.weight': w} or "
                    f"dict(model.named_parameters()); got a key of type {type(key).__name__}"
                )
        by_id = {id(v): k for k, v in (self.names or {}).items()}
        object.__setattr__(self, "_names_by_id", by_id)

    def color(self, role: str) -> str:
        return self.colors.get(role, SCHEME[role])

    def name_of(self, t: Any) -> str | None:
        """The name a tensor is drawn with: ``names`` first, then ``t.name``."""
        return self._names_by_id.get(id(t), t.name)  # type: ignore[attr-defined]


#: Options only the forward view draws. Asking another view for them by keyword is an
#: error rather than a silent no-op; an ``Options`` object that sets them can still be
#: shared between views.
FORWARD_ONLY = ("health", "health_range")


def make_options(
    options: Options | None, overrides: dict[str, Any], view: str = "", ignores: tuple = ()
) -> Options:
    """``options`` (or the defaults) with keyword overrides; unknown keywords raise TypeError,
    and so do keywords in ``ignores``, options the calling ``view`` does not draw.

    Example:
        >>> from autodiff.viz.options import make_options
        >>> make_options(None, {"precision": 2}).precision
        2
    """
    base = options if options is not None else Options()
    if not overrides:
        return base
    known = {f.name for f in dataclasses.fields(Options)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown drawing option(s) {unknown}; known: {sorted(known)}")
    defaults = Options()
    unused = [n for n in ignores if n in overrides and overrides[n] != getattr(defaults, n)]
    if unused:
        raise TypeError(
            f"{view} does not draw {unused}: they apply to forward_graph only "
            f"(e.g. forward_graph(loss, health=True))"
        )
    return dataclasses.replace(base, **overrides)
