"""Convolution and pooling fed real-world arrays: odd dtypes and layouts, empty axes,
several Python threads, and the split-batch route, against PyTorch where it has an answer.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff import kernels
from autodiff.ops import conv as conv_ops

RNG = np.random.default_rng(7)

# Big enough for the numba kernels (above conv_ops.SMALL_PROBLEM), small enough to be quick.
X_SHAPE = (4, 8, 12, 12)


def _ops():
    """(name, call, weight shape or None): each op on the kernels, on (4, 8, 12, 12) input."""
    return [
        ("conv2d", lambda x, w: ad.conv2d(x, w, padding=1), (6, 8, 3, 3)),
        (
            "conv_transpose2d",
            lambda x, w: ad.conv_transpose2d(x, w, stride=2, padding=1),
            (8, 6, 3, 3),
        ),
        ("max_pool2d", lambda x, w: ad.max_pool2d(x, 3, 2, 1), None),
        ("max_pool2d 2x2", lambda x, w: ad.max_pool2d(x, 2), None),
        ("avg_pool2d", lambda x, w: ad.avg_pool2d(x, 3, 1, 1), None),
    ]


@pytest.mark.parametrize("name, call, w_shape", _ops(), ids=[op[0] for op in _ops()])
@pytest.mark.parametrize("dtype", [">f4", ">f8", "<f4", "float16"])
def test_swapped_byte_order_and_float16_inputs_run_and_keep_their_number_type(
    name, call, w_shape, dtype
):
    # numba compiles neither float16 nor big-endian arrays: these used to raise numba's
    # TypingError / NotImplementedError("float16") once a problem left the numpy twins.
    dtype = np.dtype(dtype)
    x64 = np.round(RNG.standard_normal(X_SHAPE), 1)  # exact in float16 too
    w64 = None if w_shape is None else np.round(RNG.standard_normal(w_shape), 1)
    x = ad.tensor(x64.astype(dtype), requires_grad=True)
    w = None if w64 is None else ad.tensor(w64.astype(dtype), requires_grad=True)
    y = call(x, w)
    assert y.dtype == dtype.newbyteorder("=")  # float16 stays float16, '>f4' is float32
    ref = call(ad.tensor(x64), None if w64 is None else ad.tensor(w64))
    tol = 2e-2 if dtype.itemsize == 2 else 1e-5
    np.testing.assert_allclose(y.numpy().astype(np.float64), ref.numpy(), rtol=tol, atol=tol)
    y.sum().backward()
    assert x.grad.dtype.newbyteorder("=") == dtype.newbyteorder("=")
    assert np.isfinite(x.grad.numpy().astype(np.float64)).all()
    if w is not None:
        assert w.grad.dtype.newbyteorder("=") == dtype.newbyteorder("=")


def test_a_float16_cnn_takes_a_training_step():
    nn.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, dtype=np.float16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 4, dtype=np.float16),
    )
    y = model(RNG.standard_normal((4, 3, 32, 32)).astype(np.float16))
    assert y.dtype == np.float16
    y.sum().backward()
    for p in model.parameters():
        assert p.grad.dtype == np.float16 and np.isfinite(p.grad.numpy()).all()


def test_input_and_weight_of_one_number_type_in_either_byte_order_convolve():
    x = RNG.standard_normal(X_SHAPE).astype(np.float32)
    w = RNG.standard_normal((6, 8, 3, 3)).astype(np.float32)
    want = ad.conv2d(x, w).numpy()
    np.testing.assert_array_equal(ad.conv2d(x.astype(">f4"), w).numpy(), want)
    np.testing.assert_array_equal(ad.conv2d(x, w.astype(">f4")).numpy(), want)


def test_dtype_errors_name_the_op_the_shapes_and_a_valid_conversion():
    x = np.zeros(X_SHAPE, np.float16)
    with pytest.raises(
        TypeError, match=r"conv2d: weight has dtype float32.*\(6, 8, 3, 3\).*np\.float16\)"
    ):
        ad.conv2d(x, np.zeros((6, 8, 3, 3), np.float32))
    for op in (lambda a: ad.conv2d(a, a[:2]), lambda a: ad.max_pool2d(a, 2)):
        with pytest.raises(TypeError, match=r"float16, float32 or float64 input, got int64"):
            op(np.zeros(X_SHAPE, np.int64))
    if np.dtype(np.longdouble).itemsize > 8:  # x86 Linux: the kernels have no such type
        big = np.zeros(X_SHAPE, np.longdouble)
        with pytest.raises(TypeError, match="max_pool2d: needs a float16, float32 or float64"):
            ad.max_pool2d(big, 2)
        with pytest.raises(TypeError, match="conv2d: needs a float16, float32 or float64"):
            ad.conv2d(big, big[:2])


def test_zero_output_channels_give_an_empty_output_like_zero_input_channels():
    # Was "cannot reshape array of size 0 into shape (0,newaxis)". (PyTorch refuses O = 0
    # outright; an empty axis here flows through as N = 0 and C = 0 already do.)
    x = ad.tensor(RNG.standard_normal((2, 3, 9, 9)), requires_grad=True)
    w = ad.tensor(np.zeros((0, 3, 3, 3)), requires_grad=True)
    y = ad.conv2d(x, w, ad.tensor(np.zeros(0), requires_grad=True), padding=1)
    assert y.shape == (2, 0, 9, 9)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
    assert w.grad.shape == (0, 3, 3, 3)
    z = ad.conv_transpose2d(ad.tensor(np.zeros((2, 0, 4, 4))), ad.tensor(np.zeros((0, 5, 3, 3))))
    np.testing.assert_array_equal(z.numpy(), np.zeros((2, 5, 6, 6)))


@pytest.mark.parametrize(
    "kwargs", [{"stride": True}, {"padding": (1, False)}, {"dilation": np.bool_(True)}]
)
def test_a_bool_is_not_a_size(kwargs):
    x, w = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 2, 2), np.float32)
    with pytest.raises(ValueError, match=r"conv2d: (stride|padding|dilation) must be an int"):
        ad.conv2d(x, w, **kwargs)
    with pytest.raises(ValueError, match="groups must be a positive int, got True"):
        ad.conv2d(x, w, groups=True)
    with pytest.raises(ValueError, match="MaxPool2d: stride must be an int"):
        nn.MaxPool2d(2, True)  # meant ceil_mode=True, which is not an option here


def test_a_thread_that_finds_the_parallel_pool_busy_runs_the_serial_twin(monkeypatch):
    # numba's workqueue pool aborts the process when two threads enter it: a second caller
    # must take the serial twin (or wait, for a kernel without one), never enter it.
    calls = []

    def parallel(a):
        calls.append("parallel")
        return a

    def twin(a):
        calls.append("serial")
        return a

    monkeypatch.setitem(kernels.SERIAL_TWINS, parallel, twin)
    a = np.zeros(3)
    big = conv_ops.SERIAL_PROBLEM
    conv_ops.run_kernel(parallel, None, big, a)
    with conv_ops._PARALLEL:  # another thread is inside the pool
        conv_ops.run_kernel(parallel, None, big, a)
    assert calls == ["parallel", "serial"]
    assert not conv_ops._PARALLEL.locked()


def test_conv_and_pooling_from_several_python_threads_do_not_abort_the_process():
    # Big enough for the parallel kernels; one image, so no batch split either. Before the
    # fix: "Numba workqueue threading layer is terminating: Concurrent access has been
    # detected" and SIGABRT.
    script = textwrap.dedent(
        """
        import threading
        import numpy as np
        import autodiff as ad
        rng = np.random.default_rng(0)
        x = rng.standard_normal((1, 64, 64, 64)).astype(np.float32)
        w = rng.standard_normal((8, 64, 3, 3)).astype(np.float32)
        p = rng.standard_normal((16, 32, 64, 64)).astype(np.float32)
        want = ad.conv2d(x, w, padding=1).numpy(), ad.max_pool2d(p, 3, 1, 1).numpy()
        bad = []
        def run():
            for _ in range(6):
                got = ad.conv2d(x, w, padding=1).numpy(), ad.max_pool2d(p, 3, 1, 1).numpy()
                bad.extend(not np.allclose(g, v, atol=1e-4) for g, v in zip(got, want))
        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("wrong results:", sum(bad))
        """
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("NUMBA_THREADING_LAYER", "SEEGRAD_TUNE")
    }
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=240
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "wrong results: 0" in out.stdout


def _layouts():
    base = RNG.standard_normal((3, 4, 10, 10)).astype(np.float32)
    read_only = base.copy()
    read_only.flags.writeable = False
    return {
        "fortran": np.asfortranarray(base),
        "negative strides": base[..., ::-1, ::-1],
        "every other column": np.repeat(base, 2, axis=3)[..., ::2],
        "channels last, transposed": np.ascontiguousarray(base.transpose(0, 2, 3, 1)).transpose(
            0, 3, 1, 2
        ),
        "read-only": read_only,
    }


@pytest.mark.parametrize("layout", list(_layouts()))
def test_every_memory_layout_gives_torchs_values_and_gradients(layout):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = _layouts()[layout]
    w = RNG.standard_normal((5, 4, 3, 3)).astype(np.float32)
    cases = [
        (
            lambda a: ad.conv2d(a, w, padding=1),
            lambda a: tf.conv2d(a, torch.from_numpy(w), None, 1, 1),
        ),
        (lambda a: ad.max_pool2d(a, 3, 2, 1), lambda a: tf.max_pool2d(a, 3, 2, 1)),
        (lambda a: ad.avg_pool2d(a, 3, 2, 1), lambda a: tf.avg_pool2d(a, 3, 2, 1)),
    ]
    for ours, theirs in cases:
        xt = ad.tensor(x, requires_grad=True)
        y = ours(xt)
        y.backward(np.ones(y.shape, np.float32))
        tx = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
        ty = theirs(tx)
        ty.sum().backward()
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert not x.flags.writeable or layout != "read-only"


@pytest.mark.parametrize("n", [1, 33])
def test_odd_batches_on_the_split_route_match_torch_twice_with_retain_graph(n):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((n, 16, 16, 16)).astype(np.float32)
    w = RNG.standard_normal((16, 16, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(16).astype(np.float32)
    xt, wt, bt = (ad.tensor(a, requires_grad=True) for a in (x, w, b))
    y = ad.conv2d(xt, wt, bt, padding=1)
    g = RNG.standard_normal(y.shape).astype(np.float32)
    grads = []
    for _ in range(2):
        for t in (xt, wt, bt):
            t.zero_grad()
        y.backward(g, retain_graph=True)
        grads.append([t.grad.numpy().copy() for t in (xt, wt, bt)])
    tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, padding=1)
    ty.backward(torch.from_numpy(g.astype(np.float64)))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    for ours, want in zip(grads[0], (tx.grad, tw.grad, tb.grad)):
        want = want.numpy()
        np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    for first, second in zip(*grads):
        np.testing.assert_array_equal(first, second)
