"""``Embedding``: a lookup table of learnable vectors indexed by integers."""

from __future__ import annotations

from typing import Any

import numpy as np

from autodiff import Tensor

from .. import functional as F
from .. import init
from ..module import Module, Parameter
from ._util import check_sizes

__all__ = ["Embedding"]


class Embedding(Module):
    """Map integer ids (any shape) to rows of a learned (num_embeddings, embedding_dim) table.

    The lookup is ``weight[ids]``; its backward scatter-adds, so an id that
    appears several times in a batch receives the sum of its gradients.
    Initialised from N(0, 1). ``dtype`` is keyword-only: PyTorch's third positional
    argument is ``padding_idx``, which this layer does not have, so
    ``Embedding(10, 3, 0)`` is a TypeError rather than a silently ignored padding row.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> emb = nn.Embedding(10, 3)
        >>> emb(np.array([[1, 2, 1]])).shape
        (1, 3, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, dtype: Any = np.float32) -> None:
        super().__init__()
        check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.weight = Parameter(np.zeros((num_embeddings, embedding_dim)), dtype=dtype)
        init.normal_(self.weight)

    def forward(self, ids: Any) -> Tensor:
        """Look up the rows for ``ids`` (integers in 0..num_embeddings-1)."""
        try:
            return F.embedding(ids, self.weight)
        except (TypeError, ValueError) as err:
            raise type(err)(f"{self.describe()}: {err}") from err

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
