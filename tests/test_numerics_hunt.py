"""Numerics at the edges (huge/tiny logits, zeros, -inf, NaN), compared with PyTorch."""

import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F

DTYPES = [np.float32, np.float64]


def _grads(fn, *arrays):
    xs = [ad.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        y = fn(*xs)
        y.sum().backward()
    return y, [x.grad.data for x in xs]


# ------------------------------------------------------------------- division
@pytest.mark.parametrize("dtype", DTYPES)
def test_div_gradient_in_the_denominator_survives_tiny_and_huge_denominators(dtype):
    # -gy * a / b**2 formed b * b, which underflows (1e-30 ** 2 in float32: an infinite
    # gradient) or overflows (1e20 ** 2: a zero gradient) where the slope is finite
    tiny, huge = (1e-30, 1e20) if dtype == np.float32 else (1e-200, 1e160)
    b = np.array([tiny, huge, -tiny], dtype)
    a = np.array([tiny, huge, 3 * tiny], dtype)
    y, (ga, gb) = _grads(lambda a, b: a / b, a, b)
    assert y.dtype == ga.dtype == gb.dtype == dtype
    np.testing.assert_allclose(ga, 1 / b.astype(np.float64), rtol=1e-6)
    np.testing.assert_allclose(gb, -(a / b).astype(np.float64) / b, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_x_over_x_has_gradient_exactly_zero_first_and_second_order(dtype):
    # at 1e-30 the second derivative overflows float32 (1 / x**2), as in PyTorch: first order
    x = ad.tensor(np.array([1e-30, -1e-30, -100.0, 3.0, 1e4], dtype), requires_grad=True)
    _, (g,) = _grads(lambda x: x / x, x.data)
    assert g.dtype == dtype
    np.testing.assert_array_equal(g, 0.0)
    x = ad.tensor(np.array([-100.0, -30.0, 3.0, 1e4], dtype), requires_grad=True)
    (g,) = ad.grad((x / x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, 0.0)
    (gg,) = ad.grad((g * ad.tensor(np.arange(4.0, dtype=dtype))).sum(), x)
    np.testing.assert_array_equal(gg.data, 0.0)


def test_div_matches_torch_first_and_second_order():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=5), rng.uniform(0.5, 2.0, size=5) * rng.choice([-1, 1], 5)
    xa, xb = ad.tensor(a, requires_grad=True), ad.tensor(b, requires_grad=True)
    ga, gb = ad.grad((xa / xb).sum(), [xa, xb], create_graph=True)
    (h,) = ad.grad((gb * gb).sum(), xb)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    tga, tgb = torch.autograd.grad((ta / tb).sum(), [ta, tb], create_graph=True)
    (th,) = torch.autograd.grad((tgb * tgb).sum(), tb)
    np.testing.assert_allclose(ga.data, tga.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gb.data, tgb.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- NLL and CE
@pytest.mark.parametrize("dtype", DTYPES)
def test_nll_loss_ignores_minus_infinity_in_the_other_classes(dtype):
    # a masked logit (or log(0) probability) of a class that is not the target: the loss
    # is finite (PyTorch: 1.3133); log_probs * onehot made it 0 * -inf = nan
    logits = np.array([[-np.inf, 0.0, 1.0], [0.0, 0.0, -np.inf]], dtype)
    y, (g,) = _grads(lambda x: nn.NLLLoss()(ad.log_softmax(x), np.array([1, 0])), logits)
    assert y.dtype == g.dtype == dtype
    np.testing.assert_allclose(y.item(), (np.log1p(np.e) + np.log(2)) / 2, rtol=1e-6)
    s = 1 / (1 + np.e)  # softmax of class 1 in row 0
    np.testing.assert_allclose(g, [[0, (s - 1) / 2, (1 - s) / 2], [-0.25, 0.25, 0]], atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_with_one_hot_rows_and_a_masked_class_is_finite(dtype):
    # 0 * log(0) = 0: a -inf logit in a class whose target is 0 costs nothing (PyTorch: nan)
    logits = np.array([[-np.inf, 0.0, 1.0], [2.0, 0.0, 1.0]], dtype)
    onehot = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]], dtype)
    y, (g,) = _grads(lambda x: ad.softmax_cross_entropy(x, onehot, reduction="none"), logits)
    labels, (g_labels,) = _grads(
        lambda x: ad.softmax_cross_entropy(x, np.array([1, 1]), reduction="none"), logits
    )
    np.testing.assert_allclose(y.data, labels.data, rtol=1e-6)
    np.testing.assert_allclose(g, g_labels, rtol=1e-6)
    # a NaN logit still shows: the whole row's loss is nan
    nan_row = np.array([[np.nan, 0.0, 1.0]], dtype)
    y, _ = _grads(lambda x: ad.softmax_cross_entropy(x, onehot[:1], reduction="none"), nan_row)
    assert np.isnan(y.data).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "row",
    [[1e2, -1e2, 0.0], [1e4, -1e4, 0.0], [1e30, -1e30, 0.0], [0.0, 0.0, 0.0], [-np.inf, 0, 1]],
)
def test_softmax_family_at_extreme_logits_match_torch(dtype, row):
    torch = pytest.importorskip("torch")
    x = np.array([row], dtype)
    w = np.array([[0.3, -1.2, 0.7]], dtype)
    cases = [
        (lambda t: ad.softmax(t) * w, lambda t: torch.softmax(t, -1) * torch.tensor(w)),
        (lambda t: ad.log_softmax(t) * w, lambda t: torch.log_softmax(t, -1) * torch.tensor(w)),
        (lambda t: ad.logsumexp(t, -1), lambda t: torch.logsumexp(t, -1)),
        (
            lambda t: ad.softmax_cross_entropy(t, np.array([1])),
            lambda t: torch.nn.functional.cross_entropy(t, torch.tensor([1])),
        ),
    ]
    for ours, theirs in cases:
        y, (g,) = _grads(ours, x)
        t = torch.tensor(x, requires_grad=True)
        ty = theirs(t)
        ty.sum().backward()
        assert y.dtype == g.dtype == dtype
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------ BCE
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_on_a_clipped_probability_still_has_a_gradient_of_the_right_sign(dtype):
    # clip's zero slope stopped learning exactly where a prediction is most wrong; PyTorch's
    # gradient is large there too. The value stays the clipped one (-log(eps)).
    p = np.array([0.0, 1e-30, 1.0, 1.0], dtype)
    t = np.array([1.0, 1.0, 0.0, 1.0], dtype)
    y, (g,) = _grads(lambda p: F.binary_cross_entropy(p, t, reduction="none"), p)
    assert y.dtype == g.dtype == dtype
    eps = 1e-7
    np.testing.assert_allclose(y.data[:3], -np.log(eps), rtol=2e-2)
    assert g[0] < -1e6 and g[1] < -1e6 and g[2] > 1e6
    np.testing.assert_allclose(g[3], -1.0, rtol=1e-6)  # -1/p, as the unclipped loss
    # inside [eps, 1 - eps] nothing changes: the exact gradient
    q = np.array([0.3, 0.9], dtype)
    _, (gq,) = _grads(lambda p: F.binary_cross_entropy(p, t[:2], reduction="none"), q)
    np.testing.assert_allclose(gq, -1 / q, rtol=1e-6)


