"""Convolutional networks: ``SimpleCNN`` (the lecture notes' net) and ``LeNet5``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from .. import layers
from ..layers.conv import conv_output_size
from ..module import Module, Sequential

__all__ = ["SimpleCNN", "LeNet5"]


def _image_shape(input_shape: Sequence[int], who: str) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"{who}: input_shape must be (channels, height, width) of one image, e.g. "
            f"(1, 28, 28), got {tuple(input_shape)}"
        )
    return shape  # type: ignore[return-value]


class SimpleCNN(Sequential):
    """conv -> relu -> pool -> affine -> relu -> affine: the lecture notes' CNN.

    With the defaults it is the notes' MNIST network (``SimpleConvNet``): 30 filters of
    5x5, stride 1, no padding, 2x2 max pooling, 100 hidden units, 10 classes; on
    1x28x28 images that is 28 -> 24 (conv) -> 12 (pool) -> 30*12*12 = 4320 features.
    ``channels`` may list several filter counts for a stack of conv -> relu -> pool
    blocks. Layers are named ``conv1, [bn1,] relu1, pool1, [drop1,] ..., flatten,
    fc1, relu<k>, [drop<k>,] fc2`` so the first filters are ``model.conv1.weight``.

    Args:
        input_shape: (channels, height, width) of one image.
        channels: filters per conv block (an int: one block).
        kernel_size, stride, padding: of every conv (``padding="same"`` keeps the size).
        pool_size: max-pooling window and stride after every conv (1: no pooling).
        hidden: units of the hidden fully connected layer.
        num_classes: outputs (raw scores: pair with ``CrossEntropyLoss``).
        batchnorm: ``BatchNorm2d`` after every conv.
        dropout: ``Dropout2d`` after every block and ``Dropout`` after the hidden layer.
        weight_init: of every conv and linear layer (He by default, for ReLU).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> model = nn.models.SimpleCNN()  # MNIST-shaped input
        >>> [name for name, _ in model.named_children()]
        ['conv1', 'relu1', 'pool1', 'flatten', 'fc1', 'relu2', 'fc2']
        >>> model(np.zeros((2, 1, 28, 28), np.float32)).shape, model.num_parameters()
        ((2, 10), 433890)
        >>> digits = nn.models.SimpleCNN((1, 8, 8), channels=16, kernel_size=3, padding=1)
        >>> digits.fc1
        Linear(in_features=256, out_features=100, bias=True)
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        channels: int | Sequence[int] = 30,
        kernel_size: int = 5,
        stride: int = 1,
        padding: int | str = 0,
        pool_size: int = 2,
        hidden: int = 100,
        num_classes: int = 10,
        batchnorm: bool = False,
        dropout: float = 0.0,
        weight_init: Any = "he",
    ) -> None:
        c, h, w = _image_shape(input_shape, "SimpleCNN")
        widths = [channels] if isinstance(channels, int) else list(channels)
        if not widths or any(int(n) != n or n < 1 for n in widths):
            raise ValueError(f"SimpleCNN: channels must be positive ints, got {channels!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"SimpleCNN: dropout must be in [0, 1), got {dropout}")
        blocks: OrderedDict[str, Module] = OrderedDict()
        size = (h, w)
        for i, out in enumerate(widths, start=1):
            conv = layers.Conv2d(c, int(out), kernel_size, stride, padding, weight_init=weight_init)
            pool = layers.MaxPool2d(pool_size) if pool_size > 1 else None
            size = conv.output_shape(*size)
            if pool is not None and min(size) >= 1:
                size = pool.output_shape(*size)
            if min(size) < 1:
                raise ValueError(
                    f"SimpleCNN: a {h}x{w} input shrinks to nothing in block {i} "
                    f"(kernel_size={kernel_size}, padding={padding}, pool_size={pool_size}); "
                    "use padding, a smaller kernel or fewer blocks"
                )
            blocks[f"conv{i}"] = conv
            if batchnorm:
                blocks[f"bn{i}"] = layers.BatchNorm2d(int(out))
            blocks[f"relu{i}"] = layers.ReLU()
            if pool is not None:
                blocks[f"pool{i}"] = pool
            if dropout > 0.0:
                blocks[f"drop{i}"] = layers.Dropout2d(dropout)
            c = int(out)
        k = len(widths) + 1
        blocks["flatten"] = layers.Flatten()
        blocks["fc1"] = layers.Linear(c * size[0] * size[1], hidden, weight_init=weight_init)
        blocks[f"relu{k}"] = layers.ReLU()
        if dropout > 0.0:
            blocks[f"drop{k}"] = layers.Dropout(dropout)
        blocks["fc2"] = layers.Linear(hidden, num_classes, weight_init=weight_init)
        super().__init__(blocks)
        self.input_shape = (int(input_shape[0]), h, w)

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}"


