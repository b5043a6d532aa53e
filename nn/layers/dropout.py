"""``Dropout``: inverted dropout, seeded through ``nn.manual_seed`` or its own generator."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import Tensor

from .. import functional as F
from ..module import Module
from ._util import as_input

__all__ = ["Dropout"]


class Dropout(Module):
    """Randomly zero units with probability ``p`` while training (Srivastava, Hinton et al.).

    Inverted dropout: survivors are scaled by 1/(1-p) during training, so in
    eval mode the layer is the identity and nothing needs rescaling at test
    time. The lecture notes suggest p around 0.2 for inputs and 0.5 for hidden
    layers.

    Args:
        p: probability of dropping each element.
        rng: a ``numpy.random.Generator`` for this layer's masks; by default
            the shared generator (``nn.manual_seed(s)`` makes masks reproducible).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> drop = nn.Dropout(0.5, rng=np.random.default_rng(0))
        >>> sorted(set(drop(np.ones((4, 4))).data.ravel().tolist()))
        [0.0, 2.0]
        >>> drop.eval()(np.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p
        self.rng = rng

    def forward(self, x: Any) -> Tensor:
        """Apply a fresh mask in training mode; return ``x`` unchanged in eval mode."""
        return F.dropout(as_input(x), self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
