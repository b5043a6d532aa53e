"""Pooling layers: ``MaxPool2d``, ``AvgPool2d`` and ``GlobalAvgPool2d`` (NCHW).

Pooling has nothing to learn (lecture notes: "a fixed max or mean over the window"),
works on each channel on its own and keeps the channel count; with the usual
window = stride = 2 it halves H and W.
"""

from __future__ import annotations

from typing import Any

import autodiff as ad
from autodiff import Tensor
from autodiff.ops.conv import pair

from ..module import Module
from ._util import as_input, check_images
from .conv import conv_output_size

__all__ = ["MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"]


class _Pool2d(Module):
    _op: Any = None

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride = self.kernel_size if stride is None else pair(stride, "stride", name, 1)
        self.padding = pair(padding, "padding", name, 0)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(
                f"{name}: padding {self.padding} must be at most half the kernel size "
                f"{self.kernel_size}"
            )

    def output_shape(self, h: int, w: int) -> tuple[int, int]:
        """(OH, OW) for an (H, W) input (floor mode: a partial last window is dropped).

        Example:
            >>> import nn
            >>> nn.MaxPool2d(2).output_shape(24, 24), nn.MaxPool2d(2).output_shape(7, 7)
            ((12, 12), (3, 3))
        """
        k, s, p = self.kernel_size, self.stride, self.padding
        return conv_output_size(h, k[0], s[0], p[0]), conv_output_size(w, k[1], s[1], p[1])

    def forward(self, x: Any) -> Tensor:
        """Pool each (N, C, H, W) channel; returns (N, C, OH, OW)."""
        x = as_input(x)
        check_images(self, x)
        out_hw = self.output_shape(*x.shape[2:])
        if min(out_hw) < 1:
            raise ValueError(
                f"{self.describe()} got input of shape {x.shape}, smaller than its window "
                f"{self.kernel_size} (padding {self.padding})"
            )
        return type(self)._op(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum over each window: keeps the strongest response, tolerant to small shifts.

    Args:
        kernel_size: window size, an int or (KH, KW).
        stride: step between windows (default: ``kernel_size``, windows do not overlap).
        padding: -inf padding on each side, at most half the window.

    The gradient goes to the window's maximum (split evenly between tied maxima).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> pool = nn.MaxPool2d(2)
        >>> pool
        MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
        >>> x = np.array([[[[1, 2, 0, 1], [3, 4, 1, 0], [0, 1, 5, 6], [1, 0, 7, 8]]]], np.float32)
        >>> pool(x).numpy().tolist()
        [[[[4.0, 1.0], [1.0, 8.0]]]]
    """

    _op = staticmethod(ad.max_pool2d)


class AvgPool2d(_Pool2d):
    """Mean over each window (zero padding counts in the mean, as in PyTorch's default).

    Args:
        kernel_size: window size, an int or (KH, KW).
        stride: step between windows (default: ``kernel_size``).
        padding: zero padding on each side, at most half the window.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
        >>> nn.AvgPool2d(2)(x).numpy().tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """

    _op = staticmethod(ad.avg_pool2d)


class GlobalAvgPool2d(Module):
    """Mean of each channel over all of H and W: (N, C, H, W) -> (N, C).

    Replaces flatten + a big fully connected layer at the end of modern CNNs
    (fewer parameters, any input size). ``keepdims=True`` gives (N, C, 1, 1).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> nn.GlobalAvgPool2d()(np.ones((2, 3, 5, 5), np.float32)).shape
        (2, 3)
    """

    def __init__(self, keepdims: bool = False) -> None:
        super().__init__()
        self.keepdims = bool(keepdims)

    def forward(self, x: Any) -> Tensor:
        """Average each channel of an (N, C, H, W) batch."""
        x = as_input(x)
        check_images(self, x)
        return ad.global_avg_pool2d(x, keepdims=self.keepdims)

    def extra_repr(self) -> str:
        return f"keepdims={self.keepdims}" if self.keepdims else ""
