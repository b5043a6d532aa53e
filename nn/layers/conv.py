"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d`` (NCHW, on the numba conv ops).

Both own a weight (and an optional bias) and call ``autodiff.conv2d`` /
``autodiff.conv_transpose2d``; every gradient, parameters included, is the op's.
Inputs are checked up front so a wrong shape is reported by the layer, with its
name inside the model, before any kernel runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.ops.conv import pair

from .. import init
from ..module import Module, Parameter
from ._util import as_input, check_float, check_images, check_sizes

__all__ = ["Conv2d", "ConvTranspose2d", "conv_output_size"]


def conv_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution (or pooling) window sliding along one axis.

    ``(size + 2*padding - dilation*(kernel - 1) - 1) // stride + 1``; below 1 means
    the window does not fit.

    Example:
        >>> from nn.layers.conv import conv_output_size
        >>> conv_output_size(28, 5), conv_output_size(28, 5, padding=2), conv_output_size(24, 2, 2)
        (24, 28, 12)
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _same_padding(
    kernel: tuple[int, int], dilation: tuple[int, int], stride: tuple[int, int]
) -> tuple[int, int]:
    # The conv op pads both sides equally, so "same" needs an even total padding per axis.
    if stride != (1, 1):
        raise ValueError(f"Conv2d: padding='same' needs stride 1, got stride={stride}")
    span = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if any(s % 2 for s in span):
        raise ValueError(
            f"Conv2d: padding='same' needs an odd kernel (dilation*(kernel-1) even), got "
            f"kernel_size={kernel}, dilation={dilation}"
        )
    return span[0] // 2, span[1] // 2


