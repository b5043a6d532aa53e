"""The image-by-image conv route (``autodiff.ops.conv.IMAGE_PLANE``), beyond the tests in
tests/test_conv.py and tests/test_kernels.py: the route at its real
thresholds (not only forced on tiny problems), float16 / '>f4' inputs, conv_transpose2d
with output_padding, every requires_grad combination, second order in float32, calls from
several Python threads at once, fork, zero-sized products into NaN-filled memory, and the
kernel's documented support for a w_mat with a bias column in the backward.
"""

import os
import sys
import threading

import numpy as np
import pytest
from test_conv import conv2d_ref, count_image_route, force_image_route

import autodiff as ad
from autodiff import threads
from autodiff.kernels import conv_backward_images, conv_forward_images, runtime
from autodiff.kernels.reference import col2im_ref, im2col_ref
from autodiff.ops import conv as conv_ops

GEMM32 = runtime.gemm(np.float32)
needs_gemm = pytest.mark.skipif(
    GEMM32 is None or runtime.gemm(np.float64) is None, reason="no callable OpenBLAS gemm"
)


def with_split(monkeypatch):
    """The split over two threads, also where threads.available() is False (one core,
    SEEGRAD_TUNE=0), leaving the route's own thresholds as they are."""
    monkeypatch.setattr(threads, "available", lambda: True)
    monkeypatch.setattr(threads, "worker_count", lambda: 2)


def _grads(x, w, b, gy, needs, **kw):
    arrays = (x, w) if b is None else (x, w, b)
    ts = [ad.tensor(a, requires_grad=r) for a, r in zip(arrays, needs)]
    y = ad.conv2d(*ts, **kw)
    y.backward(gy)
    return [y.data] + [None if t.grad is None else t.grad.data for t in ts]


# ------------------------------------------------------------ the real thresholds
@needs_gemm
@pytest.mark.parametrize("dtype", ["float32", "float16", ">f4", "float64"])
def test_real_threshold_route_matches_definition(monkeypatch, dtype):
    # Only the split is forced (a one-core machine has none): at the real IMAGE_PLANE and
    # IMAGE_SPLIT the benchmark layer's shape (smaller batch) takes the route by itself,
    # and gives the definition's values in the input dtype.
    with_split(monkeypatch)
    calls = count_image_route(monkeypatch)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 16, 32, 32)).astype(dtype)
    w = (0.1 * rng.standard_normal((8, 16, 3, 3))).astype(dtype)
    b = rng.standard_normal(8).astype(dtype)
    gy = rng.standard_normal((4, 8, 32, 32)).astype(dtype)
    y, gx, gw, gb = _grads(x, w, b, gy, (True, True, True), padding=1)
    assert calls == ["conv_forward_images"] * 4 + ["conv_backward_images"] * 4
    out = np.dtype(dtype).newbyteorder("=")
    assert y.dtype == out
    close = {"rtol": 2e-2, "atol": 2e-2} if dtype == "float16" else {"rtol": 1e-4, "atol": 1e-4}
    if dtype == "float64":
        close = {"rtol": 1e-10, "atol": 1e-10}
    np.testing.assert_allclose(y.astype(np.float64), conv2d_ref(x, w, b, padding=(1, 1)), **close)
    # gradients against the chunked route (IMAGE_PLANE out of reach)
    monkeypatch.setattr(conv_ops, "IMAGE_PLANE", 10**9)
    calls.clear()
    want = _grads(x, w, b, gy, (True, True, True), padding=1)
    assert calls == []
    for got, ref in zip((y, gx, gw, gb), want):
        np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), **close)


