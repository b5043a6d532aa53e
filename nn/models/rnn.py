"""``RNNLanguageModel``: embedding -> recurrent layers -> linear scores for the next token."""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from .. import layers
from ..module import Module
from ..random import get_rng

__all__ = ["RNNLanguageModel"]

_CELLS = {"rnn": layers.RNN, "lstm": layers.LSTM, "gru": layers.GRU}


class RNNLanguageModel(Module):
    """Predict the next token of a sequence (characters, words) at every step.

    ``ids (T, batch)`` -> ``Embedding`` -> ``RNN``/``LSTM``/``GRU`` -> ``Linear`` ->
    ``logits (T, batch, vocab)``; pair it with ``CrossEntropyLoss`` on the
    flattened logits and the next-step targets (``nn.data.BPTTLoader`` yields both).
    ``forward`` also returns the recurrent state, so training can carry it across
    windows (truncated BPTT, with ``nn.detach_state``) and ``generate`` can feed
    one token at a time.

    Args:
        vocab_size: number of distinct tokens.
        embed_dim: embedding size.
        hidden_size: recurrent state size.
        num_layers: stacked recurrent layers.
        cell: ``"lstm"`` (default), ``"gru"`` or ``"rnn"`` (tanh Elman).
        dropout: dropout between recurrent layers.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> lm = nn.models.RNNLanguageModel(vocab_size=20, embed_dim=8, hidden_size=16)
        >>> logits, state = lm(np.zeros((5, 3), np.int64))  # 5 steps, batch 3
        >>> logits.shape
        (5, 3, 20)
        >>> lm.generate([1, 2, 3], 10, rng=np.random.default_rng(0)).shape
        (13,)
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 32,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: str = "lstm",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        self.vocab_size = int(vocab_size)
        self.embed = layers.Embedding(vocab_size, embed_dim)
        self.rnn = _CELLS[cell](embed_dim, hidden_size, num_layers=num_layers, dropout=dropout)
        self.head = layers.Linear(hidden_size, vocab_size, weight_init="xavier")

    @property
    def batch_axis(self) -> int:  # ids are (T, batch), as the recurrent layer's input
        return self.rnn.batch_axis

    def forward(self, ids: Any, state: Any = None) -> tuple[Tensor, Any]:
        """Logits (T, batch, vocab) for token ids (T, batch), and the final state."""
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state

    def generate(
        self,
        prompt: Any,
        length: int,
        temperature: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Sample ``length`` tokens after ``prompt`` (1-D ids); returns prompt + sample.

        Lower ``temperature`` (< 1) sharpens the distribution towards likely tokens.
        Runs in eval mode under ``no_grad`` and restores the training flag.
        """
        rng = get_rng(rng)
        ids = [int(i) for i in np.asarray(prompt).ravel()]
        if not ids:
            raise ValueError("generate: the prompt needs at least one token")
        was_training = self.training
        self.eval()
        try:
            with ad.no_grad():
                logits, state = self(np.asarray(ids)[:, None])
                last = logits.data[-1, 0].astype(np.float64)
                for _ in range(length):
                    p = np.exp((last - last.max()) / temperature)
                    k = int(rng.choice(self.vocab_size, p=p / p.sum()))
                    ids.append(k)
                    logits, state = self(np.array([[k]]), state)
                    last = logits.data[0, 0].astype(np.float64)
        finally:
            self.train(was_training)
        return np.asarray(ids)
