"""Convolution and pooling ops: plain-numpy references, sizes, errors, dtypes, ties, torch.

The registry walk (test_ops_registry.py) already gradchecks every conv/pool op to
second order; these tests pin down the *values* and the user-facing behaviour.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import autodiff as ad
from autodiff import threads
from autodiff.ops import conv as conv_ops
from autodiff.testing import gradcheck, gradgradcheck

FAST = settings(deadline=None, max_examples=30)


def conv2d_ref(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Direct definition: one einsum per output pixel over the zero-padded input."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    y = np.zeros((n, o, oh, ow))
    for g in range(groups):
        xs = xp[:, g * cg : (g + 1) * cg]
        ws = w[g * og : (g + 1) * og]
        for i in range(oh):
            for j in range(ow):
                patch = xs[:, :, i * sh : i * sh + dh * kh : dh, j * sw : j * sw + dw * kw : dw]
                y[:, g * og : (g + 1) * og, i, j] = np.einsum("nchw,ochw->no", patch, ws)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


@hs.composite
def conv_problems(draw):
    groups = draw(hs.sampled_from([1, 2, 3]))
    kh, kw = draw(hs.integers(1, 4)), draw(hs.integers(1, 4))
    stride = (draw(hs.integers(1, 3)), draw(hs.integers(1, 3)))
    dilation = (draw(hs.integers(1, 3)), draw(hs.integers(1, 3)))
    padding = (draw(hs.integers(0, kh)), draw(hs.integers(0, kw)))
    sizes = [
        max(1, dilation[a] * (k - 1) + 1 - 2 * padding[a]) + draw(hs.integers(0, 5))
        for a, k in enumerate((kh, kw))
    ]
    cg, og = draw(hs.integers(1, 3)), draw(hs.integers(1, 3))
    rng = np.random.default_rng(draw(hs.integers(0, 2**32 - 1)))
    x = rng.standard_normal((draw(hs.integers(1, 3)), cg * groups, *sizes))
    w = rng.standard_normal((og * groups, cg, kh, kw))
    b = rng.standard_normal(og * groups) if draw(hs.booleans()) else None
    return x, w, b, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


@FAST
@given(conv_problems())
def test_conv2d_matches_direct_reference(problem):
    x, w, b, kw = problem
    y = ad.conv2d(x, w, b, **kw)
    np.testing.assert_allclose(y.data, conv2d_ref(x, w, b, **kw), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "x_shape, w_shape, groups",
    [
        ((2, 1, 5, 6), (4, 1, 3, 3), 1),  # fewer than 16 rows: one product per image
        ((2, 4, 5, 6), (6, 2, 3, 3), 2),  # 18 rows per group, small planes: one big product
        ((1, 2, 32, 33), (2, 1, 3, 3), 2),  # planes of 1024+ pixels: one product per image
        ((2, 4, 4, 4), (4, 4, 2, 2), 1),  # 16 rows exactly
    ],
)
def test_conv2d_forward_product_paths_match_the_reference(x_shape, w_shape, groups):
    # _conv_forward picks per-image or one big product by shape; both must be the conv.
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    y = ad.conv2d(x, w, b, padding=1, groups=groups)
    ref = conv2d_ref(x, w, b, (1, 1), (1, 1), (1, 1), groups)
    np.testing.assert_allclose(y.data, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "x_shape, w_shape, groups",
    [
        ((3, 1, 6, 5), (4, 1, 3, 3), 1),  # 9 rows: the weight gradient image by image
        ((2, 2, 5, 6), (4, 1, 3, 3), 2),  # 9 rows per group
        ((2, 4, 5, 6), (6, 2, 3, 3), 2),  # 18 rows per group: one transposed product
    ],
)
def test_conv2d_weight_and_bias_grads_without_an_input_grad(x_shape, w_shape, groups):
    # A first layer's input needs no gradient: the array backward then skips the transposed
    # copy of gy when it can. Its gradients must equal those computed next to an input grad
    # and the direct definition.
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(6)
    b = b[: w_shape[0]]
    gy = rng.standard_normal(ad.conv2d(x, w, b, padding=1, groups=groups).shape)
    grads = []
    for x_needs_grad in (False, True):
        tx = ad.tensor(x, requires_grad=x_needs_grad)
        tw, tb = ad.tensor(w, requires_grad=True), ad.tensor(b, requires_grad=True)
        ad.conv2d(tx, tw, tb, padding=1, groups=groups).backward(gy)
        grads.append((tw.grad.data, tb.grad.data))
    (gw, gb), (gw_ref, gb_ref) = grads
    np.testing.assert_allclose(gw, gw_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gb, gy.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gb_ref, gy.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-10)
    # dL/dW[o] = sum over n, pixels of gy * the patch: the direct definition by einsum
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    og, cg = w_shape[0] // groups, w_shape[1]
    direct = np.zeros(w_shape)
    for i in range(3):
        for j in range(3):
            patch = xp[:, :, i : i + gy.shape[2], j : j + gy.shape[3]]
            for g in range(groups):
                direct[g * og : (g + 1) * og, :, i, j] = np.einsum(
                    "nohw,nchw->oc", gy[:, g * og : (g + 1) * og], patch[:, g * cg : (g + 1) * cg]
                )
    np.testing.assert_allclose(gw, direct, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("small", [10**9, 0], ids=["numpy reference", "numba kernels"])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("cache_bytes", [conv_ops.COLS_CACHE_BYTES, -1], ids=["kept", "redone"])
def test_bias_gradient_on_every_route(monkeypatch, small, groups, cache_bytes):
    # With one group the bias rides in the products (a row of ones in cols, the column b
    # in W_mat) and dL/db is a row of the weight gradient's product: with cols kept from
    # the forward or made again in the backward. A frozen weight, or groups, take the
    # separate sum. Every route must give the definition's numbers.
    monkeypatch.setattr(conv_ops, "SMALL_PROBLEM", small)
    monkeypatch.setattr(conv_ops, "COLS_CACHE_BYTES", cache_bytes)
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((3, 4, 6, 5)), rng.standard_normal((6, 4 // groups, 3, 2))
    b = rng.standard_normal(6)
    kw = {"stride": (2, 1), "padding": (1, 0), "groups": groups}
    ref = conv2d_ref(x, w, b, **kw)
    gy = rng.standard_normal(ref.shape)
    for weight_grad in (True, False):
        tx, tw = ad.tensor(x, requires_grad=True), ad.tensor(w, requires_grad=weight_grad)
        tb = ad.tensor(b, requires_grad=True)
        y = ad.conv2d(tx, tw, tb, **kw)
        np.testing.assert_allclose(y.data, ref, rtol=1e-10, atol=1e-10)
        y.backward(gy)
        np.testing.assert_allclose(tb.grad.data, gy.sum(axis=(0, 2, 3)), rtol=1e-10, atol=1e-10)
        assert tb.grad.shape == (6,) and (tw.grad is not None) == weight_grad
    assert gradgradcheck(lambda *a: ad.conv2d(*a, **kw), [x, w, b])


@FAST
@given(conv_problems())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(problem):
    x, w, _, kw = problem
    y = ad.conv2d(x, w, **kw).data
    g = np.random.default_rng(0).standard_normal(y.shape)
    extra = tuple(
        x.shape[2 + a]
        - ((y.shape[2 + a] - 1) * kw["stride"][a] - 2 * kw["padding"][a])
        - kw["dilation"][a] * (w.shape[2 + a] - 1)
        - 1
        for a in range(2)
    )
    gx = ad.conv_transpose2d(g, w, output_padding=extra, **kw).data
    assert gx.shape == x.shape
    assert np.isclose(np.sum(y * g), np.sum(x * gx), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize(
    "h, k, s, p, d, expected",
    [(28, 3, 1, 1, 1, 28), (28, 3, 2, 1, 1, 14), (5, 5, 1, 0, 1, 1), (7, 3, 1, 0, 2, 3),
     (9, 2, 4, 0, 1, 2), (4, 3, 1, 2, 1, 6), (1, 1, 3, 0, 1, 1)],
)  # fmt: skip
def test_output_size_formula(h, k, s, p, d, expected):
    x = np.zeros((1, 1, h, h + 1), np.float32)
    y = ad.conv2d(x, np.ones((1, 1, k, k), np.float32), stride=s, padding=p, dilation=d)
    w_expected = (h + 1 + 2 * p - d * (k - 1) - 1) // s + 1
    assert y.shape == (1, 1, expected, w_expected)


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, words",
    [
        ((8, 1, 28, 28), (16, 3, 3, 3), {}, ["conv2d", "1 channels", "(16, 3, 3, 3)", "expects 3"]),
        ((1, 4, 8, 8), (3, 2, 3, 3), {"groups": 2}, ["not divisible by groups=2"]),
        ((1, 1, 2, 2), (1, 1, 3, 3), {}, ["too small", "output size would be 0x0"]),
        ((1, 8, 8), (1, 1, 3, 3), {}, ["expects input (N, C, H, W)", "(1, 8, 8)"]),
        ((1, 1, 8, 8), (1, 1, 3, 3), {"stride": 0}, ["stride must be"]),
        ((1, 1, 8, 8), (1, 1, 3, 3), {"padding": (1, 2, 3)}, ["padding must be"]),
    ],
)
def test_conv2d_errors_name_the_op_shapes_and_expectation(x_shape, w_shape, kwargs, words):
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    with pytest.raises(ValueError) as err:
        ad.conv2d(x, w, **kwargs)
    for word in words:
        assert word in str(err.value)


def test_conv_and_pool_argument_errors():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="output_padding"):
        ad.conv_transpose2d(x, np.zeros((1, 1, 3, 3), np.float32), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        ad.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="smaller than the kernel"):
        ad.avg_pool2d(x, 5)
    with pytest.raises(ValueError, match="expects input"):
        ad.global_avg_pool2d(np.zeros((4, 4), np.float32))


def test_dtype_mismatch_is_an_error_and_float32_stays_float32():
    x = ad.tensor(np.ones((1, 2, 5, 5), np.float32), requires_grad=True)
    w = ad.tensor(np.ones((3, 2, 3, 3), np.float32), requires_grad=True)
    b = ad.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="weight has dtype float64"):
        ad.conv2d(x, w.data.astype(np.float64))
    outs = [
        ad.conv2d(x, w, b, padding=1),
        ad.conv_transpose2d(x[:, :1], w[:1], b[:2], stride=2),
        ad.max_pool2d(x, 2),
        ad.avg_pool2d(x, 3, stride=1, padding=1),
        ad.global_avg_pool2d(x),
    ]
    for y in outs:
        assert y.dtype == np.float32
        # a float64 upstream gradient is accepted and every gradient comes back float32
        y.backward(np.ones(y.shape, np.float64))
    for t in (x, w, b):
        assert t.grad.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_empty_batch_flows_through_conv_and_its_adjoint(dtype):
    # N = 0 raised IndexError (x[0]) and then a reshape error in the bias gradient
    w = ad.tensor(np.ones((4, 3, 3, 3), dtype), requires_grad=True)
    b = ad.tensor(np.ones(4, dtype), requires_grad=True)
    x = ad.tensor(np.zeros((0, 3, 8, 8), dtype), requires_grad=True)
    y = ad.conv2d(x, w, b, padding=1)
    assert y.shape == (0, 4, 8, 8) and y.dtype == dtype
    y.sum().backward()
    assert x.grad.shape == x.shape
    assert not w.grad.data.any() and not b.grad.data.any()
    g = ad.tensor(np.zeros((0, 4, 8, 8), dtype), requires_grad=True)
    z = ad.conv_transpose2d(g, w, padding=1)
    assert z.shape == (0, 3, 8, 8)
    (gw,) = ad.grad((z * z).sum(), [w], create_graph=True)  # its backward runs conv2d
    assert gw.shape == w.shape and not gw.data.any()


def test_noncontiguous_input_gives_the_same_result():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 7, 3)).transpose(0, 3, 1, 2)  # (2, 3, 5, 7), not contiguous
    w = rng.standard_normal((4, 3, 2, 2))
    y = ad.conv2d(x, w, padding=1)
    np.testing.assert_allclose(y.data, conv2d_ref(x, w, padding=(1, 1)), rtol=1e-12)
    np.testing.assert_allclose(
        ad.max_pool2d(x, 2).data, ad.max_pool2d(np.ascontiguousarray(x), 2).data
    )


def test_max_pool_ties_split_the_gradient_evenly():
    x = ad.tensor(
        np.array([[[[1.0, 1.0, 0.0, 5.0], [1.0, 1.0, 2.0, 5.0]]]], np.float32), requires_grad=True
    )
    y = ad.max_pool2d(x, 2)
    np.testing.assert_array_equal(y.data, [[[[1.0, 5.0]]]])
    y.backward(np.array([[[[4.0, 2.0]]]], np.float32))
    np.testing.assert_array_equal(x.grad.data, [[[[1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 1.0]]]])


def test_avg_pool_counts_padding_in_the_divisor():
    y = ad.avg_pool2d(np.ones((1, 1, 2, 2), np.float32), 2, stride=1, padding=1)
    np.testing.assert_allclose(
        y.data[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]
    )


def test_max_pool_second_order_nodes_are_adjoint():
    rng = np.random.default_rng(0)
    x = rng.permutation(2 * 3 * 6 * 5).reshape(2, 3, 6, 5) * 0.1
    kw = {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1)}
    # gradcheck of the gradient w.r.t. the upstream gradient reaches MaxPool2dGather, and
    # gradgradcheck of that reaches MaxPool2dBackward again (third order).
    y = ad.max_pool2d(x, **kw).data

    def vjp(g):
        with ad.enable_grad():  # gradcheck's finite-difference passes run under no_grad
            xt = ad.tensor(x, requires_grad=True)
            (gx,) = ad.grad(ad.max_pool2d(xt, **kw), xt, grad_outputs=g, create_graph=True)
        return gx

    g = rng.standard_normal(y.shape)
    assert gradcheck(vjp, [g]) and gradgradcheck(vjp, [g])


def test_small_cnn_gradient():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 1, 6, 6))
    params = [
        rng.standard_normal((3, 1, 3, 3)) * 0.5,
        rng.standard_normal(3) * 0.1,
        rng.standard_normal((27, 4)) * 0.3,
        rng.standard_normal(4) * 0.1,
    ]
    labels = np.array([1, 3])

    def loss(w1, b1, w2, b2):
        h = ad.max_pool2d(ad.relu(ad.conv2d(x, w1, b1, padding=1)), 2, stride=2)
        logits = ad.linear(ad.flatten(h, 1), w2, b2)
        return -ad.log_softmax(logits)[np.arange(2), labels].mean()

    assert gradcheck(loss, params)


@pytest.mark.parametrize("serial_problem", [0, 10**9], ids=["parallel", "serial twins"])
def test_numba_kernel_path_to_second_order(monkeypatch, serial_problem):
    # Small problems run on the numpy reference kernels (see SMALL_PROBLEM), so the
    # registry walk mostly checks those; force the numba kernels here, parallel or serial.
    monkeypatch.setattr(conv_ops, "SMALL_PROBLEM", 0)
    monkeypatch.setattr(conv_ops, "SERIAL_PROBLEM", serial_problem)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 4, 3))
    w, wt, b = rng.standard_normal((2, 1, 2, 3)), rng.standard_normal((2, 1, 3, 2)), np.ones(2)
    kw = {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}
    ranked = rng.permutation(x.size).reshape(x.shape) * 0.1
    checks = [
        (lambda *a: ad.conv2d(*a, **kw), [x, w, b]),
        (lambda *a: ad.conv_transpose2d(*a, output_padding=(1, 0), **kw), [x, wt]),
        (lambda a: ad.max_pool2d(a, (3, 2), stride=(1, 2), padding=1), [ranked]),
        (lambda a: ad.avg_pool2d(a, 3, stride=2, padding=1), [x]),
    ]
    # Every kernel runs inside conv2d's second-order check (conv, its transpose, weight grad).
    assert gradgradcheck(*checks[0])
    for fn, arrays in checks:
        assert gradcheck(fn, arrays)
        monkeypatch.setattr(conv_ops, "SMALL_PROBLEM", 10**9)
        numpy_path = fn(*arrays).data
        monkeypatch.setattr(conv_ops, "SMALL_PROBLEM", 0)
        np.testing.assert_allclose(fn(*arrays).data, numpy_path, rtol=1e-12, atol=1e-12)


def force_split(monkeypatch):
    """Take the split route even where threads.available() is False (one core, no
    OpenBLAS, SEEGRAD_TUNE=0): what is tested is the chunking, on two threads."""
    monkeypatch.setattr(threads, "available", lambda: True)
    monkeypatch.setattr(threads, "worker_count", lambda: 2)
    monkeypatch.setattr(conv_ops, "SMALL_PROBLEM", 0)  # the numba twins, not numpy


@pytest.mark.parametrize("chunk", [1, 2**11], ids=["image by image", "two images a chunk"])
def test_split_batch_route_matches_the_whole_batch(monkeypatch, chunk):
    # Big convolutions split the batch into chunks of images over threads (autodiff.threads),
    # each with its own im2col and products; force that on a small problem, on the numba
    # twins, and compare outputs and gradients with the whole-batch route and the definition.
    force_split(monkeypatch)
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((5, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), np.ones(6)
    kw = {"stride": (1, 2), "padding": (1, 1), "dilation": (2, 1), "groups": 2}
    gy = rng.standard_normal(conv2d_ref(x, w, b, **kw).shape)

    def run(split_chunk, dtype, needs=(True, True, True)):
        monkeypatch.setattr(conv_ops, "SPLIT_CHUNK", split_chunk)
        ts = [ad.tensor(a.astype(dtype), requires_grad=r) for a, r in zip((x, w, b), needs)]
        y = ad.conv2d(*ts, **kw)
        y.backward(gy.astype(dtype))
        return [y.data] + [None if t.grad is None else t.grad.data for t in ts]

    monkeypatch.setattr(conv_ops, "SPLIT_CHUNK", chunk)
    assert len(conv_ops.image_chunks(5, x[0].size * 6)) > 1  # the split route is taken
    split, whole = run(chunk, np.float64), run(10**9, np.float64)
    for got, want in zip(split, whole):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(split[0], conv2d_ref(x, w, b, **kw), rtol=1e-10, atol=1e-10)
    for got, want in zip(run(chunk, np.float32), whole):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # A frozen layer (input gradient only) and a first layer (no input gradient).
    for needs in ((True, False, False), (False, True, True)):
        for got, want, need in zip(run(chunk, np.float64, needs)[1:], whole[1:], needs):
            assert (got is None) != need
            if need:
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_split_batch_route_to_second_order(monkeypatch):
    # conv_transpose2d and the weight-gradient node split their batch the same way.
    force_split(monkeypatch)
    monkeypatch.setattr(conv_ops, "SPLIT_CHUNK", 1)
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((3, 4, 4, 3)), rng.standard_normal((4, 2, 3, 2)), np.ones(4)
    assert len(conv_ops.image_chunks(3, x[0].size * 6)) == 3
    kw = {"stride": (1, 2), "padding": (1, 1), "dilation": (2, 1), "groups": 2}
    assert gradgradcheck(lambda *a: ad.conv2d(*a, **kw), [x, w, b])


def count_image_route(monkeypatch):
    """Count the calls of the image-by-image kernels, so a test can tell the route was taken."""
    calls = []
    for name in ("conv_forward_images", "conv_backward_images"):
        kernel = getattr(conv_ops, name)

        def counted(*args, _kernel=kernel, _name=name):
            calls.append(_name)
            return _kernel(*args)

        monkeypatch.setattr(conv_ops, name, counted)
    return calls


def force_image_route(monkeypatch):
    """Make every one-group convolution take the image-by-image route; count its calls."""
    force_split(monkeypatch)
    monkeypatch.setattr(conv_ops, "IMAGE_PLANE", 1)
    monkeypatch.setattr(conv_ops, "IMAGE_SPLIT", 0)
    return count_image_route(monkeypatch)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_image_by_image_route_matches_the_other_routes(monkeypatch, dtype):
    # One-group convolutions with big enough planes run image by image in numba, calling
    # BLAS themselves (kernels.conv.conv_forward_images). Force it on a small problem and
    # compare outputs and every combination of gradients with the other routes.
    rng = np.random.default_rng(8)
    x, w, b = (
        rng.standard_normal((5, 3, 7, 6)),
        rng.standard_normal((4, 3, 3, 2)),
        rng.standard_normal(4),
    )
    kw = {"stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)}
    gy = rng.standard_normal(conv2d_ref(x, w, b, **kw).shape)

    def run(needs, bias=True):
        arrays = (x, w, b) if bias else (x, w)
        ts = [ad.tensor(a.astype(dtype), requires_grad=r) for a, r in zip(arrays, needs)]
        y = ad.conv2d(*ts, **kw)
        y.backward(gy.astype(dtype))
        return [y.data] + [None if t.grad is None else t.grad.data for t in ts]

    combos = [(True, True, True), (True, False, False), (False, True, True), (False, False, True)]
    cases = [(c, bias) for c in combos for bias in (True, False) if bias or any(c[:2])]
    others = {(c, bias): run(c, bias) for c, bias in cases}
    calls = force_image_route(monkeypatch)
    if conv_ops.runtime.gemm(dtype) is None:  # another BLAS: the route is never taken
        assert (
            conv_ops._image_route(np.dtype(dtype), conv_ops.ConvSpec.make("t", 1, 0, 1, 1), 5, 9, 9)
            is None
        )
        return
    close = {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-4}
    for (needs, bias), want in others.items():
        calls.clear()
        got = run(needs, bias)
        # one call per chunk of images (5 images: 5 chunks), the forward's first
        assert calls == ["conv_forward_images"] * 5 + ["conv_backward_images"] * 5
        np.testing.assert_allclose(got[0], conv2d_ref(x, w, b if bias else None, **kw), **close)
        for g, wg in zip(got, want):
            assert (g is None) == (wg is None)
            if g is not None:
                assert g.dtype == dtype
                np.testing.assert_allclose(g, wg, **close)


def test_image_by_image_route_to_second_order(monkeypatch):
    # conv_transpose2d and the weight-gradient node take the route too (no groups here).
    calls = force_image_route(monkeypatch)
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((3, 2, 4, 3)), rng.standard_normal((2, 2, 3, 2)), np.ones(2)
    kw = {"stride": (1, 2), "padding": (1, 1), "dilation": (2, 1)}
    assert gradgradcheck(lambda *a: ad.conv2d(*a, **kw), [x, w, b])
    assert gradgradcheck(lambda *a: ad.conv_transpose2d(*a, **kw), [x, w.transpose(1, 0, 2, 3)])
    assert conv_ops.runtime.gemm(np.float64) is None or "conv_backward_images" in calls


def test_image_by_image_route_is_left_when_blas_cannot_be_called(monkeypatch):
    force_image_route(monkeypatch)
    spec = conv_ops.ConvSpec.make("conv2d", 1, 1, 1, 1)
    monkeypatch.setattr(conv_ops.runtime, "gemm", lambda dtype: None)
    assert conv_ops._image_route(np.dtype(np.float32), spec, 4, 100, 100) is None
    monkeypatch.undo()
    force_image_route(monkeypatch)
    grouped = conv_ops.ConvSpec.make("conv2d", 1, 1, 1, 2)
    assert conv_ops._image_route(np.dtype(np.float32), grouped, 4, 100, 100) is None
    if conv_ops.runtime.gemm(np.float32) is not None:
        assert conv_ops._image_route(np.dtype(np.float32), spec, 4, 100, 100) is not None


def test_image_by_image_route_handles_empty_matrices(monkeypatch, capfd):
    # No filters, or no input channels: products with a zero dimension, which BLAS must
    # take without complaint (it reports bad arguments on stderr, not as an error).
    force_image_route(monkeypatch)
    rng = np.random.default_rng(10)
    for x_shape, w_shape in (((3, 2, 5, 5), (0, 2, 3, 3)), ((3, 0, 5, 5), (4, 0, 3, 3))):
        x = ad.tensor(rng.standard_normal(x_shape), requires_grad=True)
        w = ad.tensor(rng.standard_normal(w_shape), requires_grad=True)
        y = ad.conv2d(x, w, padding=1)
        y.backward(np.ones(y.shape))
        np.testing.assert_array_equal(x.grad.data, np.zeros(x_shape))
        np.testing.assert_array_equal(w.grad.data, np.zeros(w_shape))
        assert y.shape == (3, w_shape[0], 5, 5) and (y.data == 0).all()
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------ PyTorch comparison
def test_against_pytorch():
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional
    rng = np.random.default_rng(2)

    def both(ours, theirs, *arrays):
        ts = [ad.tensor(a, requires_grad=True) for a in arrays]
        ps = [torch.tensor(a, requires_grad=True) for a in arrays]
        y, py = ours(*ts), theirs(*ps)
        g = rng.standard_normal(y.shape)
        y.backward(g)
        py.backward(torch.tensor(g))
        np.testing.assert_allclose(y.data, py.detach().numpy(), rtol=1e-10, atol=1e-10)
        for t, p in zip(ts, ps):
            np.testing.assert_allclose(t.grad.data, p.grad.numpy(), rtol=1e-10, atol=1e-10)

    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 2))
    b = rng.standard_normal(6)
    kw = {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}
    both(lambda *a: ad.conv2d(*a, **kw), lambda *a: fn.conv2d(*a, **kw), x, w, b)
    wt = rng.standard_normal((4, 3, 3, 2))
    kt = {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2), "groups": 2}
    both(
        lambda *a: ad.conv_transpose2d(*a, **kt),
        lambda *a: fn.conv_transpose2d(*a, **kt),
        x,
        wt,
        rng.standard_normal(6),
    )
    both(lambda a: ad.max_pool2d(a, 3, 2, 1), lambda a: fn.max_pool2d(a, 3, 2, 1), x)
    both(lambda a: ad.avg_pool2d(a, (3, 2), 1, 1), lambda a: fn.avg_pool2d(a, (3, 2), 1, 1), x)
    both(ad.global_avg_pool2d, lambda a: fn.adaptive_avg_pool2d(a, 1).flatten(1), x)
