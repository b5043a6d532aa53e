"""nn.Module and friends: registration, naming, modes, state dicts, containers, summary."""

from __future__ import annotations

import copy
import doctest
import importlib
from collections import OrderedDict

import numpy as np
import pytest

import autodiff as ad
import nn

DOCTEST_MODULES = [
    "nn",
    "nn.module",
    "nn.random",
    "nn.init",
    "nn.functional",
    "nn.losses",
    "nn.summary",
    "nn.layers.linear",
    "nn.layers.activation",
    "nn.layers.dropout",
    "nn.layers.normalization",
    "nn.layers.embedding",
    "nn.layers.flatten",
    "autodiff.ops.losses",
]


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.bn(self.act(self.fc1(x))))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = MLP()
        self.head = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.head(self.encoder(x))


# ------------------------------------------------------------------- Parameter
def test_parameter_is_float32_leaf_requiring_grad():
    p = nn.Parameter(np.arange(6).reshape(2, 3))
    assert p.dtype == np.float32 and p.requires_grad and p.is_leaf
    assert nn.Parameter(np.zeros(2), dtype=np.float64).dtype == np.float64
    assert nn.Parameter(ad.tensor([1.0])).dtype == np.float32
    assert repr(nn.Parameter([1.0])).startswith("Parameter(")


def test_parameter_copies_its_data():
    a = np.zeros(3, np.float32)
    p = nn.Parameter(a)
    p.data[0] = 1
    assert a[0] == 0


# ---------------------------------------------------------------- registration
def test_registration_order_and_dotted_names():
    model = Encoder()
    names = [n for n, _ in model.named_parameters()]
    assert names == [
        "encoder.fc1.weight",
        "encoder.fc1.bias",
        "encoder.bn.weight",
        "encoder.bn.bias",
        "encoder.fc2.weight",
        "encoder.fc2.bias",
        "head.weight",
    ]
    assert [n for n, _ in model.named_buffers()] == [
        "encoder.bn.running_mean",
        "encoder.bn.running_var",
    ]
    assert [n for n, _ in model.named_children()] == ["encoder", "head"]
    assert [n for n, _ in model.named_modules()] == [
        "",
        "encoder",
        "encoder.fc1",
        "encoder.act",
        "encoder.bn",
        "encoder.fc2",
        "head",
    ]
    assert len(list(model.parameters())) == 7


def test_parameters_get_their_path_as_name_and_user_names_survive():
    model = Encoder()
    assert model.encoder.fc1.weight.name == "encoder.fc1.weight"
    assert model.head.weight.name == "head.weight"
    own = nn.Linear(2, 2)
    own.weight.name = "my weight"
    wrapper = nn.Sequential(own)
    assert wrapper[0].weight.name == "my weight"
    assert wrapper[0].bias.name == "0.bias"


def test_names_are_refreshed_when_a_container_grows_after_being_attached():
    outer = nn.Module()
    outer.features = nn.Sequential(nn.Linear(2, 2))
    outer.features.append(nn.Linear(2, 2))
    outer.forward = lambda x: outer.features(x)  # instance attribute, not registered
    outer(np.zeros((1, 2)))
    assert outer.features[1].weight.name == "features.1.weight"


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert model.num_parameters() == 6
    assert list(model.state_dict()) == ["0.weight", "0.bias"]


def test_reassigning_an_attribute_replaces_the_registration():
    m = nn.Module()
    m.w = nn.Parameter([1.0])
    with pytest.raises(TypeError, match="wrap it in nn.Parameter"):
        m.w = 3
    del m.w
    m.w = 3  # a plain attribute now
    assert list(m.named_parameters()) == [] and m.w == 3
    m.w = nn.Parameter([2.0])
    assert [n for n, _ in m.named_parameters()] == ["w"] and "w" not in m.__dict__
    m.sub = nn.Linear(1, 1)
    del m.sub
    assert list(m.children()) == []
    with pytest.raises(AttributeError, match="no attribute 'sub'"):
        m.sub  # noqa: B018


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_assigning_an_array_to_a_parameter_slot_is_refused():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter"):
        layer.weight = np.zeros((2, 2))


