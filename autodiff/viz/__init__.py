"""Draw autodiff graphs with Graphviz: forward, backward, both at once, step by step.

* ``forward_graph(*outputs)``: tensors (name, shape, dtype, value or statistics)
  and ops in data-flow order; ``health=True`` colours tensors by gradient norm.
* ``backward_graph(*outputs)``: the steps the engine ran, their rules, and the
  gradients along the edges; leaves show their gradient.
* ``combined_graph(*outputs)``: values and gradients on every edge, like the
  lecture notes' apple bill.
* ``backward_frames`` / ``write_frames``: the backward pass as numbered pictures.
* ``render`` / ``save_source``: write svg/png/pdf or the DOT text.

Every view returns a ``graphviz.Digraph`` (displayed inline in Jupyter) and takes
the ``Options`` fields as keywords. Drawing only reads the graph: views that
need gradients run their own recorded backward with ``retain_graph=True``,
leaving ``.grad`` and the graph as they were (the graph-growth monitor does not
count it).

Example:
    >>> import autodiff as ad
    >>> x = ad.tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> dot = ad.viz.forward_graph((x * x).sum(), rankdir="LR")
    >>> dot.source.count("->")  # x -> mul (twice: x * x), mul -> t, t -> sum, sum -> out
    5
"""

from .backward import backward_graph
from .combined import combined_graph
from .forward import forward_graph
from .frames import backward_frames, write_frames
from .health import gradient_norms, norm_color
from .options import SCHEME, Options
from .recording import Recording, record
from .rendering import INSTALL_HINT, GraphvizNotFoundError, dot_available, render, save_source

__all__ = [
    "forward_graph",
    "backward_graph",
    "combined_graph",
    "backward_frames",
    "write_frames",
    "render",
    "save_source",
    "dot_available",
    "GraphvizNotFoundError",
    "INSTALL_HINT",
    "gradient_norms",
    "norm_color",
    "record",
    "Recording",
    "Options",
    "SCHEME",
]
