"""The engine's promises: values, accumulation, graph freeing, no recursion, dtypes, errors."""

import gc
import runpy
import sys
import tracemalloc
import warnings
import weakref
from pathlib import Path

import numpy as np
import pytest

import autodiff as ad
from autodiff.tensor import as_array
from autodiff.testing import GradcheckError, gradcheck, gradgradcheck

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# ------------------------------------------------------------------ apple bill
def _bill(dtype):
    names = ["apple", "n_apple", "orange", "n_orange", "tax"]
    xs = {
        n: ad.Tensor(np.array(v, dtype), requires_grad=True, name=n)
        for n, v in zip(names, [100, 2, 150, 3, 1.1])
    }
    total = (xs["apple"] * xs["n_apple"] + xs["orange"] * xs["n_orange"]) * xs["tax"]
    total.backward()
    return total, xs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apple_bill_values_and_gradients(dtype):
    total, xs = _bill(dtype)
    assert total.dtype == dtype
    expected = {"apple": 2.2, "n_apple": 110, "orange": 3.3, "n_orange": 165, "tax": 650}
    for name, g in expected.items():
        assert xs[name].grad.dtype == dtype
        assert xs[name].grad.item() == pytest.approx(g, rel=1e-6)
    if dtype == np.float64:
        assert total.item() == 715.0000000000001
    else:
        assert total.item() == 715.0


def test_apple_example_hand_written_nodes_match_tensors(capsys):
    module = runpy.run_path(str(EXAMPLES / "apple_orange.py"))
    for dtype in (np.float32, np.float64):
        t1, xs1 = module["with_nodes"](dtype)
        t2, xs2 = module["with_tensors"](dtype)
        assert t1.item() == t2.item()
        assert [x.grad.item() for x in xs1] == [x.grad.item() for x in xs2]
    module["main"]()
    out = capsys.readouterr().out
    assert "715.0000000000001" in out and "650" in out


# --------------------------------------------------------- accumulation/retain
def test_leaves_accumulate_across_backward_calls():
    x = ad.tensor(3.0, requires_grad=True)
    (x * x).backward()
    (x * 2.0).backward()
    assert x.grad.item() == 8.0
    x.zero_grad()
    assert x.grad is None


def test_retain_grad_on_non_leaf():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3.0).retain_grad()
    h.sum().backward()
    np.testing.assert_array_equal(h.grad.data, [1.0, 1.0])
    y = x * 2.0
    y.sum().backward()
    assert y.grad is None  # not retained


def test_graph_is_freed_after_backward_and_second_backward_raises():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.tanh() * 2.0).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_second_backward():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.data, [4.0, 8.0])


def test_backward_on_non_scalar_needs_gradient():
    x = ad.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3, 4\).*loss.mean\(\)"):
        (x * 2).backward()
    (x * 2).backward(np.ones((3, 4), np.float32))
    np.testing.assert_array_equal(x.grad.data, 2 * np.ones((3, 4)))


def test_backward_without_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (ad.tensor([1.0]) * 2).sum().backward()


# -------------------------------------------------------------- higher order
def test_second_derivative_with_create_graph():
    x = ad.tensor(np.float64(2.0), requires_grad=True)
    y = x**3
    y.backward(create_graph=True)
    gx = x.grad
    assert gx.item() == pytest.approx(12.0)
    assert gx.creator is not None  # the gradient is itself a graph
    x.zero_grad()
    gx.backward()
    assert x.grad.item() == pytest.approx(12.0)  # d2/dx2 x^3 = 6x


def test_hessian_vector_product():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    a = a + a.T
    x = ad.tensor(rng.normal(size=4), requires_grad=True)
    v = rng.normal(size=4)
    f = 0.5 * (x @ ad.tensor(a) @ x)
    (g,) = ad.grad(f, x, create_graph=True)
    (hv,) = ad.grad((g * ad.tensor(v)).sum(), x)
    np.testing.assert_allclose(hv.data, a @ v, rtol=1e-10)