def test_buffers_are_saved_but_not_trained():
    bn = nn.BatchNorm1d(3)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var"}
    assert not bn.running_mean.requires_grad
    m = nn.Module()
    m.register_buffer("scratch", np.zeros(2), persistent=False)
    assert list(m.state_dict()) == [] and len(list(m.buffers())) == 1


# ------------------------------------------------------------------------ modes
def test_train_eval_toggle_recursively():
    model = Encoder()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not model.encoder.bn.training


def test_eval_mode_changes_batchnorm_and_dropout_behaviour():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    model.eval()
    a, b = model(x).data, model(x).data
    np.testing.assert_array_equal(a, b)
    model.train()
    c = model(x).data
    assert not np.allclose(a, c)


def test_zero_grad_sets_grads_to_none():
    model = MLP()
    out = model(np.random.default_rng(0).normal(size=(4, 4)))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_num_parameters_and_freezing():
    model = MLP()
    assert model.num_parameters() == 4 * 8 + 8 + 8 + 8 + 8 * 3 + 3
    model.fc1.requires_grad_(False)
    assert model.num_parameters(trainable_only=True) == model.num_parameters() - 40


# ------------------------------------------------------------------ state dicts
def test_state_dict_round_trip_and_snapshot_semantics():
    a, b = Encoder(), Encoder()
    a(np.random.default_rng(0).normal(size=(5, 4)))  # moves running stats
    state = a.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert "encoder.bn.running_mean" in state
    weight_before = b.encoder.fc1.weight  # an optimizer would hold this object
    result = b.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.encoder.fc1.weight is weight_before
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    a.encoder.fc1.weight.data += 1  # the state dict is a copy, not a view
    assert not np.array_equal(a.encoder.fc1.weight.data, state["encoder.fc1.weight"])


def test_state_dict_survives_savez(tmp_path):
    a, b = MLP(), MLP()
    path = tmp_path / "model.npz"
    np.savez(path, **a.state_dict())
    with np.load(path) as f:
        b.load_state_dict(dict(f))
    np.testing.assert_array_equal(a.fc2.weight.data, b.fc2.weight.data)


