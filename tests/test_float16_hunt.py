"""float16 through every op: intermediates that overflow or cancel in float16.

A float16 op must give what the same computation in float32 gives, rounded to float16
(as PyTorch's CPU kernels compute float16 in float32), within a few float16 ulps of the
output's scale: no inf, nan or zeros where float32 is finite because a square, a sum or
a product in the middle overflowed float16 (65504) or cancelled. What stays float16 on
purpose: an output (or gradient) that itself does not fit float16, and gradients read
from a rounded float16 output (tanh, sigmoid, exp: PyTorch reads the same rounded output).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import autodiff as ad
import nn.functional as F
from autodiff.testing import strategies as st

F16, F32 = np.float16, np.float32
ULP = 2.0**-10  # float16's relative step


def _f16_and_f32(fn, *arrays, gy=None):
    """fn's output and input gradients in float16, and in float32 on the same values."""
    results = []
    for dtype in (F16, F32):
        xs = [ad.Tensor(np.asarray(a, F16).astype(dtype), requires_grad=True) for a in arrays]
        y = fn(*xs)
        seed = np.ones(y.shape) if gy is None else gy
        y.backward(ad.Tensor(np.asarray(seed, F16).astype(dtype)))
        results.append((y.data, [x.grad.data for x in xs]))
    return results


def _close(got, want, ulps=4):
    """got (float16) equals want (float32) rounded to float16 within ``ulps`` of want's scale."""
    assert got.dtype == F16
    want = want.astype(F16).astype(np.float64)
    assert np.isfinite(got).all() and np.isfinite(want).all()
    scale = np.abs(want).max()
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=0, atol=ulps * ULP * scale)


def _check(fn, *arrays, gy=None, ulps=4):
    (y16, g16), (y32, g32) = _f16_and_f32(fn, *arrays, gy=gy)
    _close(y16, y32, ulps)
    for a, b in zip(g16, g32):
        _close(a, b, ulps)


RNG = np.random.default_rng(0)


def test_float16_sum_over_a_long_axis_accumulates_in_float32():
    # numpy adds float16 along a strided axis in float16: 1024 + 0.5 is 1024, so 10,000
    # halves summed to 1024 (PyTorch: 5000)
    x = np.full((10_000, 3), 0.5, F16)
    assert ad.sum(x, axis=0).data.tolist() == [5000.0] * 3
    _check(lambda t: ad.sum(t, axis=0), RNG.uniform(0, 1, (3000, 4)))


@pytest.mark.parametrize("fn", [ad.var, ad.std, lambda t: ad.var(t, axis=0, ddof=1)])
def test_float16_var_and_std_of_values_whose_squares_overflow(fn):
    # (x - mean)**2 passed 65504 from |x - mean| = 256: var and std were inf (PyTorch: 33056)
    _check(fn, RNG.uniform(-300, 300, 100))
    # and a mean rounded to float16 (a step of 0.5 at 1000) made the variance 9% off
    _check(fn, RNG.uniform(1000, 1001, 100))


def test_float16_mean_gradient_is_not_rounded_through_a_subnormal_one_over_n():
    # 1 / 1e6 is subnormal in float16 (1.013e-6): gy * that was 1.3% off
    x = ad.Tensor(np.zeros(1_000_000, F16), requires_grad=True)
    ad.mean(x).backward(ad.Tensor(np.float16(1000.0)))
    assert x.grad.dtype == F16
    np.testing.assert_allclose(x.grad.data[:3].astype(float), 1e-3, rtol=ULP)


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_float16_softmax_family_over_a_long_axis(name):
    # the sum of exps over axis 0 stagnated at 2048 in float16: log_softmax of 5000 zeros
    # was -log(2048), softmax 1/2048
    fn = getattr(ad, name)
    y = fn(np.zeros((5000, 2), F16), axis=0).data
    want = {"logsumexp": np.log(5000), "softmax": 1 / 5000, "log_softmax": -np.log(5000)}[name]
    assert y.dtype == F16
    np.testing.assert_allclose(y.astype(float), want, rtol=2 * ULP)


def test_float16_logsumexp_gradient_is_not_read_through_a_rounded_result():
    # exp(x - y) with y rounded to float16 (a step of 0.25 at 400): off by up to 13%
    x = np.array([[400.0, 400.5, 401.0, 399.25]])
    _check(lambda t: ad.logsumexp(t, axis=1), x)


def test_float16_softmax_gradient_does_not_cancel_for_a_peaked_softmax():
    # y * (gy - sum(gy * y)) in float16 cancels where one class dominates: a sample's
    # gradient was off by 24 ulps of its own scale at logits of +-8, by 100% at +-30
    for scale in (8, 30):
        x = RNG.uniform(-scale, scale, (16, 10))
        gy = RNG.standard_normal((16, 10))
        for row, g in zip(x, gy):  # each sample's gradient at its own scale
            _check(ad.softmax, row, gy=g)
            _check(ad.log_softmax, row, gy=g)


