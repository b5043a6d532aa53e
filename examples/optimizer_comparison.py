"""Optimizers compared, as in the lecture notes.

1. On f(x, y) = x^2 / 20 + y^2 from (-7, 2), 30 steps each: SGD zig-zags along
   the steep y direction and crawls along x, Momentum rolls like a ball, AdaGrad
   damps the y steps, Adam combines both. The contour plot with every path is
   saved as out/optimizer_comparison/paths.png.
2. On the digits MLP (64-100-100-10, ReLU), the training loss per iteration for
   each optimizer, using ``fit`` with a batch-level callback:
   out/optimizer_comparison/digits_loss.png.

Run: python examples/optimizer_comparison.py
"""

from __future__ import annotations

import os

# Small matrices: one BLAS thread is faster, and several fight for busy cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import nn  # noqa: E402

OUT = Path("out/optimizer_comparison")
START = (-7.0, 2.0)

#: learning rates for the toy function (the notes' values for the first four)
TOY = {
    "SGD": (nn.optim.SGD, 0.95),
    "Momentum": (nn.optim.Momentum, 0.1),
    "Nesterov": (nn.optim.Nesterov, 0.1),
    "AdaGrad": (nn.optim.AdaGrad, 1.5),
    "RMSprop": (nn.optim.RMSprop, 0.1),
    "AdaDelta": (nn.optim.AdaDelta, 1.0),
    "Adam": (nn.optim.Adam, 0.3),
    "AdaMax": (nn.optim.AdaMax, 0.3),
    "Nadam": (nn.optim.Nadam, 0.3),
}
#: learning rates for the digits MLP
DIGITS = {
    "SGD": (nn.optim.SGD, 0.1),
    "Momentum": (nn.optim.Momentum, 0.05),
    "Nesterov": (nn.optim.Nesterov, 0.05),
    "AdaGrad": (nn.optim.AdaGrad, 0.05),
    "RMSprop": (nn.optim.RMSprop, 1e-3),
    "Adam": (nn.optim.Adam, 2e-3),
}


def f(p: nn.Parameter):
    """x^2 / 20 + y^2 on a Parameter holding [x, y]."""
    return (p * p * np.array([1 / 20, 1.0], np.float32)).sum()


def toy_path(make, lr: float, steps: int = 30) -> np.ndarray:
    """The points visited by an optimizer from START, shape (steps + 1, 2)."""
    p = nn.Parameter(np.array(START))
    opt = make([p], lr=lr)
    path = [p.data.copy()]
    for _ in range(steps):
        opt.zero_grad()
        f(p).backward()
        opt.step()
        path.append(p.data.copy())
    return np.array(path)


def digits_losses(make, lr: float, epochs: int, seed: int = 0) -> list[float]:
    """Training loss after every iteration of a digits MLP trained with ``fit``."""
    X, y = nn.data.load_digits()
    nn.manual_seed(seed)
    model = nn.models.MLP([64, 100, 100, 10])
    losses: list[float] = []
    record = nn.LambdaCallback(on_batch_end=lambda batch, logs: losses.append(logs["loss"]))
    nn.fit(
        model, X, y, loss="cross_entropy", optimizer=make(model.parameters(), lr=lr),
        epochs=epochs, batch_size=64, seed=seed, callbacks=[record], verbose=0,
    )  # fmt: skip
    return losses


def main(digits_epochs: int = 6, plot: bool = True) -> dict[str, dict[str, float]]:
    """Run both comparisons; returns {"toy": {name: f(end)}, "digits": {name: final loss}}."""
    print(f"f(x, y) = x^2/20 + y^2 from {START}, 30 steps:")
    paths = {name: toy_path(make, lr) for name, (make, lr) in TOY.items()}
    toy = {}
    for name, path in paths.items():
        x, y = path[-1]
        toy[name] = float(x * x / 20 + y * y)
        print(f"  {name:9s} lr={TOY[name][1]:<5} ends at ({x:8.4f}, {y:8.4f})  f = {toy[name]:.5f}")
    print(f"digits MLP 64-100-100-10, batch 64, {digits_epochs} epochs: training loss")
    curves = {name: digits_losses(make, lr, digits_epochs) for name, (make, lr) in DIGITS.items()}
    digits = {}
    for name, losses in curves.items():
        digits[name] = float(np.mean(losses[-20:]))  # the last iterations, smoothed
        print(f"  {name:9s} lr={DIGITS[name][1]:<6} first {losses[0]:.3f}  last {digits[name]:.4f}")
    if plot:
        _plot(paths, curves)
    return {"toy": toy, "digits": digits}


def _plot(paths: dict[str, np.ndarray], curves: dict[str, list[float]]) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: skipping the plots; pip install matplotlib)")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    xs, ys = np.meshgrid(np.linspace(-10, 10, 200), np.linspace(-5, 5, 200))
    zs = xs**2 / 20 + ys**2
    cols = 3
    rows = -(-len(paths) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (name, path) in zip(axes.ravel(), paths.items()):
        ax.contour(xs, ys, zs, levels=np.geomspace(0.05, 30, 12), colors="grey", linewidths=0.6)
        ax.plot(path[:, 0], path[:, 1], "o-", color="red", ms=3, lw=1)
        ax.plot(0, 0, "+", color="black", ms=10)
        ax.set(title=name, xlim=(-10, 10), ylim=(-5, 5))
    for ax in axes.ravel()[len(paths) :]:
        ax.axis("off")
    fig.suptitle("f(x, y) = x^2/20 + y^2 from (-7, 2)")
    fig.tight_layout()
    fig.savefig(OUT / "paths.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, losses in curves.items():
        smooth = np.convolve(losses, np.ones(10) / 10, mode="valid")
        ax.plot(smooth, label=name)
    ax.set(xlabel="iteration", ylabel="training loss (10-iteration mean)", yscale="log")
    ax.set_title("digits MLP: optimizers compared")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "digits_loss.png", dpi=90)
    plt.close(fig)
    print(f"saved {OUT / 'paths.png'} and {OUT / 'digits_loss.png'}")


if __name__ == "__main__":
    main()
