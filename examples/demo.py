"""The demo `make demo` runs: the examples in teaching order.

About 20 s on 2 cores once numba's kernel cache is warm; the first run also compiles the
kernels (about a minute).

The longer examples (optimizer and initialisation comparisons, the character
language model, seq2seq addition, vanishing gradients, MNIST) run on their own.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
STEPS = [
    "apple_orange.py",  # the computational-graph lesson
    "perceptron_gates.py",
    "derivatives.py",
    "three_layer_forward.py",
    "visualize_graphs.py",  # pictures into out/graphs/
    "mlp_digits.py",  # Keras-style training to >= 97%
    "cnn_digits.py",  # a CNN to >= 98%
    "rnn_sine.py",  # truncated BPTT
]


def main() -> int:
    for name in STEPS:
        path = HERE / name
        print(f"\n=== {name} " + "=" * max(0, 60 - len(name)))
        start = time.perf_counter()
        # One process per example: each sets its own thread counts before numpy loads.
        done = subprocess.run([sys.executable, str(path)])
        if done.returncode != 0:
            print(f"!!! {name} failed with exit code {done.returncode}")
            return done.returncode
        print(f"--- {name} finished in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
