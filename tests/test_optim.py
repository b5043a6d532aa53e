"""Tests for nn.optim: optimizers vs hand-written formulas, state dicts, clipping, schedules.

Every reference update below is written out independently in float64 numpy from the
published formula; the implementation runs in float32, hence the tolerances.
"""

from __future__ import annotations

import ast
import io
import math
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nn.optim import (
    SGD,
    AdaDelta,
    AdaGrad,
    Adam,
    AdaMax,
    ExponentialSchedule,
    LRSchedule,
    Momentum,
    Nadam,
    Nesterov,
    OneCycle,
    Optimizer,
    PiecewiseConstant,
    PowerSchedule,
    ReduceOnPlateau,
    RMSprop,
    apply_max_norm_,
    clip_grad_norm_,
    clip_grad_value_,
)

# --------------------------------------------------------------------------- stand-ins


class Grad:
    def __init__(self, data):
        self.data = data


class P:
    """Minimal parameter: .data (float32 ndarray), .grad (None or object with .data)."""

    def __init__(self, data, name=None):
        self.data = np.array(data, dtype=np.float32)
        self.grad = None
        self.name = name


def set_grad(p, g):
    p.grad = Grad(np.array(g, dtype=np.float32))


P0 = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]], dtype=np.float32)
_rng = np.random.default_rng(0)
GRADS = [_rng.standard_normal((2, 3)).astype(np.float32) for _ in range(5)]
GRADS[1][0, 1] = 0.0  # an exact zero gradient somewhere


# --------------------------------------------------------------------------- references
# Each takes float64 p0, a list of gradients and the hyper-parameters, and returns the
# parameter after every step.


def ref_sgd(p, gs, lr):
    out = []
    for g in gs:
        p = p - lr * g
        out.append(p)
    return out


def ref_momentum(p, gs, lr, momentum):
    v, out = np.zeros_like(p), []
    for g in gs:
        v = momentum * v - lr * g
        p = p + v
        out.append(p)
    return out


def ref_nesterov(p, gs, lr, momentum):  # CS231n form
    v, out = np.zeros_like(p), []
    for g in gs:
        v_prev = v
        v = momentum * v - lr * g
        p = p - momentum * v_prev + (1 + momentum) * v
        out.append(p)
    return out


def ref_adagrad(p, gs, lr, eps, initial_accumulator_value=0.0):
    cache, out = np.full_like(p, initial_accumulator_value), []
    for g in gs:
        cache = cache + g**2
        p = p - lr * g / (np.sqrt(cache) + eps)
        out.append(p)
    return out


def ref_adadelta(p, gs, lr, rho, eps):  # Zeiler 2012, Algorithm 1
    Eg2, Edx2, out = np.zeros_like(p), np.zeros_like(p), []
    for g in gs:
        Eg2 = rho * Eg2 + (1 - rho) * g**2
        dx = -(np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps)) * g
        Edx2 = rho * Edx2 + (1 - rho) * dx**2
        p = p + lr * dx
        out.append(p)
    return out


def ref_rmsprop(p, gs, lr, rho, eps):
    Eg2, out = np.zeros_like(p), []
    for g in gs:
        Eg2 = rho * Eg2 + (1 - rho) * g**2
        p = p - lr * g / (np.sqrt(Eg2) + eps)
        out.append(p)
    return out


def ref_adam(p, gs, lr, b1, b2, eps):  # Kingma & Ba, Algorithm 1
    m, v, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def ref_adamax(p, gs, lr, b1, b2, eps):  # Kingma & Ba, Algorithm 2 (+ eps)
    m, u, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(gs, start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        p = p - (lr / (1 - b1**t)) * m / (u + eps)
        out.append(p)
    return out


def ref_nadam(p, gs, lr, b1, b2, eps, psi):  # Dozat 2016 Alg. 2, mu schedule
    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** (t * psi))

    m, n, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(gs, start=1):
        prod_t = math.prod(mu(i) for i in range(1, t + 1))
        prod_t1 = prod_t * mu(t + 1)
        g_hat = g / (1 - prod_t)
        m = b1 * m + (1 - b1) * g
        m_hat = m / (1 - prod_t1)
        n = b2 * n + (1 - b2) * g**2
        n_hat = n / (1 - b2**t)
        m_bar = (1 - mu(t)) * g_hat + mu(t + 1) * m_hat
        p = p - lr * m_bar / (np.sqrt(n_hat) + eps)
        out.append(p)
    return out


