"""Datasets and splitting helpers.

A *dataset* is anything with ``__len__`` and ``__getitem__`` that returns one
sample (a tuple such as ``(features, label)``). :class:`ArrayDataset` wraps
NumPy arrays that share their first dimension; :class:`Subset` is a view of
another dataset through a list of indices. :func:`random_split` and
:func:`train_test_split` split data reproducibly from a seed, or else from
``nn.manual_seed``'s generator.

This module uses only NumPy and the standard library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..random import get_rng

__all__ = [
    "Dataset",
    "ArrayDataset",
    "Subset",
    "random_split",
    "train_test_split",
    "one_hot",
]

SeedLike = int | np.random.Generator | None


def _rng(seed: SeedLike, name: str = "seed") -> np.random.Generator:
    """Turn ``seed`` (an int or a Generator; None: ``nn.manual_seed``'s) into a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        # as in PyTorch, nn.manual_seed(s) also makes unseeded splits and shuffles repeatable
        return get_rng()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"{name} must be None, a non-negative int or a numpy Generator; "
            f"got {type(seed).__name__} {seed!r}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be non-negative; got {seed}")
    return np.random.default_rng(int(seed))


class Dataset:
    """Base class for map-style datasets: subclass and define two methods.

    ``__len__`` returns the number of samples and ``__getitem__(i)`` returns
    sample ``i``, usually a tuple like ``(x, y)``. A :class:`DataLoader` turns
    any such object into mini-batches.

    Example:
        >>> import numpy as np
        >>> class Squares(Dataset):
        ...     def __len__(self) -> int:
        ...         return 4
        ...     def __getitem__(self, i: int) -> tuple:
        ...         return np.float32(i), np.int64(i * i)
        >>> ds = Squares()
        >>> len(ds), ds[3]
        (4, (np.float32(3.0), np.int64(9)))
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class ArrayDataset(Dataset):
    """A dataset over NumPy arrays that share their first dimension.

    Sample ``i`` is the tuple ``(a[i] for a in arrays)``. The arrays are kept
    as given (no copy when they already are NumPy arrays) in ``self.arrays``.

    Args:
        *arrays: one or more array-likes, each with at least one dimension and
            the same length along axis 0.

    Raises:
        ValueError: no arrays, a 0-d array, or first dimensions that differ.

    Example:
        >>> import numpy as np
        >>> ds = ArrayDataset(np.zeros((5, 3)), np.arange(5))
        >>> len(ds), ds[2][0].shape, int(ds[2][1])
        (5, (3,), 2)
    """

    def __init__(self, *arrays: ArrayLike) -> None:
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array; got none")
        converted = tuple(_as_array(a, k) for k, a in enumerate(arrays))
        for k, a in enumerate(converted):
            if a.ndim == 0:
                raise ValueError(
                    f"ArrayDataset argument {k} is a scalar (shape ()); expected an array "
                    "with a first dimension indexing the samples"
                )
        lengths = [a.shape[0] for a in converted]
        if len(set(lengths)) != 1:
            shapes = ", ".join(f"arrays[{k}].shape={a.shape}" for k, a in enumerate(converted))
            raise ValueError(
                f"ArrayDataset arrays must have the same first dimension (number of "
                f"samples); got {shapes}"
            )
        self.arrays: tuple[np.ndarray, ...] = converted

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"ArrayDataset({shapes})"


def _as_array(value: ArrayLike, k: int) -> np.ndarray:
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged, e.g. a tuple of arrays of two lengths
        hint = ""
        if isinstance(value, (tuple, list)) and value and hasattr(value[0], "shape"):
            hint = " (to pass several arrays, unpack them: ArrayDataset(*arrays))"
        raise ValueError(
            f"ArrayDataset argument {k} ({type(value).__name__}) is not a regular array: "
            f"its elements have different lengths or shapes{hint}; numpy said: {exc}"
        ) from None


class Subset(Dataset):
    """A view of ``dataset`` restricted to ``indices`` (in that order).

    Args:
        dataset: the dataset to view.
        indices: integer positions into ``dataset``.

    Example:
        >>> import numpy as np
        >>> base = ArrayDataset(np.arange(10))
        >>> sub = Subset(base, [7, 2])
        >>> len(sub), int(sub[0][0]), int(sub[1][0])
        (2, 7, 2)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | NDArray[np.integer]) -> None:
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(
                f"Subset indices must be a 1-D sequence of integers; got shape {idx.shape} "
                f"dtype {idx.dtype}"
            )
        n = len(dataset)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise ValueError(
                f"Subset indices must lie in [0, {n}) for a dataset of length {n}; got "
                f"values from {idx.min()} to {idx.max()}"
            )
        self.dataset = dataset
        self.indices: NDArray[np.int64] = np.where(idx < 0, idx + n, idx).astype(np.int64)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, n={len(self)})"


