"""The backward graph: one node per step the engine ran, edges carrying gradients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine import BackwardStep
from ..tensor import Tensor
from .labels import describe, esc, fmt_shape, font, tensor_label
from .layout import emit
from .options import FORWARD_ONLY, Options, make_options
from .recording import Recording, from_steps, record
from .sketch import Item, Sketch, common_scope

__all__ = ["backward_graph", "backward_sketch", "grad_text"]


def grad_text(g: Any, opts: Options) -> str:
    """Edge label for a gradient: its (small) value and/or its shape.

    A scalar's shape is left out when its value is shown.

    Example:
        >>> import numpy as np
        >>> from autodiff.viz.backward import grad_text
        >>> from autodiff.viz.options import Options
        >>> grad_text(np.array(2.2), Options())
        '2.2'
        >>> grad_text(np.array([2.2, 3.3]), Options()).split("<BR/>")
        ['[2.2, 3.3]', '<FONT COLOR="#777777" POINT-SIZE="9">(2,)</FONT>']
        >>> grad_text(np.array([2.2, 3.3]), Options(show_shapes=False))
        '[2.2, 3.3]'
    """
    parts = []
    if opts.show_values:
        parts.append(describe(g, opts.precision, opts.max_values, opts.color("bad")))
    if opts.show_shapes and (g.ndim > 0 or not parts):
        parts.append(font(esc(fmt_shape(g.shape)), "#777777", 9))
    return "<BR/>".join(parts)


def _step_label(i: int, step: BackwardStep, opts: Options) -> str:
    fn = step.fn
    lines = [f"<B>{i + 1}. {esc(fn.name)}</B>"]
    if fn.rule:
        lines.append(font(esc(fn.rule), "#333333", 10))
    for index, grad_shape, input_shape in step.reduced:
        lines.append(
            font(
                esc(f"Σ gx{index} summed {fmt_shape(grad_shape)} → {fmt_shape(input_shape)}"),
                opts.color("reduced"),
                10,
            )
        )
    return "<BR/>".join(lines)


def _leaf_label(x: Tensor, recorded: Any, opts: Options) -> str:
    """A leaf shows the gradient this pass delivered, the sum of the edges drawn into it.

    ``.grad`` can hold something else: gradients accumulated over several backward calls,
    or, under ``create_graph=True``, the first derivative while the drawing shows the
    pass computing the second. A picture whose leaf disagrees with its own edges misleads
    a class, so ``.grad`` is shown beneath, marked, only when it differs.
    """
    label = tensor_label(opts.name_of(x), None, x.shape, x.dtype, recorded, opts)
    held = x.grad.data if x.grad is not None else None
    if not opts.show_grads or held is None or recorded is None:
        return label
    if held.shape == recorded.shape and np.allclose(held, recorded, rtol=1e-5, equal_nan=True):
        return label
    text = describe(held, opts.precision, opts.max_values, opts.color("bad"))
    sep = "<BR/>" if "<BR/>" in text else " "
    return label + "<BR/>" + font(esc(".grad") + sep + text, "#777777", 10)


def backward_sketch(rec: Recording, opts: Options) -> Sketch:
    """Items and edges of the backward view, built from a recorded backward pass.

    Keys: ``r0`` for the output's seed, ``s0, s1, ...`` for the steps in run order,
    ``l0, l1, ...`` for the leaves; each edge carries the gradient it passes on.

    Example (the apple bill: 2 apples at 100 with 10% tax):
        >>> import autodiff as ad
        >>> from autodiff.viz.backward import backward_sketch
        >>> from autodiff.viz.options import Options
        >>> apple, n = ad.tensor(100.0, requires_grad=True), ad.tensor(2.0, requires_grad=True)
        >>> tax = ad.tensor(1.1, requires_grad=True)
        >>> sketch = backward_sketch(ad.viz.record(apple * n * tax), Options())
        >>> [(e.src, e.dst, e.label) for e in sketch.edges]  # doctest: +NORMALIZE_WHITESPACE
        [('r0', 's0', '1'), ('s0', 's1', '1.1'), ('s0', 'l0', '200'),
         ('s1', 'l1', '2.2'), ('s1', 'l2', '110')]
        >>> sketch.items["s0"].label.split("<BR/>")[0]
        '<B>1. mul</B>'
    """
    sketch = Sketch()
    index = rec.step_index()
    step_keys = {i: f"s{i}" for i in range(len(rec.steps))}
    leaf_keys: dict[int, str] = {}
    leaf_readers: dict[int, list[tuple[str, ...]]] = {}
    grad_color = opts.color("grad")

    for i, out in enumerate(rec.outputs):
        seed = rec.seed_of(out)
        if seed is None:
            continue
        key = f"r{i}"
        label = tensor_label(opts.name_of(out) or "output", None, out.shape, out.dtype, seed, opts)
        sketch.add(
            Item(
                key,
                label,
                {
                    "shape": "box",
                    "style": "rounded,filled",
                    "fillcolor": opts.color("output"),
                    "penwidth": "2",
                },
                pinned=True,
            )
        )
        if out.creator is not None and id(out.creator) in index:
            sketch.connect(
                key,
                step_keys[index[id(out.creator)]],
                grad_text(seed, opts),
                color=grad_color,
                fontcolor=grad_color,
            )

    for i, step in enumerate(rec.steps):
        sketch.add(
            Item(
                step_keys[i],
                _step_label(i, step, opts),
                {"shape": "box", "style": "rounded,filled", "fillcolor": opts.color("step")},
                step.fn.scope,
                sig=f"S{step.fn.name}",
                op=step.fn.name,
                out_shape=fmt_shape(step.fn.out_meta[0][0]) if step.fn.out_meta else "",
            )
        )
    for i, step in enumerate(rec.steps):
        reduced = {r[0] for r in step.reduced}
        for j, (x, gx) in enumerate(zip(step.inputs, step.grad_inputs)):
            if gx is None:
                continue
            if x.creator is not None:
                if id(x.creator) not in index:
                    continue
                dst = step_keys[index[id(x.creator)]]
            else:
                dst = leaf_keys.get(id(x), "")
                if not dst:
                    dst = leaf_keys[id(x)] = f"l{len(leaf_keys)}"
                    leaf_readers[id(x)] = []
                    sketch.add(
                        Item(
                            dst,
                            _leaf_label(x, rec.grads.get(id(x)), opts),
                            {
                                "shape": "box",
                                "style": "rounded,filled",
                                "fillcolor": opts.color("param"),
                            },
                            sig=f"L{x.shape}",
                            params=x.size,
                            out_shape=fmt_shape(x.shape),
                        )
                    )
                leaf_readers[id(x)].append(step.fn.scope)
            color = opts.color("reduced") if j in reduced else grad_color
            label = grad_text(gx.data, opts)
            if j in reduced:
                label = font("Σ ", color) + label
            sketch.connect(step_keys[i], dst, label, color=color, fontcolor=color)
    # Leaves sit in the module that reads them (known only after all edges).
    for leaf_id, key in leaf_keys.items():
        sketch.items[key].scope = common_scope(leaf_readers[leaf_id])
    return sketch


def backward_graph(
    *outputs: Tensor,
    steps: Sequence[BackwardStep] | None = None,
    options: Options | None = None,
    **kwargs: Any,
) -> Any:
    """Draw the backward pass from ``outputs`` as a ``graphviz.Digraph``.

    One node per backward step, numbered in the order the engine ran them and
    labelled with the rule that ran (``mul: gx0 = gy * x1, ...``); a ``Σ`` marks
    where a broadcast gradient was summed back to an input's shape. Edges carry
    the gradients (shape and small values); leaves show the gradient this pass
    gave them (the sum of their edges), and their ``.grad`` too when it holds something
    else (accumulated over earlier backward calls, or a first derivative).

    By default a recorded backward is run with ``retain_graph=True`` through
    ``autodiff.grad``, so ``.grad`` and the graph stay untouched. To draw a
    backward you already ran, pass the steps you recorded with
    ``autodiff.record_backward()`` as ``steps``.

    Example:
        >>> import autodiff as ad
        >>> a = ad.tensor(2.0, requires_grad=True, name="a")
        >>> dot = ad.viz.backward_graph(a * 3.0)
        >>> "gx0 = gy * x1" in dot.source
        True
    """
    opts = make_options(options, kwargs, "backward_graph", FORWARD_ONLY)
    rec = from_steps(outputs, steps) if steps is not None else record(*outputs)
    return emit(backward_sketch(rec, opts), opts, name="backward")
