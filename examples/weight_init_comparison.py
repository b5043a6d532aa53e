"""Why initialisation matters: activation histograms of a 5-layer net (lecture notes).

1000 random samples go through 5 fully connected layers of 100 units (no bias),
with sigmoid or ReLU, and weights drawn with standard deviation

* 1      -> sigmoid units saturate at 0 and 1 (their gradients vanish);
* 0.01   -> every unit outputs nearly the same value (sigmoid: 0.5; ReLU: almost 0);
* Xavier -> std sqrt(1/n) here (Glorot's sqrt(2/(n_in+n_out)) equals the notes'
  sqrt(1/n) for these square layers): sigmoid activations stay spread out;
* He     -> std sqrt(2/n): ReLU activations keep the same spread in every layer.

Prints each layer's activation mean and std and saves one histogram grid per
activation under out/weight_init_comparison/.
Run: python examples/weight_init_comparison.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autodiff as ad
import nn

OUT = Path("out/weight_init_comparison")
INITS = {"std=1": 1.0, "std=0.01": 0.01, "Xavier": "xavier", "He": "he"}
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
N_LAYERS, N_UNITS, N_SAMPLES = 5, 100, 1000


def activations(activation: str, init: float | str, seed: int = 0) -> list[np.ndarray]:
    """Every layer's output for the same 1000 standard-normal inputs."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_SAMPLES, N_UNITS)).astype(np.float32)
    nn.manual_seed(seed)
    layers = []
    for _ in range(N_LAYERS):
        layers += [nn.Linear(N_UNITS, N_UNITS, bias=False, weight_init=init)]
        layers += [ACTIVATIONS[activation]()]
    model = nn.Sequential(*layers)
    outs: list[np.ndarray] = []
    for act in model[1::2]:
        act.register_forward_hook(lambda m, args, out: outs.append(out.numpy()))
    with ad.no_grad():
        model(x)
    return outs


def main(plot: bool = True) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Print per-layer activation mean/std; returns {(activation, init): [(mean, std), ...]}."""
    stats: dict[tuple[str, str], list[tuple[float, float]]] = {}
    all_outs = {}
    for act in ACTIVATIONS:
        print(f"{act}: activation mean / std per layer")
        for name, init in INITS.items():
            outs = activations(act, init)
            all_outs[(act, name)] = outs
            stats[(act, name)] = [(float(o.mean()), float(o.std())) for o in outs]
            cells = "  ".join(f"{m:6.3f}/{s:5.3f}" for m, s in stats[(act, name)])
            print(f"  {name:9s} {cells}")
    if plot:
        _plot(all_outs)
    return stats


def _plot(all_outs: dict) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: skipping the histograms; pip install matplotlib)")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for act in ACTIVATIONS:
        fig, axes = plt.subplots(len(INITS), N_LAYERS, figsize=(13, 2.2 * len(INITS)))
        for r, name in enumerate(INITS):
            for c, out in enumerate(all_outs[(act, name)]):
                ax = axes[r, c]
                hi = 1.0 if act == "sigmoid" else max(float(out.max()), 1e-3)
                ax.hist(out.ravel(), bins=30, range=(0, hi))
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(f"layer {c + 1}")
                if c == 0:
                    ax.set_ylabel(name)
        fig.suptitle(f"{act} activations by weight initialisation")
        fig.tight_layout()
        path = OUT / f"{act}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        print(f"saved {path}")


if __name__ == "__main__":
    main()
