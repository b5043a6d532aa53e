"""A character-level LSTM language model trained on Jane Austen's *Pride and Prejudice*.

The corpus (the first 30 chapters, public domain, ~300 KB; see
nn/data/corpus/SOURCE.md) is read as a stream of characters; the last 10% is
held out. The model reads one character per step and predicts the next:
embedding (16) -> LSTM (hidden 128 by default) -> linear -> softmax over the 74
characters (``nn.models.RNNLanguageModel``).

Training is truncated BPTT on the classic "batchify" layout
(``nn.data.BPTTLoader``: the text cut into 32 rows, windows of 64 characters),
carrying the LSTM state across windows and detaching it (``nn.detach_state``);
Adam with gradient clipping by global norm. Perplexity = exp(mean cross entropy
per character): 74 for a uniform guess; a model that has learned spelling and
common words gets to ~5.

Prints a sample before and after training and the perplexity curve; saves the
curve to out/char_lm/perplexity.png.

Run: python examples/char_lm.py
"""

from __future__ import annotations

import os

# Small matrices: one BLAS thread is faster, and several fight for busy cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

import autodiff as ad
import nn
from nn.data import BPTTLoader

OUT = Path("out/char_lm")
CORPUS = Path(nn.data.__file__).parent / "corpus" / "pride_and_prejudice.txt"


def sample(
    model: nn.models.RNNLanguageModel, chars: list[str], prompt: str, n: int, seed: int
) -> str:
    """``n`` characters after ``prompt``, sampled at temperature 0.8."""
    index = {c: i for i, c in enumerate(chars)}
    ids = model.generate([index[c] for c in prompt], n, 0.8, np.random.default_rng(seed))
    return "".join(chars[i] for i in ids)


def perplexity(model: nn.models.RNNLanguageModel, loader: BPTTLoader, vocab: int) -> float:
    model.eval()
    total, count, state = 0.0, 0, None
    with ad.no_grad():
        for x, y in loader:
            logits, state = model(x, state)
            loss = nn.CrossEntropyLoss()(ad.reshape(logits, (-1, vocab)), y.reshape(-1))
            total += loss.item() * y.size
            count += y.size
    model.train()
    return math.exp(total / count)


def main(
    epochs: int = 5,
    hidden: int = 128,
    bptt: int = 64,
    batch_size: int = 32,
    max_chars: int | None = None,
    time_budget: float = 45.0,
    plot: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Train; returns the validation perplexity before and after, and the final sample.

    ``max_chars`` trims the corpus (for quick tests); training stops early once
    ``time_budget`` seconds have passed (checked after each window).
    """
    nn.manual_seed(seed)
    text = CORPUS.read_text(encoding="ascii")
    if max_chars:
        text = text[:max_chars]
    chars = sorted(set(text))
    vocab = len(chars)
    lookup = {c: i for i, c in enumerate(chars)}
    ids = np.fromiter((lookup[c] for c in text), dtype=np.int64, count=len(text))
    split = int(0.9 * len(ids))
    train = BPTTLoader(ids[:split], batch_size, bptt)
    valid = BPTTLoader(ids[split:], 8, bptt)
    print(f"corpus: {len(text):,} characters, vocabulary {vocab}; train {train}")

    model = nn.models.RNNLanguageModel(vocab, embed_dim=16, hidden_size=hidden)
    params = list(model.parameters())
    opt = nn.optim.Adam(params, lr=0.005)
    loss_fn = nn.CrossEntropyLoss()

    before = sample(model, chars, "Elizabeth ", 120, seed)
    print(f"\nsample before training:\n  {before!r}\n")
    curve = [(0, perplexity(model, valid, vocab), float(vocab))]
    print(f"iteration     0: validation perplexity {curve[0][1]:6.2f}")

    start, it, stop = time.perf_counter(), 0, False
    recent: list[float] = []
    for _ in range(epochs):
        state = None
        for x, y in train:
            logits, state = model(x, state)
            loss = loss_fn(ad.reshape(logits, (-1, vocab)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.optim.clip_grad_norm_(params, 1.0)
            opt.step()
            state = nn.detach_state(state)
            recent.append(loss.item())
            it += 1
            if it % 50 == 0:
                train_ppl = math.exp(float(np.mean(recent)))
                recent = []
                curve.append((it, perplexity(model, valid, vocab), train_ppl))
                print(
                    f"iteration {it:5d}: validation perplexity {curve[-1][1]:6.2f}  "
                    f"(training {train_ppl:6.2f}, {time.perf_counter() - start:4.1f} s)"
                )
            if time.perf_counter() - start > time_budget:
                stop = True
                break
        if stop:
            break
    if curve[-1][0] != it:
        curve.append((it, perplexity(model, valid, vocab), math.exp(float(np.mean(recent)))))
    elapsed = time.perf_counter() - start
    print(f"trained {it} iterations in {elapsed:.1f} s")
    after = sample(model, chars, "Elizabeth ", 300, seed)
    print(f"\nsample after training (temperature 0.8):\n  {after!r}\n")
    print(f"validation perplexity: {curve[0][1]:.2f} before, {curve[-1][1]:.2f} after")
    if plot:
        _plot(curve)
    return {
        "perplexity_before": curve[0][1],
        "perplexity_after": curve[-1][1],
        "iterations": float(it),
        "seconds": elapsed,
        "vocab": float(vocab),
        "sample_after": after,
    }


def _plot(curve: list[tuple[int, float, float]]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: skipping the plot; pip install matplotlib)")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    its, val, tr = zip(*curve)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(its[1:], tr[1:], "o-", ms=3, label="training (last 50 windows)")
    ax.plot(its, val, "o-", ms=3, label="validation")
    ax.set(xlabel="iteration", ylabel="perplexity per character", yscale="log")
    ax.set_title("character-level LSTM on Pride and Prejudice")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "perplexity.png", dpi=90)
    plt.close(fig)
    print(f"saved {OUT / 'perplexity.png'}")


if __name__ == "__main__":
    main()