# (name, factory(params, **overrides), reference(p0, grads))
CASES = [
    ("SGD", lambda ps, **k: SGD(ps, lr=0.1, **k), lambda p, gs: ref_sgd(p, gs, 0.1)),
    (
        "Momentum",
        lambda ps, **k: Momentum(ps, lr=0.1, momentum=0.9, **k),
        lambda p, gs: ref_momentum(p, gs, 0.1, 0.9),
    ),
    (
        "Nesterov",
        lambda ps, **k: Nesterov(ps, lr=0.1, momentum=0.8, **k),
        lambda p, gs: ref_nesterov(p, gs, 0.1, 0.8),
    ),
    (
        "AdaGrad",
        lambda ps, **k: AdaGrad(ps, lr=0.1, initial_accumulator_value=0.1, **k),
        lambda p, gs: ref_adagrad(p, gs, 0.1, 1e-7, 0.1),
    ),
    (
        "AdaDelta",
        lambda ps, **k: AdaDelta(ps, **k),  # defaults: lr=1, rho=0.9, eps=1e-6
        lambda p, gs: ref_adadelta(p, gs, 1.0, 0.9, 1e-6),
    ),
    (
        "RMSprop",
        lambda ps, **k: RMSprop(ps, lr=0.01, rho=0.9, **k),
        lambda p, gs: ref_rmsprop(p, gs, 0.01, 0.9, 1e-8),
    ),
    (
        "Adam",
        lambda ps, **k: Adam(ps, lr=0.1, **k),
        lambda p, gs: ref_adam(p, gs, 0.1, 0.9, 0.999, 1e-8),
    ),
    (
        "AdaMax",
        lambda ps, **k: AdaMax(ps, lr=0.1, betas=(0.8, 0.99), **k),
        lambda p, gs: ref_adamax(p, gs, 0.1, 0.8, 0.99, 1e-8),
    ),
    (
        "Nadam",
        lambda ps, **k: Nadam(ps, lr=0.1, **k),
        lambda p, gs: ref_nadam(p, gs, 0.1, 0.9, 0.999, 1e-8, 4e-3),
    ),
]
IDS = [c[0] for c in CASES]


def run(factory, grads, p0=P0, **kw):
    p = P(p0)
    opt = factory([p], **kw)
    traj = []
    for g in grads:
        set_grad(p, g)
        opt.step()
        traj.append(p.data.copy())
    return p, opt, traj


# --------------------------------------------------------------------------- update rules


@pytest.mark.parametrize("name,factory,ref", CASES, ids=IDS)
@pytest.mark.parametrize("nsteps", [1, 3])
def test_matches_hand_formula(name, factory, ref, nsteps):
    grads = GRADS[:nsteps]
    _, _, traj = run(factory, grads)
    expected = ref(P0.astype(np.float64), [g.astype(np.float64) for g in grads])
    for k, (got, want) in enumerate(zip(traj, expected)):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6, err_msg=f"{name} step {k}")


