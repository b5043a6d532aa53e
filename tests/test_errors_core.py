"""Error messages for bad input: each names the op, the shapes/dtypes, what was expected,
the layer (name scope) and the user's file:line."""

import sys

import numpy as np
import pytest

import autodiff as ad

HERE = __file__


def _line(offset: int = 1) -> str:
    """``this_file:line`` of the caller's line plus ``offset``."""
    return f"{HERE}:{sys._getframe(1).f_lineno + offset}"


def test_matmul_shape_error_inside_a_layer_names_everything():
    x = ad.tensor(np.ones((32, 64), np.float32))
    w = ad.tensor(np.ones((128, 10), np.float32), requires_grad=True)
    with pytest.raises(ValueError) as info:
        with ad.name_scope("fc2"):
            where = _line()
            x @ w
    msg = str(info.value)
    assert msg.startswith("matmul in layer 'fc2' at " + where)
    assert "(32, 64) float32" in msg and "(128, 10) float32" in msg
    assert (
        "last axis of the first (64) must equal the second-to-last axis of the second (128)" in msg
    )


def test_nested_scopes_are_joined_with_dots():
    with pytest.raises(ValueError, match=r"matmul in layer 'encoder\.fc1' at "):
        with ad.name_scope("encoder"), ad.name_scope("fc1"):
            ad.tensor(np.ones((2, 3))) @ ad.tensor(np.ones((2, 3)))


def test_name_scope_as_decorator_restores_the_scope_in_recursion():
    @ad.name_scope("block")
    def scopes(depth):
        y = ad.tensor([1.0], requires_grad=True) * 2.0
        inner = scopes(depth - 1) if depth else []
        return [y.creator.scope, *inner, ad.current_scope()]

    assert scopes(1) == [("block",), ("block", "block"), ("block", "block"), ("block",)]
    assert ad.current_scope() == ()


def test_broadcast_error_says_what_was_expected():
    with pytest.raises(ValueError) as info:
        where = _line()
        ad.tensor([1.0, 2.0]) + ad.tensor([1.0, 2.0, 3.0])
    msg = str(info.value)
    assert msg.startswith(f"add at {where}: inputs [(2,) float32, (3,) float32]")
    assert "expected shapes that broadcast" in msg and not msg.endswith(" ")


def test_error_types_are_kept():
    x = ad.tensor([1.0, 2.0])
    with pytest.raises(IndexError, match=r"getitem at .*index 5 is out of bounds"):
        x[5]
    with pytest.raises(np.exceptions.AxisError, match=r"sum at .*axis 3 is out of bounds"):
        x.sum(axis=3)  # AxisError is a ValueError and an IndexError: both ways work
    with pytest.raises(ValueError, match=r"reshape at .*cannot reshape"):
        x.reshape(3)


def test_float64_array_with_float32_parameters_follows_numpy_and_keeps_grad_dtype():
    w = ad.tensor(np.ones(3, np.float32), requires_grad=True)
    y = w + np.arange(3.0)  # allowed: numpy promotion, documented in the README
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad.data, 2 * (1 + np.arange(3.0)))


def test_backward_on_non_scalar_names_shape_op_and_lines():
    x = ad.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    made = _line()
    y = x * 2
    with pytest.raises(RuntimeError) as info:
        called = _line()
        y.backward()
    msg = str(info.value)
    assert f"backward() called at {called}" in msg
    assert "shape (3, 4) float32" in msg
    assert f"(made by op 'mul' at {made})" in msg
    assert "loss.mean() or loss.sum()" in msg and "gradient of shape (3, 4)" in msg


def test_second_backward_through_freed_graph_names_op_and_both_lines():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    made = _line()
    loss = (x.tanh() * 2.0).sum()
    loss.backward()
    with pytest.raises(RuntimeError) as info:
        called = _line()
        loss.backward()
    msg = str(info.value)
    assert f"backward() called at {called} goes through op 'sum' (created at {made})" in msg
    assert "second time" in msg and "retain_graph=True" in msg
    assert "h = h.detach()" in msg and "total_loss += loss.item()" in msg


def test_backward_without_requires_grad_names_the_line():
    with pytest.raises(RuntimeError) as info:
        called = _line()
        (ad.tensor([1.0]) * 2).sum().backward()
    assert f"backward() called at {called}" in str(info.value)
    assert "does not require grad" in str(info.value)


class _WrongShape(ad.Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return ad.tensor(np.ones((5, 7)))


class _TooMany(ad.Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy, gy


class _Crashes(ad.Function):
    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy @ ad.tensor(np.ones((9, 9)))  # a bug in the user's backward


class _FastCrashes(_Crashes):
    def backward_arrays(self, gy):
        return gy.reshape(7)


def test_backward_returning_wrong_shape_names_op_and_creation_line():
    x = ad.tensor(np.ones((3, 4)), requires_grad=True)
    made = _line()
    y = _WrongShape()(x)
    with pytest.raises(ValueError) as info:
        y.sum().backward()
    msg = str(info.value)
    assert f"op '_wrongshape' (created at {made})" in msg
    assert "gradient of shape (5, 7) for input 0 of shape (3, 4)" in msg


def test_backward_returning_too_many_gradients():
    x = ad.tensor(np.ones(3), requires_grad=True)
    made = _line()
    y = _TooMany()(x)
    with pytest.raises(RuntimeError, match="returned 2 gradients for 1 inputs") as info:
        y.sum().backward()
    assert f"op '_toomany' (created at {made})" in str(info.value)


@pytest.mark.parametrize("cls", [_Crashes, _FastCrashes])
def test_error_raised_inside_backward_names_op_and_creation_line(cls):
    x = ad.tensor(np.ones((3, 4)), requires_grad=True)
    made = _line()
    y = cls()(x)
    with pytest.raises(ValueError) as info:
        y.sum().backward()
    msg = str(info.value)
    assert msg.startswith(f"in the backward of op '{cls.name}' (created at {made}): ")
    assert isinstance(info.value.__cause__, ValueError)


def test_errors_of_unusual_types_are_rebuilt_safely():
    from autodiff.function import retyped

    class Picky(ValueError):
        def __init__(self, a, b):
            super().__init__(a, b)

    new = retyped(Picky(1, 2), "message")
    assert type(new) is ValueError and str(new) == "message"
    assert type(retyped(KeyError("k"), "m")) is RuntimeError  # KeyError's str adds quotes
