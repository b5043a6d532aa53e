"""Values at the edges of ops' domains, checked against numpy's and PyTorch's conventions."""

from __future__ import annotations

import collections
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


def test_bad_shape_and_axis_arguments_name_the_op_and_the_line():
    x = ad.tensor(np.zeros((2, 3, 4), np.float32), requires_grad=True)
    here = f"{__file__}:"
    cases = [
        (
            lambda: x.swapaxes(0, 3),
            ValueError,
            "swapaxes at .*axis 3 is out of range for a tensor of shape \\(2, 3, 4\\)",
        ),
        (
            lambda: x.squeeze(0),
            ValueError,
            "squeeze at .*size not equal to one \\(tensor shape \\(2, 3, 4\\), axis 0\\)",
        ),
        (lambda: x.expand_dims(5), ValueError, "expand_dims at .*axis 5 is out of bounds"),
        (
            lambda: x.reshape("a"),
            TypeError,
            "reshape at .*a shape must be an integer or a sequence of integers",
        ),
        (lambda: x.flatten(5), ValueError, "flatten at .*axis 5 is out of range"),
        (
            lambda: ad.stack([x, x], axis=None),
            TypeError,
            "stack at .*axis must be an int, got None",
        ),
        (lambda: ad.split(x, 2, axis=None), TypeError, "split at .*axis must be an int, got None"),
        (
            lambda: x.var(axis=3),
            ValueError,
            "var at .*axis 3 is out of range .*\\(tensor shape \\(2, 3, 4\\)\\)",
        ),
        (
            lambda: (x * 2).backward(np.ones(3)),
            ValueError,
            "backward\\(\\) called at .*shape \\(3,\\) does not match .*\\(2, 3, 4\\)",
        ),
        (
            lambda: ad.grad(x.sum(), x, grad_outputs=[1.0, 2.0]),
            ValueError,
            "grad\\(\\) at .*2 grad_outputs for 1 outputs",
        ),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match=message) as err:
            call()
        assert here in str(err.value), str(err.value)


def test_shape_arguments_take_ints_sequences_and_arrays():
    x = ad.tensor(np.arange(6.0))
    for shape, want in [
        (np.array(6), (6,)),
        ((np.array(2), 3), (2, 3)),
        (range(2, 4), (2, 3)),
        ((n for n in (3, 2)), (3, 2)),
        (np.int64(6), (6,)),
    ]:
        assert x.reshape(shape).shape == want  # all accepted by numpy (and before)
    assert x.reshape(np.array([2, 3])).shape == (2, 3)  # was "truth value of an array is ambiguous"
    assert ad.broadcast_to(ad.tensor(1.0), 3).shape == (3,)  # was "'int' object is not iterable"
    np.testing.assert_array_equal(ad.sum_to(x, 1).data, [15.0])
    assert x.reshape(2, 3).flatten(-1).shape == (2, 3) and ad.tensor(1.0).flatten().shape == (1,)


def test_stack_names_the_range_of_its_new_axis():
    with pytest.raises(
        ValueError,
        match=r"axis 5 .* stacking tensors of shape \(2,\): the new axis goes from -2 to 1",
    ):
        ad.stack([ad.tensor([1.0, 2.0])] * 2, axis=5)


def test_pow_second_derivatives_away_from_a_zero_base_are_exact():
    # the 0 * inf guard must only touch places where the base is 0
    a = ad.tensor(np.array([2.0, 3.0]), requires_grad=True)
    b = ad.tensor(np.array([0.0, 1.5]), requires_grad=True)
    ga, gb = ad.grad((a**b).sum(), [a, b], create_graph=True)
    (dga_db,) = ad.grad(ga.sum(), [b])
    (dgb_da,) = ad.grad(gb.sum(), [a])
    av, bv = a.data, b.data
    expected = av ** (bv - 1) * (1 + bv * np.log(av))  # d/db (b a**(b-1)) = d/da (a**b log a)
    np.testing.assert_allclose(dga_db.data, expected, rtol=1e-12)
    np.testing.assert_allclose(dgb_da.data, expected, rtol=1e-12)


def test_labels_given_as_a_list_stay_integers():
    logits = ad.tensor(np.zeros((2, 3), np.float32))
    for labels in ([0, 2], (0, 2)):
        assert ad.softmax_cross_entropy(logits, labels).item() == pytest.approx(np.log(3.0))


def test_logsumexp_of_integers_still_works():
    assert ad.logsumexp(ad.tensor([1, 2])).item() == pytest.approx(np.log(np.e + np.e**2))