def test_no_graph_is_built_during_plain_backward():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    (x.exp() * x).sum().backward()
    assert x.grad.creator is None and not x.grad.requires_grad


# --------------------------------------------------------------- functional
def test_grad_does_not_touch_dot_grad_and_reaches_non_leaves():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    y = (h * h).sum()
    gx, gh = ad.grad(y, [x, h])
    np.testing.assert_allclose(gh.data, 2 * h.data)
    np.testing.assert_allclose(gx.data, 18 * x.data)
    assert x.grad is None


def test_grad_unused_input():
    x = ad.tensor([1.0], requires_grad=True)
    z = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not used"):
        ad.grad((x * 2).sum(), [x, z])
    gx, gz = ad.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


# --------------------------------------------------------------- no_grad
def test_no_grad_context_and_decorator():
    w = ad.tensor([1.0], requires_grad=True)
    with ad.no_grad():
        y = w * 2
        with ad.enable_grad():
            z = w * 2
    assert not y.requires_grad and y.creator is None
    assert z.requires_grad

    @ad.no_grad()
    def f(t):
        return t * 3

    assert not f(w).requires_grad
    assert ad.is_grad_enabled()


def test_set_grad_enabled_switches_as_a_plain_call_and_restores_as_a_block():
    w = ad.tensor([1.0], requires_grad=True)
    try:
        ad.set_grad_enabled(False)  # an inference script's first line
        assert not ad.is_grad_enabled() and not (w * 2).requires_grad
        ad.set_grad_enabled(True)
        assert ad.is_grad_enabled()
        with ad.set_grad_enabled(False):
            assert not ad.is_grad_enabled()
        assert ad.is_grad_enabled()  # the block restores what was before the call

        @ad.set_grad_enabled(False)
        def infer(t):
            return t * 2

        assert ad.is_grad_enabled()  # decorating changes nothing until the function runs
        assert not infer(w).requires_grad and ad.is_grad_enabled()
        ad.no_grad()  # made but never entered: no effect, as in PyTorch
        assert ad.is_grad_enabled()
    finally:
        ad.set_grad_enabled(True)


def test_no_grad_and_name_scope_decorate_generator_functions():
    w = ad.tensor([1.0], requires_grad=True)

    @ad.no_grad()
    def doubled(n):
        for _ in range(n):
            received = yield w * 2
            assert received in (None, "hello")
        return "done"

    seen = []
    gen = doubled(3)
    for y in gen:
        seen.append(y.requires_grad)
        assert ad.is_grad_enabled()  # the consumer keeps its own setting between items
        assert (w * 2).requires_grad
    assert seen == [False, False, False]

    gen = doubled(2)
    next(gen)
    assert gen.send("hello").requires_grad is False
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"  # the generator's return value gets through

    @ad.no_grad()
    def catches():
        try:
            yield 1
        except KeyError:
            yield ad.is_grad_enabled()  # a thrown exception arrives inside the context

    gen = catches()
    next(gen)
    assert gen.throw(KeyError("k")) is False
    gen.close()
    assert ad.is_grad_enabled()

    @ad.name_scope("block")
    def scoped():
        yield ad.current_scope()
        yield ad.current_scope()

    assert list(scoped()) == [("block",), ("block",)]
    assert ad.current_scope() == ()


def test_a_backward_writing_into_a_shared_upstream_gradient_is_told_to_make_a_new_one():
    class Relu(ad.Function):
        def forward(self, x):
            self.mask = x <= 0
            return np.where(self.mask, 0.0, x)

        def backward(self, gy):
            gy.data[self.mask] = 0  # the lecture notes' numpy habit
            return gy

    h = ad.tensor(np.array([-1.0, 2.0]), requires_grad=True) * 3.0
    with pytest.raises(ValueError, match=r"read-only.*compute a new one \(gy \* mask\)"):
        (Relu()(h) + h).sum().backward()


