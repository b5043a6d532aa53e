"""Stateless functions behind the layers and losses: ``import nn.functional as F``.

Activations are the autodiff ops themselves (re-exported); the rest are built
from autodiff ops, so every gradient here is checked by the same machinery.
Layers in ``nn.layers`` are thin wrappers that own parameters and call these.

Losses take ``reduction="mean" | "sum" | "none"``. ``cross_entropy`` and
``binary_cross_entropy_with_logits`` are single fused nodes (stable for any
logit); ``binary_cross_entropy`` works on probabilities and clips them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.ops import (
    avg_pool2d,
    conv2d,
    conv_transpose2d,
    elu,
    global_avg_pool2d,
    leaky_relu,
    linear,
    log_softmax,
    max_pool2d,
    relu,
    selu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)

from .random import get_rng

__all__ = [
    "relu",
    "leaky_relu",
    "prelu",
    "elu",
    "selu",
    "sigmoid",
    "tanh",
    "softplus",
    "softmax",
    "log_softmax",
    "linear",
    "conv2d",
    "conv_transpose2d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "dropout",
    "dropout2d",
    "batch_norm",
    "layer_norm",
    "embedding",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "l1_penalty",
    "l2_penalty",
]

REDUCTIONS = ("mean", "sum", "none")

_F16 = np.dtype(np.float16)


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input of shape {input.shape} and target of shape {target.shape} differ; "
            "they must match exactly (a common slip is (N, 1) predictions with (N,) targets, "
            "which would silently broadcast to (N, N))"
        )


# ------------------------------------------------------------------ activations
def prelu(x: Any, slope: Any) -> Tensor:
    """Parametric ReLU: x where x > 0, else slope * x, with a learnable ``slope``.

    ``slope`` broadcasts against ``x`` (shape (1,), or one value per channel
    already shaped to broadcast).

    Example:
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> F.prelu(ad.tensor([-2.0, 3.0]), ad.tensor([0.25]))
        Tensor([-0.5,  3. ])
    """
    x = _tensor(x)
    return ad.where(x.data > 0, x, x * slope)


def dropout(
    x: Any, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None
) -> Tensor:
    """Inverted dropout: zero each element with probability ``p``, scale survivors by 1/(1-p).

    The scaling happens at training time, so at test time (``training=False``)
    the layer is the identity and the expected activation is unchanged. The
    mask comes from ``rng`` (default: the generator seeded by ``nn.manual_seed``)
    and is a constant of the graph: the gradient is ``gy * mask``.

    Example:
        >>> import numpy as np
        >>> import nn.functional as F
        >>> y = F.dropout(np.ones((2, 4), np.float32), 0.5, rng=np.random.default_rng(0))
        >>> sorted(set(y.data.ravel().tolist()))  # dropped, or kept and doubled
        [0.0, 2.0]
        >>> F.dropout(np.ones(3, np.float32), 0.5, training=False).tolist()
        [1.0, 1.0, 1.0]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    x = _tensor(x)
    if not training or p == 0.0:
        return x
    return _apply_mask(x, x.shape, p, rng)


def _apply_mask(
    x: Tensor, shape: tuple[int, ...], p: float, rng: np.random.Generator | None
) -> Tensor:
    """x times a constant inverted-dropout mask of ``shape`` (which broadcasts against x)."""
    if p == 1.0:
        return x * 0.0
    keep = get_rng(rng).random(shape) >= p
    dtype = x.dtype if x.dtype.kind == "f" else ad.DEFAULT_FLOAT
    mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return x * Tensor(mask, _copy=False)