def test_first_step_closed_forms():
    """Known one-step results that need no simulation at all."""
    g = np.array([0.5, -2.0, 1e-3], dtype=np.float32)
    p0 = np.array([1.0, 1.0, 1.0], dtype=np.float32)
    # Adam / AdaGrad (no initial accumulator): first step moves every coordinate by ~lr
    for opt_cls in (Adam, AdaGrad):
        p = P(p0)
        set_grad(p, g)
        opt_cls([p], lr=0.01).step()
        np.testing.assert_allclose(p.data, p0 - 0.01 * np.sign(g), rtol=1e-4)
    # RMSprop: E = (1 - rho) g^2 -> step = lr * sign(g) / sqrt(1 - rho)
    p = P(p0)
    set_grad(p, g)
    RMSprop([p], lr=0.01, rho=0.99).step()
    np.testing.assert_allclose(p.data, p0 - 0.1 * np.sign(g), rtol=1e-4)
    # AdaMax: u = |g|, m_hat = g -> step = lr * sign(g)
    p = P(p0)
    set_grad(p, g)
    AdaMax([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, p0 - 0.01 * np.sign(g), rtol=1e-4)
    # Momentum: first step is an SGD step; Nesterov: (1 + mu) times an SGD step
    p = P(p0)
    set_grad(p, g)
    Momentum([p], lr=0.1, momentum=0.9).step()
    np.testing.assert_allclose(p.data, p0 - 0.1 * g, rtol=1e-6)
    p = P(p0)
    set_grad(p, g)
    Nesterov([p], lr=0.1, momentum=0.9).step()
    np.testing.assert_allclose(p.data, p0 - 1.9 * 0.1 * g, rtol=1e-6)
    # AdaDelta: dx = -sqrt(eps) / sqrt(0.1 g^2 + eps) * g
    p = P(p0)
    set_grad(p, g)
    AdaDelta([p]).step()
    gd = g.astype(np.float64)
    np.testing.assert_allclose(p.data, p0 - 1e-3 / np.sqrt(0.1 * gd**2 + 1e-6) * gd, rtol=1e-5)


def test_documented_defaults():
    p = P([1.0])

    def hyper(opt):
        return {k: v for k, v in opt.param_groups[0].items() if k != "params"}

    assert hyper(SGD([p])) == {"lr": 0.01, "weight_decay": 0.0}
    assert hyper(Momentum([p])) == {"lr": 0.01, "weight_decay": 0.0, "momentum": 0.9}
    assert hyper(Nesterov([p])) == {"lr": 0.01, "weight_decay": 0.0, "momentum": 0.9}
    assert hyper(AdaGrad([p])) == {
        "lr": 0.01,
        "weight_decay": 0.0,
        "eps": 1e-7,
        "initial_accumulator_value": 0.0,
    }
    assert hyper(AdaDelta([p])) == {"lr": 1.0, "weight_decay": 0.0, "rho": 0.9, "eps": 1e-6}
    assert hyper(RMSprop([p])) == {"lr": 0.01, "weight_decay": 0.0, "rho": 0.99, "eps": 1e-8}
    adam = {"weight_decay": 0.0, "betas": (0.9, 0.999), "eps": 1e-8}
    assert hyper(Adam([p])) == {"lr": 1e-3, **adam}
    assert hyper(AdaMax([p])) == {"lr": 2e-3, **adam}
    assert hyper(Nadam([p])) == {"lr": 2e-3, "momentum_decay": 4e-3, **adam}


# --------------------------------------------------------------------------- dtype / in place


@pytest.mark.parametrize("name,factory,ref", CASES, ids=IDS)
def test_float32_preserved_and_in_place(name, factory, ref):
    p = P(P0)
    alias = p.data
    opt = factory([p], weight_decay=0.01)
    for g in GRADS[:3]:
        p.grad = Grad(g.astype(np.float64))  # even a float64 gradient must not upcast
        opt.step()
    assert p.data is alias and p.data.dtype == np.float32
    for key, val in opt.state[p].items():
        if isinstance(val, np.ndarray):
            assert val.dtype == np.float32, (name, key)
            assert val.shape == P0.shape
    assert not np.array_equal(alias, P0)


@pytest.mark.parametrize("name,factory,ref", CASES, ids=IDS)
def test_weight_decay_is_l2_added_to_gradient(name, factory, ref):
    wd = 0.1
    p_wd, p_ref = P(P0), P(P0)
    opt_wd, opt_ref = factory([p_wd], weight_decay=wd), factory([p_ref])
    for g in GRADS[:3]:
        set_grad(p_wd, g)
        set_grad(p_ref, g + wd * p_ref.data)  # the L2 gradient, by hand
        opt_wd.step()
        opt_ref.step()
    np.testing.assert_allclose(p_wd.data, p_ref.data, rtol=1e-6, atol=1e-7)
    assert not np.allclose(p_wd.data, run(factory, GRADS[:3])[0].data)


def test_weight_decay_sgd_by_hand():
    p = P([1.0, -2.0])
    set_grad(p, [0.0, 0.0])
    SGD([p], lr=0.1, weight_decay=0.1).step()
    np.testing.assert_allclose(p.data, [0.99, -1.98], rtol=1e-6)


# --------------------------------------------------------------------------- state dicts


def _npz_roundtrip(sd):
    buf = io.BytesIO()
    np.savez(buf, **sd)
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _two_group_setup(factory, data=(P0, P0[0] * 0.5, P0[1])):
    """Three params in two groups; see _train for which gradients are missing."""
    params = [P(data[0], "w"), P(data[1], "b"), P(data[2], "late")]
    opt = factory([{"params": [params[0]]}, {"params": params[1:], "lr": 0.05}])
    return params, opt


def _train(params, opt, grads, offset=0):
    """params[1] has no gradient at step 1; params[2] only gets gradients from step 3 on
    (so it has no state when the optimizer is saved after 3 steps)."""
    for k, g in enumerate(grads, start=offset):
        set_grad(params[0], g)
        params[1].grad = None if k == 1 else Grad(g[1] * 0.3)
        params[2].grad = None if k < 3 else Grad(g[0] - 1.0)
        opt.step()


@pytest.mark.parametrize("name,factory,ref", CASES, ids=IDS)
def test_state_dict_resume_bit_for_bit(name, factory, ref):
    # 5 uninterrupted steps
    params_a, opt_a = _two_group_setup(factory)
    _train(params_a, opt_a, GRADS)

    # 3 steps, save (through .npz, no pickle), fresh optimizer, load, 2 more steps
    params_b, opt_b = _two_group_setup(factory)
    _train(params_b, opt_b, GRADS[:3])
    sd = opt_b.state_dict()
    assert all(isinstance(k, str) for k in sd)
    assert all(isinstance(v, (np.ndarray, int, float, str)) for v in sd.values())
    saved = [p.data.copy() for p in params_b]
    sd = _npz_roundtrip(sd)

    assert sd["stateful"].tolist() == [0, 1]
    params_c, opt_c = _two_group_setup(factory, data=saved)
    opt_c.param_groups[1]["lr"] = 0.5
    opt_c.load_state_dict(sd)
    assert opt_c.param_groups[1]["lr"] == 0.05  # hyper-parameters restored too
    _train(params_c, opt_c, GRADS[3:], offset=3)

    for pa, pc in zip(params_a, params_c):
        np.testing.assert_array_equal(pa.data, pc.data)
        assert pc.data.dtype == np.float32
    # the state dict is a snapshot, not a view of live state
    sd2 = opt_b.state_dict()
    _train(params_b, opt_b, GRADS[3:], offset=3)
    for k, v in sd2.items():
        if isinstance(v, np.ndarray) and k.startswith("state."):
            _, i, key = k.split(".")
            assert not np.shares_memory(v, opt_b.state[params_b[int(i)]][key])


def test_bad_state_dicts():
    p = P(P0)
    opt = Adam([p])
    set_grad(p, GRADS[0])
    opt.step()
    good = opt.state_dict()

    fresh = Adam([P(P0)])
    with pytest.raises(ValueError, match="'Adam'.*'SGD'"):
        SGD([P(P0)]).load_state_dict(good)
    with pytest.raises(ValueError, match="'Adam'.*'Nadam'"):
        Nadam([P(P0)]).load_state_dict(good)

    bad = dict(good)
    del bad["state.0.exp_avg"]
    with pytest.raises(ValueError, match=r"missing key 'state.0.exp_avg'"):
        fresh.load_state_dict(bad)

    bad = dict(good)
    del bad["group.0.betas"]
    with pytest.raises(ValueError, match="group.0.betas"):
        fresh.load_state_dict(bad)

    bad = dict(good, **{"state.0.exp_avg_sq": np.zeros((3, 2), np.float32)})
    with pytest.raises(ValueError, match=r"state.0.exp_avg_sq.*\(3, 2\).*\(2, 3\)"):
        fresh.load_state_dict(bad)

    bad = dict(good, extra_thing=1)
    with pytest.raises(ValueError, match="extra_thing"):
        fresh.load_state_dict(bad)

    with pytest.raises(ValueError, match="num_params"):
        Adam([P(P0), P(P0)]).load_state_dict(good)
    with pytest.raises(ValueError, match="num_groups"):
        Adam([{"params": [P(P0)]}, {"params": [P(P0)]}]).load_state_dict(good)
    with pytest.raises(ValueError, match="missing key 'optimizer'"):
        fresh.load_state_dict({})

    # a failed load leaves the optimizer untouched
    q = P(P0)
    target = Adam([q], lr=0.123)
    bad = dict(good)
    del bad["state.0.step"]
    with pytest.raises(ValueError):
        target.load_state_dict(bad)
    assert target.lr == 0.123 and len(target.state) == 0


# --------------------------------------------------------------------------- base class API


def test_param_groups_lr_property_and_zero_grad():
    a, b = P([1.0]), P([1.0])
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    set_grad(a, [1.0])
    set_grad(b, [1.0])
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.0], rtol=1e-6)
    assert opt.lr == 0.1
    opt.lr = 0.5
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.5]
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    before = a.data.copy()
    opt.step()  # grads are None: skipped
    np.testing.assert_array_equal(a.data, before)


