"""dtypes through every layer, model and optimizer: float16, float32, float64, swapped byte
order ('>f4' read from a file), integer and mixed inputs.

What float16 means here: float16 in gives float16 out, parameters and gradients stay
float16, optimizer state is float16; ops whose kernels (numba, BLAS) have no float16
compute in float32 and round the result to float16, as PyTorch's CPU kernels do. An array
in swapped byte order is the same number type as its native twin. Anything the kernels
cannot take is a TypeError naming the op, never a numba error from inside.
"""

import time

import numpy as np
import pytest
from test_layer_contract import FACTORIES, is_float, tensors

import autodiff as ad
import nn

F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
RNG = np.random.default_rng(0)


def _normal(shape, dtype, scale=1.0):
    return (RNG.normal(size=shape) * scale).astype(dtype)


def _step_inputs(cell, batch=2, hidden=3, dtype=F32):
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    arrays = [_normal((batch, gates * hidden), dtype), _normal((batch, hidden), dtype)]
    if cell == "lstm":
        arrays.append(_normal((batch, hidden), dtype))
    arrays.append(_normal((hidden, gates * hidden), dtype, 0.5))
    return arrays


STEPS = {"rnn": ad.rnn_step, "lstm": ad.lstm_step, "gru": ad.gru_step}
SEQUENCES = {"rnn": ad.rnn_sequence, "lstm": ad.lstm_sequence, "gru": ad.gru_sequence}