def _snapshot(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def _assert_unchanged(model, snap):
    now = model.state_dict()
    assert now.keys() == snap.keys()
    for k in snap:
        np.testing.assert_array_equal(now[k], snap[k])


def test_strict_load_names_missing_keys_and_changes_nothing():
    model = MLP()
    snap = _snapshot(model)
    state = {k: v + 1 for k, v in MLP().state_dict().items()}
    del state["fc2.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['fc2.bias'\]"):
        model.load_state_dict(state)
    _assert_unchanged(model, snap)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["fc2.bias"]
    np.testing.assert_array_equal(model.fc2.bias.data, snap["fc2.bias"])
    np.testing.assert_array_equal(model.fc1.bias.data, state["fc1.bias"])


def test_strict_load_names_unexpected_keys_and_changes_nothing():
    model = MLP()
    snap = _snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    state["fc3.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"unexpected keys \['fc3.weight'\]"):
        model.load_state_dict(state)
    _assert_unchanged(model, snap)
    assert model.load_state_dict(state, strict=False).unexpected_keys == ["fc3.weight"]


def test_load_with_wrong_shape_names_both_shapes_and_changes_nothing():
    model = MLP()
    snap = _snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}
    state["fc2.weight"] = np.zeros((8, 4), np.float32)
    for strict in (True, False):
        with pytest.raises(ValueError) as err:
            model.load_state_dict(state, strict=strict)
        msg = str(err.value)
        assert "'fc2.weight'" in msg and "(8, 3)" in msg and "(8, 4)" in msg
        _assert_unchanged(model, snap)


def test_load_casts_to_the_parameter_dtype():
    model = nn.Linear(2, 2)
    model.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert model.weight.dtype == np.float32 and model.weight.data.sum() == 4


def test_load_with_an_unconvertible_value_names_it_and_changes_nothing():
    model = MLP()
    snap = _snapshot(model)
    state = {k: v + 1 for k, v in model.state_dict().items()}  # "fc1..." comes first
    state["fc2.bias"] = np.array(["a", "b", "c"])
    with pytest.raises(
        ValueError, match=r"'fc2.bias' \(<U1\) cannot be converted to the model's float32"
    ):
        model.load_state_dict(state)
    _assert_unchanged(model, snap)


# ------------------------------------------------------------------ containers
def test_sequential_indexing_len_iteration_append_and_ordereddict():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    assert len(model) == 2 and isinstance(model[0], nn.Linear) and isinstance(model[-1], nn.ReLU)
    model.append(nn.Linear(4, 2))
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert model(np.ones((5, 3))).shape == (5, 2)
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    assert named.fc is named[0]
    with pytest.raises(TypeError, match="takes Modules"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_module_list_registers_its_modules():
    blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    assert [n for n, _ in blocks.named_parameters()][:2] == ["0.weight", "0.bias"]
    blocks.append(nn.Tanh())
    blocks[0] = nn.Linear(2, 2, bias=False)
    assert len(blocks) == 3 and len(list(blocks.parameters())) == 3
    assert len(blocks[1:]) == 2
    with pytest.raises(NotImplementedError, match="container"):
        blocks(np.zeros(2))


def test_repr_is_a_pytorch_style_tree():
    text = repr(Encoder())
    assert text.splitlines()[0] == "Encoder("
    assert "  (encoder): MLP(" in text
    assert "    (fc1): Linear(in_features=4, out_features=8, bias=True)" in text
    assert "    (bn): BatchNorm1d(8, eps=1e-05, momentum=0.1)" in text
    assert "  (head): Linear(in_features=3, out_features=2, bias=False)" in text
    assert text.endswith(")")


# --------------------------------------------------------------- name scopes
def test_ops_remember_their_module_path():
    model = Encoder()
    out = model(np.zeros((2, 4), np.float32))
    assert out.creator.scope == ("Encoder", "head")
    fc2_out = out.creator.inputs[0]
    assert fc2_out.creator.scope == ("Encoder", "encoder", "fc2")
    assert ad.current_scope() == ()


def test_errors_name_the_layer_by_its_path():
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(32, 128), fc2=nn.Linear(128, 10)))
    with pytest.raises(ValueError) as err:
        model.fc2(np.zeros((32, 64)))
    assert str(err.value) == (
        "Linear expects input with last dimension 128 (in_features), got shape (32, 64)"
    )
    outer = nn.Sequential(OrderedDict(fc1=nn.Linear(32, 64), fc2=nn.Linear(128, 10)))
    with pytest.raises(ValueError) as err:
        outer(np.zeros((32, 32)))
    assert str(err.value) == (
        "Linear 'fc2' expects input with last dimension 128 (in_features), got shape (32, 64)"
    )
    nested = Encoder()
    nested.encoder.fc2 = nn.Linear(5, 3)
    with pytest.raises(ValueError, match="Linear 'encoder.fc2' expects"):
        nested(np.zeros((2, 4)))


def test_scope_depth_recovers_after_an_error():
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError):
        model(np.zeros((1, 3)))
    out = model(np.zeros((1, 2)))
    assert out.creator.scope == ("Sequential", "0")


