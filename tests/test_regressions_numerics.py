"""Regressions found reviewing 0c384fd (numerics at the extremes) and db2b247 (dtypes across
layers); each test failed before its fix and names the behaviour it expects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from nn.optim import AdaDelta, Adam


def _quiet():
    return warnings.catch_warnings()


# ------------------------------------------------------------------ 0c384fd: div
def test_div_denominator_gradient_is_zero_under_a_zero_upstream_gradient_float16():
    # tanh(x / T) in float16: x / T = 1e5 overflows to inf, tanh saturates, its slope
    # (the upstream gradient of div) is exactly 0. -(gy / T) * y is 0 * inf = nan;
    # the former -(gy * x) / (T * T) gave 0 (PyTorch gives nan too).
    x = ad.tensor(np.array([100.0], np.float16), requires_grad=True)
    temperature = ad.tensor(np.array(1e-3, np.float16), requires_grad=True)
    with _quiet():
        warnings.simplefilter("ignore")
        ad.tanh(x / temperature).sum().backward()
    assert temperature.grad.data == 0
    assert x.grad.data[0] == 0


def test_div_denominator_gradient_of_a_masked_out_overflowing_quotient_is_zero():
    # where(mask, a / b, 0): the unselected entry overflowed (1e20 / 1e-20 in float32); its
    # upstream gradient is 0, so b's gradient must be 0, not nan (it was 0 before 0c384fd).
    a = ad.tensor(np.array([1e20, 1.0], np.float32), requires_grad=True)
    b = ad.tensor(np.array([1e-20, 2.0], np.float32), requires_grad=True)
    with _quiet():
        warnings.simplefilter("ignore")
        ad.where(np.array([False, True]), a / b, 0.0).sum().backward()
    np.testing.assert_array_equal(b.grad.data, np.array([0.0, -0.25], np.float32))
    # the same through the differentiable backward (create_graph=True)
    a2 = ad.tensor(np.array([1e20, 1.0], np.float32), requires_grad=True)
    b2 = ad.tensor(np.array([1e-20, 2.0], np.float32), requires_grad=True)
    with _quiet():
        warnings.simplefilter("ignore")
        out = ad.where(np.array([False, True]), a2 / b2, 0.0).sum()
        (gb,) = ad.grad(out, b2, create_graph=True)
    np.testing.assert_array_equal(gb.data, np.array([0.0, -0.25], np.float32))


# ------------------------------------------------- 0c384fd: soft-target cross entropy
def test_soft_target_cross_entropy_does_not_hide_nan_logits_in_a_zero_target_row():
    # A row whose targets are all 0 (padding) with a NaN logit: the loss became 0 while the
    # gradient is NaN; before 0c384fd (and in PyTorch) the loss is NaN, so NaN checks on
    # the loss (TerminateOnNaN, anomaly hunting) still see it.
    x = ad.tensor(np.array([[np.nan, 0.0, 1.0]]), requires_grad=True)
    t = np.zeros((1, 3))
    with _quiet():
        warnings.simplefilter("ignore")
        loss = ad.softmax_cross_entropy(x, t, reduction="none")
        loss.sum().backward()
    assert np.isnan(x.grad.data).all()
    assert np.isnan(loss.data).all()


# ------------------------------------------------------- 0c384fd: binary cross entropy
def test_bce_clips_a_float16_probability_of_one():
    # (a hole 0c384fd leaves, not a regression) 1 - eps rounds to 1 in float16, so p = 1 is
    # never clipped: log(1 - p) = -inf gives inf / nan losses. PyTorch gives 0 and 100.
    p = ad.tensor(np.array([1.0, 1.0], np.float16), requires_grad=True)
    t = ad.tensor(np.array([1.0, 0.0], np.float16))
    with _quiet():
        warnings.simplefilter("ignore")
        loss = F.binary_cross_entropy(p, t, reduction="none")
    assert np.isfinite(loss.data).all(), loss.data


# ------------------------------------------------------- db2b247: float16 eps refusal
def _param(dtype, value=1.0):
    return nn.Parameter(np.full((3,), value, dtype), dtype=dtype)


def test_float16_eps_refusal_in_step_changes_nothing():
    # A float16 parameter met for the first time in step() (the model was converted after the
    # optimizer was built) is refused, but only after the parameters before it were updated
    # and given state: the step half happened.
    a, b = _param(np.float32), _param(np.float32)
    opt = Adam([a, b], lr=0.1)
    b.data = b.data.astype(np.float16)
    a.grad = ad.tensor(np.ones(3, np.float32))
    b.grad = ad.tensor(np.ones(3, np.float16))
    with pytest.raises(ValueError, match="float16"):
        opt.step()
    np.testing.assert_array_equal(a.data, np.ones(3, np.float32))
    assert a not in opt.state


def test_float16_parameters_cannot_get_a_tiny_eps_through_load_state_dict():
    # opt16 was built with eps=1e-4 (accepted); a state dict saved with eps=1e-8 replaces eps
    # and the state, so step() never checks again: a zero gradient gives NaN weights.
    w16 = _param(np.float16)
    opt16 = Adam([w16], lr=1e-3, eps=1e-4)
    w32 = _param(np.float32)
    opt32 = Adam([w32], lr=1e-3)
    w32.grad = ad.tensor(np.zeros(3, np.float32))
    opt32.step()
    with _quiet():
        warnings.simplefilter("ignore")
        try:
            opt16.load_state_dict(opt32.state_dict())
            w16.grad = ad.tensor(np.zeros(3, np.float16))
            opt16.step()
        except ValueError:
            return  # refused: fine
    assert np.isfinite(w16.data).all(), w16.data


def test_float16_adadelta_with_an_eps_float16_rounds_to_zero_is_refused_or_finite():
    # AdaDelta is exempt (its default 1e-6 is a float16 subnormal), but eps=1e-8 rounds to 0
    # in float16: sqrt(0 + 0) / sqrt(0 + 0) = nan on a zero gradient.
    w = _param(np.float16)
    with _quiet():
        warnings.simplefilter("ignore")
        try:
            opt = AdaDelta([w], lr=1.0, eps=1e-8)
            w.grad = ad.tensor(np.zeros(3, np.float16))
            opt.step()
        except ValueError:
            return
    assert np.isfinite(w.data).all(), w.data
