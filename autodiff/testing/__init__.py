"""Checking tools for people who write ops (and for this project's own tests).

* ``gradcheck`` / ``gradgradcheck``: automatic vs numerical gradients, float64;
* ``strategies``: hypothesis strategies for shapes, arrays, axes, indices and
  registered ops (needs the ``test`` extra: ``pip install seegrad[test]``);
* ``check_op``: what the registry walk runs on every op.

Example:
    >>> import numpy as np
    >>> import autodiff as ad
    >>> from autodiff.testing import gradcheck
    >>> gradcheck(lambda a, b: a * b + a, [np.ones(3) * 2.0, np.arange(3.0)])
    True
"""

from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .walker import check_invariants, check_op

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "check_op", "check_invariants"]