def test_sigmoid_then_bce_keeps_pushing_a_confidently_wrong_prediction():
    x = ad.tensor(np.array([-17.0, -20.0], np.float32), requires_grad=True)
    nn.BCELoss()(ad.sigmoid(x), ad.tensor(np.ones(2, np.float32))).backward()
    assert (x.grad.data < 0).all()


# ------------------------------------------------ dtype: float32 in, float32 out
def test_edge_values_keep_float32_through_activations_and_losses():
    x = np.array([0.0, -0.0, 1e-45, 1e30, -1e30, 88.7, -88.7], np.float32)
    for fn in [
        ad.exp,
        ad.log1p,
        ad.sigmoid,
        ad.tanh,
        ad.softplus,
        ad.elu,
        ad.selu,
        ad.relu,
        ad.abs,
        lambda t: ad.leaky_relu(t, 0.1),
        lambda t: ad.clip(t, -1.0, 1.0),
        lambda t: t**0.5,
        lambda t: 2.0**t,
        lambda t: 1.0 / t,
        ad.std,
        ad.logsumexp,
    ]:
        y, (g,) = _grads(fn, x)
        assert y.dtype == g.dtype == np.float32, fn


@pytest.mark.parametrize("layer", ["batch", "layer"])
def test_float16_normalisation_computes_its_statistics_in_float32(layer):
    # activations of a few hundred square past float16's largest value (65504)
    torch = pytest.importorskip("torch")
    x = (np.random.default_rng(0).standard_normal((8, 3)) * 600).astype(np.float16)
    if layer == "batch":
        ours = nn.BatchNorm1d(3, dtype=np.float16)(ad.tensor(x))
        theirs = torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True)
    else:
        ours = nn.LayerNorm(3, dtype=np.float16)(ad.tensor(x))
        theirs = torch.nn.functional.layer_norm(torch.tensor(x), (3,))
    assert ours.dtype == np.float16
    np.testing.assert_allclose(ours.data, theirs.numpy(), atol=4e-3)
