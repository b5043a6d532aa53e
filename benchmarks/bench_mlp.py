"""MLP training step: 784-256-256-10, ReLU, softmax cross entropy, batch 128, SGD (float32).

Contenders: seegrad (nn.Linear layers, fused cross entropy, nn.optim.SGD), a
hand-written numpy forward/backward of the same net (the floor for any numpy
framework) and PyTorch CPU when installed. All three start from the same weights
and are first checked to produce the same loss and gradients.

Run: python benchmarks/bench_mlp.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import (  # noqa: E402
    interleaved,
    machine_summary,
    markdown_table,
    tune_process,
)

NOTES = tune_process()

import numpy as np  # noqa: E402

import nn  # noqa: E402

SIZES = (784, 256, 256, 10)
BATCH = 128
LR = 0.01


def init_weights(rng: np.random.Generator) -> list[np.ndarray]:
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params.append(
            (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(np.float32)
        )
        params.append(np.zeros(fan_out, np.float32))
    return params


class NumpyMLP:
    """The lecture notes' Affine/ReLU/SoftmaxWithLoss layers, written out by hand."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params = [p.copy() for p in params]

    def step(self, x: np.ndarray, t: np.ndarray, update: bool = True):
        w1, b1, w2, b2, w3, b3 = self.params
        a1 = x @ w1 + b1
        h1 = np.maximum(a1, 0)
        a2 = h1 @ w2 + b2
        h2 = np.maximum(a2, 0)
        z = h2 @ w3 + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        loss = -np.log(p[np.arange(n), t] + 1e-7).mean()
        dz = p
        dz[np.arange(n), t] -= 1
        dz /= n
        g3, gb3 = h2.T @ dz, dz.sum(0)
        dh2 = dz @ w3.T
        dh2[a2 <= 0] = 0
        g2, gb2 = h1.T @ dh2, dh2.sum(0)
        dh1 = dh2 @ w2.T
        dh1[a1 <= 0] = 0
        g1, gb1 = x.T @ dh1, dh1.sum(0)
        grads = [g1, gb1, g2, gb2, g3, gb3]
        if update:
            for p_, g in zip(self.params, grads):
                p_ -= LR * g
        return float(loss), grads


class SeegradMLP:
    def __init__(self, params: list[np.ndarray]) -> None:
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
            fc = nn.Linear(fan_in, fan_out)
            fc.weight.data[...] = params[2 * i]
            fc.bias.data[...] = params[2 * i + 1]
            layers += [fc, nn.ReLU()] if i < len(SIZES) - 2 else [fc]
        self.model = nn.Sequential(*layers)
        self.opt = nn.optim.SGD(self.model.parameters(), lr=LR)

    def step(self, x: np.ndarray, t: np.ndarray, update: bool = True):
        self.opt.zero_grad()
        loss = nn.functional.cross_entropy(self.model(x), t)
        loss.backward()
        grads = [p.grad.data for p in self.model.parameters()]
        if update:
            self.opt.step()
        return loss.item(), grads


class TorchMLP:
    def __init__(self, params: list[np.ndarray]) -> None:
        import torch

        self.torch = torch
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
            fc = torch.nn.Linear(fan_in, fan_out)
            with torch.no_grad():
                fc.weight.copy_(torch.from_numpy(params[2 * i].T.copy()))
                fc.bias.copy_(torch.from_numpy(params[2 * i + 1]))
            layers += [fc, torch.nn.ReLU()] if i < len(SIZES) - 2 else [fc]
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)

    def step(self, x: np.ndarray, t: np.ndarray, update: bool = True):
        torch = self.torch
        self.opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            self.model(torch.from_numpy(x)), torch.from_numpy(t)
        )
        loss.backward()
        grads = []
        for m in self.model:
            if isinstance(m, torch.nn.Linear):
                grads += [m.weight.grad.numpy().T, m.bias.grad.numpy()]
        if update:
            self.opt.step()
        return loss.item(), grads


def contenders(params: list[np.ndarray]) -> dict[str, object]:
    out = {"seegrad": SeegradMLP(params), "numpy by hand": NumpyMLP(params)}
    try:
        out["pytorch"] = TorchMLP(params)
    except ImportError:
        pass
    return out


def check_same(models: dict[str, object], x: np.ndarray, t: np.ndarray) -> None:
    ref_loss, ref_grads = models["numpy by hand"].step(x, t, update=False)
    for name, m in models.items():
        loss, grads = m.step(x, t, update=False)
        assert abs(loss - ref_loss) < 1e-4, (name, loss, ref_loss)
        for g, r in zip(grads, ref_grads):
            np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-5, err_msg=name)


def main() -> dict[str, float]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    t = rng.integers(0, SIZES[-1], BATCH)
    models = contenders(init_weights(rng))
    check_same(models, x, t)
    timings = interleaved({name: (lambda m=m: m.step(x, t)) for name, m in models.items()})
    ms = {name: tm.median_ms for name, tm in timings.items()}
    rows = [[name, f"{tm.median_ms:.2f}", tm.spread] for name, tm in timings.items()]
    print(machine_summary())
    print("; ".join(NOTES))
    print(markdown_table(["mlp step 784-256-256-10, batch 128", "median ms", "IQR ms"], rows))
    print(f"seegrad / numpy by hand: {ms['seegrad'] / ms['numpy by hand']:.2f}x (target <= 1.2x)")
    if "pytorch" in ms:
        print(f"seegrad / pytorch:       {ms['seegrad'] / ms['pytorch']:.2f}x (target <= 1.0x)")
    return ms


if __name__ == "__main__":
    main()
