"""The drawing model every view builds before it becomes Graphviz source.

A view (forward, backward, combined) turns the graph into a ``Sketch``: items
(drawn nodes) in data-flow order, each with a label, style, module scope and
a structural signature, and edges between them. ``layout.emit`` then does the
work every view shares: clusters, collapsing, repeated blocks and DOT output.
Keeping the two apart means the clustering rules are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Item", "Edge", "Sketch"]


@dataclass
class Item:
    """One drawn node.

    ``label`` is an HTML-label body (no surrounding ``<>``). ``sig`` describes the
    item's structure (op name, shapes) so identical modules can be recognised;
    ``params`` is the number of parameter elements it stands for; ``pinned``
    items (graph outputs, legends) are never folded into a module box.

    Example (a module collapsed with ``depth=1`` becomes one box; a pinned item stays):
        >>> from autodiff.viz.layout import emit
        >>> from autodiff.viz.options import Options
        >>> from autodiff.viz.sketch import Item, Sketch
        >>> sketch = Sketch()
        >>> _ = sketch.add(Item("w", "<B>w</B>", {"shape": "box"}, scope=("fc",), params=6))
        >>> _ = sketch.add(Item("y", "<B>y</B>", {"shape": "box"}, scope=("fc",), pinned=True))
        >>> src = emit(sketch, Options(depth=1)).source
        >>> [line.split()[0] for line in src.splitlines()[4:-1]]  # the nodes drawn
        ['y', 'box_0']
    """

    key: str
    label: str
    attrs: dict[str, str]
    scope: tuple[str, ...] = ()
    sig: str = ""
    params: int = 0
    op: str = ""
    out_shape: str = ""
    pinned: bool = False


@dataclass
class Edge:
    """One drawn edge; ``label`` is an HTML-label body or empty.

    ``attrs`` are Graphviz edge attributes (``color``, ``style``, ``penwidth``...).

    Example:
        >>> from autodiff.viz.sketch import Edge, Sketch
        >>> Edge("t0", "f0")
        Edge(src='t0', dst='f0', label='', attrs={})
        >>> edge = Sketch().connect("t0", "f0", "100", color="blue")
        >>> edge.attrs.update(penwidth="2")  # views restyle edges after connecting them
        >>> edge
        Edge(src='t0', dst='f0', label='100', attrs={'color': 'blue', 'penwidth': '2'})
    """

    src: str
    dst: str
    label: str = ""
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Sketch:
    """A drawing before layout: items by key (in data-flow order) and edges between them.

    ``layout.emit`` turns it into a ``graphviz.Digraph``; ``graph_attrs`` go on the
    graph itself and ``legend`` is drawn as a separate node.

    Example (the apple edge of the bill, as DOT source; no Graphviz program needed):
        >>> from autodiff.viz.layout import emit
        >>> from autodiff.viz.options import Options
        >>> from autodiff.viz.sketch import Item, Sketch
        >>> sketch = Sketch()
        >>> _ = sketch.add(Item("a", "<B>apple</B>", {"shape": "box"}))
        >>> _ = sketch.add(Item("m", "×", {"shape": "circle"}))
        >>> _ = sketch.connect("a", "m", "100", color="blue")
        >>> for line in emit(sketch, Options()).source.splitlines():
        ...     if line.lstrip().startswith(("a ", "m ")):
        ...         print(line.strip())
        a [shape="box" label=<<B>apple</B>>]
        m [shape="circle" label=<×>]
        a -> m [color="blue" label=<100>]
    """

    items: dict[str, Item] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    graph_attrs: dict[str, str] = field(default_factory=dict)
    #: HTML table drawn as a separate node (e.g. the gradient-health colour scale)
    legend: str = ""

    def add(self, item: Item) -> Item:
        self.items[item.key] = item
        return item

    def connect(self, src: str, dst: str, label: str = "", **attrs: str) -> Edge:
        edge = Edge(src, dst, label, attrs)
        self.edges.append(edge)
        return edge


def common_scope(scopes: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The longest scope prefix shared by all ``scopes`` (where a shared leaf is drawn).

    Example:
        >>> from autodiff.viz.sketch import common_scope
        >>> common_scope([("rnn", "step0"), ("rnn", "step1")])
        ('rnn',)
    """
    if not scopes:
        return ()
    first = scopes[0]
    n = len(first)
    for s in scopes[1:]:
        n = min(n, len(s))
        for k in range(n):
            if s[k] != first[k]:
                n = k
                break
    return first[:n]