def dropout2d(
    x: Any, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None
) -> Tensor:
    """Channel dropout for (N, C, H, W) input: zero whole feature maps with probability ``p``.

    Neighbouring pixels of a feature map are strongly correlated, so dropping
    single pixels hardly regularises a convolution; dropping the whole map does
    (Tompson et al. 2015). Survivors are scaled by 1/(1-p) as in ``dropout``.

    Example:
        >>> import numpy as np
        >>> import nn.functional as F
        >>> y = F.dropout2d(np.ones((1, 4, 2, 2), np.float32), 0.5, rng=np.random.default_rng(0))
        >>> y.data.reshape(4, -1).tolist()  # each channel all dropped or all kept (and doubled)
        [[2.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d probability must be in [0, 1], got {p}")
    x = _tensor(x)
    if x.ndim != 4:
        raise ValueError(f"dropout2d expects input (N, C, H, W), got shape {x.shape}")
    if not training or p == 0.0:
        return x
    return _apply_mask(x, x.shape[:2] + (1, 1), p, rng)


def _channel_shape(x: Tensor, channels: int) -> tuple[int, ...]:
    # (C,) parameters broadcast along axis 1 of (N, C, ...) inputs
    return (channels,) + (1,) * (x.ndim - 2)


def batch_norm(
    x: Any,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Any = None,
    bias: Any = None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over axis 1 of (N, C) or (N, C, L...) inputs.

    Training: normalise with the batch mean and (biased) variance over every
    axis but 1, and update the running statistics in place with
    ``running = (1 - momentum) * running + momentum * batch`` using the
    *unbiased* batch variance (as PyTorch does). Evaluation (``training=False``):
    normalise with the running statistics. Then ``y = weight * x_hat + bias``.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]], np.float32)
        >>> mean, var = ad.tensor([0.0, 0.0]), ad.tensor([1.0, 1.0])
        >>> F.batch_norm(x, mean, var).data.round(3)
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
        >>> mean.data, var.data  # moved 10% towards the batch statistics
        (array([0.2, 2. ], dtype=float32), array([ 1.1, 20.9], dtype=float32))
    """
    x = _tensor(x)
    if x.dtype == np.float16:  # its squares overflow above 256: statistics in float32
        y = batch_norm(
            ad.astype(x, np.float32),
            running_mean,
            running_var,
            weight,
            bias,
            training,
            momentum,
            eps,
        )
        return ad.astype(y, np.float16)
    if x.ndim < 2:
        raise ValueError(f"batch_norm expects (N, C) or (N, C, L...) input, got shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = _channel_shape(x, x.shape[1])
    if training:
        n = x.size // x.shape[1]
        if n < 2:
            raise ValueError(
                f"batch_norm in training mode needs more than one value per channel, got input "
                f"shape {x.shape}; use a batch of 2 or more, or call .eval()"
            )
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        x_hat = centered / ad.sqrt(var + eps)
        if running_mean is not None and running_var is not None:
            batch_mean = mean.data.reshape(-1)
            batch_var = var.data.reshape(-1) * (n / (n - 1))
            rm, rv = running_mean.data, running_var.data
            rm *= 1.0 - momentum
            rm += (momentum * batch_mean).astype(rm.dtype)
            rv *= 1.0 - momentum
            rv += (momentum * batch_var).astype(rv.dtype)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm in eval mode needs running_mean and running_var")
        mean = running_mean.data.reshape(shape).astype(x.dtype, copy=False)
        var = running_var.data.reshape(shape).astype(x.dtype, copy=False)
        x_hat = (x - Tensor(mean, _copy=False)) * Tensor(1.0 / np.sqrt(var + eps), _copy=False)
    # a per-channel weight/bias given as an array or list broadcasts like the Tensor ones
    if weight is not None:
        x_hat = x_hat * _per_channel(weight, x.dtype, shape)
    if bias is not None:
        x_hat = x_hat + _per_channel(bias, x.dtype, shape)
    return x_hat


def _per_channel(value: Any, dtype: Any, shape: tuple[int, ...]) -> Any:
    """A (C,) weight or bias shaped to broadcast over the channel axis; a scalar as it is."""
    if not isinstance(value, Tensor):
        value = Tensor(np.asarray(value, dtype=dtype), _copy=False)
    return value.reshape(shape) if value.ndim == 1 else value


def layer_norm(
    x: Any,
    normalized_shape: tuple[int, ...],
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` axes of each sample, then scale/shift.

    Example:
        >>> import numpy as np
        >>> import nn.functional as F
        >>> F.layer_norm(np.array([[1.0, 3.0]], np.float32), (2,)).data.round(3)
        array([[-1.,  1.]], dtype=float32)
    """
    x = _tensor(x)
    if x.dtype == np.float16:  # its squares overflow above 256: statistics in float32
        y = layer_norm(ad.astype(x, np.float32), normalized_shape, weight, bias, eps)
        return ad.astype(y, np.float16)
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k :]) != tuple(normalized_shape) or x.ndim < k:
        raise ValueError(
            f"layer_norm expects input whose last {k} dimension(s) are {tuple(normalized_shape)}, "
            f"got shape {x.shape}"
        )
    axes = tuple(range(x.ndim - k, x.ndim))
    centered = x - x.mean(axis=axes, keepdims=True)
    var = (centered * centered).mean(axis=axes, keepdims=True)
    y = centered / ad.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def embedding(indices: Any, weight: Tensor) -> Tensor:
    """Rows of ``weight`` picked by integer ``indices`` (any shape); repeats accumulate grads.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> import nn.functional as F
        >>> w = nn.Parameter(np.arange(6.0).reshape(3, 2))
        >>> out = F.embedding(np.array([2, 0, 2]), w)
        >>> out.sum().backward()
        >>> w.grad.data.tolist()  # row 2 was used twice
        [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]
    """
    idx = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(
            f"embedding indices must be integers, got dtype {idx.dtype}; "
            "convert them with .astype(np.int64)"
        )
    num = weight.shape[0]
    # Negative ids are errors, not numpy's count-from-the-end: a -1 used as padding would
    # otherwise quietly train the last row.
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = idx[(idx < 0) | (idx >= num)].flat[0]
        raise ValueError(
            f"embedding index {int(bad)} is out of range for {num} embeddings "
            f"(valid 0..{num - 1}); indices shape {idx.shape}"
        )
    return weight[idx]


# ------------------------------------------------------------------------ losses
def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(input - target)^2`` (mean over all elements by default).

    The lecture's "sum of squares error" is ``0.5 * mse_loss(y, t, reduction="sum")``.

    Example:
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> F.mse_loss(ad.tensor([1.0, 2.0]), ad.tensor([0.0, 4.0]))
        Tensor(2.5)
    """
    input, target = _tensor(input), _tensor(target)
    _same_shape("mse_loss", input, target)
    if np.result_type(input.dtype, target.dtype) == _F16:
        # squares of differences of 256 and more overflow float16 where their mean may fit:
        # in float32, rounded once
        loss = mse_loss(ad.astype(input, np.float32), ad.astype(target, np.float32), reduction)
        return ad.astype(loss, _F16)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|input - target|`` (gradient sign(diff), 0 at a tie).

    Example:
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> F.l1_loss(ad.tensor([1.0, 2.0]), ad.tensor([0.0, 4.0]))
        Tensor(1.5)
    """
    input, target = _tensor(input), _tensor(target)
    _same_shape("l1_loss", input, target)
    return _reduce(ad.abs(input - target), reduction)


def huber_loss(input: Any, target: Any, delta: float = 1.0, reduction: str = "mean") -> Tensor:
    """Huber loss: ``0.5 d^2`` where ``|d| <= delta``, else ``delta * (|d| - 0.5 delta)``.

    Quadratic near the target, linear (robust to outliers) far from it.

    Example:
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> F.huber_loss(ad.tensor([0.5, 3.0]), ad.tensor([0.0, 0.0]), reduction="none")
        Tensor([0.125, 2.5  ])
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _tensor(input), _tensor(target)
    _same_shape("huber_loss", input, target)
    diff = input - target
    size = ad.abs(diff)
    quadratic = diff * diff * 0.5
    linear_part = (size - 0.5 * delta) * delta
    return _reduce(ad.where(size.data <= delta, quadratic, linear_part), reduction)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross entropy from raw scores (the lecture's SoftmaxWithLoss), one fused node.

    Args:
        logits: (N, C) scores (classes on the last axis; (N, T, C) works too).
            Do not apply softmax first: the fused op does it stably.
        target: integer labels of shape (N,) or one-hot/probability rows (N, C).
        reduction: ``"mean"`` over samples, ``"sum"`` or ``"none"``.

    The gradient is ``(softmax(logits) - onehot) / N``. An out-of-range label
    raises ValueError naming the label, the number of classes and the shapes.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> logits = ad.tensor([[3.0, 1.0, 0.2], [0.5, 2.5, 0.1]])
        >>> round(F.cross_entropy(logits, np.array([0, 1])).item(), 4)
        0.1915
    """
    return ad.softmax_cross_entropy(logits, target, reduction)


def nll_loss(log_probs: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer labels given log-probabilities (e.g. ``log_softmax``).

    ``cross_entropy(x, t) == nll_loss(log_softmax(x), t)``, but the fused form is faster.
    Only the target entries are read, so a ``-inf`` log-probability of another class
    (``log(0)``, a masked logit) leaves the loss finite.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> F.nll_loss(ad.log(ad.tensor([[0.5, 0.5], [0.9, 0.1]])), np.array([0, 0])).item() > 0
        True
    """
    log_probs = _tensor(log_probs)
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.shape != log_probs.shape[:-1] or t.dtype.kind not in "iu":
        raise ValueError(
            f"nll_loss expects integer labels of shape {log_probs.shape[:-1]} for log_probs "
            f"of shape {log_probs.shape}, got {t.dtype} labels of shape {t.shape}"
        )
    classes = log_probs.shape[-1]
    if t.size and (t.min() < 0 or t.max() >= classes):
        bad = t[(t < 0) | (t >= classes)].flat[0]
        raise ValueError(
            f"nll_loss: target label {int(bad)} is out of range for {classes} classes "
            f"(valid labels are 0..{classes - 1}); input shape {log_probs.shape}"
        )
    chosen = np.zeros(log_probs.shape, dtype=bool)
    np.put_along_axis(chosen, t[..., None].astype(np.intp), True, axis=-1)
    # pick the target entries (not log_probs * onehot: a -inf log-probability of another
    # class, log(0) or a masked logit, would make 0 * -inf = nan of the whole loss)
    picked = ad.where(chosen, log_probs, 0.0).sum(axis=-1)
    return _reduce(-picked, reduction)


def binary_cross_entropy(
    input: Any, target: Any, eps: float = 1e-7, reduction: str = "mean"
) -> Tensor:
    """Binary cross entropy on *probabilities*: ``-(t log p + (1 - t) log(1 - p))``.

    ``p`` is clipped to ``[eps, 1 - eps]`` first (the lecture's ``delta = 1e-7``)
    so that ``log(0)`` never happens; the upper end is at most the largest number
    below 1 in ``p``'s dtype (``1 - 1e-7`` is 1 in float16). Where clipping bites,
    the gradient passes straight through, taken at the clipped value (``-1 / eps``
    for ``p = 0`` and ``t = 1``): a zero slope there would stop learning exactly where
    a prediction is most wrong (PyTorch's gradient is not 0 there either). Prefer
    ``binary_cross_entropy_with_logits`` on raw scores: it is exact and never saturates.

    Example:
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> p, t = ad.tensor([0.9, 0.2]), ad.tensor([1.0, 0.0])
        >>> round(F.binary_cross_entropy(p, t).item(), 4)
        0.1643
    """
    input, target = _tensor(input), _tensor(target)
    _same_shape("binary_cross_entropy", input, target)
    x = input.data
    # the upper bound in x's own dtype: 1 - 1e-7 is 1 in float16, which clips nothing
    one = x.dtype.type(1) if x.dtype.kind == "f" else np.float64(1)
    hi = one if eps == 0 else min(one - eps, np.nextafter(one, one.dtype.type(0)))
    outside = (x < eps) | (x > hi)
    p = input
    if outside.any():
        # the clipped value, plus input - input (exactly 0) to carry the gradient through
        clipped = Tensor(np.clip(x, eps, hi), _copy=False)
        p = ad.where(outside, clipped + (input - Tensor(x, _copy=False)), input)
    losses = -(target * ad.log(p) + (1.0 - target) * ad.log(1.0 - p))
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Sigmoid + binary cross entropy as one stable node (gradient ``sigmoid(x) - t``).

    Example:
        >>> import autodiff as ad
        >>> import nn.functional as F
        >>> round(F.binary_cross_entropy_with_logits(ad.tensor([0.0]), ad.tensor([1.0])).item(), 4)
        0.6931
    """
    return ad.binary_cross_entropy_with_logits(logits, target, reduction)


# -------------------------------------------------------------------- penalties
def _penalty(name: str, params: Iterable[Any], term: Any, scale: float) -> Tensor:
    """``scale * sum(term(p))`` over the parameters; float16 ones summed in float32.

    A float16 model's penalty is computed in float32 and rounded once: the sum of a million
    squared weights of 0.3 overflows float16 (inf) where the scaled penalty is small.
    """
    params = [_tensor(p) for p in params]
    if not params:
        raise ValueError(f"{name} got no parameters")
    half = all(p.dtype == _F16 for p in params)
    total = None
    for p in params:
        t = term(ad.astype(p, np.float32) if p.dtype == _F16 else p).sum()
        total = t if total is None else total + t
    total = total * scale
    return ad.astype(total, _F16) if half else total


def l1_penalty(params: Iterable[Any], scale: float = 1.0) -> Tensor:
    """``scale * sum(|w|)`` over every parameter: add it to the loss for L1 regularisation.

    Example:
        >>> import nn
        >>> import nn.functional as F
        >>> w = nn.Parameter([[1.0, -2.0]])
        >>> round(F.l1_penalty([w], scale=0.1).item(), 4)
        0.3
    """
    return _penalty("l1_penalty", params, ad.abs, scale)


def l2_penalty(params: Iterable[Any], scale: float = 1.0) -> Tensor:
    """``0.5 * scale * sum(w^2)`` (the lecture's weight decay term; gradient ``scale * w``).

    Example:
        >>> import nn
        >>> import nn.functional as F
        >>> round(F.l2_penalty([nn.Parameter([3.0, 4.0])], scale=0.1).item(), 4)
        1.25
    """
    return _penalty("l2_penalty", params, lambda p: p * p, 0.5 * scale)