@needs_gemm
@pytest.mark.parametrize(
    "x_shape, w_shape, kw",
    [
        ((3, 4, 12, 12), (2, 4, 1, 1), {}),  # plane exactly 144, 1x1 kernel
        ((2, 3, 30, 40), (3, 3, 2, 2), {"stride": 3}),  # stride > kernel, N = 2
        ((2, 2, 5, 6), (3, 2, 7, 9), {"padding": (6, 8)}),  # kernel larger than the input
        ((3, 2, 9, 10), (2, 2, 3, 2), {"stride": (2, 1), "padding": (2, 1), "dilation": (1, 3)}),
    ],
)
def test_forced_route_every_requires_grad_combination(monkeypatch, x_shape, w_shape, kw):
    # test_conv.py covers four of the seven combinations on one geometry; this covers all
    # seven (x with a frozen W and a trained bias among them) on edge geometries.
    rng = np.random.default_rng(12)
    x, w, b = (
        rng.standard_normal(x_shape),
        rng.standard_normal(w_shape),
        rng.standard_normal(w_shape[0]),
    )
    gy = rng.standard_normal(
        conv2d_ref(x, w, b, **{k: (v, v) if isinstance(v, int) else v for k, v in kw.items()}).shape
    )
    combos = [tuple(bool(int(c)) for c in f"{i:03b}") for i in range(1, 8)]
    others = {c: _grads(x, w, b, gy, c, **kw) for c in combos}
    calls = force_image_route(monkeypatch)
    for needs, want in others.items():
        calls.clear()
        got = _grads(x, w, b, gy, needs, **kw)
        assert "conv_forward_images" in calls and "conv_backward_images" in calls
        for g, r in zip(got, want):
            assert (g is None) == (r is None)
            if g is not None:
                np.testing.assert_allclose(g, r, rtol=1e-11, atol=1e-11)


@needs_gemm
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forced_route_conv_transpose_with_output_padding(monkeypatch, dtype):
    # conv_transpose2d's rows/columns that no tap reaches (output_padding) must be 0.
    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 2, 4, 5)).astype(dtype)
    w = rng.standard_normal((2, 3, 3, 2)).astype(dtype)
    kw = {"stride": (3, 2), "padding": (1, 0), "dilation": (1, 2), "output_padding": (2, 1)}

    def run():
        xt, wt = ad.tensor(x, requires_grad=True), ad.tensor(w, requires_grad=True)
        y = ad.conv_transpose2d(xt, wt, **kw)
        y.backward(np.linspace(-1, 1, y.size).reshape(y.shape).astype(dtype))
        return y.data, xt.grad.data, wt.grad.data

    want = run()
    calls = force_image_route(monkeypatch)
    got = run()
    assert "conv_backward_images" in calls and "conv_forward_images" in calls
    close = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-11}
    for g, r in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, r, **close)


@needs_gemm
def test_forced_route_second_order_float32_matches_other_routes(monkeypatch):
    rng = np.random.default_rng(14)
    xs, ws, bs = (
        0.5 * rng.standard_normal((3, 2, 7, 8)),
        0.5 * rng.standard_normal((3, 2, 3, 2)),
        rng.standard_normal(3),
    )

    def run():
        x, w, b = (ad.tensor(a.astype(np.float32), requires_grad=True) for a in (xs, ws, bs))
        y = ad.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2))
        gx, gw, gb = ad.grad((y * y).sum(), [x, w, b], create_graph=True)
        hx, hw, hb = ad.grad((gx * gx).sum() + (gw * gw).sum() + (gb * gb).sum(), [x, w, b])
        return [a.data for a in (y, gx, gw, gb, hx, hw, hb)]

    want = run()
    calls = force_image_route(monkeypatch)
    got = run()
    assert calls.count("conv_backward_images") > 3  # the double-backward nodes took it too
    for g, r in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4 * np.abs(r).max())


