"""Activation layers: thin modules over the activation ops (PReLU owns a learnable slope)."""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from .. import functional as F
from ..module import Module, Parameter
from ._util import as_input, check_sizes

__all__ = [
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "SELU",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Softmax",
    "LogSoftmax",
]


class _Activation(Module):
    def forward(self, x: Any) -> Tensor:
        """Apply the activation elementwise (along ``axis`` for softmax)."""
        return self._apply(as_input(x))

    def _apply(self, x: Tensor) -> Tensor:
        raise NotImplementedError


class ReLU(_Activation):
    """max(x, 0): the default hidden activation (pair it with He initialisation).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.ReLU()(ad.tensor([-1.0, 2.0]))
        Tensor([0., 2.])
    """

    def _apply(self, x: Tensor) -> Tensor:
        return ad.relu(x)


class LeakyReLU(_Activation):
    """x where x > 0, else ``slope * x`` (keeps a small gradient for negative inputs).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.LeakyReLU(0.1)(ad.tensor([-1.0, 2.0]))
        Tensor([-0.1,  2. ])
    """

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = slope

    def _apply(self, x: Tensor) -> Tensor:
        return ad.leaky_relu(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class PReLU(Module):
    """Leaky ReLU whose negative slope is learned (He et al. 2015).

    Args:
        num_parameters: 1 (one slope shared by all units) or the number of
            channels C (one slope per channel, axis 1 of (N, C, ...) input); kept
            as ``num_slopes``.
        init: initial slope.

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> act = nn.PReLU()
        >>> act(ad.tensor([[-2.0, 3.0]]))
        Tensor([[-0.5,  3. ]], op=where)
        >>> [n for n, _ in act.named_parameters()]
        ['slope']
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = np.float32):
        super().__init__()
        check_sizes("PReLU", num_parameters=num_parameters)
        # Not ``self.num_parameters`` (PyTorch's name): it would hide Module.num_parameters().
        self.num_slopes = num_parameters
        self.slope = Parameter(np.full(num_parameters, init), dtype=dtype)

    def forward(self, x: Any) -> Tensor:
        """x where x > 0, else slope * x."""
        x = as_input(x, self.slope.dtype)
        slope: Tensor = self.slope
        if self.num_slopes > 1:
            if x.ndim < 2 or x.shape[1] != self.num_slopes:
                raise ValueError(
                    f"{self.describe()} has {self.num_slopes} slopes (one per channel) and "
                    f"expects input (N, {self.num_slopes}, ...), got shape {x.shape}"
                )
            slope = slope.reshape((self.num_slopes,) + (1,) * (x.ndim - 2))
        return F.prelu(x, slope)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_slopes}"


class ELU(_Activation):
    """x where x > 0, else ``alpha * (e^x - 1)`` (smooth, negative outputs push means to 0).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.ELU()(ad.tensor([1.0]))
        Tensor([1.])
    """

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def _apply(self, x: Tensor) -> Tensor:
        return ad.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(_Activation):
    """Scaled ELU with the self-normalising constants (use with ``lecun`` init).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> round(nn.SELU()(ad.tensor(1.0)).item(), 4)
        1.0507
    """

    def _apply(self, x: Tensor) -> Tensor:
        return ad.selu(x)


class Sigmoid(_Activation):
    """1 / (1 + e^-x) (pair it with Xavier initialisation).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.Sigmoid()(ad.tensor([0.0]))
        Tensor([0.5])
    """

    def _apply(self, x: Tensor) -> Tensor:
        return ad.sigmoid(x)


class Tanh(_Activation):
    """Hyperbolic tangent (pair it with Xavier initialisation).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.Tanh()(ad.tensor([0.0]))
        Tensor([0.])
    """

    def _apply(self, x: Tensor) -> Tensor:
        return ad.tanh(x)


class Softplus(_Activation):
    """log(1 + e^x), a smooth ReLU.

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.Softplus()(ad.tensor([0.0]))
        Tensor([0.6931])
    """

    def _apply(self, x: Tensor) -> Tensor:
        return ad.softplus(x)


class Softmax(_Activation):
    """Probabilities along ``axis``. For training, feed raw scores to ``CrossEntropyLoss``
    instead (it applies softmax itself, stably); use this layer at prediction time.

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.Softmax()(ad.tensor([0.0, 0.0]))
        Tensor([0.5, 0.5])
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def _apply(self, x: Tensor) -> Tensor:
        return ad.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along ``axis``, computed stably (pair it with ``F.nll_loss``).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.LogSoftmax()(ad.tensor([0.0, 0.0]))
        Tensor([-0.6931, -0.6931])
    """

    def _apply(self, x: Tensor) -> Tensor:
        return ad.log_softmax(x, self.axis)
