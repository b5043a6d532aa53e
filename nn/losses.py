"""Loss functions as modules: ``loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, y)``.

Each one is a thin wrapper around the function of the same name in
``nn.functional`` and takes ``reduction="mean" | "sum" | "none"``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from autodiff import Tensor
from autodiff.function import retyped

from . import functional as F
from .module import Module

__all__ = [
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "CrossEntropyLoss",
    "SoftmaxWithLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
]


def _number(
    loss: str, name: str, value: Any, low: float, high: float, hint: str, low_ok: bool = False
) -> float:
    """``value`` as a float between ``low`` (allowed if ``low_ok``) and ``high`` (excluded).

    A TypeError (not a number) or ValueError names ``loss``. Checked when the loss is built,
    so a value passed in the wrong position (``hint`` says why that happens) fails there,
    not at the first call.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{loss}: {name} must be a number, got {value!r} ({hint})")
    if not (low <= value if low_ok else low < value) or not value < high:
        bracket = "[" if low_ok else "("
        raise ValueError(f"{loss}: {name} must be in {bracket}{low}, {high}), got {value!r}")
    return float(value)


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if not isinstance(reduction, str):  # PyTorch's first positional is weight/size_average
            raise TypeError(
                f"{type(self).__name__}: reduction must be one of {F.REDUCTIONS}, got "
                f"{type(reduction).__name__} {reduction!r}; PyTorch's weight, size_average and "
                "reduce arguments are not offered (pass reduction= by keyword)"
            )
        if reduction not in F.REDUCTIONS:
            raise ValueError(f"reduction must be one of {F.REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        # The input checks live in nn.functional, whose messages name the function only;
        # name the layer too, unless the message does already (the autodiff ops say
        # "in layer 'CrossEntropyLoss'").
        try:
            return super().__call__(*args, **kwargs)
        except (TypeError, ValueError) as err:
            name = type(self).__name__
            if name in str(err):
                raise
            raise retyped(err, f"{name}: {err}") from err

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    """Mean squared error, for regression (see ``F.mse_loss``).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.MSELoss()(ad.tensor([1.0, 2.0]), ad.tensor([0.0, 4.0]))
        Tensor(2.5)
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (same shapes)."""
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error (see ``F.l1_loss``).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.L1Loss()(ad.tensor([1.0, 2.0]), ad.tensor([0.0, 4.0]))
        Tensor(1.5)
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (same shapes)."""
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Quadratic within ``delta`` of the target, linear beyond (see ``F.huber_loss``).

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> nn.HuberLoss(delta=1.0)(ad.tensor([3.0]), ad.tensor([0.0]))
        Tensor(2.5)
    """

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.delta = _number(
            "HuberLoss", "delta", delta, 0.0, np.inf, "PyTorch's order is (reduction, delta)"
        )

    def forward(self, input: Any, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (same shapes)."""
        return F.huber_loss(input, target, self.delta, self.reduction)

    def extra_repr(self) -> str:
        return ", ".join(filter(None, [f"delta={self.delta}", super().extra_repr()]))


class CrossEntropyLoss(_Loss):
    """Softmax + cross entropy on raw scores, one fused stable node (see ``F.cross_entropy``).

    Targets are integer labels (N,) or one-hot/probability rows (N, C).

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> import nn
        >>> loss = nn.CrossEntropyLoss()(ad.tensor([[0.0, 0.0]]), np.array([1]))
        >>> round(loss.item(), 4)
        0.6931
    """

    def forward(self, logits: Any, target: Any) -> Tensor:
        """The loss of ``logits`` (N, C) against ``target``."""
        return F.cross_entropy(logits, target, self.reduction)


#: the lecture notes' name for the same fused layer
SoftmaxWithLoss = CrossEntropyLoss


class NLLLoss(_Loss):
    """Negative log-likelihood of integer labels given log-probabilities (see ``F.nll_loss``).

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> import nn
        >>> round(nn.NLLLoss()(ad.tensor([[-0.5, -1.0]]), np.array([0])).item(), 2)
        0.5
    """

    def forward(self, log_probs: Any, target: Any) -> Tensor:
        """The loss of ``log_probs`` (N, C) against integer ``target`` (N,)."""
        return F.nll_loss(log_probs, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross entropy on probabilities, clipped to [eps, 1 - eps] (see
    ``F.binary_cross_entropy``); prefer ``BCEWithLogitsLoss`` on raw scores.

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> round(nn.BCELoss()(ad.tensor([0.5]), ad.tensor([1.0])).item(), 4)
        0.6931
    """

    def __init__(self, eps: float = 1e-7, reduction: str = "mean") -> None:
        super().__init__(reduction)
        # eps = 0 (no clipping) is allowed: -inf losses are then the caller's choice
        hint = "PyTorch's first argument, a weight, is not offered"
        self.eps = _number("BCELoss", "eps", eps, 0.0, 0.5, hint, low_ok=True)

    def forward(self, input: Any, target: Any) -> Tensor:
        """The loss of probabilities ``input`` against ``target`` in [0, 1]."""
        return F.binary_cross_entropy(input, target, self.eps, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy, fused and stable.

    See ``F.binary_cross_entropy_with_logits``; targets are 0/1 labels or soft targets.

    Example:
        >>> import autodiff as ad
        >>> import nn
        >>> round(nn.BCEWithLogitsLoss()(ad.tensor([0.0]), ad.tensor([1.0])).item(), 4)
        0.6931
    """

    def forward(self, logits: Any, target: Any) -> Tensor:
        """The loss of ``logits`` against ``target`` in [0, 1] (same shapes)."""
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)