# ------------------------------------------------------------------------ hooks
def test_forward_hooks_and_pre_hooks():
    layer = nn.Linear(2, 2)
    seen = []
    h1 = layer.register_forward_pre_hook(lambda m, args: seen.append(("pre", args[0].shape)))
    h2 = layer.register_forward_hook(lambda m, args, out: out * 0.0)
    out = layer(np.ones((3, 2)))
    assert seen == [("pre", (3, 2))] and float(abs(out.data).sum()) == 0.0
    h1.remove()
    h2.remove()
    h2.remove()
    assert float(abs(layer(np.ones((3, 2))).data).sum()) >= 0 and len(seen) == 1


# -------------------------------------------------------------- dtype and copy
def test_astype_float64_and_back():
    model = MLP().astype(np.float64)
    assert all(t.dtype == np.float64 for t in [*model.parameters(), *model.buffers()])
    assert model(np.zeros((2, 4))).dtype == np.float64
    model.astype(np.float32)
    assert model(ad.tensor(np.zeros((2, 4), np.float32))).dtype == np.float32


def test_deepcopy_gives_independent_parameters():
    a = MLP()
    b = copy.deepcopy(a)
    b.fc1.weight.data += 1
    assert not np.array_equal(a.fc1.weight.data, b.fc1.weight.data)
    assert [n for n, _ in b.named_parameters()] == [n for n, _ in a.named_parameters()]


def test_functional_call_restores_parameters():
    layer = nn.Linear(2, 1)
    w = layer.weight
    out = nn.functional_call(layer, {"weight": ad.tensor(np.zeros((2, 1), np.float32))}, [[1, 1]])
    assert float(out.data.sum()) == float(layer.bias.data.sum())
    assert layer.weight is w
    with pytest.raises(KeyError, match="no parameter"):
        nn.functional_call(layer, {"nope": w}, [[1, 1]])


# ---------------------------------------------------------------------- summary
def test_summary_rows_include_the_model_itself_when_it_owns_parameters():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
            self.scale = nn.Parameter(np.ones(2, np.float32))

        def forward(self, x):
            return self.fc(x) * self.scale

    s = Scaled().summary((4,), print_fn=None)
    assert [r[:2] for r in s.rows] == [("fc", "Linear"), ("(model)", "Scaled")]
    assert [r[3] for r in s.rows] == [10, 2] and s.total_params == 12
    bare = nn.LSTM(3, 5).summary((7, 3), print_fn=None)  # a bare layer used to get no row
    assert [r[:2] for r in bare.rows] == [("(model)", "LSTM")] and bare.rows[0][3] == 180


def test_summary_of_a_small_mlp():
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, 4)
    )
    model[4].bias.requires_grad_(False)
    lines = []
    s = model.summary((3, 4), print_fn=lines.append)
    assert lines == [str(s)]
    assert [r[:2] for r in s.rows] == [
        ("0", "Flatten"),
        ("1", "Linear"),
        ("2", "ReLU"),
        ("3", "BatchNorm1d"),
        ("4", "Linear"),
    ]
    assert [r[2] for r in s.rows] == ["(1, 12)", "(1, 16)", "(1, 16)", "(1, 16)", "(1, 4)"]
    assert [r[3] for r in s.rows] == [0, 208, 0, 32 + 32, 68]  # batch norm: + running stats
    assert s.trainable_params == 208 + 32 + 64
    assert s.non_trainable_params == 4 + 32  # frozen bias + running mean/var
    assert s.total_params == 208 + 32 + 68 + 32 == sum(r[3] for r in s.rows)
    assert "Total params: 340" in s and "Trainable params: 304" in s
    assert "Non-trainable params: 36" in s
    assert "1 (Linear)" in s and "(1, 16)" in s


def test_summary_leaves_the_model_as_it_was():
    model = MLP()
    model.fc2.train(False)
    before = _snapshot(model)
    model.summary((4,), print_fn=None)
    _assert_unchanged(model, before)
    assert model.training and model.fc1.training and not model.fc2.training
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def test_summary_of_a_nested_model_counts_each_parameter_once():
    model = Encoder()
    s = model.summary((4,), print_fn=None)
    assert [r[0] for r in s.rows] == [
        "encoder.fc1",
        "encoder.act",
        "encoder.bn",
        "encoder.fc2",
        "head",
    ]
    assert s.total_params == model.num_parameters() + 16  # + running mean/var
    assert sum(r[3] for r in s.rows) == s.total_params


