"""``Linear``: the fully connected (Affine) layer ``y = x @ W + b``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from .. import init
from ..module import Module, Parameter
from ._util import as_input, check_sizes

__all__ = ["Linear"]


class Linear(Module):
    """Fully connected layer ``y = x @ W + b`` (the lecture notes' Affine layer), one fused node.

    The weight is stored as ``(in_features, out_features)`` so the forward pass
    is literally ``x @ W``; the backward is ``gx = gy @ W.T``, ``gW = x.T @ gy``,
    ``gb = sum(gy, axis=0)``. Inputs may have extra leading axes: (..., in_features).

    Args:
        in_features: size of each input sample's last axis.
        out_features: size of each output sample's last axis.
        bias: learn an additive bias (initialised to zeros).
        weight_init: ``"he"`` (default, std sqrt(2/in), for ReLU), ``"xavier"``
            (Glorot, for tanh/sigmoid), ``"lecun"`` (std sqrt(1/in), for SELU),
            the ``*_uniform`` variants, a float std (the lecture's 0.01) or a
            callable ``f(weight)``; see ``nn.init.initialize``.
        dtype: parameter dtype (float32).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> fc = nn.Linear(784, 100)
        >>> fc.weight.shape, fc.bias.shape
        ((784, 100), (100,))
        >>> fc(np.zeros((32, 784))).shape
        (32, 100)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        weight_init: Any = "he",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.zeros((in_features, out_features)), dtype=dtype)
        init.initialize(self.weight, weight_init)
        if bias:
            self.bias = Parameter(np.zeros(out_features), dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        """``x @ W + b`` for ``x`` of shape (..., in_features)."""
        x = as_input(x, self.weight.dtype)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            hint = ""
            if x.ndim > 2 and math.prod(x.shape[1:]) == self.in_features:
                hint = "; flatten each sample first: nn.Flatten() or x.reshape(len(x), -1)"
            raise ValueError(
                f"{self.describe()} expects input with last dimension {self.in_features} "
                f"(in_features), got shape {x.shape}{hint}"
            )
        return ad.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
