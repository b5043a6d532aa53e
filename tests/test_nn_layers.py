"""Layers: float64 gradient checks (parameters included), shapes, dtypes, train/eval, errors."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(1234)


def normal(*shape, low=None):
    x = RNG.normal(size=shape)
    if low is not None:  # keep away from a kink at 0
        x = np.where(np.abs(x) < low, np.copysign(low, x), x)
    return x


def check_module(module, *inputs, second_order=False, atol=1e-5, rtol=1e-4):
    """gradcheck a module in float64 with respect to its inputs and all its parameters."""
    module.astype(np.float64)
    names = [n for n, _ in module.named_parameters()]
    params = [p.data.copy() for p in module.parameters()]
    k = len(inputs)

    def f(*args):
        return nn.functional_call(module, dict(zip(names, args[k:])), *args[:k])

    float_inputs = [x for x in inputs]
    assert gradcheck(f, [*float_inputs, *params], atol=atol, rtol=rtol)
    if second_order:
        assert gradgradcheck(f, [*float_inputs, *params], atol=atol, rtol=rtol)


# ---------------------------------------------------------------------- Linear
def test_linear_stores_weight_as_in_by_out_and_computes_x_at_w_plus_b():
    layer = nn.Linear(3, 2)
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    out = layer(x)
    np.testing.assert_allclose(out.data, x @ layer.weight.data + layer.bias.data, rtol=1e-6)
    assert out.creator.name == "linear"  # one fused node


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(bias):
    check_module(nn.Linear(3, 2, bias=bias), normal(4, 3), second_order=True)


def test_linear_accepts_extra_leading_axes():
    check_module(nn.Linear(3, 2), normal(2, 2, 3))


def test_linear_shape_error_names_the_layer_and_shapes():
    model = nn.Sequential()
    model.fc1 = nn.Linear(10, 64)
    model.fc2 = nn.Linear(128, 10)
    with pytest.raises(ValueError) as err:
        model(np.zeros((32, 10)))
    assert str(err.value) == (
        "Linear 'fc2' expects input with last dimension 128 (in_features), got shape (32, 64)"
    )


@pytest.mark.parametrize(
    "how, std",
    [
        ("he", np.sqrt(2 / 400)),
        ("xavier", np.sqrt(2 / 500)),
        ("lecun", np.sqrt(1 / 400)),
        (0.01, 0.01),
    ],
)
def test_linear_weight_init_options(how, std):
    layer = nn.Linear(400, 100, weight_init=how)
    assert abs(layer.weight.data.std() - std) < 0.05 * std
    assert not layer.bias.data.any()


def test_linear_rejects_unknown_init():
    with pytest.raises(ValueError, match="unknown initialisation 'hee'"):
        nn.Linear(2, 2, weight_init="hee")


# ----------------------------------------------------------------- activations
@pytest.mark.parametrize(
    "layer",
    [
        nn.ReLU(),
        nn.LeakyReLU(0.1),
        nn.ELU(0.5),
        nn.SELU(),
        nn.Sigmoid(),
        nn.Tanh(),
        nn.Softplus(),
        nn.Softmax(axis=0),
        nn.LogSoftmax(),
        nn.Identity(),
        nn.Flatten(),
    ],
    ids=lambda m: type(m).__name__,
)
def test_activation_gradcheck_and_dtypes(layer):
    check_module(layer, normal(3, 4, low=0.1))
    # No parameters, so no dtype of their own: float arrays keep theirs (as in autodiff),
    # lists and integer arrays become float32.
    for batch, dtype in [
        (np.ones((2, 3), np.float32), np.float32),
        (np.ones((2, 3)), np.float64),
        ([[1.0, 2.0, 3.0]], np.float32),
        (np.ones((2, 3), np.int64), np.float32),
    ]:
        out = layer(batch)
        assert isinstance(out, ad.Tensor) and out.dtype == dtype


def test_prelu_gradcheck_shared_and_per_channel():
    check_module(nn.PReLU(), normal(4, 3, low=0.1), second_order=True)
    check_module(nn.PReLU(3, init=0.1), normal(4, 3, 2, low=0.1))


def test_prelu_values_and_learned_slope():
    act = nn.PReLU(2, init=0.5)
    out = act(np.array([[-2.0, -4.0], [1.0, 3.0]]))
    np.testing.assert_allclose(out.data, [[-1.0, -2.0], [1.0, 3.0]])
    out.sum().backward()
    np.testing.assert_allclose(act.slope.grad.data, [-2.0, -4.0])
    with pytest.raises(ValueError, match="PReLU has 2 slopes .* expects input \\(N, 2, ...\\)"):
        act(np.zeros((2, 3)))


def test_flatten_needs_enough_axes():
    assert nn.Flatten(2)(np.zeros((2, 3, 4, 5))).shape == (2, 3, 20)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.Flatten()(np.zeros(3))


# --------------------------------------------------------------------- Dropout
def test_dropout_gradcheck_with_a_fixed_mask():
    def f(x):
        return F.dropout(x, 0.4, training=True, rng=np.random.default_rng(7))

    assert gradcheck(f, [normal(5, 4)])
    y = f(ad.tensor(np.ones((5, 4))))
    assert set(np.unique(y.data)) <= {0.0, 1 / 0.6}


def test_dropout_train_vs_eval_and_scaling():
    _ = nn.manual_seed(0)
    drop = nn.Dropout(0.3)
    x = np.ones((200, 200), np.float32)
    y = drop(x)
    assert y.dtype == np.float32
    kept = y.data != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.data.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x)


def test_dropout_is_reproducible_with_manual_seed_and_own_rng():
    x = np.ones((4, 4), np.float32)
    nn.manual_seed(3)
    a = nn.Dropout()(x).data
    nn.manual_seed(3)
    b = nn.Dropout()(x).data
    np.testing.assert_array_equal(a, b)
    c = nn.Dropout(rng=np.random.default_rng(5))(x).data
    d = nn.Dropout(rng=np.random.default_rng(5))(x).data
    np.testing.assert_array_equal(c, d)


def test_dropout_edge_probabilities():
    x = np.ones(5, np.float32)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).data, x)
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros(5))
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        nn.Dropout(1.5)


# ------------------------------------------------------------------- BatchNorm
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2)])
def test_batchnorm1d_gradcheck_train(shape):
    bn = nn.BatchNorm1d(3)
    bn.weight.data[...] = [0.5, 1.5, -1.0]
    bn.bias.data[...] = [0.1, -0.2, 0.3]
    check_module(bn, normal(*shape), second_order=True, atol=1e-4)


def test_batchnorm1d_gradcheck_eval():
    bn = nn.BatchNorm1d(3)
    bn.running_mean.data[...] = [0.1, -0.3, 0.5]
    bn.running_var.data[...] = [0.5, 2.0, 1.5]
    bn.eval()
    check_module(bn, normal(4, 3), second_order=True)


def test_batchnorm2d_gradcheck_train():
    check_module(nn.BatchNorm2d(2), normal(2, 2, 2, 2), atol=1e-4)


def test_batchnorm_matches_the_formula_and_updates_running_stats_unbiased():
    x = RNG.normal(2.0, 3.0, size=(16, 4)).astype(np.float32)
    bn = nn.BatchNorm1d(4, momentum=0.2)
    y = bn(x)
    mean, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(y.data, (x - mean) / np.sqrt(var + 1e-5), atol=1e-5)
    np.testing.assert_allclose(bn.running_mean.data, 0.2 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, 0.8 + 0.2 * x.var(0, ddof=1), rtol=1e-5)
    assert y.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batchnorm_eval_uses_running_stats_and_does_not_update_them():
    bn = nn.BatchNorm1d(2)
    bn.running_mean.data[...] = [1.0, 2.0]
    bn.running_var.data[...] = [4.0, 9.0]
    bn.eval()
    y = bn(np.array([[3.0, 5.0]]))  # a single sample is fine in eval mode
    np.testing.assert_allclose(y.data, [[2 / np.sqrt(4 + 1e-5), 3 / np.sqrt(9 + 1e-5)]])
    np.testing.assert_array_equal(bn.running_mean.data, [1.0, 2.0])


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(
        ValueError, match="BatchNorm1d expects input .* C = 3 .* got shape \\(4, 5\\)"
    ):
        bn(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn(np.zeros((1, 3)))


def test_batchnorm_without_running_stats_always_uses_the_batch():
    bn = nn.BatchNorm1d(2, track_running_stats=False, affine=False).eval()
    y = bn(np.array([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(np.abs(y.data), 1.0, rtol=1e-4)
    assert list(bn.state_dict()) == []


# ------------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("normalized, shape", [(4, (3, 4)), ((2, 3), (2, 2, 3))])
def test_layernorm_gradcheck(normalized, shape):
    ln = nn.LayerNorm(normalized)
    ln.weight.data[...] = RNG.normal(size=ln.weight.shape)
    ln.bias.data[...] = RNG.normal(size=ln.bias.shape)
    check_module(ln, normal(*shape), second_order=True, atol=1e-4)


def test_layernorm_normalises_each_sample_and_checks_shape():
    x = RNG.normal(5.0, 2.0, size=(3, 8)).astype(np.float32)
    y = nn.LayerNorm(8)(x).data
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(-1), 1, atol=1e-3)
    with pytest.raises(ValueError, match="last dimension\\(s\\) are \\(8,\\)"):
        nn.LayerNorm(8)(np.zeros((3, 7)))


# ------------------------------------------------------------------- Embedding
def test_embedding_repeated_indices_accumulate():
    emb = nn.Embedding(5, 3)
    ids = np.array([[1, 3, 1], [1, 0, 4]])
    out = emb(ids)
    assert out.shape == (2, 3, 3) and out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[:, 0], [1, 3, 0, 1, 1])


def test_embedding_gradcheck_with_repeated_indices():
    emb = nn.Embedding(4, 2).astype(np.float64)
    ids = np.array([0, 2, 2, 3, 2])
    assert gradcheck(lambda w: nn.functional_call(emb, {"weight": w}, ids), [emb.weight.data])


def test_embedding_errors_name_the_index_and_size():
    model = nn.Sequential()
    model.tok = nn.Embedding(4, 2)
    with pytest.raises(
        ValueError, match="Embedding 'tok': embedding index 7 is out of range for 4"
    ):
        model(np.array([1, 7]))
    with pytest.raises(
        ValueError, match=r"embedding index -1 is out of range for 4 embeddings \(valid 0..3\)"
    ):
        model(np.array([[2, -1]]))  # not numpy's last row: -1 is a common padding id
    with pytest.raises(TypeError, match="must be integers"):
        model(np.array([1.0, 2.0]))


# ------------------------------------------------------------------- float32
def test_a_float32_model_keeps_float32_everywhere():
    model = nn.Sequential(
        nn.Linear(6, 8),
        nn.PReLU(),
        nn.BatchNorm1d(8),
        nn.Dropout(0.2),
        nn.LayerNorm(8),
        nn.Linear(8, 3),
    )
    x = RNG.normal(size=(5, 6))  # float64 numpy input is cast to the layer dtype
    loss = nn.CrossEntropyLoss()(model(x), np.array([0, 1, 2, 0, 1]))
    assert loss.dtype == np.float32
    loss.backward()
    for name, p in model.named_parameters():
        assert p.dtype == np.float32 and p.grad.dtype == np.float32, name


def _batchnorm_eval(a):  # fresh running statistics: mean 0, variance 1
    return a / np.sqrt(1.0 + 1e-5)


# a layer without parameters, and what it does to a (2, 48) batch in eval mode
NO_PARAMETERS = {
    "Flatten": (nn.Flatten, lambda a: a),
    "Identity": (nn.Identity, lambda a: a),
    "Dropout": (lambda: nn.Dropout(0.5), lambda a: a),
    "ReLU": (nn.ReLU, lambda a: np.maximum(a, 0)),
    "BatchNorm1d(affine=False)": (lambda: nn.BatchNorm1d(48, affine=False), _batchnorm_eval),
}


@pytest.mark.parametrize("name", NO_PARAMETERS)
def test_layers_without_parameters_keep_the_batch_dtype_for_the_next_layer(name):
    # They have no dtype of their own: a float64 model stays float64 through them (they
    # used to cast to float32, losing precision), and a float32 model still gets float32
    # activations from a float64 batch, because the next layer converts a batch that wants
    # no gradient to its own dtype.
    make, reference = NO_PARAMETERS[name]
    x = RNG.normal(size=(2, 3, 4, 4))
    for dtype in (np.float64, np.float32):
        model = nn.Sequential(nn.Flatten(), make(), nn.Linear(48, 2)).astype(dtype).eval()
        out = model(x)
        assert out.dtype == dtype
        w, b = model[2].weight.data, model[2].bias.data
        expected = reference(x.reshape(2, 48)) @ w.astype(np.float64) + b
        np.testing.assert_allclose(out.data, expected, rtol=1e-12 if dtype == np.float64 else 1e-5)
    cnn = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(3, 4, 1))
    assert cnn(x).dtype == np.float32  # a float64 batch into a float32 CNN
    assert cnn.astype(np.float64)(x).dtype == np.float64


def test_a_tensor_that_wants_gradients_is_never_converted():
    x = ad.tensor(RNG.normal(size=(4, 3)), requires_grad=True)  # float64
    fc = nn.Linear(3, 2)
    assert fc(x).creator.inputs[0] is x
    with pytest.raises(TypeError, match="float32 weights but got a float64 input"):
        nn.Conv2d(3, 2, 1)(ad.tensor(RNG.normal(size=(1, 3, 2, 2)), requires_grad=True))


def test_batchnorm_momentum_must_be_a_number_in_0_1():
    assert nn.BatchNorm1d(3, momentum=np.float32(0.25)).momentum == 0.25  # any real number
    with pytest.raises(TypeError, match="BatchNorm2d: momentum must be a number.*got None"):
        nn.BatchNorm2d(3, momentum=None)
    with pytest.raises(ValueError, match="BatchNorm1d: momentum must be in \\[0, 1\\], got 1.5"):
        nn.BatchNorm1d(3, momentum=1.5)


def test_layers_read_a_batch_of_their_dtype_without_copying_it():
    # Copying every input batch cost 8% of an MLP step; a batch of another dtype is
    # still converted to the layer's.
    fc = nn.Linear(3, 2)
    x = np.ones((4, 3), np.float32)
    assert fc(x).creator.inputs[0].data is x
    converted = fc(x.astype(np.float64)).creator.inputs[0].data
    assert converted.dtype == np.float32


@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (2, 28, 28)])
def test_linear_given_unflattened_images_hints_to_flatten_them(shape):
    with pytest.raises(ValueError) as err:
        nn.Linear(784, 10)(np.zeros(shape, np.float32))
    message = str(err.value)
    assert message.startswith("Linear expects input with last dimension 784 (in_features)")
    assert str(shape) in message and "nn.Flatten()" in message
    assert "x.reshape(len(x), -1)" in message
    with pytest.raises(ValueError) as err:  # not a flattening slip: no hint
        nn.Linear(784, 10)(np.zeros((2, 3, 28, 28), np.float32))
    assert "Flatten" not in str(err.value)


def test_batchnorm1d_given_channels_last_sequences_hints_to_transpose_them():
    with pytest.raises(ValueError) as err:
        nn.BatchNorm1d(4)(np.zeros((2, 5, 4), np.float32))
    message = str(err.value)
    assert "BatchNorm1d" in message and "(2, 5, 4)" in message
    assert "x.transpose(0, 2, 1)" in message
