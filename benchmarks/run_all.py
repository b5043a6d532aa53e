"""Run every benchmark, each in its own process, and collect the output in one report.

One process per workload keeps thread pools and allocator state from one workload
out of the next. The report (everything each benchmark printed, with its tables
and target ratios) goes to ``benchmarks/results/latest.md``.

Run: python benchmarks/run_all.py [--profile] [name ...]
     (names: mlp conv rnn overhead startup viz memory)

``--profile`` runs each workload under cProfile (every contender included), saves
``results/<name>.prof`` for ``python -m pstats`` or snakeviz, and adds the 15
functions with the most time of their own to the report. Timings made under the
profiler are slower; use them to see where time goes, not as results.
"""

from __future__ import annotations

import io
import pstats
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


def top_functions(prof: Path, count: int = 15) -> str:
    """The ``count`` functions with the most time of their own in a cProfile dump."""
    out = io.StringIO()
    stats = pstats.Stats(str(prof), stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(count)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:]).rstrip()


def main(args: list[str]) -> int:
    profile = "--profile" in args
    names = [a for a in args if a != "--profile"]
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
        prof = HERE / "results" / f"{name}.prof"
        command = [sys.executable, str(script)]
        if profile:
            prof.parent.mkdir(exist_ok=True)
            command[1:1] = ["-m", "cProfile", "-o", str(prof)]
        res = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        print(res.stdout, end="")
        section = f"## {name} ({elapsed:.0f} s)\n\n{res.stdout.strip()}\n"
        if res.returncode != 0:
            failed.append(name)
            print(res.stderr[-3000:], file=sys.stderr)
        elif profile:
            top = top_functions(prof)
            print(top)
            section += f"\nProfile (cProfile, own time; {prof.name}):\n\n```\n{top}\n```\n"
        sections.append(section)
    out = HERE / "results" / ("profile.md" if profile else "latest.md")
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(sections))
    print(f"report written to {out}")
    if failed:
        print(f"failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
