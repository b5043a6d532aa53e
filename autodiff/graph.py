"""A read-only view of a recorded graph, for drawings and other tools.

``trace(*outputs)`` walks from the output tensors back to the leaves and
returns a ``Graph``: its op ``Node``s in data-flow order (every node after
the nodes that produced its inputs) and every tensor it touches. The walk
uses an explicit stack, so a chain of 100,000 ops is as easy as a chain of two.

Tools should use this module instead of reading ``Function`` attributes
directly: it is the small, stable surface (op name, inputs, outputs, shapes,
dtypes, scope, gradient rule) that keeps pictures working when the engine's
internals change. Nothing here writes to a tensor or a node.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .function import Function
from .tensor import Tensor

__all__ = ["Node", "Graph", "ReleasedGraphError", "trace", "walk"]


class ReleasedGraphError(RuntimeError):
    """The graph was freed by ``backward()`` and can no longer be walked."""


class Node:
    """One recorded op: a read-only view of a ``Function`` in the graph.

    Attributes:
        fn: the underlying ``Function`` (for identity; prefer the fields below).
        op: the op name, e.g. ``"mul"``.
        rule: the human-readable gradient rule, e.g. ``"gx0 = gy * x1, gx1 = gy * x0"``.
        inputs: the input tensors.
        outputs: the output tensors (``None`` for an output nobody kept alive).
        shapes, dtypes: shape and dtype of each output (known even for dead outputs).
        scope: the module path the op was created in, e.g. ``("encoder", "fc1")``.
        generation: depth from the leaves (a node comes after all of its producers).

    Example (the apple bill: 2 apples at 100 with 10% tax):
        >>> import autodiff as ad
        >>> apple, n = ad.tensor(100.0, requires_grad=True), ad.tensor(2.0)
        >>> tax = ad.tensor(1.1, requires_grad=True, name="tax")
        >>> bill = apple * n * tax
        >>> node = ad.graph.trace(bill).nodes[-1]  # the last op: (apple * n) * tax
        >>> node, node.op, node.generation, node.dtypes
        (<Node mul ((),)>, 'mul', 1, (dtype('float32'),))
        >>> node.rule
        'gx0 = gy * x1, gx1 = gy * x0'
        >>> float(node.inputs[0].data), node.inputs[1].name, node.outputs[0] is bill
        (200.0, 'tax', True)
    """

    __slots__ = ("fn", "inputs", "outputs")

    def __init__(
        self, fn: Function, inputs: tuple[Tensor, ...], outputs: tuple[Tensor | None, ...]
    ) -> None:
        self.fn = fn
        self.inputs = inputs
        self.outputs = outputs

    @property
    def op(self) -> str:
        return self.fn.name

    @property
    def rule(self) -> str:
        return self.fn.rule

    @property
    def scope(self) -> tuple[str, ...]:
        return self.fn.scope

    @property
    def generation(self) -> int:
        return self.fn.generation

    @property
    def call_site(self) -> tuple[str, int] | None:
        return getattr(self.fn, "call_site", None)

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(shape for shape, _ in self.fn.out_meta)

    @property
    def dtypes(self) -> tuple[np.dtype, ...]:
        return tuple(dtype for _, dtype in self.fn.out_meta)

    def __repr__(self) -> str:
        return f"<Node {self.op} {self.shapes}>"


class Graph:
    """The graph behind some output tensors, in data-flow order.

    Attributes:
        outputs: the tensors the walk started from.
        nodes: op nodes, producers before consumers.
        leaves: tensors with no creator (inputs, parameters, constants), in first-use order.

    Example:
        >>> import autodiff as ad
        >>> a, b = ad.tensor(2.0, requires_grad=True), ad.tensor(3.0)
        >>> g = ad.graph.trace(a * b + a)
        >>> [n.op for n in g.nodes], len(g.leaves), len(g.tensors())
        (['mul', 'add'], 2, 4)
    """

    def __init__(self, outputs: tuple[Tensor, ...], nodes: list[Node], leaves: list[Tensor]):
        self.outputs = outputs
        self.nodes = nodes
        self.leaves = leaves
        self._producer: dict[int, tuple[Node, int]] = {}
        self._consumers: dict[int, list[tuple[Node, int]]] = {}
        for node in nodes:
            for k, y in enumerate(node.outputs):
                if y is not None:
                    self._producer[id(y)] = (node, k)
            for i, x in enumerate(node.inputs):
                self._consumers.setdefault(id(x), []).append((node, i))

    def tensors(self) -> list[Tensor]:
        """Every live tensor of the graph: leaves first, then each node's outputs in order."""
        seen: set[int] = set()
        found: list[Tensor] = []
        for t in self.leaves:
            seen.add(id(t))
            found.append(t)
        for node in self.nodes:
            for y in node.outputs:
                if y is not None and id(y) not in seen:
                    seen.add(id(y))
                    found.append(y)
        for t in self.outputs:
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
        return found

    def producer(self, t: Tensor) -> tuple[Node, int] | None:
        """The node that computed ``t`` and the output index, or None for a leaf."""
        return self._producer.get(id(t))

    def consumers(self, t: Tensor) -> list[tuple[Node, int]]:
        """The nodes that read ``t``, each with the input position it is read at."""
        return self._consumers.get(id(t), [])

    def cuts(self) -> list[tuple[Tensor, Tensor]]:
        """Pairs ``(source, detached)`` where the graph was cut with ``detach()``.

        The rule: a leaf whose ``.data`` is the very ndarray object of a computed
        (non-leaf) tensor in the same graph, and which is not an ancestor of that
        tensor, is a detached copy of it; ``Tensor.detach()`` shares the array
        exactly so. Truncated BPTT makes such pairs when the chunks are drawn
        together; ops that return their input array unchanged are not cuts.

        Example:
            >>> import autodiff as ad
            >>> x = ad.tensor([1.0, 2.0], requires_grad=True)
            >>> w = ad.tensor(3.0, requires_grad=True)
            >>> h = ad.tanh(x)
            >>> y = (h * 2).sum() + (h.detach() * w).sum()
            >>> [(a.creator.name, b.is_leaf) for a, b in ad.graph.trace(y).cuts()]
            [('tanh', True)]
        """
        computed: dict[int, Tensor] = {}
        for node in self.nodes:
            for y in node.outputs:
                if y is not None:
                    computed.setdefault(id(y.data), y)
        pairs = []
        for leaf in self.leaves:
            source = computed.get(id(leaf.data))
            if source is not None and not self._is_ancestor(leaf, source):
                pairs.append((source, leaf))
        return pairs

    def _is_ancestor(self, leaf: Tensor, t: Tensor) -> bool:
        stack, seen = [t], set()
        while stack:
            fn = stack.pop().creator
            if fn is None or id(fn) in seen or fn.inputs is None:
                continue
            seen.add(id(fn))
            for x in fn.inputs:
                if x is leaf:
                    return True
                stack.append(x)
        return False

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"<Graph {len(self.nodes)} ops, {len(self.leaves)} leaves>"


