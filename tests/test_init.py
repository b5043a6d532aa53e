"""nn.init: fans for Linear and conv layouts, the std of each scheme, seeding, in-place updates."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from nn import init


def test_fans_for_linear_and_conv_layouts():
    assert init.calculate_fan_in_and_fan_out((784, 100)) == (784, 100)
    assert init.calculate_fan_in_and_fan_out((16, 3, 5, 5)) == (75, 400)
    assert init.calculate_fan_in_and_fan_out(np.zeros((8, 4, 3))) == (12, 24)
    assert init.calculate_fan_in_and_fan_out(nn.Parameter(np.zeros((2, 7)))) == (2, 7)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.calculate_fan_in_and_fan_out((5,))


def test_gains():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")


SHAPE = (500, 300)
FAN_IN, FAN_OUT = 500, 300


@pytest.mark.parametrize(
    "fn, std",
    [
        (init.xavier_normal_, math.sqrt(2 / (FAN_IN + FAN_OUT))),
        (init.xavier_uniform_, math.sqrt(2 / (FAN_IN + FAN_OUT))),
        (init.kaiming_normal_, math.sqrt(2 / FAN_IN)),
        (init.kaiming_uniform_, math.sqrt(2 / FAN_IN)),
        (init.lecun_normal_, math.sqrt(1 / FAN_IN)),
        (init.lecun_uniform_, math.sqrt(1 / FAN_IN)),
        (lambda t: init.normal_(t, std=0.01), 0.01),
        (lambda t: init.kaiming_normal_(t, mode="fan_out"), math.sqrt(2 / FAN_OUT)),
        (lambda t: init.xavier_normal_(t, gain=5 / 3), 5 / 3 * math.sqrt(2 / 800)),
    ],
)
def test_std_matches_the_formula(fn, std):
    w = nn.Parameter(np.zeros(SHAPE))
    data = w.data
    assert fn(w) is w
    assert w.data is data  # filled in place: an optimizer holding the array stays valid
    assert w.dtype == np.float32
    assert abs(float(w.data.std()) - std) < 0.02 * std
    assert abs(float(w.data.mean())) < 0.02 * std


def test_uniform_bounds():
    w = init.xavier_uniform_(nn.Parameter(np.zeros(SHAPE)))
    bound = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert float(np.abs(w.data).max()) <= bound
    assert float(np.abs(w.data).max()) > 0.99 * bound


def test_conv_layout_uses_the_receptive_field():
    w = init.kaiming_normal_(np.zeros((64, 16, 3, 3), np.float32))
    assert abs(float(w.std()) - math.sqrt(2 / (16 * 9))) < 0.03 * math.sqrt(2 / 144)


def test_constant_fills():
    w = nn.Parameter(np.ones((2, 2)))
    assert not init.zeros_(w).data.any()
    assert (init.ones_(w).data == 1).all()
    assert (init.constant_(w, 0.5).data == 0.5).all()


def test_manual_seed_makes_init_reproducible_and_rng_overrides():
    nn.manual_seed(11)
    a = init.kaiming_normal_(np.zeros((4, 4))).copy()
    nn.manual_seed(11)
    b = init.kaiming_normal_(np.zeros((4, 4)))
    np.testing.assert_array_equal(a, b)
    c = init.normal_(np.zeros(5), rng=np.random.default_rng(1))
    d = init.normal_(np.zeros(5), rng=np.random.default_rng(1))
    np.testing.assert_array_equal(c, d)


def test_initialize_by_name_number_or_callable():
    w = nn.Parameter(np.zeros((400, 200)))
    init.initialize(w, "xavier_uniform")
    assert float(np.abs(w.data).max()) <= math.sqrt(6 / 600)
    init.initialize(w, 0.01)
    assert abs(float(w.data.std()) - 0.01) < 1e-3
    init.initialize(w, init.ones_)
    assert (w.data == 1).all()
    init.initialize(w, "zeros")
    assert not w.data.any()
    with pytest.raises(ValueError, match="unknown initialisation"):
        init.initialize(w, "glorious")
    with pytest.raises(TypeError, match="Tensors or numpy arrays"):
        init.zeros_([1.0, 2.0])


def test_initialize_takes_a_numpy_number_as_the_std():
    w = nn.init.initialize(nn.Parameter(np.zeros((200, 200))), np.float32(0.1))
    assert float(w.data.std()) == pytest.approx(0.1, rel=0.05)
