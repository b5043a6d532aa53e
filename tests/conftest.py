"""Hypothesis profiles: ``ci`` (thorough, used when CI=true) and ``dev`` (fast, local).

Select one explicitly with ``HYPOTHESIS_PROFILE=ci`` / ``dev``. No per-example
deadline anywhere: numba compiles on first use and would trip it.
"""

import os

# Two xdist workers on two cores: one BLAS thread each. Left at the default, each
# worker's OpenBLAS pool spins on both cores and small matrix products slow ~15x.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_default = "ci" if os.environ.get("CI") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
