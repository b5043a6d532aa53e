"""Convolution benchmark: seegrad's conv ops vs plain numpy im2col vs PyTorch (CPU).

    python benchmarks/bench_conv.py             # tuned process (see _common.tune_process)
    python benchmarks/bench_conv.py --no-tune   # the process as Python starts it

Measures, with every contender checked against the others first (same loss, same
gradients) and then timed in interleaved blocks:

1. one conv layer, forward + backward: x (32,16,32,32), w (32,16,3,3), padding 1;
2. a CNN training step on (64,1,28,28): conv 1->16, relu, maxpool 2, conv 16->32,
   relu, maxpool 2, linear 1568->10, softmax cross entropy, SGD;
3. numpy float32 GEMM (1024^3), the ceiling for im2col convs, timed in the same
   interleaved blocks as the conv layer so that both see the same machine load;
4. numba compile time of every kernel: cold (empty NUMBA_CACHE_DIR) vs cache hit.

Prints the table and writes it to benchmarks/results/conv.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402 - the path above makes the helper importable
    interleaved,
    machine_summary,
    markdown_table,
    no_tuning,
    tune_process,
)
from bench_startup import WARM_RUNS, kernel_times  # noqa: E402

TUNE = "--no-tune" not in sys.argv
TUNING = tune_process() if TUNE else no_tuning()

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import as_strided  # noqa: E402

import autodiff as ad  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

RESULTS = Path(__file__).resolve().parent / "results" / "conv.md"
F32 = np.float32


# ------------------------------------------------------------ plain numpy conv (classic)
def np_im2col(x: np.ndarray, k: int, pad: int) -> np.ndarray:
    """Stride-1 im2col with stride tricks: (C*K*K, N*OH*OW), rows (c, i, j)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, w = xp.shape
    oh, ow = h - k + 1, w - k + 1
    s = xp.strides
    view = as_strided(xp, (c, k, k, n, oh, ow), (s[1], s[2], s[3], s[0], s[2], s[3]))
    return view.reshape(c * k * k, n * oh * ow)


def np_col2im(cols: np.ndarray, shape: tuple[int, ...], k: int, pad: int) -> np.ndarray:
    n, c, h, w = shape
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    c6 = cols.reshape(c, k, k, n, oh, ow)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i : i + oh, j : j + ow] += c6[:, i, j].transpose(1, 0, 2, 3)
    return xp[:, :, pad : pad + h, pad : pad + w]


def np_conv_forward(x, w, b, pad):
    o, k = w.shape[0], w.shape[2]
    cols = np_im2col(x, k, pad)
    n, oh, ow = x.shape[0], x.shape[2] + 2 * pad - k + 1, x.shape[3] + 2 * pad - k + 1
    y = (w.reshape(o, -1) @ cols).reshape(o, n, oh, ow).transpose(1, 0, 2, 3) + b.reshape(
        1, -1, 1, 1
    )
    return np.ascontiguousarray(y), cols


def np_conv_backward(gy, x_shape, w, cols, pad):
    o, k = w.shape[0], w.shape[2]
    gymat = gy.transpose(1, 0, 2, 3).reshape(o, -1)
    gw = (gymat @ cols.T).reshape(w.shape)
    gx = np_col2im(w.reshape(o, -1).T @ gymat, x_shape, k, pad)
    return gx, gw, gy.sum(axis=(0, 2, 3))


def np_maxpool2(x):
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2)
    y = win.max(axis=(3, 5))
    mask = win == y[:, :, :, None, :, None]
    return y, mask / mask.sum(axis=(3, 5), keepdims=True)  # ties share the gradient


def np_maxpool2_backward(gy, share):
    n, c, h2, _, w2, _ = share.shape
    return (share * gy[:, :, :, None, :, None]).reshape(n, c, h2 * 2, w2 * 2)