def _split_lengths(n: int, lengths: Sequence[float]) -> list[int]:
    """Resolve integer counts or fractions into integer counts summing to n."""
    values = list(lengths)
    if not values:
        raise ValueError("random_split lengths must not be empty")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        counts = [int(v) for v in values]
        if any(c < 0 for c in counts):
            raise ValueError(f"random_split lengths must be non-negative; got {counts}")
        if sum(counts) != n:
            raise ValueError(
                f"random_split lengths sum to {sum(counts)} but the dataset has {n} samples; "
                "pass counts that add up to the dataset length, or fractions that add up to 1"
            )
        return counts
    fracs = [float(v) for v in values]
    if any(f < 0 or f > 1 for f in fracs) or not math.isclose(sum(fracs), 1.0, abs_tol=1e-6):
        raise ValueError(
            f"random_split fractions must each lie in [0, 1] and add up to 1; got {values} "
            f"(sum {sum(fracs):g})"
        )
    counts = [int(math.floor(n * f)) for f in fracs]
    # hand out the remainder one by one, round-robin (as PyTorch does)
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset: Dataset, lengths: Sequence[float], seed: SeedLike = None) -> list[Subset]:
    """Randomly split ``dataset`` into non-overlapping :class:`Subset` parts.

    Args:
        dataset: any dataset with ``__len__``.
        lengths: integer sizes that add up to ``len(dataset)``, or fractions
            that add up to 1 (leftover samples go round-robin to the parts).
        seed: int, numpy Generator or None (draw from ``nn.manual_seed``'s
            generator).

    Returns:
        One :class:`Subset` per entry of ``lengths``.

    Example:
        >>> import numpy as np
        >>> ds = ArrayDataset(np.arange(10))
        >>> train, val = random_split(ds, [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    counts = _split_lengths(n, lengths)
    perm = _rng(seed).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _n_test(n: int, test_size: float) -> int:
    if isinstance(test_size, bool):
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count; got {test_size!r}")
    if isinstance(test_size, (int, np.integer)):
        n_test = int(test_size)
        if not 0 < n_test < n:
            raise ValueError(
                f"test_size as a count must lie in [1, {n - 1}] for {n} samples; got {n_test}"
            )
        return n_test
    try:
        frac = float(test_size)
    except (TypeError, ValueError):
        raise ValueError(
            f"test_size must be a fraction in (0, 1) or a count; got {type(test_size).__name__} "
            f"{test_size!r}"
        ) from None
    if not 0.0 < frac < 1.0:
        raise ValueError(f"test_size as a fraction must lie strictly between 0 and 1; got {frac}")
    n_test = int(math.ceil(frac * n))
    if not 0 < n_test < n:
        raise ValueError(
            f"test_size={frac} of {n} samples gives {n_test} test and {n - n_test} training "
            "samples; both must be at least 1"
        )
    return n_test


def train_test_split(
    *arrays: ArrayLike,
    test_size: float = 0.2,
    seed: SeedLike = None,
    stratify: ArrayLike | None = None,
) -> list[np.ndarray]:
    """Shuffle and split arrays into train and test parts (like scikit-learn).

    Args:
        *arrays: array-likes with the same first dimension.
        test_size: fraction of samples for the test part (rounded up), or an
            integer count.
        seed: int, numpy Generator or None (draw from ``nn.manual_seed``'s
            generator).
        stratify: optional labels (one per sample); each class is then split
            in (as near as possible) the same proportion.

    Returns:
        ``[a_train, a_test, b_train, b_test, ...]`` as NumPy arrays.

    Example:
        >>> import numpy as np
        >>> X, y = np.arange(20).reshape(10, 2), np.arange(10) % 2
        >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=0, stratify=y)
        >>> X_tr.shape, X_te.shape, sorted(y_te.tolist())
        ((8, 2), (2, 2), [0, 1])
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array; got none")
    arrs = ArrayDataset(*arrays).arrays  # validates equal first dimensions
    n = arrs[0].shape[0]
    n_test = _n_test(n, test_size)
    rng = _rng(seed)
    if stratify is None:
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    else:
        labels = np.asarray(stratify)
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(
                f"stratify must be 1-D with one label per sample ({n}); got shape {labels.shape}"
            )
        classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        # largest-remainder allocation of n_test over the classes
        exact = counts * (n_test / n)
        per_class = np.floor(exact).astype(np.int64)
        short = n_test - int(per_class.sum())
        if short > 0:
            remainder = exact - per_class
            order = np.lexsort((rng.random(len(classes)), -remainder))
            for c in order:
                if short == 0:
                    break
                if per_class[c] < counts[c]:
                    per_class[c] += 1
                    short -= 1
        test_parts, train_parts = [], []
        for c in range(len(classes)):
            members = rng.permutation(np.flatnonzero(inverse == c))
            test_parts.append(members[: per_class[c]])
            train_parts.append(members[per_class[c] :])
        test_idx = rng.permutation(np.concatenate(test_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    out: list[np.ndarray] = []
    for a in arrs:
        out.extend((a[train_idx], a[test_idx]))
    return out


def one_hot(labels: ArrayLike, num_classes: int | None = None) -> NDArray[np.float32]:
    """Encode integer class labels as float32 one-hot vectors.

    Args:
        labels: integer labels of any shape, values in ``[0, num_classes)``.
        num_classes: number of classes; defaults to ``max(labels) + 1``.

    Returns:
        Array of shape ``labels.shape + (num_classes,)``.

    Example:
        >>> one_hot([0, 2, 1], 3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    y = np.asarray(labels)
    if y.size == 0 and y.dtype.kind not in "iu":
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"one_hot labels must be integers; got dtype {y.dtype}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"num_classes must be an int; got {type(num_classes).__name__}")
    if num_classes < 0:
        raise ValueError(f"num_classes must be non-negative; got {num_classes}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"one_hot labels must lie in [0, {num_classes}) for num_classes={num_classes}; "
            f"got values from {y.min()} to {y.max()}"
        )
    out = np.zeros((*y.shape, int(num_classes)), dtype=np.float32)
    np.put_along_axis(out, y[..., None].astype(np.intp), 1.0, axis=-1)
    return out
