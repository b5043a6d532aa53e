"""Recurrent layers: gradient checks (hypothesis, float64), BPTT at length 1,000,
truncated BPTT, the sequence loader and the layer options."""

import collections
import gc
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import autodiff as ad
import nn
from autodiff.testing import gradcheck, gradgradcheck
from nn.data import BPTTLoader, batchify

LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}
F64 = np.float64

# Each example runs hundreds of unrolled forwards for the finite differences; at most
# 40 examples per property (the CI profile's count) keeps the file within its time budget.
LAYER_SETTINGS = settings(max_examples=min(settings().max_examples, 40))


def _flat(result):
    """(output, state) with state a Tensor or (h, c) -> a flat tuple of Tensors."""
    out, state = result
    return (out,) + (tuple(state) if isinstance(state, tuple) else (state,))


def _layer_fn(layer, names, n_state, batch_first_state=None):
    def f(x, *rest):
        states, params = rest[:n_state], rest[n_state:]
        state = None
        if n_state == 1:
            state = states[0]
        elif n_state == 2:
            state = (states[0], states[1])
        return _flat(nn.functional_call(layer, dict(zip(names, params)), x, state))

    return f


@hs.composite
def layer_cases(draw, mode):
    rng_seed = draw(hs.integers(0, 2**31 - 1))
    return dict(
        mode=mode,
        steps=draw(hs.integers(1, 12)),
        batch=draw(hs.integers(1, 2)),
        n_in=draw(hs.integers(1, 3)),
        hidden=draw(hs.integers(1, 3)),
        with_state=draw(hs.booleans()),
        bidirectional=draw(hs.booleans()),
        batch_first=draw(hs.booleans()),
        nonlinearity=draw(hs.sampled_from(["tanh", "relu"])) if mode == "rnn" else None,
        seed=rng_seed,
    )


