"""``Dropout`` and ``Dropout2d``: inverted dropout, seeded through ``nn.manual_seed`` or their
own generator."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import Tensor

from .. import functional as F
from ..module import Module
from ._util import as_input, check_images

__all__ = ["Dropout", "Dropout2d"]


def _check_rng(layer: str, rng: Any) -> np.random.Generator | None:
    """``rng`` if it is None or a numpy Generator; a TypeError otherwise.

    PyTorch's dropout layers take ``inplace`` there; ``rng=True`` would fail only at the
    first forward pass in training mode.
    """
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{layer}: rng must be a numpy.random.Generator or None, got {rng!r} "
            "(there is no inplace option: dropout always makes a new tensor)"
        )
    return rng


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

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p
        self.rng = _check_rng("Dropout", rng)

    def forward(self, x: Any) -> Tensor:
        """Apply a fresh mask in training mode; return ``x`` unchanged in eval mode."""
        return F.dropout(as_input(x), self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Module):
    """Zero whole channels (feature maps) of (N, C, H, W) input with probability ``p``.

    Pixels of one feature map are strongly correlated, so ``Dropout`` on single
    pixels barely regularises a convolution: the neighbours carry the same
    information. Dropping the whole map does (Tompson et al. 2015). Survivors are
    scaled by 1/(1-p) while training; in eval mode the layer is the identity.

    Args:
        p: probability of dropping each channel of each sample.
        rng: a ``numpy.random.Generator`` for this layer's masks (default: the
            shared generator seeded by ``nn.manual_seed``).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> drop = nn.Dropout2d(0.5, rng=np.random.default_rng(1))
        >>> y = drop(np.ones((2, 3, 4, 4), np.float32)).numpy()
        >>> y[:, :, 0, 0].tolist() == y[:, :, 3, 3].tolist()  # one value per channel
        True
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
        >>> bool((drop.eval()(np.ones((2, 3, 4, 4))).numpy() == 1).all())
        True
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d probability must be in [0, 1], got {p}")
        self.p = p
        self.rng = _check_rng("Dropout2d", rng)

    def forward(self, x: Any) -> Tensor:
        """Drop channels in training mode; return ``x`` unchanged in eval mode."""
        x = as_input(x)
        check_images(self, x)
        return F.dropout2d(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"
