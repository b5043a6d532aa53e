"""A hypothesis state machine drives the public API the way a careless learner would.

Random sequences of tensor creation (random shapes, float32/float64/int64),
ops (valid or not), ``backward`` (with and without a gradient, retained or not,
through freed graphs), ``zero_grad``, ``no_grad`` and ``detach``. Every step must

* either return the right result: value and dtype equal to numpy's on the same
  inputs, ``requires_grad`` as documented, and after ``backward`` every leaf's
  ``.grad`` equal to a float64 reference reverse mode run over a mirror graph
  (accumulating across calls, cleared by ``zero_grad``);
* or raise one of the **documented exception types**: ``ValueError``,
  ``TypeError`` or ``IndexError`` (numpy's ``AxisError`` is both) from an op
  whose inputs are invalid, with the op's name in the message; ``RuntimeError``
  from ``backward`` (no gradient for a non-scalar, nothing requires grad, a
  second pass through a freed graph), naming the problem. It raises exactly
  when numpy rejects the same call, or when the mirror predicts the
  ``backward`` error;

never another exception, a hang, a silent NaN (a non-finite value where numpy
has a finite one) or a change to an existing tensor's data.

The number of examples and steps run is written to the pytest cache
(``.pytest_cache/v/seegrad/fuzz_api``) and printed with ``-s``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

import autodiff as ad

OP_ERRORS = (ValueError, TypeError, IndexError)
COUNTS = {"examples": 0, "steps": 0, "ops_ok": 0, "ops_rejected": 0, "backward_ok": 0}
NOGRAD = st.sampled_from([False, False, False, True])  # mostly recorded: backward has work
DTYPES = [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)]
# Results larger than this are checked but not used further (keeps float32 exact enough).
LIMIT = 50.0


@dataclass(eq=False)
class Entry:
    """The mirror of one Tensor: its value when made and how to differentiate it."""

    t: ad.Tensor
    value: np.ndarray
    rg: bool
    idx: int
    parents: tuple[Entry, ...] = ()
    vjp: Callable[[np.ndarray], list[np.ndarray | None]] | None = None
    freed: bool = False
    maybe_freed: bool = False
    grad: np.ndarray | None = None
    low_precision: bool = False  # float32 somewhere upstream
    extra: dict[str, Any] = field(default_factory=dict)


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for i, n in enumerate(shape):
        if n == 1 and g.shape[i] != 1:
            g = g.sum(axis=i, keepdims=True)
    return g


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


# name -> (apply to Tensor, numpy forward, vjp(x, y, g) in float64)
def _floated(a: np.ndarray) -> np.ndarray:
    # A Python float meeting an integer tensor makes it float32 (numpy: float64).
    return a.astype(np.float32) if a.dtype.kind in "biu" else a


UNARY: dict[str, tuple[Callable, Callable, Callable]] = {
    "neg": (lambda t: -t, lambda a: -a, lambda x, y, g: -g),
    "exp": (lambda t: t.exp(), np.exp, lambda x, y, g: g * y),
    "tanh": (lambda t: t.tanh(), np.tanh, lambda x, y, g: g * (1 - y * y)),
    "sigmoid": (
        lambda t: t.sigmoid(),
        lambda a: 1 / (1 + np.exp(-a)),
        lambda x, y, g: g * y * (1 - y),
    ),
    "relu": (lambda t: t.relu(), lambda a: np.maximum(a, 0), lambda x, y, g: g * (x > 0)),
    "abs": (lambda t: abs(t), np.abs, lambda x, y, g: g * np.sign(x)),
    "sin": (lambda t: t.sin(), np.sin, lambda x, y, g: g * np.cos(x)),
    "log": (lambda t: t.log(), np.log, lambda x, y, g: g / x),
    "sqrt": (lambda t: t.sqrt(), np.sqrt, lambda x, y, g: g / (2 * y)),
    "mul_half": (lambda t: t * 0.5, lambda a: _floated(a) * 0.5, lambda x, y, g: g * 0.5),
    "add_two": (lambda t: t + 2, lambda a: a + 2, lambda x, y, g: g),
    "rsub_one": (lambda t: 1.0 - t, lambda a: 1.0 - _floated(a), lambda x, y, g: -g),
    "square": (lambda t: t**2, lambda a: a**2, lambda x, y, g: 2 * g * x),
    "transpose": (lambda t: t.T, lambda a: a.T, lambda x, y, g: g.T),
}

BINARY: dict[str, tuple[str, Callable, Callable, Callable]] = {
    "add": ("add", lambda a, b: a + b, lambda a, b: a + b, lambda a, b, g: (g, g)),
    "sub": ("sub", lambda a, b: a - b, lambda a, b: a - b, lambda a, b, g: (g, -g)),
    "mul": ("mul", lambda a, b: a * b, lambda a, b: a * b, lambda a, b, g: (g * b, g * a)),
    "div": (
        "div",
        lambda a, b: a / b,
        lambda a, b: a / b,
        lambda a, b, g: (g / b, -g * a / (b * b)),
    ),
    "matmul": ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, None),
}


def matmul_vjp(a: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    g2 = g.reshape(batch + (a2.shape[-2], b2.shape[-1]))
    ga = sum_to(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
    gb = sum_to(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
    return ga, gb


def shapes(min_dims: int = 0) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(0, 3), min_size=min_dims, max_size=3).map(tuple)


class APIMachine(RuleBasedStateMachine):
    tensors = Bundle("tensors")

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []
        COUNTS["examples"] += 1

    # ------------------------------------------------------------ helpers
    def _step(self) -> None:
        COUNTS["steps"] += 1

    def _entry(self, t: ad.Tensor, value: np.ndarray, **kw: Any) -> Entry:
        e = Entry(t, value.copy(), idx=len(self.entries), **kw)
        self.entries.append(e)
        return e

    def _keep(self, e: Entry) -> Any:
        v = e.value
        if v.dtype.kind == "f" and (not np.all(np.isfinite(v)) or np.any(np.abs(v) > LIMIT)):
            COUNTS["ops_rejected"] += 1
            return multiple()
        return e

    def _expect_same(self, out: Any, expected: np.ndarray, what: str) -> None:
        assert isinstance(out, ad.Tensor), f"{what} returned {type(out)}"
        assert out.dtype == expected.dtype, f"{what}: dtype {out.dtype}, numpy {expected.dtype}"
        assert out.shape == expected.shape, f"{what}: shape {out.shape}, numpy {expected.shape}"
        bad = ~np.isfinite(out.data) if out.dtype.kind == "f" else np.zeros(out.shape, bool)
        if out.dtype.kind == "f":
            assert np.array_equal(bad, ~np.isfinite(expected)), f"{what}: silent NaN/Inf"
            tol = 2e-6 if out.dtype == np.float32 else 1e-13
            np.testing.assert_allclose(
                out.data, expected, rtol=tol, atol=tol, equal_nan=True, err_msg=what
            )
        else:
            np.testing.assert_array_equal(out.data, expected, err_msg=what)

    def _apply(
        self,
        name: str,
        op_name: str,
        call: Callable[[], Any],
        reference: Callable[[], np.ndarray],
        inputs: tuple[Entry, ...],
        vjp: Callable | None,
        nograd: bool,
    ) -> Any:
        """Run an op and its numpy reference; both fail or both agree."""
        with np.errstate(all="ignore"):
            try:
                expected = np.asarray(reference())
            except Exception as err:  # numpy rejects it: the framework must too
                expected = None
                numpy_err = err
            try:
                if nograd:
                    with ad.no_grad():
                        out = call()
                else:
                    out = call()
            except OP_ERRORS as err:
                assert expected is None, (
                    f"{name}: numpy accepts it but the framework raised {err!r}"
                )
                assert op_name in str(err), f"{name}: message does not name the op: {err}"
                COUNTS["ops_rejected"] += 1
                return multiple()
        if expected is None:
            raise AssertionError(f"{name}: numpy raised {numpy_err!r} but the framework accepted")
        self._expect_same(out, expected, name)
        for e in inputs:
            if out is e.t:  # a no-op (reshape to the same shape) may return its input
                return e
        rg = not nograd and any(e.rg for e in inputs) and out.dtype.kind == "f" and vjp is not None
        assert out.requires_grad == rg, f"{name}: requires_grad {out.requires_grad}, expected {rg}"
        assert (out.creator is not None) == rg
        COUNTS["ops_ok"] += 1
        low = any(e.low_precision or e.value.dtype == np.float32 for e in inputs)
        e = self._entry(
            out,
            out.data,
            rg=rg,
            parents=inputs if rg else (),
            vjp=vjp if rg else None,
            low_precision=low,
        )
        return self._keep(e)

    # -------------------------------------------------------------- rules
    @rule(target=tensors, data=st.data(), dtype=st.sampled_from(DTYPES), rg=st.booleans())
    def create(self, data: Any, dtype: np.dtype, rg: bool) -> Any:
        self._step()
        shape = data.draw(shapes())
        if dtype.kind == "f":
            elems = st.floats(-2, 2, width=32 if dtype == np.float32 else 64)
        else:
            elems = st.integers(-3, 3)
        from hypothesis.extra.numpy import arrays

        value = data.draw(arrays(dtype, shape, elements=elems))
        if rg and dtype.kind != "f":
            with pytest.raises(TypeError, match="cannot require grad"):
                ad.tensor(value, requires_grad=True)
            rg = False
        t = ad.tensor(value, requires_grad=rg)
        assert t.dtype == dtype and t.shape == shape and not np.shares_memory(t.data, value)
        return self._entry(t, value, rg=rg)

    @rule(target=tensors, x=tensors, op=st.sampled_from(sorted(UNARY)), nograd=NOGRAD)
    def unary(self, x: Entry, op: str, nograd: bool) -> Any:
        self._step()
        apply, forward, vjp = UNARY[op]
        if op in ("log", "sqrt") and x.value.dtype.kind == "f":
            assume(np.all(x.value > 0.05) or not x.rg)  # keep gradients bounded

        xv = _f64(x.value)

        def grads(g: np.ndarray) -> list[np.ndarray]:
            with np.errstate(all="ignore"):
                return [vjp(xv, forward(xv), g)]

        name = {"transpose": "transpose", "mul_half": "mul", "add_two": "add"}.get(op, op)
        name = {"rsub_one": "sub", "square": "pow"}.get(name, name)
        return self._apply(
            op, name, lambda: apply(x.t), lambda: forward(x.value), (x,), grads, nograd
        )

    @rule(
        target=tensors,
        a=tensors,
        b=tensors,
        op=st.sampled_from(sorted(BINARY)),
        nograd=NOGRAD,
    )
    def binary(self, a: Entry, b: Entry, op: str, nograd: bool) -> Any:
        self._step()
        op_name, apply, forward, vjp = BINARY[op]
        if op == "div" and b.value.dtype.kind == "f" and (a.rg or b.rg):
            assume(np.all(np.abs(b.value) > 0.2))
        if op == "div" and b.value.dtype.kind != "f":
            assume(np.all(b.value != 0))

        av, bv = _f64(a.value), _f64(b.value)

        def grads(g: np.ndarray) -> list[np.ndarray]:
            if op == "matmul":
                return list(matmul_vjp(av, bv, g))
            return list(vjp(av, bv, g))

        return self._apply(
            op,
            op_name,
            lambda: apply(a.t, b.t),
            lambda: forward(a.value, b.value),
            (a, b),
            grads,
            nograd,
        )

    @rule(target=tensors, a=tensors, data=st.data(), op=st.sampled_from(["add", "mul", "sub"]))
    def binary_broadcast(self, a: Entry, data: Any, op: str) -> Any:
        """A second operand built to broadcast against ``a`` (so most calls are valid)."""
        self._step()
        shape = tuple(
            data.draw(st.sampled_from([n, 1]))
            for n in a.value.shape[data.draw(st.integers(0, a.value.ndim)) :]
        )
        dtype = data.draw(st.sampled_from(DTYPES[:2]))
        bval = np.asarray(
            data.draw(st.lists(st.floats(-2, 2, width=32), min_size=1, max_size=1))[0]
        )
        bval = np.full(shape, bval, dtype)
        b = self._entry(ad.tensor(bval, requires_grad=True), bval, rg=True)
        op_name, apply, forward, vjp = BINARY[op]
        av, bv = _f64(a.value), _f64(bval)
        return self._apply(
            op,
            op_name,
            lambda: apply(a.t, b.t),
            lambda: forward(a.value, bval),
            (a, b),
            lambda g: list(vjp(av, bv, g)),
            False,
        )

    @rule(
        target=tensors,
        x=tensors,
        op=st.sampled_from(["sum", "mean"]),
        axis=st.one_of(st.none(), st.integers(-4, 3)),
        keepdims=st.booleans(),
        nograd=NOGRAD,
    )
    def reduce(self, x: Entry, op: str, axis: Any, keepdims: bool, nograd: bool) -> Any:
        self._step()
        if op == "mean":
            assume(x.value.size > 0)
            assume(x.value.dtype.kind == "f")  # the framework's int mean dtype is its own choice
        xv = _f64(x.value)

        def grads(g: np.ndarray) -> list[np.ndarray]:
            if axis is None:
                axes = tuple(range(xv.ndim))
            else:
                axes = (axis % xv.ndim,) if xv.ndim else ()
            if not keepdims:
                g = np.expand_dims(g, axes) if axes else g
            g = np.broadcast_to(g, xv.shape)
            if op == "mean":
                n = xv.size if axis is None else (xv.shape[axes[0]] if axes else 1)
                g = g / n
            return [g]

        return self._apply(
            op,
            op,
            lambda: getattr(x.t, op)(axis=axis, keepdims=keepdims),
            lambda: getattr(np, op)(x.value, axis=axis, keepdims=keepdims),
            (x,),
            grads,
            nograd,
        )

    @rule(target=tensors, x=tensors, shape=shapes(), minus_one=st.booleans())
    def reshape(self, x: Entry, shape: tuple[int, ...], minus_one: bool) -> Any:
        self._step()
        if minus_one and shape:
            shape = (-1, *shape[1:])
        xshape = x.value.shape
        return self._apply(
            "reshape",
            "reshape",
            lambda: x.t.reshape(shape),
            lambda: x.value.reshape(shape),
            (x,),
            lambda g: [g.reshape(xshape)],
            False,
        )

    @rule(
        target=tensors,
        x=tensors,
        index=st.one_of(
            st.integers(-4, 3),
            st.builds(slice, st.none() | st.integers(-3, 3), st.none() | st.integers(-3, 3)),
            st.tuples(st.integers(-3, 2), st.integers(-3, 2)),
            st.lists(st.integers(-3, 2), min_size=1, max_size=4).map(np.array),
        ),
    )
    def getitem(self, x: Entry, index: Any) -> Any:
        self._step()
        xv = _f64(x.value)

        def grads(g: np.ndarray) -> list[np.ndarray]:
            z = np.zeros_like(xv)
            np.add.at(z, index, g)
            return [z]

        return self._apply(
            "getitem", "getitem", lambda: x.t[index], lambda: x.value[index], (x,), grads, False
        )

    @rule(target=tensors, x=tensors)
    def detach(self, x: Entry) -> Entry:
        self._step()
        d = x.t.detach()
        assert d.creator is None and not d.requires_grad and d.data is x.t.data
        return self._entry(d, x.value, rg=False)

    @rule(x=tensors)
    def requires_grad_(self, x: Entry) -> None:
        self._step()
        if x.parents or x.rg:
            return
        if x.value.dtype.kind != "f":
            with pytest.raises(TypeError, match="cannot require grad"):
                x.t.requires_grad_()
            return
        x.t.requires_grad_()
        x.rg = True

    @rule(x=tensors)
    def zero_grad(self, x: Entry) -> None:
        self._step()
        x.t.zero_grad()
        assert x.t.grad is None
        x.grad = None

    @rule(x=tensors, with_grad=st.booleans(), retain=st.booleans(), seed=st.integers(0, 2**16))
    def backward(self, x: Entry, with_grad: bool, retain: bool, seed: int) -> None:
        self._step()
        reach = self._reachable(x)
        ops_in = [e for e in reach if e.parents]
        if with_grad:
            g = np.random.default_rng(seed).normal(size=x.value.shape).astype(x.value.dtype)
        else:
            g = None
        if not x.rg:
            with pytest.raises(RuntimeError, match="does not require grad"):
                x.t.backward(g)
            return
        if g is None and x.value.size != 1:
            with pytest.raises(RuntimeError, match="needs a single-element tensor.*loss.mean"):
                x.t.backward()
            return
        must_fail = any(e.freed for e in ops_in)
        may_fail = must_fail or any(e.maybe_freed for e in ops_in)
        try:
            with np.errstate(all="ignore"):
                x.t.backward(g, retain_graph=retain)
        except RuntimeError as err:
            assert may_fail, f"unexpected {err!r}"
            assert "second time" in str(err) and "retain_graph=True" in str(err)
            for e in ops_in:
                e.maybe_freed = True
            return
        assert not must_fail, "backward through a freed graph did not raise"
        COUNTS["backward_ok"] += 1
        seed_grad = np.ones(x.value.shape) if g is None else _f64(g)
        self._reference_backward(x, reach, seed_grad)
        if not retain:
            for e in ops_in:
                e.freed = True

    @rule(x=tensors, retain=st.booleans())
    def backward_of_sum(self, x: Entry, retain: bool) -> None:
        """``x.sum().backward()``: the usual loss shape, so most calls reach the leaves."""
        if not x.rg or x.value.size == 0:
            return
        xv = x.value.shape
        loss = self._apply(
            "sum",
            "sum",
            lambda: x.t.sum(),
            lambda: x.value.sum(),
            (x,),
            lambda g: [np.broadcast_to(g, xv)],
            False,
        )
        if isinstance(loss, Entry):
            self.backward(loss, with_grad=False, retain=retain, seed=0)

    # ---------------------------------------------------------- reference
    def _reachable(self, root: Entry) -> list[Entry]:
        seen = {root.idx: root}
        stack = [root]
        while stack:
            e = stack.pop()
            for p in e.parents:
                if p.rg and p.idx not in seen:
                    seen[p.idx] = p
                    stack.append(p)
        return sorted(seen.values(), key=lambda e: -e.idx)

    def _reference_backward(self, root: Entry, reach: list[Entry], seed: np.ndarray) -> None:
        grads: dict[int, np.ndarray] = {root.idx: seed}
        for e in reach:  # decreasing creation order is a topological order
            g = grads.pop(e.idx, None)
            if g is None:
                continue
            if not e.parents:
                if e.rg:
                    e.grad = g if e.grad is None else e.grad + g
                continue
            with np.errstate(all="ignore"):
                gps = e.vjp(g)
            for p, gp in zip(e.parents, gps):
                if p.rg and gp is not None:
                    gp = sum_to(np.asarray(gp, np.float64), p.value.shape)
                    grads[p.idx] = gp if p.idx not in grads else grads[p.idx] + gp

    # --------------------------------------------------------- invariants
    @invariant()
    def data_never_changes_and_grads_match(self) -> None:
        for e in self.entries:
            np.testing.assert_array_equal(e.t.data, e.value, err_msg="a tensor's data changed")
            assert e.t.requires_grad == e.rg
            if e.parents:
                assert e.t.grad is None  # non-leaves keep no .grad unless retain_grad()
                continue
            if e.grad is None:
                assert e.t.grad is None, "a leaf has a gradient nothing put there"
                continue
            got = e.t.grad
            assert got is not None, "a leaf lost its gradient"
            assert got.dtype == e.value.dtype and got.shape == e.value.shape
            assert not got.requires_grad
            low = got.dtype == np.float32 or any(
                p.low_precision or p.value.dtype == np.float32 for p in self.entries
            )
            tol = 2e-3 if low else 1e-9
            scale = max(1.0, float(np.max(np.abs(e.grad), initial=0.0)))
            np.testing.assert_allclose(got.data, e.grad, rtol=tol, atol=tol * scale)


CI = bool(os.environ.get("CI"))
TestAPIMachine = APIMachine.TestCase
TestAPIMachine.settings = settings(
    # SEEGRAD_FUZZ_EXAMPLES=5000 for a long bug hunt
    max_examples=int(os.environ.get("SEEGRAD_FUZZ_EXAMPLES", 150 if CI else 40)),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Any:
    yield
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    if cache is not None:
        cache.set("seegrad/fuzz_api", dict(COUNTS))
    print(f"\nfuzz_api: {COUNTS}")
