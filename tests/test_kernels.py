"""Numba kernels vs their numpy references: conv/pool (adjoint identities, ties) and exp."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff.kernels import (
    KERNELS,
    avg_pool2d_backward,
    avg_pool2d_forward,
    col2im,
    col2im_serial,
    im2col,
    im2col_serial,
    max_pool2d_backward,
    max_pool2d_backward_serial,
    max_pool2d_forward,
    max_pool2d_forward_serial,
    max_pool2d_gather,
)
from autodiff.kernels.reference import (
    avg_pool2d_backward_ref,
    avg_pool2d_forward_ref,
    col2im_ref,
    im2col_ref,
    max_pool2d_backward_ref,
    max_pool2d_forward_ref,
    max_pool2d_gather_ref,
)

# deadline=None: the first example of each dtype pays for numba compilation.
FAST = settings(deadline=None, max_examples=40)
DTYPES = [np.float32, np.float64]


def tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


def dot(a, b):
    return float(np.sum(a.astype(np.float64) * b.astype(np.float64)))


def assert_adjoint(lhs, rhs, dtype):
    scale = max(1.0, abs(lhs), abs(rhs))
    assert abs(lhs - rhs) <= (1e-4 if dtype == np.float32 else 1e-10) * scale


@st.composite
def conv_cases(draw):
    """(x, (kh, kw, sh, sw, ph, pw, dh, dw), rng) with padding in [0, k-1] and OH, OW >= 1."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))
    h_min = max(1, dh * (kh - 1) + 1 - 2 * ph)
    w_min = max(1, dw * (kw - 1) + 1 - 2 * pw)
    h, w = draw(st.integers(h_min, h_min + 6)), draw(st.integers(w_min, w_min + 6))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    return x, (kh, kw, sh, sw, ph, pw, dh, dw), rng


