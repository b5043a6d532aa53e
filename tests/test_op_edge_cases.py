"""Values at the edges of ops' domains, checked against numpy's and PyTorch's conventions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autodiff as ad


def _grads(fn, *values):
    xs = [ad.tensor(np.asarray(v, np.float64), requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.data for x in xs]


@pytest.mark.parametrize("ddof", [1, 2, 3])
def test_var_with_ddof_at_least_n_follows_numpy(ddof):
    # It raised ZeroDivisionError (ddof == n) or gave -0 (ddof > n).
    data = np.array([[1.0, 2.0], [3.0, 3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for axis in (0, 1, None):
            expected = np.var(data[:1], axis=axis, ddof=ddof)
            got = ad.tensor(data[:1]).var(axis=axis, ddof=ddof).data
            np.testing.assert_array_equal(got, expected)


def test_std_at_zero_variance_has_zero_gradient_not_nan():
    # sqrt's slope is infinite at 0; PyTorch takes 0 there, and so do we, at every order.
    (g,) = _grads(lambda s: s.std(), [1.0, 1.0])
    np.testing.assert_array_equal(g, [0.0, 0.0])
    x = ad.tensor(np.array([[1.0, 1.0], [1.0, 3.0]]), requires_grad=True)
    (gx,) = ad.grad(x.std(axis=1).sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.data, [[0.0, 0.0], [-0.5, 0.5]])
    (hx,) = ad.grad((gx * gx).sum(), x)
    assert np.isfinite(hx.data).all()
    assert x.std(axis=1).dtype == np.float64 and ad.tensor([1.0, 1.0]).std().dtype == np.float32


def test_pow_at_a_zero_base_has_the_limits_pytorch_uses():
    # 0 * log(0) and 0 * 0**-1 used to give nan
    ga, gb = _grads(lambda a, b: a**b, [0.0, 2.0], [2.0, 2.0])
    np.testing.assert_allclose(ga, [0.0, 4.0])
    np.testing.assert_allclose(gb, [0.0, 4.0 * np.log(2.0)])
    (gz,) = _grads(lambda z: z**0, [0.0, 1.0])
    np.testing.assert_array_equal(gz, [0.0, 0.0])
    (gz,) = _grads(lambda z: z ** ad.tensor([0.0, 0.0]), [0.0, 1.0])
    np.testing.assert_array_equal(gz, [0.0, 0.0])
    (gx,) = _grads(lambda x: 0.0**x, [1.0, 2.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0])
    a = ad.tensor(np.array([0.0, 2.0]), requires_grad=True)
    b = ad.tensor(np.array([0.0, 3.0]), requires_grad=True)
    ga, gb = ad.grad((a**b).sum(), [a, b], create_graph=True)
    second = ad.grad(ga.sum() + gb.sum(), [a, b])
    assert all(np.isfinite(g.data).all() for g in second)
