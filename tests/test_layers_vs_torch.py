"""Differential fuzz: every ``nn`` layer and loss against its PyTorch counterpart.

Random configurations (hypothesis, small sizes) in float64 (tight tolerances) and
float32: outputs, the input gradient and every parameter gradient for a random
upstream gradient; running statistics of batch norm after several steps. PyTorch's
weights are copied into ours (``Linear``'s weight transposed: ours is (in, out); the
recurrent layers through ``load_torch_state_dict``). Also: keywords PyTorch has and
these layers do not fail loudly (TypeError), reprs, and state_dict names and shapes.
Skipped when torch is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autodiff as ad
import nn

torch = pytest.importorskip("torch")

TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}
TOL = {np.float64: {"rtol": 1e-9, "atol": 1e-11}, np.float32: {"rtol": 2e-4, "atol": 2e-5}}
DTYPES = st.sampled_from([np.float64, np.float32])
FUZZ = settings(max_examples=10, deadline=None)


def _close(ours, theirs, dtype, what, scale=1.0):
    """ours (Tensor or array) against theirs (torch tensor or array), dtype's tolerance."""
    a = ours.data if isinstance(ours, ad.Tensor) else np.asarray(ours)
    b = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    assert a.dtype == np.dtype(dtype), f"{what}: dtype {a.dtype}, expected {np.dtype(dtype)}"
    tol = TOL[dtype]
    np.testing.assert_allclose(
        a, b, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg=f"{what} differs from torch"
    )


def _pair(rng, shape, dtype, low=-2.0, high=2.0):
    """The same random values as a seegrad leaf and a torch leaf (both requiring grad)."""
    x = rng.uniform(low, high, size=shape).astype(dtype)
    return ad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _backward(y, yt, rng):
    """Backpropagate one random upstream gradient through both outputs."""
    g = rng.normal(size=y.shape).astype(y.dtype)
    y.backward(g)
    yt.backward(torch.from_numpy(g.copy()))


def _load(param, value):
    """Write a torch tensor's values into one of our parameters (in place)."""
    param.data[...] = value.detach().numpy()


# --------------------------------------------------------------------------- Linear
@FUZZ
@given(
    n_in=st.integers(1, 5),
    n_out=st.integers(1, 5),
    bias=st.booleans(),
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_linear(n_in, n_out, bias, lead, dtype, seed):
    rng = np.random.default_rng(seed)
    theirs = torch.nn.Linear(n_in, n_out, bias=bias, dtype=TORCH_DTYPE[dtype])
    ours = nn.Linear(n_in, n_out, bias=bias, dtype=dtype)
    _load(ours.weight, theirs.weight.T)  # ours is (in, out), PyTorch's (out, in)
    if bias:
        _load(ours.bias, theirs.bias)
    x, xt = _pair(rng, (*lead, n_in), dtype)
    y, yt = ours(x), theirs(xt)
    _close(y, yt, dtype, "Linear output")
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, "Linear input grad")
    _close(ours.weight.grad, theirs.weight.grad.T, dtype, "Linear weight grad")
    if bias:
        _close(ours.bias.grad, theirs.bias.grad, dtype, "Linear bias grad", scale=10)


# ---------------------------------------------------------------------- convolutions
def _conv_params(ours, theirs, bias):
    _load(ours.weight, theirs.weight)
    if bias:
        _load(ours.bias, theirs.bias)


def _check_conv(ours, theirs, inputs, outputs, bias, dtype, name, rng):
    """Outputs, then (after one backward) the input, weight and bias gradients."""
    (x, xt), (y, yt) = inputs, outputs
    _close(y, yt, dtype, f"{name} output", scale=10)
    _backward(y, yt, rng)
    _conv_grads(ours, theirs, x, xt, bias, dtype, name)


def _conv_grads(ours, theirs, x, xt, bias, dtype, name):
    _close(x.grad, xt.grad, dtype, f"{name} input grad", scale=10)
    _close(ours.weight.grad, theirs.weight.grad, dtype, f"{name} weight grad", scale=10)
    if bias:
        _close(ours.bias.grad, theirs.bias.grad, dtype, f"{name} bias grad", scale=10)


pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))  # non-square kernels too


