"""Forward values and gradients on one canvas, as the lecture notes draw the apple bill.

Ops are circles (``×``, ``+``), each edge carries the value flowing forward
(above, blue) and the gradient flowing back along it (below, red). Frames
reuse this view with only the gradients known so far.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Graph, trace
from ..tensor import Tensor
from .forward import tensor_role
from .labels import describe, esc, font, op_symbol
from .layout import emit
from .options import FORWARD_ONLY, Options, make_options
from .recording import Recording, record
from .sketch import Item, Sketch

__all__ = ["combined_graph", "combined_sketch"]


def _edge_label(
    value: np.ndarray | None, grad: np.ndarray | None, known: bool, opts: Options
) -> str:
    lines = []
    if opts.show_values and value is not None:
        lines.append(font(describe(value, opts.precision, opts.max_values), opts.color("value")))
    if opts.show_grads and grad is not None:
        text = describe(grad, opts.precision, opts.max_values)
        # A gradient not computed yet is drawn in white: invisible, but it keeps the
        # layout of every frame identical, so a flip-through does not jump around.
        lines.append(font(text, opts.color("grad") if known else "white"))
    return "<BR/>".join(lines)


def combined_sketch(
    graph: Graph,
    rec: Recording,
    opts: Options,
    upto: int | None = None,
) -> Sketch:
    """The combined view after the first ``upto`` backward steps (all when None).

    Gradients the first ``upto`` steps have not computed yet are drawn in white.

    Example (the apple bill: 2 apples at 100 with 10% tax):
        >>> import autodiff as ad
        >>> from autodiff.viz.combined import combined_sketch
        >>> from autodiff.viz.options import Options
        >>> apple, n = ad.tensor(100.0, requires_grad=True), ad.tensor(2.0, requires_grad=True)
        >>> bill = apple * n * ad.tensor(1.1, requires_grad=True)
        >>> graph, rec = ad.graph.trace(bill), ad.viz.record(bill)
        >>> sketch = combined_sketch(graph, rec, Options())
        >>> [(e.src, e.dst) for e in sketch.edges]
        [('t0', 'f0'), ('t1', 'f0'), ('f0', 'f1'), ('t2', 'f1'), ('f1', 'out0')]
        >>> sketch.edges[0].label  # apple's edge: value 100 over gradient 2.2
        '<FONT COLOR="#1f3b73">100</FONT><BR/><FONT COLOR="#c0392b">2.2</FONT>'
        >>> combined_sketch(graph, rec, Options(), upto=1).edges[0].label
        '<FONT COLOR="#1f3b73">100</FONT><BR/><FONT COLOR="white">2.2</FONT>'
    """
    sketch = Sketch(graph_attrs={"ordering": "in"})
    index = rec.step_index()
    done = len(rec.steps) if upto is None else upto
    current = rec.steps[done - 1].fn if upto is not None and done > 0 else None
    outputs = {id(t) for t in graph.outputs}
    contrib: dict[tuple[int, int], np.ndarray] = {}
    for step in rec.steps:
        for j, gx in enumerate(step.grad_inputs):
            if gx is not None:
                contrib[(id(step.fn), j)] = gx.data
    pending: dict[int, int] = {}  # leaf id -> contributions still to come
    keys: dict[int, str] = {}
    op_keys: dict[int, str] = {}
    highlight = opts.color("highlight")

    def is_known(fn: Any) -> bool:
        return id(fn) in index and index[id(fn)] < done

    for node in graph.nodes:
        for j, x in enumerate(node.inputs):
            if (id(node.fn), j) in contrib and x.creator is None:
                pending[id(x)] = pending.get(id(x), 0) + (0 if is_known(node.fn) else 1)

    def leaf_item(t: Tensor) -> str:
        key = keys[id(t)] = f"t{len(keys)}"
        role = tensor_role(t, outputs)
        lines = [f"<B>{esc(opts.name_of(t) or '')}</B>"] if opts.name_of(t) else []
        g = rec.grads.get(id(t))
        if opts.show_grads and g is not None:
            known = pending.get(id(t), 0) == 0
            color = opts.color("grad") if known else opts.color(role)  # hidden until known
            lines.append(font("grad " + describe(g, opts.precision, opts.max_values), color))
        if not lines:
            lines.append(describe(t.data, opts.precision, opts.max_values))
        attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": opts.color(role)}
        sketch.add(Item(key, "<BR/>".join(lines), attrs, sig="leaf"))
        return key

    for n, node in enumerate(graph.nodes):
        key = op_keys[id(node.fn)] = f"f{n}"
        symbol = op_symbol(node.op)
        short = symbol != node.op or len(symbol) <= 2
        attrs = {
            "shape": "circle" if short else "ellipse",
            "style": "filled",
            "fillcolor": opts.color("op"),
            "fixedsize": "false",
            "tooltip": f"{node.op}: {node.rule}",
        }
        if current is not None and node.fn is current:
            attrs.update(fillcolor=highlight, penwidth="3")
        label = f'<FONT POINT-SIZE="{18 if short else 12}"><B>{esc(symbol)}</B></FONT>'
        sketch.add(Item(key, label, attrs, node.scope, sig=node.op, op=node.op))
        for j, x in enumerate(node.inputs):
            src = op_keys.get(id(x.creator)) if x.creator is not None else keys.get(id(x))
            if src is None:
                src = leaf_item(x)
            g = contrib.get((id(node.fn), j))
            label = _edge_label(x.data, g, is_known(node.fn), opts)
            fresh = current is not None and node.fn is current and g is not None
            edge = sketch.connect(src, key, label, fontsize="12")
            if fresh:
                edge.attrs.update(penwidth="2.5", color=opts.color("grad"))

    for i, out in enumerate(graph.outputs):
        key = f"out{i}"
        name = opts.name_of(out) or "output"
        attrs = {
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": opts.color("output"),
            "penwidth": "2",
        }
        if upto == 0:
            attrs.update(fillcolor=highlight, penwidth="3")
        sketch.add(Item(key, f"<B>{esc(name)}</B>", attrs, pinned=True))
        if out.creator is not None:
            seed = rec.seed_of(out)
            label = _edge_label(out.data, seed, True, opts)
            sketch.connect(op_keys[id(out.creator)], key, label, fontsize="12")
    if opts.show_values and opts.show_grads:
        sketch.legend = (
            '<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1">'
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{opts.color("value")}">value →</FONT></TD></TR>'
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{opts.color("grad")}">← gradient</FONT></TD></TR>'
            "</TABLE>"
        )
    return sketch


def combined_graph(*outputs: Tensor, options: Options | None = None, **kwargs: Any) -> Any:
    """Draw values and gradients together: each edge shows value (blue) over gradient (red).

    Runs its own recorded backward (``.grad`` and the graph are untouched).
    Left to right by default, like the lecture notes.

    Example:
        >>> import autodiff as ad
        >>> a, n = ad.tensor(100.0, requires_grad=True), ad.tensor(2.0, requires_grad=True)
        >>> dot = ad.viz.combined_graph(a * n)
        >>> ">200<" in dot.source and ">100<" in dot.source
        True
    """
    kwargs.setdefault("rankdir", "LR" if options is None else options.rankdir)
    opts = make_options(options, kwargs, "combined_graph", FORWARD_ONLY)
    graph = trace(*outputs)
    return emit(combined_sketch(graph, record(*outputs), opts), opts, name="combined")
