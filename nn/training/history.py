"""``History``: what ``fit`` returns, one list per logged quantity, one entry per epoch."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["History"]


class History:
    """Per-epoch logs of a training run: ``history["val_loss"]`` is a list with one value
    per epoch (like Keras' ``history.history``).

    ``history.epoch`` holds the epoch numbers (0-based) in the same order, so a run
    resumed with ``initial_epoch`` lines up with the run it continues.

    Example:
        >>> h = History()
        >>> h.append(0, {"loss": 1.0, "accuracy": 0.5})
        >>> h.append(1, {"loss": 0.5, "accuracy": 0.75})
        >>> h["loss"], h.epoch, len(h)
        ([1.0, 0.5], [0, 1], 2)
        >>> h.best("loss")
        (1, 0.5)
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, logs: Mapping[str, Any]) -> None:
        """Record the logs of one finished epoch.

        A key that first appears late (or goes missing) is padded with NaN so every
        list stays aligned with ``epoch``.
        """
        n = len(self.epoch)
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            column = self.history.setdefault(key, [float("nan")] * n)
            column.append(float(value))
        for column in self.history.values():
            if len(column) < n + 1:
                column.append(float("nan"))

    def __getitem__(self, key: str) -> list[float]:
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(f"History has no {key!r}; it has {sorted(self.history)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def __iter__(self) -> Iterator[str]:
        return iter(self.history)

    def __len__(self) -> int:
        return len(self.epoch)

    def keys(self) -> list[str]:
        """The logged quantities (``loss``, metrics, ``val_*``, ``lr``)."""
        return list(self.history)

    def best(self, key: str, mode: str = "auto") -> tuple[int, float]:
        """``(epoch, value)`` of the best value of ``key``; ``mode`` ``"min"``, ``"max"``
        or ``"auto"`` (max for names containing "acc", else min)."""
        values = self[key]
        # NaN marks an epoch without the value (validation that started later) or a
        # non-finite loss: neither is a best
        logged = [j for j, v in enumerate(values) if not math.isnan(v)]
        if not logged:
            raise ValueError(f"History has no logged (non-NaN) value of {key!r} yet")
        if mode == "auto":
            mode = "max" if "acc" in key else "min"
        pick = max if mode == "max" else min
        i = pick(logged, key=lambda j: values[j])
        return self.epoch[i], values[i]

    def to_dict(self) -> dict[str, list[float]]:
        """A copy of the logs, ``{"epoch": [...], "loss": [...], ...}``."""
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    def plot(
        self,
        path: str | os.PathLike[str] | None = None,
        keys: Sequence[str] | None = None,
        title: str | None = None,
    ) -> Any:
        """Draw the learning curves: one panel per quantity, training and ``val_`` together.

        ``keys`` picks the panels (default: every logged quantity but ``val_*`` and ``lr``;
        pass ``keys=["loss", "lr"]`` to see the learning rate).

        Saves a PNG when ``path`` is given (parent directories are created) and returns
        the matplotlib ``Figure``. matplotlib is imported only here; without it this
        raises ImportError saying how to install it.
        """
        try:
            import matplotlib.pyplot as plt  # lazily: matplotlib is an optional extra
        except ImportError as exc:
            raise ImportError(
                "History.plot needs matplotlib: pip install matplotlib "
                "(or the 'plot' extra: pip install seegrad[plot])"
            ) from exc
        if keys is None:
            keys = [k for k in self.history if k[:4] != "val_" and k != "lr"]
        names = list(keys)
        if not names:
            raise ValueError("History.plot: nothing to plot (no epochs recorded)")
        fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
        for ax, name in zip(axes[0], names):
            ax.plot(self.epoch, self[name], "o-", ms=3, label=name)
            if f"val_{name}" in self.history:
                ax.plot(self.epoch, self.history[f"val_{name}"], "s--", ms=3, label=f"val_{name}")
            ax.set_xlabel("epoch")
            ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        if path is not None:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            fig.savefig(path, dpi=100)
            plt.close(fig)
        return fig

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self)}, last={last})"