class LeNet5(Sequential):
    """LeNet-5 (LeCun et al. 1998) with today's defaults: ReLU and max pooling.

    conv 5x5 (6) -> act -> pool 2 -> conv 5x5 (16) -> act -> pool 2 -> fc 120 -> act
    -> fc 84 -> act -> fc ``num_classes``. The original ran on 32x32 images; padding
    the first conv by 2 (the default ``padding=(2, 0)``) gives the same sizes on
    28x28 MNIST: 28 -> 28 -> 14 -> 10 -> 5, so fc1 sees 16*5*5 = 400 features.

    Small images: the two 5x5 convs and two poolings need at least 28x28 without
    padding of the second conv. For the 8x8 digits use ``input_size=8,
    padding=(2, 2)`` (8 -> 8 -> 4 -> 4 -> 2, fc1 sees 64 features), or upsample the
    images to 28x28 first. Too small a configuration is refused when the model is
    built, with the sizes it would reach.

    Args:
        in_channels: image channels (1 for MNIST).
        num_classes: outputs (raw scores).
        input_size: height and width of the (square) images, or an (H, W) pair.
        padding: of the first conv, or a (first, second) pair.
        activation: ``"relu"`` (default) or ``"tanh"`` (1998 used a scaled tanh).
        pool: ``"max"`` (default) or ``"avg"`` (1998's subsampling).

    Layer names: ``conv1, act1, pool1, conv2, act2, pool2, flatten, fc1, act3, fc2,
    act4, fc3``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> model = nn.models.LeNet5()
        >>> model(np.zeros((2, 1, 28, 28), np.float32)).shape, model.num_parameters()
        ((2, 10), 61706)
        >>> small = nn.models.LeNet5(input_size=8, padding=(2, 2))
        >>> small(np.zeros((2, 1, 8, 8), np.float32)).shape, small.fc1.in_features
        ((2, 10), 64)
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        input_size: int | tuple[int, int] = 28,
        padding: int | tuple[int, int] = (2, 0),
        activation: str = "relu",
        pool: str = "max",
    ) -> None:
        hw = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
        pads = (padding, 0) if isinstance(padding, int) else tuple(padding)
        acts = {"relu": layers.ReLU, "tanh": layers.Tanh}
        pools = {"max": layers.MaxPool2d, "avg": layers.AvgPool2d}
        if activation not in acts:
            raise ValueError(f"LeNet5: activation must be 'relu' or 'tanh', got {activation!r}")
        if pool not in pools:
            raise ValueError(f"LeNet5: pool must be 'max' or 'avg', got {pool!r}")
        init = "he" if activation == "relu" else "xavier"
        blocks: OrderedDict[str, Module] = OrderedDict()
        size = (int(hw[0]), int(hw[1]))
        sizes = [size]
        c = in_channels
        for i, (out, pad) in enumerate(zip((6, 16), pads), start=1):
            blocks[f"conv{i}"] = layers.Conv2d(c, out, 5, padding=pad, weight_init=init)
            blocks[f"act{i}"] = acts[activation]()
            blocks[f"pool{i}"] = pools[pool](2)
            size = tuple(conv_output_size(conv_output_size(s, 5, 1, pad), 2, 2) for s in size)
            sizes.append(size)
            if min(size) < 1:
                raise ValueError(
                    f"LeNet5: {hw[0]}x{hw[1]} images shrink to nothing (sizes after each "
                    f"conv+pool block: {sizes}); pad the convs, e.g. input_size={hw[0]}, "
                    "padding=(2, 2) for 8x8 images, or upsample the images"
                )
            c = out
        blocks["flatten"] = layers.Flatten()
        blocks["fc1"] = layers.Linear(16 * size[0] * size[1], 120, weight_init=init)
        blocks["act3"] = acts[activation]()
        blocks["fc2"] = layers.Linear(120, 84, weight_init=init)
        blocks["act4"] = acts[activation]()
        blocks["fc3"] = layers.Linear(84, num_classes, weight_init=init)
        super().__init__(blocks)
        self.input_size = (int(hw[0]), int(hw[1]))

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}"
