"""Hypothesis profiles: ``ci`` (thorough, used when CI=true) and ``dev`` (fast, local).

Select one explicitly with ``HYPOTHESIS_PROFILE=ci`` / ``dev``. No per-example
deadline anywhere: numba compiles on first use and would trip it.
"""

import os

from hypothesis import HealthCheck, settings

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
