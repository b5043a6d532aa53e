"""``model.summary(input_shape)``: a Keras-style table of layers, output shapes and sizes.

One forward pass on zeros of ``input_shape`` with a batch axis of 1 (at the
model's ``batch_axis``: in front, or second for a time-major RNN) runs under
``no_grad`` and in eval mode (so batch norm's running statistics and dropout's
generator are untouched); forward hooks record each layer's output shape. The
training flags are restored afterwards.

Rows are the layers that do the work: modules without children, plus any
container that owns parameters or buffers directly (the model itself too: a bare layer, or a
model with a parameter of its own, gets a ``(model)`` row). Each row counts only
the parameters and buffers the module owns itself, so the rows add up to the
total. Buffers (running statistics) and frozen parameters
(``requires_grad=False``) are non-trainable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from .module import Module

__all__ = ["summary", "Summary"]


def _example_input(model: Any, input_shape: tuple[int, ...], dtype: Any, caller: str) -> np.ndarray:
    """Zeros of ``input_shape`` with a batch axis of 1 inserted at ``model.batch_axis``."""
    shape = tuple(input_shape)
    axis = getattr(model, "batch_axis", 0)
    if not 0 <= axis <= len(shape):
        raise ValueError(
            f"{caller}: {type(model).__name__} takes its batch on axis {axis}, so input_shape "
            f"(one sample, without the batch axis) needs at least {axis} axes; got {shape}"
        )
    return np.zeros((*shape[:axis], 1, *shape[axis:]), dtype=dtype)


class Summary(str):
    """The printed table as a string, with the counts as attributes.

    Attributes: ``rows`` (list of ``(name, type, output_shape, params)``),
    ``total_params``, ``trainable_params``, ``non_trainable_params``.

    Example:
        >>> import nn
        >>> s = nn.Sequential(nn.Linear(2, 2)).summary((2,), print_fn=None)
        >>> s.trainable_params, len(s.rows)
        (6, 1)
    """

    rows: list[tuple[str, str, str, int]]
    total_params: int
    trainable_params: int
    non_trainable_params: int

    def __repr__(self) -> str:
        return (
            f"<Summary: {len(self.rows)} layers, {self.total_params:,} parameters "
            f"({self.trainable_params:,} trainable)>"
        )


def _shape_of(out: Any) -> str:
    if isinstance(out, (Tensor, np.ndarray)):
        return str(tuple(out.shape))
    if isinstance(out, (tuple, list)):
        return "[" + ", ".join(_shape_of(o) for o in out) + "]"
    return type(out).__name__


def summary(
    model: Any,
    input_shape: tuple[int, ...],
    dtype: Any = np.float32,
    print_fn: Callable[[str], Any] | None = print,
) -> Summary:
    """Print (with ``print_fn``; None: don't) and return the summary table of ``model``.

    Args:
        model: an ``nn.Module``.
        input_shape: the shape of one sample (without the batch axis). The batch
            axis of 1 goes at ``model.batch_axis``: in front, but second for a
            time-major recurrent layer or model, so ``nn.LSTM(3, 5).summary((7, 3))``
            runs on (7, 1, 3): 7 steps of a batch of 1.
        dtype: dtype of the zeros fed in (use an integer dtype for ``Embedding`` models).
        print_fn: where to send the text (``print`` by default).

    Example:
        >>> import nn
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 2))
        >>> _ = model.summary((4,))  # doctest: +NORMALIZE_WHITESPACE
        Model: Sequential   input (1, 4) float32
        ==============================================================
        Layer (type)             Output shape           Param #
        ==============================================================
        0 (Linear)               (1, 8)                      40
        1 (ReLU)                 (1, 8)                       0
        2 (BatchNorm1d)          (1, 8)                      32
        3 (Linear)               (1, 2)                      18
        ==============================================================
        Total params: 90
        Trainable params: 74
        Non-trainable params: 16
        --------------------------------------------------------------
    """
    modules = list(model.named_modules())
    calls: list[tuple[int, str]] = []  # (module id, output shape), one per forward call

    def hook(module: Any, args: tuple, out: Any) -> None:
        calls.append((id(module), _shape_of(out)))

    x = _example_input(model, input_shape, dtype, "summary")
    flags = [(m, m.training) for _, m in modules]
    handles = [m.register_forward_hook(hook) for _, m in modules]
    try:
        model.eval()
        with ad.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, flag in flags:
            m.__dict__["training"] = flag

    # A module registered at several paths (one layer used twice) gets a row per path;
    # its parameters count once, on its first row, so the rows still add up to the total.
    paths: dict[int, list[str]] = {}
    module_of: dict[int, Module] = {}
    for path, m in model.named_modules(remove_duplicate=False):
        owns = any(p is not None for p in m._parameters.values()) or any(
            b is not None for b in m._buffers.values()
        )
        if not m._modules or owns:
            paths.setdefault(id(m), []).append(path or "(model)")
            module_of[id(m)] = m
    rows = []

    def add_row(key: int, k: int, shape: str) -> None:
        m, first = module_of[key], paths[key][0]
        own = 0
        if k == 0:
            own = sum(p.size for p in m.parameters(recurse=False))
            own += sum(b.size for b in m.buffers(recurse=False))
        kind = type(m).__name__ + (f", shared with {first}" if k else "")
        rows.append((paths[key][k], kind, shape, own))

    # The k-th call of a module fills its k-th path's row; calls beyond its paths (a cell
    # called in a loop) fold into the rows it has.
    seen: dict[int, int] = {}
    for key, shape in calls:
        if key in paths:
            k = seen[key] = seen.get(key, -1) + 1
            if k < len(paths[key]):
                add_row(key, k, shape)
    for key in paths:  # paths no call went through
        for k in range(min(seen.get(key, -1) + 1, len(paths[key])), len(paths[key])):
            add_row(key, k, "not called")

    params = list(model.parameters())
    trainable = sum(p.size for p in params if p.requires_grad)
    frozen = sum(p.size for p in params if not p.requires_grad)
    buffers = sum(b.size for b in model.buffers())
    non_trainable = frozen + buffers

    name_w = max([24] + [len(f"{r[0]} ({r[1]})") + 2 for r in rows])
    shape_w = max([22] + [len(r[2]) + 2 for r in rows])
    width = name_w + shape_w + 16
    lines = [
        f"Model: {type(model).__name__}   input {x.shape} {x.dtype.name}",
        "=" * width,
        f"{'Layer (type)':<{name_w}} {'Output shape':<{shape_w}} {'Param #':>14}",
        "=" * width,
    ]
    for path, kind, shape, own in rows:
        lines.append(f"{f'{path} ({kind})':<{name_w}} {shape:<{shape_w}} {own:>14,}")
    lines += [
        "=" * width,
        f"Total params: {trainable + non_trainable:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {non_trainable:,}",
        "-" * width,
    ]
    text = Summary("\n".join(lines))
    text.rows = rows
    text.total_params = trainable + non_trainable
    text.trainable_params = trainable
    text.non_trainable_params = non_trainable
    if print_fn is not None:
        print_fn(str(text))
    return text
