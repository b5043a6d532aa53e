"""Step-through frames: the backward pass one engine step at a time, for teaching."""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..graph import trace
from ..tensor import Tensor
from .combined import combined_sketch
from .layout import emit
from .options import FORWARD_ONLY, Options, make_options
from .recording import record
from .rendering import render

__all__ = ["backward_frames", "write_frames"]


def backward_frames(*outputs: Tensor, options: Options | None = None, **kwargs: Any) -> list[Any]:
    """One ``graphviz.Digraph`` per backward step, in the order the engine runs them.

    Frame 0 shows the forward values and the seed gradient (1) at the output;
    frame ``k`` highlights the node of step ``k`` and shows every gradient known
    after it. The layout is the same in every frame.

    Example:
        >>> import autodiff as ad
        >>> a, b = ad.tensor(2.0, requires_grad=True), ad.tensor(3.0, requires_grad=True)
        >>> frames = ad.viz.backward_frames((a * b) + a)
        >>> len(frames)
        3
    """
    kwargs.setdefault("rankdir", "LR" if options is None else options.rankdir)
    opts = make_options(options, kwargs, "backward_frames", FORWARD_ONLY)
    graph = trace(*outputs)
    rec = record(*outputs)
    n = len(rec.steps)
    frames = []
    for k in range(n + 1):
        if k == 0:
            title = "backward starts: the output's gradient is 1"
        else:
            fn = rec.steps[k - 1].fn
            title = f"step {k}/{n}: {fn.name}" + (f": {fn.rule}" if fn.rule else "")
        frame_opts = dataclasses.replace(
            opts, title=(opts.title + "  " if opts.title else "") + title
        )
        frames.append(
            emit(combined_sketch(graph, rec, frame_opts, upto=k), frame_opts, f"frame{k}")
        )
    return frames


def write_frames(
    frames: Sequence[Any],
    directory: str | os.PathLike,
    format: str = "svg",
    prefix: str = "frame",
) -> list[Path]:
    """Render frames to ``directory/prefix_000.svg``, ``..._001.svg``, ...; returns the paths.

    Files of the same name pattern numbered past the last frame (left by an earlier,
    longer sequence) are deleted, so ``prefix_*`` is always exactly this sequence.
    A single graph instead of a list is a TypeError that points to ``render``.

    Example:
        >>> import tempfile, autodiff as ad
        >>> x = ad.tensor(2.0, requires_grad=True)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     paths = ad.viz.write_frames(ad.viz.backward_frames(x * x), d, format="svg")
        ...     [p.name for p in paths]
        ['frame_000.svg', 'frame_001.svg']
    """
    if hasattr(frames, "pipe"):
        # a single graph iterates over its source lines, which would fail one line later
        raise TypeError(
            "write_frames() takes a list of frames (from backward_frames); use "
            "render(graph, path) for a single graph"
        )
    directory = Path(directory)
    paths = [
        render(frame, directory / f"{prefix}_{i:03d}.{format}", format)
        for i, frame in enumerate(frames)
    ]
    # Frames left from an earlier, longer sequence in the same place would play on after
    # this one's end; only files with this exact naming pattern are removed.
    for stale in directory.glob(f"{glob.escape(prefix)}_[0-9][0-9][0-9].{format}"):
        if int(stale.stem[len(prefix) + 1 :]) >= len(paths):
            stale.unlink()
    return paths
