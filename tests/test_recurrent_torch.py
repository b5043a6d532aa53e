"""Recurrent layers against PyTorch (skipped when torch is not installed).

Weights are copied with ``torch_state_dict()`` (our ``x @ W`` layout transposed, gate
blocks in PyTorch's order i, f, g, o / r, z, n), then outputs, final states and the
gradients of the input, the initial state and every weight are compared in float64.
"""

import numpy as np
import pytest

import autodiff as ad
import nn

torch = pytest.importorskip("torch")

LAYERS = {
    "rnn_tanh": (nn.RNN, torch.nn.RNN, {}),
    "rnn_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, torch.nn.LSTM, {}),
    "gru": (nn.GRU, torch.nn.GRU, {}),
}


def _ours_to_torch_grad(layer, name):
    """Gradient of our parameter ``name`` in PyTorch's layout and name."""
    grad = getattr(layer, name).grad.data
    return grad.T if name.startswith("weight") else grad


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize(
    "num_layers,bidirectional,batch_first,with_state",
    [(1, False, False, False), (2, True, False, True), (2, False, True, True)],
)
def test_layer_matches_pytorch(kind, num_layers, bidirectional, batch_first, with_state):
    ours_cls, torch_cls, extra = LAYERS[kind]
    nn.manual_seed(0)
    n_in, hidden, steps, batch = 3, 5, 7, 4
    ours = ours_cls(
        n_in,
        hidden,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        dtype=np.float64,
        **extra,
    )
    theirs = torch_cls(
        n_in,
        hidden,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        dtype=torch.float64,
        **extra,
    )
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.torch_state_dict().items()})

    rng = np.random.default_rng(1)
    x = rng.normal(size=(batch, steps, n_in) if batch_first else (steps, batch, n_in))
    d = 2 if bidirectional else 1
    n_state = 2 if kind == "lstm" else 1
    states = [rng.normal(size=(num_layers * d, batch, hidden)) for _ in range(n_state)]

    xa = ad.tensor(x, requires_grad=True)
    sa = [ad.tensor(s, requires_grad=True) for s in states]
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    if with_state:
        out_a, fin_a = ours(xa, tuple(sa) if kind == "lstm" else sa[0])
        out_t, fin_t = theirs(xt, tuple(st) if kind == "lstm" else st[0])
    else:
        out_a, fin_a = ours(xa)
        out_t, fin_t = theirs(xt)
    fin_a = fin_a if isinstance(fin_a, tuple) else (fin_a,)
    fin_t = fin_t if isinstance(fin_t, tuple) else (fin_t,)

    np.testing.assert_allclose(out_a.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, t in zip(fin_a, fin_t):
        np.testing.assert_allclose(a.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)

    # one random upstream gradient per output, the same for both
    ups = [rng.normal(size=o.shape) for o in (out_a, *fin_a)]
    total_a = sum((o * u).sum() for o, u in zip((out_a, *fin_a), ups))
    total_t = sum((o * torch.from_numpy(u)).sum() for o, u in zip((out_t, *fin_t), ups))
    total_a.backward()
    total_t.backward()

    np.testing.assert_allclose(xa.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    if with_state:
        for a, t in zip(sa, st):
            np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-11)
    torch_grads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for name, _ in ours.named_parameters():
        suffix = name[name.index("_l") :]
        if name.startswith("weight_x"):
            want = torch_grads["weight_ih" + suffix]
        elif name.startswith("weight_h"):
            want = torch_grads["weight_hh" + suffix]
        elif name.startswith("bias_x"):
            want = torch_grads["bias_ih" + suffix]
        elif name.startswith("bias_h"):
            want = torch_grads["bias_hh" + suffix]
        else:  # our single bias = bias_ih + bias_hh: both get the same gradient
            want = torch_grads["bias_ih" + suffix]
            np.testing.assert_allclose(want, torch_grads["bias_hh" + suffix])
        got = _ours_to_torch_grad(ours, name)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11, err_msg=name)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cells_match_pytorch(kind):
    ours_cls = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind]
    torch_cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}
    nn.manual_seed(2)
    ours = ours_cls(3, 4, dtype=np.float64)
    theirs = torch_cls[kind](3, 4, dtype=torch.float64)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.torch_state_dict().items()})
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3))
    h = rng.normal(size=(2, 4))
    c = rng.normal(size=(2, 4))
    xa, xt = ad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if kind == "lstm":
        ha, ca = ours(xa, (h, c))
        ht, ct = theirs(xt, (torch.from_numpy(h), torch.from_numpy(c)))
        np.testing.assert_allclose(ca.data, ct.detach().numpy(), rtol=1e-10)
        (ha.sum() + (ca * ca).sum()).backward()
        (ht.sum() + (ct * ct).sum()).backward()
    else:
        ha = ours(xa, h)
        ht = theirs(xt, torch.from_numpy(h))
        (ha * ha).sum().backward()
        (ht * ht).sum().backward()
    np.testing.assert_allclose(ha.data, ht.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(xa.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight_h.grad.data.T, theirs.weight_hh.grad.numpy(), rtol=1e-9)


def test_load_torch_state_dict_accepts_torch_tensors():
    theirs = torch.nn.LSTM(3, 4, num_layers=2)
    ours = nn.LSTM(3, 4, num_layers=2)
    ours.load_torch_state_dict(theirs.state_dict())  # tensors that require grad, too
    ours.load_torch_state_dict(dict(theirs.named_parameters()))
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)
    out_t, _ = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(ours(x)[0].data, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