@FUZZ
@given(
    cin_g=st.integers(1, 2),
    cout_g=st.integers(1, 2),
    groups=st.integers(1, 3),
    kernel=pairs,
    stride=st.tuples(st.integers(1, 2), st.integers(1, 3)),
    padding=st.one_of(st.tuples(st.integers(0, 2), st.integers(0, 2)), st.just("valid")),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    bias=st.booleans(),
    hw=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_conv2d(cin_g, cout_g, groups, kernel, stride, padding, dilation, bias, hw, dtype, seed):
    rng = np.random.default_rng(seed)
    cin, cout = cin_g * groups, cout_g * groups
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    theirs = torch.nn.Conv2d(cin, cout, kernel, **kw, dtype=TORCH_DTYPE[dtype])
    ours = nn.Conv2d(cin, cout, kernel, **kw, dtype=dtype)
    _conv_params(ours, theirs, bias)
    # the smallest input the dilated kernel fits in, plus a few rows/columns
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    shape = (2, cin, max(1, span[0] + hw[0] - 2), max(1, span[1] + hw[1] - 2))
    x, xt = _pair(rng, shape, dtype)
    if min(ours.output_shape(*shape[2:])) < 1:
        with pytest.raises(ValueError):
            ours(x)
        with pytest.raises(RuntimeError):
            theirs(xt)
        return
    y, yt = ours(x), theirs(xt)
    _check_conv(ours, theirs, (x, xt), (y, yt), bias, dtype, "Conv2d", rng)


@FUZZ
@given(
    cin=st.integers(1, 3),
    cout=st.integers(1, 3),
    kernel=pairs,
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_conv2d_same_padding(cin, cout, kernel, dilation, dtype, seed):
    rng = np.random.default_rng(seed)
    kernel = tuple(2 * (k // 2) + 1 for k in kernel)  # odd: the padding is symmetric
    theirs = torch.nn.Conv2d(cin, cout, kernel, padding="same", dilation=dilation).to(
        TORCH_DTYPE[dtype]
    )
    ours = nn.Conv2d(cin, cout, kernel, padding="same", dilation=dilation, dtype=dtype)
    _conv_params(ours, theirs, True)
    x, xt = _pair(rng, (2, cin, 4, 5), dtype)
    y, yt = ours(x), theirs(xt)
    _check_conv(ours, theirs, (x, xt), (y, yt), True, dtype, "Conv2d(padding='same')", rng)


@FUZZ
@given(
    cin_g=st.integers(1, 2),
    cout_g=st.integers(1, 2),
    groups=st.integers(1, 2),
    kernel=pairs,
    stride=st.tuples(st.integers(1, 3), st.integers(1, 2)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 1)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    extra=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    bias=st.booleans(),
    hw=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    use_output_size=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_conv_transpose2d(
    cin_g,
    cout_g,
    groups,
    kernel,
    stride,
    padding,
    dilation,
    extra,
    bias,
    hw,
    use_output_size,
    dtype,
    seed,
):
    rng = np.random.default_rng(seed)
    cin, cout = cin_g * groups, cout_g * groups
    output_padding = tuple(e % s for e, s in zip(extra, stride))  # smaller than the stride
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    theirs = torch.nn.ConvTranspose2d(
        cin, cout, kernel, output_padding=(0, 0) if use_output_size else output_padding, **kw
    ).to(TORCH_DTYPE[dtype])
    ours = nn.ConvTranspose2d(
        cin,
        cout,
        kernel,
        output_padding=(0, 0) if use_output_size else output_padding,
        **kw,
        dtype=dtype,
    )
    _conv_params(ours, theirs, bias)
    x, xt = _pair(rng, (2, cin, *hw), dtype)
    out_hw = ours.output_shape(*hw, output_padding=output_padding)
    if min(out_hw) < 1:
        with pytest.raises(ValueError):
            ours(x)
        return
    if use_output_size:
        y, yt = ours(x, output_size=out_hw), theirs(xt, output_size=list(out_hw))
    else:
        y, yt = ours(x), theirs(xt)
    assert y.shape[2:] == out_hw
    _check_conv(ours, theirs, (x, xt), (y, yt), bias, dtype, "ConvTranspose2d", rng)


# ------------------------------------------------------------------------- pooling
@FUZZ
@given(
    kind=st.sampled_from(["max", "avg"]),
    kernel=pairs,
    stride=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))),
    pad=st.tuples(st.integers(0, 1), st.integers(0, 1)),
    hw=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_pool2d(kind, kernel, stride, pad, hw, dtype, seed):
    rng = np.random.default_rng(seed)
    padding = tuple(min(p, k // 2) for p, k in zip(pad, kernel))  # at most half the window
    ours_cls, torch_cls = (nn.MaxPool2d, torch.nn.MaxPool2d)
    if kind == "avg":
        ours_cls, torch_cls = nn.AvgPool2d, torch.nn.AvgPool2d
    ours = ours_cls(kernel, stride, padding)
    theirs = torch_cls(kernel, stride, padding)
    shape = (2, 3, kernel[0] + hw[0], kernel[1] + hw[1])
    # distinct values: ties split the gradient here and pick one element in PyTorch
    values = rng.permutation(np.prod(shape)).reshape(shape) / 7.0 - 3.0
    x = ad.tensor(values.astype(dtype), requires_grad=True)
    xt = torch.tensor(values.astype(dtype), requires_grad=True)
    y, yt = ours(x), theirs(xt)
    _close(y, yt, dtype, f"{kind} pool output", scale=10)
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, f"{kind} pool input grad")


@FUZZ
@given(keepdims=st.booleans(), dtype=DTYPES, seed=st.integers(0, 2**16))
def test_global_avg_pool2d(keepdims, dtype, seed):
    rng = np.random.default_rng(seed)
    x, xt = _pair(rng, (2, 3, 4, 5), dtype)
    y = nn.GlobalAvgPool2d(keepdims=keepdims)(x)
    yt = torch.nn.AdaptiveAvgPool2d(1)(xt)
    yt = yt if keepdims else torch.flatten(yt, 1)
    _close(y, yt, dtype, "GlobalAvgPool2d output")
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, "GlobalAvgPool2d input grad")


# --------------------------------------------------------------------- normalisation
@FUZZ
@given(
    kind=st.sampled_from(["1d", "1d_seq", "2d"]),
    channels=st.integers(1, 4),
    momentum=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    affine=st.booleans(),
    track=st.booleans(),
    steps=st.integers(1, 3),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_batch_norm(kind, channels, momentum, affine, track, steps, dtype, seed):
    rng = np.random.default_rng(seed)
    ours_cls, torch_cls = (
        (nn.BatchNorm2d, torch.nn.BatchNorm2d)
        if kind == "2d"
        else (nn.BatchNorm1d, torch.nn.BatchNorm1d)
    )
    shape = {"1d": (4, channels), "1d_seq": (3, channels, 4), "2d": (2, channels, 3, 2)}[kind]
    kw = dict(momentum=momentum, eps=1e-3, affine=affine, track_running_stats=track)
    ours = ours_cls(channels, **kw, dtype=dtype)
    theirs = torch_cls(channels, **kw, dtype=TORCH_DTYPE[dtype])
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 2.0)
            theirs.bias.uniform_(-1.0, 1.0)
        _load(ours.weight, theirs.weight)
        _load(ours.bias, theirs.bias)
    for mode in ["train"] * steps + ["eval"]:
        getattr(ours, mode)()
        getattr(theirs, mode)()
        if affine:
            for p in (ours.weight, ours.bias):
                p.zero_grad()
            theirs.zero_grad()
        x, xt = _pair(rng, shape, dtype, -3.0, 5.0)
        y, yt = ours(x), theirs(xt)
        _close(y, yt, dtype, f"BatchNorm {mode} output", scale=10)
        _backward(y, yt, rng)
        _close(x.grad, xt.grad, dtype, f"BatchNorm {mode} input grad", scale=100)
        if affine:
            _close(ours.weight.grad, theirs.weight.grad, dtype, f"BN {mode} weight grad", 100)
            _close(ours.bias.grad, theirs.bias.grad, dtype, f"BN {mode} bias grad", 100)
        if track:
            _close(ours.running_mean, theirs.running_mean, dtype, "running_mean")
            _close(ours.running_var, theirs.running_var, dtype, "running_var", scale=10)
        else:
            assert ours.running_mean is None and theirs.running_mean is None


@FUZZ
@given(
    norm_shape=st.sampled_from([3, (3,), (2, 3), [2, 3], (4, 2, 3)]),
    lead=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    affine=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_layer_norm(norm_shape, lead, affine, dtype, seed):
    rng = np.random.default_rng(seed)
    theirs = torch.nn.LayerNorm(norm_shape, elementwise_affine=affine, dtype=TORCH_DTYPE[dtype])
    ours = nn.LayerNorm(norm_shape, elementwise_affine=affine, dtype=dtype)
    assert ours.normalized_shape == theirs.normalized_shape
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 2.0)
            theirs.bias.uniform_(-1.0, 1.0)
        _load(ours.weight, theirs.weight)
        _load(ours.bias, theirs.bias)
    x, xt = _pair(rng, (*lead, *ours.normalized_shape), dtype)
    y, yt = ours(x), theirs(xt)
    _close(y, yt, dtype, "LayerNorm output", scale=10)
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, "LayerNorm input grad", scale=100)
    if affine:
        _close(ours.weight.grad, theirs.weight.grad, dtype, "LayerNorm weight grad", scale=10)
        _close(ours.bias.grad, theirs.bias.grad, dtype, "LayerNorm bias grad", scale=10)


# ---------------------------------------------------------------- embedding, dropout
@FUZZ
@given(
    num=st.integers(1, 6),
    dim=st.integers(1, 4),
    ids_shape=st.lists(st.integers(1, 4), min_size=1, max_size=2),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_embedding(num, dim, ids_shape, dtype, seed):
    rng = np.random.default_rng(seed)
    theirs = torch.nn.Embedding(num, dim, dtype=TORCH_DTYPE[dtype])
    ours = nn.Embedding(num, dim, dtype=dtype)
    _load(ours.weight, theirs.weight)
    ids = rng.integers(0, num, size=ids_shape)  # repeats: their gradients add up
    y, yt = ours(ids), theirs(torch.from_numpy(ids))
    _close(y, yt, dtype, "Embedding output")
    _backward(y, yt, rng)
    _close(ours.weight.grad, theirs.weight.grad, dtype, "Embedding weight grad", scale=10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dropout_eval_is_identity(dtype):
    rng = np.random.default_rng(0)
    for ours, theirs in [
        (nn.Dropout(0.7), torch.nn.Dropout(0.7)),
        (nn.Dropout2d(0.3), torch.nn.Dropout2d(0.3)),
    ]:
        ours.eval(), theirs.eval()
        x, xt = _pair(rng, (2, 3, 4, 4), dtype)
        y, yt = ours(x), theirs(xt)
        _close(y, yt, dtype, f"{type(ours).__name__} eval output")
        _backward(y, yt, rng)
        _close(x.grad, xt.grad, dtype, f"{type(ours).__name__} eval input grad")


# ---------------------------------------------------------------------- activations
ACTIVATIONS = {
    "relu": (lambda a: nn.ReLU(), lambda a: torch.nn.ReLU()),
    "leaky": (lambda a: nn.LeakyReLU(a), lambda a: torch.nn.LeakyReLU(a)),
    "elu": (lambda a: nn.ELU(a), lambda a: torch.nn.ELU(a)),
    "selu": (lambda a: nn.SELU(), lambda a: torch.nn.SELU()),
    "sigmoid": (lambda a: nn.Sigmoid(), lambda a: torch.nn.Sigmoid()),
    "tanh": (lambda a: nn.Tanh(), lambda a: torch.nn.Tanh()),
    "softplus": (lambda a: nn.Softplus(), lambda a: torch.nn.Softplus()),
    "identity": (lambda a: nn.Identity(), lambda a: torch.nn.Identity()),
}


@FUZZ
@given(
    name=st.sampled_from(sorted(ACTIVATIONS)),
    alpha=st.floats(0.01, 2.0),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_activation(name, alpha, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    make_ours, make_theirs = ACTIVATIONS[name]
    values = rng.uniform(-4, 4, size=shape)
    values.flat[0] = 0.0  # the kink: the one-sided derivative must be PyTorch's
    values = np.concatenate([values.ravel(), [30.0, -30.0]]).astype(dtype)  # saturation
    x, xt = ad.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    y, yt = make_ours(alpha)(x), make_theirs(alpha)(xt)
    _close(y, yt, dtype, f"{name} output")
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, f"{name} input grad")


@FUZZ
@given(
    per_channel=st.booleans(),
    shape=st.lists(st.integers(1, 3), min_size=2, max_size=4),
    init=st.floats(-0.5, 0.5),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_prelu(per_channel, shape, init, dtype, seed):
    rng = np.random.default_rng(seed)
    n = shape[1] if per_channel else 1
    ours, theirs = nn.PReLU(n, init, dtype=dtype), torch.nn.PReLU(n, init, dtype=TORCH_DTYPE[dtype])
    x, xt = _pair(rng, shape, dtype)
    y, yt = ours(x), theirs(xt)
    _close(y, yt, dtype, "PReLU output")
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, "PReLU input grad")
    _close(ours.slope.grad, theirs.weight.grad, dtype, "PReLU slope grad", scale=10)


@FUZZ
@given(
    log=st.booleans(),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    axis_seed=st.integers(0, 10),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_softmax(log, shape, axis_seed, dtype, seed):
    rng = np.random.default_rng(seed)
    axis = axis_seed % (2 * len(shape)) - len(shape)  # negative and positive axes
    ours = (nn.LogSoftmax if log else nn.Softmax)(axis)  # positional: ``axis`` here, ``dim`` there
    theirs = (torch.nn.LogSoftmax if log else torch.nn.Softmax)(dim=axis)
    x, xt = _pair(rng, shape, dtype, -5.0, 5.0)
    y, yt = ours(x), theirs(xt)
    _close(y, yt, dtype, "softmax output")
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, "softmax input grad")


# ------------------------------------------------------------------------ recurrent
RECURRENT = {
    "rnn": (nn.RNN, torch.nn.RNN),
    "lstm": (nn.LSTM, torch.nn.LSTM),
    "gru": (nn.GRU, torch.nn.GRU),
}
CELLS = {
    "rnn": (nn.RNNCell, torch.nn.RNNCell),
    "lstm": (nn.LSTMCell, torch.nn.LSTMCell),
    "gru": (nn.GRUCell, torch.nn.GRUCell),
}


def _recurrent_grads(ours, theirs, dtype, what):
    """Each PyTorch parameter's gradient against ours (through the documented mapping)."""
    for name, p in theirs.named_parameters():
        suffix = name.split("_", 2)[2] if name.count("_") >= 2 else ""
        suffix = "_" + suffix if suffix else ""
        kind = name[: name.index("_", name.index("_") + 1)] if suffix else name
        if kind == "weight_ih":
            ours_grad = getattr(ours, "weight_x" + suffix).grad.data.T
        elif kind == "weight_hh":
            ours_grad = getattr(ours, "weight_h" + suffix).grad.data.T
        elif ours.mode == "gru":
            ours_grad = getattr(ours, ("bias_x" if kind == "bias_ih" else "bias_h") + suffix).grad
        else:  # bias_ih + bias_hh is our one bias: both get its gradient
            ours_grad = getattr(ours, "bias" + suffix).grad
        _close(ours_grad, p.grad, dtype, f"{what} grad of {name}", scale=100)


@settings(max_examples=12, deadline=None)
@given(
    mode=st.sampled_from(sorted(RECURRENT)),
    num_layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    relu=st.booleans(),
    bias=st.booleans(),
    with_state=st.booleans(),
    unbatched=st.booleans(),
    unroll=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_recurrent_layer(
    mode,
    num_layers,
    bidirectional,
    batch_first,
    relu,
    bias,
    with_state,
    unbatched,
    unroll,
    dtype,
    seed,
):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    ours_cls, torch_cls = RECURRENT[mode]
    n_in, hidden, steps, batch = 3, 4, 5, 2
    kw = dict(
        num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias
    )
    if mode == "rnn":
        kw["nonlinearity"] = "relu" if relu else "tanh"
    theirs = torch_cls(n_in, hidden, **kw, dtype=TORCH_DTYPE[dtype])
    ours = ours_cls(n_in, hidden, **kw, dtype=dtype, unroll=unroll)
    if bias:  # non-zero hidden biases, so that mixing them up is seen
        with torch.no_grad():
            for name, p in theirs.named_parameters():
                if name.startswith("bias"):
                    p.uniform_(-0.5, 0.5)
    ours.load_torch_state_dict(theirs.state_dict())
    if unbatched:
        x_shape = (steps, n_in)
        s_shape = (num_layers * (1 + bidirectional), hidden)
    else:
        x_shape = (batch, steps, n_in) if batch_first else (steps, batch, n_in)
        s_shape = (num_layers * (1 + bidirectional), batch, hidden)
    x, xt = _pair(rng, x_shape, dtype, -1.0, 1.0)
    states = [_pair(rng, s_shape, dtype, -1.0, 1.0) for _ in range(2 if mode == "lstm" else 1)]
    if with_state:
        state = tuple(s for s, _ in states) if mode == "lstm" else states[0][0]
        state_t = tuple(t for _, t in states) if mode == "lstm" else states[0][1]
        (out, fin), (out_t, fin_t) = ours(x, state), theirs(xt, state_t)
    else:
        (out, fin), (out_t, fin_t) = ours(x), theirs(xt)
    fin, fin_t = (fin, fin_t) if mode == "lstm" else ((fin,), (fin_t,))
    _close(out, out_t, dtype, f"{mode} output", scale=10)
    for i, (a, b) in enumerate(zip(fin, fin_t)):
        _close(a, b, dtype, f"{mode} final state {i}", scale=10)
    # one loss over the output and every final state
    loss = (out * out).sum() + sum((a * a * 0.5).sum() for a in fin)
    loss_t = (out_t * out_t).sum() + sum((b * b * 0.5).sum() for b in fin_t)
    loss.backward()
    loss_t.backward()
    _close(x.grad, xt.grad, dtype, f"{mode} input grad", scale=100)
    if with_state:
        for i, (s, t) in enumerate(states):
            _close(s.grad, t.grad, dtype, f"{mode} initial state {i} grad", scale=100)
    _recurrent_grads(ours, theirs, dtype, mode)


@FUZZ
@given(
    mode=st.sampled_from(sorted(CELLS)),
    relu=st.booleans(),
    bias=st.booleans(),
    with_state=st.booleans(),
    unbatched=st.booleans(),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_recurrent_cell(mode, relu, bias, with_state, unbatched, dtype, seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    ours_cls, torch_cls = CELLS[mode]
    kw = {"bias": bias}
    if mode == "rnn":
        kw["nonlinearity"] = "relu" if relu else "tanh"
    theirs = torch_cls(3, 4, **kw, dtype=TORCH_DTYPE[dtype])
    ours = ours_cls(3, 4, **kw, dtype=dtype)
    if bias:
        with torch.no_grad():
            theirs.bias_hh.uniform_(-0.5, 0.5)
    ours.load_torch_state_dict(theirs.state_dict())
    lead = () if unbatched else (2,)
    x, xt = _pair(rng, (*lead, 3), dtype, -1.0, 1.0)
    states = [_pair(rng, (*lead, 4), dtype, -1.0, 1.0) for _ in range(2 if mode == "lstm" else 1)]
    if with_state:
        state = tuple(s for s, _ in states) if mode == "lstm" else states[0][0]
        state_t = tuple(t for _, t in states) if mode == "lstm" else states[0][1]
        out, out_t = ours(x, state), theirs(xt, state_t)
    else:
        out, out_t = ours(x), theirs(xt)
    out, out_t = (out, out_t) if mode == "lstm" else ((out,), (out_t,))
    loss, loss_t = 0.0, 0.0
    for i, (a, b) in enumerate(zip(out, out_t)):
        _close(a, b, dtype, f"{mode} cell output {i}", scale=10)
        loss = loss + (a * a).sum() * (i + 1.0)
        loss_t = loss_t + (b * b).sum() * (i + 1.0)
    loss.backward()
    loss_t.backward()
    _close(x.grad, xt.grad, dtype, f"{mode} cell input grad", scale=100)
    if with_state:
        for i, (s, t) in enumerate(states):
            _close(s.grad, t.grad, dtype, f"{mode} cell state {i} grad", scale=100)
    _recurrent_grads(ours, theirs, dtype, f"{mode} cell")


# --------------------------------------------------------------------------- losses
REDUCTION = st.sampled_from(["mean", "sum", "none"])


@FUZZ
@given(
    name=st.sampled_from(["mse", "l1", "huber", "bce", "bce_logits"]),
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    reduction=REDUCTION,
    delta=st.floats(0.1, 3.0),
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_elementwise_losses(name, shape, reduction, delta, dtype, seed):
    rng = np.random.default_rng(seed)
    if name == "mse":
        ours, theirs = nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction)
    elif name == "l1":
        ours, theirs = nn.L1Loss(reduction=reduction), torch.nn.L1Loss(reduction=reduction)
    elif name == "huber":
        ours = nn.HuberLoss(delta=delta, reduction=reduction)
        theirs = torch.nn.HuberLoss(delta=delta, reduction=reduction)
    elif name == "bce":
        ours, theirs = nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction)
    else:
        ours = nn.BCEWithLogitsLoss(reduction=reduction)
        theirs = torch.nn.BCEWithLogitsLoss(reduction=reduction)
    if name == "bce":  # probabilities inside the clip range, soft targets
        x, xt = _pair(rng, shape, dtype, 0.02, 0.98)
        target = rng.uniform(0, 1, size=shape).astype(dtype)
    elif name == "bce_logits":
        x, xt = _pair(rng, shape, dtype, -20.0, 20.0)
        target = rng.uniform(0, 1, size=shape).astype(dtype)
    else:
        x, xt = _pair(rng, shape, dtype, -4.0, 4.0)
        target = rng.uniform(-4, 4, size=shape).astype(dtype)
    y, yt = ours(x, ad.tensor(target)), theirs(xt, torch.from_numpy(target))
    _close(y, yt, dtype, f"{name} loss ({reduction})", scale=10)
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, f"{name} loss ({reduction}) input grad", scale=10)


@FUZZ
@given(
    n=st.integers(1, 5),
    classes=st.integers(1, 5),
    probs=st.booleans(),
    nll=st.booleans(),
    reduction=REDUCTION,
    dtype=DTYPES,
    seed=st.integers(0, 2**16),
)
def test_classification_losses(n, classes, probs, nll, reduction, dtype, seed):
    rng = np.random.default_rng(seed)
    x, xt = _pair(rng, (n, classes), dtype, -5.0, 5.0)
    if nll:  # NLLLoss on log-probabilities and class indices
        ours, theirs = nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction)
        labels = rng.integers(0, classes, size=n)
        y = ours(ad.log_softmax(x, -1), labels)
        yt = theirs(torch.log_softmax(xt, -1), torch.from_numpy(labels))
    else:
        ours = nn.CrossEntropyLoss(reduction=reduction)
        theirs = torch.nn.CrossEntropyLoss(reduction=reduction)
        if probs:
            target = rng.dirichlet(np.ones(classes), size=n).astype(dtype)
        else:
            target = rng.integers(0, classes, size=n)
        y, yt = ours(x, target), theirs(xt, torch.from_numpy(target))
    _close(y, yt, dtype, f"classification loss ({reduction})", scale=10)
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, dtype, f"classification loss ({reduction}) input grad")


# ------------------------------------------------- keywords, positions, reprs, names
@pytest.mark.parametrize(
    "make",
    [
        # keywords PyTorch has and these layers lack
        lambda: nn.Linear(2, 3, device="cpu"),
        lambda: nn.Conv2d(2, 3, 3, padding_mode="reflect"),
        lambda: nn.ConvTranspose2d(2, 3, 3, padding_mode="zeros"),
        lambda: nn.MaxPool2d(2, ceil_mode=True),
        lambda: nn.MaxPool2d(2, dilation=2),
        lambda: nn.MaxPool2d(2, return_indices=True),
        lambda: nn.AvgPool2d(2, count_include_pad=False),
        lambda: nn.AvgPool2d(2, divisor_override=3),
        lambda: nn.BatchNorm1d(3, device="cpu"),
        lambda: nn.LayerNorm(3, bias=False),
        lambda: nn.Embedding(5, 3, padding_idx=0),
        lambda: nn.Embedding(5, 3, max_norm=1.0),
        lambda: nn.Dropout(0.5, inplace=True),
        lambda: nn.Dropout2d(0.5, inplace=True),
        lambda: nn.ReLU(inplace=True),
        lambda: nn.LeakyReLU(negative_slope=0.1),
        lambda: nn.ELU(inplace=True),
        lambda: nn.Softplus(beta=2.0),
        lambda: nn.Softplus(threshold=10.0),
        lambda: nn.Softmax(dim=1),
        lambda: nn.LSTM(3, 4, proj_size=2),
        lambda: nn.LSTMCell(3, 4, nonlinearity="relu"),
        lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
        lambda: nn.CrossEntropyLoss(ignore_index=0),
        lambda: nn.CrossEntropyLoss(weight=np.ones(3)),
        lambda: nn.NLLLoss(weight=np.ones(3)),
        lambda: nn.BCEWithLogitsLoss(pos_weight=np.ones(3)),
        lambda: nn.BCELoss(weight=np.ones(3)),
        # PyTorch's positional arguments that mean something else here
        lambda: nn.Embedding(5, 3, 0),  # padding_idx
        lambda: nn.BatchNorm1d(3, 1e-3),  # eps (momentum here before)
        lambda: nn.BatchNorm2d(3, 1e-3, 0.2),
        lambda: nn.Dropout(0.5, False),  # inplace
        lambda: nn.Dropout2d(0.5, True),
        lambda: nn.Dropout(0.5, rng=True),
        lambda: nn.HuberLoss("sum"),  # PyTorch's order is (reduction, delta)
        lambda: nn.BCELoss(np.ones(3)),  # weight
        lambda: nn.BCELoss(None),
        lambda: nn.CrossEntropyLoss(np.ones(3)),  # weight
        lambda: nn.NLLLoss(np.ones(3)),
        lambda: nn.MSELoss(True),  # size_average
    ],
)
def test_torch_only_arguments_fail_loudly(make):
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.PReLU(0),
        lambda: nn.PReLU(-1),
        lambda: nn.LayerNorm(0),
        lambda: nn.LayerNorm((2, 0)),
        lambda: nn.HuberLoss(0.0),
        lambda: nn.HuberLoss(-1.0),
        lambda: nn.BCELoss(0.5),
        lambda: nn.BCELoss(-1e-7),
    ],
)
def test_bad_sizes_fail_when_built(make):
    with pytest.raises(ValueError, match=r"PReLU|LayerNorm|HuberLoss|BCELoss"):
        make()


def test_layer_norm_takes_numpy_integers():
    assert nn.LayerNorm(np.int64(4)).normalized_shape == (4,)
    assert nn.LayerNorm((np.int32(2), 3)).normalized_shape == (2, 3)


def test_bce_loss_eps_zero_still_allowed():
    assert nn.BCELoss(0).eps == 0.0
    assert nn.BCELoss(eps=0.0)(ad.tensor([0.5]), ad.tensor([1.0])).item() == pytest.approx(
        np.log(2)
    )


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (nn.Linear(5, 3), torch.nn.Linear(5, 3)),
        (nn.Linear(5, 3, bias=False), torch.nn.Linear(5, 3, bias=False)),
        (nn.Conv2d(1, 30, 5), torch.nn.Conv2d(1, 30, 5)),
        (
            nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=2, groups=2, bias=False),
            torch.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, dilation=2, groups=2, bias=False),
        ),
        (
            nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
            torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
        ),
        (nn.Embedding(5, 3), torch.nn.Embedding(5, 3)),
        (nn.PReLU(3), torch.nn.PReLU(3)),
        (nn.ELU(0.5), torch.nn.ELU(0.5)),
        (nn.LSTM(5, 3, 2, bidirectional=True), torch.nn.LSTM(5, 3, 2, bidirectional=True)),
        (
            nn.GRU(3, 4, 2, bias=False, batch_first=True, dropout=0.2),
            torch.nn.GRU(3, 4, 2, bias=False, batch_first=True, dropout=0.2),
        ),
        (nn.MSELoss(), torch.nn.MSELoss()),
    ],
    ids=lambda m: type(m).__name__,
)
def test_repr_matches_pytorch(ours, theirs):
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    "layer,want",
    [
        # a setting that changes what the layer computes shows in its repr
        (nn.BatchNorm1d(3, affine=False), "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=False)"),
        (
            nn.BatchNorm2d(3, track_running_stats=False),
            "BatchNorm2d(3, eps=1e-05, momentum=0.1, track_running_stats=False)",
        ),
        (nn.LayerNorm((2, 3)), "LayerNorm((2, 3), eps=1e-05)"),
        (
            nn.LayerNorm(3, elementwise_affine=False),
            "LayerNorm((3,), eps=1e-05, elementwise_affine=False)",
        ),
        (nn.RNNCell(5, 3), "RNNCell(5, 3, bias=True)"),
        (nn.RNNCell(5, 3, nonlinearity="relu"), "RNNCell(5, 3, bias=True, nonlinearity='relu')"),
        (nn.LeakyReLU(0.2), "LeakyReLU(slope=0.2)"),
        (nn.Softmax(1), "Softmax(axis=1)"),
        (nn.RNN(3, 4), "RNN(3, 4)"),
        (nn.RNN(3, 4, nonlinearity="relu"), "RNN(3, 4, nonlinearity='relu')"),  # not in torch's
        (nn.BatchNorm1d(3), "BatchNorm1d(3, eps=1e-05, momentum=0.1)"),
        (nn.Dropout(0.3), "Dropout(p=0.3)"),
        (nn.HuberLoss(0.5, "sum"), "HuberLoss(delta=0.5, reduction='sum')"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_repr_shows_the_configuration(layer, want):
    assert repr(layer) == want


def _shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_state_dict_names_and_shapes_follow_the_docs():
    # Linear: weight (in, out), PyTorch's transposed
    assert _shapes(nn.Linear(5, 3)) == {"weight": (5, 3), "bias": (3,)}
    assert {k: v[::-1] for k, v in _shapes(nn.Linear(5, 3)).items()} == _shapes(
        torch.nn.Linear(5, 3)
    )
    for ours, theirs in [
        (nn.Conv2d(4, 6, (3, 2), groups=2), torch.nn.Conv2d(4, 6, (3, 2), groups=2)),
        (
            nn.ConvTranspose2d(4, 6, (3, 2), groups=2),
            torch.nn.ConvTranspose2d(4, 6, (3, 2), groups=2),
        ),
        (nn.Embedding(5, 3), torch.nn.Embedding(5, 3)),
        (nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3))),
    ]:
        assert _shapes(ours) == _shapes(theirs)
    # batch norm: PyTorch's buffers less num_batches_tracked (no cumulative average here)
    torch_bn = _shapes(torch.nn.BatchNorm2d(3))
    del torch_bn["num_batches_tracked"]
    assert _shapes(nn.BatchNorm2d(3)) == torch_bn
    assert _shapes(nn.BatchNorm1d(3, affine=False)) == {"running_mean": (3,), "running_var": (3,)}
    assert _shapes(nn.BatchNorm1d(3, affine=False, track_running_stats=False)) == {}
    assert _shapes(nn.LayerNorm(3, elementwise_affine=False)) == {}
    # PReLU's weight is called slope
    assert _shapes(nn.PReLU(3)) == {"slope": (3,)} and _shapes(torch.nn.PReLU(3)) == {
        "weight": (3,)
    }
    # recurrent: documented names, torch_state_dict() gives exactly PyTorch's names and shapes
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    assert _shapes(lstm)["weight_x_l1_reverse"] == (8, 16)
    assert _shapes(lstm)["bias_l0"] == (16,)
    for ours, theirs in [
        (lstm, torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)),
        (nn.GRU(3, 4, bias=False), torch.nn.GRU(3, 4, bias=False)),
        (nn.RNN(3, 4, 2), torch.nn.RNN(3, 4, 2)),
        (nn.GRUCell(3, 4), torch.nn.GRUCell(3, 4)),
        (nn.LSTMCell(3, 4, bias=False), torch.nn.LSTMCell(3, 4, bias=False)),
    ]:
        got = {k: v.shape for k, v in ours.torch_state_dict().items()}
        assert got == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}


