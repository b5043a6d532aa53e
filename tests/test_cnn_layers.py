"""CNN layers and models: gradient checks (parameters included), shapes, errors, reprs,
PyTorch agreement, MNIST-shaped training from IDX files, and the CNN examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RNG = np.random.default_rng(2024)


def check_module(module, *inputs, atol=1e-5, rtol=1e-4):
    """gradcheck a module in float64 w.r.t. its inputs and all its parameters."""
    module.astype(np.float64)
    names = [n for n, _ in module.named_parameters()]
    params = [p.data.copy() for p in module.parameters()]
    k = len(inputs)

    def f(*args):
        return nn.functional_call(module, dict(zip(names, args[k:])), *args[:k])

    assert gradcheck(f, [*inputs, *params], atol=atol, rtol=rtol)


def distinct(*shape):
    """Values at least 0.1 apart, so finite differences never change a max's winner."""
    n = int(np.prod(shape))
    return (RNG.permutation(n).reshape(shape) - n / 2) * 0.1


# ---------------------------------------------------------------------- Conv2d
@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (2, 2, 5, 5)),
        ({"stride": 2, "padding": 1}, (2, 2, 5, 6)),
        ({"dilation": 2, "padding": (2, 1)}, (1, 2, 5, 5)),
        ({"groups": 2, "bias": False}, (2, 4, 4, 4)),
        ({"stride": (1, 2), "padding": "same"}, (1, 2, 4, 5)),
    ],
    ids=["plain", "stride-pad", "dilation", "groups-nobias", "same"],
)
def test_conv2d_gradcheck(kwargs, shape):
    if kwargs.get("padding") == "same":
        kwargs = {"padding": "same"}  # same needs stride 1
    nn.manual_seed(0)
    layer = nn.Conv2d(shape[1], 4, 3, **kwargs)
    check_module(layer, RNG.normal(size=shape))


def test_conv2d_default_is_he_init_and_float32():
    nn.manual_seed(0)
    conv = nn.Conv2d(16, 64, 5)
    assert conv.weight.shape == (64, 16, 5, 5) and conv.weight.dtype == np.float32
    assert conv.weight.data.std() == pytest.approx(np.sqrt(2 / (16 * 25)), rel=0.03)
    assert not conv.bias.data.any()
    out = conv(RNG.normal(size=(2, 16, 9, 9)))  # float64 numpy batch is taken as float32
    assert out.dtype == np.float32 and out.shape == (2, 64, 5, 5)
    grouped = nn.Conv2d(16, 64, 5, groups=4)  # fan_in = 16/4 * 25
    assert grouped.weight.data.std() == pytest.approx(np.sqrt(2 / 100), rel=0.03)
    assert nn.Conv2d(4, 4, 3, weight_init=0.01).weight.data.std() == pytest.approx(0.01, rel=0.2)


def test_conv2d_matches_the_op_and_names_its_node():
    conv = nn.Conv2d(3, 2, 3, stride=2, padding=1, dilation=1)
    x = RNG.normal(size=(2, 3, 7, 7)).astype(np.float32)
    out = conv(x)
    ref = ad.conv2d(x, conv.weight.data, conv.bias.data, stride=2, padding=1)
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-6)
    assert out.creator.name == "conv2d"


