"""Pointwise parts of the fused LSTM step (``autodiff.ops.recurrent.LSTMStep``).

The matmuls and the ``exp`` calls stay in numpy (BLAS and numpy's SIMD exp are
faster than anything scalar here); these kernels fuse the ~20 small elementwise
numpy calls around them into one pass each, which is what a time step of an LSTM
is mostly made of at small batch sizes.

Layouts: ``act`` is (B, 4H) with gate column blocks i, f, g, o; every other array
is (B, H). Arrays may be float32 or float64 (any strides); outputs are written
into the arrays passed as ``out``. ``lstm_backward_ref`` (plain numpy, below) is
what the tests compare against.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def lstm_gates_forward(e, c, c_out, e_c):
    """Gates and new cell state from ``e = exp(-a')``, a' = a with the g block doubled.

    In place: ``e`` becomes the activations (i, f, o = 1 / (1 + e); g = 2 / (1 + e) - 1,
    i.e. tanh(a_g)); ``c_out = f * c + i * g``; ``e_c = -2 * c_out`` (for the caller's
    exp, which gives tanh(c_out) in ``lstm_output_forward``).
    """
    b, hid = c.shape
    for r in range(b):
        for k in range(hid):
            i = 1.0 / (1.0 + e[r, k])
            f = 1.0 / (1.0 + e[r, hid + k])
            g = 2.0 / (1.0 + e[r, 2 * hid + k]) - 1.0
            o = 1.0 / (1.0 + e[r, 3 * hid + k])
            e[r, k] = i
            e[r, hid + k] = f
            e[r, 2 * hid + k] = g
            e[r, 3 * hid + k] = o
            cn = f * c[r, k] + i * g
            c_out[r, k] = cn
            e_c[r, k] = -2.0 * cn


@njit(cache=True)
def lstm_output_forward(act, e_c, h_out):
    """In place: ``e_c`` (holding exp(-2 c')) becomes tanh(c'); ``h_out = o * tanh(c')``."""
    b, hid = e_c.shape
    for r in range(b):
        for k in range(hid):
            t = 2.0 / (1.0 + e_c[r, k]) - 1.0
            e_c[r, k] = t
            h_out[r, k] = act[r, 3 * hid + k] * t


@njit(cache=True)
def lstm_backward(act, tc, c, gh, gc, ga, gc_prev):
    """Gradients of the gate pre-activations (``ga``, B x 4H) and of the old cell state.

    ``tc = tanh(c')``; ``gh``, ``gc``: gradients of h' and c'. Writes ``ga`` and ``gc_prev``.
    """
    b, hid = tc.shape
    for r in range(b):
        for k in range(hid):
            i = act[r, k]
            f = act[r, hid + k]
            g = act[r, 2 * hid + k]
            o = act[r, 3 * hid + k]
            t = tc[r, k]
            dh = gh[r, k]
            dc = gc[r, k] + dh * o * (1.0 - t * t)
            ga[r, k] = dc * g * i * (1.0 - i)
            ga[r, hid + k] = dc * c[r, k] * f * (1.0 - f)
            ga[r, 2 * hid + k] = dc * i * (1.0 - g * g)
            ga[r, 3 * hid + k] = dh * t * o * (1.0 - o)
            gc_prev[r, k] = dc * f


def lstm_forward_ref(a, c):
    """Plain numpy: (act, c', tanh(c'), h') from the pre-activations ``a`` and ``c``."""
    hid = c.shape[1]
    sig = 1.0 / (1.0 + np.exp(-a))
    act = sig.copy()
    act[:, 2 * hid : 3 * hid] = np.tanh(a[:, 2 * hid : 3 * hid])
    i, f, g, o = (act[:, k * hid : (k + 1) * hid] for k in range(4))
    c_new = f * c + i * g
    tc = np.tanh(c_new)
    return act, c_new, tc, o * tc


def lstm_backward_ref(act, tc, c, gh, gc):
    """Plain numpy version of ``lstm_backward``: returns (ga, gc_prev)."""
    hid = c.shape[1]
    i, f, g, o = (act[:, k * hid : (k + 1) * hid] for k in range(4))
    dc = gc + gh * o * (1 - tc * tc)
    ga = np.concatenate(
        [dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g), gh * tc * o * (1 - o)],
        axis=1,
    )
    return ga, dc * f
