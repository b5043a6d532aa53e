"""Long-run memory: resident set size during 20,000 training steps of an MLP, a CNN and an LSTM.

A leak of even one small array per step shows up here as steady growth; a
correct framework plateaus once the allocator has warmed up. RSS is read from
/proc/self/statm at step 1,000 and at the last step (sizes are small so the
run takes about a minute).

Run: python benchmarks/bench_memory.py [steps]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def classifier_step(model: nn.Module, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    opt = nn.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> float:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def mlp_step() -> Callable[[], float]:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 32)).astype(np.float32), rng.integers(0, 10, 16)
    return classifier_step(nn.models.MLP([32, 64, 64, 10]), x, y)


def cnn_step() -> Callable[[], float]:
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10)
    )
    x, y = rng.normal(size=(8, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, 8)
    return classifier_step(model, x, y)


def lstm_step() -> Callable[[], float]:
    rng = np.random.default_rng(0)
    lstm, head = nn.LSTM(4, 16), nn.Linear(16, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = nn.optim.SGD(params, lr=0.01)
    x = rng.normal(size=(10, 4, 4)).astype(np.float32)
    y = rng.normal(size=(10, 4, 1)).astype(np.float32)
    state = None

    def step() -> float:
        nonlocal state
        opt.zero_grad()
        out, state = lstm(x, state)
        loss = nn.functional.mse_loss(head(out), y)
        loss.backward()
        nn.optim.clip_grad_norm_(params, 1.0)
        opt.step()
        state = nn.detach_state(state)  # truncated BPTT: the state carries over, its graph not
        return loss.item()

    return step


def measure(make: Callable[[], Callable[[], float]], steps: int) -> tuple[float, float, float]:
    step = make()
    at_1000 = None
    start = time.perf_counter()
    for i in range(1, steps + 1):
        step()
        if i == min(1000, steps):
            at_1000 = rss_mb()
    return at_1000, rss_mb(), time.perf_counter() - start


def main(steps: int = 20_000) -> dict[str, tuple[float, float]]:
    rows, result = [], {}
    for name, make in [("MLP", mlp_step), ("CNN", cnn_step), ("LSTM (truncated BPTT)", lstm_step)]:
        early, late, seconds = measure(make, steps)
        result[name] = (early, late)
        rows.append([name, f"{early:.1f}", f"{late:.1f}", f"{late - early:+.1f}", f"{seconds:.0f}"])
    print(
        markdown_table(
            ["model", "RSS MB at step 1,000", f"RSS MB at step {steps:,}", "growth MB", "s"], rows
        )
    )
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