def test_conv2d_error_messages_name_the_layer_and_shapes():
    model = nn.Sequential()
    model.conv1 = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError) as err:
        model(np.zeros((8, 1, 28, 28), np.float32))
    assert str(err.value) == (
        "Conv2d 'conv1' expects 3 input channels, got input of shape (8, 1, 28, 28)"
    )
    with pytest.raises(ValueError, match=r"Conv2d 'conv1' expects input \(N, C, H, W\) with "
                       r"C = 3, got shape \(8, 2352\); a flat batch needs reshaping"):  # fmt: skip
        model(np.zeros((8, 3 * 28 * 28), np.float32))
    with pytest.raises(ValueError, match=r"single image needs a batch axis"):
        model(np.zeros((3, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d 'conv1' got input of shape \(1, 3, 2, 2\), "
                       r"too small for kernel_size=\(3, 3\)"):  # fmt: skip
        model(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(TypeError, match=r"Conv2d 'conv1' has float32 weights but got a float64"):
        model(ad.tensor(np.zeros((1, 3, 5, 5)), requires_grad=True))
    assert model(ad.tensor(np.zeros((1, 3, 5, 5)))).dtype == np.float32  # a batch is converted


def test_conv2d_constructor_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="odd kernel"):
        nn.Conv2d(1, 1, 4, padding="same")
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        nn.Conv2d(1, 1, 0)
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        nn.Conv2d(0, 1, 3)


def test_conv_reprs_follow_pytorch():
    assert repr(nn.Conv2d(1, 30, 5)) == "Conv2d(1, 30, kernel_size=(5, 5), stride=(1, 1))"
    assert repr(nn.Conv2d(4, 8, (3, 1), stride=2, padding=1, dilation=2, groups=4, bias=False)) == (
        "Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 2), padding=(1, 1), dilation=(2, 2), "
        "groups=4, bias=False)"
    )
    assert repr(nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)) == (
        "ConvTranspose2d(8, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "output_padding=(1, 1))"
    )
    assert repr(nn.MaxPool2d(3, 2, 1)) == (
        "MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    )
    assert repr(nn.Dropout2d(0.3)) == "Dropout2d(p=0.3)"
    assert repr(nn.GlobalAvgPool2d()) == "GlobalAvgPool2d()"


# ------------------------------------------------------------- ConvTranspose2d
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"stride": 2, "padding": 1, "output_padding": 1}, {"groups": 2, "dilation": 2}],
    ids=["plain", "stride", "groups-dilation"],
)
def test_conv_transpose2d_gradcheck(kwargs):
    nn.manual_seed(1)
    check_module(nn.ConvTranspose2d(2, 4, 3, **kwargs), RNG.normal(size=(2, 2, 3, 3)))


def test_conv_transpose2d_shapes_output_size_and_init():
    nn.manual_seed(0)
    up = nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1)
    assert up.weight.shape == (32, 16, 3, 3)
    # fans of the transposed convolution: each output pixel sums 32 * 9 inputs
    assert up.weight.data.std() == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.05)
    x = np.zeros((2, 32, 7, 7), np.float32)
    assert up(x).shape == (2, 16, 13, 13)
    assert up(x, output_size=(14, 14)).shape == (2, 16, 14, 14)
    # a strided Conv2d maps 13 and 14 to 7: the transposed layer is its shape inverse
    down = nn.Conv2d(16, 32, 3, stride=2, padding=1)
    assert down(np.zeros((1, 16, 14, 14), np.float32)).shape[2:] == (7, 7)
    with pytest.raises(ValueError, match=r"cannot produce output_size \(16, 16\) .* possible "
                       r"sizes are \(13, 13\) to \(14, 14\)"):  # fmt: skip
        up(x, output_size=(16, 16))
    with pytest.raises(ValueError, match="output_padding .* must be smaller than the stride"):
        nn.ConvTranspose2d(1, 1, 3, output_padding=1)
    with pytest.raises(ValueError, match="ConvTranspose2d expects 32 input channels"):
        up(np.zeros((2, 16, 7, 7), np.float32))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    # <conv(x), y> == <x, conv_transpose(y)> with shared weights and no bias
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1, bias=False).astype(np.float64)
    up = nn.ConvTranspose2d(5, 3, 3, stride=2, padding=1, bias=False).astype(np.float64)
    up.weight.data = conv.weight.data.copy()  # both (5, 3, 3, 3)
    x, y = RNG.normal(size=(2, 3, 9, 9)), RNG.normal(size=(2, 5, 5, 5))
    lhs = float((conv(x).data * y).sum())
    rhs = float((x * up(y, output_size=(9, 9)).data).sum())
    assert lhs == pytest.approx(rhs, rel=1e-10)


