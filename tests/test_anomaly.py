"""detect_anomaly(): the first op producing NaN/Inf, forward or backward, with its user line."""

import sys

import numpy as np
import pytest

import autodiff as ad
from autodiff.anomaly import state

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's divide-by-zero


def _site(offset: int = 1) -> tuple[str, int]:
    return __file__, sys._getframe(1).f_lineno + offset


class _FastInf(ad.Function):
    """y = 2x whose fast array backward returns inf."""

    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return gy * 2.0

    def backward_arrays(self, gy):
        return gy * np.inf


class _SlowNan(ad.Function):
    """y = 2x whose Tensor backward returns nan (no fast path)."""

    def forward(self, x):
        return x * 2

    def backward(self, gy):
        return ad.Tensor(np.full(gy.shape, np.nan))


class _DividesInBackward(ad.Function):
    def forward(self, x):
        return x * 1.0

    def backward(self, gy):
        return gy / self.inputs[0]


def test_off_by_default_nan_passes_silently():
    assert not ad.is_anomaly_enabled()
    y = ad.tensor(np.array([0.0])).log()
    assert np.isneginf(y.data[0])


def test_forward_names_op_direction_and_line():
    x = ad.tensor(np.array([1.0, 0.0]), requires_grad=True)
    with ad.detect_anomaly():
        with pytest.raises(ad.AnomalyError) as info:
            site = _site()
            x.log()
    err = info.value
    assert isinstance(err, RuntimeError)
    assert (err.op, err.direction, err.call_site) == ("log", "forward", site)
    msg = str(err)
    assert msg.startswith("op 'log' produced -inf in its forward output 0")
    assert "(shape (2,) float64, 1 of 2 elements)" in msg
    assert f"at {site[0]}:{site[1]}" in msg and "All inputs were finite" in msg


def test_forward_checks_ops_under_no_grad_and_reports_the_layer():
    x = ad.tensor(np.array([1.0, 0.0]))
    with ad.detect_anomaly(), ad.no_grad(), ad.name_scope("head"):
        with pytest.raises(
            ad.AnomalyError, match=r"op 'div' produced nan and inf .* in layer 'head'"
        ):
            x / 0.0


def test_forward_notes_inputs_that_were_already_bad():
    x = ad.tensor(np.array([np.nan, 1.0]))
    with ad.detect_anomaly(), pytest.raises(ad.AnomalyError, match="input 0 already contained"):
        x * 2


def test_integer_outputs_are_not_checked():
    with ad.detect_anomaly():
        i = ad.tensor(np.array([1, 2, 3]))
        assert (i * 2).dtype == np.int64
        assert ad.tensor([1.0, 5.0]).argmax().item() == 1


@pytest.mark.parametrize(
    ("cls", "kind"), [(_FastInf, "inf"), (_SlowNan, "nan")], ids=["fast-path", "tensor-path"]
)
def test_backward_names_op_direction_and_creation_line(cls, kind):
    x = ad.tensor(np.ones(3), requires_grad=True)
    site = _site()
    y = cls()(x)
    with ad.detect_anomaly(), pytest.raises(ad.AnomalyError) as info:
        y.sum().backward()
    err = info.value
    assert (err.op, err.direction, err.call_site) == (cls.name, "backward", site)
    msg = str(err)
    assert msg.startswith(
        f"op '{cls.name}' produced {kind} in its backward, in the gradient for input 0"
    )
    assert f"created at {site[0]}:{site[1]}" in msg
    assert "All upstream gradients were finite" in msg
    assert x.grad is None  # nothing was accumulated


def test_builtin_backward_on_fast_path():
    x = ad.tensor(np.array([4.0, 0.0]), requires_grad=True)
    site = _site()
    y = x.sqrt()
    with ad.detect_anomaly(), pytest.raises(ad.AnomalyError) as info:
        y.sum().backward()
    assert (info.value.op, info.value.direction, info.value.call_site) == ("sqrt", "backward", site)


def test_ops_inside_a_backward_are_blamed_on_the_op_being_differentiated():
    x = ad.tensor(np.array([1.0, 0.0]), requires_grad=True)
    site = _site()
    y = _DividesInBackward()(x)
    with ad.detect_anomaly(), pytest.raises(ad.AnomalyError) as info:
        y.sum().backward()
    err = info.value
    assert (err.op, err.direction, err.call_site) == ("_dividesinbackward", "backward", site)
    assert "inside it, op 'div' returned inf" in str(err)
    assert state.node is None  # the engine's bookkeeping is restored after the error


def test_create_graph_backward_is_checked_too():
    x = ad.tensor(np.array([4.0, 0.0]), requires_grad=True)
    y = x.sqrt().sum()
    with ad.detect_anomaly(), pytest.raises(ad.AnomalyError, match="op 'sqrt'") as info:
        y.backward(create_graph=True)
    assert info.value.direction == "backward"


def test_clean_training_step_passes_and_grads_match():
    rng = np.random.default_rng(0)
    w = ad.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    x = ad.tensor(rng.normal(size=(4, 3)))
    with ad.detect_anomaly():
        ((x @ w).tanh() ** 2).mean().backward()
    g = w.grad.data.copy()
    w.zero_grad()
    ((x @ w).tanh() ** 2).mean().backward()
    np.testing.assert_array_equal(w.grad.data, g)


def test_decorator_form_and_restoring_state_after_an_error():
    @ad.detect_anomaly()
    def f(t):
        assert ad.is_anomaly_enabled()
        return t.log()

    with pytest.raises(ad.AnomalyError):
        f(ad.tensor(np.array([0.0])))
    assert not ad.is_anomaly_enabled()
    f(ad.tensor(np.array([1.0])))  # reusable
    assert not ad.is_anomaly_enabled()


def test_nesting_inner_off_then_outer_setting_comes_back():
    zero = ad.tensor(np.array([0.0]))
    with ad.detect_anomaly():
        with ad.detect_anomaly(False):
            assert not ad.is_anomaly_enabled()
            zero.log()  # no error
            with ad.detect_anomaly():
                with pytest.raises(ad.AnomalyError):
                    zero.log()
            assert not ad.is_anomaly_enabled()
        assert ad.is_anomaly_enabled()
        with pytest.raises(ad.AnomalyError):
            zero.log()
    assert not ad.is_anomaly_enabled()
