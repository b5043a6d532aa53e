"""The checking tools as a researcher writing their own ops uses them.

Each test is a way a check could pass while a gradient is wrong, draw inputs its
domain promises to avoid, or fail with a message that does not say why.
"""

import numpy as np
import pytest
from hypothesis import given, settings

import autodiff as ad
from autodiff.registry import Domain, OpInfo, register, unregister
from autodiff.testing import (
    GradcheckError,
    check_invariants,
    check_op,
    gradcheck,
    gradgradcheck,
)
from autodiff.testing import strategies as st

FEW = settings(max_examples=5, derandomize=True, database=None, deadline=None)


# --- strategies: values inside the domain, distinct, away from every kink ----------------


@FEW
@given(st.arrays((300,), Domain(-1.0, 1.0, avoid=(0.1, 0.0), margin=0.05)))
def test_arrays_keep_away_from_every_kink_even_close_ones(a):
    # pushing a value off the kink at 0.1 used to land it on the kink at 0.0 and back
    for point in (0.0, 0.1):
        assert np.all(np.abs(a - point) >= 0.05), a[np.abs(a - point) < 0.05]


@FEW
@given(st.arrays((300,), Domain(-2.0, 2.0, avoid=(0.0,), margin=0.05)))
def test_arrays_values_stay_distinct_near_a_kink(a):
    # pushing mapped every value within the margin onto one point: ties for max/sort ops
    assert len(np.unique(a)) == a.size


@FEW
@given(st.arrays((300,), Domain(-1.0, 0.02, avoid=(0.0,), margin=0.05)))
def test_arrays_stay_inside_low_high(a):
    assert a.min() >= -1.0 and a.max() <= 0.02, a.max()


def test_domain_pieces_and_validation():
    assert Domain(-2.0, 2.0, avoid=(0.0,), margin=0.5).intervals() == [(-2.0, -0.5), (0.5, 2.0)]
    with pytest.raises(ValueError, match="low <= high"):
        Domain(2.0, 1.0)
    with pytest.raises(ValueError, match="is empty"):
        Domain(-0.1, 0.1, avoid=(0.0,), margin=0.5)
    with pytest.raises(TypeError, match=r"avoid=\(0.0,\)"):
        Domain(-1.0, 1.0, avoid=0.0)


def _pick_last(a, b):
    return a[..., -1] * b[..., -1]


class _Gather(ad.Function):
    """x[idx] with integer indices: an op with an integer (constant) input."""

    def forward(self, x, idx):
        return x[idx]

    def backward(self, gy):
        x, idx = self.inputs
        onehot = (idx.data[:, None] == np.arange(x.shape[0])).astype(gy.dtype)
        return gy @ ad.tensor(onehot), None


def test_op_cases_broadcast_respects_min_dims():
    info = register(
        "test_pick_last", _pick_last, shapes="broadcast", domains=(Domain(), Domain()), min_dims=1
    )
    try:

        @FEW
        @given(st.op_cases(info))
        def run(case):
            arrays, kwargs = case
            assert all(a.ndim >= 1 for a in arrays), [a.shape for a in arrays]
            check_op(info, arrays, kwargs)

        run()
    finally:
        unregister("test_pick_last")


def test_indices_for_a_0d_array():
    @FEW
    @given(st.arrays(()), st.indices_for(()))
    def run(a, index):
        assert np.array_equal(ad.tensor(a)[index].data, a[index])

    run()


# --- registry: a mistyped registration is refused when it is made ------------------------


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"shapes": "broadcasted"}, ValueError, "shapes must be one of"),
        ({"domains": Domain()}, TypeError, "domains=(Domain(...),)"),
        ({"functions": _Gather}, TypeError, "functions=(MyOp,)"),
        ({"functions": (np.sin,)}, TypeError, "Function subclasses"),
        ({"min_dims": 3, "max_dims": 1}, ValueError, "min_dims <= max_dims"),
    ],
)
def test_register_rejects_malformed_entries(kwargs, error, words):
    with pytest.raises(error, match="op 'test_bad'") as info:
        register("test_bad", np.negative, **kwargs)
    assert words in str(info.value)
    with pytest.raises(KeyError):
        ad.registry.get("test_bad")


def test_register_twice_says_how_to_replace():
    register("test_twice", np.negative)
    try:
        with pytest.raises(ValueError, match=r"unregister\('test_twice'\)"):
            register("test_twice", np.positive)
    finally:
        unregister("test_twice")


# --- gradcheck / gradgradcheck ------------------------------------------------------------


