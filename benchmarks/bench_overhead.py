"""Per-op overhead: 200 chained elementwise ops (add, mul, tanh) on a shape-(1,) tensor.

The arrays are tiny, so the time is the framework's own bookkeeping: creating
nodes and tensors on the way forward, running each node's backward on the way
back. Reported in microseconds per op (forward + backward). Compared with
PyTorch CPU when installed and with plain numpy (forward only, no graph) as the
floor.

Run: python benchmarks/bench_overhead.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import numpy as np  # noqa: E402
from _common import interleaved, machine_summary, markdown_table  # noqa: E402

import autodiff as ad  # noqa: E402

N_OPS = 200


def chain(y, tanh):
    for i in range(N_OPS):
        k = i % 3
        y = y + 1.0 if k == 0 else (y * 0.5 if k == 1 else tanh(y))
    return y


def seegrad_step() -> float:
    x = ad.tensor(np.ones(1, np.float32), requires_grad=True)
    chain(x, ad.tanh).sum().backward()
    return float(x.grad.data[0])


def numpy_forward() -> float:
    return float(chain(np.ones(1, np.float32), np.tanh)[0])


def torch_step_factory():
    import torch

    def step() -> float:
        x = torch.ones(1, requires_grad=True)
        chain(x, torch.tanh).sum().backward()
        return float(x.grad[0])

    return step


def main() -> dict[str, float]:
    contenders = {"seegrad (fwd+bwd)": seegrad_step, "numpy (fwd only)": numpy_forward}
    try:
        contenders["pytorch (fwd+bwd)"] = torch_step_factory()
        assert abs(contenders["pytorch (fwd+bwd)"]() - seegrad_step()) < 1e-5
    except ImportError:
        pass
    timings = interleaved(contenders)
    per_op = {name: t.median_ms * 1e3 / N_OPS for name, t in timings.items()}
    print(machine_summary())
    rows = [[name, f"{us:.2f}"] for name, us in per_op.items()]
    print(markdown_table([f"{N_OPS} chained ops on shape (1,)", "microseconds per op"], rows))
    print(f"seegrad: {per_op['seegrad (fwd+bwd)']:.2f} us/op (target <= 8)")
    return per_op


if __name__ == "__main__":
    main()