# ------------------------------------------------------------ no recursion
def test_chain_of_100k_ops_with_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = ad.tensor(np.float64(0.5), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_2000_step_unrolled_recurrence():
    rng = np.random.default_rng(0)
    w = ad.tensor(rng.normal(scale=0.3, size=(8, 8)), requires_grad=True)
    xs = ad.tensor(rng.normal(size=(2000, 1, 8)))
    h = ad.tensor(np.zeros((1, 8)))
    for t in range(2000):
        h = (h @ w + xs[t]).tanh()
    h.sum().backward()
    assert np.all(np.isfinite(w.grad.data))


# ----------------------------------------------------------------- memory
def test_no_reference_cycles_graph_freed_by_refcount():
    gc.disable()
    try:
        x = ad.tensor(np.ones(3), requires_grad=True)
        y = (x.tanh() * 2.0).sum()
        node = weakref.ref(y.creator)
        inner = weakref.ref(y.creator.inputs[0])
        del y
        assert node() is None and inner() is None
    finally:
        gc.enable()


def test_intermediate_buffers_released_after_backward():
    x = ad.tensor(np.ones(1000), requires_grad=True)
    h = x.exp()
    loss = (h * 2.0).sum()
    inner = weakref.ref(h)
    del h
    assert inner() is not None  # held by the graph until backward
    loss.backward()
    assert inner() is None


def test_training_loop_does_not_grow_memory():
    rng = np.random.default_rng(0)
    w1 = ad.tensor(rng.normal(size=(4, 16)).astype(np.float32), requires_grad=True)
    w2 = ad.tensor(rng.normal(size=(16, 1)).astype(np.float32), requires_grad=True)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = rng.normal(size=(8, 1)).astype(np.float32)

    def step():
        loss = (((ad.tensor(x) @ w1).relu() @ w2 - y) ** 2).mean()
        loss.backward()
        with ad.no_grad():
            for p in (w1, w2):
                p.data -= 0.01 * p.grad.data
                p.zero_grad()

    for _ in range(200):
        step()
    # A full collection also empties CPython's free lists (up to 2000 freed tuples per
    # size are kept for reuse, and tracemalloc still counts them): without it the
    # measurement drifts by up to ~110 kB as those lists fill, leak or no leak.
    tracemalloc.start()
    gc.collect()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 64_000, f"memory grew by {grown} bytes over 10,000 steps"


# ------------------------------------------------------------------ dtypes
def test_float32_stays_float32_with_python_scalars():
    x = ad.tensor(np.ones(3, np.float32), requires_grad=True)
    y = (x * 0.5 + 2 - 1.5 / (x + 1.0)) ** 2
    y = y.exp().log().tanh().sum() / 3.0
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_mixed_float64_array_and_float32_tensor():
    w = ad.tensor(np.ones(3, np.float32), requires_grad=True)
    y = w + np.ones(3, np.float64)  # numpy rules: float64 result
    assert y.dtype == np.float64
    y.sum().backward()
    assert w.grad.dtype == np.float32  # the gradient follows its input


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="int64 cannot require grad"):
        ad.tensor([1, 2, 3], requires_grad=True)
    assert (ad.tensor([1, 2]) + 1).dtype == np.int64


def test_python_floats_default_to_float32_and_arrays_keep_dtype():
    assert ad.tensor(1.0).dtype == np.float32
    assert ad.tensor([1.0, 2.0]).dtype == np.float32
    assert ad.tensor(np.ones(2)).dtype == np.float64


def test_constructor_copies_numpy_data():
    a = np.ones(3, np.float32)
    t = ad.tensor(a)
    a[0] = 5
    assert t.data[0] == 1


