"""nn.models.MLP, and the examples built on plain layers (3-layer forward, weight init)."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

import nn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_mlp_layout_names_and_sizes():
    model = nn.models.MLP([64, 32, 16, 10])
    assert [n for n, _ in model.named_children()] == ["fc1", "act1", "fc2", "act2", "fc3"]
    assert [k for k in model.state_dict()] == [
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias",
    ]  # fmt: skip
    assert model.num_parameters() == 64 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    out = model(np.zeros((7, 64), np.float32))
    assert out.shape == (7, 10) and out.dtype == np.float32
    assert model.sizes == [64, 32, 16, 10]
    assert "MLP(sizes=[64, 32, 16, 10]" in repr(model)
    assert isinstance(model[0], nn.Linear) and isinstance(model[0:2], nn.Sequential)


def test_mlp_options():
    model = nn.models.MLP([4, 8, 8, 2], activation="tanh", dropout=0.3, batchnorm=True,
                          output_activation="sigmoid")  # fmt: skip
    kinds = [type(m).__name__ for m in model]
    assert kinds == [
        "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d", "Tanh", "Dropout",
        "Linear", "Sigmoid",
    ]  # fmt: skip
    assert model.drop1.p == 0.3
    model.eval()
    y = model(np.ones((3, 4), np.float32)).numpy()
    assert ((0 < y) & (y < 1)).all()
    leaky = nn.models.MLP([3, 5, 2], activation=lambda: nn.LeakyReLU(0.2))
    assert isinstance(leaky.act1, nn.LeakyReLU) and leaky.act1.slope == 0.2


def test_mlp_default_init_follows_the_activation():
    nn.manual_seed(0)
    relu = nn.models.MLP([400, 400, 2])
    sigmoid = nn.models.MLP([400, 400, 2], activation="sigmoid")
    custom = nn.models.MLP([400, 400, 2], init=0.01)
    assert relu.fc1.weight.data.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)  # He
    assert sigmoid.fc1.weight.data.std() == pytest.approx(np.sqrt(2 / 800), rel=0.02)  # Xavier
    assert custom.fc1.weight.data.std() == pytest.approx(0.01, rel=0.02)


def test_mlp_is_reproducible_with_manual_seed():
    nn.manual_seed(3)
    a = nn.models.MLP([5, 7, 2]).state_dict()
    nn.manual_seed(3)
    b = nn.models.MLP([5, 7, 2]).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"sizes": [3]}, "at least an input and an output"),
        ({"sizes": [3, 0, 2]}, "positive integers"),
        ({"sizes": [3, 2.5, 2]}, "positive integers"),
        ({"sizes": [3, 2], "dropout": 1.0}, "dropout must be in"),
        ({"sizes": [3, 4, 2], "activation": "swish"}, "unknown activation 'swish'"),
    ],
)
def test_mlp_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.models.MLP(**kwargs)


def test_three_layer_forward_example_values():
    ns = runpy.run_path(str(EXAMPLES / "three_layer_forward.py"))
    results = ns["main"](plot=False)
    np.testing.assert_allclose(results[("notes", (4.5, 6.2))], [0.95952248, 1.3974489], atol=1e-6)
    np.testing.assert_allclose(results[("notes", (1.0, 0.5))], [0.95236385, 1.38125702], atol=1e-6)
    np.testing.assert_allclose(results[("book", (1.0, 0.5))], [0.31682708, 0.69627909], atol=1e-6)
    # the float64 reference, independently of the nn layers
    out = ns["numpy_forward"](np.array([4.5, 6.2]), ns["NOTES_BIASES"])[-1]
    np.testing.assert_allclose(out, [0.95952248, 1.3974489], atol=5e-9)


def test_weight_init_example_shows_the_lecture_effects():
    stats = runpy.run_path(str(EXAMPLES / "weight_init_comparison.py"))["main"](plot=False)
    last = {key: layers[-1] for key, layers in stats.items()}  # (mean, std) of layer 5
    assert last[("sigmoid", "std=1")][1] > 0.4  # saturated at 0 and 1
    assert last[("sigmoid", "std=0.01")][1] < 0.02  # everything near 0.5
    assert 0.08 < last[("sigmoid", "Xavier")][1] < 0.3  # spread out
    assert last[("relu", "std=0.01")][1] < 1e-3  # dies out layer by layer
    first_he, last_he = stats[("relu", "He")][0][1], last[("relu", "He")][1]
    assert 0.5 < last_he / first_he < 2.0  # He keeps the spread
    assert last[("relu", "Xavier")][1] < 0.5 * stats[("relu", "Xavier")][0][1]  # shrinks


@pytest.mark.parametrize(
    "activation, expected",
    [
        ("tanh", "xavier"),
        ("Tanh", "xavier"),
        (nn.Tanh, "xavier"),
        (nn.Tanh(), "xavier"),
        ("SIGMOID", "xavier"),
        (nn.Sigmoid, "xavier"),
        ("SELU", "lecun"),
        (nn.SELU(), "lecun"),
        ("ReLU", "he"),
        (nn.LeakyReLU(0.1), "he"),
        (lambda: nn.Tanh(), "xavier"),
    ],
)
def test_mlp_default_init_follows_the_activation_however_it_is_spelled(activation, expected):
    nn.manual_seed(0)
    model = nn.models.MLP([400, 400, 10], activation=activation)
    assert model.weight_init == expected
    # the weights themselves: Xavier sqrt(2 / 800) and LeCun sqrt(1 / 400) are 0.05, He 0.0707
    std = {"xavier": 0.05, "lecun": 0.05, "he": np.sqrt(2 / 400)}[expected]
    assert abs(model.fc1.weight.data.std() - std) < 0.002
    assert nn.models.MLP([2, 3], activation=activation, init="he").weight_init == "he"


def test_mlp_copies_an_activation_module_for_every_hidden_layer():
    act = nn.PReLU()
    model = nn.models.MLP([4, 5, 5, 2], activation=act)
    assert isinstance(model.act1, nn.PReLU) and model.act1 is not model.act2
    assert model.act1 is not act and model.act1.slope is not model.act2.slope
