"""The reverse-mode engine pushed to its edges: odd seeds, errors part-way through a
backward, re-entrant backward passes, views the in-place check has to see through."""

import gc
import weakref

import numpy as np
import pytest

import autodiff as ad
import nn

F32 = np.float32


# ------------------------------------------------------------------ seeds of other dtypes
@pytest.mark.parametrize("seed", [np.array([1, 2]), np.array([True, False])])
def test_an_integer_or_bool_tensor_seed_gives_gradients_of_the_roots_dtype(seed):
    # as in PyTorch: the seed is cast to the root's dtype (it gave int64 .grad on a leaf
    # root, and an int64 .grad on a retained non-leaf root)
    x = ad.tensor(np.ones(2, F32), requires_grad=True)
    x.backward(ad.tensor(seed))
    assert x.grad.dtype == F32
    np.testing.assert_array_equal(x.grad.data, seed.astype(F32))

    x.grad = None
    y = (x * 2).retain_grad()
    y.backward(ad.tensor(seed))
    assert y.grad.dtype == F32 and x.grad.dtype == F32
    np.testing.assert_array_equal(x.grad.data, 2 * seed.astype(F32))


@pytest.mark.parametrize("wrap", [np.asarray, ad.tensor])
def test_a_complex_seed_for_a_real_root_is_refused(wrap):
    # it was cast with numpy's ComplexWarning, the imaginary part silently dropped
    # (PyTorch refuses too)
    x = ad.tensor(np.ones(2, F32), requires_grad=True)
    with pytest.raises(TypeError, match="complex gradient"):
        (x * 2).backward(wrap(np.array([1 + 1j, 2])))
    assert x.grad is None


def test_seeds_of_the_roots_dtype_and_float64_seeds_still_work():
    x = ad.tensor(np.ones(2, F32), requires_grad=True)
    seed = np.array([1.0, 2.0], F32)
    (x * 2).backward(seed)
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    assert seed.tolist() == [1.0, 2.0]  # the caller's array is never written into
    x.grad = None
    (x * 2).backward(ad.tensor(np.array([1.0, 2.0])))  # float64 keeps float32 work float32
    assert x.grad.dtype == F32


# ---------------------------------------------------------- errors part-way through a pass
class _Flaky(ad.Function):
    """Passes the gradient through twice over, after raising once."""

    def __init__(self, error):
        self.error = error  # an exception class: raising a stored instance makes a cycle

    def forward(self, x):
        return x * 2

    def backward(self, gy):
        if self.error is not None:
            error, self.error = self.error, None
            raise error("boom")
        return gy * 2


@pytest.mark.parametrize("error", [KeyboardInterrupt, ValueError])
def test_a_backward_stopped_part_way_changes_no_grad_and_can_be_run_again(error):
    # Retained non-leaf gradients were written as the pass went, leaf gradients only at
    # its end: after an interrupted backward y.grad held a gradient and x.grad none, and
    # running it again (retain_graph) gave y.grad twice the right value.
    x = ad.tensor(np.ones(2, F32), requires_grad=True)
    w = ad.tensor(np.ones(2, F32), requires_grad=True)
    y = _Flaky(error)(x * w).retain_grad()
    loss = (y * w).sum()
    with pytest.raises(error):
        loss.backward(retain_graph=True)
    assert x.grad is None and w.grad is None and y.grad is None
    assert ad.is_grad_enabled() and ad.anomaly.state.node is None
    loss.backward()
    np.testing.assert_array_equal(y.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(w.grad.data, [4.0, 4.0])


def test_an_error_part_way_without_retain_graph_says_so_on_the_next_call():
    x = ad.tensor(np.ones(2, F32), requires_grad=True)
    loss = (_Flaky(ValueError)(x * 3) * 2).sum()
    with pytest.raises(ValueError, match="in the backward of op '_flaky'"):
        loss.backward()
    with pytest.raises(RuntimeError, match="stopped with an error part-way"):
        loss.backward()
    assert x.grad is None


# ------------------------------------------------------------------ re-entrant backward
def test_backward_and_grad_inside_a_functions_backward():
    other = ad.tensor(np.ones(2), requires_grad=True)

    class Nested(ad.Function):
        def forward(self, x):
            return x * 3

        def backward(self, gy):
            with ad.enable_grad():
                (other * other).sum().backward()
                (x,) = self.inputs
                free = x.detach().requires_grad_()
                (g,) = ad.grad((free**2).sum(), free)
            np.testing.assert_array_equal(g.data, 2 * x.data)
            return gy * 3

    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with ad.detect_anomaly():
        Nested()(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(other.grad.data, [2.0, 2.0])
    assert ad.is_grad_enabled() and ad.anomaly.state.node is None


def test_the_same_tensor_as_several_roots_and_leaves_as_roots():
    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    ad.engine.backward([y, y])
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])  # PyTorch's answer too
    x.grad = None
    ad.engine.backward([x * 2, x], [np.ones(2), np.ones(2)])
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_zero_size_and_zero_d_tensors():
    z = ad.tensor(np.ones((0, 3), F32), requires_grad=True)
    (z * 2).sum().backward()
    assert z.grad.shape == (0, 3) and z.grad.dtype == F32
    s = ad.tensor(F32(2.0), requires_grad=True)
    (s * s).backward()
    assert s.grad.shape == () and float(s.grad.data) == 4.0


# ------------------------------------------------------------------ memory
def test_no_cycles_after_a_failed_backward():
    gc.collect()
    gc.disable()
    try:
        x = ad.tensor(np.ones(3), requires_grad=True)
        mid = x * 2
        ref = weakref.ref(mid)
        with pytest.raises(ValueError):
            (_Flaky(ValueError)(mid) * 3).sum().backward()
        del mid
        assert ref() is None  # freed by reference counting, not by the cycle collector
    finally:
        gc.enable()


# ------------------------------------------------------------------ the in-place check
@pytest.mark.parametrize(
    "view",
    [
        lambda a: np.split(a, [1])[1],
        lambda a: np.lib.stride_tricks.as_strided(a, shape=(2,), strides=(a.itemsize,)),
        lambda a: a[::-1],
    ],
)
def test_a_change_marked_through_a_numpy_view_of_a_parameter_is_refused(view):
    p = nn.Parameter(np.array([1.0, 2.0, 3.0], F32), name="p")
    x = ad.tensor(np.ones(3, F32), requires_grad=True)
    loss = (p * x).sum()
    v = view(p.data)
    v[:] = 0.0
    ad.Tensor(v, _copy=False).mark_changed()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