def test_summary_shows_a_layer_used_twice_at_each_place_and_counts_it_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(3, 2))
    s = model.summary((3,), print_fn=None)
    assert s.rows == [
        ("0", "Linear", "(1, 3)", 12),
        ("1", "ReLU", "(1, 3)", 0),
        ("2", "Linear, shared with 0", "(1, 3)", 0),  # it used to be left out
        ("3", "Linear", "(1, 2)", 8),
    ]
    assert sum(r[3] for r in s.rows) == s.total_params == 20


def test_summary_folds_the_calls_of_a_cell_in_a_loop_into_one_row():
    class Unrolled(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.head, self.spare = nn.RNNCell(2, 4), nn.Linear(4, 1), nn.Tanh()

        def forward(self, x):
            h = None
            for t in range(x.shape[1]):
                h = self.cell(x[:, t], h)
            return self.head(h)

    rows = Unrolled().summary((5, 2), print_fn=None).rows
    assert [(r[0], r[2]) for r in rows] == [
        ("cell", "(1, 4)"),
        ("head", "(1, 1)"),
        ("spare", "not called"),
    ]


# ---------------------------------------------------------------------- replacing and naming
def test_replacing_a_layer_or_parameter_keeps_its_place():
    # The forward order of a Sequential is its registration order: a replaced layer must
    # stay where it was (it moved to the end, silently changing what the model computes).
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    setattr(model, "1", nn.Tanh())
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear"]
    x = np.random.default_rng(0).normal(size=(3, 2))
    want = model[2](np.tanh(model[0](x).data)).data
    np.testing.assert_allclose(model(x).data, want, rtol=1e-6)
    blocks = nn.ModuleList([nn.Linear(1, 1), nn.ReLU(), nn.Tanh()])
    blocks[0] = nn.Sigmoid()
    assert [type(m).__name__ for m in blocks] == ["Sigmoid", "ReLU", "Tanh"]
    lin = nn.Linear(2, 3)
    lin.weight = nn.Parameter(np.zeros((2, 3)))
    assert list(lin.state_dict()) == ["weight", "bias"]
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]


def test_module_list_and_register_parameter_reject_what_they_cannot_hold():
    blocks = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
    with pytest.raises(TypeError, match="ModuleList takes Modules, got int"):
        blocks[0] = 3
    assert [type(m).__name__ for m in blocks] == ["Linear", "ReLU"]  # nothing was dropped
    with pytest.raises(IndexError, match="out of range"):
        blocks[5] = nn.ReLU()
    m = nn.Module()
    with pytest.raises(TypeError, match=r"register_parameter\('scale'\): expected an nn.Parameter"):
        m.register_parameter("scale", ad.tensor([1.0]))
    assert list(m.named_parameters()) == []


def test_slicing_a_model_built_on_sequential_gives_a_sequential():
    for model in (nn.models.SimpleCNN(), nn.models.LeNet5(), nn.models.MLP([4, 8, 2])):
        head = model[:3]
        assert type(head) is nn.Sequential and len(head) == 3
        assert list(head._modules) == list(model._modules)[:3]


def test_apply_calls_fn_once_per_module_even_when_shared():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    seen = []
    net.apply(seen.append)
    assert [type(m).__name__ for m in seen] == ["Linear", "ReLU", "Sequential"]


class _Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(4, 3)])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def test_layers_of_an_iterated_module_list_are_named_by_their_path():
    # The ModuleList is never called, so its name used to be missing ("Linear '2'").
    net = _Blocks()
    with pytest.raises(ValueError, match=r"Linear 'blocks.2' expects"):
        net(np.ones((2, 3)))
    _ = net.blocks[1:]  # a slice re-parents the modules it holds; names must not follow
    with pytest.raises(ValueError, match=r"Linear 'blocks.2' expects"):
        net(np.ones((2, 3)))
    x = ad.tensor(np.ones((2, 3)), requires_grad=True)
    y = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))(x)
    assert y.creator.scope[-1:] == ("1",)


