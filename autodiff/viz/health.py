"""Gradient health: colour a tensor by the norm of its gradient on a log scale.

Vanishing gradients (a deep sigmoid net) come out blue, healthy ones pale (a norm
of 1 is the pale yellow in the middle when the range holds 1), exploding ones red;
the legend maps colours back to norms. The scale is fixed by ``Options.health_range``
rather than fitted to each graph, so two pictures (sigmoid vs ReLU) can be compared
side by side.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .labels import esc, fmt_number
from .recording import record

__all__ = ["PALETTE", "norm_color", "health_legend", "gradient_norms"]

#: blue (vanishing) -> pale yellow (a norm of 1) -> red (exploding); ColorBrewer RdYlBu reversed
PALETTE = (
    "#313695",
    "#4575b4",
    "#74add1",
    "#abd9e9",
    "#e0f3f8",
    "#ffffbf",
    "#fee090",
    "#fdae61",
    "#f46d43",
    "#d73027",
    "#a50026",
)
_DARK = {0, 1, 9, 10}  # palette entries that need white text


def _position(norm: float, low: float, high: float) -> float:
    """Where ``norm`` sits on the colour scale, 0 (``low``) to 1 (``high``).

    When the range holds 1, a norm of 1 sits in the middle (the palette's pale yellow),
    with each side on its own log scale: the default range (1e-6, 1e2) gives vanishing
    gradients six decades and exploding ones two, and a single log scale over all eight
    would put its middle at 1e-2 and draw the healthy gradients of a ReLU net in the
    orange of "exploding".
    """
    x, lo, hi = math.log10(norm), math.log10(low), math.log10(high)
    if lo < 0 < hi:
        t = 0.5 * (1 - x / lo) if x < 0 else 0.5 * (1 + x / hi)
    else:
        t = (x - lo) / (hi - lo)
    return min(max(t, 0.0), 1.0)


def _norm_at(position: float, low: float, high: float) -> float:
    """The norm drawn at ``position`` (0..1) of the scale: the inverse of ``_position``."""
    lo, hi = math.log10(low), math.log10(high)
    if lo < 0 < hi:
        x = lo * (1 - 2 * position) if position < 0.5 else hi * (2 * position - 1)
    else:
        x = lo + (hi - lo) * position
    return 10**x


def norm_color(
    norm: float, low: float = 1e-6, high: float = 1e2, bad: str = "#ff00ff"
) -> tuple[str, str]:
    """``(fill, font colour)`` for a gradient norm on a log scale from ``low`` to ``high``.

    A norm of 1 is pale yellow when the range holds 1. A zero norm gets the coldest
    colour; NaN or Inf gets ``bad`` (magenta, ``SCHEME["bad"]``).

    Example:
        >>> from autodiff.viz.health import norm_color
        >>> norm_color(1e-9), norm_color(1.0), norm_color(1e5), norm_color(float("nan"))
        (('#313695', 'white'), ('#ffffbf', 'black'), ('#a50026', 'white'), ('#ff00ff', 'white'))
    """
    if not math.isfinite(norm):
        return bad, "white"
    if norm <= 0:
        return PALETTE[0], "white"
    i = round(_position(norm, low, high) * (len(PALETTE) - 1))
    return PALETTE[i], "white" if i in _DARK else "black"


def health_legend(low: float, high: float) -> str:
    """An HTML table: one swatch per palette colour with the norm it stands for.

    Example:
        >>> from autodiff.viz.health import health_legend
        >>> health_legend(1e-6, 1e2).count("<TD BGCOLOR")
        11
    """
    cells = []
    n = len(PALETTE)
    for i, color in enumerate(PALETTE):
        norm = _norm_at(i / (n - 1), low, high)
        text = "white" if i in _DARK else "black"
        cells.append(
            f'<TD BGCOLOR="{color}"><FONT COLOR="{text}" POINT-SIZE="9">'
            f"{esc(fmt_number(norm, 1))}</FONT></TD>"
        )
    return (
        '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
        f'<TR><TD COLSPAN="{n}"><B>‖grad‖ (log scale)</B>  '
        "vanishing ← → exploding</TD></TR>"
        f"<TR>{''.join(cells)}</TR></TABLE>"
    )


def gradient_norms(*outputs: Tensor) -> dict[int, float]:
    """L2 norm of the gradient of every tensor behind ``outputs``, keyed by ``id(tensor)``.

    Runs its own recorded backward (``.grad`` is not touched).

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor([3.0, 4.0], requires_grad=True)
        >>> norms = ad.viz.gradient_norms((x * x).sum() / 2)
        >>> norms[id(x)]
        5.0
    """
    rec = record(*outputs)
    return {k: float(np.linalg.norm(np.asarray(g, dtype=np.float64))) for k, g in rec.grads.items()}