def _run(fn, arrays):
    """Outputs (arrays) and input gradients (arrays) of ``fn`` with a fixed upstream."""
    leaves = [ad.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    out = out if isinstance(out, tuple) else (out,)
    total = sum(
        (o.astype(np.float64) * np.linspace(0.5, 1.5, o.size).reshape(o.shape)).sum() for o in out
    )
    total.backward()
    return [o.data for o in out], [t.grad.data for t in leaves]


# ------------------------------------------------------------------ recurrent steps


@pytest.mark.parametrize("cell", list(STEPS))
@pytest.mark.parametrize("dtype", ["float16", ">f4", ">f8"])
def test_recurrent_step_takes_float16_and_swapped_byte_order(cell, dtype):
    # lstm_step raised NotImplementedError (float16) or numba's TypingError ('>f4')
    dtype = np.dtype(dtype)
    arrays = _step_inputs(cell, dtype=dtype)
    outs, grads = _run(STEPS[cell], arrays)
    want = dtype.newbyteorder("=")
    assert [o.dtype for o in outs] == [want] * len(outs)
    assert [g.dtype.newbyteorder("=") for g in grads] == [want] * len(grads)
    ref_outs, ref_grads = _run(STEPS[cell], [a.astype(F64) for a in arrays])
    tol = 2e-2 if dtype == F16 else 1e-5
    for got, ref in zip(outs + grads, ref_outs + ref_grads):
        np.testing.assert_allclose(got.astype(F64), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("cell", list(SEQUENCES))
@pytest.mark.parametrize("dtype", ["float16", ">f4"])
@pytest.mark.parametrize("time_axis", [0, 1])
def test_recurrent_sequence_takes_float16_and_swapped_byte_order(cell, dtype, time_axis):
    dtype = np.dtype(dtype)
    steps, batch, hidden = 4, 2, 3
    xw, *rest = _step_inputs(cell, batch, hidden, dtype)
    seq = _normal(
        (steps, batch, xw.shape[1]) if time_axis == 0 else (batch, steps, xw.shape[1]), dtype
    )
    fn = SEQUENCES[cell]
    outs, grads = _run(lambda *a: fn(*a, time_axis=time_axis), [seq, *rest])
    assert all(o.dtype == dtype.newbyteorder("=") for o in outs)
    ref_outs, ref_grads = _run(
        lambda *a: fn(*a, time_axis=time_axis), [a.astype(F64) for a in (seq, *rest)]
    )
    tol = 3e-2 if dtype == F16 else 1e-5
    for got, ref in zip(outs + grads, ref_outs + ref_grads):
        np.testing.assert_allclose(got.astype(F64), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("cell", list(STEPS))
def test_recurrent_steps_follow_numpy_promotion(cell):
    # float64 xw with float32 state and weights gave a float32 LSTM/RNN state (the float64
    # input was rounded into float32), but float64 for the GRU
    arrays = _step_inputs(cell)
    arrays[0] = arrays[0].astype(F64)
    outs, grads = _run(STEPS[cell], arrays)
    assert all(o.dtype == F64 for o in outs)
    assert [g.dtype for g in grads] == [a.dtype for a in arrays]
    ref, _ = _run(STEPS[cell], [a.astype(F64) for a in arrays])
    for got, want in zip(outs, ref):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", list(STEPS))
@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.complex128])
def test_recurrent_steps_refuse_non_float_inputs_by_name(cell, dtype):
    # lstm_step on integers returned an int64 (bool: a bool) state computed by truncation;
    # on complex numbers it raised numba's TypingError
    arrays = [np.ones(a.shape, dtype) for a in _step_inputs(cell)]
    with pytest.raises(TypeError, match=f"{cell}_step.*needs a float16, float32 or float64"):
        STEPS[cell](*arrays)


def test_lstm_step_float32_path_does_not_copy_or_convert():
    # the benchmark's hot path: float32 in, float32 out, no cast on the way
    xw, h, c, w = _step_inputs("lstm")
    h2, c2 = ad.lstm_step(xw, h, c, w)
    assert h2.dtype == c2.dtype == F32
    assert h2.data.flags.c_contiguous and c2.data.flags.c_contiguous


# ------------------------------------------------------------------ layers


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU, nn.RNN, nn.LSTMCell, nn.GRUCell, nn.RNNCell])
def test_recurrent_layer_in_float16_matches_float32(kind):
    # nn.LSTM(5, 7, dtype=np.float16) raised NotImplementedError: float16
    nn.manual_seed(0)
    layer = kind(5, 7, dtype=np.float16)
    assert all(p.dtype == F16 for p in layer.parameters())
    shape = (2, 5) if kind.__name__.endswith("Cell") else (3, 2, 5)
    x = _normal(shape, F32)
    xh = ad.tensor(x.astype(F16), requires_grad=True)
    out = tensors(layer(xh))
    assert [o.dtype for o in out] == [F16] * len(out)
    sum(o.astype(np.float64).sum() for o in out).backward()
    assert all(p.grad.dtype == F16 for p in layer.parameters())
    assert xh.grad.dtype == F16
    grads16 = [p.grad.data.astype(F64) for p in layer.parameters()]

    layer.astype(np.float32)  # the same (float16-representable) weights in float32
    for p in layer.parameters():
        p.grad = None
    x32 = ad.tensor(x.astype(F16).astype(F32), requires_grad=True)
    ref = tensors(layer(x32))
    sum(o.astype(np.float64).sum() for o in ref).backward()
    for got, want in zip(out, ref):
        np.testing.assert_allclose(got.data.astype(F64), want.data, rtol=2e-2, atol=2e-2)
    for got, p in zip(grads16, layer.parameters()):
        np.testing.assert_allclose(got, p.grad.data, rtol=3e-2, atol=3e-2)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_recurrent_layers_in_float16_match_pytorch(kind):
    torch = pytest.importorskip("torch")
    ours_cls, theirs_cls = {
        "lstm": (nn.LSTM, torch.nn.LSTM),
        "gru": (nn.GRU, torch.nn.GRU),
        "rnn": (nn.RNN, torch.nn.RNN),
    }[kind]
    nn.manual_seed(0)
    ours = ours_cls(4, 6, num_layers=2, bidirectional=True, dtype=np.float16)
    theirs = theirs_cls(4, 6, num_layers=2, bidirectional=True).half()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.torch_state_dict().items()})
    x = _normal((5, 3, 4), F16)
    xa = ad.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_a, _ = ours(xa)
    out_t, _ = theirs(xt)
    assert out_a.dtype == F16
    np.testing.assert_allclose(
        out_a.data.astype(F64), out_t.detach().numpy().astype(F64), rtol=1e-2, atol=1e-2
    )
    out_a.astype(np.float64).sum().backward()
    out_t.float().sum().backward()
    assert xa.grad.dtype == F16
    np.testing.assert_allclose(
        xa.grad.data.astype(F64), xt.grad.numpy().astype(F64), rtol=3e-2, atol=3e-2
    )