# -------------------------------------------------------- broadcasting etc.
def test_broadcast_gradients_are_summed_to_input_shapes():
    a = ad.tensor(np.ones((3, 1)), requires_grad=True)
    b = ad.tensor(np.ones((1, 4)), requires_grad=True)
    c = ad.tensor(np.float64(2.0), requires_grad=True)
    (a * b * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and c.grad.shape == ()
    np.testing.assert_allclose(a.grad.data, 8.0)
    np.testing.assert_allclose(b.grad.data, 6.0)
    assert c.grad.item() == 12.0


def test_getitem_repeated_indices_accumulate():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 0.0, 1.0])


def test_tie_convention_split_evenly():
    x = ad.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.5, 0.5])
    a = ad.tensor([2.0], requires_grad=True)
    b = ad.tensor([2.0], requires_grad=True)
    ad.maximum(a, b).sum().backward()
    assert a.grad.item() == 0.5 and b.grad.item() == 0.5


def test_log_softmax_is_stable():
    y = ad.log_softmax(ad.tensor([900.0, 1000.0, 1000.0]))
    assert np.all(np.isfinite(y.data))
    np.testing.assert_allclose(y.data, [-100 - np.log(2), -np.log(2), -np.log(2)], rtol=1e-5)


def test_comparisons_are_not_differentiable():
    x = ad.tensor([1.0, -1.0], requires_grad=True)
    m = x > 0
    assert m.dtype == bool and not m.requires_grad


def test_detach_cuts_the_graph():
    x = ad.tensor([1.0], requires_grad=True)
    y = (x * 2).detach()
    assert y.creator is None and not y.requires_grad


def test_op_errors_name_the_op_and_shapes():
    a = ad.tensor(np.ones((32, 64), np.float32))
    b = ad.tensor(np.ones((128, 10), np.float32))
    with pytest.raises(ValueError, match=r"matmul.*\(32, 64\).*\(128, 10\)"):
        a @ b


def test_returned_gradients_do_not_alias():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = ad.tensor([3.0, 4.0], requires_grad=True)
    g = np.array([1.0, 1.0], np.float32)
    (x + y).backward(g)
    assert not np.shares_memory(x.grad.data, y.grad.data)
    assert not np.shares_memory(x.grad.data, g)


# --------------------------------------------------- numerical derivatives
def test_numerical_diff_and_gradient():
    assert ad.numerical_diff(lambda x: 0.01 * x**2 + 0.1 * x, 10.0) == pytest.approx(0.3)
    g = ad.numerical_gradient(lambda v: np.sum(v**2), np.array([3.0, 0.0]))
    np.testing.assert_allclose(g, [6.0, 0.0], atol=1e-8)


# ------------------------------------------ the checking tools can fail
class _WrongTranspose(ad.Function):
    """y = x @ w with a gradient for x that forgot to transpose w."""

    def forward(self, x, w):
        return x @ w

    def backward(self, gy):
        x, w = self.inputs
        return gy @ w, x.T @ gy


