"""Start-up cost: ``import autodiff, nn``, and each numba kernel's first call, cold and warm.

Each measurement runs in a fresh subprocess. "cold" uses an empty numba cache
directory (every kernel compiles); "warm" reuses it (cache hit: load only) and is
the median of WARM_RUNS processes, each figure on its own (a single start on the
shared VM moved between 0.8 and 1.1 s).
The subprocesses may write Python bytecode (``__pycache__``) as Python normally does,
even when this process runs with ``PYTHONDONTWRITEBYTECODE`` set: without it every
start recompiles the project's ~90 modules from source (about 0.1-0.2 s here),
which is not what a user's warm start pays.

Run: python benchmarks/bench_startup.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import markdown_table  # noqa: E402

_IMPORT_PROBE = """
import json, time
t0 = time.perf_counter()
import autodiff, nn
print(json.dumps({"import": time.perf_counter() - t0}))
"""

_KERNEL_PROBE = """
import json, time
t0 = time.perf_counter()
import autodiff, nn
from autodiff.kernels import KERNELS
import numpy as np
out = {"import": time.perf_counter() - t0}
for name, (fn, make_args) in KERNELS.items():
    args = make_args(np.float32)
    t = time.perf_counter()
    fn(*args)
    out[name] = time.perf_counter() - t
out["total"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def probe_env(**extra: str) -> dict[str, str]:
    """This process's environment, with Python's bytecode cache allowed, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def _probe(code: str, env: dict[str, str]) -> dict[str, float]:
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


WARM_RUNS = 5


def kernel_times() -> tuple[dict[str, float], dict[str, float]]:
    """Seconds to import and to first-call each kernel: cold (empty cache), then warm
    (the median of WARM_RUNS processes, per figure)."""
    with tempfile.TemporaryDirectory() as cache:
        env = probe_env(NUMBA_CACHE_DIR=cache)
        cold = _probe(_KERNEL_PROBE, env)
        runs = [_probe(_KERNEL_PROBE, env) for _ in range(WARM_RUNS)]
    warm = {name: statistics.median(run[name] for run in runs) for name in cold}
    return cold, warm


def _scipy_import_time() -> float | None:
    """Seconds to import scipy.linalg in a fresh process, None if scipy is absent."""
    probe = "import json, time\nt = time.perf_counter()\ntry:\n    import scipy.linalg\n"
    probe += (
        "except ImportError:\n    t = None\nprint(json.dumps({'s': t and time.perf_counter() - t}))"
    )
    return _probe(probe, probe_env())["s"]


def main() -> dict[str, float]:
    _probe(_IMPORT_PROBE, probe_env())  # writes the bytecode cache if it is missing
    imports = sorted(_probe(_IMPORT_PROBE, probe_env())["import"] for _ in range(5))
    cold, warm = kernel_times()
    rows = [
        [name, f"{cold[name] * 1e3:.0f}", f"{warm[name] * 1e3:.0f}"]
        for name in cold
        if name not in ("import", "total")
    ]
    rows.append(
        ["import autodiff, nn", f"{cold['import'] * 1e3:.0f}", f"{warm['import'] * 1e3:.0f}"]
    )
    rows.append(
        [
            "total (import + every kernel)",
            f"{cold['total'] * 1e3:.0f}",
            f"{warm['total'] * 1e3:.0f}",
        ]
    )
    print(f"import autodiff, nn (median of 5 processes): {imports[2] * 1e3:.0f} ms")
    header = ["first call", "cold ms (empty cache)", f"warm ms (cache hit, median of {WARM_RUNS})"]
    print(markdown_table(header, rows))
    print(f"import + warm kernels: {warm['total']:.2f} s (target <= 1 s)")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print(
            "note: PYTHONDONTWRITEBYTECODE is set here; the probes ran without it so that "
            "Python's bytecode cache is used, as on a normal warm start."
        )
    scipy_s = _scipy_import_time()
    if scipy_s is not None:
        print(
            f"note: scipy is installed in this environment. numba imports scipy.linalg (for "
            f"its BLAS bindings) when it loads the first kernel, {scipy_s * 1e3:.0f} ms of the "
            "warm total; seegrad does not need scipy and the project's venv has none."
        )
    return {"import_s": imports[2], "cold_total_s": cold["total"], "warm_total_s": warm["total"]}


if __name__ == "__main__":
    main()
