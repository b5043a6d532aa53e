"""The layer contract: every ``nn.Module`` that ``nn`` exports is built, run and checked alike.

As tests/test_ops_registry.py walks the op registry, this file walks ``nn``'s exports (the
``__all__`` of ``nn`` and of each of its public submodules): an exported Module subclass
without a FACTORIES entry fails ``test_every_exported_module_has_a_factory``, so a layer
added later cannot skip the checks below. Per class, on a tiny configuration:

1. float32 in, float32 out; float32 gradients of the parameters' shapes, close to float64's;
2. float64 gradient checks w.r.t. the float inputs and every parameter, train and eval mode;
3. in eval mode a batch of one gives the matching rows of a bigger batch;
4. ``copy.deepcopy`` and ``pickle`` give the same outputs and independent parameters;
5. a state dict loaded into a differently seeded instance gives the same outputs;
6. ``repr`` names the class; ``summary`` and ``plot_model`` run on the example input;
7. a wrong input raises ValueError/TypeError naming the layer;
8. under ``no_grad`` the output is the same and does not require grad.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import pkgutil
from collections.abc import Callable

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.testing import gradcheck

N = 3  # batch size: more than one row, so that rows can be compared with a batch of one
SEED = 0  # the dropout masks of every call: re-seeding before a call repeats the mask


# ------------------------------------------------------------------------ discovery
def _public_modules():
    yield nn
    for info in pkgutil.walk_packages(nn.__path__, "nn."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield importlib.import_module(info.name)


def exported_module_classes() -> set[type]:
    found = set()
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if isinstance(obj, type) and issubclass(obj, nn.Module):
                found.add(obj)
    return found


EXCLUDED = {
    nn.Module: "the abstract base class: its forward() raises NotImplementedError",
    nn.ModuleList: "a container that cannot be called (forward() raises by design); the "
    "modules it holds are checked as themselves, and Sequential has a factory",
    nn.ModuleDict: "a container that cannot be called, like ModuleList",
}


# ------------------------------------------------------------------------- inputs
def floats(*shape):
    """float32 normals pushed at least 0.1 away from 0 (off the kink of ReLU-like units) and
    distinct (no tie for a maximum), so finite differences see a smooth function."""

    def draw(rng):
        z = rng.normal(size=shape)
        return (np.sign(z) * (0.1 + np.abs(z))).astype(np.float32)

    return draw


def uniform(low, high, *shape):
    return lambda rng: rng.uniform(low, high, size=shape).astype(np.float32)


def integers(high, *shape):
    return lambda rng: rng.integers(0, high, size=shape)


def _perturb_constants(module: nn.Module, rng: np.random.Generator) -> None:
    # Ones and zeros (batch-norm gamma/beta and statistics, biases, a PReLU slope) would
    # hide a swapped weight and bias or a state dict that was never loaded, and would make
    # two instances with different seeds equal.
    for name, t in [*module.named_parameters(), *module.named_buffers()]:
        if t.size and (t.data == t.data.flat[0]).all():
            if "var" in name:  # a variance must stay positive
                t.data[...] = rng.uniform(0.5, 2.0, t.shape)
            else:
                t.data[...] = t.data + rng.uniform(-0.5, 0.5, t.shape)


def case(make: Callable[[], nn.Module], *draws: Callable) -> Callable[[int], tuple]:
    """A factory: ``seed -> (module, inputs)``; the seed fixes weights and inputs."""

    def build(seed: int) -> tuple[nn.Module, tuple]:
        nn.manual_seed(seed)
        module = make()
        rng = np.random.default_rng(seed)
        _perturb_constants(module, rng)
        return module, tuple(draw(rng) for draw in draws)

    return build


def _small_cnn():
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(12, 2),
    )


# ----------------------------------------------------------------------- factories
FACTORIES: dict[type, Callable[[int], tuple]] = {
    # layers
    nn.Linear: case(lambda: nn.Linear(4, 3), floats(N, 4)),
    nn.ReLU: case(nn.ReLU, floats(N, 4)),
    nn.LeakyReLU: case(lambda: nn.LeakyReLU(0.1), floats(N, 4)),
    nn.PReLU: case(lambda: nn.PReLU(3, init=0.2), floats(N, 3, 2)),
    nn.ELU: case(lambda: nn.ELU(0.5), floats(N, 4)),
    nn.SELU: case(nn.SELU, floats(N, 4)),
    nn.Sigmoid: case(nn.Sigmoid, floats(N, 4)),
    nn.Tanh: case(nn.Tanh, floats(N, 4)),
    nn.Softplus: case(nn.Softplus, floats(N, 4)),
    nn.Softmax: case(nn.Softmax, floats(N, 2, 4)),
    nn.LogSoftmax: case(nn.LogSoftmax, floats(N, 4)),
    nn.Dropout: case(lambda: nn.Dropout(0.3), floats(N, 4)),
    nn.Dropout2d: case(lambda: nn.Dropout2d(0.3), floats(N, 2, 3, 3)),
    nn.Conv2d: case(lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1), floats(N, 2, 5, 5)),
    nn.ConvTranspose2d: case(
        lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
        floats(N, 2, 3, 3),
    ),
    nn.MaxPool2d: case(lambda: nn.MaxPool2d(2), floats(N, 2, 4, 4)),
    nn.AvgPool2d: case(lambda: nn.AvgPool2d(3, stride=2, padding=1), floats(N, 2, 5, 5)),
    nn.GlobalAvgPool2d: case(nn.GlobalAvgPool2d, floats(N, 2, 3, 3)),
    nn.BatchNorm1d: case(lambda: nn.BatchNorm1d(3), floats(N, 3)),
    nn.BatchNorm2d: case(lambda: nn.BatchNorm2d(2), floats(N, 2, 3, 3)),
    nn.LayerNorm: case(lambda: nn.LayerNorm((2, 3)), floats(N, 2, 3)),
    nn.Embedding: case(lambda: nn.Embedding(6, 3), integers(6, N, 2)),
    nn.Flatten: case(nn.Flatten, floats(N, 2, 3)),
    nn.Identity: case(nn.Identity, floats(N, 4)),
    # recurrent: cells batch-major; layers time-major unless batch_first (see BATCH_AXES)
    nn.RNNCell: case(lambda: nn.RNNCell(4, 3), floats(N, 4), floats(N, 3)),
    nn.LSTMCell: case(lambda: nn.LSTMCell(4, 3), floats(N, 4)),
    nn.GRUCell: case(lambda: nn.GRUCell(4, 3), floats(N, 4), floats(N, 3)),
    nn.RNN: case(
        lambda: nn.RNN(4, 3, num_layers=2, nonlinearity="relu", batch_first=True),
        floats(N, 3, 4),
    ),
    nn.LSTM: case(lambda: nn.LSTM(4, 3, bidirectional=True), floats(3, N, 4)),
    nn.GRU: case(
        lambda: nn.GRU(4, 3, num_layers=2, dropout=0.25), floats(3, N, 4), floats(2, N, 3)
    ),
    # containers and models
    nn.Sequential: case(_small_cnn, floats(N, 2, 4, 4)),
    nn.models.MLP: case(
        lambda: nn.models.MLP([4, 5, 3], activation="tanh", dropout=0.2, batchnorm=True),
        floats(N, 4),
    ),
    nn.models.SimpleCNN: case(
        lambda: nn.models.SimpleCNN(
            (1, 6, 6),
            channels=2,
            kernel_size=3,
            padding=1,
            hidden=4,
            num_classes=3,
            batchnorm=True,
            dropout=0.2,
        ),
        floats(N, 1, 6, 6),
    ),
    nn.models.LeNet5: case(
        lambda: nn.models.LeNet5(num_classes=3, input_size=8, padding=(2, 2)),
        floats(N, 1, 8, 8),
    ),
    nn.models.RNNLanguageModel: case(
        lambda: nn.models.RNNLanguageModel(5, embed_dim=3, hidden_size=4, num_layers=2),
        integers(5, 4, N),
    ),
    # losses, per sample (reduction="none"), so that rows can be compared
    nn.MSELoss: case(lambda: nn.MSELoss(reduction="none"), floats(N, 3), floats(N, 3)),
    nn.L1Loss: case(lambda: nn.L1Loss(reduction="none"), floats(N, 3), floats(N, 3)),
    nn.HuberLoss: case(
        lambda: nn.HuberLoss(delta=0.8, reduction="none"), floats(N, 3), floats(N, 3)
    ),
    nn.CrossEntropyLoss: case(
        lambda: nn.CrossEntropyLoss(reduction="none"), floats(N, 4), integers(4, N)
    ),
    nn.NLLLoss: case(lambda: nn.NLLLoss(reduction="none"), floats(N, 4), integers(4, N)),
    nn.BCELoss: case(
        lambda: nn.BCELoss(reduction="none"), uniform(0.1, 0.9, N, 3), uniform(0, 1, N, 3)
    ),
    nn.BCEWithLogitsLoss: case(
        lambda: nn.BCEWithLogitsLoss(reduction="none"), floats(N, 3), uniform(0, 1, N, 3)
    ),
}

# (batch axis of each input, batch axis of each output Tensor) where it is not 0 everywhere:
# time-major sequences are (T, batch, ...), recurrent states (layers*directions, batch, hidden)
BATCH_AXES = {
    nn.RNN: ((0,), (0, 1)),
    nn.LSTM: ((1,), (1, 1, 1)),
    nn.GRU: ((1, 1), (1, 1)),
    nn.models.RNNLanguageModel: ((1,), (1, 1, 1)),
}

# Wrong inputs, from the good ones: each must raise ValueError or TypeError naming the layer.
WRONG_INPUTS: dict[type, Callable[..., list[tuple]]] = {
    nn.Linear: lambda x: [(x[:, :3],)],
    nn.PReLU: lambda x: [(x[:, :2],), (x[:, 0],)],
    nn.Dropout2d: lambda x: [(x[0],), (x.reshape(N, -1),)],
    nn.Conv2d: lambda x: [(x[0],), (x[:, :1],)],
    nn.ConvTranspose2d: lambda x: [(x[0],), (x[:, :1],)],
    nn.MaxPool2d: lambda x: [(x[0],), (x[:, :, :1, :1],)],
    nn.AvgPool2d: lambda x: [(x[0],)],
    nn.GlobalAvgPool2d: lambda x: [(x[0],), (x.reshape(N, -1),)],
    nn.BatchNorm1d: lambda x: [(x[:, :2],), (x[:, :, None, None],)],
    nn.BatchNorm2d: lambda x: [(x[0],), (x[:, :1],)],
    nn.LayerNorm: lambda x: [(x[..., :2],), (x[:, 0],)],
    nn.Embedding: lambda ids: [(ids + 6,), (ids.astype(np.float32),)],
    nn.Flatten: lambda x: [(x[:, 0, 0],)],
    nn.RNNCell: lambda x, h: [(x[:, :3], h), (x[None], h), (x, h[:, :2])],
    nn.LSTMCell: lambda x: [(x[:, :3],), (x[None],)],
    nn.GRUCell: lambda x, h: [(x[:, :3], h), (x[None], h), (x, h[:, :2])],
    nn.RNN: lambda x: [(x[..., :3],), (x[None],)],
    nn.LSTM: lambda x: [(x[..., :3],), (x[None],)],
    nn.GRU: lambda x, h: [(x[..., :3], h), (x, h[:1])],
    nn.Sequential: lambda x: [(x[:, :1],), (x[0],)],
    nn.models.MLP: lambda x: [(x[:, :3],)],
    nn.models.SimpleCNN: lambda x: [(x[0],), (x.reshape(N, -1),)],
    nn.models.LeNet5: lambda x: [(x[0],)],
    nn.models.RNNLanguageModel: lambda ids: [(ids + 5,), (ids.astype(np.float32),)],
    nn.MSELoss: lambda x, t: [(x, t[:, :2])],
    nn.L1Loss: lambda x, t: [(x, t[:, :2])],
    nn.HuberLoss: lambda x, t: [(x, t[:, :2])],
    nn.CrossEntropyLoss: lambda x, t: [(x, t[:2]), (x, t + 4)],
    nn.NLLLoss: lambda x, t: [(x, t[:2]), (x, t + 4)],
    nn.BCELoss: lambda x, t: [(x, t[:, :2])],
    nn.BCEWithLogitsLoss: lambda x, t: [(x, t[:, :2])],
}

# Elementwise (or along the last axis only) and without parameters: every shape is valid.
SHAPE_AGNOSTIC = {
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.SELU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Softmax,
    nn.LogSoftmax,
    nn.Dropout,
    nn.Identity,
}

CLASSES = sorted(FACTORIES, key=lambda c: c.__name__)
by_name = pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)


# ------------------------------------------------------------------------ helpers
def tensors(out) -> list[ad.Tensor]:
    """The Tensors of an output, flattened: RNN (out, h), LSTM (out, (h, c))."""
    if isinstance(out, ad.Tensor):
        return [out]
    return [t for part in out for t in tensors(part)]


def is_float(x) -> bool:
    return np.asarray(x).dtype.kind == "f"


def run(module, inputs, training):
    """The output Tensors of one call, with the same dropout masks at every call."""
    module.train(training)
    nn.manual_seed(SEED)
    return tensors(module(*inputs))


def as_float64(module, inputs):
    module.astype(np.float64)
    return tuple(x.astype(np.float64) if is_float(x) else x for x in inputs)


def state_of(module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in module.state_dict().items()}


def assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def assert_same_outputs(got, want, **tolerance) -> None:
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape, f"output {k}"
        if tolerance:
            np.testing.assert_allclose(g.data, w.data, err_msg=f"output {k}", **tolerance)
        else:
            np.testing.assert_array_equal(g.data, w.data, err_msg=f"output {k}")


def has_state(module) -> bool:
    return bool(module.state_dict())


def takes_one_input(cls) -> bool:
    required = [
        p
        for p in list(inspect.signature(cls.forward).parameters.values())[1:]
        if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    ]
    return len(required) == 1


# --------------------------------------------------------------------- meta-tests
def test_every_exported_module_has_a_factory():
    missing = exported_module_classes() - FACTORIES.keys() - EXCLUDED.keys()
    names = sorted(c.__name__ for c in missing)
    assert not names, f"exported Module subclasses without a FACTORIES entry: {names}"


def test_factories_and_exclusions_name_exported_classes_only():
    stale = (FACTORIES.keys() | EXCLUDED.keys()) - exported_module_classes()
    assert not stale, sorted(c.__name__ for c in stale)
    assert not FACTORIES.keys() & EXCLUDED.keys()


def test_every_factory_says_how_a_wrong_input_fails():
    undecided = [c.__name__ for c in CLASSES if (c in WRONG_INPUTS) == (c in SHAPE_AGNOSTIC)]
    assert not undecided, f"add a WRONG_INPUTS entry (or SHAPE_AGNOSTIC): {undecided}"
    assert BATCH_AXES.keys() <= FACTORIES.keys()


@by_name
def test_factory_builds_the_class_reproducibly_and_seeds_matter(cls):
    a, inputs = FACTORIES[cls](0)
    b, again = FACTORIES[cls](0)
    assert type(a) is cls
    assert_same_state(state_of(a), state_of(b))
    for x, y in zip(inputs, again):
        np.testing.assert_array_equal(x, y)
    c, _ = FACTORIES[cls](1)
    for key, value in a.state_dict().items():
        assert not np.array_equal(value, c.state_dict()[key]), key


# ----------------------------------------------------------------- 1. float32
def leaves(inputs):
    """Float inputs as Tensors that want gradients (a layer without parameters has no other
    leaf); integer ids stay arrays."""
    return [ad.Tensor(x, requires_grad=True) if is_float(x) else x for x in inputs]


def differentiable(module, xs) -> dict[str, ad.Tensor]:
    """Every parameter that requires grad, by name, and every input leaf."""
    named = {n: p for n, p in module.named_parameters() if p.requires_grad}
    named.update({f"input {i}": x for i, x in enumerate(xs) if isinstance(x, ad.Tensor)})
    return named


@by_name
def test_float32_in_float32_out_and_float32_gradients_close_to_float64(cls):
    module, inputs = FACTORIES[cls](0)
    xs = leaves(inputs)
    outs = run(module, xs, training=True)
    assert outs and all(t.dtype == np.float32 for t in outs), [t.dtype for t in outs]
    assert all(t.dtype == np.float32 for t in run(module, inputs, training=True))  # arrays too
    sum(t.sum() for t in outs).backward()
    narrow = differentiable(module, xs)
    for name, t in narrow.items():
        assert t.grad is not None, f"{name} got no gradient"
        assert t.grad.dtype == np.float32 and t.grad.shape == t.shape, name

    # the same weights and inputs in float64: float32 may round, not compute something else
    module64, inputs64 = FACTORIES[cls](0)
    xs64 = leaves(as_float64(module64, inputs64))
    outs64 = run(module64, xs64, training=True)
    assert all(t.dtype == np.float64 for t in outs64)
    assert_same_outputs(outs, outs64, rtol=1e-4, atol=1e-5)
    sum(t.sum() for t in outs64).backward()
    wide = differentiable(module64, xs64)
    assert wide.keys() == narrow.keys()
    for name, t in wide.items():
        want = t.grad.data
        np.testing.assert_allclose(
            narrow[name].grad.data,
            want,
            rtol=1e-3,
            atol=1e-4 * max(1.0, np.abs(want).max()),
            err_msg=name,
        )


# ------------------------------------------------------------ 2. gradient checks
# LeNet5 has ~21,000 weights (its fc sizes are fixed): one finite difference per weight
# would take minutes, so it gets directional checks (v.J.u along random directions u).
DIRECTIONAL = {nn.models.LeNet5}


@by_name
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_gradients_match_finite_differences_in_float64(cls, training):
    module, inputs = FACTORIES[cls](0)
    inputs = as_float64(module, inputs)
    module.train(training)
    names = [n for n, _ in module.named_parameters()]
    params = [p.data.copy() for p in module.parameters()]
    slots = [i for i, x in enumerate(inputs) if is_float(x)]  # integer ids stay constants

    def f(*args):
        xs = list(inputs)
        for i, a in zip(slots, args):
            xs[i] = a
        nn.manual_seed(SEED)  # the same dropout mask at every evaluation
        replaced = dict(zip(names, args[len(slots) :]))
        return tuple(tensors(nn.functional_call(module, replaced, *xs)))

    checked = [inputs[i] for i in slots] + params
    assert checked, "nothing to check"
    if cls in DIRECTIONAL:
        for seed in range(3):
            assert gradcheck(f, checked, directional=True, seed=seed)
    else:
        assert gradcheck(f, checked, atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------ 3. batch of one
# Eval mode only: in training mode batch norm normalises with the statistics of the batch,
# so a row legitimately depends on the other rows (and a batch of one is refused), and
# dropout draws a mask for the whole batch.
@by_name
def test_a_batch_of_one_gives_the_rows_of_a_bigger_batch(cls):
    module, inputs = FACTORIES[cls](0)
    in_axes, out_axes = BATCH_AXES.get(cls, ((0,) * len(inputs), None))
    full = run(module, inputs, training=False)
    out_axes = out_axes or (0,) * len(full)
    assert len(out_axes) == len(full) and len(in_axes) == len(inputs)
    assert inputs[0].shape[in_axes[0]] == N
    for i in range(N):
        one = run(module, [np.take(x, [i], a) for x, a in zip(inputs, in_axes)], training=False)
        rows = [ad.Tensor(np.take(t.data, [i], a)) for t, a in zip(full, out_axes)]
        assert_same_outputs(one, rows, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------ 4. copies
@by_name
@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copies_compute_the_same_and_own_their_parameters(cls, how):
    module, inputs = FACTORIES[cls](0)
    before = run(module, inputs, training=False)
    state = state_of(module)
    other = copy.deepcopy(module) if how == "deepcopy" else pickle.loads(pickle.dumps(module))
    assert type(other) is cls and not other.training
    assert_same_outputs(run(other, inputs, training=False), before)
    assert_same_state(state_of(other), state)

    originals = {id(t) for t in [*module.parameters(), *module.buffers()]}
    for t in [*other.parameters(), *other.buffers()]:
        assert id(t) not in originals
        t.data += 0.5  # (a variance stays positive)
    assert_same_state(state_of(module), state)
    assert_same_outputs(run(module, inputs, training=False), before)
    if has_state(module):
        changed = run(other, inputs, training=False)
        assert any(not np.array_equal(a.data, b.data) for a, b in zip(changed, before))


# ------------------------------------------------------------ 5. state dicts
@by_name
def test_a_loaded_state_dict_reproduces_the_outputs(cls):
    source, inputs = FACTORIES[cls](0)
    target, _ = FACTORIES[cls](1)  # other weights, other statistics
    want = run(source, inputs, training=False)
    if has_state(source):
        assert not all(
            np.array_equal(a.data, b.data)
            for a, b in zip(run(target, inputs, training=False), want)
        )
    result = target.load_state_dict(source.state_dict())
    assert result == ([], [])
    assert_same_outputs(run(target, inputs, training=False), want)
    assert_same_outputs(run(target, inputs, training=True), run(source, inputs, training=True))


# ------------------------------------------------------------ 6. repr and summary
@by_name
def test_repr_names_the_class_and_its_children(cls):
    module, _ = FACTORIES[cls](0)
    text = repr(module)
    assert text.startswith(f"{cls.__name__}(") and text.endswith(")"), text
    assert text.count("(") == text.count(")"), text
    for name, child in module.named_children():
        assert f"({name}): {type(child).__name__}(" in text, text
    assert str(module) == text


@by_name
def test_no_attribute_hides_a_module_method(cls):
    # A layer's setting stored under the name of a Module method (say ``num_parameters``)
    # turns ``layer.num_parameters()`` into "'int' object is not callable".
    module, _ = FACTORIES[cls](0)
    for name, _ in inspect.getmembers(nn.Module, inspect.isfunction):
        if not name.startswith("_"):
            value = getattr(module, name)
            assert callable(value), f"{cls.__name__}.{name} is {value!r}, hiding Module.{name}()"


# summary and plot_model feed one batch of zeros: not for losses, which need a target too
@pytest.mark.parametrize(
    "cls", [c for c in CLASSES if takes_one_input(c)], ids=lambda c: c.__name__
)
def test_summary_and_plot_model_run_on_the_example_input(cls):
    module, inputs = FACTORIES[cls](0)
    x = inputs[0]
    axis = module.batch_axis  # summary() puts its batch of one there (1 for time-major RNNs)
    shape, dtype = x.shape[:axis] + x.shape[axis + 1 :], x.dtype
    module.eval()
    with ad.no_grad():
        one = np.zeros((*shape[:axis], 1, *shape[axis:]), dtype)
        expected = str(tuple(tensors(module(one))[0].shape))
    module.train()
    state = state_of(module)

    text = module.summary(shape, dtype=dtype, print_fn=None)
    assert isinstance(text, nn.Summary) and cls.__name__ in text
    assert expected in text, text
    own = sum(p.size for p in module.parameters()) + sum(b.size for b in module.buffers())
    assert text.total_params == own == sum(row[3] for row in text.rows)
    assert text.trainable_params == sum(p.size for p in module.parameters() if p.requires_grad)

    dot = nn.plot_model(module, shape, dtype=dtype)
    assert cls.__name__ in dot.source and expected in dot.source

    # both ran in eval mode and handed the module back as they found it
    assert all(m.training for m in module.modules())
    assert_same_state(state_of(module), state)


# ------------------------------------------------------------ 7. wrong inputs
@pytest.mark.parametrize("cls", [c for c in CLASSES if c in WRONG_INPUTS], ids=lambda c: c.__name__)
def test_a_wrong_input_raises_an_error_that_names_the_layer(cls):
    module, inputs = FACTORIES[cls](0)
    names = {type(m).__name__ for m in module.modules()}  # a model may name the inner layer
    for bad in WRONG_INPUTS[cls](*inputs):
        shapes = [np.shape(x) for x in bad]
        with pytest.raises((ValueError, TypeError)) as err:
            module(*bad)
        assert any(name in str(err.value) for name in names), (shapes, str(err.value))


# ------------------------------------------------------------ 8. no_grad
@by_name
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_no_grad_gives_the_same_output_without_a_graph(cls, training):
    module, inputs = FACTORIES[cls](0)
    recorded = run(module, inputs, training)
    with ad.no_grad():
        quiet = run(module, inputs, training)
    assert_same_outputs(quiet, recorded)
    for t in quiet:
        assert not t.requires_grad and t.creator is None
    if list(module.parameters()):
        assert all(t.requires_grad for t in recorded)