def test_float16_losses_are_reduced_in_float32():
    # the float16 sum of the losses overflowed (inf), and float16(70000) is inf: nan
    x = RNG.uniform(-4, 4, 70_000)
    t = RNG.uniform(0, 1, 70_000)
    loss = ad.binary_cross_entropy_with_logits(x.astype(F16), t.astype(F16))
    assert loss.dtype == F16 and np.isfinite(loss.item())
    _check(lambda a: ad.binary_cross_entropy_with_logits(a, t.astype(F16)), x)
    logits = RNG.uniform(-30, 30, (5000, 10))  # losses of ~25: their sum passes 65504
    labels = RNG.integers(0, 10, 5000)
    _check(lambda a: ad.softmax_cross_entropy(a, labels), logits)
    probs = RNG.uniform(0, 1, (5000, 10))
    probs /= probs.sum(axis=1, keepdims=True)
    _check(lambda a: ad.softmax_cross_entropy(a, probs.astype(F16)), logits)


def test_float16_mse_loss_and_penalties_do_not_overflow_in_their_squares():
    # differences of 400 square to 160000 (inf) though their mean is 53000
    x = RNG.uniform(-400, 400, 1000)
    _check(lambda a: F.mse_loss(a, ad.Tensor(np.zeros(1000, F16))), x)
    w = RNG.uniform(-1, 1, 300_000)  # sum of squares 1e5 (inf), penalty 50
    _check(lambda p: F.l2_penalty([p], 1e-3), w)
    _check(lambda p: F.l1_penalty([p], 1e-3), w)


def test_float16_power_gradients_do_not_overflow_in_their_products():
    # 3 * x**2 overflows at x = 150 where gy * 3 * x**2 fits (inf gradients; x**3 itself
    # does not fit float16, so only the gradient is compared)
    x = RNG.uniform(148, 150, 50)
    with np.errstate(over="ignore"):
        (_, (g16,)), (_, (g32,)) = _f16_and_f32(lambda a: a**3, x, gy=RNG.uniform(0.1, 0.9, 50))
    _close(g16, g32)
    # gy * y overflows before it is multiplied by log(2.5) = 0.92 (y = 60000, gy = 1.15)
    _check(lambda a: 2.5**a, np.array([12.0]), gy=np.array([1.15]))


def test_float16_tan_gradient_does_not_overflow_in_y_squared():
    x = np.array([1.5703, 1.5698, 0.5])  # tan ~ 2000: y * y overflows, the gradient fits
    _check(ad.tan, x, gy=np.array([1e-3, 1e-3, 1.0]))


def test_float16_fast_paths_match_the_differentiable_backward():
    # first-order gradients take the array rules; create_graph the Tensor ones
    x = RNG.uniform(-8, 8, (6, 5)).astype(F16)
    labels = RNG.integers(0, 5, 6)
    for fn in (
        lambda a: ad.softmax_cross_entropy(a, labels),
        lambda a: ad.mean(a * a * 0.5),
        lambda a: (a**3).sum(),
    ):
        grads = []
        for create_graph in (False, True):
            t = ad.Tensor(x, requires_grad=True)
            fn(t).backward(create_graph=create_graph)
            grads.append(t.grad.data)
        assert grads[0].dtype == grads[1].dtype == F16
        np.testing.assert_allclose(grads[0].astype(float), grads[1].astype(float), rtol=ULP)


def test_float16_second_derivative_of_softmax_cross_entropy():
    x = ad.Tensor(RNG.uniform(-2, 2, (4, 3)).astype(F16), requires_grad=True)
    (g,) = ad.grad(ad.softmax_cross_entropy(x, np.array([0, 1, 2, 0])), [x], create_graph=True)
    (h,) = ad.grad((g * g).sum(), [x])
    assert g.dtype == h.dtype == F16 and np.isfinite(h.data).all()


_OPS = [info for info in ad.registry.all_ops() if info.differentiable]


@pytest.mark.parametrize("info", _OPS, ids=[info.name for info in _OPS])
def test_every_op_in_float16_stays_float16_and_finite_where_float32_is(info):
    @settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.op_cases(info))
    def check(case):
        arrays, kwargs = case
        arrays = [np.asarray(a, F16) if a.dtype.kind == "f" else a for a in arrays]
        outs = {}
        for dtype in (F16, F32):
            xs = [
                ad.Tensor(a.astype(dtype), requires_grad=True) if a.dtype.kind == "f" else a
                for a in arrays
            ]
            y = info.fn(*xs, **kwargs)
            ys = [y] if isinstance(y, ad.Tensor) else list(y)
            rng = np.random.default_rng(0)
            for o in ys:
                if o.requires_grad:
                    o.backward(
                        ad.Tensor(rng.standard_normal(o.shape).astype(dtype)), retain_graph=True
                    )
            grads = [x.grad.data for x in xs if isinstance(x, ad.Tensor) and x.grad is not None]
            outs[dtype] = [o.data for o in ys], grads
        for got, want in zip(outs[F16][0] + outs[F16][1], outs[F32][0] + outs[F32][1]):
            if want.dtype == F32:
                assert got.dtype == F16
            fits = np.isfinite(want.astype(F16))
            assert np.isfinite(got[fits]).all(), info.name

    check()


def test_float16_bias_gradients_over_a_large_batch():
    import nn

    for layer in (nn.Linear(3, 2, dtype=F16), None):
        b = ad.Tensor(np.zeros(2, F16), requires_grad=True)
        x = np.zeros((10_000, 3), F16)
        y = layer(x) if layer is not None else ad.Tensor(np.zeros((10_000, 2), F16)) + b
        y.backward(ad.Tensor(np.full(y.shape, 0.5, F16)))
        g = (layer.bias if layer is not None else b).grad.data
        assert g.tolist() == [5000.0, 5000.0]
