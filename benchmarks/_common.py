"""Shared timing helpers for the benchmarks: interleaved blocks, medians, Markdown tables.

The sandbox VMs these benchmarks run on are small (2 cores) and noisy, so contenders are
timed in *interleaved* blocks (A B A B ... with a short pause between blocks): a burst
of load from elsewhere then hits every contender instead of one. Each block runs one
discarded step (caches, allocator, thread pools), then timed steps for ~0.1 s; the
reported time is the median over all timed steps of all blocks.

Process tuning (``tune_process``) is applied before anything is imported that starts
thread pools; see benchmarks/README.md for what it changes and why.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Timing",
    "interleaved",
    "markdown_table",
    "machine_summary",
    "no_tuning",
    "tune_process",
]


def tune_process() -> list[str]:
    """The process settings ``autodiff`` applies on import (``autodiff.kernels.runtime``).

    Applied here before anything starts thread pools, so that the PyTorch and numpy
    contenders run under the same settings as seegrad.
    """
    from autodiff.kernels import runtime

    return list(runtime.tune())


def no_tuning() -> list[str]:
    """Keep ``import autodiff`` from tuning the process (for ``--no-tune`` runs)."""
    os.environ["SEEGRAD_TUNE"] = "0"
    return ["none (--no-tune)"]


@dataclass
class Timing:
    """Per-step times (seconds) of one contender, gathered over all blocks."""

    name: str
    times: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return float(np.median(self.times)) * 1e3

    @property
    def spread(self) -> str:
        q1, q3 = np.percentile(self.times, [25, 75]) * 1e3
        return f"{q1:.1f}-{q3:.1f}"


def interleaved(
    contenders: dict[str, Callable[[], Any]],
    blocks: int = 7,
    block_seconds: float = 0.1,
    pause: float = 0.05,
) -> dict[str, Timing]:
    """Time each callable in interleaved blocks; returns a ``Timing`` per name.

    Example:
        >>> t = interleaved({"a": lambda: sum(range(100))}, blocks=2, block_seconds=0.01)
        >>> t["a"].median_ms < 10
        True
    """
    out = {name: Timing(name) for name in contenders}
    for _ in range(blocks):
        for name, fn in contenders.items():
            fn()  # discarded: warms caches, the allocator and thread pools
            start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                fn()
                t1 = time.perf_counter()
                out[name].times.append(t1 - t0)
                if t1 - start >= block_seconds:
                    break
            time.sleep(pause)
    return out


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub Markdown table (cells formatted with ``str``).

    Example:
        >>> print(markdown_table(["a", "b"], [[1, 2]]))
        | a | b |
        | --- | --- |
        | 1 | 2 |
    """
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_summary() -> str:
    """One line naming the CPU count, Python, numpy, numba and (when present) torch."""
    import numba

    parts = [
        f"{os.cpu_count()} CPUs",
        f"load {os.getloadavg()[0]:.1f}",
        f"Python {platform.python_version()}",
        f"numpy {np.__version__}",
        f"numba {numba.__version__} ({numba.config.THREADING_LAYER}, "
        f"{numba.get_num_threads()} threads)",
    ]
    try:
        import torch

        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    except ImportError:
        parts.append("torch not installed")
    return ", ".join(parts)
