"""How long drawing takes: DOT source for graphs of 10,000+ nodes, and the 100k-op walk.

    python benchmarks/bench_viz.py

Times (best of 5) building the ``graphviz.Digraph`` and its DOT text, which is
what the library does; Graphviz's own layout (``dot``) is not included: it is
a separate program and takes far longer than building the source on graphs
this size. The target is well under a second for 10,000 nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import viz


def best_of(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, float, Any]:
    """Best wall time and best CPU time (the latter is steadier on a shared machine)."""
    wall = cpu = float("inf")
    result = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - w)
        cpu = min(cpu, time.process_time() - c)
    return wall, cpu, result


def blocks(n_ops: int, width: int = 8, modules: int = 50) -> ad.Tensor:
    """A chain of small blocks (mul, add, tanh) spread over ``modules`` name scopes."""
    x = ad.Tensor(np.ones(width, np.float32), requires_grad=True, name="x")
    w = ad.Tensor(np.full(width, 1.01, np.float32), requires_grad=True, name="w")
    y = x
    per_module = max(1, n_ops // 3 // modules)
    for i in range(n_ops // 3):
        with ad.name_scope(f"block{i // per_module}"):
            y = ad.tanh(y * w + 0.1)
    return ad.sum(y)


def table(loss: ad.Tensor) -> None:
    graph = ad.graph.trace(loss)
    ops, tensors = len(graph.nodes), len(graph.tensors())
    print(f"\ngraph: {ops:,} ops + {tensors:,} tensors = {ops + tensors:,} drawn nodes")
    rows = [
        ("trace (walk + index)", lambda: ad.graph.trace(loss)),
        ("forward_graph, no clusters", lambda: viz.forward_graph(loss, clusters=False).source),
        ("forward_graph, clusters", lambda: viz.forward_graph(loss).source),
        ("forward_graph, depth=1", lambda: viz.forward_graph(loss, depth=1).source),
        ("  + repeats", lambda: viz.forward_graph(loss, depth=1, repeats=True).source),
        (
            "forward_graph, health (runs backward)",
            lambda: viz.forward_graph(loss, health=True).source,
        ),
        ("backward_graph (runs backward)", lambda: viz.backward_graph(loss).source),
    ]
    print(f"{'':<40} {'wall':>9} {'cpu':>9}")
    for name, fn in rows:
        wall, cpu, source = best_of(fn)
        size = f"{len(source) / 1e6:.1f} MB of DOT" if isinstance(source, str) else ""
        print(f"{name:<40} {wall * 1e3:6.0f} ms {cpu * 1e3:6.0f} ms  {size}")


def main() -> None:
    table(blocks(5_000))  # 10,000 drawn nodes: the target is well under a second
    table(blocks(10_000))  # 10,000 ops (20,000 drawn nodes)
    y = ad.tensor(1.0, requires_grad=True)
    for _ in range(100_000):
        y = y * 1.0
    wall, cpu, g = best_of(lambda: ad.graph.trace(y), repeat=3)
    print(f"\n{'trace a 100,000-op chain':<40} {wall * 1e3:6.0f} ms {cpu * 1e3:6.0f} ms")


if __name__ == "__main__":
    main()
