"""Helpers shared by the layers: turning user input into a Tensor of the right dtype."""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor


def as_input(x: Any, dtype: Any = None) -> Tensor:
    """Tensors pass through untouched; arrays and lists become Tensors of ``dtype``.

    Layers pass their parameter dtype (float32 normally), so a float64 numpy
    batch does not silently turn a float32 model's activations into float64.
    """
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x), dtype=dtype or ad.DEFAULT_FLOAT)
