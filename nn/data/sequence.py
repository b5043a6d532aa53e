"""Long sequences for truncated backpropagation through time (TBPTT).

A language model or a time-series model trains on one long series (a book, a
sensor trace). The classic recipe (Zaremba et al. 2014's PTB "batchify"):

1. cut the series into ``batch_size`` equally long rows, so row ``r`` is one
   contiguous stretch of the series: ``(batch_size, steps_per_row, ...)``;
2. walk along the rows in windows of ``bptt_length`` steps; window ``k`` of
   row ``r`` continues exactly where window ``k - 1`` of row ``r`` stopped.

Because of 2, the recurrent state at the end of one window is the right
initial state for the next: keep it, but cut the graph there
(``nn.detach_state``) so backward stops at the window boundary. Start each
epoch with a fresh (``None``) state.

Everything here is plain NumPy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["batchify", "BPTTLoader"]


def batchify(series: Any, batch_size: int) -> np.ndarray:
    """Cut ``series`` (length N, any trailing shape) into ``batch_size`` contiguous rows.

    The tail that does not fill a whole row is dropped. Returns an array of
    shape ``(batch_size, N // batch_size, ...)`` (a view when possible).

    Example:
        >>> import numpy as np
        >>> from nn.data import batchify
        >>> batchify(np.arange(10), 3)
        array([[0, 1, 2],
               [3, 4, 5],
               [6, 7, 8]])
    """
    data = np.asarray(series)
    if data.ndim == 0:
        raise ValueError(
            f"batchify: the series must have at least one axis (time); got a scalar "
            f"{type(series).__name__}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(
            f"batchify: batch_size must be a positive int, got {type(batch_size).__name__} "
            f"{batch_size!r}"
        )
    if batch_size < 1:
        raise ValueError(f"batchify: batch_size must be positive, got {batch_size}")
    per_row = len(data) // batch_size
    if per_row == 0:
        raise ValueError(f"batchify: a series of length {len(data)} cannot fill {batch_size} rows")
    return data[: per_row * batch_size].reshape((batch_size, per_row) + data.shape[1:])


class BPTTLoader:
    """Windows of a long series for truncated BPTT: yields ``(x, y)`` per window.

    ``y`` is the next-step target: ``y[t] = series[t + 1]`` for the same row
    (or, with ``targets`` given, ``targets`` aligned with the inputs, for
    sequence labelling). Shapes are time-major ``(L, batch, ...)`` like
    ``nn.RNN``'s default, or ``(batch, L, ...)`` with ``batch_first=True``;
    ``L = bptt_length`` except possibly in the last window.

    Args:
        series: array of length N (time first; e.g. token ids (N,) or features (N, F)).
        batch_size: number of parallel rows.
        bptt_length: time steps per window (how far each backward reaches back).
        targets: optional array aligned with ``series``; default: next step of ``series``.
        batch_first: yield (batch, L, ...) instead of (L, batch, ...).
        drop_last: skip a final window shorter than ``bptt_length``.

    Example (truncated BPTT over a sine wave):
        >>> import numpy as np
        >>> import nn
        >>> series = np.sin(np.arange(1000) * 0.1).astype(np.float32)[:, None]
        >>> loader = nn.data.BPTTLoader(series, batch_size=4, bptt_length=20)
        >>> len(loader), loader.steps_per_row
        (13, 250)
        >>> x, y = next(iter(loader))
        >>> x.shape, y.shape
        ((20, 4, 1), (20, 4, 1))
        >>> bool(np.array_equal(x[1:], y[:-1]))  # y is x shifted by one step
        True
        >>> rnn, head, state = nn.RNN(1, 8), nn.Linear(8, 1), None
        >>> for x, y in loader:
        ...     out, state = rnn(x, state)
        ...     loss = nn.MSELoss()(head(out), y)
        ...     loss.backward()
        ...     state = nn.detach_state(state)  # keep the values, drop the graph
    """

    def __init__(
        self,
        series: Any,
        batch_size: int,
        bptt_length: int,
        targets: Any = None,
        batch_first: bool = False,
        drop_last: bool = False,
    ) -> None:
        for name, value in (("batch_size", batch_size), ("bptt_length", bptt_length)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"BPTTLoader: {name} must be a positive int, got {value!r}")
        self.rows = batchify(series, batch_size)
        self.targets = None
        if targets is not None:
            targets = np.asarray(targets)
            if targets.ndim == 0:
                raise ValueError(
                    f"BPTTLoader: targets must be an array aligned with the series (one per "
                    f"step); got a scalar {targets!r}"
                )
            if len(targets) != len(np.asarray(series)):
                raise ValueError(
                    f"BPTTLoader: targets have length {len(targets)} but the series has "
                    f"{len(np.asarray(series))}; they must be aligned step by step"
                )
            self.targets = batchify(targets, batch_size)
        self.batch_size = int(batch_size)
        self.bptt_length = int(bptt_length)
        self.batch_first = bool(batch_first)
        self.drop_last = bool(drop_last)
        # next-step targets need one step beyond the last input
        self._usable = self.rows.shape[1] - (1 if self.targets is None else 0)
        if self._usable < 1:
            raise ValueError(
                f"BPTTLoader: the series is too short for even one window: its "
                f"{len(np.asarray(series))} steps cut into {batch_size} rows give "
                f"{self.rows.shape[1]} step(s) per row, and next-step targets need at least 2"
            )

    @property
    def steps_per_row(self) -> int:
        """Length of each of the ``batch_size`` rows the series was cut into."""
        return int(self.rows.shape[1])

    def __len__(self) -> int:
        full, rest = divmod(self._usable, self.bptt_length)
        return full + (1 if rest and not self.drop_last else 0)

    def _window(self, rows: np.ndarray, start: int, length: int) -> np.ndarray:
        w = rows[:, start : start + length]
        if not self.batch_first:
            w = np.swapaxes(w, 0, 1)
        return np.ascontiguousarray(w)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for k in range(len(self)):
            start = k * self.bptt_length
            length = min(self.bptt_length, self._usable - start)
            x = self._window(self.rows, start, length)
            if self.targets is None:
                y = self._window(self.rows, start + 1, length)
            else:
                y = self._window(self.targets, start, length)
            yield x, y

    def __repr__(self) -> str:
        return (
            f"BPTTLoader(rows={self.batch_size}x{self.steps_per_row}, "
            f"bptt_length={self.bptt_length}, windows={len(self)})"
        )
