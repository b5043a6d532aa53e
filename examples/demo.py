"""The demo `make demo` runs: every example that exists so far, in teaching order."""

from __future__ import annotations

import runpy
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
STEPS = [
    "apple_orange.py",
    "perceptron_gates.py",
    "derivatives.py",
]


def main() -> int:
    for name in STEPS:
        path = HERE / name
        print(f"\n=== {name} " + "=" * max(0, 60 - len(name)))
        start = time.perf_counter()
        runpy.run_path(str(path), run_name="__main__")
        print(f"--- {name} finished in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
