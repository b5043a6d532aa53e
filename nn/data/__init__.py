"""Data utilities for seegrad: datasets, mini-batch loading and ready-made data.

Everything here is plain NumPy (no autograd): batches come out as NumPy arrays
that you wrap in tensors yourself. Nothing downloads anything.

Example:
    >>> from nn.data import DataLoader, ArrayDataset, load_digits, train_test_split
    >>> X, y = load_digits()
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=0, stratify=y)
    >>> loader = DataLoader(ArrayDataset(X_tr, y_tr), batch_size=64, shuffle=True, seed=0)
    >>> xb, yb = next(iter(loader))
    >>> xb.shape, yb.shape
    ((64, 64), (64,))
"""

from .dataset import ArrayDataset, Dataset, Subset, one_hot, random_split, train_test_split
from .datasets import (
    DIGITS_PATH,
    load_digits,
    load_mnist,
    make_sine_wave,
    make_spirals,
    make_xor,
    mnist_file_names,
)
from .idx import read_idx, write_idx
from .loader import DataLoader
from .sequence import BPTTLoader, batchify

__all__ = [
    "Dataset",
    "ArrayDataset",
    "Subset",
    "DataLoader",
    "random_split",
    "train_test_split",
    "one_hot",
    "load_digits",
    "DIGITS_PATH",
    "read_idx",
    "write_idx",
    "load_mnist",
    "mnist_file_names",
    "make_xor",
    "make_spirals",
    "make_sine_wave",
    "BPTTLoader",
    "batchify",
]
