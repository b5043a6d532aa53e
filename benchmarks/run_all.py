"""Run every benchmark, each in its own process, and collect the output in one report.

One process per workload keeps thread pools and allocator state from one workload
out of the next. The report (everything each benchmark printed, with its tables
and target ratios) goes to ``benchmarks/results/latest.md``.

Run: python benchmarks/run_all.py [name ...]      (names: mlp conv rnn overhead startup viz memory)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
WORKLOADS = {
    "mlp": "bench_mlp.py",
    "conv": "bench_conv.py",  # conv layer, CNN step, GEMM rate, kernel compile times
    "rnn": "bench_rnn.py",  # Elman RNN and LSTM steps
    "overhead": "bench_overhead.py",
    "startup": "bench_startup.py",
    "viz": "bench_viz.py",
    "memory": "bench_memory.py",  # RSS over 20,000 training steps (MLP, CNN, LSTM)
}


def main(names: list[str]) -> int:
    chosen = names or list(WORKLOADS)
    unknown = [n for n in chosen if n not in WORKLOADS]
    if unknown:
        print(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
        return 2
    sections = [f"# Benchmark run {time.strftime('%Y-%m-%d %H:%M')}\n"]
    failed = []
    for name in chosen:
        script = HERE / WORKLOADS[name]
        print(f"=== {name}: {script.name}", flush=True)
        start = time.perf_counter()
        res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        print(res.stdout, end="")
        if res.returncode != 0:
            failed.append(name)
            print(res.stderr[-3000:], file=sys.stderr)
        sections.append(f"## {name} ({elapsed:.0f} s)\n\n{res.stdout.strip()}\n")
    out = HERE / "results" / "latest.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(sections))
    print(f"report written to {out}")
    if failed:
        print(f"failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