# ---------------------------------------------------------------------- pooling
@pytest.mark.parametrize(
    "layer",
    [
        nn.MaxPool2d(2),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.AvgPool2d(2),
        nn.AvgPool2d((3, 2), stride=1, padding=(1, 0)),
        nn.GlobalAvgPool2d(),
        nn.GlobalAvgPool2d(keepdims=True),
    ],
    ids=lambda m: repr(m),
)
def test_pool_gradcheck_and_float32(layer):
    check_module(layer, distinct(2, 3, 5, 6))
    out = layer(np.ones((2, 3, 6, 6), np.float32))
    assert out.dtype == np.float32


def test_pool_shapes_values_and_errors():
    x = RNG.normal(size=(2, 3, 7, 7)).astype(np.float32)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 3, 3)  # floor mode drops the last row/column
    np.testing.assert_allclose(
        nn.MaxPool2d(7)(x).data[..., 0, 0], x.reshape(2, 3, -1).max(-1), rtol=1e-6
    )
    np.testing.assert_allclose(nn.GlobalAvgPool2d()(x).data, x.mean((2, 3)), rtol=1e-5)
    model = nn.Sequential()
    model.pool1 = nn.MaxPool2d(4)
    with pytest.raises(ValueError, match=r"MaxPool2d 'pool1' got input of shape \(1, 1, 3, 3\), "
                       r"smaller than its window \(4, 4\)"):  # fmt: skip
        model(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"MaxPool2d 'pool1' expects input \(N, C, H, W\)"):
        model(np.zeros((4, 16), np.float32))
    with pytest.raises(ValueError, match="at most half the kernel size"):
        nn.AvgPool2d(2, padding=2)
    with pytest.raises(ValueError, match=r"GlobalAvgPool2d expects input \(N, C, H, W\)"):
        nn.GlobalAvgPool2d()(np.zeros((4, 16), np.float32))


# -------------------------------------------------------------------- Dropout2d
def test_dropout2d_gradcheck_with_a_fixed_seed():
    def f(x):
        return F.dropout2d(x, 0.4, training=True, rng=np.random.default_rng(7))

    assert gradcheck(f, [RNG.normal(size=(3, 4, 2, 3))])
    layer = nn.Dropout2d(0.4)

    def g(x):
        layer.rng = np.random.default_rng(7)  # the same mask at every evaluation
        return layer(x)

    assert gradcheck(g, [RNG.normal(size=(3, 4, 2, 3))])
    ones = ad.tensor(np.ones((3, 4, 2, 3)))
    np.testing.assert_array_equal(g(ones).data, f(ones).data)  # the layer is F.dropout2d