@st.composite
def pool_cases(draw):
    """(x, (kh, kw, sh, sw, ph, pw), rng); x is sometimes small integers to force ties."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    ph, pw = draw(st.integers(0, kh - 1)), draw(st.integers(0, kw - 1))
    h_min, w_min = max(1, kh - 2 * ph), max(1, kw - 2 * pw)
    h, w = draw(st.integers(h_min, h_min + 7)), draw(st.integers(w_min, w_min + 7))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        x = rng.integers(-2, 3, size=(n, c, h, w)).astype(dtype)
    else:
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
    return x, (kh, kw, sh, sw, ph, pw), rng


# ---------------------------------------------------------------- im2col / col2im


# Each conv kernel has a serial twin (the same code without the thread pool): test both.
IM2COLS = pytest.mark.parametrize("im2col_kernel", [im2col, im2col_serial], ids=["par", "ser"])
COL2IMS = pytest.mark.parametrize("col2im_kernel", [col2im, col2im_serial], ids=["par", "ser"])


@IM2COLS
@FAST
@given(conv_cases())
def test_im2col_matches_reference(im2col_kernel, case):
    x, args, _ = case
    cols = im2col_kernel(x, *args)
    assert cols.dtype == x.dtype
    np.testing.assert_array_equal(cols, im2col_ref(x, *args))
    # with the bias's row of ones appended (conv2d folds its bias into the product)
    with_ones = im2col_kernel(x, *args, True)
    np.testing.assert_array_equal(with_ones[:-1], cols)
    np.testing.assert_array_equal(with_ones[-1], np.ones(cols.shape[1], x.dtype))
    np.testing.assert_array_equal(with_ones, im2col_ref(x, *args, True))


@COL2IMS
@FAST
@given(conv_cases())
def test_col2im_matches_reference_and_is_adjoint(col2im_kernel, case):
    x, args, rng = case
    shape = im2col_ref(x, *args).shape
    c = rng.standard_normal(shape).astype(x.dtype)
    gx = col2im_kernel(c, x.shape, *args)
    assert gx.dtype == x.dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, col2im_ref(c, x.shape, *args), **tol(x.dtype))
    assert_adjoint(dot(im2col(x, *args), c), dot(x, gx), x.dtype)


def test_im2col_gives_convolution_as_one_matmul():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 6))
    wt = rng.standard_normal((3, 4, 2, 3))
    cols = im2col(x, 2, 3, 1, 1, 0, 0, 1, 1)
    y = (wt.reshape(3, -1) @ cols).reshape(3, 2, 4, 4).transpose(1, 0, 2, 3)
    direct = np.zeros((2, 3, 4, 4))
    for i in range(4):
        for j in range(4):
            direct[:, :, i, j] = np.einsum("nchw,ochw->no", x[:, :, i : i + 2, j : j + 3], wt)
    np.testing.assert_allclose(y, direct, rtol=1e-12, atol=1e-12)


# (shape, kh, kw, sh, sw, ph, pw, dh, dw): the boundary configurations named in the brief.
EDGE_CONV = [
    ((1, 1, 5, 7), 5, 7, 1, 1, 0, 0, 1, 1),  # kernel equal to the input
    ((2, 2, 9, 9), 2, 2, 4, 3, 0, 0, 1, 1),  # stride larger than the kernel
    ((1, 3, 4, 6), 3, 3, 1, 1, 2, 2, 1, 1),  # padding kernel-1 ("full" convolution)
    ((2, 3, 4, 5), 1, 1, 1, 1, 0, 0, 1, 1),  # 1x1
    ((1, 2, 3, 11), 2, 4, 2, 1, 1, 3, 1, 1),  # non-square input and kernel
    ((1, 1, 10, 8), 3, 2, 2, 1, 1, 0, 4, 3),  # dilation > 1
    ((1, 1, 1, 1), 1, 1, 3, 3, 0, 0, 1, 1),  # single pixel, big stride
    # "same" convolutions (unit stride, output as wide as the input): im2col's shifted-run path
    ((2, 3, 5, 6), 3, 3, 1, 1, 1, 1, 1, 1),  # 3x3, padding 1
    ((1, 2, 7, 9), 3, 5, 1, 1, 2, 4, 2, 2),  # dilated
    ((1, 2, 4, 6), 2, 3, 1, 1, 0, 1, 1, 1),  # same width only
    ((2, 1, 1, 1), 3, 3, 1, 1, 1, 1, 1, 1),  # one pixel: only the centre tap is inside
    ((1, 1, 2, 2), 5, 5, 1, 1, 2, 2, 1, 1),  # kernel larger than the input
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EDGE_CONV)
def test_conv_edge_cases(case, dtype):
    shape, *args = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    cols = im2col_ref(x, *args)
    c = rng.standard_normal(cols.shape).astype(dtype)
    gx = col2im_ref(c, shape, *args)
    for unfold, fold in ((im2col, col2im), (im2col_serial, col2im_serial)):
        np.testing.assert_array_equal(unfold(x, *args), cols)
        np.testing.assert_allclose(fold(c, shape, *args), gx, **tol(dtype))


# ---------------------------------------------------------------- max pooling


# The max pooling kernels with serial twins: test both routes.
MAX_POOLS = pytest.mark.parametrize(
    "pool_fwd, pool_bwd",
    [
        (max_pool2d_forward, max_pool2d_backward),
        (max_pool2d_forward_serial, max_pool2d_backward_serial),
    ],
    ids=["par", "ser"],
)


@MAX_POOLS
@FAST
@given(pool_cases())
def test_max_pool_matches_reference(pool_fwd, pool_bwd, case):
    x, args, rng = case
    y = pool_fwd(x, *args)
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, max_pool2d_forward_ref(x, *args))

    gy = rng.standard_normal(y.shape).astype(x.dtype)
    gx = pool_bwd(gy, x, y, *args)
    assert gx.dtype == x.dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, max_pool2d_backward_ref(gy, x, y, *args), **tol(x.dtype))

    ggx = rng.standard_normal(x.shape).astype(x.dtype)
    ggy = max_pool2d_gather(ggx, x, y, *args)
    assert ggy.dtype == x.dtype and ggy.shape == y.shape
    np.testing.assert_allclose(ggy, max_pool2d_gather_ref(ggx, x, y, *args), **tol(x.dtype))

    # gather is the adjoint of backward (in gy), which double backward relies on.
    assert_adjoint(dot(gx, ggx), dot(gy, ggy), x.dtype)
    # Each window hands out exactly its gy, however it is split.
    np.testing.assert_allclose(gx.sum(dtype=np.float64), gy.sum(dtype=np.float64), rtol=1e-4)


def test_max_pool_ties_split_evenly():
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    y = max_pool2d_forward(x, 2, 2, 2, 2, 0, 0)
    assert y.shape == (1, 1, 1, 1) and y[0, 0, 0, 0] == 3.0
    gx = max_pool2d_backward(np.full_like(y, 2.0), x, y, 2, 2, 2, 2, 0, 0)
    np.testing.assert_array_equal(gx[0, 0], [[0.0, 1.0], [1.0, 0.0]])
    ggx = np.array([[[[10.0, 20.0], [40.0, 80.0]]]])
    np.testing.assert_array_equal(max_pool2d_gather(ggx, x, y, 2, 2, 2, 2, 0, 0), [[[[30.0]]]])


def test_max_pool_overlapping_windows_accumulate():
    # 1x2 windows, stride 1 over [5, 5, 1]: window 0 ties (5, 5), window 1 picks the middle 5.
    x = np.array([[[[5.0, 5.0, 1.0]]]], dtype=np.float32)
    y = max_pool2d_forward(x, 1, 2, 1, 1, 0, 0)
    np.testing.assert_array_equal(y[0, 0], [[5.0, 5.0]])
    gx = max_pool2d_backward(np.array([[[[2.0, 10.0]]]], np.float32), x, y, 1, 2, 1, 1, 0, 0)
    assert gx.dtype == np.float32
    np.testing.assert_array_equal(gx[0, 0], [[1.0, 11.0, 0.0]])


def test_max_pool_padding_is_minus_infinity():
    x = np.full((1, 1, 2, 2), -7.0)
    y = max_pool2d_forward(x, 2, 2, 1, 1, 1, 1)
    np.testing.assert_array_equal(y, np.full((1, 1, 3, 3), -7.0))
    gx = max_pool2d_backward(np.ones_like(y), x, y, 2, 2, 1, 1, 1, 1)
    assert gx.sum() == 9.0  # no gradient lost to the padding


def test_max_pool_nan_propagates():
    x = np.array([[[[1.0, np.nan, 2.0, 0.0]]]])
    y = max_pool2d_forward(x, 1, 2, 1, 2, 0, 0)
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 0, 1] == 2.0
    gx = max_pool2d_backward(np.ones_like(y), x, y, 1, 2, 1, 2, 0, 0)
    np.testing.assert_array_equal(gx[0, 0], [[0.0, 1.0, 1.0, 0.0]])


@MAX_POOLS
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (3, 1), (1, 2)])
def test_max_pool_2x2_fast_path_matches_reference(stride, dtype, pool_fwd, pool_bwd):
    # 2x2 windows without padding take their own straight-line code (kernels/pool.py);
    # small integers make ties, overlapping strides make accumulation.
    rng = np.random.default_rng(sum(stride))
    x = rng.integers(-2, 3, size=(2, 3, 7, 9)).astype(dtype)
    args = (2, 2, *stride, 0, 0)
    y = pool_fwd(x, *args)
    np.testing.assert_array_equal(y, max_pool2d_forward_ref(x, *args))
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = pool_bwd(gy, x, y, *args)
    np.testing.assert_allclose(gx, max_pool2d_backward_ref(gy, x, y, *args), **tol(dtype))
    ggx = rng.standard_normal(x.shape).astype(dtype)
    ggy = max_pool2d_gather(ggx, x, y, *args)
    np.testing.assert_allclose(ggy, max_pool2d_gather_ref(ggx, x, y, *args), **tol(dtype))


def test_max_pool_2x2_nan_propagates_like_the_general_path():
    x = np.array([[[[1.0, np.nan, 2.0, 0.0], [0.0, 0.0, 5.0, 5.0]]]])
    y = max_pool2d_forward(x, 2, 2, 2, 2, 0, 0)
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 0, 1] == 5.0
    gx = max_pool2d_backward(np.array([[[[3.0, 4.0]]]]), x, y, 2, 2, 2, 2, 0, 0)
    np.testing.assert_array_equal(gx[0, 0], [[0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 2.0, 2.0]])
    ggy = max_pool2d_gather(np.arange(8.0).reshape(1, 1, 2, 4), x, y, 2, 2, 2, 2, 0, 0)
    np.testing.assert_array_equal(ggy[0, 0], [[1.0, 6.5]])


@pytest.mark.parametrize(
    "x, args",
    [
        (np.array([[[[1.0, np.nan], [0.0, 2.0]]]]), (2, 2, 2, 2, 0, 0)),  # a NaN max
        (np.full((1, 1, 2, 2), -np.inf), (3, 3, 1, 1, 1, 1)),  # -inf ties with the padding
        (np.array([[[[np.nan, 1.0, -np.inf], [-np.inf, np.nan, 3.0]]]]), (2, 2, 1, 1, 1, 1)),
    ],
)
def test_max_pool_reference_routes_nan_and_minus_inf_maxima_like_the_kernels(x, args):
    # Tiny problems run on the reference: it counted no NaN argmax (zero gradient, and a
    # 0/0 in the gather) and counted -inf padding as tied maxima (gradient lost to it).
    y = max_pool2d_forward(x, *args)
    np.testing.assert_array_equal(y, max_pool2d_forward_ref(x, *args))
    gy = np.arange(1.0, y.size + 1).reshape(y.shape)
    np.testing.assert_allclose(
        max_pool2d_backward_ref(gy, x, y, *args), max_pool2d_backward(gy, x, y, *args)
    )
    assert max_pool2d_backward_ref(gy, x, y, *args).sum() == pytest.approx(gy.sum())
    ggx = np.arange(1.0, x.size + 1).reshape(x.shape)
    np.testing.assert_allclose(
        max_pool2d_gather_ref(ggx, x, y, *args), max_pool2d_gather(ggx, x, y, *args)
    )


# ---------------------------------------------------------------- average pooling


@FAST
@given(pool_cases())
def test_avg_pool_matches_reference_and_is_adjoint(case):
    x, args, rng = case
    y = avg_pool2d_forward(x, *args)
    assert y.dtype == x.dtype
    np.testing.assert_allclose(y, avg_pool2d_forward_ref(x, *args), **tol(x.dtype))
    gy = rng.standard_normal(y.shape).astype(x.dtype)
    gx = avg_pool2d_backward(gy, x.shape, *args)
    assert gx.dtype == x.dtype and gx.shape == x.shape
    np.testing.assert_allclose(gx, avg_pool2d_backward_ref(gy, x.shape, *args), **tol(x.dtype))
    assert_adjoint(dot(y, gy), dot(x, gx), x.dtype)


def test_avg_pool_counts_padding_in_divisor():
    y = avg_pool2d_forward(np.ones((1, 1, 2, 2)), 2, 2, 1, 1, 1, 1)
    np.testing.assert_array_equal(y[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])


# (shape, kh, kw, sh, sw, ph, pw)
EDGE_POOL = [
    ((1, 1, 5, 7), 5, 7, 1, 1, 0, 0),  # window equal to the input
    ((2, 2, 9, 9), 2, 2, 4, 3, 0, 0),  # stride larger than the window
    ((1, 3, 4, 6), 3, 3, 1, 1, 2, 2),  # padding window-1
    ((2, 3, 4, 5), 1, 1, 1, 1, 0, 0),  # 1x1
    ((1, 2, 3, 11), 2, 4, 2, 1, 1, 3),  # non-square input and window
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", EDGE_POOL)
def test_pool_edge_cases(case, dtype):
    shape, *args = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    y = max_pool2d_forward(x, *args)
    np.testing.assert_array_equal(y, max_pool2d_forward_ref(x, *args))
    gy = rng.standard_normal(y.shape).astype(dtype)
    np.testing.assert_allclose(
        max_pool2d_backward(gy, x, y, *args), max_pool2d_backward_ref(gy, x, y, *args), **tol(dtype)
    )
    np.testing.assert_allclose(
        avg_pool2d_backward(gy, shape, *args),
        avg_pool2d_backward_ref(gy, shape, *args),
        **tol(dtype),
    )


# ---------------------------------------------------------------- ReLU


@FAST
@given(
    st.sampled_from(DTYPES),
    st.lists(st.integers(0, 5), min_size=0, max_size=3),
    st.integers(0, 2**32 - 1),
)
def test_relu_kernels_equal_numpy_bitwise(dtype, shape, seed):
    from autodiff.kernels import relu_backward, relu_forward
    from autodiff.kernels.reference import relu_backward_ref, relu_forward_ref

    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45])
    x = np.where(rng.random(shape) < 0.3, rng.choice(specials, shape), rng.standard_normal(shape))
    x, gy = x.astype(dtype), rng.standard_normal(shape).astype(dtype)
    for got, want in (
        (relu_forward(x), relu_forward_ref(x)),
        (relu_backward(gy, x), relu_backward_ref(gy, x)),
    ):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # -0.0 becomes +0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_relu_op_gives_the_same_values_and_grads_on_either_path(dtype, monkeypatch):
    # The op uses the kernels for big float32/float64 arrays and numpy otherwise.
    import autodiff as ad
    import autodiff.ops.elementwise as elementwise

    rng = np.random.default_rng(11)
    base = rng.standard_normal((64, 130)).astype(dtype)
    base[0, :4] = [0.0, -0.0, np.nan, -np.inf]
    results = []
    for min_size in (0, 10**9):  # always the kernel, never the kernel
        monkeypatch.setattr(elementwise, "KERNEL_MIN_SIZE", min_size)
        x = ad.tensor(base[:, ::2], requires_grad=True)  # a strided view
        y = ad.relu(x)
        with np.errstate(invalid="ignore"):  # -inf * 0 in the upstream gradient: NaN
            (y * ad.tensor(base[:, 1::2])).sum().backward()
        results.append((y.data, x.grad.data))
    (y_kernel, g_kernel), (y_numpy, g_numpy) = results
    for got, want in ((y_kernel, y_numpy), (g_kernel, g_numpy)):
        assert got.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- registry


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_registry_examples_run_and_preserve_dtype(name, dtype):
    fn, make_args = KERNELS[name]
    args = make_args(dtype)
    out = fn(*args)
    if out is None:  # writes into arrays it is given, the last of them an output
        out = [a for a in args if isinstance(a, np.ndarray)][-1]
    assert isinstance(out, np.ndarray) and out.dtype == dtype and out.flags.c_contiguous


# ---------------------------------------------------------------- vectorised exp


def test_float32_exp_is_within_one_ulp_of_the_exact_value():
    from autodiff.kernels.expf import exp_array

    x = np.linspace(-87.3, 88.72, 1_000_001).astype(np.float32)
    got = np.empty_like(x)
    exp_array(x, got)
    exact = np.exp(x.astype(np.float64))
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(got - exact) / ulp) <= 1.0


def test_float32_exp_edge_cases():
    from autodiff.kernels.expf import exp_array

    x = np.array([np.nan, np.inf, -np.inf, 0.0, -88.0, -1000.0, 88.72, 89.0, 1000.0], np.float32)
    got = np.empty_like(x)
    exp_array(x, got)
    assert np.isnan(got[0])
    assert got[1] == np.inf and got[2] == 0.0 and got[3] == 1.0
    assert got[4] <= np.finfo(np.float32).tiny and got[5] == 0.0
    np.testing.assert_allclose(got[6], np.exp(np.float64(x[6])), rtol=1e-6)
    assert got[7] == np.inf and got[8] == np.inf


def test_float64_exp_is_numpys():
    from autodiff.kernels.expf import exp_array

    x = np.random.default_rng(0).normal(scale=50.0, size=1000)
    got = np.empty_like(x)
    exp_array(x, got)
    np.testing.assert_array_equal(got, np.exp(x))


# ------------------------------------------------- image by image, calling BLAS's gemm
def test_gemm_is_found_exactly_when_numpys_openblas_exports_it_and_multiplies():
    from autodiff.kernels import runtime

    blas = runtime.openblas()
    rng = np.random.default_rng(3)
    for dtype, letter in ((np.float32, "s"), (np.float64, "d")):
        symbols = (f"scipy_cblas_{letter}gemm64_", f"cblas_{letter}gemm64_")
        exported = blas is not None and any(hasattr(blas.library, s) for s in symbols)
        gemm = runtime.gemm(dtype)
        assert (gemm is not None) == exported
        if gemm is None:
            continue
        # C (2x4) = A.T @ B with A stored (3x2): the transposed case the kernels use
        a, b = rng.standard_normal((3, 2)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
        c = np.empty((2, 4), dtype)
        gemm(101, 112, 111, 2, 4, 3, 1.0, a.ctypes.data, 2, b.ctypes.data, 4, 0.0, c.ctypes.data, 4)
        np.testing.assert_allclose(c, a.T @ b, **tol(dtype))
    assert runtime.gemm(np.int32) is None and runtime.gemm(np.float16) is None
    assert runtime.gemm(np.dtype(">f4")) is None and runtime.gemm(np.dtype(">f8")) is None


def _gemm_or_none(dtype):
    from autodiff.kernels import runtime

    return runtime.gemm(dtype)


@FAST
@given(conv_cases(), st.integers(1, 3), st.booleans(), st.data())
def test_conv_images_kernels_match_reference(case, filters, with_bias, data):
    from autodiff.kernels import conv_backward_images, conv_forward_images

    x, args, rng = case
    bias = int(with_bias)  # rows of ones under the bias column of w_mat
    gemm = _gemm_or_none(x.dtype)
    if gemm is None:  # another BLAS: the ops never take this route (test_conv checks that)
        return
    n, c = x.shape[:2]
    kh, kw = args[:2]
    rows = c * kh * kw
    cols = [im2col_ref(x[i : i + 1], *args) for i in range(n)]
    plane = cols[0].shape[1]
    w_mat = rng.standard_normal((filters, rows + bias)).astype(x.dtype)
    lo = data.draw(st.integers(0, n - 1))
    hi = data.draw(st.integers(lo + 1, n))
    # forward: y[b] = w_mat @ [cols_b; ones], images outside [lo, hi) untouched
    y = np.full((n, filters, plane), np.nan, x.dtype)
    conv_forward_images(gemm, x, w_mat, y, lo, hi, *args)
    for i in range(n):
        if lo <= i < hi:
            ones = np.ones((bias, plane), x.dtype)
            want = w_mat @ np.concatenate([cols[i], ones])
            np.testing.assert_allclose(y[i], want, **tol(x.dtype))
        else:
            assert np.isnan(y[i]).all()
    # backward: gx written for [lo, hi), gw_t accumulated onto what it held
    gy = rng.standard_normal(y.shape).astype(x.dtype)
    gx = np.full(x.shape, np.nan, x.dtype)
    start = rng.standard_normal((rows + bias, filters)).astype(x.dtype)
    gw_t = start.copy()
    w_plain = np.ascontiguousarray(w_mat[:, :rows])
    conv_backward_images(gemm, x, w_plain, gy, gx, gw_t, lo, hi, *args)
    want_gw = start.astype(np.float64)
    for i in range(n):
        if lo <= i < hi:
            want = col2im_ref(w_plain.T @ gy[i], (1, *x.shape[1:]), *args)[0]
            np.testing.assert_allclose(gx[i], want, **tol(x.dtype))
            full = np.concatenate([cols[i], np.ones((bias, plane), x.dtype)])
            want_gw += full.astype(np.float64) @ gy[i].T
        else:
            assert np.isnan(gx[i]).all()
    np.testing.assert_allclose(
        gw_t,
        want_gw,
        rtol=1e-4 if x.dtype == np.float32 else 1e-10,
        atol=1e-3 if x.dtype == np.float32 else 1e-10,
    )
    # each gradient alone: the other is a zero-size array and stays untouched
    gx_only = np.full(x.shape, np.nan, x.dtype)
    no_gw = np.empty((0, filters), x.dtype)
    conv_backward_images(gemm, x, w_plain, gy, gx_only, no_gw, lo, hi, *args)
    np.testing.assert_array_equal(gx_only, gx)
    gw_only = start.copy()
    nothing = np.empty((0, 1, 1, 1), x.dtype)
    conv_backward_images(gemm, x, w_plain[:0], gy, nothing, gw_only, lo, hi, *args)
    np.testing.assert_array_equal(gw_only, gw_t)