def test_concatenate_with_axis_none_flattens_like_numpy():
    a = ad.tensor([[1.0, 2.0]], requires_grad=True)
    b = ad.tensor([[3.0], [4.0]], requires_grad=True)
    out = ad.concatenate([a, b], axis=None)
    np.testing.assert_array_equal(out.data, np.concatenate([a.data, b.data], axis=None))
    (out * ad.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()  # failed in backward
    np.testing.assert_array_equal(a.grad.data, [[1.0, 2.0]])
    np.testing.assert_array_equal(b.grad.data, [[3.0], [4.0]])


def test_clip_takes_tensor_bounds_as_constants():
    x = ad.tensor([-2.0, 0.7, 0.2, 2.0], requires_grad=True)
    y = ad.clip(x, ad.tensor([-1.0, 0.5, 0.5, -1.0]), ad.tensor(1.0))  # was a numpy error
    np.testing.assert_array_equal(y.data, np.float32([-1.0, 0.7, 0.5, 1.0]))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0, 0.0])


def test_grad_outputs_may_be_a_number():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    (g,) = ad.grad((x * 3).sum(), x, grad_outputs=2.0)  # was "'float' is not subscriptable"
    np.testing.assert_array_equal(g.data, [6.0, 6.0])


def test_python_numbers_never_make_float32_work_float64():
    x = ad.tensor([1.0, 2.0, 3.0])
    assert (x * [1, 2, 3]).dtype == np.float32  # an int list was int64, so float64 came out
    assert ad.stack([x[0], 1]).dtype == np.float32  # the lone 1 became an int64 tensor
    for out in (ad.tensor([1, 2]) * 0.5, 0.5 * ad.tensor([1, 2]), ad.tensor([True]) - 1.0):
        assert out.dtype == np.float32  # an integer tensor and a Python float: float32
    assert (ad.tensor([1, 2]) * [0.5, 0.5]).dtype == np.float32  # a list holding a float too
    assert (ad.tensor([1, 2]) * 2).dtype == np.int64  # ints with ints stay ints
    assert (ad.tensor([1, 2]) * [1, 2]).dtype == np.int64
    assert (ad.tensor(np.ones(2)) * [1, 2]).dtype == np.float64  # float64 work stays float64
    assert (x + np.array([1, 2, 3])).dtype == np.float64  # numpy arrays keep their dtype


def test_logsumexp_of_no_terms_is_minus_infinity():
    # it raised "zero-size array to reduction operation maximum"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ad.logsumexp(ad.tensor(np.zeros((2, 0), np.float32)), axis=1)
        np.testing.assert_array_equal(out.data, [-np.inf, -np.inf])
        assert out.dtype == np.float32
        x = ad.tensor(np.zeros((2, 0)), requires_grad=True)
        ad.logsumexp(x, axis=1).sum().backward()
        assert x.grad.shape == (2, 0)
        assert ad.logsumexp(ad.tensor([-np.inf, -np.inf])).item() == -np.inf


# ------------------------------------------------------------ the checking tools
class _HalfLog(ad.Function):  # its gradient is wrong: 2/x instead of 1/x
    def forward(self, x):
        return np.log(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * 2.0 / x


def test_gradcheck_fails_when_a_finite_difference_is_nan():
    # One NaN finite difference (log at 1e-8 - eps) made the whole input pass.
    from autodiff.testing import GradcheckError, gradcheck

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(GradcheckError, match="finite difference is not finite"):
            gradcheck(lambda t: _HalfLog()(t), [np.array([1e-8, 2.0, 3.0])])
    with pytest.raises(GradcheckError, match=r"at element \(0,\)"):
        gradcheck(lambda t: _HalfLog()(t), [np.array([0.5, 2.0, 3.0])])


class _CubeWrongBackward(ad.Function):  # right array backward, wrong differentiable one
    def forward(self, x):
        return x**3

    def backward(self, gy):
        (x,) = self.inputs
        return gy * 2.0 * x * x

    def backward_arrays(self, gy):
        return gy * 3.0 * self.inputs[0].data ** 2


def test_gradgradcheck_checks_the_differentiable_backward_itself():
    from autodiff.testing import GradcheckError, gradcheck, gradgradcheck

    x = np.array([0.5, 1.5])
    assert gradcheck(lambda t: _CubeWrongBackward()(t), [x])  # the array path is right
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: _CubeWrongBackward()(t), [x], create_graph=True)
    for directional in (False, True):
        with pytest.raises(GradcheckError):  # both passed: only v.J's own derivative was checked
            gradgradcheck(lambda t: _CubeWrongBackward()(t), [x], directional=directional)


