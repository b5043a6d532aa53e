"""Numba kernels: convolution and pooling (NCHW), ReLU, and the pointwise part of an LSTM step.

Some parallel kernels have a serial twin for mid-sized problems (``SERIAL_TWINS``).

Kernels are leaves: they import only numpy and numba, take plain C-contiguous float32 or
float64 ndarrays plus int hyper-parameters, return new arrays of the input dtype, and do no
argument validation (that is the ops' job). See conv.py and pool.py for layouts and
conventions, reference.py for the plain-numpy versions the tests compare against.
recurrent.py (imported by the recurrent ops from there) writes into arrays it is given, and
so do conv.py's image-by-image kernels, which also take BLAS's gemm (``runtime.gemm``).

``KERNELS`` maps each kernel name to ``(kernel, make_args)``, where ``make_args(dtype=float64)``
builds a small tuple of example arguments (for the kernels that return nothing, the
last array among them is an output), so a benchmark can time the cold compile (or
cache load) and the warm first call of every kernel: ``fn(*make_args())``.
"""

import numpy as np

from . import runtime
from .conv import (
    col2im,
    col2im_serial,
    conv_backward_images,
    conv_forward_images,
    conv_out_size,
    im2col,
    im2col_serial,
)
from .pointwise import relu_backward, relu_forward
from .pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_backward_serial,
    max_pool2d_forward,
    max_pool2d_forward_serial,
    max_pool2d_gather,
    pool_out_size,
)
from .recurrent import lstm_backward, lstm_forward
from .reference import max_pool2d_forward_ref

runtime.tune()  # before numba starts its thread pool (the first parallel kernel call)

__all__ = [
    "KERNELS",
    "SERIAL_TWINS",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "col2im",
    "col2im_serial",
    "conv_backward_images",
    "conv_forward_images",
    "conv_out_size",
    "im2col",
    "im2col_serial",
    "max_pool2d_backward",
    "max_pool2d_backward_serial",
    "max_pool2d_forward",
    "max_pool2d_forward_serial",
    "max_pool2d_gather",
    "pool_out_size",
    "relu_backward",
    "relu_forward",
]

# Example problem: batch 2, 3 channels, 8x8 input, 3x3 kernel, stride 1, pad 1, dilation 1
# (conv output 8x8); pooling uses a 2x2 window with stride 2 (output 4x4).
_X_SHAPE = (2, 3, 8, 8)
_CONV = (3, 3, 1, 1, 1, 1, 1, 1)
_POOL = (2, 2, 2, 2, 0, 0)


def _rand(shape, dtype):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _im2col_args(dtype=np.float64):
    # ones_row given, as the ops give it: an omitted default compiles a version of its own
    return (_rand(_X_SHAPE, dtype), *_CONV, False)


def _col2im_args(dtype=np.float64):
    return (_rand((3 * 3 * 3, 2 * 8 * 8), dtype), _X_SHAPE, *_CONV)


def _conv_images_args(dtype=np.float64):
    # two images, 4 filters with a bias column; images 0..1 (all)
    y = np.empty((2, 4, 8 * 8), dtype)
    w_mat = _rand((4, 3 * 3 * 3 + 1), dtype)
    return (runtime.gemm(dtype), _rand(_X_SHAPE, dtype), w_mat, y, 0, 2, *_CONV)


def _conv_backward_images_args(dtype=np.float64):
    gemm, x, w_mat, y, lo, hi, *conv = _conv_images_args(dtype)
    gy, gw_t = _rand(y.shape, dtype), np.zeros((w_mat.shape[1], 4), dtype)
    return (gemm, x, w_mat[:, :-1].copy(), gy, np.empty_like(x), gw_t, lo, hi, *conv)


def _pool_forward_args(dtype=np.float64):
    return (_rand(_X_SHAPE, dtype), *_POOL)


def _max_backward_args(dtype=np.float64):
    x = _rand(_X_SHAPE, dtype)
    # The numpy reference keeps argument building free of numba compilation.
    y = max_pool2d_forward_ref(x, *_POOL)
    return (_rand(y.shape, dtype), x, y, *_POOL)


def _max_gather_args(dtype=np.float64):
    x = _rand(_X_SHAPE, dtype)
    # The numpy reference keeps argument building free of numba compilation.
    y = max_pool2d_forward_ref(x, *_POOL)
    return (_rand(x.shape, dtype), x, y, *_POOL)


def _avg_backward_args(dtype=np.float64):
    return (_rand((2, 3, 4, 4), dtype), _X_SHAPE, *_POOL)


def _relu_forward_args(dtype=np.float64):
    return (_rand(_X_SHAPE, dtype),)


def _relu_backward_args(dtype=np.float64):
    return (_rand(_X_SHAPE, dtype), _rand(_X_SHAPE, dtype))


def _lstm_forward_args(dtype=np.float64):
    act, c = _rand((2, 12), dtype), _rand((2, 3), dtype)
    return (act, _rand((2, 12), dtype), c, np.empty_like(c), np.empty_like(c), np.empty_like(c))


def _lstm_backward_args(dtype=np.float64):
    act, c = _rand((2, 12), dtype), _rand((2, 3), dtype)
    return (act, c, c, c, c, np.empty_like(act), np.empty_like(c))


KERNELS = {
    "im2col": (im2col, _im2col_args),
    "col2im": (col2im, _col2im_args),
    "im2col_serial": (im2col_serial, _im2col_args),
    "col2im_serial": (col2im_serial, _col2im_args),
    "max_pool2d_forward": (max_pool2d_forward, _pool_forward_args),
    "max_pool2d_backward": (max_pool2d_backward, _max_backward_args),
    "max_pool2d_forward_serial": (max_pool2d_forward_serial, _pool_forward_args),
    "max_pool2d_backward_serial": (max_pool2d_backward_serial, _max_backward_args),
    "max_pool2d_gather": (max_pool2d_gather, _max_gather_args),
    "avg_pool2d_forward": (avg_pool2d_forward, _pool_forward_args),
    "avg_pool2d_backward": (avg_pool2d_backward, _avg_backward_args),
    "relu_forward": (relu_forward, _relu_forward_args),
    "relu_backward": (relu_backward, _relu_backward_args),
    "lstm_forward": (lstm_forward, _lstm_forward_args),
    "lstm_backward": (lstm_backward, _lstm_backward_args),
}

if runtime.gemm(np.float32) is not None and runtime.gemm(np.float64) is not None:
    KERNELS["conv_forward_images"] = (conv_forward_images, _conv_images_args)
    KERNELS["conv_backward_images"] = (conv_backward_images, _conv_backward_images_args)

#: parallel kernel -> its serial twin, for the ops to run on mid-sized problems
#: (``autodiff.ops.conv.SERIAL_PROBLEM``; measurements next to the twins in conv.py and pool.py)
SERIAL_TWINS = {
    im2col: im2col_serial,
    col2im: col2im_serial,
    max_pool2d_forward: max_pool2d_forward_serial,
    max_pool2d_backward: max_pool2d_backward_serial,
}