def test_dropout2d_drops_whole_channels_scales_and_is_identity_in_eval():
    nn.manual_seed(0)
    drop = nn.Dropout2d(0.25)
    y = drop(np.ones((200, 50, 3, 3), np.float32)).data
    assert y.dtype == np.float32
    per_channel = y.reshape(200, 50, 9)
    assert (per_channel == per_channel[..., :1]).all()  # constant over each feature map
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert (per_channel[..., 0] == 0).mean() == pytest.approx(0.25, abs=0.02)
    assert y.mean() == pytest.approx(1.0, abs=0.03)  # inverted scaling keeps the mean
    drop.eval()
    x = RNG.normal(size=(2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(drop(x).data, x)
    with pytest.raises(ValueError, match=r"Dropout2d expects input \(N, C, H, W\)"):
        drop.train()(np.ones((4, 5), np.float32))
    with pytest.raises(ValueError, match=r"probability must be in \[0, 1\]"):
        nn.Dropout2d(1.5)
    assert not nn.Dropout2d(1.0)(np.ones((1, 2, 2, 2), np.float32)).data.any()


def test_dropout2d_is_reproducible_with_manual_seed():
    nn.manual_seed(5)
    a = nn.Dropout2d(0.5)(np.ones((4, 8, 2, 2), np.float32)).data
    nn.manual_seed(5)
    b = nn.Dropout2d(0.5)(np.ones((4, 8, 2, 2), np.float32)).data
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------- composite: conv + batch norm + pool
def test_small_cnn_with_batchnorm2d_train_mode_gradcheck():
    nn.manual_seed(3)
    model = nn.models.SimpleCNN(
        (2, 6, 6), channels=[3, 2], kernel_size=3, padding=1, hidden=5, num_classes=3,
        batchnorm=True,
    )  # fmt: skip
    assert model.training and isinstance(model.bn1, nn.BatchNorm2d)
    check_module(model, distinct(3, 2, 6, 6), atol=1e-4, rtol=1e-3)


# ---------------------------------------------------------------------- models
def test_simple_cnn_layout_matches_the_lecture_notes():
    model = nn.models.SimpleCNN()
    assert [type(m).__name__ for m in model] == [
        "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear",
    ]  # fmt: skip
    assert model.conv1.weight.shape == (30, 1, 5, 5)
    assert model.fc1.in_features == 30 * 12 * 12 and model.fc1.out_features == 100
    out = model(np.zeros((3, 1, 28, 28), np.float32))
    assert out.shape == (3, 10) and out.dtype == np.float32
    deep = nn.models.SimpleCNN((3, 16, 16), channels=[8, 16], kernel_size=3, padding="same",
                               dropout=0.2, batchnorm=True)  # fmt: skip
    assert [n for n, _ in deep.named_children()] == [
        "conv1", "bn1", "relu1", "pool1", "drop1", "conv2", "bn2", "relu2", "pool2", "drop2",
        "flatten", "fc1", "relu3", "drop3", "fc2",
    ]  # fmt: skip
    assert deep.fc1.in_features == 16 * 4 * 4
    with pytest.raises(ValueError, match="SimpleCNN: a 8x8 input shrinks to nothing in block 2"):
        nn.models.SimpleCNN((1, 8, 8), channels=[4, 4], kernel_size=5)
    with pytest.raises(ValueError, match=r"input_shape must be \(channels, height, width\)"):
        nn.models.SimpleCNN((28, 28))


def test_lenet5_on_mnist_and_digit_sizes():
    model = nn.models.LeNet5()
    assert model.fc1.in_features == 400 and model.conv1.padding == (2, 2)
    assert model(np.zeros((2, 1, 28, 28), np.float32)).shape == (2, 10)
    small = nn.models.LeNet5(input_size=8, padding=(2, 2))
    assert small(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 10)
    classic = nn.models.LeNet5(input_size=32, padding=0, activation="tanh", pool="avg")
    assert classic.fc1.in_features == 400 and isinstance(classic.pool1, nn.AvgPool2d)
    with pytest.raises(ValueError, match=r"LeNet5: 8x8 images shrink to nothing .* "
                       r"padding=\(2, 2\) for 8x8"):  # fmt: skip
        nn.models.LeNet5(input_size=8)


@pytest.mark.parametrize("name", ["lenet5", "simple"])
def test_mnist_shaped_idx_files_train_end_to_end(tmp_path, name):
    rng = np.random.default_rng(0)
    for kind, n in (("train", 64), ("t10k", 16)):
        nn.data.write_idx(tmp_path / f"{kind}-images-idx3-ubyte.gz",
                          rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))  # fmt: skip
        nn.data.write_idx(tmp_path / f"{kind}-labels-idx1-ubyte.gz",
                          rng.integers(0, 10, n).astype(np.uint8))  # fmt: skip
    X, y = nn.data.load_mnist(tmp_path)
    assert X.shape == (64, 1, 28, 28) and X.dtype == np.float32
    nn.manual_seed(0)
    model = nn.models.LeNet5() if name == "lenet5" else nn.models.SimpleCNN()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    history = nn.fit(model, X, y, loss="cross_entropy", optimizer=nn.optim.Adam(
        model.parameters(), lr=1e-3), epochs=1, batch_size=16, seed=0, verbose=0,
        metrics=["accuracy"])  # fmt: skip
    assert np.isfinite(history["loss"][0]) and len(history) == 1
    assert all(not np.array_equal(before[k], v) for k, v in model.state_dict().items())
    X_test, y_test = nn.data.load_mnist(tmp_path, "test")
    assert nn.predict(model, X_test).shape == (16, 10)


# ---------------------------------------------------------------------- PyTorch
def test_layers_agree_with_pytorch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(size=(2, 4, 9, 9))
    cases = [
        (nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2),
         torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2)),
        (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)),
    ]  # fmt: skip
    for ours, theirs in cases:
        ours.astype(np.float64)
        theirs.double()
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(ours.weight.data))
            theirs.bias.copy_(torch.from_numpy(RNG.normal(size=6)))
        ours.bias.data = theirs.bias.detach().numpy().copy()
        np.testing.assert_allclose(
            ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-10
        )
    t, x = torch.from_numpy(x), ad.tensor(x)  # pooling layers keep a float64 Tensor's dtype
    np.testing.assert_allclose(
        nn.MaxPool2d(3, 2, 1)(x).data, torch.nn.MaxPool2d(3, 2, 1)(t).numpy(), atol=1e-12
    )
    np.testing.assert_allclose(
        nn.AvgPool2d(3, 2, 1)(x).data, torch.nn.AvgPool2d(3, 2, 1)(t).numpy(), atol=1e-12
    )


