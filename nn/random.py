"""The one random generator behind ``nn.init``, ``nn.Dropout`` and the data utilities.

Seeding it with ``nn.manual_seed(s)`` makes weight initialisation, dropout masks,
and unseeded splits and shuffles (``train_test_split``, ``random_split``,
``DataLoader(shuffle=True)``) reproducible. Every function that draws random numbers also takes an
explicit ``rng`` (a ``numpy.random.Generator``) for when one shared stream is
not what you want.
"""

from __future__ import annotations

import numpy as np

__all__ = ["manual_seed", "get_rng"]

_generator: np.random.Generator = np.random.default_rng()


def manual_seed(seed: int | None) -> np.random.Generator:
    """Re-seed the shared generator (``None``: fresh OS entropy) and return it.

    Example:
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> a = nn.Linear(3, 2).weight.data.copy()
        >>> _ = nn.manual_seed(0)
        >>> bool((nn.Linear(3, 2).weight.data == a).all())
        True
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def get_rng(rng: np.random.Generator | None = None) -> np.random.Generator:
    """``rng`` if given, else the shared generator seeded by ``manual_seed``.

    Example:
        >>> import numpy as np
        >>> from nn.random import get_rng
        >>> own = np.random.default_rng(1)
        >>> get_rng(own) is own
        True
    """
    return _generator if rng is None else rng
