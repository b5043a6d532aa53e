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
    _check_graph(graph, "save_source")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(graph.source, encoding="utf-8")
    return path


def _check_graph(graph: Any, caller: str) -> None:
    # The views return graphviz graphs; anything else would fail deep inside with an
    # AttributeError ('list' object has no attribute 'pipe') that names no culprit.
    if isinstance(graph, (list, tuple)):
        raise TypeError(
            f"{caller}() draws one graph, got a {type(graph).__name__} of "
            f"{len(graph)}; for the frames of backward_frames use write_frames(frames, directory)"
        )
    if not (hasattr(graph, "source") and hasattr(graph, "pipe")):
        raise TypeError(
            f"{caller}() expects a graph made by forward_graph, backward_graph, "
            f"combined_graph or plot_model, got {type(graph).__name__}"
        )


def render(graph: Any, path: str | os.PathLike, format: str | None = None) -> Path:
    """Render ``graph`` to ``path`` as svg, png or pdf (from ``format`` or the suffix).

    Missing directories are created. A path without a suffix gets one (``"g"`` ->
    ``g.svg``), and so does a path whose suffix is not ``format`` (``"g.v1"``,
    ``format="png"`` -> ``g.v1.png``). For the DOT text use ``save_source``.

    Raises:
        GraphvizNotFoundError: the ``dot`` program is missing (says how to install it).
        ValueError: an unknown format (``dot``/``gv`` point to ``save_source``);
        TypeError: ``graph`` is not a drawing (a list of frames points to
        ``write_frames``); IsADirectoryError: ``path`` is a directory.

    Example:
        >>> import tempfile, pathlib, autodiff as ad
        >>> dot = ad.viz.forward_graph(ad.tensor(2.0, requires_grad=True) * 3.0)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     out = ad.viz.render(dot, pathlib.Path(d) / "g.svg")
        ...     out.suffix, out.read_text().lstrip().startswith("<?xml")
        ('.svg', True)
    """
    import graphviz  # lazily: keeps ``import autodiff`` fast

    _check_graph(graph, "render")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"render() needs a file name, got the directory {str(path)!r}")
    fmt = (format or path.suffix.lstrip(".") or "svg").lower()
    if fmt in ("dot", "gv"):
        raise ValueError(
            f"render() draws pictures {_FORMATS}; to write the DOT text use "
            f"save_source(graph, {str(path)!r}), which needs no Graphviz program"
        )
    if fmt not in _FORMATS:
        origin = "format=" if format else f"the suffix of {path.name!r}"
        hint = "" if format else f"; format='svg' would write {path.name + '.svg'!r}"
        raise ValueError(f"format must be one of {_FORMATS}, got {fmt!r} from {origin}{hint}")
    if path.suffix.lstrip(".").lower() != fmt:
        path = path.with_name(path.name + "." + fmt)
    try:
        data = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFoundError(INSTALL_HINT) from err
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
