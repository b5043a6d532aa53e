"""Text for labels: numbers, small arrays, statistics of large arrays, shapes.

Everything returns Graphviz HTML-label fragments (escaped text with ``<BR/>``
and ``<FONT>`` tags) and only reads the arrays it is given.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

import numpy as np

from .options import Options

__all__ = [
    "Stats",
    "stats",
    "fmt_number",
    "fmt_values",
    "fmt_shape",
    "describe",
    "esc",
    "font",
    "op_symbol",
    "tensor_label",
]

_SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "neg": "−x", "matmul": "@"}


def esc(text: str) -> str:
    """Escape text for a Graphviz HTML label.

    Example:
        >>> from autodiff.viz.labels import esc
        >>> esc("x < 1 & y")
        'x &lt; 1 &amp; y'
        >>> esc("loss\\n(mean)"), esc("\\x1b[1mbold")  # a line break; a visible ESC
        ('loss<BR/>(mean)', '␛[1mbold')
    """
    if not text.strip("]"):
        # Graphviz rejects a label fragment that is empty (<B></B>) or only "]"s
        return "&#93;" * len(text) or "&#160;"
    text = html.escape(text, quote=False)
    if text.isprintable():  # the hot path: one C-level scan per label of a 10k-node graph
        return text
    # A name read from a file or a terminal may hold control characters; XML (which
    # HTML labels are) forbids them and dot refuses the whole graph, so show them as
    # their Unicode control pictures. A newline is a line break, as the user meant.
    text = text.replace("\r\n", "\n").replace("\n", "<BR/>")
    return _XML_INVALID.sub(_visible, text)


#: characters XML 1.0 does not allow (tab and carriage return are fine)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _visible(m: re.Match) -> str:
    code = ord(m.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ ... ␟
    return "\u2421" if code == 0x7F else "\ufffd"


def font(text: str, color: str | None = None, size: int | None = None) -> str:
    """Wrap an (already escaped) fragment in a FONT tag.

    Example:
        >>> from autodiff.viz.labels import font
        >>> font("grad 2.2", "red", 10)
        '<FONT COLOR="red" POINT-SIZE="10">grad 2.2</FONT>'
    """
    attrs = ""
    if color:
        attrs += f' COLOR="{color}"'
    if size:
        attrs += f' POINT-SIZE="{size}"'
    return f"<FONT{attrs}>{text}</FONT>" if attrs else text


def op_symbol(op: str) -> str:
    """The symbol the lecture notes draw for an op (``mul`` -> ``×``), else its name.

    Example:
        >>> from autodiff.viz.labels import op_symbol
        >>> op_symbol("mul"), op_symbol("tanh")
        ('×', 'tanh')
    """
    return _SYMBOLS.get(op, op)


def fmt_number(value: float, precision: int = 4) -> str:
    """A number with ``precision`` significant digits, without float noise.

    Example:
        >>> from autodiff.viz.labels import fmt_number
        >>> fmt_number(110.00000000000001), fmt_number(3.3000000000000003), fmt_number(1e-7)
        ('110', '3.3', '1e-07')
    """
    # Python's format already spells nan / inf; this is the hot path of big graphs.
    text = f"{value:.{precision}g}"
    return "0" if text == "-0" else text


@functools.lru_cache(maxsize=4096)
def fmt_shape(shape: tuple[int, ...], dtype: np.dtype | None = None) -> str:
    """``(3, 4) float32``; a 0-d shape reads ``scalar``.

    Example:
        >>> from autodiff.viz.labels import fmt_shape
        >>> import numpy as np
        >>> fmt_shape((3, 4), np.dtype("float32")), fmt_shape(())
        ('(3, 4) float32', 'scalar')
    """
    if shape == ():
        text = "scalar"
    elif len(shape) == 1:
        text = f"({shape[0]},)"
    else:
        text = "(" + ", ".join(str(n) for n in shape) + ")"
    return f"{text} {dtype}" if dtype is not None else text


def fmt_values(a: np.ndarray, precision: int = 4) -> str:
    """The values of a small array; each row of a matrix on its own line (escaped HTML).

    Example:
        >>> from autodiff.viz.labels import fmt_values
        >>> import numpy as np
        >>> fmt_values(np.array(715.0000001)), fmt_values(np.array([1.0, 2.5]))
        ('715', '[1, 2.5]')
    """
    if a.ndim == 0:
        return esc(fmt_number(a.item(), precision))
    if a.size == 0:
        return esc(f"empty {a.shape}")

    def row(v: np.ndarray) -> str:
        if v.ndim == 1:
            return "[" + ", ".join(fmt_number(x, precision) for x in v.tolist()) + "]"
        return "[" + ", ".join(row(r) for r in v) + "]"

    if a.ndim == 1:
        return esc(row(a))
    lines = [row(r) for r in a.reshape(-1, a.shape[-1])] if a.ndim == 2 else [row(a)]
    return "<BR/>".join(esc(line) for line in lines)


@dataclass(frozen=True)
class Stats:
    """Summary of an array too large to print: statistics over its finite elements.

    ``zeros`` is a fraction of all elements; ``healthy`` means no NaN and no Inf.

    Example:
        >>> import numpy as np
        >>> from autodiff.viz.labels import Stats, stats
        >>> s = stats(np.array([0.0, 3.0, 4.0, np.inf]))
        >>> s.min, s.max, s.norm, s.zeros, s.infs, s.healthy
        (0.0, 4.0, 5.0, 0.25, 1, False)
        >>> Stats(min=1.0, mean=1.0, max=1.0, norm=2.0, zeros=0.0, nans=0, infs=0).healthy
        True
    """

    min: float
    mean: float
    max: float
    norm: float
    zeros: float
    nans: int
    infs: int

    @property
    def healthy(self) -> bool:
        return self.nans == 0 and self.infs == 0


def stats(a: np.ndarray) -> Stats:
    """Min, mean, max, L2 norm and fraction of zeros (over finite values), and NaN/Inf counts.

    Example:
        >>> from autodiff.viz.labels import stats
        >>> import numpy as np
        >>> s = stats(np.array([0.0, 3.0, 4.0, np.nan]))
        >>> s.max, s.norm, s.zeros, s.nans
        (4.0, 5.0, 0.25, 1)
    """
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    finite = np.isfinite(a)
    nans = int(np.isnan(a).sum())
    infs = int(a.size - finite.sum() - nans)
    vals = a[finite] if (nans or infs) else a.ravel()
    if vals.size == 0:
        return Stats(np.nan, np.nan, np.nan, np.nan, 0.0, nans, infs)
    vals = vals.astype(np.float64) if vals.dtype.kind == "f" else np.abs(vals)
    return Stats(
        min=float(vals.min()),
        mean=float(vals.mean()),
        max=float(vals.max()),
        norm=float(np.sqrt(np.sum(vals * vals))),
        zeros=float(np.count_nonzero(vals == 0) / a.size),
        nans=nans,
        infs=infs,
    )


def fmt_stats(s: Stats, precision: int = 3, bad_color: str = "#ff00ff") -> str:
    """Two short lines: ``min / mean / max`` and ``norm, zeros``, plus a NaN/Inf flag.

    Example:
        >>> import numpy as np
        >>> from autodiff.viz.labels import fmt_stats, stats
        >>> fmt_stats(stats(np.array([3.0, 4.0, 0.0]))).split("<BR/>")[1]
        '‖·‖ 5  zeros 33%'
    """
    p = precision
    text = esc(
        f"min {fmt_number(s.min, p)}  mean {fmt_number(s.mean, p)}  max {fmt_number(s.max, p)}"
    )
    text += "<BR/>" + esc(f"‖·‖ {fmt_number(s.norm, p)}  zeros {s.zeros:.0%}")
    if not s.healthy:
        flag = "  ".join(f"{n} {kind}" for n, kind in ((s.nans, "NaN"), (s.infs, "Inf")) if n)
        text += "<BR/>" + font(f"<B>⚠ {esc(flag)}</B>", bad_color)
    return text


def describe(a: np.ndarray, precision: int, max_values: int, bad_color: str = "#ff00ff") -> str:
    """Values when ``a`` has at most ``max_values`` elements, statistics otherwise.

    Example:
        >>> from autodiff.viz.labels import describe
        >>> import numpy as np
        >>> describe(np.array([1.0, 2.0]), 4, 12)
        '[1, 2]'
        >>> describe(np.ones(100), 4, 12).split("<BR/>")[0]
        'min 1  mean 1  max 1'
    """
    if a.size <= max_values:
        text = fmt_values(a, precision)
        if "nan" in text or "inf" in text:  # cheaper than asking numpy for every small tensor
            text = font(text, bad_color)
        return text
    return fmt_stats(stats(a), min(precision, 3), bad_color)


def tensor_label(
    name: str | None,
    data: np.ndarray | None,
    shape: tuple[int, ...],
    dtype: np.dtype,
    grad: np.ndarray | None,
    opts: Options,
) -> str:
    """The label of a tensor node: name, shape and dtype, value, gradient (each optional).

    Example:
        >>> import numpy as np
        >>> from autodiff.viz.labels import tensor_label
        >>> from autodiff.viz.options import Options
        >>> a = np.array(2.2)
        >>> tensor_label("w", a, (), a.dtype, None, Options(show_shapes=False))
        '<B>w</B><BR/>2.2'
    """
    lines = []
    if name:
        lines.append(f"<B>{esc(name)}</B>")
    if opts.show_shapes:
        lines.append(font(esc(fmt_shape(shape, dtype)), "#666666", 9))
    bad = opts.color("bad")
    if opts.show_values and data is not None:
        lines.append(describe(data, opts.precision, opts.max_values, bad))
    if opts.show_grads and grad is not None:
        text = describe(grad, opts.precision, opts.max_values, bad)
        sep = "<BR/>" if "<BR/>" in text else " "
        lines.append(font("grad" + sep + text, opts.color("grad")))
    return "<BR/>".join(lines) or " "
