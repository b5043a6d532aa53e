"""Run a backward pass for a drawing, recording every step, without touching ``.grad``.

Drawings of gradients need more than ``.grad`` (which only leaves keep): the
gradient of every intermediate tensor and the order the engine ran the steps
in. ``record`` gets both from ``autodiff.grad(..., retain_graph=True)`` inside
``record_backward()``, so the user's graph and ``.grad`` stay as they were, and
inside ``growth.paused()``, so the graph-growth monitor does not count it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..diagnostics import growth
from ..engine import BackwardStep, grad, record_backward
from ..graph import trace
from ..tensor import Tensor

__all__ = ["Recording", "record", "from_steps"]


@dataclass
class Recording:
    """A recorded backward pass.

    Attributes:
        outputs: the tensors backward started from.
        steps: one ``BackwardStep`` per node, in the order the engine ran them.
        grads: ``id(tensor)`` -> total gradient (ndarray) of every tensor reached.
        seeds: ``id(output)`` -> the gradient backward was started with at that output.
            It differs from ``grads`` when one output also feeds another: drawn as the
            total, the seed of ``m`` in ``backward_graph(m * 5, m)`` would read 6, not 1.

    Example (the apple bill: 2 apples at 100 with 10% tax):
        >>> import autodiff as ad
        >>> apple, n = ad.tensor(100.0, requires_grad=True), ad.tensor(2.0, requires_grad=True)
        >>> rec = ad.viz.record(apple * n * ad.tensor(1.1, requires_grad=True))
        >>> [s.fn.name for s in rec.steps], round(float(rec.grad_of(apple)), 2), apple.grad
        (['mul', 'mul'], 2.2, None)
        >>> subtotal = rec.steps[1].outputs[0]  # apple * n, an intermediate tensor
        >>> float(subtotal.data), round(float(rec.grad_of(subtotal)), 2)
        (200.0, 1.1)
        >>> rec.step_index()[id(subtotal.creator)]
        1
        >>> rec = ad.viz.record(subtotal * 5, subtotal)  # one output feeds the other
        >>> float(rec.seed_of(subtotal)), float(rec.grad_of(subtotal))
        (1.0, 6.0)
    """

    outputs: tuple[Tensor, ...]
    steps: list[BackwardStep]
    grads: dict[int, np.ndarray]
    seeds: dict[int, np.ndarray] = field(default_factory=dict)

    def grad_of(self, t: Tensor) -> np.ndarray | None:
        return self.grads.get(id(t))

    def seed_of(self, t: Tensor) -> np.ndarray | None:
        """The gradient backward started with at output ``t`` (None if not an output)."""
        return self.seeds.get(id(t))

    def step_index(self) -> dict[int, int]:
        """``id(fn)`` -> position of its step in run order."""
        return {id(s.fn): i for i, s in enumerate(self.steps)}


def _collect(outputs: tuple[Tensor, ...], seeds: Sequence[np.ndarray | None], steps):
    grads: dict[int, np.ndarray] = {}
    for out, seed in zip(outputs, seeds):
        if seed is not None:
            grads[id(out)] = seed
    for step in steps:
        for y, gy in zip(step.outputs, step.grad_outputs):
            if y is not None and gy is not None:
                grads[id(y)] = gy.data
    # Leaves get contributions from several steps; sum them as the engine does.
    for step in steps:
        for x, gx in zip(step.inputs, step.grad_inputs):
            if gx is not None and x.creator is None:
                prev = grads.get(id(x))
                grads[id(x)] = gx.data if prev is None else prev + gx.data
    return grads


def record(*outputs: Tensor) -> Recording:
    """Run a recorded backward from ``outputs`` (seeded with ones); the graph stays intact.

    ``Recording.seed_of(out)`` is that seed; ``grad_of(out)`` adds what the other
    outputs sent ``out`` when one feeds another.

    Example:
        >>> import autodiff as ad
        >>> a, b = ad.tensor(2.0, requires_grad=True), ad.tensor(5.0, requires_grad=True)
        >>> y = a * b
        >>> rec = ad.viz.record(y)
        >>> [s.fn.name for s in rec.steps], float(rec.grad_of(a)), a.grad is None
        (['mul'], 5.0, True)
    """
    graph = trace(*outputs)  # raises a clear error on a released graph
    wrt = [t for t in graph.leaves if t.requires_grad]
    if not wrt:
        raise ValueError("nothing to differentiate: no leaf of this graph requires grad")
    roots = tuple(t for t in outputs if t.requires_grad)
    seeds = [np.ones_like(t.data) if t.requires_grad else None for t in outputs]
    # a drawing is not a training step: the growth monitor does not count it
    with record_backward() as steps, growth.paused():
        grad(
            roots,
            wrt,
            grad_outputs=tuple(Tensor(s, _copy=False) for s in seeds if s is not None),
            retain_graph=True,
            allow_unused=True,
        )
    outputs = tuple(outputs)
    grads = _collect(outputs, seeds, steps)
    known = {id(t): s for t, s in zip(outputs, seeds) if s is not None}
    return Recording(outputs, list(steps), grads, known)


def from_steps(outputs: Sequence[Tensor], steps: Sequence[BackwardStep]) -> Recording:
    """A ``Recording`` from steps the user collected with ``record_backward()`` themselves.

    This works after a plain ``backward()`` freed the graph, because each step
    keeps its own inputs and gradients.

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor(3.0, requires_grad=True)
        >>> y = x * x
        >>> with ad.record_backward() as steps:
        ...     y.backward()
        >>> float(ad.viz.recording.from_steps([y], steps).grad_of(x))
        6.0
    """
    outputs = tuple(outputs)
    seeds: list[np.ndarray | None] = []
    for out in outputs:
        seed = None
        for step in steps:
            for y, gy in zip(step.outputs, step.grad_outputs):
                if y is out and gy is not None:
                    seed = gy.data
        if seed is not None:
            # What reached ``out`` is its seed plus what the other drawn outputs sent it;
            # steps above every drawn output (not drawn) are part of the seed.
            below = _steps_below([o for o in outputs if o is not out], steps)
            for step in steps:
                if id(step.fn) not in below:
                    continue
                for x, gx in zip(step.inputs, step.grad_inputs):
                    if x is out and gx is not None:
                        seed = seed - gx.data
        seeds.append(seed)
    grads = _collect(outputs, seeds, steps)
    known = {id(t): s for t, s in zip(outputs, seeds) if s is not None}
    return Recording(outputs, list(steps), grads, known)


def _steps_below(outputs: Sequence[Tensor], steps: Sequence[BackwardStep]) -> set[int]:
    """ids of the nodes of ``steps`` that ``outputs`` were computed through."""
    by_fn = {id(step.fn): step for step in steps}
    todo = [o.creator for o in outputs if o.creator is not None]
    seen: set[int] = set()
    while todo:
        fn = todo.pop()
        if id(fn) in seen or id(fn) not in by_fn:
            continue
        seen.add(id(fn))
        todo.extend(x.creator for x in by_fn[id(fn)].inputs if x.creator is not None)
    return seen