def _released(fn: Function) -> ReleasedGraphError:
    return ReleasedGraphError(
        f"op '{fn.name}' was released by backward(), so the graph cannot be walked any more. "
        "Draw the graph before calling backward(), or call backward(retain_graph=True); "
        "autodiff.viz.backward_graph runs its own backward and leaves the graph intact."
    )


def walk(*outputs: Tensor) -> Iterator[Node]:
    """Yield the op nodes behind ``outputs``, each after all of its producers.

    Depth-first post-order with an explicit stack (no recursion), visiting
    inputs left to right, so identical sub-graphs come out in the same order.

    Raises:
        ReleasedGraphError: a node was freed by an earlier ``backward()``.

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor(1.0, requires_grad=True)
        >>> y = x
        >>> for _ in range(100_000):
        ...     y = y + 1.0
        >>> sum(1 for _ in ad.graph.walk(y))
        100000
    """
    done: set[int] = set()
    stack: list[tuple[Function, int]] = []
    for out in outputs:
        fn = out.creator
        if fn is None or id(fn) in done:
            continue
        stack.append((fn, 0))
        on_stack = {id(fn)}
        while stack:
            fn, i = stack[-1]
            inputs = fn.inputs
            if inputs is None:
                raise _released(fn)
            # Descend into the next input whose creator is still unvisited.
            while i < len(inputs):
                child = inputs[i].creator
                i += 1
                if child is not None and id(child) not in done and id(child) not in on_stack:
                    stack[-1] = (fn, i)
                    stack.append((child, 0))
                    on_stack.add(id(child))
                    break
            else:
                stack.pop()
                on_stack.discard(id(fn))
                done.add(id(fn))
                refs = fn.outputs or ()
                yield Node(fn, inputs, tuple(r() for r in refs))


def trace(*outputs: Tensor) -> Graph:
    """Walk the graph behind ``outputs`` and return it as a ``Graph``.

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor([1.0, 2.0], requires_grad=True, name="x")
        >>> g = ad.graph.trace((x * x).sum())
        >>> [(n.op, n.shapes) for n in g.nodes]
        [('mul', ((2,),)), ('sum', ((),))]
        >>> [t.name for t in g.leaves]
        ['x']
    """
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(f"trace() expects Tensors, got {type(out).__name__}")
    nodes = list(walk(*outputs))
    leaves: list[Tensor] = []
    seen: set[int] = set()

    def add_leaf(t: Any) -> None:
        if t.creator is None and id(t) not in seen:
            seen.add(id(t))
            leaves.append(t)

    for node in nodes:
        for x in node.inputs:
            add_leaf(x)
    for out in outputs:
        add_leaf(out)
    return Graph(tuple(outputs), nodes, leaves)
