"""``plot_model(model, input_shape)``: a layer-level diagram with output shapes and sizes.

In the spirit of Keras ``plot_model(show_shapes=True)``: one box per layer
(``0: Linear``), its parameter count and output shape, edges labelled with the
shape flowing between layers. It is ``autodiff.viz.forward_graph`` with every
module below ``depth`` collapsed into a box, so models that branch or share
layers are drawn as they really run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import viz

from .summary import _example_input

__all__ = ["plot_model"]


def plot_model(
    model: Any,
    input_shape: tuple[int, ...],
    dtype: Any = np.float32,
    depth: int = 1,
    rankdir: str = "TB",
    **options: Any,
) -> Any:
    """Draw ``model`` layer by layer as a ``graphviz.Digraph`` (render with ``viz.render``).

    One forward pass on zeros of ``input_shape`` with a batch axis of 1 (at
    ``model.batch_axis``, as in :func:`nn.summary.summary`) runs in eval mode
    (batch-norm statistics untouched; training flags restored afterwards) and
    is drawn with each module at nesting ``depth`` (1 = the model's own
    layers) collapsed into one box.

    Args:
        model: an ``nn.Module``.
        input_shape: the shape of one sample (without the batch axis).
        dtype: dtype of the zeros fed in (an integer dtype for ``Embedding`` models).
        depth: how deep to open nested modules; 1 shows the model's children.
        rankdir: ``"TB"`` or ``"LR"``.
        **options: any other ``autodiff.viz.Options`` field.

    Example:
        >>> import nn
        >>> from nn.viz import plot_model
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> dot = plot_model(model, (4,))
        >>> "0: Linear" in dot.source and "40 params" in dot.source and "(1, 2)" in dot.source
        True
    """
    modules = list(model.named_modules())
    root = type(model).__name__
    titles = {root: root}
    # every path of a layer used at several places, since a call is scoped by the one it took
    for path, module in model.named_modules(remove_duplicate=False):
        if path:
            titles[f"{root}.{path}"] = f"{path}: {type(module).__name__}"
    x = ad.Tensor(_example_input(model, input_shape, dtype, "plot_model"), name="input")
    flags = [(m, m.training) for _, m in modules]
    try:
        model.eval()
        y = model(x)
    finally:
        for m, flag in flags:
            m.__dict__["training"] = flag
    outputs = _tensors_in(y)  # an LSTM returns (out, (h, c)); a model may return a dict
    if not outputs:
        raise TypeError(
            f"plot_model: {root} returned {type(y).__name__}, which holds no Tensor to draw"
        )
    names = {"output" if len(outputs) == 1 else f"output {i}": t for i, t in enumerate(outputs)}
    names["input"] = x
    settings = {
        "show_values": False,
        "show_grads": False,
        "depth": depth + 1,  # the model's own class name is the outermost scope
        "rankdir": rankdir,
        "box_titles": titles,
        "names": names,
        "title": options.pop("title", root),
        **options,
    }
    return viz.forward_graph(*outputs, **settings)


def _tensors_in(value: Any) -> list[ad.Tensor]:
    """The Tensors in a model's output, in order, from nested tuples, lists and dicts."""
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, ad.Tensor):
            found.append(item)
        elif isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
    return found
