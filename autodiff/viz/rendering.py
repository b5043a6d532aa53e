"""Write graphs to files; explain how to install Graphviz when ``dot`` is missing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["GraphvizNotFoundError", "dot_available", "render", "save_source", "INSTALL_HINT"]

INSTALL_HINT = (
    "the Graphviz 'dot' program is needed to render graphs; install it with "
    "'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) or "
    "'conda install graphviz', then make sure 'dot' is on your PATH. Building graphs "
    "and writing their .dot source (save_source) works without it."
)
_FORMATS = ("svg", "png", "pdf")


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs the Graphviz ``dot`` program, which was not found."""


def dot_available() -> bool:
    """True when the Graphviz ``dot`` program is on the PATH.

    Example:
        >>> import autodiff as ad
        >>> isinstance(ad.viz.dot_available(), bool)
        True
    """
    return shutil.which("dot") is not None


def save_source(graph: Any, path: str | os.PathLike) -> Path:
    """Write the DOT source of ``graph`` to ``path`` (no Graphviz program needed).

    Example:
        >>> import tempfile, pathlib, autodiff as ad
        >>> dot = ad.viz.forward_graph(ad.tensor(2.0, requires_grad=True) * 3.0)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = ad.viz.save_source(dot, pathlib.Path(d) / "g.dot")
        ...     p.read_text().startswith("digraph")
        True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(graph.source, encoding="utf-8")
    return path


def render(graph: Any, path: str | os.PathLike, format: str | None = None) -> Path:
    """Render ``graph`` to ``path`` as svg, png or pdf (from ``format`` or the suffix).

    Raises:
        GraphvizNotFoundError: the ``dot`` program is missing (says how to install it).

    Example:
        >>> import tempfile, pathlib, autodiff as ad
        >>> dot = ad.viz.forward_graph(ad.tensor(2.0, requires_grad=True) * 3.0)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     out = ad.viz.render(dot, pathlib.Path(d) / "g.svg")
        ...     out.suffix, out.read_text().lstrip().startswith("<?xml")
        ('.svg', True)
    """
    import graphviz  # lazily: keeps ``import autodiff`` fast

    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt not in _FORMATS:
        raise ValueError(f"format must be one of {_FORMATS}, got {fmt!r}")
    if path.suffix.lstrip(".").lower() != fmt:
        path = path.with_name(path.name + "." + fmt)
    try:
        data = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFoundError(INSTALL_HINT) from err
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