# ------------------------------------------------------------ 1. one conv layer
def conv_layer(
    rng: np.random.Generator,
) -> tuple[list[list[Any]], dict[str, float], float]:
    """Rows for the table, median ms per contender, and the GEMM reference's GFLOP/s."""
    n, c, h, o, k, pad = 32, 16, 32, 32, 3, 1
    x = rng.standard_normal((n, c, h, h)).astype(F32)
    w = (rng.standard_normal((o, c, k, k)) * 0.1).astype(F32)
    b = rng.standard_normal(o).astype(F32)
    gy = rng.standard_normal((n, o, h, h)).astype(F32)
    flops = 3 * 2 * n * o * c * k * k * h * h  # forward, input grad, weight grad

    tx, tw, tb = (ad.tensor(a, requires_grad=True) for a in (x, w, b))

    def seegrad():
        tx.grad = tw.grad = tb.grad = None
        y = ad.conv2d(tx, tw, tb, padding=pad)
        y.backward(gy)
        return y.data, tx.grad.data, tw.grad.data, tb.grad.data

    def numpy_():
        y, cols = np_conv_forward(x, w, b, pad)
        return (y, *np_conv_backward(gy, x.shape, w, cols, pad))

    contenders = {"seegrad": seegrad, "numpy im2col": numpy_}
    if torch is not None:
        px, pw, pb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        pgy = torch.tensor(gy)

        def torch_():
            px.grad = pw.grad = pb.grad = None
            y = torch.nn.functional.conv2d(px, pw, pb, padding=pad)
            y.backward(pgy)
            return y.detach().numpy(), px.grad.numpy(), pw.grad.numpy(), pb.grad.numpy()

        contenders["pytorch"] = torch_
    _check_same("conv layer", {name: fn() for name, fn in contenders.items()})
    m1, m2 = (rng.standard_normal((1024, 1024)).astype(F32) for _ in range(2))
    times = interleaved({**contenders, GEMM: lambda: m1 @ m2})
    gemm = times.pop(GEMM)
    rows = [
        [
            "conv layer fwd+bwd",
            name,
            f"{t.median_ms:.2f}",
            t.spread,
            f"{flops / (t.median_ms * 1e-3) / 1e9:.1f}",
        ]
        for name, t in times.items()
    ]
    gemm_gflops = 2 * 1024**3 / (gemm.median_ms * 1e-3) / 1e9
    rows.append([GEMM, "numpy", f"{gemm.median_ms:.2f}", gemm.spread, f"{gemm_gflops:.1f}"])
    return rows, {name: t.median_ms for name, t in times.items()}, gemm_gflops


GEMM = "float32 GEMM 1024^3"


# ------------------------------------------------------------ 2. CNN training step
def init_cnn(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(F32)

    return {
        "w1": he((16, 1, 3, 3), 9),
        "b1": np.zeros(16, F32),
        "w2": he((32, 16, 3, 3), 144),
        "b2": np.zeros(32, F32),
        "w3": he((1568, 10), 1568),  # (in, out), as ad.linear takes it
        "b3": np.zeros(10, F32),
    }


def seegrad_cnn(params: dict[str, np.ndarray], lr: float):
    p = {k: ad.tensor(v, requires_grad=True) for k, v in params.items()}

    def step(x: np.ndarray, labels: np.ndarray):
        h = ad.max_pool2d(ad.relu(ad.conv2d(x, p["w1"], p["b1"], padding=1)), 2)
        h = ad.max_pool2d(ad.relu(ad.conv2d(h, p["w2"], p["b2"], padding=1)), 2)
        logits = ad.linear(ad.flatten(h, 1), p["w3"], p["b3"])
        loss = -ad.log_softmax(logits)[np.arange(len(labels)), labels].mean()
        loss.backward()
        grads = {k: t.grad.data.copy() for k, t in p.items()}
        for t in p.values():
            t.data -= lr * t.grad.data
            t.grad = None
        return loss.item(), grads

    return step


def numpy_cnn(params: dict[str, np.ndarray], lr: float):
    p = {k: v.copy() for k, v in params.items()}

    def step(x: np.ndarray, labels: np.ndarray):
        n = len(labels)
        a1, cols1 = np_conv_forward(x, p["w1"], p["b1"], 1)
        h1, share1 = np_maxpool2(np.maximum(a1, 0))
        a2, cols2 = np_conv_forward(h1, p["w2"], p["b2"], 1)
        h2, share2 = np_maxpool2(np.maximum(a2, 0))
        flat = h2.reshape(n, -1)
        logits = flat @ p["w3"] + p["b3"]
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(n), labels].mean()
        g = np.exp(logp)
        g[np.arange(n), labels] -= 1
        g /= n
        grads = {"w3": flat.T @ g, "b3": g.sum(axis=0)}
        gh2 = (g @ p["w3"].T).reshape(h2.shape)
        ga2 = np_maxpool2_backward(gh2, share2) * (a2 > 0)
        gh1, grads["w2"], grads["b2"] = np_conv_backward(ga2, h1.shape, p["w2"], cols2, 1)
        ga1 = np_maxpool2_backward(gh1, share1) * (a1 > 0)
        _, grads["w1"], grads["b1"] = np_conv_backward(ga1, x.shape, p["w1"], cols1, 1)
        for k, gk in grads.items():
            p[k] -= lr * gk.astype(F32)
        return float(loss), grads

    return step


