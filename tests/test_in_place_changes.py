"""A tensor changed in place after a graph used it: backward refuses instead of lying.

The engine compares each node's clock (``config.changes`` when it was recorded) with the
moment its inputs were last changed (``Tensor.mark_changed``); ops whose backward never
reads their inputs' values (``Function.reads_inputs = False``) let the change through.
The registry walk at the end checks that claim for every op that makes it.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import autodiff as ad
import nn
from autodiff.testing import strategies as st

F32 = np.float32


def _param(values, name="w"):
    return nn.Parameter(np.asarray(values, dtype=F32), name=name)


def test_parameter_changed_by_an_in_place_operator_refuses_backward():
    w = _param([2.0, 3.0], name="fc.weight")
    loss = (w * w).sum()
    with ad.no_grad():
        w -= 0.5
    with pytest.raises(RuntimeError, match="changed in place") as err:
        loss.backward()
    text = str(err.value)
    assert "op 'mul'" in text and "'fc.weight'" in text and "shape (2,)" in text
    assert "opt.step()" in text  # says what to do


@pytest.mark.parametrize("make", [nn.optim.SGD, nn.optim.Adam])
def test_an_optimizer_step_between_forward_and_backward_is_refused(make):
    lin = nn.Linear(3, 2)
    opt = make(lin.parameters(), lr=0.1)
    x = ad.tensor(np.ones((4, 3), F32))
    first = lin(x).sum()
    first.backward(retain_graph=True)
    opt.step()  # changes the weight the retained graph saw
    with pytest.raises(RuntimeError, match="changed in place"):
        first.backward()


def test_the_usual_loop_and_a_fresh_forward_after_the_step_work():
    lin = nn.Linear(3, 2)
    opt = nn.optim.SGD(lin.parameters(), lr=0.1)
    x = ad.tensor(np.ones((4, 3), F32))
    for _ in range(3):
        opt.zero_grad()
        lin(x).sum().backward()
        opt.step()
    w_before = lin.weight.data.copy()
    opt.zero_grad()
    (lin(x) ** 2).sum().backward()  # recorded after the last step: no complaint
    assert np.array_equal(lin.weight.data, w_before)
    assert lin.weight.grad is not None


def test_load_state_dict_and_max_norm_mark_their_changes():
    lin = nn.Linear(2, 2)
    x = ad.tensor(np.ones((1, 2), F32))
    loss = lin(x).sum()
    lin.load_state_dict(nn.Linear(2, 2).state_dict())
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()

    loss = lin(x).sum()
    nn.optim.apply_max_norm_(lin.parameters(), max_norm=1e-3)
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_writes_into_data_are_invisible_until_marked():
    # As in PyTorch, .data bypasses the check; mark_changed() is the way to declare it.
    w = _param([2.0])
    loss = (w * w).sum()
    w.data += 1.0
    loss.backward(retain_graph=True)  # not detected: the gradient uses the new value
    assert float(w.grad.data[0]) == pytest.approx(6.0)
    w.mark_changed()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_a_change_of_an_unrelated_tensor_is_harmless():
    # an EMA target network updated between the online network's forward and backward
    online, target = _param([1.0, 2.0], "online"), _param([0.0, 0.0], "target")
    target.requires_grad = False
    loss = (online * online).sum()
    with ad.no_grad():
        target *= 0.9
        target += 0.1 * online
    loss.backward()
    np.testing.assert_allclose(online.grad.data, [2.0, 4.0])


def test_ops_that_do_not_read_their_inputs_let_a_change_through():
    b = _param([1.0, 2.0], "bias")
    x = ad.tensor(np.array([[1.0, 2.0], [3.0, 4.0]], F32), requires_grad=True)
    loss = ((x + b).reshape(4)[1:] * 3.0).sum()
    with ad.no_grad():
        b -= 10.0
    loss.backward()
    np.testing.assert_allclose(b.grad.data, [3.0, 6.0])


def test_a_frozen_parameter_is_checked_too():
    # dL/dx of x * w reads w even when w wants no gradient
    w = _param([3.0])
    w.requires_grad = False
    x = ad.tensor(np.array([2.0], F32), requires_grad=True)
    loss = (x * w).sum()
    with ad.no_grad():
        w *= 2.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_second_order_graphs_record_the_clock():
    w = _param([2.0])
    (g,) = ad.grad((w**3).sum(), w, create_graph=True)  # 3 w^2, recorded now
    with ad.no_grad():
        w += 1.0
    with pytest.raises(RuntimeError, match="changed in place"):
        g.sum().backward()


def test_multi_output_nodes_record_the_clock():
    w = _param([1.0, 2.0, 3.0, 4.0])
    a, b = ad.split(w * w, 2)  # split records through the multi-output path
    loss = (a * b).sum()
    with ad.no_grad():
        w -= 1.0
    with pytest.raises(RuntimeError, match="op 'mul'"):
        loss.backward()


# ------------------------------------------------------------ the claim, op by op
DIFFERENTIABLE = [info for info in ad.registry.all_ops() if info.differentiable]


def _grads(outs, upstream, xs):
    for x in xs:
        x.grad = None
    for o, g in zip(outs, upstream):
        o.backward(g, retain_graph=True)
    return [None if x.grad is None else x.grad.data.copy() for x in xs]


@pytest.mark.parametrize("info", DIFFERENTIABLE, ids=[i.name for i in DIFFERENTIABLE])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=hs.data())
def test_reads_inputs_false_is_true(info, data):
    """Change every input in place after the forward: backward must refuse, or (every
    node on the way claims not to read its inputs) give the very same gradients."""
    arrays, kwargs = data.draw(st.op_cases(info), label="case")
    xs = [ad.tensor(a, requires_grad=True) for a in arrays]
    y = info.fn(*xs, **kwargs)
    outs = [o for o in ([y] if isinstance(y, ad.Tensor) else y) if o.requires_grad]
    if not outs:
        return
    rng = np.random.default_rng(1)
    upstream = [rng.standard_normal(o.shape).astype(o.dtype) for o in outs]
    before = _grads(outs, upstream, xs)
    with ad.no_grad():
        for x in xs:
            x *= -1.7
            x += 0.3
    try:
        after = _grads(outs, upstream, xs)
    except RuntimeError as err:
        assert "changed in place" in str(err)
        return
    for i, (b, a) in enumerate(zip(before, after)):
        assert (a is None) == (b is None), f"op '{info.name}': input {i}"
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=info.name)


@pytest.mark.parametrize(
    "shape, op",
    [
        ((2, 3), lambda x: ad.tanh(x)),
        ((2, 3), lambda x: x * x),
        ((2, 3), lambda x: x @ x.T),
        ((2, 3), lambda x: ad.softmax(x, axis=1)),
        ((1, 1, 2, 3), lambda x: ad.conv2d(x, ad.tensor(np.ones((1, 1, 2, 2))))),
    ],
)
def test_ops_that_read_their_inputs_refuse(shape, op):
    x = ad.tensor(np.arange(6.0).reshape(shape) / 6, requires_grad=True)
    y = op(x)
    with ad.no_grad():
        x += 1.0
    with pytest.raises(RuntimeError, match="changed in place"):
        y.sum().backward()
