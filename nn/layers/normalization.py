"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm``.

Both are written with differentiable autodiff ops (see ``nn.functional``), so
their gradients (and second derivatives) are checked like any op's.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from autodiff import Tensor

from .. import functional as F
from ..module import Module, Parameter
from ._util import as_input, channels_last_hint, check_sizes

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm"]


class _BatchNorm(Module):
    _ndims: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        *,
        momentum: float = 0.1,
        eps: float = 1e-5,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real):
            raise TypeError(
                f"{type(self).__name__}: momentum must be a number in [0, 1] (the weight of "
                f"each new batch in the running statistics), got {momentum!r}; a cumulative "
                "average (PyTorch's momentum=None) is not supported"
            )
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1], got {momentum}")
        check_sizes(type(self).__name__, num_features=num_features)
        self.num_features = int(num_features)
        self.momentum = momentum
        self.eps = eps
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features), dtype=dtype)  # gamma
            self.bias = Parameter(np.zeros(num_features), dtype=dtype)  # beta
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)

    def forward(self, x: Any) -> Tensor:
        """Normalise with batch statistics (training) or running statistics (eval)."""
        # the layer's dtype: its parameters', else its running statistics' (affine=False)
        held = self.weight if self.weight is not None else self.running_mean
        dtype = held.dtype if held is not None else None
        x = as_input(x, dtype)
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self.describe()} expects input {self._layout} with C = {self.num_features} "
                f"(num_features), got shape {x.shape}{channels_last_hint(x, self.num_features)}"
            )
        use_batch = self.training or not self.track_running_stats
        try:
            return F.batch_norm(
                x,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                training=use_batch,
                momentum=self.momentum,
                eps=self.eps,
            )
        except ValueError as err:  # a batch of one in training: say which layer
            raise ValueError(f"{self.describe()}: {err}") from None

    def extra_repr(self) -> str:
        s = f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
        # the switches that change what the layer computes, when not the default
        if not self.affine:
            s += ", affine=False"
        if not self.track_running_stats:
            s += ", track_running_stats=False"
        return s


class BatchNorm1d(_BatchNorm):
    """Batch normalisation (Ioffe & Szegedy 2015) for (N, C) or (N, C, L) input.

    ``x_hat = (x - mean_B) / sqrt(var_B + eps)``, ``y = gamma * x_hat + beta``
    (``gamma`` is ``weight``, ``beta`` is ``bias``). In training mode the batch
    statistics are used and the running statistics (buffers ``running_mean``,
    ``running_var``) move towards them: ``running = (1 - momentum) * running +
    momentum * batch``, with the unbiased batch variance, as in PyTorch
    (Keras' momentum is ``1 - momentum`` here). In eval mode the running
    statistics are used, so single samples give deterministic outputs
    (``track_running_stats=False``: no buffers, batch statistics in eval mode too).

    Every argument after ``num_features`` is keyword-only: PyTorch's second
    positional argument is ``eps``, so ``BatchNorm1d(8, 1e-3)`` would otherwise set
    a different number than a PyTorch user means.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> bn = nn.BatchNorm1d(2)
        >>> y = bn(np.array([[1.0, 10.0], [3.0, 30.0]]))
        >>> y.data.round(3)
        array([[-1., -1.],
               [ 1.,  1.]], dtype=float32)
        >>> bn.running_mean.data
        array([0.2, 2. ], dtype=float32)
    """

    _ndims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation for images (N, C, H, W): statistics over N, H and W per channel.

    Same arguments and behaviour as ``BatchNorm1d``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> nn.BatchNorm2d(3)(np.random.default_rng(0).normal(size=(4, 3, 5, 5))).shape
        (4, 3, 5, 5)
    """

    _ndims = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its last axes (``normalized_shape``), then scale and shift.

    Unlike batch norm it does not depend on the batch, so train and eval
    behave the same (used in transformers and RNNs).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> ln = nn.LayerNorm(4)
        >>> y = ln(np.array([[1.0, 2.0, 3.0, 4.0]]))
        >>> bool(abs(float(y.data.mean())) < 1e-6)
        True
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):  # numpy integers too
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        check_sizes(
            "LayerNorm", **{f"normalized_shape[{i}]": n for i, n in enumerate(normalized_shape)}
        )
        self.elementwise_affine = bool(elementwise_affine)
        self.eps = eps
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape), dtype=dtype)
            self.bias = Parameter(np.zeros(self.normalized_shape), dtype=dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        """Normalise over the trailing ``normalized_shape`` axes."""
        x = as_input(x, self.weight.dtype if self.weight is not None else None)
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            raise ValueError(
                f"{self.describe()} expects input whose last dimension(s) are "
                f"{self.normalized_shape} (normalized_shape), got shape {x.shape}"
            )
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        s = f"{self.normalized_shape}, eps={self.eps}"
        return s if self.elementwise_affine else s + ", elementwise_affine=False"
