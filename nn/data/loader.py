"""Mini-batch iteration over a dataset.

:class:`DataLoader` cuts a dataset into batches and stacks each into NumPy
arrays. For an :class:`~nn.data.dataset.ArrayDataset` (or a :class:`Subset`
of one) it fancy-indexes the arrays directly, so there is no per-sample Python
loop. Shuffling draws a new permutation every epoch from one NumPy Generator
seeded at construction, so a given seed replays the same sequence of epochs.
Without a seed each epoch's permutation comes from ``nn.manual_seed``'s
generator, as PyTorch's does from ``torch.manual_seed``'s.

This module uses only NumPy and the standard library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..random import get_rng
from .dataset import ArrayDataset, Dataset, SeedLike, Subset, _rng

__all__ = ["DataLoader"]


def _array_view(dataset: Dataset) -> tuple[tuple[np.ndarray, ...], np.ndarray | None] | None:
    """Return (arrays, index map) when batches can be fancy-indexed directly."""
    if isinstance(dataset, ArrayDataset):
        return dataset.arrays, None
    if isinstance(dataset, Subset):
        inner = _array_view(dataset.dataset)
        if inner is None:
            return None
        arrays, mapping = inner
        idx = dataset.indices if mapping is None else mapping[dataset.indices]
        return arrays, idx
    return None


def _stack(parts: list[Any], field: Any) -> np.ndarray:
    arrays = [np.asarray(p) for p in parts]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(
            f"DataLoader: field {field} has different shapes within one batch "
            f"({sorted(shapes)}); every sample's field {field} must have the same shape"
        )
    out = np.stack(arrays)
    if out.dtype == object:  # np.stack of dicts, None or custom objects: not a batch
        kinds = sorted({type(p).__name__ for p in parts})
        raise ValueError(
            f"DataLoader: field {field} holds {', '.join(kinds)} values, which cannot be "
            "stacked into a numeric array; samples must be arrays, numbers or text, or "
            "tuples or dicts of them"
        )
    return out


def _collate(samples: list[Any]) -> tuple[np.ndarray, ...] | dict[Any, np.ndarray]:
    """Stack a list of samples (tuples, dicts, or single values) field by field."""
    first = samples[0]
    if isinstance(first, Mapping):
        keys = list(first)
        for k, s in enumerate(samples):
            if not isinstance(s, Mapping) or set(s) != set(keys):
                got = sorted(map(str, s)) if isinstance(s, Mapping) else type(s).__name__
                raise ValueError(
                    f"DataLoader: every sample must have the same structure; sample 0 of this "
                    f"batch is a dict with keys {sorted(map(str, keys))} but sample {k} has {got}"
                )
        return {key: _stack([s[key] for s in samples], repr(key)) for key in keys}
    if not isinstance(first, (tuple, list)):
        return (_stack(samples, 0),)
    width = len(first)
    for k, s in enumerate(samples):
        if not isinstance(s, (tuple, list)) or len(s) != width:
            got = f"{len(s)} fields" if isinstance(s, (tuple, list)) else type(s).__name__
            raise ValueError(
                f"DataLoader: every sample must have the same structure; sample 0 of this "
                f"batch has {width} fields but sample {k} has {got}"
            )
    return tuple(_stack([s[f] for s in samples], f) for f in range(width))


class DataLoader:
    """Iterate over a dataset in mini-batches of stacked NumPy arrays.

    Each batch is a tuple with one array per sample field, e.g. ``(X, y)``
    with ``X.shape[0] == batch_size`` (the last batch may be smaller unless
    ``drop_last``); a dataset whose samples are dicts gives dicts of arrays
    (``{"x": X, "y": y}``), as in PyTorch, for loops of your own (``fit``,
    ``evaluate`` and ``predict`` take tuples). ``len(loader)`` is the number of
    batches per epoch. Samples of different structures, a field whose shape
    varies within a batch, or values that do not stack into a numeric array
    (None, nested dicts) are a ValueError naming the field.

    Args:
        dataset: any dataset (``__len__`` and ``__getitem__``).
        batch_size: samples per batch, a positive int.
        shuffle: visit samples in a new random order every epoch.
        drop_last: drop the final batch if it is smaller than ``batch_size``.
        seed: int, numpy Generator or None; with a seed, the sequence of
            shuffled epochs is reproducible. None: every epoch draws its order
            from ``nn.manual_seed``'s generator.

    Example:
        >>> import numpy as np
        >>> from nn.data import ArrayDataset
        >>> ds = ArrayDataset(np.arange(10).reshape(5, 2), np.arange(5))
        >>> loader = DataLoader(ds, batch_size=2)
        >>> len(loader), [y.tolist() for _, y in loader]
        (3, [[0, 1], [2, 3], [4]])
        >>> samples = [{"x": [0.0, 1.0], "y": 0}, {"x": [2.0, 3.0], "y": 1}]
        >>> batch = next(iter(DataLoader(samples, batch_size=2)))  # a list is a dataset too
        >>> batch["x"].shape, batch["y"].tolist()
        ((2, 2), [0, 1])
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: SeedLike = None,
    ) -> None:
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise ValueError(
                "DataLoader dataset must define __len__ and __getitem__ (e.g. an "
                f"ArrayDataset); got {type(dataset).__name__}"
            )
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, (int, np.integer))
            or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        # Unseeded, the shared generator is looked up at every epoch, not kept: manual_seed
        # replaces it, and load_checkpoint restores its state, which then covers the order.
        self._rng = None if seed is None else _rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = get_rng(self._rng).permutation(n) if self.shuffle else np.arange(n)
        view = _array_view(self.dataset)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            if view is not None:
                arrays, mapping = view
                rows = idx if mapping is None else mapping[idx]
                yield tuple(a[rows] for a in arrays)
            else:
                yield _collate([self.dataset[int(i)] for i in idx])

    def __repr__(self) -> str:
        return (
            f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})"
        )
