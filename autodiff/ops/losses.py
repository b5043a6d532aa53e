"""Fused, numerically stable losses: softmax-with-loss and sigmoid-with-loss.

Both are one node each, as in the lecture notes' ``SoftmaxWithLoss`` layer: the
forward never takes the log of a rounded-to-zero probability, and the backward
is the famous short rule ``(softmax(x) - t) / N``. Written with autodiff ops,
that backward is itself differentiable, so second derivatives work too.

``reduction`` is ``"mean"`` (over samples), ``"sum"`` or ``"none"`` (one loss
per sample). The class axis of ``softmax_cross_entropy`` is the *last* axis, so
(N, C) logits and (N, T, C) sequence logits both work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..registry import Domain, register
from ..tensor import Tensor
from ._util import constant
from .elementwise import sigmoid
from .shape import widen, widen_array
from .softmax import log_softmax, softmax

__all__ = ["softmax_cross_entropy", "binary_cross_entropy_with_logits"]

REDUCTIONS = ("mean", "sum", "none")

# float16 losses are computed, summed and averaged in float32 and rounded once (as
# PyTorch's CPU kernels do): a float16 sum of the losses overflows past 65504, and so does
# float16(N) itself, which made the mean of 100,000 losses inf / inf = nan


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(losses: np.ndarray, reduction: str, count: int, dtype: np.dtype) -> np.ndarray:
    """The losses reduced in their own dtype (float32 for float16 ones), then cast to ``dtype``."""
    if reduction != "none":
        total = losses.sum(dtype=losses.dtype)
        losses = total / losses.dtype.type(max(count, 1)) if reduction == "mean" else total
    return losses if losses.dtype == dtype else losses.astype(dtype)


class SoftmaxCrossEntropy(Function):
    """Softmax followed by cross entropy, as one node (the lecture's SoftmaxWithLoss)."""

    name = "softmax_cross_entropy"
    rule = "gx = (softmax(x) * sum(t) - t) * gy / N,  gt = -log_softmax(x) * gy / N"

    def __init__(self, reduction: str = "mean") -> None:
        _check_reduction(reduction)
        self.reduction = reduction

    def forward(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        if x.ndim < 1:
            raise ValueError("logits need a class axis (the last axis); got a scalar")
        classes = x.shape[-1]
        self.labels = t.ndim == x.ndim - 1
        if self.labels:
            if t.shape != x.shape[:-1]:
                raise ValueError(
                    f"integer labels of shape {t.shape} do not match logits of shape {x.shape} "
                    f"(expected labels of shape {x.shape[:-1]})"
                )
            if t.dtype.kind not in "iu":
                raise TypeError(
                    f"class labels must be integers, got dtype {t.dtype}; convert them with "
                    ".astype(np.int64), or pass one-hot targets of the logits' shape"
                )
            if t.size and (t.min() < 0 or t.max() >= classes):
                bad = t[(t < 0) | (t >= classes)].flat[0]
                where = tuple(int(i) for i in np.argwhere(t == bad)[0])
                raise ValueError(
                    f"target label {int(bad)} at position {where} is out of range for "
                    f"{classes} classes (valid labels are 0..{classes - 1}); logits shape "
                    f"{x.shape}, labels shape {t.shape}"
                )
        elif t.shape != x.shape:
            raise ValueError(
                f"target of shape {t.shape} fits neither integer labels {x.shape[:-1]} nor "
                f"one-hot/probability targets {x.shape} for logits of shape {x.shape}"
            )
        dtype = x.dtype
        x = widen_array(x)
        if not self.labels:
            t = widen_array(t)
        shifted = x - x.max(axis=-1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        if self.labels:
            rows = logp.reshape(-1, classes)
            losses = -rows[np.arange(rows.shape[0]), t.reshape(-1)].reshape(t.shape)
        else:
            with np.errstate(invalid="ignore"):  # 0 * -inf is handled just below
                losses = -(t * logp).sum(axis=-1)
                if np.isnan(losses).any():
                    # 0 * log(0) is 0: a class with target 0 may have a -inf logit (a mask)
                    # without making the loss nan (PyTorch gives nan there); a NaN logit
                    # or target still makes it NaN
                    zero = (t == 0) & np.isneginf(logp)
                    losses = -np.where(zero, 0, t * logp).sum(axis=-1)
        self.count = int(np.prod(x.shape[:-1]))
        return _reduce(np.asarray(losses, dtype=x.dtype), self.reduction, self.count, dtype)

    def _upstream(self, gy: Tensor) -> Tensor:
        # Every sample's loss depends on its own row only: bring gy to (..., 1).
        if self.reduction == "none":
            gy = gy.expand_dims(-1)
        if self.reduction == "mean":
            gy = gy * (1.0 / max(self.count, 1))
        return gy

    def backward_arrays(self, gy: np.ndarray) -> Any:
        # The same rule on arrays for first-order gradients, in place on one buffer:
        # no one-hot matrix, no nodes (backward() stays the differentiable definition).
        x, t = self.inputs
        if not self.labels and t.requires_grad:
            return NotImplemented
        if not x.requires_grad:
            return None, None
        xd = widen_array(x.data)  # float16 in float32 (the engine rounds the gradient once)
        gy = gy.astype(xd.dtype, copy=False)
        p = np.exp(xd - xd.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        if self.labels:
            rows = p.reshape(-1, p.shape[-1])
            rows[np.arange(rows.shape[0]), t.data.reshape(-1)] -= 1
        else:  # d/dx of -sum(t * log_softmax(x)): the rows of t need not sum to 1
            p *= t.data.sum(axis=-1, keepdims=True)
            p -= t.data
        if self.reduction == "none":
            gy = gy[..., None]
        elif self.reduction == "mean":
            gy = gy * (1.0 / max(self.count, 1))
        p *= gy
        return p, None

    def backward(self, gy: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, t = self.inputs
        need_x = x.requires_grad  # (asked before the cast: under no_grad a cast wants none)
        x, gy = widen(x), widen(gy)  # float16 in float32, as the forward
        g = self._upstream(gy)
        gx = None
        if need_x and self.labels:
            onehot = np.zeros(x.shape, dtype=x.dtype)
            np.put_along_axis(onehot, t.data[..., None].astype(np.intp), 1, axis=-1)
            gx = (softmax(x, -1) - constant(onehot)) * g
        elif need_x:  # multi-hot or weighted rows: their sums scale the softmax
            gx = (softmax(x, -1) * t.sum(axis=-1, keepdims=True) - t) * g
        gt = None
        if not self.labels and t.requires_grad:
            gt = -(log_softmax(x, -1) * g)
        return gx, gt


class BinaryCrossEntropyWithLogits(Function):
    """Sigmoid followed by binary cross entropy, as one node."""

    name = "binary_cross_entropy_with_logits"
    rule = "gx = (sigmoid(x) - t) * gy / N,  gt = -x * gy / N"

    def __init__(self, reduction: str = "mean") -> None:
        _check_reduction(reduction)
        self.reduction = reduction

    def forward(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        if t.shape != x.shape:
            raise ValueError(
                f"target of shape {t.shape} does not match logits of shape {x.shape}; "
                "reshape one of them (a common slip: (N, 1) logits with (N,) targets)"
            )
        # max(x, 0) - x t + log(1 + e^-|x|) equals -[t log s(x) + (1-t) log(1 - s(x))]
        # without ever forming log(0).
        dtype = x.dtype
        x, t = widen_array(x), widen_array(t)
        losses = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        self.count = x.size
        return _reduce(np.asarray(losses, dtype=x.dtype), self.reduction, self.count, dtype)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, t = self.inputs
        need_x, need_t = x.requires_grad, t.requires_grad  # (before the casts, see above)
        x, t, gy = widen(x), widen(t), widen(gy)  # float16 in float32
        g = gy * (1.0 / max(self.count, 1)) if self.reduction == "mean" else gy
        gx = (sigmoid(x) - t) * g if need_x else None
        gt = -(x * g) if need_t else None
        return gx, gt


def softmax_cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Cross entropy of ``softmax(logits)`` against ``target``, fused and stable.

    Args:
        logits: unnormalised scores, classes on the last axis: (N, C) or (..., C).
        target: integer class labels of shape ``logits.shape[:-1]``, or rows of the
            logits' shape: one-hot, probabilities, or any non-negative weights (multi-hot;
            the loss is ``-sum(t * log_softmax(x))`` either way, and the target is
            differentiable too).
        reduction: ``"mean"`` over samples (default), ``"sum"`` or ``"none"``.

    A label outside ``0..C-1`` raises ValueError naming the label, C and the shapes.
    With target rows, ``0 * log(0)`` counts as 0: a class whose target is 0 may have
    a ``-inf`` logit (a mask) and the loss stays finite (PyTorch's is NaN there).

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> x = ad.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
        >>> loss = ad.softmax_cross_entropy(x, np.array([0, 2]))
        >>> round(loss.item(), 4)  # mean of log(1 + 2 e^-2) and log(3)
        0.6691
        >>> loss.backward()
        >>> x.grad.data.round(3)  # (softmax(x) - onehot) / N
        array([[-0.107,  0.053,  0.053],
               [ 0.167,  0.167, -0.333]], dtype=float32)
    """
    if isinstance(target, (list, tuple)):
        target = np.asarray(target)  # labels [0, 2] stay integers (a list would take float32)
    return SoftmaxCrossEntropy(reduction)(logits, target)


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross entropy of ``sigmoid(logits)`` against ``target`` (0/1 or soft), fused.

    Stable for any logit: ``max(x, 0) - x t + log(1 + exp(-|x|))``. ``reduction``
    averages over all elements (``"mean"``), sums (``"sum"``) or keeps them (``"none"``).

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor([0.0, 100.0, -100.0])
        >>> t = ad.tensor([1.0, 1.0, 1.0])
        >>> ad.binary_cross_entropy_with_logits(x, t, reduction="none").data.round(4)
        array([  0.6931,   0.    , 100.    ], dtype=float32)
    """
    return BinaryCrossEntropyWithLogits(reduction)(logits, target)


# ------------------------------------------------------------------ registry entries
def _softmax_ce_entry(x: Any, target: Any = None, labels: Any = None, reduction: str = "mean"):
    return softmax_cross_entropy(x, labels if labels is not None else target, reduction)


def _softmax_ce_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    lead = draw(st.shapes(min_dims=0, max_dims=2))
    classes = draw(st.integers(1, 4))
    x = draw(st.arrays(lead + (classes,), Domain(-3.0, 3.0)))
    reduction = draw(st.sampled_from(list(REDUCTIONS)))
    if draw(st.booleans()):
        seed = draw(st.integers(0, 2**32 - 1))
        labels = np.random.default_rng(seed).integers(0, classes, size=lead)
        return [x], {"labels": labels, "reduction": reduction}
    raw = draw(st.arrays(lead + (classes,), Domain(0.1, 1.0), salt=1))
    if draw(st.booleans()):  # probabilities; otherwise multi-hot-like rows of any sum
        raw = raw / raw.sum(axis=-1, keepdims=True)
    return [x, raw], {"reduction": reduction}


def _bce_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = draw(st.shapes())
    x = draw(st.arrays(shape, Domain(-4.0, 4.0)))
    t = draw(st.arrays(shape, Domain(0.0, 1.0), salt=1))
    return [x, t], {"reduction": draw(st.sampled_from(list(REDUCTIONS)))}


register(
    "softmax_cross_entropy",
    _softmax_ce_entry,
    functions=(SoftmaxCrossEntropy,),
    shapes="custom",
    cases=_softmax_ce_case,
    domains=(Domain(-3.0, 3.0), Domain(0.1, 1.0)),
)
register(
    "binary_cross_entropy_with_logits",
    binary_cross_entropy_with_logits,
    functions=(BinaryCrossEntropyWithLogits,),
    shapes="custom",
    cases=_bce_case,
    domains=(Domain(-4.0, 4.0), Domain(0.0, 1.0)),
)
