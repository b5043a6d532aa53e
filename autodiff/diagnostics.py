"""How big is my graph, and is it growing when it should not?

``graph_stats(t)`` walks the graph behind ``t`` (without recursion, so a
100,000-op chain is fine) and reports its node count, its depth (longest path
of ops) and the bytes of the arrays it keeps alive.

**The growth warning.** The classic leak in a define-by-run framework is a
tensor from the previous iteration that stays attached to the next one: a
running ``total_loss += loss``, or an RNN state carried across batches without
``detach()``. Every step then builds on the whole history, and time and memory
grow without bound. The engine watches for it automatically and almost for
free: ``backward()`` already visits every node, so it counts them, and the
``growth`` monitor keeps, per user line that created the backward root (the
``loss = ...`` line, ``Function.call_site``), the largest count seen so far.
When backward roots from the same line set a new maximum on ``window`` (8)
successive calls, it emits one ``GraphGrowthWarning`` (a ``UserWarning``)
attributed to that line, with the fix. A correct loop, whose graph has the
same size every step, never sets a new maximum after the first; varying
batch shapes or sequence lengths do not give 8 new records in a row except by
a long run of ever-longer inputs. ``graph_stats`` feeds its own monitor
(``stats_growth``) the same way, which catches a running total that is only
printed, never backpropagated.

Switch it off with ``autodiff.diagnostics.growth.enabled = False`` (or filter
the warning category). The drawings' own backward passes run inside
``growth.paused()`` and are not counted; a tool of yours that runs extra
backward passes can do the same.

Example:
    >>> import numpy as np
    >>> import autodiff as ad
    >>> w = ad.tensor(np.ones((4, 4)), requires_grad=True)
    >>> loss = (w @ w).tanh().sum()
    >>> s = ad.graph_stats(loss)
    >>> s.nodes, s.depth, s.leaves, s.saved_bytes
    (3, 3, 1, 392)
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .function import Function
from .tensor import Tensor

__all__ = [
    "GraphStats",
    "graph_stats",
    "GraphGrowthWarning",
    "GraphGrowthMonitor",
    "growth",
    "stats_growth",
]


class GraphGrowthWarning(UserWarning):
    """The graph behind tensors created at one line keeps growing across iterations."""


@dataclass
class GraphStats:
    """What ``graph_stats`` found.

    Attributes:
        nodes: number of op nodes (``Function`` objects) reachable from the tensor.
        depth: ops on the longest path from a leaf to the tensor.
        saved_bytes: bytes of the distinct arrays the graph keeps alive: every
            node's input data (leaves included), the tensor's own data and the
            arrays ops stored for their backward. An array is counted once, at
            the size of the buffer it views.
        leaves: number of distinct leaf tensors reached.
        released: nodes already freed by a backward (their inputs are gone).
        by_op: node count per op name.

    Example (the apple bill: 2 apples at 100, 3 oranges at 150, 10% tax):
        >>> import autodiff as ad
        >>> apple, n = ad.tensor(100.0, requires_grad=True), ad.tensor(2.0, requires_grad=True)
        >>> orange, m = ad.tensor(150.0, requires_grad=True), ad.tensor(3.0, requires_grad=True)
        >>> tax = ad.tensor(1.1, requires_grad=True)
        >>> bill = (apple * n + orange * m) * tax
        >>> s = ad.graph_stats(bill)
        >>> s.nodes, s.depth, s.leaves, s.by_op
        (4, 3, 5, {'mul': 3, 'add': 1})
        >>> print(s)
        4 nodes, depth 3, 5 leaves, 3.6e-05 MB held by saved arrays
        >>> bill.backward()  # frees the graph: only the released root is left to see
        >>> ad.graph_stats(bill).released
        1
    """

    nodes: int
    depth: int
    saved_bytes: int
    leaves: int
    released: int = 0
    by_op: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        mb = self.saved_bytes / 1e6
        return (
            f"{self.nodes} nodes, depth {self.depth}, {self.leaves} leaves, "
            f"{mb:.3g} MB held by saved arrays"
            + (f", {self.released} already released" if self.released else "")
        )


def _owner(a: np.ndarray) -> np.ndarray:
    # A view keeps its whole base buffer alive, so that is what it costs.
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [v for v in value if isinstance(v, np.ndarray)]
    return []


def graph_stats(t: Tensor, *, monitor: bool = True) -> GraphStats:
    """Node count, depth and bytes held by the graph behind ``t``.

    Args:
        t: the tensor (usually a loss) whose graph to measure.
        monitor: also feed the ``stats_growth`` monitor, which warns when the
            graph behind tensors created at the same line keeps growing
            across calls (see the module docstring).

    Example (a chain of 100,000 ops needs no recursion):
        >>> import autodiff as ad
        >>> x = ad.tensor(1.0, requires_grad=True)
        >>> y = x
        >>> for _ in range(100_000):
        ...     y = y * 1.0
        >>> ad.graph_stats(y).depth
        100000
    """
    held: dict[int, int] = {}

    def hold(a: np.ndarray) -> None:
        o = _owner(a)
        held[id(o)] = o.nbytes

    hold(t.data)
    root = t.creator
    nodes: dict[int, Function] = {}
    leaves: set[int] = set()
    by_op: dict[str, int] = {}
    released = 0
    if root is None and t.requires_grad:
        leaves.add(id(t))
    stack = [root] if root is not None else []
    if root is not None:
        nodes[id(root)] = root
    while stack:
        fn = stack.pop()
        by_op[fn.name] = by_op.get(fn.name, 0) + 1
        for key, value in vars(fn).items():
            if key not in ("inputs", "outputs"):
                for a in _arrays(value):
                    hold(a)
        inputs = fn.inputs if hasattr(fn, "inputs") else None
        if inputs is None:
            released += 1
            continue
        for x in inputs:
            hold(x.data)
            c = x.creator
            if c is None:
                if x.requires_grad:
                    leaves.add(id(x))
            elif id(c) not in nodes:
                nodes[id(c)] = c
                stack.append(c)
    depth = 0
    if root is not None:
        # Longest path: an input's creator always has a smaller generation than its
        # consumer, so increasing generation is a topological order.
        longest: dict[int, int] = {}
        for fn in sorted(nodes.values(), key=lambda f: getattr(f, "generation", 0)):
            best = 0
            for x in getattr(fn, "inputs", None) or ():
                c = x.creator
                if c is not None:
                    best = max(best, longest.get(id(c), 0))
            longest[id(fn)] = best + 1
        depth = longest[id(root)]
    stats = GraphStats(
        nodes=len(nodes),
        depth=depth,
        saved_bytes=sum(held.values()),
        leaves=len(leaves),
        released=released,
        by_op=by_op,
    )
    if monitor:
        stats_growth.observe(t, stats.nodes, what="graph_stats()")
    return stats


class GraphGrowthMonitor:
    """Warns when graphs rooted at the same user line set a new size record too often.

    ``observe(root, size)`` is called with the root tensor of a graph and its
    node count. The key is the user's line that created ``root``
    (``root.creator.call_site``). After ``window`` successive new maxima from
    one line, one ``GraphGrowthWarning`` is issued for it, attributed to that line.

    Attributes:
        enabled: set False to switch the check off.
        window: successive new maxima that trigger the warning.

    Example:
        >>> import warnings
        >>> import autodiff as ad
        >>> from autodiff.diagnostics import GraphGrowthMonitor, GraphGrowthWarning
        >>> mon = GraphGrowthMonitor(window=3)
        >>> x = ad.tensor(1.0, requires_grad=True)
        >>> y = x * 2
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     for size in (5, 6, 7, 8):
        ...         mon.observe(y, size)
        >>> [w.category is GraphGrowthWarning for w in caught]
        [True]
    """

    def __init__(self, window: int = 8, max_sites: int = 1024) -> None:
        self.enabled = True
        self.window = window
        self.max_sites = max_sites
        self._paused = threading.local()
        # site -> [largest size seen, successive new maxima, size before the run began]
        self._seen: dict[tuple[str, int], list[int]] = {}
        self._warned: set[tuple[str, int]] = set()

    def reset(self) -> None:
        """Forget every call site (and which ones were already warned about)."""
        self._seen.clear()
        self._warned.clear()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Backward passes this thread runs inside the block are not observed.

        For tools that run a backward of their own (the drawings): a teacher who draws
        the graph after each step of an unrolled RNN makes no training step, and a
        warning about it would use up the one warning a line gets. Other threads keep
        being watched.

        Example:
            >>> import autodiff as ad
            >>> from autodiff.diagnostics import growth
            >>> x = ad.tensor([1.0], requires_grad=True)
            >>> with growth.paused():
            ...     (x * 2).sum().backward()
        """
        self._paused.depth = getattr(self._paused, "depth", 0) + 1
        try:
            yield
        finally:
            self._paused.depth -= 1

    def observe(self, root: Tensor, size: int, what: str = "backward()") -> None:
        """Record that the graph behind ``root`` had ``size`` nodes."""
        if getattr(self._paused, "depth", 0):
            return
        fn = root.creator
        site = getattr(fn, "call_site", None) if fn is not None else None
        if site is None:
            return
        rec = self._seen.get(site)
        if rec is None:
            if len(self._seen) >= self.max_sites:
                self._seen.clear()  # bounded memory for notebooks that make many lines
            self._seen[site] = [size, 0, size]
            return
        if size <= rec[0]:
            rec[1] = 0
            return
        if rec[1] == 0:
            rec[2] = rec[0]
        rec[0] = size
        rec[1] += 1
        if rec[1] >= self.window and site not in self._warned:
            self._warned.add(site)
            self._warn(site, rec[2], size, rec[1], what)

    @staticmethod
    def _warn(site: tuple[str, int], start: int, size: int, times: int, what: str) -> None:
        message = (
            f"the graph behind the tensor created at {site[0]}:{site[1]} has grown on each of "
            f"the last {times} {what} calls ({start} -> {size} nodes): something from an "
            "earlier iteration is still attached to it, so every step costs more time and "
            "memory. Usual causes and fixes: a running total such as `total_loss += loss` "
            "(write `total_loss += loss.item()`, or add `loss.detach()`); a recurrent state "
            "carried across batches (start each batch with `h = h.detach()`). If the graph "
            "really should grow (longer inputs every step), switch this check off with "
            "`autodiff.diagnostics.growth.enabled = False`."
        )
        warnings.warn_explicit(message, GraphGrowthWarning, site[0], site[1])


#: the monitor ``backward()`` feeds (node counts of each backward pass)
growth = GraphGrowthMonitor()
#: the monitor ``graph_stats`` feeds
stats_growth = GraphGrowthMonitor()