# ---------------------------------------------------------------------- examples
def _run_example(code: str, tmp_path: Path, timeout: float = 240) -> dict:
    """Run ``code`` in a fresh process: the examples set thread counts before numpy loads."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["PYTHONPATH"] = str(EXAMPLES.parent)
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
        cwd=tmp_path, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {"stdout": done.stdout, "result": json.loads(done.stdout.splitlines()[-1])}


def _digits_code(**settings) -> str:
    return (
        "import json, runpy, sys\n"
        f"main = runpy.run_path({str(EXAMPLES / 'cnn_digits.py')!r})['main']\n"
        f"r = main(out=sys.argv[1], **{settings!r})\n"
        "print(json.dumps({k: r[k] for k in ('test_accuracy', 'seconds', 'ms_per_step')}))\n"
    )


def test_cnn_digits_example_small_settings(tmp_path):
    run = _run_example(_digits_code(epochs=3, channels=8, hidden=32, lr=1e-2), tmp_path)
    assert "test accuracy" in run["stdout"] and "ms per step" in run["stdout"]
    assert run["result"]["test_accuracy"] >= 0.9  # three epochs of a small net (0.95)
    assert (tmp_path / "filters.png").stat().st_size > 0
    graph = next(tmp_path.glob("graph.*"))
    text = graph.read_text()
    assert all(f"{name}: " in text for name in ("conv1", "relu1", "pool1", "fc1", "fc2"))


def test_cnn_digits_example_full_settings_reach_98_percent(tmp_path):
    # The real configuration (25 epochs, seed 0: 98.9 %): about 5 s of training on 2 cores.
    run = _run_example(_digits_code(plot=False), tmp_path)
    assert run["result"]["test_accuracy"] >= 0.98
    assert run["result"]["seconds"] < 60


def test_cnn_mnist_example_without_files_explains_and_exits_0(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES.parent)}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "cnn_mnist.py"), str(tmp_path / "missing")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "MNIST files not found" in done.stdout and "train-images-idx3-ubyte" in done.stdout


def test_cnn_mnist_example_trains_on_tiny_idx_files(tmp_path):
    rng = np.random.default_rng(1)
    for kind, n in (("train", 48), ("t10k", 16)):
        nn.data.write_idx(tmp_path / f"{kind}-images-idx3-ubyte",
                          rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))  # fmt: skip
        nn.data.write_idx(tmp_path / f"{kind}-labels-idx1-ubyte",
                          rng.integers(0, 10, n).astype(np.uint8))  # fmt: skip
    code = (
        "import json, runpy, sys\n"
        f"main = runpy.run_path({str(EXAMPLES / 'cnn_mnist.py')!r})['main']\n"
        "r = main(sys.argv[1], model='simple', batch_size=16)\n"
        "print(json.dumps(r))\n"
    )
    run = _run_example(code, tmp_path)
    assert 0.0 <= run["result"]["test_accuracy"] <= 1.0
    assert "48 training and 16 test images" in run["stdout"]


def test_visualize_graphs_draw_cnn(tmp_path):
    import runpy

    draw_cnn = runpy.run_path(str(EXAMPLES / "visualize_graphs.py"))["draw_cnn"]
    paths = draw_cnn(tmp_path)
    assert len(paths) == 2 and all(p.stat().st_size > 0 for p in paths)
    layers = paths[1].read_text()
    assert "conv1: Conv2d" in layers and "pool1: MaxPool2d" in layers and "fc2: Linear" in layers


def test_conv_transpose2d_initialises_with_its_own_fans_and_passes_callables_the_parameter():
    # groups: each output pixel sums in/groups * KH * KW inputs, so He's std is
    # sqrt(2 / (16/16 * 9)); it was sqrt(2 / (16 * 9)), 4x too small.
    nn.manual_seed(0)
    grouped = nn.ConvTranspose2d(16, 16, 3, groups=16)
    assert grouped.weight.data.std() == pytest.approx(np.sqrt(2 / 9), rel=0.15)
    nn.manual_seed(0)
    plain = nn.ConvTranspose2d(8, 4, 3)
    assert plain.weight.data.std() == pytest.approx(np.sqrt(2 / (8 * 9)), rel=0.15)
    got = []
    layer = nn.ConvTranspose2d(2, 3, 3, weight_init=lambda w: got.append(w) or w.data.fill(0.5))
    assert isinstance(got[0], nn.Parameter) and got[0].shape == (3, 2, 3, 3)  # (out, in, KH, KW)
    assert np.all(layer.weight.data == 0.5)
    for how in ("he", nn.init.kaiming_normal_):  # a name and its function: the same fans
        nn.manual_seed(1)
        std = nn.ConvTranspose2d(64, 4, 3, weight_init=how).weight.data.std()
        assert std == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.1)


def test_functional_batch_norm_takes_array_weight_and_bias_per_channel():
    x = np.random.default_rng(0).normal(size=(4, 3, 5, 3)).astype(np.float32)
    w, b = np.array([1.0, 2.0, 3.0], np.float32), [0.5, 0.0, -0.5]
    as_arrays = F.batch_norm(x, None, None, w, b).data
    as_tensors = F.batch_norm(x, None, None, ad.tensor(w), ad.tensor(b)).data
    np.testing.assert_allclose(as_arrays, as_tensors, rtol=1e-6)
    assert as_arrays.dtype == np.float32
    scalars = F.batch_norm(x, None, None, 2.0, np.float32(0.5)).data  # a scalar broadcasts
    np.testing.assert_allclose(scalars, F.batch_norm(x, None, None).data * 2 + 0.5, rtol=1e-5)


def test_batch_norm_and_flatten_errors_name_the_layer():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    with pytest.raises(ValueError, match=r"BatchNorm1d '1': batch_norm in training mode"):
        model(np.ones((1, 2)))
    with pytest.raises(
        ValueError, match=r"Flatten '0' flattens from axis -3, so it needs at least 3"
    ):
        nn.Sequential(nn.Flatten(-3))(np.ones((2, 2)))
    assert nn.Flatten(-2)(np.ones((2, 3, 4))).shape == (2, 3 * 4)


@pytest.mark.parametrize(
    "layer",
    [nn.Conv2d(1, 4, 5, padding="same"), nn.ConvTranspose2d(1, 4, 3), nn.BatchNorm2d(1)],
    ids=lambda m: type(m).__name__,
)
def test_a_channels_last_batch_gets_a_hint_to_transpose_it(layer):
    with pytest.raises(ValueError) as err:
        layer(np.zeros((2, 28, 28, 1), np.float32))
    message = str(err.value)
    assert type(layer).__name__ in message and "(2, 28, 28, 1)" in message
    assert "channels-last" in message and "x.transpose(0, 3, 1, 2)" in message
    # the hint only when the last axis is the channel count
    with pytest.raises(ValueError) as err:
        layer(np.zeros((2, 3, 28, 28), np.float32))
    assert "transpose" not in str(err.value)
