"""Helpers shared by the layers: turning user input into a Tensor of the right dtype."""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor


def as_input(x: Any, dtype: Any = None) -> Tensor:
    """The layer input ``x`` as a Tensor: a batch takes the layer's ``dtype``.

    Layers with parameters pass their parameters' dtype (float32 normally), so a
    float64 numpy batch does not silently turn a float32 model's activations into
    float64. A batch is a numpy array, a list, or a Tensor that wants no gradient
    (``requires_grad`` False: no graph behind it, such as a batch that went through
    a Flatten or a pooling layer first); a Tensor that wants gradients passes through
    untouched. Layers without parameters pass no ``dtype``: float arrays keep theirs
    (a float64 model keeps float64 through them) and anything else becomes float32.

    An array that already has the wanted dtype is used without a copy (as PyTorch's
    ``from_numpy`` shares memory): the graph reads it again in backward, so change
    a batch in place only after ``backward()``. Copying it cost 8% of an MLP step.

    Example:
        >>> import numpy as np
        >>> as_input(np.zeros((2, 3)), np.float32).dtype, as_input(np.zeros((2, 3))).dtype
        (dtype('float32'), dtype('float64'))
    """
    if isinstance(x, Tensor):
        if dtype is None or x.requires_grad or x.data.dtype == dtype:
            return x
        return Tensor(x.data.astype(dtype), _copy=False)
    arr = np.asarray(x)
    if dtype is None:
        if isinstance(x, np.ndarray) and arr.dtype.kind == "f":
            return Tensor(arr, _copy=False)
        dtype = ad.DEFAULT_FLOAT
    want = np.dtype(dtype)
    return Tensor(arr if arr.dtype == want else arr.astype(want), _copy=False)


def check_sizes(layer: str, **sizes: Any) -> None:
    """Raise a ValueError naming ``layer`` unless every size is a positive int.

    A float such as 4.5 is an error rather than silently 4; a bool is not a size.

    Example:
        >>> check_sizes("Linear", in_features=3, out_features=4.5)
        Traceback (most recent call last):
        ...
        ValueError: Linear: out_features must be a positive int, got 4.5
    """
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")


def check_images(layer: Any, x: Tensor, channels: int | None = None) -> None:
    """Raise a ValueError naming ``layer`` unless ``x`` is an (N, C, H, W) batch.

    ``channels`` (when given) is the C the layer was built for. The hints cover the
    two usual slips: a flat (N, H*W) batch fed to a convolution and a single
    (C, H, W) image without its batch axis.
    """
    want = "(N, C, H, W)" if channels is None else f"(N, C, H, W) with C = {channels}"
    if x.ndim != 4:
        hint = ""
        if x.ndim == 2:
            hint = "; a flat batch needs reshaping first, e.g. x.reshape(-1, 1, 28, 28)"
        elif x.ndim == 3:
            hint = "; a single image needs a batch axis, e.g. x[None]"
        raise ValueError(f"{layer.describe()} expects input {want}, got shape {x.shape}{hint}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{layer.describe()} expects {channels} input channels, got input of shape "
            f"{x.shape}{channels_last_hint(x, channels)}"
        )


def channels_last_hint(x: Tensor, channels: int) -> str:
    """The end of an error message for a channels-last batch given to a channels-first layer.

    Keras and the lecture notes put the channels last, (N, H, W, C); the convolution
    and batch-norm layers want them on axis 1. Empty unless ``x`` looks like that: its
    last axis, not axis 1, has ``channels`` entries.

    Example:
        >>> import numpy as np
        >>> channels_last_hint(np.zeros((2, 28, 28, 1)), 1).split(": ")[-1]
        'move the channels with x.transpose(0, 3, 1, 2)'
        >>> channels_last_hint(np.zeros((2, 3, 28, 28)), 1)
        ''
    """
    if x.ndim < 3 or x.shape[-1] != channels or x.shape[1] == channels:
        return ""
    layout = "(N, C, H, W)" if x.ndim == 4 else "(N, C, L)"
    axes = (0, x.ndim - 1, *range(1, x.ndim - 1))
    return (
        f"; the layer takes channels first, {layout}, and this looks like a channels-last "
        f"batch (C = {channels} on the last axis): move the channels with x.transpose{axes}"
    )


def check_float(layer: Any, x: Tensor, dtype: Any) -> None:
    """Raise a TypeError naming ``layer`` unless ``x`` has the layer's float ``dtype``.

    The convolution and recurrent kernels need input and weights of one dtype (a
    recurrent step would otherwise keep the state's dtype or the input's, depending on
    the cell). ``as_input`` converts batches; a tensor that wants gradients (of another
    dtype) gets this error rather than a silent conversion. The same dtype in swapped byte
    order (a '>f4' array read from a file) is the same number type: the ops take it.
    """
    if x.dtype != dtype and x.dtype.newbyteorder("=") != np.dtype(dtype).newbyteorder("="):
        raise TypeError(
            f"{layer.describe()} has {np.dtype(dtype).name} weights but got a {x.dtype.name} "
            f"input of shape {x.shape}; convert the input (x.astype(np.{np.dtype(dtype).name})) "
            f"or the model (model.astype(np.{x.dtype.name}))"
        )