class _ConstantDerivative(ad.Function):
    """y = x**2 whose backward uses a constant: right first order, wrong second order."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * ad.tensor(2.0 * self.inputs[0].data)


def test_gradcheck_catches_a_missing_transpose_on_square_shapes():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda a, b: _WrongTranspose()(a, b), [x, w])
    with pytest.raises(GradcheckError, match="directional"):
        gradcheck(lambda a, b: _WrongTranspose()(a, b), [x, w], directional=True)


def test_gradgradcheck_catches_a_non_differentiable_backward():
    x = np.linspace(-1.0, 1.0, 4)
    assert gradcheck(lambda t: _ConstantDerivative()(t), [x])
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda t: _ConstantDerivative()(t), [x])


def test_gradcheck_requires_float64():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, [np.ones(2, np.float32)])


def test_gradient_sums_with_shared_arrays_stay_correct():
    # add passes one array to both inputs; the engine adds further gradients into
    # sums it allocated itself, never into an array another tensor still holds.
    def f(x, w_first):
        p, q = x * 2.0, x * 3.0 * 1.0  # q one op deeper, so w's add runs before r's mul
        w = p + q  # p and q receive the same upstream array (w's summed gradient)
        w_terms = w * 1.0 + w * 2.0  # w's gradient is a sum of two
        r = p * 5.0  # p receives one more gradient
        z = w_terms + r if w_first else r + w_terms
        return z.sum()

    data = np.random.default_rng(0).normal(size=(3, 4))
    for w_first in (True, False):
        x = ad.tensor(data, requires_grad=True)
        f(x, w_first).backward()
        x2 = ad.tensor(data, requires_grad=True)
        (expected,) = ad.grad(f(x2, w_first), [x2], create_graph=True)
        np.testing.assert_allclose(x.grad.data, expected.data, rtol=1e-12)
        np.testing.assert_allclose(x.grad.data, np.full((3, 4), 3 * (2 + 3) + 10.0))


# ------------------------------------------------- fast paths of the hot loop
def _as_tensors_general(inputs):
    # The documented rule, written out: Python scalars take the dtype of the first
    # floating-point input (Tensor or array), else of the last Tensor or array seen; with
    # no floating input a Python float (or a list holding one) turns integer Tensors into
    # float32.
    like = None
    for x in inputs:
        if isinstance(x, (ad.Tensor, np.ndarray)):
            like = x.data.dtype if isinstance(x, ad.Tensor) else x.dtype
            if like.kind == "f":
                break
    python_floats = [
        type(x) is float or (type(x) is list and np.asarray(x).dtype.kind == "f") for x in inputs
    ]
    if (like is None or like.kind != "f") and any(python_floats):
        like = np.dtype(np.float32)
        inputs = [
            x.astype(np.float32) if isinstance(x, ad.Tensor) and x.dtype.kind in "biu" else x
            for x in inputs
        ]
    return [x if isinstance(x, ad.Tensor) else ad.Tensor(as_array(x, like)) for x in inputs]


def test_two_input_scalar_conversion_matches_the_general_rule():
    from autodiff.function import _as_tensors

    tensors = [ad.tensor(np.ones(2, dt)) for dt in (np.float32, np.float64, np.float16, np.int32)]
    others = [0.5, 2, True, -0.0, float("nan"), 7, np.float64(2.5), np.int8(3), [1.5, 2.0]]
    others += [np.ones(2, np.float64), np.ones(2, np.int64), np.ones((), np.float32)]
    for t in tensors:
        for o in others:
            for pair in ((t, o), (o, t)):
                fast = _as_tensors(pair)
                general = _as_tensors_general(pair)
                for f, g, x in zip(fast, general, pair):
                    if isinstance(x, ad.Tensor) and x.dtype == f.dtype:
                        assert f is x
                    assert f.dtype == g.dtype, (pair, f.dtype, g.dtype)
                    np.testing.assert_array_equal(f.data, g.data)
                    assert np.signbit(f.data).tolist() == np.signbit(g.data).tolist()


def test_cached_scalar_constants_keep_signed_zero_and_nan():
    from autodiff.function import _CONSTANTS

    x = ad.tensor([1.0])
    assert not np.signbit((x * 0.0).data[0])
    assert np.signbit((x * -0.0).data[0])  # -0.0 == 0.0, but it is another number
    before = len(_CONSTANTS)
    for _ in range(10):
        assert np.isnan((x + float("nan")).data[0])
    assert len(_CONSTANTS) == before  # NaN is never found again, so it is not cached


def test_cached_scalar_constants_take_each_tensors_dtype():
    from autodiff.function import _constant

    for dt in (np.float32, np.float64, np.float16, np.int32, np.dtype(">f4"), None):
        like = None if dt is None else np.dtype(dt)
        for c in (0.5, 3, 1e-3):
            for _ in range(2):  # the second time comes from the cache
                got = _constant(c, like).data
                want = as_array(c, like)
                assert got.dtype == want.dtype and got == want, (dt, c)


def test_tanh_and_sigmoid_array_backward_equal_the_rule_with_a_python_one():
    from autodiff.ops.elementwise import Sigmoid, Tanh

    rng = np.random.default_rng(0)
    for dt in (np.float16, np.float32, np.float64):
        x = ad.tensor(rng.normal(size=(3, 4)).astype(dt), requires_grad=True)
        gy = rng.normal(size=(3, 4)).astype(dt)
        for fn, rule in (
            (Tanh(), lambda y, gy=gy: gy * (1 - y * y)),
            (Sigmoid(), lambda y, gy=gy: gy * y * (1 - y)),
        ):
            y = fn(x)
            got = fn.backward_arrays(gy)
            assert got.dtype == dt
            np.testing.assert_array_equal(got, rule(y.data))


def test_retained_intermediate_grads_in_a_chain():
    x = ad.tensor(np.array([0.5, -1.0], np.float32), requires_grad=True)
    a = (x * 2.0).retain_grad()
    b = ad.tanh(a).retain_grad()
    (b * 3.0).sum().backward()
    np.testing.assert_array_equal(b.grad.data, np.full(2, 3.0, np.float32))
    np.testing.assert_allclose(a.grad.data, 3.0 * (1 - np.tanh(a.data) ** 2), rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, 2.0 * a.grad.data, rtol=1e-6)
    assert x.grad.dtype == a.grad.dtype == b.grad.dtype == np.float32


def test_operators_and_op_functions_record_the_same_nodes():
    x = ad.tensor(np.array([0.5, -1.5], np.float32), requires_grad=True)
    pairs = [
        (lambda: x + 2.0, lambda: ad.add(x, 2.0)),
        (lambda: 2.0 + x, lambda: ad.add(2.0, x)),
        (lambda: x - 2.0, lambda: ad.sub(x, 2.0)),
        (lambda: 2.0 - x, lambda: ad.sub(2.0, x)),
        (lambda: x * 3, lambda: ad.mul(x, 3)),
        (lambda: 3 * x, lambda: ad.mul(3, x)),
        (lambda: x / 4.0, lambda: ad.div(x, 4.0)),
        (lambda: 4.0 / x, lambda: ad.div(4.0, x)),
        (lambda: -x, lambda: ad.neg(x)),
    ]
    for operator, function in pairs:
        y1, y2 = operator(), function()
        assert y1.creator.name == y2.creator.name and y1.dtype == y2.dtype == np.float32
        np.testing.assert_array_equal(y1.data, y2.data)
        (g1,) = ad.grad(y1.sum(), [x])
        (g2,) = ad.grad(y2.sum(), [x])
        np.testing.assert_array_equal(g1.data, g2.data)


def test_call_sites_point_at_the_user_line():
    import inspect

    x = ad.tensor([1.0], requires_grad=True)
    line = inspect.currentframe().f_lineno + 1
    ys = [x + 1.0, 1.0 - x, x * 2.0, ad.mul(x, 2.0), ad.tanh(x), x.tanh(), x**2]
    for y in ys:
        assert y.creator.call_site == (__file__, line), y.creator


def test_cached_line_numbers_match_the_line_table():
    from autodiff.function import _line_of

    def reference(code, lasti):
        for start, end, line in code.co_lines():
            if start <= lasti < end and line is not None:
                return line
        return code.co_firstlineno

    codes = [_bill.__code__, test_call_sites_point_at_the_user_line.__code__]
    for _ in range(2):  # the second round is answered from the cache
        for code in codes:
            for lasti in range(0, len(code.co_code) + 4, 2):
                assert _line_of(code, lasti) == reference(code, lasti)


def test_grad_runs_only_the_part_of_the_graph_that_leads_to_its_inputs():
    # It ran (and freed) everything below the roots: h's creator was freed, and a branch
    # without a backward failed the call, although neither is on the way to the inputs.
    x = ad.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = ad.tanh(x)
    y = (h**2).sum()
    (gh,) = ad.grad(y, h)
    np.testing.assert_allclose(gh.data, 2 * np.tanh([1.0, 2.0]))
    (h * 3).sum().backward()  # tanh's node is still there
    np.testing.assert_allclose(x.grad.data, 3 * (1 - np.tanh([1.0, 2.0]) ** 2))

    class NoBackward(ad.Function):
        def forward(self, a):
            return a * 2

    w = ad.tensor(np.ones(3), requires_grad=True)
    (gw,) = ad.grad((NoBackward()(x.sum() * np.ones(3)) * w).sum(), w)
    np.testing.assert_allclose(gw.data, [6.0, 6.0, 6.0])


def test_gradcheck_takes_a_function_that_differentiates_inside():
    def slope(x):
        return ad.grad((x**3).sum(), x, create_graph=True)[0]

    assert gradcheck(slope, [np.array([0.3, -0.7, 1.2])])
    assert gradgradcheck(slope, [np.array([0.3, -0.7, 1.2])])


def test_a_seed_of_another_dtype_is_cast_to_the_output_dtype():
    x = ad.tensor(np.ones(3, np.float32), requires_grad=True)
    x.backward(ad.tensor(np.ones(3)))  # a float64 seed, straight into a leaf
    assert x.grad.dtype == np.float32
    y = x * 2
    y.retain_grad()
    y.backward(ad.tensor(np.ones(3)))
    assert y.grad.dtype == np.float32 and x.grad.dtype == np.float32


def test_one_function_instance_is_one_node():
    class Mul(ad.Function):
        def forward(self, a, b):
            return a * b

        def backward(self, gy):
            a, b = self.inputs
            return gy * b, gy * a

    x, w = ad.tensor(2.0, requires_grad=True), ad.tensor(3.0, requires_grad=True)
    mul = Mul()
    with pytest.raises(RuntimeError, match=r"instance is already a node of a graph"):
        mul(x, w) + mul(x, x)  # silently gave x.grad 4 and w.grad None
    again = Mul()
    again(x, w).backward()
    again(x, x).backward()  # after backward freed it, the instance may be used again
    assert x.grad.item() == 3.0 + 4.0


def test_a_refused_reuse_leaves_the_live_node_intact():
    class Relu(ad.Function):
        def forward(self, x):
            self.mask = x <= 0
            return np.where(self.mask, 0.0, x)

        def backward(self, gy):
            return gy * ad.tensor((~self.mask).astype(gy.dtype))

    x1, x2 = ad.tensor([1.0, 2.0], requires_grad=True), ad.tensor([-1.0, -2.0])
    relu = Relu()
    y1 = relu(x1)
    for attempt in (lambda: relu(x2), lambda: ad.no_grad()(lambda: relu(x2))()):
        with pytest.raises(RuntimeError, match="already a node"):
            attempt()
    y1.sum().backward()
    np.testing.assert_array_equal(x1.grad.data, [1.0, 1.0])  # forward did not run again


def test_gradcheck_reports_a_function_error_it_did_not_cause():
    def f(x):
        if not ad.is_grad_enabled():
            raise RuntimeError("inference path is broken")
        return ad.tanh(x) * 2

    with pytest.raises(RuntimeError, match="inference path is broken"):
        gradcheck(f, [np.array([0.1, 0.2])])


def test_a_sweep_of_grad_calls_over_one_graph_is_not_growth():
    rng = np.random.default_rng(0)
    w = ad.tensor(rng.standard_normal((4, 4)) * 0.5, requires_grad=True)
    h = ad.tensor(np.zeros((1, 4)), requires_grad=True)
    hs = []
    for _ in range(12):
        h = ad.tanh(h @ w + 1.0)
        hs.append(h)
    loss = (h * h).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ad.GraphGrowthWarning)
        for t in reversed(range(12)):  # d loss / d h_t for every step: one graph, not growing
            ad.grad(loss, hs[t], retain_graph=True)