def test_none_grad_is_skipped_and_gets_no_state():
    a, b = P([1.0, 2.0]), P([3.0])
    opt = Adam([a, b])
    set_grad(a, [1.0, 1.0])
    opt.step()
    assert a in opt.state and b not in opt.state
    np.testing.assert_array_equal(b.data, [3.0])
    assert opt.state_dict()["stateful"].tolist() == [0]


def test_accepts_generators_and_closure():
    ps = [P([1.0]), P([2.0])]
    opt = SGD(p for p in ps)
    assert len(opt.param_groups[0]["params"]) == 2

    def closure():
        for p in ps:
            set_grad(p, [1.0])
        return 42.0

    assert opt.step(closure) == 42.0
    np.testing.assert_allclose(ps[0].data, [0.99])


def test_constructor_errors():
    p = P([1.0])
    with pytest.raises(ValueError, match="empty"):
        SGD([])
    with pytest.raises(TypeError, match="single parameter"):
        SGD(p)
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p])
    with pytest.raises(ValueError, match="more than once"):
        SGD([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="learning_rate"):
        SGD([{"params": [p], "learning_rate": 0.1}])
    with pytest.raises(ValueError, match="lr"):
        SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        Momentum([p], momentum=1.0)
    with pytest.raises(ValueError, match="betas"):
        Adam([p], betas=(1.0, 0.999))
    with pytest.raises(TypeError):
        SGD([object()])
    opt = SGD([p])
    p.grad = Grad(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="shape"):
        opt.step()


def test_bad_hyper_parameters_name_the_optimizer_and_group():
    p, q = P([1.0]), P([2.0])
    for bad in ("0.1", None, [0.1]):
        with pytest.raises(TypeError, match=r"Adam: invalid lr: .* \(must be a real number\)"):
            Adam([p], lr=bad)
    with pytest.raises(ValueError, match=r"SGD param group 1: invalid lr: -2.0"):
        SGD([{"params": [p]}, {"params": [q], "lr": -2.0}])
    opt = Adam([p], lr=np.array(0.01))  # a 0-d array is a number
    assert opt.param_groups[0]["lr"] == 0.01 and type(opt.param_groups[0]["lr"]) is float


def test_optim_imports_only_numpy_and_itself():
    root = pathlib.Path(__import__("nn.optim", fromlist=["x"]).__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for n in names:
                top = n.split(".")[0]
                assert top == "numpy" or top in sys.stdlib_module_names, (path.name, n)


def test_base_class_is_abstract():
    opt = Optimizer([P([1.0])], lr=0.1)
    opt.param_groups[0]["params"][0].grad = Grad(np.ones(1, np.float32))
    with pytest.raises(NotImplementedError):
        opt.step()


# --------------------------------------------------------------------------- clipping


def test_clip_grad_value():
    a, b, c = P([0.0, 0.0, 0.0]), P([0.0]), P([0.0])
    set_grad(a, [-3.0, 0.5, 2.0])
    set_grad(b, [-0.2])
    alias = a.grad.data
    clip_grad_value_([a, b, c], 1.0)
    np.testing.assert_array_equal(a.grad.data, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad.data, np.float32([-0.2]))
    assert a.grad.data is alias and alias.dtype == np.float32 and c.grad is None
    with pytest.raises(ValueError):
        clip_grad_value_([a], -1.0)


def test_clip_grad_norm():
    a, b, c = P([0.0, 0.0]), P([0.0]), P([0.0])
    set_grad(a, [3.0, 4.0])
    set_grad(b, [12.0])  # global norm sqrt(9 + 16 + 144) = 13
    total = clip_grad_norm_([a, b, c], 6.5)
    assert total == pytest.approx(13.0)
    np.testing.assert_allclose(a.grad.data, [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(b.grad.data, [6.0], rtol=1e-6)
    assert a.grad.data.dtype == np.float32
    # below the threshold: untouched, but the norm is still reported
    total = clip_grad_norm_([a, b], 100.0)
    assert total == pytest.approx(6.5)
    np.testing.assert_allclose(a.grad.data, [1.5, 2.0], rtol=1e-6)
    # float32 overflow-safe norm
    set_grad(a, [3e20, 4e20])
    assert clip_grad_norm_(a, 1.0) == pytest.approx(5e20)
    np.testing.assert_allclose(a.grad.data, [0.6, 0.8], rtol=1e-5)
    set_grad(a, [np.inf, 1.0])
    with pytest.raises(ValueError, match="non-finite"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.float32, st.integers(1, 6), elements=st.floats(-1e3, 1e3, width=32)),
    hnp.arrays(np.float32, (2, 2), elements=st.floats(-1e3, 1e3, width=32)),
    st.floats(1e-3, 1e3),
)
def test_clip_grad_norm_property(g1, g2, max_norm):
    a, b = P(np.zeros_like(g1)), P(np.zeros_like(g2))
    set_grad(a, g1)
    set_grad(b, g2)
    before = np.sqrt(np.sum(g1.astype(np.float64) ** 2) + np.sum(g2.astype(np.float64) ** 2))
    total = clip_grad_norm_([a, b], max_norm)
    assert total == pytest.approx(before, rel=1e-6)
    after = np.sqrt(
        np.sum(a.grad.data.astype(np.float64) ** 2) + np.sum(b.grad.data.astype(np.float64) ** 2)
    )
    assert after <= max_norm * (1 + 1e-5) + 1e-30
    scale = min(1.0, max_norm / before) if before > 0 else 1.0
    np.testing.assert_allclose(a.grad.data, g1 * scale, rtol=1e-5, atol=1e-6)


def test_apply_max_norm():
    w = P([[3.0, 0.3], [4.0, 0.4], [0.0, 0.0]])  # column norms 5 and 0.5
    alias = w.data
    apply_max_norm_([w], 1.0)  # axis=0: per column
    np.testing.assert_allclose(w.data, [[0.6, 0.3], [0.8, 0.4], [0.0, 0.0]], rtol=1e-6)
    assert w.data is alias and w.data.dtype == np.float32
    v = P([[3.0, 4.0], [0.3, 0.4]])  # row norms 5 and 0.5
    apply_max_norm_(v, 2.0, axis=1)
    np.testing.assert_allclose(v.data, [[1.2, 1.6], [0.3, 0.4]], rtol=1e-6)
    z = P(np.zeros((2, 2)))
    apply_max_norm_([z], 1.0)  # zero columns stay zero (no 0/0)
    np.testing.assert_array_equal(z.data, 0.0)


# --------------------------------------------------------------------------- schedules


def lr_sequence(sched, n, metrics=None):
    opt = sched.optimizer
    lrs = [opt.lr]
    for k in range(n - 1):
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
        lrs.append(opt.lr)
    return np.array(lrs)


def test_power_schedule():
    opt = SGD([P([1.0])], lr=0.1)
    sched = PowerSchedule(opt, s=10, c=2.0)
    t = np.arange(30)
    want = 0.1 / (1 + t / 10) ** 2
    np.testing.assert_allclose(lr_sequence(sched, 30), want, rtol=1e-12)
    np.testing.assert_allclose([sched.lr_at(int(k)) for k in t], want, rtol=1e-12)
    assert sched.lr_at(10) == pytest.approx(0.1 / 4)


def test_a_user_schedule_sets_lr_at_0_on_creation_like_the_built_in_ones():
    class Warmup(LRSchedule):
        def __init__(self, optimizer, steps):
            self.steps = steps  # before super().__init__, which applies lr_at(0)
            super().__init__(optimizer)

        def lr_at(self, step):
            return self.base_lrs[0] * min(1.0, (step + 1) / self.steps)

    opt = SGD([P([1.0])], lr=0.4)
    sched = Warmup(opt, steps=4)
    assert opt.lr == pytest.approx(0.1)  # the first optimizer step uses lr_at(0)
    assert [sched.step() for _ in range(4)] == pytest.approx([0.2, 0.3, 0.4, 0.4])

    class Late(LRSchedule):
        def __init__(self, optimizer):
            super().__init__(optimizer)
            self.gamma = 0.5

        def lr_at(self, step):
            return self.base_lrs[0] * self.gamma**step

    with pytest.raises(AttributeError, match=r"Late.lr_at\(0\) failed .* before calling super"):
        Late(SGD([P([1.0])], lr=0.4))

    class Halve(LRSchedule):  # no lr_at: it sets the lr in its own step()
        def step(self):
            self.optimizer.lr *= 0.5
            return self.optimizer.lr

    opt = SGD([P([1.0])], lr=0.4)
    assert Halve(opt).step() == pytest.approx(0.2)


def test_exponential_schedule_and_group_ratios():
    opt = SGD([{"params": [P([1.0])]}, {"params": [P([1.0])], "lr": 0.01}], lr=0.1)
    sched = ExponentialSchedule(opt, s=5)
    t = np.arange(20)
    want = 0.1 * 0.1 ** (t / 5)
    np.testing.assert_allclose(lr_sequence(sched, 20), want, rtol=1e-12)
    assert opt.param_groups[1]["lr"] == pytest.approx(want[-1] / 10)
    assert sched.lr_at(5) == pytest.approx(0.01)


@pytest.mark.parametrize(
    "make",
    [
        lambda o: ExponentialSchedule(o, s=10),
        lambda o: PowerSchedule(o, s=10),
        lambda o: PiecewiseConstant(o, [2], [0.1, 0.01]),
        lambda o: OneCycle(o, max_lr=0.1, total_steps=30),
    ],
    ids=["exponential", "power", "piecewise", "one-cycle"],
)
def test_a_frozen_first_group_stays_frozen(make):
    # A backbone at lr 0 ahead of a head at 0.1: the schedule follows the head (the first
    # group that trains), and the frozen group keeps lr 0. It used to set every group to
    # the frozen one's 0, or the head's lr to the frozen group.
    opt = SGD([{"params": [P([1.0])], "lr": 0.0}, {"params": [P([1.0])], "lr": 0.1}])
    sched = make(opt)
    for t in range(1, 5):
        sched.step()
        assert opt.param_groups[0]["lr"] == 0.0
        assert opt.param_groups[1]["lr"] == pytest.approx(sched.lr_at(t)) and sched.lr_at(t) > 0
        assert sched.get_lr() == opt.param_groups[1]["lr"]


def test_reduce_on_plateau_reload_keeps_every_group():
    opt = SGD([{"params": [P([1.0])], "lr": 0.0}, {"params": [P([1.0])], "lr": 0.1}])
    sched = ReduceOnPlateau(opt, patience=0, min_lr=1e-4)
    sched.step(1.0)
    sched.step(2.0)  # cut: the head goes to 0.01, the frozen group stays at 0 (not min_lr)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.0, 0.01])
    sched.load_state_dict(sched.state_dict())
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.0, 0.01])


def test_piecewise_constant():
    opt = SGD([P([1.0])], lr=123.0)
    sched = PiecewiseConstant(opt, boundaries=[3, 6], values=[1.0, 0.5, 0.1])
    want = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1]
    np.testing.assert_array_equal(lr_sequence(sched, 9), want)
    assert [sched.lr_at(t) for t in range(9)] == want
    with pytest.raises(ValueError):
        PiecewiseConstant(opt, [3, 6], [1.0, 0.5])
    with pytest.raises(ValueError):
        PiecewiseConstant(opt, [6, 3], [1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="boundaries must be integers"):
        PiecewiseConstant(opt, [2.7, 5.5], [1.0, 0.5, 0.1])  # used to become [2, 5]


def test_reduce_on_plateau_patience():
    opt = SGD([P([1.0])], lr=1.0)
    sched = ReduceOnPlateau(opt, mode="min", factor=0.5, patience=2, min_lr=0.2, threshold=0.01)
    metrics = [1.0, 0.9, 0.95, 0.93, 0.895, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    # step 1: best=1.0, 2: best=0.9, 3,4: bad 1,2 (tolerated), 5: 0.895 is not 1% better
    # than 0.9 -> bad 3 > patience -> cut to 0.5; 6: best 0.5; 7,8 bad; 9 cut to 0.25;
    # 10,11 bad; 12 cut -> max(0.125, min_lr=0.2) = 0.2; ... 15 would cut again (stays 0.2)
    lrs = lr_sequence(sched, 15, metrics)
    want = [1.0] * 5 + [0.5] * 4 + [0.25] * 3 + [0.2] * 3
    np.testing.assert_allclose(lrs, want)
    assert sched.best == 0.5
    assert [sched.lr_at(t) for t in range(15)] == pytest.approx(want)
    with pytest.raises(ValueError, match="future"):
        sched.lr_at(100)


def test_reduce_on_plateau_max_mode_and_cooldown():
    opt = Adam([P([1.0])], lr=1.0)
    sched = ReduceOnPlateau(opt, mode="max", factor=0.1, patience=0, cooldown=1)
    # patience 0: cut on every non-improving step, except the cooldown step after a cut
    lrs = lr_sequence(sched, 6, [0.5, 0.4, 0.4, 0.4, 0.6])
    np.testing.assert_allclose(lrs, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01])


def test_one_cycle_peak_and_phases():
    opt = SGD([P([1.0])], lr=0.0)
    T = 101
    sched = OneCycle(opt, max_lr=1.0, total_steps=T)  # A=10, E=90, P=45
    lrs = lr_sequence(sched, T + 3)
    assert int(np.argmax(lrs)) == 45 and lrs[45] == pytest.approx(1.0)
    t = np.arange(T + 3, dtype=np.float64)
    want = np.where(
        t <= 45,
        0.1 + 0.9 * t / 45,
        np.where(t <= 90, 1.0 - 0.9 * (t - 45) / 45, 0.1 - (0.1 - 1e-4) * (t - 90) / 10),
    )
    want[T:] = 1e-4
    np.testing.assert_allclose(lrs, want, rtol=1e-9, atol=1e-12)
    assert lrs[0] == pytest.approx(0.1) and lrs[90] == pytest.approx(0.1)
    assert lrs[T - 1] == pytest.approx(1e-4)
    assert np.all(np.diff(lrs[:46]) > 0) and np.all(np.diff(lrs[45:T]) < 0)
    assert [sched.lr_at(k) for k in range(T)] == pytest.approx(list(lrs[:T]))


def test_one_cycle_short_annihilation_still_ends_at_final_lr():
    # int(0.01 * 50) is 0 steps: the documented last step at final_lr needs at least one
    sched = OneCycle(SGD([P([1.0])], lr=0.0), max_lr=1.0, total_steps=50, annihilation=0.01)
    assert sched.anneal_steps == 1 and sched.lr_at(49) == pytest.approx(sched.final_lr)
    plain = OneCycle(SGD([P([1.0])], lr=0.0), max_lr=1.0, total_steps=50, annihilation=0.0)
    assert plain.anneal_steps == 0 and plain.lr_at(49) == pytest.approx(plain.start_lr)


def test_one_cycle_momentum_cycling():
    opt = Momentum([P([1.0])])
    sched = OneCycle(opt, max_lr=0.1, total_steps=101, cycle_momentum=True)
    moms = [opt.param_groups[0]["momentum"]]
    for _ in range(100):
        sched.step()
        moms.append(opt.param_groups[0]["momentum"])
    assert moms[0] == pytest.approx(0.95) and moms[45] == pytest.approx(0.85)
    assert moms[90] == pytest.approx(0.95) and moms[100] == pytest.approx(0.95)
    assert int(np.argmin(moms)) == 45
    adam = Adam([P([1.0])])
    OneCycle(adam, max_lr=0.1, total_steps=101, cycle_momentum=True)
    assert adam.param_groups[0]["betas"] == (pytest.approx(0.95), 0.999)
    with pytest.raises(ValueError, match="momentum"):
        OneCycle(SGD([P([1.0])]), max_lr=0.1, total_steps=101, cycle_momentum=True)
    with pytest.raises(ValueError, match="too small"):
        OneCycle(SGD([P([1.0])]), max_lr=0.1, total_steps=2)


@pytest.mark.parametrize(
    "make",
    [
        lambda o: PowerSchedule(o, s=3),
        lambda o: ExponentialSchedule(o, s=4),
        lambda o: PiecewiseConstant(o, [2, 4], [0.1, 0.05, 0.01]),
        lambda o: ReduceOnPlateau(o, factor=0.5, patience=1),
        lambda o: OneCycle(o, max_lr=0.05, total_steps=12, cycle_momentum=True),
    ],
    ids=["power", "exponential", "piecewise", "plateau", "onecycle"],
)
def test_schedule_and_optimizer_resume_bit_for_bit(make):
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98, 0.97, 0.96]

    def train(p, opt, sched, ks):
        for k in ks:
            set_grad(p, GRADS[k % 5])
            opt.step()
            if isinstance(sched, ReduceOnPlateau):
                sched.step(metrics[k])
            else:
                sched.step()

    p_a = P(P0)
    opt_a = Adam([p_a], lr=0.02)
    sched_a = make(opt_a)
    train(p_a, opt_a, sched_a, range(8))

    p_b = P(P0)
    opt_b = Adam([p_b], lr=0.02)
    sched_b = make(opt_b)
    train(p_b, opt_b, sched_b, range(4))
    osd, ssd = _npz_roundtrip(opt_b.state_dict()), _npz_roundtrip(sched_b.state_dict())

    p_c = P(p_b.data)
    opt_c = Adam([p_c], lr=0.02)
    sched_c = make(opt_c)
    opt_c.load_state_dict(osd)
    sched_c.load_state_dict(ssd)
    assert sched_c.last_step == 4 and opt_c.lr == opt_b.lr
    train(p_c, opt_c, sched_c, range(4, 8))

    np.testing.assert_array_equal(p_a.data, p_c.data)
    assert opt_a.lr == opt_c.lr and sched_a.last_step == sched_c.last_step
    assert opt_a.param_groups[0]["betas"] == opt_c.param_groups[0]["betas"]