def test_calling_a_sub_module_alone_does_not_rename_the_model_for_good():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    model(np.ones((1, 2)))
    assert model[0].weight.name == "0.weight"
    model[0](np.ones((1, 2)))
    assert model[0].weight.name == "weight"  # named from the module that was called
    model(np.ones((1, 2)))
    assert model[0].weight.name == "0.weight"  # and from the model again


def test_a_model_and_its_loss_do_not_rename_each_other(monkeypatch):
    # Each root call renamed the whole model when another root (the loss) ran in between:
    # 590 us per step for a 61-module MLP. Only a root whose modules were taken over renames.
    calls = []
    original = nn.Module._refresh_names
    monkeypatch.setattr(nn.Module, "_refresh_names", lambda m: calls.append(m) or original(m))
    model, loss = nn.Sequential(nn.Linear(4, 4), nn.ReLU()), nn.CrossEntropyLoss()
    x, y = np.ones((2, 4), np.float32), np.array([0, 1])
    for _ in range(5):
        loss(model(x), y)
    assert len(calls) == 2
    model[0](x)  # the layer on its own takes its name back from the model ...
    model(x)  # ... and the model renames it at its next call
    assert len(calls) == 4 and model[0].weight.name == "0.weight"


def test_a_called_model_is_not_kept_alive():
    import gc
    import weakref

    model = nn.Sequential(nn.Linear(10, 10))
    model(np.ones((1, 10), np.float32))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_summary_counts_a_container_that_owns_only_buffers():
    class Centred(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
            self.register_buffer("mean", np.zeros(4, np.float32))

        def forward(self, x):
            return self.fc(x - self.mean)

    s = Centred().summary((4,), print_fn=None)
    assert [r[:2] for r in s.rows] == [("fc", "Linear"), ("(model)", "Centred")]
    assert sum(r[3] for r in s.rows) == s.total_params == 14


def test_slicing_a_sequential_subclass_without_its_own_constructor_keeps_the_class():
    class Residual(nn.Sequential):
        def forward(self, x):
            return super().forward(x) + x

    block = Residual(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    assert type(block[:2]) is Residual


def test_copies_and_pickles_of_a_called_model_name_their_own_layers():
    import pickle

    net = _Blocks()
    x = ad.tensor(np.ones((1, 3), np.float32), requires_grad=True)
    net.blocks[2] = nn.Linear(3, 3)
    net(x)
    for other in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other(x).creator.scope == ("_Blocks", "blocks.2")


# ------------------------------------------------------------------ ModuleDict
class _Named(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleDict({"fc1": nn.Linear(4, 3), "act": nn.ReLU()})
        self.layers["fc2"] = nn.Linear(3, 2)

    def forward(self, x):
        for layer in self.layers.values():
            x = layer(x)
        return x


def test_module_dict_registers_its_modules_by_key_in_order():
    net = _Named()
    assert [n for n, _ in net.named_parameters()] == [
        "layers.fc1.weight", "layers.fc1.bias", "layers.fc2.weight", "layers.fc2.bias",
    ]  # fmt: skip
    assert list(net.state_dict())[0] == "layers.fc1.weight"
    layers = net.layers
    assert list(layers) == layers.keys() == ["fc1", "act", "fc2"] and len(layers) == 3
    assert [m for _, m in layers.items()] == layers.values() and layers["act"] is layers.act
    assert "fc1" in layers and "fc3" not in layers and 0 not in layers
    layers["act"] = nn.Tanh()  # replaced in place: the order stays
    layers.update([("drop", nn.Dropout(0.5))])
    layers.update({"fc1": nn.Linear(4, 3, bias=False)})
    assert [type(m).__name__ for m in layers.values()] == ["Linear", "Tanh", "Linear", "Dropout"]
    del layers["drop"]
    assert layers.keys() == ["fc1", "act", "fc2"] and net(np.ones((5, 4))).shape == (5, 2)
    assert len(list(net.parameters())) == 3
    layers["fc2"] = nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"Linear 'layers.fc2' expects"):
        net(np.ones((5, 4)))
    with pytest.raises(NotImplementedError, match="ModuleDict is a container"):
        layers(np.ones(4))
    assert "(layers): ModuleDict(" in repr(net) and "(fc1): Linear(" in repr(net)
    other = nn.ModuleDict(list(layers.items()))
    assert other.keys() == layers.keys() and nn.ModuleDict().keys() == []


def test_module_dict_rejects_what_it_cannot_hold():
    layers = nn.ModuleDict({"fc": nn.Linear(1, 1)})
    with pytest.raises(TypeError, match="ModuleDict takes Modules, got int at 'x'"):
        layers["x"] = 3
    for bad in ["", "a.b", 1, "training", "keys", "forward"]:
        with pytest.raises(KeyError, match="ModuleDict key"):
            layers[bad] = nn.ReLU()
    with pytest.raises(KeyError, match=r"no key 'nope'; its keys are \['fc'\]"):
        layers["nope"]
    with pytest.raises(KeyError, match="no key 'nope'"):
        del layers["nope"]
    with pytest.raises(TypeError, match=r"mapping or \(key, module\) pairs"):
        layers.update([nn.ReLU()])
    assert layers.keys() == ["fc"] and layers.training is True


# ------------------------------------------------- plain containers of modules warn
@pytest.mark.parametrize(
    "container, fix",
    [
        (lambda: [nn.Linear(2, 2)], "nn.ModuleList"),
        (lambda: (nn.ReLU(), nn.Linear(2, 2)), "nn.ModuleList"),
        (lambda: {"fc": nn.Linear(2, 2)}, "nn.ModuleDict"),
        (lambda: OrderedDict(fc=nn.Linear(2, 2)), "nn.ModuleDict"),
    ],
)
def test_a_plain_container_of_modules_warns_that_nothing_is_registered(container, fix):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = container()

    with pytest.warns(UserWarning, match=rf"Net.layers is a plain \w+ holding Modules.*{fix}") as w:
        Net()
    assert len(w) == 1 and w[0].filename == __file__  # points at the assignment


def test_containers_without_modules_and_module_containers_do_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = nn.Module()
        net.sizes, net.shape, net.names, net.empty = [1, 2], (3, 4), {"a": 1}, []
        net.blocks = nn.ModuleList([nn.Linear(2, 2)])
        net.named = nn.ModuleDict({"fc": nn.Linear(2, 2)})
        assert len(list(net.parameters())) == 4


def test_a_list_of_modules_registered_anyway_does_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = nn.Module()
        net.fc1, net.fc2 = nn.Linear(2, 3), nn.Linear(3, 1)
        net.order = [net.fc1, net.fc2]  # a second view of registered layers
        net.again = list(net.children())
    assert len(list(net.parameters())) == 4
    with pytest.warns(UserWarning, match=r"Module\.extra is a plain list"):
        net.extra = [net.fc1, nn.Linear(1, 1)]  # the new one is not registered


def test_module_dict_update_from_another_and_pop_and_clear():
    a = nn.ModuleDict({"fc": nn.Linear(2, 2)})
    b = nn.ModuleDict(a)
    b.update(nn.ModuleDict({"act": nn.ReLU()}))
    assert b.keys() == ["fc", "act"] and b["fc"] is a["fc"]
    assert isinstance(b.pop("act"), nn.ReLU) and b.keys() == ["fc"]
    b.clear()
    assert len(b) == 0 and list(b.parameters()) == []
