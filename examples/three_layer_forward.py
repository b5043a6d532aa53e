"""The lecture notes' 3-layer network, forward pass only, with ``nn`` layers.

    input (2) -> Linear W1, b1 -> sigmoid -> Linear W2, b2 -> sigmoid -> Linear W3, b3 -> identity

Weights from the notes: W1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]], b1 = [0.7, 0.8, 0.9],
W2 = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], b2 = [0.7, 0.8], W3 = [[0.1, 0.3], [0.2, 0.4]],
b3 = [0.7, 0.8].

Checked against numpy (float64):

* the notes' input [4.5, 6.2] gives [0.95952248, 1.3974489] (the notes print this);
* input [1.0, 0.5] with the same weights gives [0.95236385, 1.38125702];
* [0.31682708, 0.69627909] is what input [1.0, 0.5] gives with the *other* common
  version of this example (biases b1 = [0.1, 0.2, 0.3], b2 = b3 = [0.1, 0.2],
  as in "Deep Learning from Scratch"), not with the notes' biases.

Run: python examples/three_layer_forward.py   (bar chart in out/three_layer_forward/)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import autodiff as ad
import nn

OUT = Path("out/three_layer_forward")

W1 = [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]
W2 = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]
W3 = [[0.1, 0.3], [0.2, 0.4]]
NOTES_BIASES = ([0.7, 0.8, 0.9], [0.7, 0.8], [0.7, 0.8])
BOOK_BIASES = ([0.1, 0.2, 0.3], [0.1, 0.2], [0.1, 0.2])

#: (input, biases) -> expected output, each verified with numpy in float64
EXPECTED = {
    ("notes", (4.5, 6.2)): [0.95952248, 1.3974489],
    ("notes", (1.0, 0.5)): [0.95236385, 1.38125702],
    ("book", (1.0, 0.5)): [0.31682708, 0.69627909],
}


def build(biases: tuple[list[float], ...]) -> nn.Sequential:
    """The network with the given biases, as nn layers (float32)."""
    model = nn.Sequential(
        nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 2), nn.Sigmoid(), nn.Linear(2, 2)
    )
    b1, b2, b3 = biases
    model.load_state_dict(
        {"0.weight": W1, "0.bias": b1, "2.weight": W2, "2.bias": b2, "4.weight": W3, "4.bias": b3}
    )
    return model


def numpy_forward(x: np.ndarray, biases: tuple[list[float], ...]) -> list[np.ndarray]:
    """The notes' feedForward in float64 numpy: every layer's output."""

    def sigmoid(a: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-a))

    b1, b2, b3 = (np.array(b) for b in biases)
    z1 = sigmoid(x @ np.array(W1) + b1)
    z2 = sigmoid(z1 @ np.array(W2) + b2)
    return [z1, z2, z2 @ np.array(W3) + b3]


def main(plot: bool = True) -> dict[tuple[str, tuple[float, float]], np.ndarray]:
    """Run every case, check nn against numpy and the expected values; returns the outputs."""
    results = {}
    for (which, inp), expected in EXPECTED.items():
        biases = NOTES_BIASES if which == "notes" else BOOK_BIASES
        x = np.array(inp)
        layers = numpy_forward(x, biases)
        with ad.no_grad():
            y = build(biases)(x.astype(np.float32)[None]).numpy()[0]
        print(f"{which:5s} biases, input {x}:")
        print(f"  1st hidden layer: {layers[0]}")
        print(f"  2nd hidden layer: {layers[1]}")
        print(f"  output (numpy float64): {layers[2]}   (nn float32): {y}")
        np.testing.assert_allclose(layers[2], expected, atol=5e-9)
        np.testing.assert_allclose(y, expected, atol=1e-6)
        results[(which, inp)] = y
    if plot:
        _plot(results)
    return results


def _plot(results: dict) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: skipping the plot; pip install matplotlib)")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / len(results)
    for i, ((which, inp), y) in enumerate(results.items()):
        ax.bar(np.arange(2) + i * width, y, width, label=f"{which} biases, x={list(inp)}")
    ax.set_xticks(np.arange(2) + width, ["y1", "y2"])
    ax.set_title("3-layer network outputs")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = OUT / "outputs.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {os.fspath(path)}")


if __name__ == "__main__":
    main()
