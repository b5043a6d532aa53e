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

    One forward pass on zeros of shape ``(1, *input_shape)`` runs in eval mode
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
    for path, module in modules:
        if path:
            titles[f"{root}.{path}"] = f"{path}: {type(module).__name__}"
    x = ad.Tensor(np.zeros((1, *input_shape), dtype=dtype), name="input")
    flags = [(m, m.training) for _, m in modules]
    try:
        model.eval()
        y = model(x)
    finally:
        for m, flag in flags:
            m.__dict__["training"] = flag
    outputs = y if isinstance(y, tuple) else (y,)
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
