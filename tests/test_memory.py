"""Long training loops keep their resident memory flat (the full 20,000-step figures come
from benchmarks/bench_memory.py; this runs the same loops for fewer steps)."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_memory.py"


def test_rss_is_flat_over_training_loops():
    spec = importlib.util.spec_from_file_location("bench_memory", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for name, (early, late) in bench.main(steps=2500).items():
        assert late - early < 2.0, f"{name}: RSS grew from {early:.1f} to {late:.1f} MB"