def torch_cnn(params: dict[str, np.ndarray], lr: float):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = torch.optim.SGD(list(p.values()), lr=lr)
    fn = torch.nn.functional

    def step(x: np.ndarray, labels: np.ndarray):
        xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
        h = fn.max_pool2d(fn.relu(fn.conv2d(xt, p["w1"], p["b1"], padding=1)), 2)
        h = fn.max_pool2d(fn.relu(fn.conv2d(h, p["w2"], p["b2"], padding=1)), 2)
        loss = fn.cross_entropy(h.flatten(1) @ p["w3"] + p["b3"], yt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = {k: t.grad.numpy().copy() for k, t in p.items()}
        opt.step()
        return loss.item(), grads

    return step


def cnn_step(rng: np.random.Generator) -> tuple[list[list[Any]], dict[str, float]]:
    x = rng.standard_normal((64, 1, 28, 28)).astype(F32)
    labels = rng.integers(0, 10, size=64)
    params = init_cnn(rng)
    makers = {"seegrad": seegrad_cnn, "numpy im2col": numpy_cnn}
    if torch is not None:
        makers["pytorch"] = torch_cnn
    steps = {name: make(params, 0.01) for name, make in makers.items()}
    _check_same("CNN step", {name: step(x, labels) for name, step in steps.items()})
    times = interleaved({name: (lambda s=s: s(x, labels)) for name, s in steps.items()})
    rows = [
        ["CNN train step (64,1,28,28)", name, f"{t.median_ms:.2f}", t.spread, ""]
        for name, t in times.items()
    ]
    return rows, {name: t.median_ms for name, t in times.items()}


def _check_same(what: str, results: dict[str, Any]) -> None:
    """Every contender must agree with seegrad before anything is timed.

    float32 sums over ~30k products (the weight gradient) differ by rounding order, so
    the absolute tolerance scales with each array's largest value.
    """
    ref = _flatten(results["seegrad"])
    for name, res in results.items():
        for a, b in zip(ref, _flatten(res), strict=True):
            atol = 1e-4 * float(np.abs(a).max()) + 1e-6
            np.testing.assert_allclose(b, a, rtol=1e-3, atol=atol, err_msg=f"{what}: {name}")


def _flatten(res: Any) -> list[np.ndarray]:
    if isinstance(res, dict):
        return [np.asarray(res[k]) for k in sorted(res)]
    if isinstance(res, (tuple, list)):
        return [a for r in res for a in _flatten(r)]
    return [np.asarray(res)]


# ------------------------------------------------------------ report
def main() -> None:
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    conv_rows, conv_ms, gflops = conv_layer(rng)
    cnn_rows, cnn_ms = cnn_step(rng)
    cold, warm = kernel_times()  # 4. numba compile times: empty cache, then cache hits

    header = ["benchmark", "implementation", "median ms", "IQR ms", "GFLOP/s"]
    table = markdown_table(header, conv_rows + cnn_rows)
    conv_gflops = float(conv_rows[0][4])
    targets = [
        [f"numpy {GEMM} (interleaved with the conv layer)", f"{gflops:.1f} GFLOP/s", ""],
        [
            "conv layer: % of GEMM GFLOP/s",
            f"{100 * conv_gflops / gflops:.0f}%",
            ">= 50%",
        ],
        [
            "conv layer: seegrad / numpy im2col",
            f"{conv_ms['seegrad'] / conv_ms['numpy im2col']:.2f}x",
            "",
        ],
        [
            "CNN step: seegrad / numpy im2col",
            f"{cnn_ms['seegrad'] / cnn_ms['numpy im2col']:.2f}x",
            "",
        ],
    ]
    if "pytorch" in conv_ms:
        targets.insert(
            1,
            [
                "conv layer: seegrad / pytorch",
                f"{conv_ms['seegrad'] / conv_ms['pytorch']:.2f}x",
                "<= 1.3x",
            ],
        )
        targets.append(
            [
                "CNN step: seegrad / pytorch",
                f"{cnn_ms['seegrad'] / cnn_ms['pytorch']:.2f}x",
                "<= 1.0x",
            ]
        )
    ratio_table = markdown_table(["ratio", "measured", "target"], targets)
    compile_rows = [
        [name, f"{cold[name] * 1e3:.0f}", f"{warm[name] * 1e3:.1f}"]
        for name in cold
        if name != "total"
    ]
    # The probe's own clock: adding up the rows would count the import's share twice.
    compile_rows.append(
        [
            "total (import + every kernel)",
            f"{cold['total'] * 1e3:.0f}",
            f"{warm['total'] * 1e3:.1f}",
        ]
    )
    compile_table = markdown_table(
        ["kernel", "cold ms (compile)", f"warm ms (cache hit, median of {WARM_RUNS})"],
        compile_rows,
    )

    report = "\n\n".join(
        [
            "# Convolution benchmark",
            f"Machine: {machine_summary()}. Process tuning: {'; '.join(TUNING)}.",
            "Interleaved blocks (7 x ~0.1 s per contender, one discarded step each); "
            "median and inter-quartile range of the per-step times. GFLOP/s counts "
            "forward + input grad + weight grad (3 x 2*N*O*C*K*K*OH*OW).",
            table,
            ratio_table,
            "numba kernels, first float32 call in a fresh process "
            "(`import` = `import autodiff, nn`):",
            compile_table,
            f"Total benchmark time {time.perf_counter() - started:.0f} s.",
        ]
    )
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