BIG = np.array([[1000.0, -1000.0, 0.0], [-800.0, 5.0, 800.0]])
SOFT = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]])


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (nn.Softmax(-1), torch.nn.Softmax(-1)),
        (nn.LogSoftmax(0), torch.nn.LogSoftmax(0)),
        (nn.Softplus(), torch.nn.Softplus()),
        (nn.SELU(), torch.nn.SELU()),
        (nn.ELU(0.3), torch.nn.ELU(0.3)),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (
            lambda a: nn.BCEWithLogitsLoss(reduction="none")(a, ad.tensor(SOFT)),
            lambda t: torch.nn.BCEWithLogitsLoss(reduction="none")(t, torch.tensor(SOFT)),
        ),
        (
            lambda a: nn.CrossEntropyLoss(reduction="none")(a, np.array([1, 0])),
            lambda t: torch.nn.CrossEntropyLoss(reduction="none")(t, torch.tensor([1, 0])),
        ),
        (
            lambda a: nn.CrossEntropyLoss(reduction="sum")(a, SOFT / SOFT.sum(1, keepdims=True)),
            lambda t: torch.nn.CrossEntropyLoss(reduction="sum")(
                t, torch.tensor(SOFT / SOFT.sum(1, keepdims=True))
            ),
        ),
    ],
    ids=lambda m: getattr(type(m), "__name__", "loss"),
)
def test_extreme_scores_match_pytorch(ours, theirs):
    rng = np.random.default_rng(0)
    x, xt = ad.tensor(BIG, requires_grad=True), torch.tensor(BIG, requires_grad=True)
    y, yt = ours(x), theirs(xt)
    assert np.isfinite(y.data).all()
    _close(y, yt, np.float64, "extreme scores output")
    _backward(y, yt, rng)
    _close(x.grad, xt.grad, np.float64, "extreme scores input grad")
