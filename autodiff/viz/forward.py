"""The forward graph: tensors and the ops between them, in data-flow order."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Graph, trace
from ..tensor import Tensor
from .health import health_legend, norm_color
from .labels import esc, fmt_shape, tensor_label
from .layout import emit
from .options import Options, make_options
from .recording import record
from .sketch import Item, Sketch, common_scope

__all__ = ["forward_graph", "forward_sketch", "tensor_role"]


def tensor_role(t: Tensor, outputs: set[int]) -> str:
    """``output``, ``param`` (leaf requiring grad), ``input`` (other leaf) or ``tensor``.

    Example:
        >>> import autodiff as ad
        >>> from autodiff.viz.forward import tensor_role
        >>> w, x = ad.tensor(1.0, requires_grad=True), ad.tensor(2.0)
        >>> y = w * x
        >>> [tensor_role(t, {id(y)}) for t in (w, x, y)]
        ['param', 'input', 'output']
    """
    if id(t) in outputs:
        return "output"
    if t.creator is None:
        return "param" if t.requires_grad else "input"
    return "tensor"


def _leaf_scope(t: Tensor, graph: Graph, opts: Options) -> tuple[str, ...]:
    # Parameters, buffers and constants belong to the module that reads them. A named
    # leaf that needs no gradient (``x``, ``h0``, the model input) is data the user
    # feeds in: it stays outside the modules, where it enters the model.
    if not t.requires_grad and opts.name_of(t):
        return ()
    return common_scope([node.scope for node, _ in graph.consumers(t)])


def forward_sketch(
    graph: Graph, opts: Options, grads: dict[int, np.ndarray] | None = None
) -> Sketch:
    """Items and edges of the forward view (``grads``: gradients by tensor id, for health).

    Keys: ``t0, t1, ...`` for tensors and ``f0, f1, ...`` for ops, in data-flow order.

    Example (the apple bill: 2 apples at 100 with 10% tax):
        >>> import autodiff as ad
        >>> from autodiff.viz.forward import forward_sketch
        >>> from autodiff.viz.options import Options
        >>> apple = ad.tensor(100.0, requires_grad=True, name="apple")
        >>> n, tax = ad.tensor(2.0, name="n"), ad.tensor(1.1, name="tax")
        >>> bill = apple * n * tax
        >>> sketch = forward_sketch(ad.graph.trace(bill), Options(show_shapes=False))
        >>> [item.op or item.label for item in sketch.items.values()][:4]
        ['<B>apple</B><BR/>100', '<B>n</B><BR/>2', 'mul', '200']
        >>> [(e.src, e.dst) for e in sketch.edges][:3]
        [('t0', 'f0'), ('t1', 'f0'), ('f0', 't2')]
        >>> sketch.items["t4"].label, sketch.items["t4"].pinned  # the output
        ('220', True)
    """
    sketch = Sketch()
    outputs = {id(t) for t in graph.outputs}
    keys: dict[int, str] = {}
    low, high = opts.health_range

    def add_tensor(t: Tensor, scope: tuple[str, ...]) -> None:
        key = keys[id(t)] = f"t{len(keys)}"
        role = tensor_role(t, outputs)
        g = t.grad.data if t.grad is not None else None
        if g is None and grads is not None:
            g = grads.get(id(t))
        attrs = {
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": opts.color(role),
        }
        if opts.show_shapes:
            attrs["tooltip"] = fmt_shape(t.shape, t.dtype)
        if role == "output":
            attrs["penwidth"] = "2"
        name = opts.name_of(t)
        if opts.health:
            # The picture is about one number per tensor: keep the label to name and norm.
            label = tensor_label(name, None, t.shape, t.dtype, None, opts)
            if grads is not None and id(t) in grads:
                norm = float(np.linalg.norm(np.asarray(grads[id(t)], dtype=np.float64)))
                attrs["fillcolor"], attrs["fontcolor"] = norm_color(
                    norm, low, high, opts.color("bad")
                )
                attrs["tooltip"] = attrs.get("tooltip", "") + f"  |grad| = {norm:.3g}"
                label = (label + "<BR/>" if label != " " else "") + esc(f"‖grad‖ {norm:.2g}")
        else:
            label = tensor_label(name, t.data, t.shape, t.dtype, g, opts)
        sketch.add(
            Item(
                key,
                label,
                attrs,
                scope,
                sig=f"T{t.shape}{t.dtype.char}{role}",
                params=t.size if role == "param" else 0,
                out_shape=fmt_shape(t.shape),
                pinned=role == "output",
            )
        )

    n_ops = 0
    for node in graph.nodes:
        for x in node.inputs:
            if id(x) not in keys:  # a leaf, drawn just before its first reader
                add_tensor(x, _leaf_scope(x, graph, opts))
        op_key = f"f{n_ops}"
        n_ops += 1
        site = node.call_site
        tip = f"{node.op}: {node.rule}" if node.rule else node.op
        if site is not None:
            tip += f"\n{site[0]}:{site[1]}"
        sketch.add(
            Item(
                op_key,
                f"<B>{esc(node.op)}</B>",
                {
                    "shape": "ellipse",
                    "style": "filled",
                    "fillcolor": opts.color("op"),
                    "tooltip": tip,
                },
                node.scope,
                sig=f"F{node.op}",
                op=node.op,
                out_shape=fmt_shape(node.shapes[0]) if node.shapes else "",
            )
        )
        for x in node.inputs:
            sketch.connect(keys[id(x)], op_key)
        for y in node.outputs:
            if y is not None and id(y) not in keys:
                add_tensor(y, node.scope)
                sketch.connect(op_key, keys[id(y)])
    for t in graph.outputs:
        if id(t) not in keys:  # an output that is itself a leaf
            add_tensor(t, ())
    for source, leaf in graph.cuts():
        sketch.connect(
            keys[id(source)],
            keys[id(leaf)],
            "<I>detach</I>",
            style="dashed",
            color="#888888",
            fontcolor="#888888",
        )
    if opts.health:
        sketch.legend = health_legend(low, high)
    return sketch


def forward_graph(*outputs: Tensor, options: Options | None = None, **kwargs: Any) -> Any:
    """Draw the forward graph behind ``outputs`` as a ``graphviz.Digraph``.

    Tensors are rounded boxes (inputs grey, parameters green, outputs orange)
    showing name, shape, dtype and value (statistics when large); ops are blue
    ellipses. Any ``Options`` field can be given as a keyword (``rankdir="LR"``,
    ``depth=1``, ``health=True``, ...). ``health=True`` runs its own recorded
    backward, so draw before ``backward()`` (or keep the graph with ``retain_graph``).

    Example:
        >>> import autodiff as ad
        >>> a = ad.tensor(2.0, requires_grad=True, name="a")
        >>> dot = ad.viz.forward_graph(a * 3.0)
        >>> "mul" in dot.source and "<B>a</B>" in dot.source
        True
    """
    opts = make_options(options, kwargs)
    graph = trace(*outputs)
    grads = record(*outputs).grads if opts.health else None
    return emit(forward_sketch(graph, opts, grads), opts, name="forward")
