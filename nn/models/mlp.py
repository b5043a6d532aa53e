"""``MLP``: a multi-layer perceptron from a list of layer sizes."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from .. import layers
from ..module import Module, Sequential

__all__ = ["MLP"]

_ACTIVATIONS: dict[str, Callable[[], Module]] = {
    "relu": layers.ReLU,
    "leaky_relu": layers.LeakyReLU,
    "elu": layers.ELU,
    "selu": layers.SELU,
    "sigmoid": layers.Sigmoid,
    "tanh": layers.Tanh,
    "softplus": layers.Softplus,
    "identity": layers.Identity,
}
# The lecture notes' advice: He initialisation for ReLU-like units, Xavier for S-shaped ones.
# Keyed by the layer class, so that "Tanh", "tanh", nn.Tanh and nn.Tanh() all agree.
_DEFAULT_INIT: dict[type[Module], str] = {
    layers.Sigmoid: "xavier",
    layers.Tanh: "xavier",
    layers.SELU: "lecun",
}


class MLP(Sequential):
    """Fully connected layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Every hidden block is ``Linear -> [BatchNorm1d] -> activation -> [Dropout]``
    (the lecture notes' Affine -> BatchNorm -> ReLU -> Dropout); the last layer is
    a plain ``Linear`` giving raw scores (pair it with ``CrossEntropyLoss``).
    Layers are named ``fc1, bn1, act1, drop1, ..., fc<n>``, so the weights are
    ``fc1.weight`` and so on.

    Args:
        sizes: input size, hidden sizes..., output size (at least two numbers).
        activation: ``"relu"`` (default), ``"leaky_relu"``, ``"elu"``, ``"selu"``,
            ``"sigmoid"``, ``"tanh"``, ``"softplus"``, ``"identity"`` (any case), a
            callable returning a fresh activation module (e.g. ``nn.LeakyReLU``), or a
            module (e.g. ``nn.LeakyReLU(0.1)``), copied for every hidden layer.
        dropout: drop probability after every hidden activation (0: no Dropout layers).
        batchnorm: insert ``BatchNorm1d`` after every hidden ``Linear``.
        init: weight initialisation of every ``Linear`` (see ``nn.init.initialize``);
            by default He for ReLU-like activations, Xavier for sigmoid/tanh, LeCun for SELU,
            whichever way the activation is given. Kept as ``weight_init``.
        output_activation: optional activation after the last layer (e.g. ``"sigmoid"``).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> model = nn.models.MLP([64, 100, 10], dropout=0.2, batchnorm=True)
        >>> [name for name, _ in model.named_children()]
        ['fc1', 'bn1', 'act1', 'drop1', 'fc2']
        >>> model(np.zeros((5, 64), np.float32)).shape, model.num_parameters()
        ((5, 10), 7710)
        >>> nn.models.MLP([2, 3], activation=nn.Tanh).weight_init
        'xavier'
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Module | Callable[[], Module] = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        init: Any = None,
        output_activation: str | Module | Callable[[], Module] | None = None,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, got sizes={sizes}")
        for s in sizes:
            if isinstance(s, bool) or int(s) != s or s < 1:
                raise ValueError(f"MLP sizes must be positive integers, got sizes={sizes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP dropout must be in [0, 1), got {dropout}")
        make_act = _activation(activation)
        if init is None:
            init = _default_init(make_act())
        blocks: OrderedDict[str, Module] = OrderedDict()
        n = len(sizes) - 1
        for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:]), start=1):
            blocks[f"fc{i}"] = layers.Linear(int(fan_in), int(fan_out), weight_init=init)
            if i == n:
                break
            if batchnorm:
                blocks[f"bn{i}"] = layers.BatchNorm1d(int(fan_out))
            blocks[f"act{i}"] = make_act()
            if dropout > 0.0:
                blocks[f"drop{i}"] = layers.Dropout(dropout)
        if output_activation is not None:
            blocks["out_act"] = _activation(output_activation)()
        super().__init__(blocks)
        self.sizes = [int(s) for s in sizes]
        self.weight_init = init

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}"


def _default_init(act: Module) -> str:
    return next((init for cls, init in _DEFAULT_INIT.items() if isinstance(act, cls)), "he")


def _activation(activation: str | Module | Callable[[], Module]) -> Callable[[], Module]:
    if isinstance(activation, Module):
        return lambda: copy.deepcopy(activation)
    if callable(activation):
        return activation
    factory = _ACTIVATIONS.get(str(activation).lower())
    if factory is None:
        raise ValueError(
            f"unknown activation {activation!r}; use one of {sorted(_ACTIVATIONS)}, a "
            "module, or a callable returning one"
        )
    return factory
