"""Pointwise parts of the fused LSTM step (``autodiff.ops.recurrent.LSTMStep``).

The matrix products stay in numpy (BLAS); these kernels fuse the ~20 small
elementwise numpy calls around them into one pass each, which is what a time step
of an LSTM is mostly made of at small batch sizes. Their ``exp`` is the vectorised
one of ``expf.py`` (numpy's float32 exp alone took ~35 us of a ~150 us step).

Layouts: ``act`` and ``xw`` are (B, 4H), gate column blocks i, f, g, o; every other array
is (B, H). Arrays may be float32 or float64 (any strides); outputs are written
into the arrays passed for them, which must not overlap the inputs (except ``act``,
which ``lstm_forward`` updates in place). The loops run over one gate block of one
row at a time, from index 0, with typed constants and numpy's error model (no
zero-division branch), so LLVM vectorises them: 3-8x faster than one scalar loop.
``lstm_backward_ref`` (plain numpy, below) is what the tests compare against.
"""

import numpy as np
from numba import njit

from .expf import exp


@njit(cache=True, error_model="numpy")
def lstm_forward(act, xw, c, c_out, tc, h_out):
    """One LSTM step after the recurrent matrix product, in one pass.

    ``act`` holds ``h @ W_h`` on entry and the gate activations on return (i, f, o =
    sigmoid(act + xw), g = tanh(act + xw)); writes ``c_out = f * c + i * g``,
    ``tc = tanh(c_out)`` and ``h_out = o * tc``. tanh(a) is computed as
    2 sigmoid(2a) - 1, so every nonlinearity is the one vectorised ``exp``.
    """
    b, hid = c.shape
    one, two = act.dtype.type(1), act.dtype.type(2)
    for r in range(b):
        # Loops from 0 over one row's gate block at a time: LLVM vectorises those, not a
        # loop over four strided blocks nor one starting at an offset (numba's negative-
        # index check stays in it).
        ar, xr = act[r], xw[r]
        for k in range(2 * hid):  # i and f
            ar[k] = one / (one + exp(-(ar[k] + xr[k])))
        i, f, g, o = ar[:hid], ar[hid : 2 * hid], ar[2 * hid : 3 * hid], ar[3 * hid :]
        xg, xo = xr[2 * hid : 3 * hid], xr[3 * hid :]
        for k in range(hid):
            g[k] = two / (one + exp(-two * (g[k] + xg[k]))) - one
        for k in range(hid):
            o[k] = one / (one + exp(-(o[k] + xo[k])))
        cr, cor, tcr, hr = c[r], c_out[r], tc[r], h_out[r]
        for k in range(hid):
            cn = f[k] * cr[k] + i[k] * g[k]
            cor[k] = cn
            t = two / (one + exp(-two * cn)) - one
            tcr[k] = t
            hr[k] = o[k] * t


@njit(cache=True, error_model="numpy")
def lstm_backward(act, tc, c, gh, gc, ga, gc_prev):
    """Gradients of the gate pre-activations (``ga``, B x 4H) and of the old cell state.

    ``tc = tanh(c')``; ``gh``, ``gc``: gradients of h' and c'. Writes ``ga`` and ``gc_prev``.
    """
    b, hid = tc.shape
    one = tc.dtype.type(1)
    for r in range(b):
        ar, gar = act[r], ga[r]
        i, f, g, o = ar[:hid], ar[hid : 2 * hid], ar[2 * hid : 3 * hid], ar[3 * hid :]
        gi, gf, gg, go = gar[:hid], gar[hid : 2 * hid], gar[2 * hid : 3 * hid], gar[3 * hid :]
        tr, cr, ghr, gcr, dc = tc[r], c[r], gh[r], gc[r], gc_prev[r]
        # gc_prev holds dc until the last loop; one short loop per gate, as in lstm_forward
        for k in range(hid):
            t = tr[k]
            go[k] = ghr[k] * t * o[k] * (one - o[k])
            dc[k] = gcr[k] + ghr[k] * o[k] * (one - t * t)
        for k in range(hid):
            gi[k] = dc[k] * g[k] * i[k] * (one - i[k])
        for k in range(hid):
            gf[k] = dc[k] * cr[k] * f[k] * (one - f[k])
        for k in range(hid):
            gg[k] = dc[k] * i[k] * (one - g[k] * g[k])
        for k in range(hid):
            dc[k] *= f[k]


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