def test_a_backward_may_return_a_list():
    class Both(ad.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            a, b = self.inputs
            return [gy * b, gy * a]  # was "returned 1 gradients for 2 inputs"

    a, b = ad.tensor([2.0], requires_grad=True), ad.tensor([3.0], requires_grad=True)
    Both()(a, b).sum().backward()
    assert (a.grad.item(), b.grad.item()) == (3.0, 2.0)


def test_a_reshape_to_the_same_shape_is_its_own_node_in_a_graph():
    # It returned x itself, so grad() with respect to both gave x's gradient for both.
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x.reshape(x.shape)
    assert y is not x
    gx, gy = ad.grad(x.sum() + (y * 3).sum(), [x, y])
    np.testing.assert_array_equal(gx.data, [4.0, 4.0])
    np.testing.assert_array_equal(gy.data, [3.0, 3.0])
    with ad.no_grad():  # nothing recorded, but the result must not require grad
        y = x.reshape(x.shape)
        assert y is not x and not y.requires_grad and y.creator is None


def test_check_op_catches_a_backward_that_changes_what_it_saved():
    # The array backward ran once only (the second pass took the differentiable one).
    from autodiff.registry import OpInfo
    from autodiff.testing.walker import check_invariants

    class Drifting(ad.Function):
        def forward(self, x):
            self.saved = x * x
            return x * x * x / 3.0

        def backward(self, gy):
            (x,) = self.inputs
            return gy * x * x

        def backward_arrays(self, gy):
            self.saved *= 2.0  # a second run gives twice the gradient
            return gy * self.saved / 2.0

    info = OpInfo(name="drifting", fn=lambda x: Drifting()(x), functions=(Drifting,))
    with pytest.raises(AssertionError, match=r"drifting.*\(the same backward again\)"):
        check_invariants(info, [np.array([0.5, 1.5])], {})


def test_gradgradcheck_says_it_is_the_second_order_check_and_names_the_upstream_gradient():
    from autodiff.testing import GradcheckError, gradgradcheck

    class DetachedSquare(ad.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            (x,) = self.inputs
            return ad.Tensor(gy.data) * 2.0 * x  # cuts the gradient's dependence on gy

    with pytest.raises(
        GradcheckError, match="second-order check .* the upstream gradient of output 0"
    ):
        gradgradcheck(lambda t: DetachedSquare()(t), [np.array([0.5, 1.5])])


def test_tensor_with_a_dtype_converts_python_numbers_directly():
    # they went through float32 first: 1.1 became 1.100000023841858, 1e300 inf
    assert ad.tensor(1.1, dtype=np.float64).item() == 1.1
    np.testing.assert_array_equal(
        ad.tensor([0.1, 1e300, 1e-50], dtype=np.float64).data, [0.1, 1e300, 1e-50]
    )
    assert ad.tensor([1, 2], dtype=np.float32).dtype == np.float32


def test_np_array_of_a_tensor_is_a_copy_and_float_takes_one_element():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    a = np.array(x)
    a[0] = 100.0
    y.backward(np.ones(2))
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    assert np.asarray(x) is x.data  # no copy asked, none made
    assert float(ad.tensor([2.5])) == 2.5
    with pytest.raises(TypeError, match=r"one element .* shape \(2,\)"):
        float(x)


def test_int_takes_one_element_and_only_0d_integer_tensors_are_indices():
    assert int(ad.tensor([2.7])) == 2 and int(ad.tensor(-2.7)) == -2
    with pytest.raises(TypeError, match=r"one element .* shape \(2,\)"):
        int(ad.tensor([1.0, 2.0]))
    three = ad.tensor(np.array(3))
    assert list(range(three)) == [0, 1, 2] and ["a", "b", "c", "d"][three] == "d"
    with pytest.raises(TypeError, match="0-d integer tensor"):
        range(ad.tensor(3.0))  # a float would be truncated silently
    values = np.arange(10.0)
    # a shape-(1,) integer tensor stays a fancy index: an array, not a scalar
    np.testing.assert_array_equal(values[ad.tensor(np.array([2]))], [2.0])
    assert values[three] == 3.0


def test_in_place_operators_update_under_no_grad_and_refuse_a_leaf_while_recording():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    same = w
    with ad.no_grad():
        w -= 0.1 * w.grad  # the lecture notes' update step
        w *= 2
    assert same is w and w.dtype == np.float32
    np.testing.assert_allclose(w.data, [1.6, 3.2], rtol=1e-6)
    with pytest.raises(RuntimeError, match=r"x -= y on a leaf tensor that requires grad"):
        w -= 1.0
    w.grad = None
    loss = (w * 0).sum()
    first = loss
    loss += (w * w).sum()  # accumulating a loss while recording builds a new node
    assert loss is not first and loss.creator is not None
    loss.backward()
    np.testing.assert_allclose(w.grad.data, 2 * w.data, rtol=1e-6)
    with ad.no_grad(), pytest.raises(ValueError, match=r"x \+= y in place: x has shape \(2,\)"):
        w += np.ones(3)
    with ad.no_grad():
        q = w
        q **= 2
    np.testing.assert_allclose(w.data, [2.56, 10.24], rtol=1e-6)


def test_in_place_operators_update_frozen_parameters_too():
    import nn

    online, target = nn.Linear(2, 2), nn.Linear(2, 2)
    target.requires_grad_(False)
    with ad.no_grad():  # an EMA / target-network update
        for t, o in zip(target.parameters(), online.parameters()):
            t *= 0.0
            t += o
        target.weight *= 2.0
    np.testing.assert_allclose(target.weight.data, 2 * online.weight.data)
    np.testing.assert_allclose(target.bias.data, online.bias.data)


def test_in_place_operators_on_anything_but_a_parameter_make_a_new_tensor():
    w = ad.tensor([2.0], requires_grad=True)
    h = w * 3
    z = (h * h).sum()
    saved = h
    with ad.no_grad():
        h += 100  # h was saved by the graph: changing it would change w's gradient
    assert h is not saved and saved.item() == 6.0
    z.backward()
    assert w.grad.item() == 36.0
    counts = ad.tensor(np.array([1, 2]))
    with ad.no_grad():
        counts /= 2
    np.testing.assert_allclose(counts.data, [0.5, 1.0])

    class Double(ad.Function):
        def forward(self, x):
            return 2 * x

        def backward(self, gy):
            gy *= 2  # the upstream gradient is shared with b's branch
            return gy

    x = ad.tensor([1.0, 2.0], requires_grad=True)
    b = ad.tensor([1.0, 1.0], requires_grad=True)
    seed = ad.tensor([1.0, 1.0])
    (Double()(x) + b).backward(seed)
    assert b.grad.data.tolist() == [1.0, 1.0] and seed.data.tolist() == [1.0, 1.0]
    assert x.grad.data.tolist() == [2.0, 2.0]


def test_numpy_functions_refuse_to_drop_a_tensor_that_requires_grad_from_the_graph():
    w = ad.tensor([[1.0], [2.0]], requires_grad=True)
    x = np.ones((3, 2), np.float32)
    calls = (
        lambda: np.dot(x, w),
        lambda: np.concatenate([w, w]),
        lambda: np.sum(w),
        lambda: np.split(w, 2),  # a list of float arrays
        lambda: np.linalg.svd(w),  # a tuple of them
    )
    for call in calls:
        with pytest.raises(TypeError, match=r"np\.\w+ got a Tensor that requires grad"):
            call()
    assert np.allclose(w, [[1.0], [2.0]]) and np.argmax(w) == 1  # no float result: fine
    with ad.no_grad():
        np.testing.assert_allclose(np.dot(x, w), [[3.0]] * 3)
    pair = collections.namedtuple("Pair", "a b")(w, w)
    for group in (collections.deque([w, w]), pair):  # any sequence of tensors
        with ad.no_grad():
            assert np.stack(group).shape == (2, 2, 1)
    assert np.sum(ad.tensor([1.0, 2.0])) == 3.0  # nothing requires grad: numpy's answer


def test_numerical_gradient_of_a_function_returning_a_tensor():
    w = ad.tensor([3.0, 4.0], dtype=np.float64, requires_grad=True)
    g = ad.numerical_gradient(lambda v: (w * w).sum(), w.data)  # f reads w, perturbed in place
    np.testing.assert_allclose(g, [6.0, 8.0], rtol=1e-7)
    square = lambda t: ad.tensor(t, dtype=np.float64) ** 2  # noqa: E731
    assert ad.numerical_diff(square, 3.0) == pytest.approx(6.0)

    def slope(v):  # f may itself differentiate: a second-derivative check
        t = ad.tensor(v, requires_grad=True)
        (t**3).sum().backward()
        return t.grad.data.sum()

    np.testing.assert_allclose(ad.numerical_gradient(slope, np.array([1.0, 2.0])), [6, 12])
    x = np.array([[1.0, 2.0]])
    mse = lambda v: np.mean((x @ w.reshape(2, 1)) ** 2)  # noqa: E731 - numpy on a model output
    np.testing.assert_allclose(ad.numerical_gradient(mse, w.data), [22.0, 44.0], rtol=1e-6)
    with pytest.raises(TypeError, match=r"scalar function, f returned shape \(2,\)"):
        ad.numerical_diff(np.sin, np.array([0.0, 1.0]))


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
def test_reductions_of_a_0d_tensor_over_axis_0_or_minus_1_as_numpy_allows(op):
    worked = 0
    for axis in (0, -1, (0,), (-1,)):
        x = ad.tensor(np.array(2.0), requires_grad=True)
        try:
            getattr(np.array(2.0), op)(axis=axis)
        except np.exceptions.AxisError:
            with pytest.raises(ValueError):
                getattr(x, op)(axis=axis)
            continue
        y = getattr(x, op)(axis=axis)
        assert y.shape == () and y.item() == 2.0
        y.backward()  # the forward took numpy's axis, so the backward must too
        assert x.grad.item() == 1.0
        worked += 1
    assert worked == (0 if op == "mean" else 2)  # numpy's int axis 0 and -1


def test_sigmoid_keeps_its_relative_accuracy_for_negative_inputs():
    x = np.array([-80.0, -20.0, -17.0, -15.0, -10.0, 0.0, 10.0, 100.0])
    exact = 1.0 / (1.0 + np.exp(-x))
    got32 = ad.sigmoid(ad.tensor(x.astype(np.float32))).data
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, exact, rtol=1e-6)  # the tanh form was 0 below -17
    assert ad.sigmoid(ad.tensor(np.float32(-100.0))).item() < 1e-40  # float32 runs out
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exp(800) overflows to inf quietly: the limit is 0
        np.testing.assert_array_equal(ad.sigmoid(np.array([-800.0, 800.0])).data, [0.0, 1.0])
    assert ad.log(ad.sigmoid(ad.tensor(np.float32(-20.0)))).item() == pytest.approx(-20.0)


def test_shape_no_ops_under_no_grad_give_tensors_that_do_not_require_grad():
    x = ad.tensor([[1.0, 2.0]], requires_grad=True)
    with ad.no_grad():
        outs = [
            x.reshape(1, 2),
            ad.broadcast_to(x, (1, 2)),
            ad.sum_to(x, (1, 2)),
            ad.astype(x, np.float32),
            +x,
        ]
    for y in outs:
        assert y is not x and not y.requires_grad and y.creator is None
    plain = ad.tensor([1.0])
    assert plain.reshape(1) is plain and ad.astype(plain, np.float32) is plain


def test_an_integer_tensor_meeting_a_python_float_in_pow_and_clip_is_float32():
    i = ad.tensor([1, 2, 3])
    for y in (i**2.0, i**0.5, ad.clip(i, 0.5, 2.5)):
        assert y.dtype == np.float32
    assert (i**2).dtype == i.dtype and ad.clip(i, 0, 2).dtype == i.dtype
    np.testing.assert_allclose((i**0.5).data, np.sqrt([1, 2, 3]), rtol=1e-6)


def test_flatten_an_empty_batch():
    assert ad.flatten(ad.tensor(np.zeros((0, 3, 4), np.float32)), 1).shape == (0, 12)


def test_split_indices_must_tile_the_axis():
    x = ad.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"split indices \[3, 1\] must not decrease"):
        ad.split(x, [3, 1])  # the pieces would overlap: the backward failed
    a, b, c = ad.split(x, [1, -1])
    (a.sum() + 2.0 * b.sum() + 3.0 * c.sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0, 2.0, 3.0])
    assert [p.shape for p in ad.split(x, [2, 9])] == [(2,), (2,), (0,)]


def test_getitem_keeps_its_own_copy_of_the_index():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = np.array([0, 1])
    y = x[idx]
    idx[:] = 2  # the caller reuses the array before backward
    (y * ad.tensor([1.0, 10.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 10.0, 0.0])
    assert x[[]].shape == (0,) and x[[[0], [1]]].shape == (2, 1)


def test_split_sections_as_numpy_takes_them_and_list_indices_stay_fast_paths():
    x = ad.tensor(np.arange(8.0))
    assert [p.shape for p in ad.split(x, 8 / 2)] == [(2,)] * 4
    assert [p.shape for p in ad.split(x, np.array(2))] == [(4,)] * 2
    np.testing.assert_array_equal(x[[True, False] * 4].data, [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_array_equal(x[[ad.tensor(1), 3]].data, [1.0, 3.0])
