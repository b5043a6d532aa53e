"""Recurrent cells as fused nodes: one ``Function`` per time step (Elman RNN, LSTM, GRU).

Unrolling a recurrent net in time (the lecture notes' picture of an RNN as a deep
net whose layers share parameters) records one node per step. Written with
elementwise ops, an LSTM step would be ~25 nodes; here it is one, whose
``forward`` runs the whole step on numpy arrays and whose ``backward_arrays``
is the hand-derived BPTT step. The differentiable ``backward`` recomputes the
step with autodiff ops and writes the same formulas, so ``create_graph=True``
(second derivatives, gradient penalties) still works; the registry walk checks
that both backward paths agree.

The input projection ``x_t @ W_x + b`` does not depend on the state, so a layer
computes it for all time steps with one ``linear`` node, cuts the result into
steps with ``unstack`` and feeds each step node the projected slice ``xw``:

=================  ==========================================================
``rnn_step``       ``h' = tanh(xw + h @ W_h)`` (or relu)
``lstm_step``      ``a = xw + h @ W_h``, gates i, f, g, o (column blocks of ``a``);
                   ``c' = f * c + i * g``; ``h' = o * tanh(c')``
``gru_step``       ``a_h = h @ W_h + b_h``; gates r, z, n (column blocks);
                   ``r = sigmoid(xw_r + a_h_r)``, ``z = sigmoid(xw_z + a_h_z)``,
                   ``n = tanh(xw_n + r * a_h_n)``, ``h' = (1 - z) * n + z * h``
=================  ==========================================================

Weights are stored as ``x @ W`` (like ``linear``): ``W_x`` is (in, G*H) and
``W_h`` is (H, G*H) with the gates as column blocks, G = 1, 4 (i, f, g, o) or
3 (r, z, n). These are PyTorch's gate orders, so PyTorch's ``weight_ih_l0`` is
``W_x.T`` and ``weight_hh_l0`` is ``W_h.T`` (see ``nn.LSTM`` for the full mapping).

``rnn_cell``, ``lstm_cell`` and ``gru_cell`` take the raw input ``x`` and the
weights and do the projection themselves (two nodes: ``linear`` + the step).

dtypes (``_util.kernel_inputs``): the output dtype is numpy's promotion of the inputs'
(float32 with float64 gives float64); float16 is computed in float32 (the LSTM kernel and
BLAS have no float16) and returned as float16; an array in swapped byte order ('>f4')
is taken as its native twin; integer, bool or complex inputs are a TypeError naming the op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..kernels.recurrent import lstm_backward, lstm_forward
from ..registry import REAL, register
from ..tensor import Tensor
from ._util import arg_error, as_result, kernel_inputs
from .elementwise import sigmoid, tanh
from .linalg import linear
from .shape import concatenate

__all__ = [
    "rnn_step",
    "lstm_step",
    "gru_step",
    "rnn_cell",
    "lstm_cell",
    "gru_cell",
    "unstack",
    "stack_steps",
]

_NONLINEARITIES = ("tanh", "relu")


def _check_step(name: str, xw: np.ndarray, h: np.ndarray, w_h: np.ndarray, gates: int) -> int:
    hidden = h.shape[-1] if h.ndim else 0
    if h.ndim != 2 or xw.ndim != 2 or w_h.shape != (hidden, gates * hidden):
        raise ValueError(
            f"{name} expects xw (batch, {gates}*hidden), h (batch, hidden) and "
            f"W_h (hidden, {gates}*hidden); got xw {xw.shape}, h {h.shape}, W_h {w_h.shape}"
        )
    if xw.shape != (h.shape[0], gates * hidden):
        raise ValueError(
            f"{name}: xw has shape {xw.shape} but h {h.shape} needs "
            f"({h.shape[0]}, {gates * hidden}) (batch, {gates}*hidden)"
        )
    return hidden


#: What a step's ``gate_grads`` returns, on arrays: the gradient of its projected input
#: ``xw``, of ``a_h = h @ W_h (+ b_h)``, of ``h`` other than through ``a_h`` (None if
#: there is no such path) and of the previous cell state (LSTM only, else None).
GateGrads = tuple[np.ndarray, np.ndarray, "np.ndarray | None", "np.ndarray | None"]


def _step_grads(step: Function, grads: GateGrads) -> tuple[np.ndarray | None, ...]:
    """A step's input gradients from its gate gradients, the same rule for every cell.

    Inputs are ``(xw, h[, c], W_h[, b_h])``: ``gxw``; ``gh = ga_h @ W_h.T + direct``;
    ``gc``; ``gW_h = h.T @ ga_h``; ``gb_h = sum(ga_h, axis=0)``.
    """
    g_xw, g_ah, g_direct, g_c = grads
    xw, h, *rest = step.inputs
    c = rest.pop(0) if step.has_cell else None
    w_h = rest[0]
    gh = None
    if h.requires_grad:
        gh = g_ah @ w_h.data.T
        if g_direct is not None:
            gh += g_direct
    out = [g_xw if xw.requires_grad else None, gh]
    if c is not None:
        out.append(g_c if c.requires_grad else None)
    out.append(h.data.T @ g_ah if w_h.requires_grad else None)
    if len(rest) == 2:
        out.append(g_ah.sum(axis=0) if rest[1].requires_grad else None)
    return tuple(out)


class RNNStep(Function):
    """One Elman step ``h' = act(xw + h @ W_h)`` (act = tanh or relu), inputs (xw, h, W_h)."""

    name = "rnn_step"
    has_cell = False  # carries a cell state c besides h
    rule = "ga = gh' * act'(a); gxw = ga, gh = ga @ W_h.T, gW_h = h.T @ ga"

    def __init__(self, nonlinearity: str = "tanh") -> None:
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def forward(self, xw: np.ndarray, h: np.ndarray, w_h: np.ndarray) -> np.ndarray:
        _check_step(self.name, xw, h, w_h, 1)
        out, (xw, h, w_h) = kernel_inputs(self.name, xw, h, w_h)
        a = h @ w_h
        a += xw
        if self.nonlinearity == "tanh":
            y = _tanh_(a)
        else:
            y = np.maximum(a, 0, out=a)
        self.saved = y
        return as_result(y, out)

    def gate_grads(self, gy: np.ndarray, xw: np.ndarray, h: np.ndarray, *rest: Any) -> GateGrads:
        y = self.saved
        gy = gy.astype(y.dtype, copy=False)
        if self.nonlinearity == "tanh":
            ga = y * y
            np.subtract(1, ga, out=ga)
            ga *= gy
        else:
            ga = gy * (y > 0)
        return ga, ga, None, None

    def backward_arrays(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return _step_grads(self, self.gate_grads(gy, *[t.data for t in self.inputs]))

    def backward(self, gy: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        xw, h, w_h = self.inputs
        a = xw + h @ w_h
        if self.nonlinearity == "tanh":
            y = tanh(a)
            ga = gy * (1.0 - y * y)
        else:
            ga = gy * Tensor((a.data > 0).astype(a.dtype), _copy=False)
        return ga, ga @ w_h.T, h.T @ ga


# numpy's float32 tanh has no SIMD loop on AVX2 machines and costs ~4x its exp, so the
# fused steps build both activations from exp: sigmoid(a) = 1 / (1 + exp(-a)) and
# tanh(a) = 2 sigmoid(2a) - 1 (absolute error ~1 ulp of 1). exp overflows to inf for
# a < -88 (float32), which gives the right limit 0; the warning is silenced.


def _sigmoid_(a: np.ndarray) -> np.ndarray:
    """sigmoid(a), computed in place."""
    np.negative(a, out=a)
    with np.errstate(over="ignore"):
        np.exp(a, out=a)
    a += 1
    return np.reciprocal(a, out=a)


def _tanh_(a: np.ndarray) -> np.ndarray:
    """tanh(a), computed in place."""
    a *= -2
    with np.errstate(over="ignore"):
        np.exp(a, out=a)
    a += 1
    np.reciprocal(a, out=a)
    a *= 2
    a -= 1
    return a


class LSTMStep(Function):
    """One LSTM step, inputs (xw, h, c, W_h), outputs (h', c'); gates i, f, g, o.

    ``a = xw + h @ W_h``; ``i, f, o = sigmoid(a_i, a_f, a_o)``, ``g = tanh(a_g)``;
    ``c' = f * c + i * g``; ``h' = o * tanh(c')``.
    """

    name = "lstm_step"
    has_cell = True  # carries a cell state c besides h
    rule = (
        "gc_tot = gc' + gh' * o * (1 - tanh(c')**2); "
        "gi = gc_tot * g, gf = gc_tot * c, gg = gc_tot * i, go = gh' * tanh(c'); "
        "ga = [gi i(1-i), gf f(1-f), gg (1-g**2), go o(1-o)]; "
        "gxw = ga, gh = ga @ W_h.T, gc = gc_tot * f, gW_h = h.T @ ga"
    )

    def forward(
        self, xw: np.ndarray, h: np.ndarray, c: np.ndarray, w_h: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        _check_step(self.name, xw, h, w_h, 4)
        if c.shape != h.shape:
            raise ValueError(f"lstm_step: c has shape {c.shape} but h has shape {h.shape}")
        # the kernel compiles for float32 and float64 in native order only
        out, (xw, h, c, w_h) = kernel_inputs(self.name, xw, h, c, w_h)
        act = h @ w_h
        c_new = np.empty(h.shape, act.dtype)
        tc = np.empty(h.shape, act.dtype)
        h_new = np.empty(h.shape, act.dtype)
        lstm_forward(act, xw, c, c_new, tc, h_new)
        self.saved = (act, tc)
        return as_result(h_new, out), as_result(c_new, out)

    def gate_grads(
        self, gh: np.ndarray, gc: np.ndarray, xw: np.ndarray, h: np.ndarray, c: np.ndarray, *rest
    ) -> GateGrads:
        act, tc = self.saved
        dt = act.dtype  # the compute dtype of forward: the kernel's arrays must all have it
        gh, gc, c = (a.astype(dt, copy=False) for a in (gh, gc, c))
        ga = np.empty_like(act)
        gc_prev = np.empty_like(tc)
        lstm_backward(act, tc, c, gh, gc, ga, gc_prev)
        return ga, ga, None, gc_prev

    def backward_arrays(self, gh: np.ndarray, gc: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return _step_grads(self, self.gate_grads(gh, gc, *[t.data for t in self.inputs]))

    def backward(self, gh: Tensor, gc: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        xw, h, c, w_h = self.inputs
        hid = h.shape[1]
        a = xw + h @ w_h
        i = sigmoid(a[:, :hid])
        f = sigmoid(a[:, hid : 2 * hid])
        g = tanh(a[:, 2 * hid : 3 * hid])
        o = sigmoid(a[:, 3 * hid :])
        tc = tanh(f * c + i * g)
        dc = gc + gh * o * (1.0 - tc * tc)
        ga = concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * c * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                gh * tc * o * (1.0 - o),
            ],
            axis=1,
        )
        return ga, ga @ w_h.T, dc * f, h.T @ ga


class GRUStep(Function):
    """One GRU step, inputs (xw, h, W_h[, b_h]); gates r, z, n (PyTorch's formulation).

    ``a_h = h @ W_h + b_h``; ``r = sigmoid(xw_r + a_h_r)``, ``z = sigmoid(xw_z + a_h_z)``,
    ``n = tanh(xw_n + r * a_h_n)``, ``h' = (1 - z) * n + z * h``. The hidden bias
    ``b_h`` is a separate input because its n block sits inside ``r * (...)``.
    """

    name = "gru_step"
    has_cell = False  # carries a cell state c besides h
    rule = (
        "gn = gh' (1 - z) (1 - n**2); gz = gh' (h - n) z (1 - z); gr = gn a_h_n r (1 - r); "
        "gxw = [gr, gz, gn], ga_h = [gr, gz, gn r]; gh = gh' z + ga_h @ W_h.T, "
        "gW_h = h.T @ ga_h, gb_h = sum(ga_h, axis=0)"
    )

    def forward(
        self, xw: np.ndarray, h: np.ndarray, w_h: np.ndarray, b_h: np.ndarray | None = None
    ) -> np.ndarray:
        hid = _check_step(self.name, xw, h, w_h, 3)
        if b_h is not None and b_h.shape != (3 * hid,):
            raise ValueError(
                f"{self.name}: b_h has shape {b_h.shape}; expected ({3 * hid},) "
                f"(3*hidden, for hidden {hid})"
            )
        out, (xw, h, w_h, *b) = kernel_inputs(
            self.name, xw, h, w_h, *(() if b_h is None else (b_h,))
        )
        ah = h @ w_h
        if b:
            ah += b[0]
        rz = xw[:, : 2 * hid] + ah[:, : 2 * hid]
        _sigmoid_(rz)
        r, z = rz[:, :hid], rz[:, hid:]
        n = r * ah[:, 2 * hid :]
        n += xw[:, 2 * hid :]
        _tanh_(n)
        h_new = h - n
        h_new *= z
        h_new += n
        self.saved = (rz, n, ah[:, 2 * hid :])
        return as_result(h_new, out)

    def gate_grads(self, gy: np.ndarray, xw: np.ndarray, h: np.ndarray, *rest: Any) -> GateGrads:
        rz, n, ahn = self.saved
        gy, h = gy.astype(n.dtype, copy=False), h.astype(n.dtype, copy=False)
        hid = n.shape[1]
        r, z = rz[:, :hid], rz[:, hid:]
        gxw = np.empty_like(rz, shape=(n.shape[0], 3 * hid))
        gn = gxw[:, 2 * hid :]
        np.multiply(n, n, out=gn)
        np.subtract(1, gn, out=gn)
        gn *= 1 - z
        gn *= gy
        grz = 1 - rz
        grz *= rz
        grz[:, :hid] *= gn
        grz[:, :hid] *= ahn
        grz[:, hid:] *= gy
        grz[:, hid:] *= h - n
        gxw[:, : 2 * hid] = grz
        gah = gxw.copy()
        gah[:, 2 * hid :] *= r
        return gxw, gah, gy * z, None

    def backward_arrays(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return _step_grads(self, self.gate_grads(gy, *[t.data for t in self.inputs]))

    def backward(self, gy: Tensor) -> tuple[Tensor, ...]:
        xw, h, w_h = self.inputs[:3]
        hid = h.shape[1]
        ah = h @ w_h
        if len(self.inputs) == 4:
            ah = ah + self.inputs[3]
        r = sigmoid(xw[:, :hid] + ah[:, :hid])
        z = sigmoid(xw[:, hid : 2 * hid] + ah[:, hid : 2 * hid])
        ahn = ah[:, 2 * hid :]
        n = tanh(xw[:, 2 * hid :] + r * ahn)
        gn = gy * (1.0 - z) * (1.0 - n * n)
        gr = gn * ahn * r * (1.0 - r)
        gz = gy * (h - n) * z * (1.0 - z)
        gxw = concatenate([gr, gz, gn], axis=1)
        gah = concatenate([gr, gz, gn * r], axis=1)
        grads = (gxw, gy * z + gah @ w_h.T, h.T @ gah)
        if len(self.inputs) == 4:
            return grads + (gah,)  # the engine sums it down to b_h's shape
        return grads


class Unstack(Function):
    """Cut a tensor into its slices along ``axis`` (a tuple of outputs, one node).

    The outputs are views of the input, as numpy's ``x[t]`` would be: nothing in
    the framework writes into an op's input in place.
    """

    name = "unstack"
    rule = "gx = stack(gys, axis)"

    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        if x.ndim == 0:
            raise ValueError("unstack needs at least a 1-D input")
        if not -x.ndim <= self.axis < x.ndim:  # wrapped by __call__ with the op and shapes
            raise ValueError(f"axis {self.axis} is out of range for {x.ndim} dimensions")
        self.axis = self.axis % x.ndim
        moved = np.moveaxis(x, self.axis, 0)
        return tuple(moved[t] for t in range(moved.shape[0]))

    def backward_arrays(self, *gys: np.ndarray) -> np.ndarray:
        return np.stack(gys, axis=self.axis)

    def backward(self, *gys: Tensor) -> Tensor:
        return StackSteps(self.axis)(*gys)


class StackSteps(Function):
    """Join same-shaped tensors along a new ``axis`` as one node (``unstack``'s inverse)."""

    name = "stack_steps"
    rule = "gx_t = gy[t] along axis"

    def __init__(self, axis: int = 0) -> None:
        self.axis = axis

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        return np.stack(xs, axis=self.axis)

    def backward_arrays(self, gy: np.ndarray) -> tuple[np.ndarray, ...]:
        # one copy, so the input gradients never alias the upstream gradient
        moved = np.moveaxis(gy, self.axis, 0).copy()
        return tuple(moved[t] for t in range(moved.shape[0]))

    def backward(self, gy: Tensor) -> tuple[Tensor, ...]:
        out = Unstack(self.axis)(gy)
        return out if isinstance(out, tuple) else (out,)


def rnn_step(xw: Any, h: Any, w_h: Any, nonlinearity: str = "tanh") -> Tensor:
    """One Elman RNN step on a projected input: ``act(xw + h @ w_h)``, act tanh or relu.

    ``xw`` is ``x_t @ W_x + b`` (batch, hidden), ``h`` the previous state (batch, hidden),
    ``w_h`` (hidden, hidden).

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> h = ad.rnn_step(np.zeros((2, 3)), np.ones((2, 3)), np.eye(3) * 0.5)
        >>> np.round(h.data, 4).tolist()[0]
        [0.4621, 0.4621, 0.4621]
    """
    return RNNStep(nonlinearity)(xw, h, w_h)


def lstm_step(xw: Any, h: Any, c: Any, w_h: Any) -> tuple[Tensor, Tensor]:
    """One LSTM step on a projected input; returns ``(h', c')`` (gate blocks i, f, g, o).

    ``xw`` is ``x_t @ W_x + b`` (batch, 4*hidden), ``h`` and ``c`` (batch, hidden),
    ``w_h`` (hidden, 4*hidden).

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> xw = np.full((1, 8), 10.0)  # every gate open, g = tanh(10) ~ 1
        >>> h, c = ad.lstm_step(xw, np.zeros((1, 2)), np.ones((1, 2)), np.zeros((2, 8)))
        >>> np.round(c.data, 3).tolist(), np.round(h.data, 3).tolist()
        ([[2.0, 2.0]], [[0.964, 0.964]])
    """
    return LSTMStep()(xw, h, c, w_h)


def gru_step(xw: Any, h: Any, w_h: Any, b_h: Any = None) -> Tensor:
    """One GRU step on a projected input (gate blocks r, z, n); ``b_h`` is the hidden bias.

    ``xw`` is ``x_t @ W_x + b_x`` (batch, 3*hidden), ``h`` (batch, hidden),
    ``w_h`` (hidden, 3*hidden), ``b_h`` (3*hidden,) or None.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> xw = np.array([[0.0, 50.0, 0.0]])  # z = 1: keep the old state
        >>> ad.gru_step(xw, np.array([[0.7]]), np.zeros((1, 3))).data.round(4).tolist()
        [[0.7]]
    """
    if b_h is None:
        return GRUStep()(xw, h, w_h)
    return GRUStep()(xw, h, w_h, b_h)


def rnn_cell(
    x: Any, h: Any, w_x: Any, w_h: Any, b: Any = None, nonlinearity: str = "tanh"
) -> Tensor:
    """Elman cell ``act(x @ w_x + h @ w_h + b)``: ``linear`` then ``rnn_step`` (two nodes).

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> h = ad.rnn_cell(np.ones((1, 2)), np.zeros((1, 3)), np.ones((2, 3)), np.eye(3))
        >>> np.round(h.data, 4).tolist()
        [[0.964, 0.964, 0.964]]
    """
    return RNNStep(nonlinearity)(linear(x, w_x, b), h, w_h)


def lstm_cell(x: Any, h: Any, c: Any, w_x: Any, w_h: Any, b: Any = None) -> tuple[Tensor, Tensor]:
    """LSTM cell on a raw input: ``linear(x, w_x, b)`` then ``lstm_step``; returns ``(h', c')``.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> h, c = ad.lstm_cell(np.ones((3, 5)), np.zeros((3, 2)), np.zeros((3, 2)),
        ...                     np.zeros((5, 8)), np.zeros((2, 8)))
        >>> h.shape, c.shape
        ((3, 2), (3, 2))
    """
    return LSTMStep()(linear(x, w_x, b), h, c, w_h)


def gru_cell(x: Any, h: Any, w_x: Any, w_h: Any, b_x: Any = None, b_h: Any = None) -> Tensor:
    """GRU cell on a raw input: ``linear(x, w_x, b_x)`` then ``gru_step(.., b_h)``.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> ad.gru_cell(np.ones((4, 5)), np.zeros((4, 2)), np.zeros((5, 6)),
        ...             np.zeros((2, 6))).shape
        (4, 2)
    """
    return gru_step(linear(x, w_x, b_x), h, w_h, b_h)


def unstack(x: Any, axis: int = 0) -> tuple[Tensor, ...]:
    """Slices of ``x`` along ``axis`` as a tuple (one node; time steps of a sequence).

    Example:
        >>> import autodiff as ad
        >>> steps = ad.unstack(ad.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        >>> len(steps), steps[1]
        (3, Tensor([3., 4.]))
    """
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise arg_error("unstack", f"axis must be an int, got {axis!r}", TypeError)
    out = Unstack(int(axis))(x)
    return out if isinstance(out, tuple) else (out,)


def stack_steps(xs: Any, axis: int = 0) -> Tensor:
    """``stack`` as a single node: join same-shaped tensors along a new ``axis``.

    Example:
        >>> import autodiff as ad
        >>> ad.stack_steps([ad.tensor([1.0, 2.0]), ad.tensor([3.0, 4.0])], axis=1).tolist()
        [[1.0, 3.0], [2.0, 4.0]]
    """
    xs = list(xs)
    if not xs:
        raise ValueError("stack_steps: need at least one tensor")
    return StackSteps(axis)(*xs)


# ---------------------------------------------------------------- registry entries


def _sizes(draw: Any, st: Any) -> tuple[int, int]:
    return draw(st.integers(1, 3)), draw(st.integers(1, 3))


def _rnn_step_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    batch, hid = _sizes(draw, st)
    arrays = [
        draw(st.arrays((batch, hid), REAL, salt=0)),
        draw(st.arrays((batch, hid), REAL, salt=1)),
        draw(st.arrays((hid, hid), REAL, salt=2)) * 0.5,
    ]
    return arrays, {"nonlinearity": draw(st.sampled_from(_NONLINEARITIES))}


def _lstm_step_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    batch, hid = _sizes(draw, st)
    shapes = [(batch, 4 * hid), (batch, hid), (batch, hid), (hid, 4 * hid)]
    return [draw(st.arrays(s, REAL, salt=k)) for k, s in enumerate(shapes)], {}


def _gru_step_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    batch, hid = _sizes(draw, st)
    shapes = [(batch, 3 * hid), (batch, hid), (hid, 3 * hid)]
    if draw(st.booleans()):
        shapes.append((3 * hid,))
    return [draw(st.arrays(s, REAL, salt=k)) for k, s in enumerate(shapes)], {}


def _cell_case(gates: int, biases: int) -> Any:
    def case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
        batch, hid = _sizes(draw, st)
        n_in = draw(st.integers(1, 3))
        shapes = [(batch, n_in), (batch, hid)]
        if gates == 4:
            shapes.append((batch, hid))
        shapes += [(n_in, gates * hid), (hid, gates * hid)]
        shapes += [(gates * hid,)] * biases
        return [draw(st.arrays(s, REAL, salt=k)) for k, s in enumerate(shapes)], {}

    return case


def _unstack_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = draw(st.shapes(min_dims=1))
    return [draw(st.arrays(shape, REAL))], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


def _stack_steps_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    shape = draw(st.shapes(max_dims=2))
    n = draw(st.integers(1, 4))
    axis = draw(st.integers(-(len(shape) + 1), len(shape)))
    return [draw(st.arrays(shape, REAL, salt=k)) for k in range(n)], {"axis": axis}


def _stack_steps_call(*xs: Tensor, axis: int = 0) -> Tensor:
    return stack_steps(xs, axis=axis)


def _weighted_unstack(x: Tensor, axis: int = 0) -> Tensor:
    # Weight the slices differently so a swapped or missing slice gradient is caught;
    # leave the last one unused so the engine's zero-fill for it is exercised too.
    pieces = unstack(x, axis)
    total = pieces[0] * 1.0
    for k, p in enumerate(pieces[1:-1]):
        total = total + p * float(k + 2)
    return total


register("rnn_step", rnn_step, functions=(RNNStep,), shapes="custom", cases=_rnn_step_case)
register("lstm_step", lstm_step, functions=(LSTMStep,), shapes="custom", cases=_lstm_step_case)
register("gru_step", gru_step, functions=(GRUStep,), shapes="custom", cases=_gru_step_case)
register("rnn_cell", rnn_cell, functions=(RNNStep,), shapes="custom", cases=_cell_case(1, 1))
# The LSTM and GRU cells are linear + step, each checked to second order on its own entry;
# here first order is enough and keeps the walk fast.
register(
    "lstm_cell",
    lstm_cell,
    functions=(LSTMStep,),
    shapes="custom",
    cases=_cell_case(4, 1),
    smooth=False,
)
register(
    "gru_cell",
    gru_cell,
    functions=(GRUStep,),
    shapes="custom",
    cases=_cell_case(3, 2),
    smooth=False,
)
register("unstack", _weighted_unstack, functions=(Unstack,), shapes="custom", cases=_unstack_case)
register(
    "stack_steps",
    _stack_steps_call,
    functions=(StackSteps,),
    shapes="custom",
    cases=_stack_steps_case,
)
