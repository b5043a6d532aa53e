"""Draw autodiff graphs: the apple bill, an MLP, an unrolled tanh RNN, gradient health, a CNN.

Writes SVG files (and PNG frames of the apple bill's backward pass) into an
output folder and prints their paths:

    python examples/visualize_graphs.py            # into out/graphs
    python examples/visualize_graphs.py --out /tmp/g --format png

Without the Graphviz ``dot`` program only the ``.dot`` sources are written.
To add a picture, write a function that takes the output folder and returns the paths
it wrote, and list it in ``DRAWINGS``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import viz

FORMAT = "svg"


def save(graph: Any, path: Path) -> Path:
    """Render ``graph`` when Graphviz is installed, else write its DOT source."""
    if viz.dot_available():
        return viz.render(graph, path.with_suffix("." + FORMAT), FORMAT)
    return viz.save_source(graph, path.with_suffix(".dot"))


# ------------------------------------------------------------------ the apple bill
def apple_bill() -> ad.Tensor:
    names = ["apple price", "apple count", "orange price", "orange count", "tax"]
    values = [100.0, 2.0, 150.0, 3.0, 1.1]
    price, count, oprice, ocount, tax = (
        ad.Tensor(np.array(v), requires_grad=True, name=n) for n, v in zip(names, values)
    )
    total = (price * count + oprice * ocount) * tax
    total.name = "total"
    return total


def draw_apple(out: Path) -> list[Path]:
    total = apple_bill()
    paths = [
        save(viz.forward_graph(total, title="apple bill: forward"), out / "apple_forward"),
        save(viz.backward_graph(total, title="apple bill: backward"), out / "apple_backward"),
        save(viz.combined_graph(total, title="apple bill"), out / "apple_combined"),
    ]
    frames = viz.backward_frames(total)
    if viz.dot_available():
        paths += viz.write_frames(frames, out / "apple_frames", format="png")
    return paths


# ------------------------------------------------------------------ an MLP
def mlp(sizes: list[int], act: Callable[[Any], Any], gain: float = 2.0, seed: int = 0):
    """An MLP from autodiff ops; each layer in ``name_scope`` as an nn.Module would do.

    Weights are drawn with variance ``gain / fan_in`` (2: He init for ReLU; 1: LeCun).
    """
    rng = np.random.default_rng(seed)
    x = ad.Tensor(rng.normal(size=(16, sizes[0])).astype(np.float32), name="x")
    h = x
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        with ad.name_scope(f"fc{i}"):
            w = (rng.normal(size=(n_in, n_out)) * np.sqrt(gain / n_in)).astype(np.float32)
            w = ad.Tensor(w, requires_grad=True, name=f"fc{i}.weight")
            b = ad.Tensor(np.zeros(n_out, np.float32), requires_grad=True, name=f"fc{i}.bias")
            h = h @ w + b
            if i < len(sizes) - 2:
                h = act(h)
    return ad.mean(h * h), x


def draw_mlp(out: Path) -> list[Path]:
    loss, _ = mlp([8, 16, 16, 4], ad.relu)
    loss.name = "loss"
    return [
        save(viz.forward_graph(loss, title="MLP: forward"), out / "mlp_forward"),
        save(viz.backward_graph(loss, title="MLP: backward"), out / "mlp_backward"),
        save(viz.forward_graph(loss, depth=1, title="MLP: one box per layer"), out / "mlp_layers"),
    ]


# ------------------------------------------------------------------ an unrolled tanh RNN
def rnn(steps: int = 6, hidden: int = 4, features: int = 3, seed: int = 0) -> ad.Tensor:
    rng = np.random.default_rng(seed)
    xs = [
        ad.Tensor(rng.normal(size=(1, features)).astype(np.float32), name=f"x{t}")
        for t in range(steps)
    ]
    with ad.name_scope("rnn"):
        wx = ad.Tensor(rng.normal(size=(features, hidden)).astype(np.float32), True, "rnn.wx")
        wh = ad.Tensor(rng.normal(size=(hidden, hidden)).astype(np.float32), True, "rnn.wh")
        b = ad.Tensor(np.zeros(hidden, np.float32), requires_grad=True, name="rnn.b")
        h = ad.Tensor(np.zeros((1, hidden), np.float32), name="h0")
        for t in range(steps):
            with ad.name_scope(f"step{t}"):
                h = ad.tanh(xs[t] @ wx + h @ wh + b)
    loss = ad.sum(h)
    loss.name = "loss"
    return loss


def draw_rnn(out: Path) -> list[Path]:
    loss = rnn()
    return [
        save(viz.forward_graph(loss, title="tanh RNN, unrolled"), out / "rnn_forward"),
        save(viz.backward_graph(loss, title="tanh RNN: backward"), out / "rnn_backward"),
        save(
            viz.forward_graph(loss, depth=2, repeats=True, title="tanh RNN, rolled"),
            out / "rnn_rolled",
        ),
        save(
            viz.forward_graph(rnn(steps=30), health=True, title="30-step tanh RNN"),
            out / "rnn_health",
        ),
    ]


# ------------------------------------------------------------------ gradient health
def draw_health(out: Path) -> list[Path]:
    # Ten layers: sigmoid's slope (at most 1/4) shrinks the gradient at every layer,
    # ReLU with He init keeps its norm near 1 all the way down.
    sizes = [16] * 11
    sigmoid, _ = mlp(sizes, ad.sigmoid, gain=1.0, seed=1)
    relu, _ = mlp(sizes, ad.relu, gain=2.0, seed=1)
    style = {"health": True, "show_shapes": False}
    return [
        save(
            viz.forward_graph(sigmoid, title="sigmoid, LeCun init", **style), out / "health_sigmoid"
        ),
        save(viz.forward_graph(relu, title="ReLU, He init", **style), out / "health_relu"),
    ]


# ------------------------------------------------------------------ second order
def draw_second_order(out: Path) -> list[Path]:
    x = ad.Tensor(np.array(2.0), requires_grad=True, name="x")
    (dy,) = ad.grad(x**3, x, create_graph=True)  # the gradient is a graph too
    dy.name = "dy/dx = 3x²"
    return [save(viz.forward_graph(dy, title="the graph of dy/dx"), out / "second_order")]


def draw_model(out: Path) -> list[Path]:
    """A layer-level diagram of an nn model (Keras-style plot_model)."""
    import nn
    from nn.viz import plot_model

    model = nn.Sequential(
        nn.Linear(64, 32), nn.ReLU(), nn.BatchNorm1d(32), nn.Linear(32, 10), nn.LogSoftmax()
    )
    return [save(plot_model(model, (64,)), out / "model_layers")]


def draw_cnn(out: Path) -> list[Path]:
    """The lecture notes' CNN, conv -> relu -> pool -> affine -> relu -> affine -> loss.

    Drawn twice from one forward pass: every op (the conv's im2col/GEMM is a single
    ``conv2d`` node), and with each layer collapsed into a box (``depth=2``: the model's
    own scope is depth 1, its layers depth 2).
    """
    import nn

    nn.manual_seed(0)
    model = nn.models.SimpleCNN((1, 8, 8), channels=4, kernel_size=3, padding=1, hidden=16)
    images = ad.Tensor(np.random.default_rng(0).random((2, 1, 8, 8), np.float32), name="images")
    loss = nn.CrossEntropyLoss()(model(images), np.array([3, 7]))
    loss.name = "loss"
    root = type(model).__name__
    titles = {f"{root}.{n}": f"{n}: {type(m).__name__}" for n, m in model.named_children()}
    style = {"show_values": False, "box_titles": titles}
    return [
        save(viz.forward_graph(loss, title="CNN: every op", **style), out / "cnn_forward"),
        save(
            viz.forward_graph(loss, depth=2, title="CNN: one box per layer", **style),
            out / "cnn_layers",
        ),
    ]


DRAWINGS: list[Callable[[Path], list[Path]]] = [
    draw_apple,
    draw_mlp,
    draw_rnn,
    draw_health,
    draw_second_order,
    draw_model,
    draw_cnn,
]


def main(argv: list[str] | None = None) -> list[Path]:
    global FORMAT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/graphs", help="output folder (default out/graphs)")
    parser.add_argument("--format", default="svg", choices=["svg", "png", "pdf"])
    args = parser.parse_args(argv)
    FORMAT = args.format
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not viz.dot_available():
        print("note: writing .dot sources only; " + viz.INSTALL_HINT)
    paths = [p for draw in DRAWINGS for p in draw(out)]
    for p in paths:
        print(p)
    return paths


if __name__ == "__main__":
    main()