def _check_layer(case, num_layers=1):
    rng = np.random.default_rng(case["seed"])
    kwargs = dict(
        num_layers=num_layers,
        bidirectional=case["bidirectional"],
        batch_first=case["batch_first"],
        dtype=F64,
    )
    if case["nonlinearity"]:
        kwargs["nonlinearity"] = case["nonlinearity"]
    nn.manual_seed(case["seed"])
    layer = LAYERS[case["mode"]](case["n_in"], case["hidden"], **kwargs)
    names = [n for n, _ in layer.named_parameters()]
    params = [rng.uniform(-1.0, 1.0, p.shape) for _, p in layer.named_parameters()]
    t, b = case["steps"], case["batch"]
    x = rng.normal(size=(b, t, case["n_in"]) if case["batch_first"] else (t, b, case["n_in"]))
    d = 2 if case["bidirectional"] else 1
    states = []
    if case["with_state"]:
        n_state = 2 if case["mode"] == "lstm" else 1
        states = [rng.normal(size=(num_layers * d, b, case["hidden"])) for _ in range(n_state)]
    fn = _layer_fn(layer, names, len(states))
    assert gradcheck(fn, [x, *states, *params], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
@LAYER_SETTINGS
@given(data=hs.data())
def test_layer_gradients(mode, data):
    _check_layer(data.draw(layer_cases(mode), label="case"))


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_two_layer_bidirectional_gradients(mode):
    case = dict(
        mode=mode,
        steps=4,
        batch=2,
        n_in=2,
        hidden=2,
        with_state=True,
        bidirectional=True,
        batch_first=False,
        nonlinearity="tanh" if mode == "rnn" else None,
        seed=3,
    )
    _check_layer(case, num_layers=2)


@hs.composite
def cell_cases(draw):
    return dict(
        batch=draw(hs.integers(1, 3)),
        n_in=draw(hs.integers(1, 3)),
        hidden=draw(hs.integers(1, 4)),
        with_state=draw(hs.booleans()),
        seed=draw(hs.integers(0, 2**31 - 1)),
    )


def _cell_setup(mode, case, **kwargs):
    rng = np.random.default_rng(case["seed"])
    cell = CELLS[mode](case["n_in"], case["hidden"], dtype=F64, **kwargs)
    names = [n for n, _ in cell.named_parameters()]
    params = [rng.uniform(-1.0, 1.0, p.shape) for _, p in cell.named_parameters()]
    x = rng.normal(size=(case["batch"], case["n_in"]))
    n_state = (2 if mode == "lstm" else 1) if case["with_state"] else 0
    states = [rng.normal(size=(case["batch"], case["hidden"])) for _ in range(n_state)]

    def f(x, *rest):
        st, ps = rest[:n_state], rest[n_state:]
        state = None if not st else (st[0] if len(st) == 1 else tuple(st))
        out = nn.functional_call(cell, dict(zip(names, ps)), x, state)
        return tuple(out) if isinstance(out, tuple) else out

    return f, [x, *states, *params]


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
@LAYER_SETTINGS
@given(case=cell_cases())
def test_cell_gradients(mode, case):
    f, inputs = _cell_setup(mode, case)
    assert gradcheck(f, inputs)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@LAYER_SETTINGS
@given(case=cell_cases())
def test_rnn_cell_second_order(nonlinearity, case):
    f, inputs = _cell_setup("rnn", case, nonlinearity=nonlinearity)
    assert gradgradcheck(f, inputs)


@pytest.mark.parametrize("unroll", [False, True])
def test_second_order_through_an_lstm(unroll):
    # create_graph=True goes through the differentiable backward of the sequence node
    # (which replays the steps) or of every step node
    rng = np.random.default_rng(0)
    nn.manual_seed(0)
    lstm = nn.LSTM(2, 2, dtype=F64, unroll=unroll)
    names = [n for n, _ in lstm.named_parameters()]
    params = [p.data.copy() for p in lstm.parameters()]

    def f(x, *ps):
        return _flat(nn.functional_call(lstm, dict(zip(names, ps)), x))

    assert gradgradcheck(f, [rng.normal(size=(3, 1, 2)), *params])


# ------------------------------------------------------------------ semantics


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_layer_equals_a_loop_over_its_cell(mode):
    nn.manual_seed(1)
    layer = LAYERS[mode](3, 4)
    cell = CELLS[mode](3, 4)
    for name in ("weight_x", "weight_h"):
        getattr(cell, name).data[...] = getattr(layer, name + "_l0").data
    if mode == "gru":
        cell.bias_x.data[...] = layer.bias_x_l0.data
        cell.bias_h.data[...] = layer.bias_h_l0.data
    else:
        cell.bias.data[...] = layer.bias_l0.data
    x = np.random.default_rng(0).normal(size=(6, 2, 3)).astype(np.float32)
    out, _ = layer(x)
    state = None
    for t in range(6):
        state = cell(x[t], state)
        h = state[0] if mode == "lstm" else state
        np.testing.assert_allclose(out.data[t], h.data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "mode, kwargs",
    [
        ("rnn", {}),
        ("rnn", {"nonlinearity": "relu", "bidirectional": True}),
        ("lstm", {"num_layers": 2, "bidirectional": True}),
        ("lstm", {"batch_first": True}),
        ("gru", {"bidirectional": True, "batch_first": True}),
        ("gru", {"bias": False, "num_layers": 2}),
    ],
)
def test_sequence_node_equals_the_unrolled_steps(mode, kwargs):
    # The fused sequence node and one step node per time step: same outputs, final
    # states and gradients (for every parameter, the input and the initial state).
    rng = np.random.default_rng(4)
    results = []
    for unroll in (False, True):
        nn.manual_seed(5)
        layer = LAYERS[mode](3, 4, unroll=unroll, **kwargs)
        d = 2 if kwargs.get("bidirectional") else 1
        shape = (2, 6, 3) if kwargs.get("batch_first") else (6, 2, 3)
        x = ad.tensor(rng.normal(size=shape).astype(np.float32), requires_grad=True)
        rng = np.random.default_rng(4)  # the same data for both layers
        h0 = ad.tensor(np.full((kwargs.get("num_layers", 1) * d, 2, 4), 0.3, np.float32))
        h0.requires_grad = True
        state = (h0, h0 * 0.5) if mode == "lstm" else h0
        out, final = layer(x, state)
        finals = list(final) if mode == "lstm" else [final]
        loss = (out * out).sum() + sum((f * float(k + 2)).sum() for k, f in enumerate(finals))
        loss.backward()
        grads = [x.grad.data, h0.grad.data] + [p.grad.data for p in layer.parameters()]
        results.append(([out.data, *[f.data for f in finals]], grads))
    (values, grads), (values_u, grads_u) = results
    for a, b in zip(values + grads, values_u + grads_u):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_unroll_records_one_node_per_step_and_the_default_one_per_layer():
    x = np.ones((5, 2, 3), np.float32)
    for unroll, op, count in ((False, "lstm_sequence", 1), (True, "lstm_step", 5)):
        out, _ = nn.LSTM(3, 4, unroll=unroll)(x)
        names = [n.op for n in ad.graph.trace(out).nodes]
        assert names.count(op) == count, names


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_reverse_direction_reads_the_sequence_backwards(mode):
    nn.manual_seed(2)
    bi = LAYERS[mode](3, 4, bidirectional=True)
    uni = LAYERS[mode](3, 4)
    for name, p in uni.named_parameters():
        p.data[...] = getattr(bi, name + "_reverse").data
    x = np.random.default_rng(1).normal(size=(5, 2, 3)).astype(np.float32)
    out, state = bi(x)
    out_rev, state_rev = uni(x[::-1].copy())
    np.testing.assert_allclose(out.data[:, :, 4:], out_rev.data[::-1], rtol=1e-5, atol=1e-6)
    h_n = state[0] if mode == "lstm" else state
    h_rev = state_rev[0] if mode == "lstm" else state_rev
    np.testing.assert_allclose(h_n.data[1], h_rev.data[0], rtol=1e-5, atol=1e-6)
    assert out.shape == (5, 2, 8)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_batch_first_and_unbatched_agree_with_time_major(mode):
    nn.manual_seed(3)
    layer = LAYERS[mode](3, 4, num_layers=2, bidirectional=True)
    x = np.random.default_rng(2).normal(size=(5, 2, 3)).astype(np.float32)
    out, _ = layer(x)
    layer.batch_first = True
    out_bf, _ = layer(np.swapaxes(x, 0, 1))
    np.testing.assert_allclose(np.swapaxes(out_bf.data, 0, 1), out.data, rtol=1e-6)
    layer.batch_first = False
    out_one, state_one = layer(x[:, 1])
    np.testing.assert_allclose(out_one.data, out.data[:, 1], rtol=1e-5, atol=1e-6)
    h = state_one[0] if mode == "lstm" else state_one
    assert h.shape == (4, 4)


def test_initial_state_is_used_and_checked():
    nn.manual_seed(4)
    lstm = nn.LSTM(2, 3, num_layers=2)
    x = np.ones((4, 5, 2), np.float32)
    h0 = np.full((2, 5, 3), 0.5, np.float32)
    out0, _ = lstm(x)
    out1, (h_n, c_n) = lstm(x, (h0, h0))
    assert not np.allclose(out0.data, out1.data)
    assert h_n.shape == c_n.shape == (2, 5, 3)
    with pytest.raises(
        ValueError, match=r"initial h_0 has shape \(1, 5, 3\), expected \(2, 5, 3\)"
    ):
        lstm(x, (h0[:1], h0))
    with pytest.raises(ValueError, match="expects input"):
        lstm(np.ones((4, 5, 3), np.float32))
    # one array where the pair (h_0, c_0) belongs: it used to be unpacked along its first
    # axis, and the message then blamed a shape the user never passed
    with pytest.raises(
        ValueError,
        match=r"LSTM: the state of an LSTM is the pair \(h_0, c_0\) .* got one array of shape "
        r"\(2, 5, 3\)",
    ):
        lstm(x, h0)
    with pytest.raises(ValueError, match=r"LSTMCell: .* pair \(h, c\) .* got a list of 1"):
        nn.LSTMCell(2, 3)(x[0], [h0[0]])


def test_gradient_reaches_the_initial_state():
    nn.manual_seed(5)
    gru = nn.GRU(2, 3)
    h0 = ad.tensor(np.zeros((1, 4, 3), np.float32), requires_grad=True)
    out, _ = gru(np.ones((3, 4, 2), np.float32), h0)
    out.sum().backward()
    assert h0.grad is not None and h0.grad.shape == (1, 4, 3)
    assert np.abs(h0.grad.data).sum() > 0


def test_dropout_between_layers_only_in_training():
    nn.manual_seed(6)
    rnn = nn.RNN(3, 16, num_layers=2, dropout=0.5)
    x = np.ones((4, 2, 3), np.float32)
    a, _ = rnn(x)
    b, _ = rnn(x)
    assert not np.allclose(a.data, b.data)
    rnn.eval()
    c, _ = rnn(x)
    d, _ = rnn(x)
    np.testing.assert_array_equal(c.data, d.data)
    one_layer = nn.RNN(3, 16, dropout=0.5)  # nothing between layers: no randomness
    np.testing.assert_array_equal(one_layer(x)[0].data, one_layer(x)[0].data)


def test_float32_end_to_end():
    nn.manual_seed(7)
    for cls in LAYERS.values():
        layer = cls(3, 4, bidirectional=True)
        out, state = layer(np.ones((5, 2, 3)))  # float64 input is cast to the layer's dtype
        out.sum().backward()
        assert out.dtype == np.float32
        assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_bias_false_and_repr():
    lstm = nn.LSTM(3, 4, bias=False, num_layers=2, batch_first=True)
    assert [n for n, _ in lstm.named_parameters()] == [
        "weight_x_l0",
        "weight_h_l0",
        "weight_x_l1",
        "weight_h_l1",
    ]
    out, _ = lstm(np.ones((2, 5, 3), np.float32))
    assert out.shape == (2, 5, 4)
    assert "num_layers=2" in repr(lstm) and "batch_first=True" in repr(lstm)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_torch_state_dict_round_trip(mode):
    a = LAYERS[mode](3, 4, num_layers=2, bidirectional=True)
    b = LAYERS[mode](3, 4, num_layers=2, bidirectional=True)
    sd = a.torch_state_dict()
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[mode]
    assert sd["weight_ih_l0"].shape == (gates * 4, 3)
    assert sd["weight_ih_l1_reverse"].shape == (gates * 4, 8)
    b.load_torch_state_dict(sd)
    x = np.random.default_rng(0).normal(size=(3, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(a(x)[0].data, b(x)[0].data, rtol=1e-6)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_load_torch_state_dict_checks_everything_before_writing(mode):
    # Keys, then shapes: a dict for another architecture is an error that names what
    # does not match, and the layer keeps its weights.
    layer = LAYERS[mode](3, 4, num_layers=2)
    before = {k: v.copy() for k, v in layer.torch_state_dict().items()}
    other_shapes = LAYERS[mode](1, 4, num_layers=2).torch_state_dict()
    one_layer = LAYERS[mode](3, 4).torch_state_dict()
    no_bias = LAYERS[mode](3, 4, num_layers=2, bias=False).torch_state_dict()
    extra = {**before, "weight_ih_l2": before["weight_ih_l1"]}
    for state, words in (
        (other_shapes, "shape mismatch"),
        (one_layer, "missing keys ['weight_ih_l1'"),
        (no_bias, "missing keys ['bias_ih_l0'"),
        (extra, "unexpected keys ['weight_ih_l2']"),
    ):
        with pytest.raises(ValueError, match=r"load_torch_state_dict") as err:
            layer.load_torch_state_dict(state)
        assert words in str(err.value)
        for k, v in layer.torch_state_dict().items():
            np.testing.assert_array_equal(v, before[k])
    with pytest.raises(ValueError, match=r"unexpected keys \['bias_ih_l0'"):
        LAYERS[mode](3, 4, num_layers=2, bias=False).load_torch_state_dict(before)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_layers_and_cells_reject_an_input_of_another_dtype(mode):
    # A tensor that wants gradients is not converted behind the user's back; before, the
    # result's dtype depended on the cell (float32 for RNN and LSTM, float64 for GRU).
    x = ad.tensor(np.ones((5, 2, 3)), requires_grad=True)  # float64
    with pytest.raises(TypeError, match=r"float32 weights but got a float64 input"):
        LAYERS[mode](3, 4)(x)
    cell = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[mode](3, 4)
    with pytest.raises(TypeError, match=r"float32 weights but got a float64 input"):
        cell(x[0])
    out, _ = LAYERS[mode](3, 4)(np.ones((5, 2, 3)))  # a float64 batch is converted
    assert out.dtype == np.float32


@pytest.mark.parametrize("bad", [{"hidden_size": 4.5}, {"num_layers": 2.0}, {"input_size": True}])
def test_sizes_must_be_positive_ints(bad):
    sizes = {"input_size": 3, "hidden_size": 4, "num_layers": 1, **bad}
    (name,) = bad
    with pytest.raises(ValueError, match=rf"LSTM: {name} must be a positive int"):
        nn.LSTM(**sizes)
    if name != "num_layers":
        sizes.pop("num_layers")
        with pytest.raises(ValueError, match=rf"GRUCell: {name} must be a positive int"):
            nn.GRUCell(**sizes)


def test_gru_step_checks_the_hidden_bias_shape():
    with pytest.raises(ValueError, match=r"b_h has shape \(2, 6\); expected \(6,\)"):
        ad.gru_step(np.zeros((2, 6)), np.zeros((2, 2)), np.zeros((2, 6)), np.zeros((2, 6)))
    with pytest.raises(ValueError, match=r"b_h has shape \(5,\)"):
        ad.gru_sequence(np.zeros((3, 2, 6)), np.zeros((2, 2)), np.zeros((2, 6)), np.zeros(5))


def test_unstack_rejects_an_axis_out_of_range():
    x = np.arange(6.0).reshape(2, 3)
    assert [t.shape for t in ad.unstack(x, -1)] == [(2,), (2,), (2,)]
    for axis in (2, -3):
        with pytest.raises(ValueError, match=rf"unstack.*axis {axis} is out of range"):
            ad.unstack(x, axis)
    with pytest.raises(TypeError, match="unstack.*axis must be an int"):
        ad.unstack(x, 1.0)


# ------------------------------------------------------------------ long sequences


@pytest.mark.parametrize("unroll", [False, True])
def test_a_1000_step_lstm_backpropagates_in_bounded_memory(unroll):
    nn.manual_seed(8)
    batch, n_in, hidden, steps = 4, 8, 32, 1000
    lstm = nn.LSTM(n_in, hidden, unroll=unroll)
    x = np.random.default_rng(0).normal(size=(steps, batch, n_in)).astype(np.float32)
    gc.collect()
    tracemalloc.start()
    try:
        out, (h_n, _) = lstm(x)
        loss = (out * out).mean() + h_n.sum()
        loss.backward()  # no recursion: the engine walks a heap, not the call stack
        _, peak = tracemalloc.get_traced_memory()
        del out, h_n, loss
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # What BPTT must keep per step: the gates and tanh(c) (4*32 + 32 floats), h and c
    # (2 * 32) for 4 rows, ~3.5 KB in float32, plus a few hundred bytes of node; the
    # bound allows ~6x that, so a leak of one extra gate-sized array per step is caught.
    per_step = 4 * 4 * (4 * hidden + hidden + 2 * hidden)
    assert peak < 6 * steps * per_step + 2_000_000, peak
    assert after < 1_000_000, after  # the graph is freed after backward
    grads = [p.grad.data for p in lstm.parameters()]
    assert all(np.isfinite(g).all() for g in grads)
    assert np.abs(x.sum()) >= 0 and lstm.weight_h_l0.grad.shape == (hidden, 4 * hidden)


def test_truncated_bptt_stops_at_the_chunk_boundary():
    nn.manual_seed(9)
    rnn = nn.RNN(1, 4)
    x = ad.tensor(np.ones((3, 1, 1), np.float32), requires_grad=True)
    _, state = rnn(x)
    state = nn.detach_state(state)
    out, _ = rnn(np.ones((3, 1, 1), np.float32), state)
    out.sum().backward()
    assert x.grad is None  # the first chunk's graph was cut off
    assert rnn.weight_h_l0.grad is not None


def test_detach_state_handles_nesting():
    h = ad.tensor(np.ones(2), requires_grad=True) * 2.0
    got = nn.detach_state([(h, h), h, None])
    assert isinstance(got, list) and isinstance(got[0], tuple)
    assert got[0][0].creator is None and got[1].creator is None and got[2] is None
    with pytest.raises(TypeError, match="detach_state"):
        nn.detach_state("h")
    State = collections.namedtuple("State", "h c")
    kept = nn.detach_state(State(h, h))
    assert type(kept) is State and kept.c.creator is None


# ------------------------------------------------------------------ sequence loader


def test_batchify_keeps_rows_contiguous():
    rows = batchify(np.arange(23), 4)
    assert rows.shape == (4, 5)
    np.testing.assert_array_equal(rows[1], np.arange(5, 10))
    with pytest.raises(ValueError):
        batchify(np.arange(3), 4)


@settings(max_examples=30)
@given(
    n=hs.integers(2, 200),
    batch=hs.integers(1, 5),
    bptt=hs.integers(1, 30),
    batch_first=hs.booleans(),
    drop_last=hs.booleans(),
)
def test_bptt_loader_windows_tile_each_row(n, batch, bptt, batch_first, drop_last):
    if n // batch < 2:
        return
    series = np.arange(n * 10).reshape(n, 10)[:, :2]  # (n, 2) features
    loader = BPTTLoader(series, batch, bptt, batch_first=batch_first, drop_last=drop_last)
    rows = batchify(series, batch)
    xs, ys = [], []
    for x, y in loader:
        if not batch_first:
            x, y = np.swapaxes(x, 0, 1), np.swapaxes(y, 0, 1)
        assert x.shape[0] == batch and x.shape == y.shape and x.shape[1] <= bptt
        xs.append(x)
        ys.append(y)
    assert len(xs) == len(loader)
    if not xs:  # drop_last with a series shorter than one window
        assert drop_last and rows.shape[1] - 1 < bptt
        return
    x_all, y_all = np.concatenate(xs, axis=1), np.concatenate(ys, axis=1)
    used = x_all.shape[1]
    # windows continue each other, and y is x one step later
    np.testing.assert_array_equal(x_all, rows[:, :used])
    np.testing.assert_array_equal(y_all, rows[:, 1 : used + 1])
    if not drop_last:
        assert used == rows.shape[1] - 1
    else:
        assert all(x.shape[1] == bptt for x in xs)


def test_bptt_loader_with_aligned_targets():
    series = np.arange(20)
    labels = series % 3
    loader = BPTTLoader(series, 2, 4, targets=labels)
    x, y = next(iter(loader))
    assert x.shape == y.shape == (4, 2)
    np.testing.assert_array_equal(y, x % 3)
    assert len(loader) == 3  # 10 steps per row, all usable as inputs
    with pytest.raises(ValueError, match="aligned"):
        BPTTLoader(series, 2, 4, targets=labels[:-1])


def test_truncated_bptt_training_reduces_the_loss():
    nn.manual_seed(10)
    series = np.sin(np.arange(2000) * 0.2).astype(np.float32)[:, None]
    rnn, head = nn.RNN(1, 16), nn.Linear(16, 1)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = nn.optim.Adam(params, lr=0.01)
    losses = []
    for _ in range(3):
        state = None
        for x, y in BPTTLoader(series, batch_size=8, bptt_length=25):
            out, state = rnn(x, state)
            loss = nn.MSELoss()(head(out), y)
            opt.zero_grad()
            loss.backward()
            nn.optim.clip_grad_norm_(params, 1.0)
            opt.step()
            state = nn.detach_state(state)
            losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.1 * np.mean(losses[:5])


# ------------------------------------------------------------------ examples (small settings)


def _example(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_rnn_sine():
    r = _example("rnn_sine").main(epochs=4, n_train=2000, plot=False)
    assert r["test_mse"] < r["repeat_last_mse"]


def test_example_char_lm():
    r = _example("char_lm").main(
        epochs=1, hidden=32, bptt=16, batch_size=8, max_chars=20_000, time_budget=20, plot=False
    )
    assert r["perplexity_after"] < 0.6 * r["perplexity_before"]
    assert r["sample_after"].startswith("Elizabeth ")


def test_example_seq2seq_addition():
    r = _example("seq2seq_addition").main(iterations=60, batch_size=32, hidden=32, plot=False)
    assert r["iterations"] == 60 and 0.0 <= r["exact_match"] <= 1.0
    assert r["per_char"] > 0.3  # well above chance (1/13) after a few dozen steps


def test_example_vanishing_gradients():
    r = _example("vanishing_gradients").main(steps=40, hidden=8, batch=2, plot=False)
    rnn, lstm3 = r["tanh RNN"], r["LSTM, forget bias 3"]
    assert rnn["first"] < 1e-3 * rnn["last"]  # vanishes
    assert lstm3["first"] > 1e-2 * lstm3["last"]  # the open forget gate carries it


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_language_model_generates_and_keeps_the_training_flag(cell):
    nn.manual_seed(11)
    lm = nn.models.RNNLanguageModel(7, embed_dim=4, hidden_size=8, num_layers=2, cell=cell)
    logits, state = lm(np.zeros((3, 2), np.int64))
    assert logits.shape == (3, 2, 7)
    ids = lm.generate([1, 2], 5, temperature=0.5, rng=np.random.default_rng(0))
    assert ids.shape == (7,) and ids[:2].tolist() == [1, 2] and ids.max() < 7
    assert lm.training
    with pytest.raises(ValueError, match="cell"):
        nn.models.RNNLanguageModel(7, cell="transformer")


# ------------------------------------------------------------------ LSTM kernels vs numpy


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_kernels_match_the_numpy_reference(dtype):
    from autodiff.kernels.recurrent import (
        lstm_backward,
        lstm_backward_ref,
        lstm_forward,
        lstm_forward_ref,
    )

    rng = np.random.default_rng(0)
    batch, hid = 3, 5
    a = rng.normal(scale=3.0, size=(batch, 4 * hid)).astype(dtype)
    c = rng.normal(size=(batch, hid)).astype(dtype)
    act_ref, c_ref, tc_ref, h_ref = lstm_forward_ref(a, c)

    # act holds h @ W_h on entry; split a between it and a strided xw
    xw = rng.normal(size=(4 * hid, batch)).astype(dtype).T
    e = a - xw
    c_new, tc, h_new = (np.empty_like(c) for _ in range(3))
    lstm_forward(e, xw, c, c_new, tc, h_new)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for got, want in ((e, act_ref), (c_new, c_ref), (tc, tc_ref), (h_new, h_ref)):
        np.testing.assert_allclose(got, want, **tol)

    gh = rng.normal(size=(hid, batch)).astype(dtype).T  # a strided view, as the engine may pass
    gc = rng.normal(size=(batch, hid)).astype(dtype)
    ga, gc_prev = np.empty_like(act_ref), np.empty_like(c)
    lstm_backward(act_ref, tc_ref, c, gh, gc, ga, gc_prev)
    ga_ref, gc_prev_ref = lstm_backward_ref(act_ref, tc_ref, c, gh, gc)
    np.testing.assert_allclose(ga, ga_ref, **tol)
    np.testing.assert_allclose(gc_prev, gc_prev_ref, **tol)


# ------------------------------------------------------------ summary and plot_model
def _shape_texts(value):
    """The shapes in a layer's output, as summary() prints them."""
    if isinstance(value, ad.Tensor):
        return str(tuple(value.shape))
    return "[" + ", ".join(_shape_texts(v) for v in value) + "]"


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("batch_first", [False, True])
def test_summary_puts_the_batch_axis_where_the_layer_takes_it(kind, batch_first):
    # input_shape is one sample: (T, features) = (7, 3). A time-major layer must run it as
    # 7 steps of a batch of one, not (as once) one step of a batch of 7.
    layer = LAYERS[kind](3, 5, num_layers=2, batch_first=batch_first)
    x = np.zeros((1, 7, 3) if batch_first else (7, 1, 3), np.float32)
    out = (1, 7, 5) if batch_first else (7, 1, 5)
    with ad.no_grad():
        want = _shape_texts(layer.eval()(x))
    assert want.startswith(f"[{out}, ") and "(2, 1, 5)" in want  # the state: 2 layers, batch 1
    assert layer.batch_axis == (0 if batch_first else 1)
    text = layer.summary((7, 3), print_fn=None)
    assert f"input {x.shape} float32" in text and text.rows[0][2] == want, text
    assert str(out) in nn.plot_model(layer, (7, 3)).source
    wrapped = nn.Sequential(layer)  # a container reads its first layer's axis
    assert f"input {x.shape} float32" in wrapped.summary((7, 3), print_fn=None)
    ids = nn.Sequential(nn.Embedding(10, 3), layer)  # or is told it
    ids.batch_axis = layer.batch_axis
    assert f"input {x.shape[:2]} int64" in ids.summary((7,), dtype=np.int64, print_fn=None)
    with pytest.raises(ValueError, match=r"summary: .* batch on axis 1.*at least 1 axes; got \(\)"):
        LAYERS[kind](3, 5).summary(())


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_summary_of_the_language_model_runs_ten_steps_of_one_sequence(cell):
    lm = nn.models.RNNLanguageModel(50, 16, 32, cell=cell)
    assert lm.batch_axis == 1
    text = lm.summary((10,), dtype=np.int64, print_fn=None)
    shapes = {row[0]: row[2] for row in text.rows}
    assert "input (10, 1) int64" in text
    assert shapes["embed"] == "(10, 1, 16)" and shapes["head"] == "(10, 1, 50)"
    assert shapes["rnn"].startswith("[(10, 1, 32), ") and "(1, 10, 32)" not in shapes["rnn"]
    assert "(10, 1, 50)" in nn.plot_model(lm, (10,), dtype=np.int64).source
