"""Shape helpers as layers: ``Flatten`` and ``Identity``."""

from __future__ import annotations

from typing import Any

from autodiff import Tensor

from ..module import Module
from ._util import as_input

__all__ = ["Flatten", "Identity"]


class Flatten(Module):
    """Merge every axis from ``start_axis`` on into one: (N, C, H, W) -> (N, C*H*W).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> nn.Flatten()(np.zeros((2, 3, 4, 5))).shape
        (2, 60)
    """

    def __init__(self, start_axis: int = 1) -> None:
        super().__init__()
        self.start_axis = start_axis

    def forward(self, x: Any) -> Tensor:
        """Flatten ``x`` from ``start_axis`` on."""
        x = as_input(x)
        if not -x.ndim <= self.start_axis < x.ndim:
            need = self.start_axis + 1 if self.start_axis >= 0 else -self.start_axis
            raise ValueError(
                f"{self.describe()} flattens from axis {self.start_axis}, so it needs at least "
                f"{need} dimensions; got shape {x.shape}"
            )
        return x.flatten(self.start_axis)

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}"


class Identity(Module):
    """Return the input unchanged (a placeholder, e.g. to switch a layer off).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.Identity()(ad.tensor([1.0, 2.0]))
        Tensor([1., 2.])
    """

    def forward(self, x: Any) -> Tensor:
        """Return ``x`` (arrays are wrapped in a Tensor, like every layer's output)."""
        return as_input(x)