def test_schedule_bad_state_dict():
    opt = SGD([P([1.0])], lr=0.1)
    sd = PowerSchedule(opt, s=3).state_dict()
    with pytest.raises(ValueError, match="PowerSchedule"):
        ExponentialSchedule(opt, s=3).load_state_dict(sd)
    bad = dict(sd)
    del bad["lr0"]
    with pytest.raises(ValueError, match="lr0"):
        PowerSchedule(opt, s=3).load_state_dict(bad)


# --------------------------------------------------------------------------- integration

INTEGRATION = [
    (lambda ps: SGD(ps, lr=0.5), 200),
    (lambda ps: Momentum(ps, lr=0.1, momentum=0.9), 200),
    (lambda ps: Nesterov(ps, lr=0.1, momentum=0.9), 200),
    (lambda ps: AdaGrad(ps, lr=1.0), 200),
    (lambda ps: AdaDelta(ps), 1000),  # slow start: steps ~ sqrt(eps) at first
    (lambda ps: RMSprop(ps, lr=0.1, rho=0.9), 200),
    (lambda ps: Adam(ps, lr=0.3), 200),
    (lambda ps: AdaMax(ps, lr=0.3), 200),
    (lambda ps: Nadam(ps, lr=0.3), 200),
]


@pytest.mark.parametrize("factory,steps", INTEGRATION, ids=IDS)
def test_minimises_elongated_quadratic(factory, steps):
    """f(x, y) = x^2/20 + y^2 from (-7, 2); gradient (x/10, 2y) written by hand."""
    p = P([-7.0, 2.0])
    opt = factory([p])

    def f(v):
        return v[0] ** 2 / 20 + v[1] ** 2

    f0, d0 = f(p.data), np.hypot(*p.data)
    for _ in range(steps):
        x, y = p.data
        set_grad(p, [x / 10, 2 * y])
        opt.step()
    assert np.all(np.isfinite(p.data)) and p.data.dtype == np.float32
    assert np.hypot(*p.data) < 0.5 * d0
    assert f(p.data) < 0.1 * f0