class _ConvNd(Module):
    """What both convolution layers share: hyper-parameters, bias, repr and input checks."""

    _transposed = False

    def _setup(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
        dtype: Any,
    ) -> None:
        name = type(self).__name__
        check_sizes(name, in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size", name, 1)
        self.stride = pair(stride, "stride", name, 1)
        self.dilation = pair(dilation, "dilation", name, 1)
        if isinstance(padding, str):
            if padding == "valid":
                padding = 0
            elif padding == "same" and not self._transposed:
                padding = _same_padding(self.kernel_size, self.dilation, self.stride)
            else:
                raise ValueError(f"{name}: unknown padding {padding!r}")
        self.padding = pair(padding, "padding", name, 0)
        self.groups = int(groups)
        if bias:
            self.bias = Parameter(np.zeros(out_channels), dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def _check(self, x: Any) -> Tensor:
        x = as_input(x, self.weight.dtype)
        check_images(self, x, self.in_channels)
        check_float(self, x, self.weight.dtype)
        return x

    def _too_small(self, x: Tensor, out_hw: tuple[int, int]) -> ValueError:
        return ValueError(
            f"{self.describe()} got input of shape {x.shape}, too small for kernel_size="
            f"{self.kernel_size}, stride={self.stride}, padding={self.padding}, dilation="
            f"{self.dilation}: the output would be {out_hw[0]}x{out_hw[1]} (pad the input or "
            "use a smaller kernel)"
        )

    def extra_repr(self) -> str:
        # PyTorch's format: defaults are left out.
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) images: the lecture notes' Convolution layer.

    Each of the ``out_channels`` filters has shape (in_channels/groups, KH, KW); it
    slides over the (zero-padded) input and its dot product with every window, plus
    the filter's bias, is one pixel of its feature map. Output (N, out_channels,
    OH, OW) with OH = (H + 2*padding - dilation*(KH-1) - 1)//stride + 1
    (``conv_output_size``).

    Args:
        in_channels: C of the input (1 for grey images, 3 for RGB).
        out_channels: number of filters (feature maps produced).
        kernel_size: filter size, an int or (KH, KW).
        stride: step between windows, an int or a pair.
        padding: zeros added on each side, an int, a pair, ``"valid"`` (0) or
            ``"same"`` (output as large as the input; stride 1 and odd kernels only).
        dilation: spacing between filter taps (an "a trous" convolution).
        groups: split input and output channels into independent groups
            (``groups=in_channels`` is a depthwise convolution).
        bias: learn one bias per filter (initialised to zeros).
        weight_init: ``"he"`` (default: std sqrt(2 / fan_in), fan_in =
            in_channels/groups * KH * KW, for ReLU nets) or anything
            ``nn.init.initialize`` accepts (``"xavier"``, a float std, a callable).
        dtype: parameter dtype (float32).

    Weight layout (out_channels, in_channels/groups, KH, KW), as in PyTorch.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> conv = nn.Conv2d(1, 30, 5)  # the notes' MNIST layer: 30 filters of 1x5x5
        >>> conv
        Conv2d(1, 30, kernel_size=(5, 5), stride=(1, 1))
        >>> conv.weight.shape, conv(np.zeros((8, 1, 28, 28), np.float32)).shape
        ((30, 1, 5, 5), (8, 30, 24, 24))
        >>> nn.Conv2d(3, 8, 3, padding="same")(np.zeros((2, 3, 7, 7), np.float32)).shape
        (2, 8, 7, 7)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        weight_init: Any = "he",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype
        )
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.zeros(shape), dtype=dtype)
        init.initialize(self.weight, weight_init)

    def output_shape(self, h: int, w: int) -> tuple[int, int]:
        """(OH, OW) for an (H, W) input (values below 1 mean the input is too small).

        Example:
            >>> import nn
            >>> nn.Conv2d(1, 6, 5, padding=2).output_shape(28, 28)
            (28, 28)
        """
        return (
            conv_output_size(h, self.kernel_size[0], self.stride[0], *self._pd(0)),
            conv_output_size(w, self.kernel_size[1], self.stride[1], *self._pd(1)),
        )

    def _pd(self, axis: int) -> tuple[int, int]:
        return self.padding[axis], self.dilation[axis]

    def forward(self, x: Any) -> Tensor:
        """Convolve an (N, in_channels, H, W) batch; returns (N, out_channels, OH, OW)."""
        x = self._check(x)
        out_hw = self.output_shape(*x.shape[2:])
        if min(out_hw) < 1:
            raise self._too_small(x, out_hw)
        return ad.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class ConvTranspose2d(_ConvNd):
    """Transposed convolution ("deconvolution"): the gradient of ``Conv2d`` w.r.t. its input.

    Each input pixel scatters a weighted copy of its filter into the output, so a
    stride of 2 roughly doubles H and W (decoders, upsampling in generators and
    segmentation nets). Output size per axis:
    (H - 1)*stride - 2*padding + dilation*(K - 1) + output_padding + 1.
    ``output_padding`` (< stride) adds rows/columns on one side, to pick between
    the several input sizes a strided ``Conv2d`` maps to the same output size;
    ``forward(x, output_size=(H, W))`` chooses it for you.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias:
            as in ``Conv2d`` (padding: an int or a pair; it crops the output).
        output_padding: an int or a pair, each smaller than the stride.
        weight_init: ``"he"`` by default. Fans are those of the convolution this
            layer transposes (fan_in = in_channels * KH * KW for groups=1), which is
            how many inputs each output pixel sums when stride is 1.
        dtype: parameter dtype (float32).

    Weight layout (in_channels, out_channels/groups, KH, KW), as in PyTorch.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> up = nn.ConvTranspose2d(16, 8, 2, stride=2)  # doubles H and W
        >>> up
        ConvTranspose2d(16, 8, kernel_size=(2, 2), stride=(2, 2))
        >>> up(np.zeros((4, 16, 7, 7), np.float32)).shape
        (4, 8, 14, 14)
        >>> up3 = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
        >>> up3(np.zeros((4, 16, 7, 7), np.float32)).shape
        (4, 8, 14, 14)
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, int] = 1,
        weight_init: Any = "he",
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        self._setup(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, dtype
        )
        self.output_padding = pair(output_padding, "output_padding", "ConvTranspose2d", 0)
        if any(e >= s for e, s in zip(self.output_padding, self.stride)):
            raise ValueError(
                f"ConvTranspose2d: output_padding {self.output_padding} must be smaller than "
                f"the stride {self.stride}"
            )
        g, kh, kw = self.groups, *self.kernel_size
        og, ig = self.out_channels // g, self.in_channels // g
        self.weight = Parameter(np.zeros((self.in_channels, og, kh, kw)), dtype=dtype)
        # Initialised in the transposed convolution's own layout (out, in/groups, KH, KW), so
        # the fans are its own (each output pixel sums in/groups * KH * KW inputs); a callable
        # gets that layout as a Parameter too, then the values move to the stored layout.
        own = Parameter(np.zeros((self.out_channels, ig, kh, kw)), dtype=self.weight.dtype)
        init.initialize(own, weight_init)
        self.weight.data[...] = (
            own.data.reshape(g, og, ig, kh, kw).transpose(0, 2, 1, 3, 4).reshape(-1, og, kh, kw)
        )

    def output_shape(
        self, h: int, w: int, output_padding: tuple[int, int] | None = None
    ) -> tuple[int, int]:
        """(OH, OW) for an (H, W) input.

        Example:
            >>> import nn
            >>> nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1).output_shape(7, 7)
            (14, 14)
        """
        extra = self.output_padding if output_padding is None else output_padding
        return tuple(  # type: ignore[return-value]
            (size - 1) * self.stride[a]
            - 2 * self.padding[a]
            + self.dilation[a] * (self.kernel_size[a] - 1)
            + extra[a]
            + 1
            for a, size in enumerate((h, w))
        )

    def forward(self, x: Any, output_size: tuple[int, int] | None = None) -> Tensor:
        """Upsample an (N, in_channels, H, W) batch; ``output_size`` picks output_padding."""
        x = self._check(x)
        extra = self.output_padding
        if output_size is not None:
            base = self.output_shape(*x.shape[2:], output_padding=(0, 0))
            want = tuple(int(v) for v in tuple(output_size)[-2:])
            extra = (want[0] - base[0], want[1] - base[1])
            if not all(0 <= e < s for e, s in zip(extra, self.stride)):
                hi = (base[0] + self.stride[0] - 1, base[1] + self.stride[1] - 1)
                raise ValueError(
                    f"{self.describe()} cannot produce output_size {want} from input of shape "
                    f"{x.shape}: possible sizes are {base} to {hi}"
                )
        out_hw = self.output_shape(*x.shape[2:], output_padding=extra)
        if min(out_hw) < 1:
            raise self._too_small(x, out_hw)
        return ad.conv_transpose2d(
            x,
            self.weight,
            self.bias,
            stride=self.stride,
            padding=self.padding,
            output_padding=extra,
            dilation=self.dilation,
            groups=self.groups,
        )