# ------------------------------------------------------------ threads, fork, BLAS
def benchmark_like_layer(seed, monkeypatch):
    """(spec, rng, x, w): a layer that takes the route by itself, given the split."""
    with_split(monkeypatch)
    rng = np.random.default_rng(seed)
    spec = conv_ops.ConvSpec.make("conv2d", 1, 1, 1, 1)
    x = rng.standard_normal((4, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    return spec, rng, x, w


@needs_gemm
def test_route_from_several_user_threads_at_once(monkeypatch):
    # The ops may be called from user threads concurrently; every call must give the
    # single-threaded answer, and OpenBLAS's thread count must come back.
    spec, rng, x, w = benchmark_like_layer(15, monkeypatch)
    b = rng.standard_normal(8).astype(np.float32)
    gy = rng.standard_normal((4, 8, 32, 32)).astype(np.float32)
    blas_threads = runtime.openblas().get_num_threads()

    def once():
        y, cached = conv_ops._forward(x, w, b, spec, 32, 32)
        assert cached.cols == []  # the route was taken
        gx, gw, gb = conv_ops._backward(
            gy, spec, x.shape, (3, 3), w=w, x=x, cached=cached, bias_grad=True
        )
        return y, gx, gw, gb

    want = once()
    bad, errors = [], []

    def worker():
        try:
            for _ in range(6):
                got = once()
                if not all(np.array_equal(g, r) for g, r in zip(got, want)):
                    bad.append(1)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=worker) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts), "hang"
    assert not errors and not bad
    assert runtime.openblas().get_num_threads() == blas_threads


@needs_gemm
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_route_in_a_forked_child(monkeypatch):
    spec, _, x, w = benchmark_like_layer(16, monkeypatch)
    want, _ = conv_ops._forward(x, w, None, spec, 32, 32)  # pool and BLAS warm in the parent
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 3
        try:
            import signal

            signal.alarm(30)
            y, cached = conv_ops._forward(x, w, None, spec, 32, 32)
            code = 0 if (cached.cols == [] and np.array_equal(y, want)) else 4
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# ------------------------------------------------------------ kernels
@needs_gemm
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_sized_products_write_zeros_into_garbage(dtype):
    # k = 0 (no input channels, no bias) and O = 0 into NaN-filled outputs, with m or n = 1
    # (where BLAS may take a gemv shortcut that skips beta): the outputs must be zeros.
    gemm = runtime.gemm(dtype)
    for o, h, wd in ((1, 5, 5), (3, 1, 1), (1, 1, 7), (2, 6, 1)):
        x = np.zeros((2, 0, h, wd), dtype)
        y = np.full((2, o, h * wd), np.nan, dtype)
        conv_forward_images(gemm, x, np.zeros((o, 0), dtype), y, 0, 2, 1, 1, 1, 1, 0, 0, 1, 1)
        assert (y == 0).all()
    for c, h, wd in ((1, 3, 3), (2, 1, 1), (1, 1, 4)):
        x = np.ones((2, c, h, wd), dtype)
        gx = np.full(x.shape, np.nan, dtype)
        gw_t = np.zeros((c * 4, 0), dtype)
        gy = np.zeros((2, 0, (h + 1) * (wd + 1)), dtype)
        conv_backward_images(
            gemm, x, np.zeros((0, c * 4), dtype), gy, gx, gw_t, 0, 2, 2, 2, 1, 1, 1, 1, 1, 1
        )
        assert (gx == 0).all()


@needs_gemm
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_kernel_takes_w_mat_with_its_bias_column(dtype):
    # conv_backward_images documents gx = col2im(w_mat[:, :C*KH*KW].T @ gy[b]): a w_mat
    # that still has the bias column (lda = C*KH*KW + 1) must give the same gx.
    rng = np.random.default_rng(17)
    args = (3, 2, 2, 1, 1, 1, 1, 2)
    x = rng.standard_normal((3, 2, 7, 8)).astype(dtype)
    cols = im2col_ref(x[:1], *args)
    rows, plane = cols.shape
    w_mat = rng.standard_normal((4, rows + 1)).astype(dtype)
    gy = rng.standard_normal((3, 4, plane)).astype(dtype)
    gx = np.full(x.shape, np.nan, dtype)
    conv_backward_images(
        runtime.gemm(dtype), x, w_mat, gy, gx, np.zeros((0, 4), dtype), 0, 3, *args
    )
    for i in range(3):
        want = col2im_ref(w_mat[:, :rows].T @ gy[i], (1, *x.shape[1:]), *args)[0]
        np.testing.assert_allclose(
            gx[i], want, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-5
        )
