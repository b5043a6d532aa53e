"""Losses: float64 gradient checks for every loss and reduction, values, stability, errors."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(99)
REDUCTIONS = ["mean", "sum", "none"]


def reference_log_softmax(x):
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def reduce(values, reduction):
    return {"mean": values.mean(), "sum": values.sum(), "none": values}[reduction]


# ---------------------------------------------------------------- regression
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_l1_huber_gradcheck(reduction):
    x, t = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction), [x, t])
    assert gradgradcheck(lambda a, b: F.mse_loss(a, b, reduction), [x, t])
    # keep |x - t| away from 0 (l1's kink) and from delta (huber's seam)
    d = RNG.uniform(0.2, 0.8, size=(4, 3)) * RNG.choice([-1, 1], size=(4, 3))
    d[0] *= 4.0
    assert gradcheck(lambda a, b: F.l1_loss(a, b, reduction), [t + d, t])
    assert gradcheck(lambda a, b: F.huber_loss(a, b, 1.0, reduction), [t + d, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_numpy(reduction):
    x, t = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 2)) * 3
    d = x - t
    huber = np.where(np.abs(d) <= 1.5, 0.5 * d**2, 1.5 * (np.abs(d) - 0.75))
    for got, want in [
        (F.mse_loss(x, t, reduction), reduce(d**2, reduction)),
        (F.l1_loss(x, t, reduction), reduce(np.abs(d), reduction)),
        (F.huber_loss(x, t, 1.5, reduction), reduce(huber, reduction)),
    ]:
        np.testing.assert_allclose(got.data, want, rtol=1e-10)


def test_regression_losses_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match=r"mse_loss: input of shape \(4, 1\) and target of shape"):
        F.mse_loss(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(np.zeros(4), np.zeros(4), reduction="avg")


# ------------------------------------------------------------- cross entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck_labels_and_probabilities(reduction):
    x = RNG.normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    assert gradcheck(lambda a: F.cross_entropy(a, labels, reduction), [x])
    assert gradgradcheck(lambda a: F.cross_entropy(a, labels, reduction), [x])
    p = RNG.uniform(0.1, 1, size=(4, 3))
    p /= p.sum(-1, keepdims=True)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, reduction), [x, p])
    assert gradgradcheck(lambda a, b: F.cross_entropy(a, b, reduction), [x, p])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_numpy_and_the_lecture_gradient(reduction):
    x = RNG.normal(size=(6, 5)).astype(np.float32)
    labels = RNG.integers(0, 5, size=6)
    onehot = np.eye(5, dtype=np.float32)[labels]
    logits = ad.tensor(x, requires_grad=True)
    loss = F.cross_entropy(logits, labels, reduction)
    want = -reference_log_softmax(x)[np.arange(6), labels]
    np.testing.assert_allclose(loss.data, reduce(want, reduction), rtol=1e-5)
    assert loss.dtype == np.float32
    loss.backward(np.ones_like(loss.data))
    softmax = np.exp(reference_log_softmax(x))
    scale = 1 / 6 if reduction == "mean" else 1.0
    np.testing.assert_allclose(logits.grad.data, (softmax - onehot) * scale, atol=1e-6)
    assert logits.grad.dtype == np.float32
    with_onehot = F.cross_entropy(x, onehot, reduction)
    np.testing.assert_allclose(with_onehot.data, loss.data, rtol=1e-5)


def test_cross_entropy_is_stable_for_huge_logits():
    x = ad.tensor([[1000.0, 0.0, -1000.0], [900.0, 1000.0, 1000.0]], requires_grad=True)
    loss = F.cross_entropy(x, np.array([2, 1]))
    assert np.isfinite(loss.item()) and abs(loss.item() - (2000 + np.log(2)) / 2) < 1e-2
    loss.backward()
    assert np.isfinite(x.grad.data).all()


def test_cross_entropy_sequence_logits():
    x = RNG.normal(size=(2, 3, 4))
    labels = RNG.integers(0, 4, size=(2, 3))
    assert F.cross_entropy(x, labels, "none").shape == (2, 3)
    assert gradcheck(lambda a: F.cross_entropy(a, labels), [x])


def test_cross_entropy_bad_label_names_label_classes_and_shape():
    with pytest.raises(ValueError) as err:
        F.cross_entropy(np.zeros((4, 3), np.float32), np.array([0, 1, 3, 2]))
    msg = str(err.value)
    assert "label 3" in msg and "3 classes" in msg and "(4, 3)" in msg
    with pytest.raises(ValueError, match="label -1"):
        F.cross_entropy(np.zeros((2, 3), np.float32), np.array([0, -1]))
    with pytest.raises(TypeError, match="must be integers"):
        F.cross_entropy(np.zeros((2, 3), np.float32), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="fits neither"):
        F.cross_entropy(np.zeros((2, 3), np.float32), np.zeros((2, 4)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_equals_cross_entropy(reduction):
    x = RNG.normal(size=(4, 3))
    labels = np.array([2, 0, 1, 1])
    np.testing.assert_allclose(
        F.nll_loss(F.log_softmax(x), labels, reduction).data,
        F.cross_entropy(x, labels, reduction).data,
        rtol=1e-10,
    )
    assert gradcheck(lambda a: F.nll_loss(a, labels, reduction), [x])
    with pytest.raises(ValueError, match="label 5 is out of range for 3 classes"):
        F.nll_loss(x, np.array([5, 0, 1, 1]))


# --------------------------------------------------------------------- binary
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradcheck_and_matches_bce(reduction):
    x, t = RNG.normal(size=(3, 4)) * 2, RNG.uniform(size=(3, 4))
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction), [x, t])
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction), [x, t])
    p = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(x, t, reduction).data,
        F.binary_cross_entropy(p, t, reduction=reduction).data,
        rtol=1e-8,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_on_probabilities_gradcheck(reduction):
    p, t = RNG.uniform(0.1, 0.9, size=(3, 4)), RNG.uniform(size=(3, 4))
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), [p, t])


def test_bce_clips_probabilities_and_with_logits_is_exact():
    loss = F.binary_cross_entropy(ad.tensor([0.0, 1.0]), ad.tensor([1.0, 0.0]), reduction="none")
    assert np.isfinite(loss.data).all() and loss.dtype == np.float32
    np.testing.assert_allclose(loss.data, -np.log(1e-7), rtol=2e-2)  # 1 - eps rounds in float32
    big = F.binary_cross_entropy_with_logits(
        ad.tensor([-200.0, 200.0]), ad.tensor([1.0, 0.0]), reduction="none"
    )
    np.testing.assert_allclose(big.data, [200.0, 200.0])
    with pytest.raises(ValueError, match=r"\(4, 1\)"):
        F.binary_cross_entropy_with_logits(np.zeros((4, 1)), np.zeros(4))


# ------------------------------------------------------------------ penalties
def test_penalties_are_differentiable():
    w1, w2 = RNG.normal(size=(3, 2)), RNG.normal(size=4)
    assert gradcheck(lambda a, b: F.l1_penalty([a, b], 0.3), [w1, w2])
    assert gradcheck(lambda a, b: F.l2_penalty([a, b], 0.3), [w1, w2])
    np.testing.assert_allclose(
        F.l1_penalty([w1, w2], 0.3).data, 0.3 * (np.abs(w1).sum() + np.abs(w2).sum())
    )
    with pytest.raises(ValueError, match="no parameters"):
        F.l1_penalty([])


def test_l1_penalty_on_a_model():
    model = nn.Linear(3, 2)
    F.l1_penalty(model.parameters(), 0.1).backward()
    np.testing.assert_allclose(model.weight.grad.data, 0.1 * np.sign(model.weight.data))


# -------------------------------------------------------------------- modules
@pytest.mark.parametrize(
    "module, fn",
    [
        (nn.MSELoss(), F.mse_loss),
        (nn.L1Loss(reduction="sum"), lambda a, b: F.l1_loss(a, b, "sum")),
        (nn.HuberLoss(0.5), lambda a, b: F.huber_loss(a, b, 0.5)),
        (nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits),
    ],
    ids=lambda m: type(m).__name__,
)
def test_loss_modules_wrap_the_functions(module, fn):
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    t = RNG.uniform(size=(4, 3)).astype(np.float32)
    out = module(x, t)
    np.testing.assert_allclose(out.data, fn(x, t).data)
    assert out.dtype == np.float32


def test_classification_loss_modules():
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    t = np.array([0, 1, 2, 1])
    assert nn.SoftmaxWithLoss is nn.CrossEntropyLoss
    np.testing.assert_allclose(nn.CrossEntropyLoss()(x, t).data, F.cross_entropy(x, t).data)
    assert nn.CrossEntropyLoss(reduction="none")(x, t).shape == (4,)
    np.testing.assert_allclose(
        nn.NLLLoss()(F.log_softmax(x), t).data, F.cross_entropy(x, t).data, rtol=1e-6
    )
    p = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(
        nn.BCELoss()(p, (x > 0).astype(np.float32)).data,
        F.binary_cross_entropy(p, (x > 0).astype(np.float32)).data,
    )
    assert repr(nn.CrossEntropyLoss(reduction="sum")) == "CrossEntropyLoss(reduction='sum')"
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="total")


def test_registered_loss_ops_are_walked_by_the_registry():
    names = {info.name for info in ad.registry.all_ops()}
    assert {"softmax_cross_entropy", "binary_cross_entropy_with_logits"} <= names


LOSS_CLASSES = sorted({getattr(nn.losses, n) for n in nn.losses.__all__}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", LOSS_CLASSES, ids=lambda c: c.__name__)
def test_a_loss_layer_error_names_the_layer_and_the_shapes(cls):
    x = np.full((3, 4), 0.5)
    with pytest.raises(ValueError) as err:
        cls()(x, np.zeros(5, dtype=np.int64))
    message = str(err.value)
    assert cls.__name__ in message and "(3, 4)" in message and "(5,)" in message


def test_loss_errors_name_the_function_when_called_functionally():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"^nll_loss: target label 7 is out of range for 4"):
        F.nll_loss(x, np.array([0, 1, 7]))
    with pytest.raises(ValueError, match=r"^NLLLoss: nll_loss: target label 7 .*\(valid .*0..3\)"):
        nn.NLLLoss()(x, np.array([0, 1, 7]))
    with pytest.raises(ValueError, match=r"^MSELoss: mse_loss: input of shape \(3, 4\)"):
        nn.MSELoss()(x, np.zeros(3))


def test_a_loss_error_that_names_the_layer_is_not_prefixed_again():
    with pytest.raises(ValueError) as err:
        nn.CrossEntropyLoss()(np.zeros((3, 4)), np.zeros(2, dtype=np.int64))
    assert str(err.value).startswith("softmax_cross_entropy in layer 'CrossEntropyLoss'")
