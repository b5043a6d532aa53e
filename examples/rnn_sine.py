"""Predict the next value of a noisy sine wave with an Elman RNN and truncated BPTT.

One long series (noise std 0.1) is cut into 16 parallel rows and walked in
windows of 25 steps (``nn.data.BPTTLoader``). The hidden state is carried from
window to window, so the net sees the whole history, but ``nn.detach_state``
cuts the graph at each window boundary, so every backward reaches back at most
25 steps (truncated backpropagation through time). Gradients are clipped by
global norm (``nn.optim.clip_grad_norm_``), the standard guard against the
exploding gradients of recurrent nets.

Reported on a held-out stretch of the series: the one-step-ahead MSE against the
noisy targets and against the clean wave, next to two baselines (repeat the last
value; the noise variance itself, which no predictor can beat on noisy targets).

Run: python examples/rnn_sine.py   (plots in out/rnn_sine/)
"""

from __future__ import annotations

import os

# Small matrices: one BLAS thread is faster, and several fight for busy cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time
from pathlib import Path

import numpy as np

import autodiff as ad
import nn
from nn.data import BPTTLoader

OUT = Path("out/rnn_sine")
PERIOD, NOISE = 25.0, 0.1


def make_series(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean) float32 series of length n."""
    t = np.arange(n)
    clean = np.sin(2 * np.pi * t / PERIOD).astype(np.float32)
    noise = np.random.default_rng(seed).normal(0.0, NOISE, n).astype(np.float32)
    return clean + noise, clean


def main(
    epochs: int = 30,
    n_train: int = 8000,
    hidden: int = 32,
    bptt: int = 25,
    plot: bool = True,
    seed: int = 0,
) -> dict[str, float]:
    """Train, evaluate on held-out data; returns the key numbers."""
    nn.manual_seed(seed)
    noisy, clean = make_series(n_train + 500, seed)
    train, test, test_clean = noisy[:n_train], noisy[n_train:], clean[n_train:]

    rnn, head = nn.RNN(1, hidden), nn.Linear(hidden, 1, weight_init="xavier")
    params = list(rnn.parameters()) + list(head.parameters())
    opt = nn.optim.Adam(params, lr=0.01)
    loss_fn = nn.MSELoss()
    loader = BPTTLoader(train[:, None], batch_size=16, bptt_length=bptt)
    print(f"Elman RNN 1-{hidden}-1, {loader}, {epochs} epochs, Adam lr 0.01, clip 1.0")

    losses, start = [], time.perf_counter()
    for epoch in range(epochs):
        state = None  # each epoch starts again at the beginning of every row
        for x, y in loader:
            out, state = rnn(x, state)
            loss = loss_fn(head(out), y)
            opt.zero_grad()
            loss.backward()
            nn.optim.clip_grad_norm_(params, 1.0)
            opt.step()
            state = nn.detach_state(state)  # keep the values, cut the graph
            losses.append(loss.item())
        print(f"  epoch {epoch + 1}: mean training loss {np.mean(losses[-len(loader) :]):.4f}")
    print(f"trained in {time.perf_counter() - start:.1f} s")

    # Held-out: warm the state up on the end of the training series, then predict
    # each next value of the test stretch from everything seen so far.
    rnn.eval()
    with ad.no_grad():
        _, state = rnn(train[-200:, None, None])
        out, _ = rnn(test[:-1, None, None], state)
        pred = head(out).data[:, 0, 0]
    target, target_clean = test[1:], test_clean[1:]
    results = {
        "final_train_loss": float(np.mean(losses[-len(loader) :])),
        "test_mse": float(np.mean((pred - target) ** 2)),
        "test_mse_vs_clean": float(np.mean((pred - target_clean) ** 2)),
        "repeat_last_mse": float(np.mean((test[:-1] - target) ** 2)),
        "noise_variance": NOISE**2,
    }
    print("held-out one-step-ahead MSE:")
    print(f"  RNN vs noisy targets  {results['test_mse']:.4f}")
    print(f"  RNN vs clean wave     {results['test_mse_vs_clean']:.4f}")
    print(f"  repeat the last value {results['repeat_last_mse']:.4f}")
    print(f"  noise variance (floor for noisy targets) {results['noise_variance']:.4f}")
    if plot:
        _plot(losses, pred, target, target_clean)
    return results


def _plot(losses: list[float], pred: np.ndarray, target: np.ndarray, clean: np.ndarray) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: skipping the plots; pip install matplotlib)")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    n = min(150, len(pred))
    ax.plot(target[:n], ".", color="grey", ms=4, label="noisy target")
    ax.plot(clean[:n], color="black", lw=1, label="clean wave")
    ax.plot(pred[:n], color="tab:red", lw=1.5, label="RNN prediction")
    ax.set(xlabel="held-out time step", ylabel="value", title="next-value prediction")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(OUT / "predictions.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses, lw=0.8)
    ax.set(xlabel="window (truncated BPTT step)", ylabel="MSE", yscale="log", title="training loss")
    fig.tight_layout()
    fig.savefig(OUT / "loss.png", dpi=90)
    plt.close(fig)
    print(f"saved {OUT / 'predictions.png'} and {OUT / 'loss.png'}")


if __name__ == "__main__":
    main()