def test_float16_lstm_unrolled_equals_the_sequence_node():
    nn.manual_seed(0)
    fused = nn.LSTM(3, 4, dtype=np.float16)
    unrolled = nn.LSTM(3, 4, dtype=np.float16, unroll=True)
    unrolled.load_state_dict(fused.state_dict())
    x = _normal((6, 2, 3), F16)
    a, (ha, ca) = fused(x)
    b, (hb, cb) = unrolled(x)
    for u, v in ((a, b), (ha, hb), (ca, cb)):
        assert u.dtype == v.dtype == F16
        np.testing.assert_array_equal(u.data, v.data)


LOSSES = {c for c in FACTORIES if c.__name__.endswith("Loss")}


@pytest.mark.parametrize("dtype", [F16, F64])
@pytest.mark.parametrize(
    "cls", sorted(FACTORIES, key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_every_layer_and_model_keeps_its_dtype(cls, dtype):
    # LSTM, LSTMCell and RNNLanguageModel raised NotImplementedError in float16
    module, inputs = FACTORIES[cls](0)
    module.astype(dtype)
    xs = [ad.tensor(x.astype(dtype), requires_grad=True) if is_float(x) else x for x in inputs]
    for training in (True, False):
        module.train(training)
        for p in module.parameters():
            p.grad = None
        for x in xs:
            if isinstance(x, ad.Tensor):
                x.grad = None
        out = tensors(module(*xs))
        assert [o.dtype for o in out] == [dtype] * len(out), cls.__name__
        assert all(np.isfinite(o.data).all() for o in out)
        sum(o.astype(np.float64).sum() for o in out).backward()
        for name, p in module.named_parameters():
            assert p.dtype == dtype, name
            assert p.grad is not None and p.grad.dtype == dtype, name
        for name, b in module.named_buffers():
            assert b.dtype.kind != "f" or b.dtype == dtype, name
        for x in xs:
            if isinstance(x, ad.Tensor):
                assert x.grad.dtype == dtype


SWAPPED_INPUT = [
    c
    for c in FACTORIES
    if c not in LOSSES and c is not nn.models.RNNLanguageModel and c is not nn.Embedding
]


@pytest.mark.parametrize(
    "cls", sorted(SWAPPED_INPUT, key=lambda c: c.__name__), ids=lambda c: c.__name__
)
def test_a_big_endian_tensor_that_wants_gradients_is_a_float32_input(cls):
    # a '>f4' tensor with requires_grad=True was refused by Conv2d and the recurrent layers:
    # "Conv2d has float32 weights but got a float32 input"
    module, inputs = FACTORIES[cls](0)
    xs = [ad.tensor(x.astype(">f4"), requires_grad=True) for x in inputs]
    nn.manual_seed(0)  # the same dropout masks in both calls
    out = tensors(module(*xs))
    nn.manual_seed(0)
    ref = tensors(module(*[x.astype(F32) for x in inputs]))
    for got, want in zip(out, ref):
        assert got.dtype.newbyteorder("=") == F32
        np.testing.assert_allclose(got.data, want.data, rtol=1e-6, atol=1e-6)
    sum(o.sum() for o in out).backward()
    assert all(x.grad is not None for x in xs)


def test_float16_linear_uses_float32_blas():
    # numpy's float16 matmul has no BLAS: a float16 Linear(512, 512) step on a batch of
    # 256 took ~2 s; through float32 BLAS it is milliseconds, with the same bits
    nn.manual_seed(0)
    layer = nn.Linear(512, 512, dtype=np.float16)
    x = ad.tensor(_normal((256, 512), F16), requires_grad=True)
    y = layer(x)  # warm-up
    start = time.perf_counter()
    y = layer(x)
    (y.astype(np.float64) * 1e-3).sum().backward()
    elapsed = time.perf_counter() - start
    assert elapsed < 0.3, elapsed
    assert y.dtype == layer.weight.grad.dtype == x.grad.dtype == F16
    want = (x.data.astype(F32) @ layer.weight.data.astype(F32)).astype(F16) + layer.bias.data
    np.testing.assert_array_equal(y.data, want)


# ------------------------------------------------------------------ optimizers

OPTIMIZERS = {
    "SGD": (lambda p: nn.optim.SGD(p, lr=0.1), "SGD", {"lr": 0.1}),
    "Momentum": (lambda p: nn.optim.Momentum(p, lr=0.1), None, None),
    "Nesterov": (lambda p: nn.optim.Nesterov(p, lr=0.1), None, None),
    "AdaGrad": (lambda p: nn.optim.AdaGrad(p, lr=0.1, eps=1e-4), None, None),
    "AdaDelta": (lambda p: nn.optim.AdaDelta(p), "Adadelta", {}),
    "RMSprop": (lambda p: nn.optim.RMSprop(p, eps=1e-4), "RMSprop", {"lr": 0.01, "eps": 1e-4}),
    "Adam": (lambda p: nn.optim.Adam(p, lr=0.01, eps=1e-4), "Adam", {"lr": 0.01, "eps": 1e-4}),
    "AdaMax": (lambda p: nn.optim.AdaMax(p, lr=0.01, eps=1e-4), None, None),
    "Nadam": (lambda p: nn.optim.Nadam(p, lr=0.01, eps=1e-4), "NAdam", {"lr": 0.01, "eps": 1e-4}),
}
GRADS = [np.array([3e-3, -0.3, 0.0, 2.0]), np.array([0.0, 0.2, 0.0, -1e-2])]


@pytest.mark.parametrize("dtype", [F16, F64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizers_keep_the_parameter_dtype_and_match_pytorch(name, dtype):
    make, torch_name, torch_kwargs = OPTIMIZERS[name]
    w0 = np.array([0.5, -1.0, 2.0, 0.25])
    p = nn.Parameter(w0, dtype=dtype)
    opt = make([p])
    for g in GRADS:
        p.grad = ad.Tensor(g.astype(dtype))
        opt.step()
    assert p.data.dtype == dtype
    assert np.isfinite(p.data).all()
    for key, value in opt.state[p].items():
        if isinstance(value, np.ndarray):
            assert value.dtype == dtype, key
    if torch_name is None:
        return
    torch = pytest.importorskip("torch")
    tp = torch.tensor(w0.astype(dtype), requires_grad=True)
    topt = getattr(torch.optim, torch_name)([tp], **torch_kwargs)
    for g in GRADS:
        tp.grad = torch.tensor(g.astype(dtype))
        topt.step()
    # (1e-9: PyTorch keeps NAdam's mu_product in float32)
    tol = 2e-3 if dtype == F16 else 1e-9
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["AdaGrad", "RMSprop", "Adam", "AdaMax", "Nadam"])
def test_float16_parameters_with_an_eps_float16_cannot_hold_are_refused(name):
    # with the default eps (1e-8 -> 0 in float16) a zero gradient gave 0 / 0 = NaN weights
    # (Adam, RMSprop, AdaMax, Nadam) and AdaGrad moved a weight by 84 for a gradient of 1e-4
    cls = getattr(nn.optim, name)
    w = nn.Parameter(np.ones(3), dtype=np.float16, name="w")
    with pytest.raises(ValueError, match=f"{name}: parameter 0 \\('w'\\) is float16.*eps"):
        cls([w])
    # a model made float16 after the optimizer: refused at the first step, before any update
    v = nn.Parameter(np.ones(3), name="v")
    opt = cls([v])
    v.data = v.data.astype(np.float16)
    v.grad = ad.Tensor(np.array([0.0, 1e-4, 1.0], np.float16))
    with pytest.raises(ValueError, match="is float16"):
        opt.step()


def test_float16_adadelta_keeps_its_default_eps():
    w = nn.Parameter(np.ones(2), dtype=np.float16)
    opt = nn.optim.AdaDelta([w])
    w.grad = ad.Tensor(np.array([0.0, 1e-4], np.float16))
    opt.step()
    assert np.isfinite(w.data).all() and w.data.dtype == F16


def test_a_float16_mlp_trains_with_sgd_and_adam():
    nn.manual_seed(0)
    x = _normal((64, 4), F32)
    y = (x[:, 0] > 0).astype(np.int64)
    for make in (lambda p: nn.optim.SGD(p, lr=0.5), lambda p: nn.optim.Adam(p, 1e-2, eps=1e-4)):
        model = nn.models.MLP([4, 16, 2], activation="relu").astype(np.float16)
        opt = make(model.parameters())
        loss_fn = nn.CrossEntropyLoss()
        losses = []
        for _ in range(30):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
        assert all(p.dtype == F16 for p in model.parameters())
        assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], losses
