"""Turn a ``Sketch`` into Graphviz: module clusters, collapsing by depth, repeated blocks.

Rules (shared by every view):

* **clusters**: an item is drawn inside nested clusters following its module
  scope (``("encoder", "fc1")``); each cluster's caption carries its parameter count.
* **depth**: with ``depth=d`` every item whose scope is at least ``d`` long is
  folded into the box of its first ``d`` scope names (a module without
  sub-modules is folded into its own box even above ``d``); edges between boxes are
  labelled with the shape that crosses them. Pinned items (graph outputs) stay visible.
* **repeats**: boxes with the same parent, the same name stem (``block0``,
  ``block1``: the name without its trailing number) and identical contents that
  follow each other in a chain are drawn once, marked ``xN``. When the middle
  copies also talk to the outside (the time steps of a recurrent layer, each
  reading its own input), the chain edge is kept as a self-loop: the state.
  A box that holds such a run one level down says so (``step x10``).

The DOT text is written directly (not through ``Digraph.node``) because it is
the hot loop for 10,000-node graphs; graphviz only wraps the finished body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .labels import esc, font
from .options import Options
from .sketch import Edge, Item, Sketch

__all__ = ["emit", "dot_attrs"]

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def _stem(name: str) -> str:
    m = _NUMBERED.match(name)
    return m.group(1) if m else name


def _quote(value: str) -> str:
    if value[:1] == "<" and value[-1:] == ">":
        return value  # an HTML label
    if "\\" in value or '"' in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value + '"'


def dot_attrs(attrs: dict[str, str]) -> str:
    """``[a="1" b=<html>]`` for a DOT statement (empty string for no attributes).

    Example:
        >>> from autodiff.viz.layout import dot_attrs
        >>> print(dot_attrs({"shape": "box", "label": "<<B>x</B>>", "tooltip": 'say "hi"'}))
         [shape="box" label=<<B>x</B>> tooltip="say \\"hi\\""]
    """
    if not attrs:
        return ""
    return " [" + " ".join(f"{k}={_quote(v)}" for k, v in attrs.items()) + "]"


@dataclass
class _Box:
    path: tuple[str, ...]
    key: str
    items: list[Item] = field(default_factory=list)
    count: int = 1
    last: str = ""
    recurrent: bool = False

    @property
    def sig(self) -> tuple[str, ...]:
        return tuple(it.sig for it in self.items)


def _params_by_scope(items: Iterable[Item]) -> dict[tuple[str, ...], int]:
    counts: dict[tuple[str, ...], int] = {}
    for it in items:
        if it.params:
            for k in range(1, len(it.scope) + 1):
                counts[it.scope[:k]] = counts.get(it.scope[:k], 0) + it.params
    return counts


def _inner_repeat(box: _Box, depth: int) -> tuple[str, int] | None:
    """The longest run of identical child modules inside ``box`` (e.g. RNN time steps)."""
    children: dict[str, list[str]] = {}
    for it in box.items:
        if len(it.scope) > depth:
            children.setdefault(it.scope[depth], []).append(it.sig)
    best: tuple[str, int] | None = None
    groups: dict[tuple[str, tuple[str, ...]], int] = {}
    for name, sigs in children.items():
        k = (_stem(name), tuple(sigs))
        groups[k] = groups.get(k, 0) + 1
        if groups[k] > 1 and (best is None or groups[k] > best[1]):
            best = (k[0] or name, groups[k])
    return best


def _collapse(sketch: Sketch, depth: int) -> tuple[dict[str, _Box], dict[str, str]]:
    boxes: dict[tuple[str, ...], _Box] = {}
    rep: dict[str, str] = {}
    # A module with no sub-modules is a box even above ``depth`` (a head next to a body).
    parents = {it.scope[:k] for it in sketch.items.values() for k in range(1, len(it.scope))}
    for it in sketch.items.values():
        if it.pinned or not it.scope:
            continue
        if len(it.scope) < depth and it.scope in parents:
            continue
        path = it.scope[:depth]
        box = boxes.get(path)
        if box is None:
            box = boxes[path] = _Box(path, "box_" + str(len(boxes)))
        box.items.append(it)
        rep[it.key] = box.key
    return {b.key: b for b in boxes.values()}, rep


def _fold_repeats(
    boxes: dict[str, _Box], rep: dict[str, str], edges: list[Edge], items_order: list[str]
) -> None:
    links: set[tuple[str, str]] = set()
    for e in edges:
        s, d = rep.get(e.src, e.src), rep.get(e.dst, e.dst)
        if s != d:
            links.add((s, d))
    open_runs: dict[Any, list[_Box]] = {}
    runs: list[list[_Box]] = []
    # Order boxes by where they finish: a box's first op may run early (an input
    # projection), but a chain's boxes always complete in chain order.
    position = {key: i for i, key in enumerate(items_order)}
    ordered = sorted(boxes.values(), key=lambda b: position[b.items[-1].key])
    for box in ordered:
        k = (box.path[:-1], _stem(box.path[-1]), box.sig)
        run = open_runs.get(k)
        if run is not None and (run[-1].key, box.key) in links:
            run.append(box)
        else:
            open_runs[k] = [box]
            runs.append(open_runs[k])
    for run in runs:
        if len(run) < 2:
            continue
        head = run[0]
        members = {b.key for b in run}
        firsts, lasts = {b.key for b in run[1:]}, {b.key for b in run[:-1]}
        for s, d in links:
            # Any edge from outside into a later copy, or from an earlier copy to the
            # outside, means every copy has its own I/O: a recurrence, not a stack.
            if (d in firsts and s not in members) or (s in lasts and d not in members):
                head.recurrent = True
        head.count, head.last = len(run), run[-1].path[-1]
        for b in run[1:]:
            for it in b.items:
                rep[it.key] = head.key
            del boxes[b.key]


def _box_label(box: _Box, depth: int, params: int, out_shapes: list[str], opts: Options) -> str:
    name = opts.box_titles.get(".".join(box.path), ".".join(box.path))
    if box.count > 1:
        name += f" … {box.last}"
    lines = [f"<B>{esc(name)}</B>" + (f"  <B>×{box.count}</B>" if box.count > 1 else "")]
    ops: list[str] = []
    for it in box.items:
        if it.op and it.op not in ops:
            ops.append(it.op)
    if ops:
        shown = ", ".join(ops[:4]) + (", …" if len(ops) > 4 else "")
        lines.append(font(esc(shown), "#444444", 10))
    inner = _inner_repeat(box, depth)
    if inner is not None:
        lines.append(font(esc(f"{inner[0]} ×{inner[1]}"), "#444444", 10))
    if params:
        lines.append(font(esc(f"{params:,} params"), "#2e7d32", 10))
    if out_shapes:
        lines.append(font(esc("→ " + ", ".join(dict.fromkeys(out_shapes))), "#555555", 10))
    return "<BR/>".join(lines)


def emit(sketch: Sketch, opts: Options, name: str = "graph") -> Any:
    """Build the ``graphviz.Digraph`` for ``sketch`` (clusters, boxes, edges).

    Example:
        >>> from autodiff.viz.layout import emit
        >>> from autodiff.viz.options import Options
        >>> from autodiff.viz.sketch import Item, Sketch
        >>> s = Sketch()
        >>> _ = s.add(Item("a", "a", {}, scope=("m",)))
        >>> _ = s.add(Item("b", "b", {}, scope=("m",)))
        >>> _ = s.connect("a", "b")
        >>> src = emit(s, Options(depth=1)).source
        >>> "box_0" in src and "a -> b" not in src
        True
    """
    import graphviz  # imported here so that ``import autodiff`` stays fast

    boxes: dict[str, _Box] = {}
    rep: dict[str, str] = {}
    depth = opts.depth
    if depth is not None:
        boxes, rep = _collapse(sketch, depth)
        if opts.repeats:
            _fold_repeats(boxes, rep, sketch.edges, list(sketch.items))

    params_in = _params_by_scope(sketch.items.values())
    body: list[str] = []
    tree: dict[tuple[str, ...], list[str]] = {}

    def place(scope: tuple[str, ...], line: str) -> None:
        tree.setdefault(scope if opts.clusters else (), []).append(line)

    # Edges first, so boxes know which shapes leave them.
    seen: set[tuple[str, str, str]] = set()
    edge_lines: list[str] = []
    box_out: dict[str, list[str]] = {}
    for e in sketch.edges:
        s, d = rep.get(e.src, e.src), rep.get(e.dst, e.dst)
        label = e.label
        if s != e.src and not label:
            label = esc(sketch.items[e.src].out_shape)
        if s == d:
            box = boxes.get(s)
            if box is None or not box.recurrent or _same_copy(sketch, e, box):
                continue
        if s in boxes and d != s:
            box_out.setdefault(s, []).append(sketch.items[e.src].out_shape)
        if s != e.src or d != e.dst:
            # Folded edges repeat (every step reads the shared weight): draw each once.
            k = (s, d, label)
            if k in seen:
                continue
            seen.add(k)
        attrs = dict(e.attrs)
        if label:
            attrs["label"] = f"<{label}>"
        if opts.clusters and s == e.src and d == e.dst:
            src_scope, dst_scope = sketch.items[s].scope, sketch.items[d].scope
            if (
                dst_scope
                and dst_scope[: len(src_scope)] != src_scope
                or (len(dst_scope) < len(src_scope))
            ):
                # An edge into another module skips a rank, so that module's parameters
                # (ranked just before their reader) do not overlap the previous cluster
                # and force the clusters into a staircase.
                attrs.setdefault("minlen", "2")
        edge_lines.append(f"\t{s} -> {d}{dot_attrs(attrs)}\n")

    box_paths = {box.path for box in boxes.values()}
    for it in sketch.items.values():
        if it.key in rep:
            continue
        attrs = dict(it.attrs)
        attrs["label"] = f"<{it.label}>"
        scope = it.scope if depth is None else it.scope[: depth - 1]
        # a node left out of a box (the model's output) is drawn beside the box, not in a
        # second cluster of the same module
        while scope and any(scope[: len(p)] == p for p in box_paths):
            scope = scope[:-1]
        place(scope, f"\t{it.key}{dot_attrs(attrs)}\n")
    for box in boxes.values():
        text = _box_label(
            box, depth or 0, params_in.get(box.path, 0), box_out.get(box.key, []), opts
        )
        attrs = {
            "label": f"<{text}>",
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": opts.color("box"),
        }
        if box.count > 1:
            attrs["peripheries"] = "2"
        place(box.path[:-1], f"\t{box.key}{dot_attrs(attrs)}\n")

    _write_clusters(tree, (), body, params_in, opts)
    body.extend(edge_lines)
    if sketch.legend:
        body.append(f"\tlegend [shape=plaintext margin=0 label=<{sketch.legend}>]\n")

    graph_attr = {
        "rankdir": opts.rankdir,
        "fontname": "Helvetica",
        "nodesep": "0.3",
        "ranksep": "0.35",
        **sketch.graph_attrs,
    }
    if opts.title:
        graph_attr.update(label=f"<<B>{esc(opts.title)}</B>>", labelloc="t", fontsize="16")
    return graphviz.Digraph(
        name=name,
        graph_attr=graph_attr,
        node_attr={"fontname": "Helvetica", "fontsize": "11", "margin": "0.12,0.06"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10", "color": "#555555"},
        body=body,
    )


def _same_copy(sketch: Sketch, e: Edge, box: _Box) -> bool:
    # An edge inside one copy of a folded run (not between copies) is internal detail.
    a, b = sketch.items[e.src].scope, sketch.items[e.dst].scope
    n = len(box.path)
    return a[:n] == b[:n]


def _write_clusters(
    tree: dict[tuple[str, ...], list[str]],
    top: tuple[str, ...],
    body: list[str],
    params_in: dict[tuple[str, ...], int],
    opts: Options,
) -> None:
    """Write nested ``subgraph cluster_*`` blocks; iterative over the scope tree."""
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for scope in list(tree):
        # make sure every ancestor exists, so nesting is complete
        for k in range(len(scope), 0, -1):
            parent, child = scope[: k - 1], scope[:k]
            kids = children.setdefault(parent, [])
            if child not in kids:
                kids.append(child)
            tree.setdefault(child, [])
    body.extend(tree.get(top, []))
    ids: dict[tuple[str, ...], int] = {}
    stack: list[tuple[tuple[str, ...], bool]] = [(c, True) for c in reversed(children.get(top, []))]
    while stack:
        scope, opening = stack.pop()
        if not opening:
            body.append("\t}\n")
            continue
        ids[scope] = len(ids)
        params = params_in.get(scope, 0)
        caption = f"<B>{esc(opts.box_titles.get('.'.join(scope), scope[-1]))}</B>"
        if params:
            caption += font(esc(f"  {params:,} params"), "#2e7d32", 10)
        body.append(f"\tsubgraph cluster_{ids[scope]} {{\n")
        body.append(
            f'\t\tlabel=<{caption}> labeljust="l" style="rounded,filled" '
            f'fillcolor="{opts.color("cluster")}" color="#bbbbbb" fontsize="11"\n'
        )
        body.extend(tree.get(scope, []))
        stack.append((scope, False))
        stack.extend((c, True) for c in reversed(children.get(scope, [])))