class _SquareWrongFastPath(ad.Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.inputs
        return gy * 2.0 * x

    def backward_arrays(self, gy):
        return (gy * 3.0 * self.inputs[0].data,)  # the bug: 3x instead of 2x


def test_gradgradcheck_checks_the_fast_array_backward_too():
    # its docstring promised both paths, but only the differentiable one was checked
    with pytest.raises(GradcheckError, match="fast array backward") as info:
        gradgradcheck(lambda t: _SquareWrongFastPath()(t), [np.linspace(-1.0, 1.0, 4)])
    assert "input 0" in str(info.value)


class _NumpyCube(ad.Function):
    def forward(self, x):
        return x**3

    def backward(self, gy):
        (x,) = self.inputs
        return ad.tensor(gy.data * 3.0 * x.data**2)  # right, but not differentiable


def test_gradgradcheck_says_when_a_backward_is_written_with_numpy():
    x = np.linspace(-1.0, 1.0, 3)
    assert gradcheck(lambda t: _NumpyCube()(t), [x])
    with pytest.raises(GradcheckError, match="does not depend on the upstream gradient"):
        gradgradcheck(lambda t: _NumpyCube()(t), [x])


def test_gradcheck_passes_integer_inputs_as_constants():
    x, idx = np.linspace(-1.0, 1.0, 4), np.array([0, 2, 2, 3, 1])
    assert gradcheck(lambda t, i: _Gather()(t, i) ** 2, [x, idx])
    assert gradgradcheck(lambda t, i: _Gather()(t, i) ** 2, [x, idx])
    assert gradcheck(lambda t, i: _Gather()(t, i), [x, idx], directional=True)

    # still a check that can fail: a wrong gradient next to an integer input
    class GatherLosingRepeats(_Gather):
        def backward(self, gy):
            x, idx = self.inputs
            g = np.zeros(x.shape)
            g[idx.data] = gy.data  # the bug: a repeated index keeps one gradient
            return ad.tensor(g), None

    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(4,\)\) at element \(2,\)"):
        gradcheck(lambda t, i: GatherLosingRepeats()(t, i), [x, idx])
    with pytest.raises(TypeError, match="no input to check"):
        gradcheck(lambda i: i * 2, [np.array([1, 2])])
    with pytest.raises(TypeError, match=r"astype\(np.float64\)"):
        gradcheck(lambda t: t * 2.0, [np.ones(2, np.float32)])


def test_gradcheck_names_an_output_that_is_not_a_tensor():
    with pytest.raises(TypeError, match="output 1 is NoneType"):
        gradcheck(lambda t: (t * 2.0, None), [np.ones(3)])


def test_gradcheck_message_shows_plain_numbers():
    class Wrong(ad.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * 3.0 * self.inputs[0]

    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: Wrong()(t), [np.array([0.5, 1.0])])
    assert "np.float64" not in str(info.value)


# --- check_op / check_invariants ----------------------------------------------------------


class _ReluInPlace(ad.Function):
    """The lecture notes' Relu: ``dout[mask] = 0`` writes into the upstream gradient."""

    def forward(self, x):
        self.mask = x <= 0
        return np.maximum(x, 0.0)

    def backward(self, gy):
        d = gy.data
        d[self.mask] = 0.0
        return ad.tensor(d)


def test_check_invariants_catches_a_backward_that_writes_into_its_upstream_gradient():
    x = np.array([-1.0, 0.5, -2.0, 2.0])
    # the bug corrupts the other branch of an add: the op on its own passed every check
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: _ReluInPlace()(t) + t, [x])
    with pytest.raises(AssertionError, match="wrote into the upstream gradient"):
        check_invariants(OpInfo("relu_in_place", lambda t: _ReluInPlace()(t)), [x], {})


class _Promotes(ad.Function):
    def forward(self, x):
        return x.astype(np.float64) * 2.0

    def backward(self, gy):
        return gy * 2.0


def test_check_invariants_catches_float32_in_float64_out():
    with pytest.raises(AssertionError, match="float32 inputs .* gave output 0 in float64"):
        check_invariants(OpInfo("promotes", lambda t: _Promotes()(t)), [np.ones(3)], {})
    # an op whose output dtype is its own choice in both precisions is left alone
    check_invariants(ad.registry.get("astype"), [np.ones(3)], {})


def test_check_op_with_integer_input_and_hyper_parameter():
    def gather_scaled(x, idx, k=1.0):
        return _Gather()(x, idx) * k

    def cases(draw, st_):
        x = draw(st_.arrays((4,)))
        idx = np.asarray(draw(st_.lists(st_.integers(0, 3), min_size=1, max_size=5)))
        return [x, idx], {"k": draw(st_.sampled_from([0.5, 3.0]))}

    info = OpInfo(
        "gather_scaled", gather_scaled, functions=(_Gather,), shapes="custom", cases=cases
    )

    @FEW
    @given(st.op_cases(info))
    def run(case):
        check_op(info, *case)

    run()


# --- numerical ------------------------------------------------------------------------------


def test_numerical_gradient_divides_by_the_step_float32_took():
    # 1000 + 1e-4 is 1000.000122 in float32: dividing by 2h gave 1.22 for a slope of 1
    x = np.array([1000.0, -700.0, 0.3], dtype=np.float32)
    g = ad.numerical_gradient(lambda v: np.sum(v.astype(np.float64) * [1.0, 2.0, 3.0]), x)
    np.testing.assert_allclose(g, [1.0, 2.0, 3.0], rtol=1e-6)


def test_numerical_gradient_refuses_a_step_below_the_resolution():
    x = np.array([1.0, 3000.0], dtype=np.float32)  # 3000 +- 1e-4 is 3000 in float32
    with pytest.raises(ValueError, match=r"element \(1,\) \(value 3000.0\)"):
        ad.numerical_gradient(lambda v: np.sum(v), x)
    assert x.tolist() == [1.0, 3000.0]  # restored


def test_numerical_gradient_read_only_array_says_what_to_do():
    x = np.array([1.0, 2.0])
    x.flags.writeable = False
    with pytest.raises(ValueError, match=r"read-only; pass a writable copy"):
        ad.numerical_gradient(lambda v: np.sum(v**2), x)


def test_a_forward_returning_a_list_is_refused_not_stacked():
    class Two(ad.Function):
        def forward(self, x):
            return [x * 2, x * 3]  # a tuple was meant

        def backward(self, g1, g2):
            return g1 * 2 + g2 * 3

    with pytest.raises(TypeError, match="returned a list of 2 items; return a tuple"):
        Two()(ad.tensor(np.ones(3), requires_grad=True))
