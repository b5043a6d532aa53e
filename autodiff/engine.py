"""The reverse-mode engine: walk the graph from the outputs back to the leaves.

Nodes are visited in decreasing *generation* (a node's generation is one more
than the newest of its inputs), using a heap instead of recursion, so a chain
of 100,000 ops needs no deeper Python stack than a chain of two. A node is
processed only after every node that consumes its outputs, so each output's
gradient is complete when its creator runs.

Two rules are applied here, once, for every op:

* **shape**: an op may return a gradient in the broadcast shape of its output;
  it is reduced to the input's shape with ``sum_to``;
* **dtype**: a gradient is cast to its input's dtype (float32 stays float32).

A node whose input was changed in place after it was recorded (``Tensor.mark_changed``)
is refused, unless its op declares ``reads_inputs = False``: its backward would read
the new values. Gradients are written to ``.grad`` only after the whole pass has run.

After a node has run, its references to inputs, outputs and saved arrays are
dropped (unless ``retain_graph``), which frees the intermediate buffers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Any

import numpy as np

from . import anomaly as _anomaly
from .diagnostics import growth
from .function import Function, config, retyped, set_grad_enabled, user_call_site, where
from .function import _new_tensor as _wrap
from .tensor import Tensor, memory_owner

__all__ = ["backward", "grad", "BackwardStep", "record_backward", "NoGraphError"]


class NoGraphError(RuntimeError):
    """``backward()`` or ``grad()`` asked for a gradient through a tensor without a graph
    (it does not require grad, or was computed under ``no_grad``)."""


@dataclass
class BackwardStep:
    """One step of a backward pass, as recorded by ``record_backward``.

    ``reduced`` lists ``(input_index, grad_shape, input_shape)`` for every
    gradient the engine summed back to a broadcast input's shape.

    Example (the ``mul`` step sums ``b``'s gradient from shape (2,) back to a scalar):
        >>> import autodiff as ad
        >>> x, b = ad.tensor([1.0, 2.0], requires_grad=True), ad.tensor(3.0, requires_grad=True)
        >>> with ad.record_backward() as steps:
        ...     (x * b).sum().backward()
        >>> [(s.fn.name, s.reduced) for s in steps]
        [('sum', []), ('mul', [(1, (2,), ())])]
        >>> steps[1].grad_outputs, steps[1].grad_inputs
        ((Tensor([1., 1.]),), (Tensor([3., 3.]), Tensor(3.)))
    """

    fn: Function
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor | None, ...]
    grad_outputs: tuple[Tensor | None, ...]
    grad_inputs: tuple[Tensor | None, ...]
    reduced: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)


class record_backward:
    """Context manager collecting a ``BackwardStep`` for each node the engine runs.

    This is the hook drawings use to show the backward pass step by step; it
    keeps the recorded tensors alive, so use it for teaching-sized graphs.

    Example:
        >>> import autodiff as ad
        >>> x = ad.tensor(2.0, requires_grad=True)
        >>> with ad.record_backward() as steps:
        ...     (x * 3).backward()
        >>> [s.fn.name for s in steps]
        ['mul']
    """

    def __init__(self) -> None:
        self.steps: list[BackwardStep] = []

    def __enter__(self) -> list[BackwardStep]:
        global _trace
        self._saved = _trace
        _trace = self.steps
        return self.steps

    def __exit__(self, *exc: object) -> None:
        global _trace
        _trace = self._saved


_trace: list[BackwardStep] | None = None


def _made_by(t: Tensor) -> str:
    fn = t.creator
    if fn is None:
        return ""
    return f" (made by op '{fn.name}' at {where(getattr(fn, 'call_site', None))})"


def _seed(root: Tensor, g: Any) -> Tensor:
    if g is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() called at {where(user_call_site(1))} on a tensor of shape "
                f"{root.shape} {root.dtype}{_made_by(root)}: without a gradient argument it "
                "needs a single-element tensor. For a loss, reduce it to one number first "
                f"(loss.mean() or loss.sum()); otherwise pass backward(grad) with a gradient "
                f"of shape {root.shape}."
            )
        return Tensor(np.ones_like(root.data), _copy=False)
    given = g.data if isinstance(g, Tensor) else np.asarray(g)
    if given.dtype != root.dtype:
        if given.dtype.kind == "c" and root.dtype.kind != "c":
            raise TypeError(
                f"backward() called at {where(user_call_site(2))}: a complex gradient "
                f"({given.dtype}) for a real tensor of dtype {root.dtype}{_made_by(root)}: "
                "casting it would drop the imaginary part; pass a real gradient"
            )
        if isinstance(g, Tensor) and given.dtype.kind in "fc":
            g = ops.astype(g, root.dtype)  # a float64 seed keeps float32 work float32
        else:  # an integer or bool seed, or an array: a constant in the root's dtype
            g = Tensor(given.astype(root.dtype), _copy=False)
    elif not isinstance(g, Tensor):
        g = Tensor(given, _copy=False)
    if g.shape != root.shape:
        raise ValueError(
            f"backward() called at {where(user_call_site(2))}: gradient of shape {g.shape} "
            f"does not match the tensor's shape {root.shape}{_made_by(root)}"
        )
    return g


def _released_error(fn: Function) -> RuntimeError:
    return RuntimeError(
        f"backward() called at {where(user_call_site(1))} goes through op '{fn.name}' "
        f"(created at {where(getattr(fn, 'call_site', None))}) a second time: its saved "
        "values were freed by the first backward(). Pass retain_graph=True to the first "
        "backward() call if you need to run backward through the same graph again, or "
        "if the first one stopped with an error part-way (it had freed the nodes it "
        "passed). If a "
        "tensor from an earlier iteration feeds this graph by mistake (a running total such "
        "as `total_loss += loss`, an RNN state carried across batches), detach it instead: "
        "`total_loss += loss.item()`, `h = h.detach()`."
    )


def _check_unchanged(fn: Function) -> None:
    """Refuse a node one of whose inputs was changed in place after it was recorded."""
    changed = config.changed
    for i, x in enumerate(fn.inputs):
        entry = changed.get(id(memory_owner(x.data)))
        if entry is not None and entry[1] > fn.clock:
            label = f"'{x.name}', " if x.name else ""
            raise RuntimeError(
                f"the backward pass called at {where(user_call_site(2))} goes through "
                f"{_op_site(fn)}, whose input {i} ({label}shape {x.shape}) was changed in "
                "place after the op was recorded (an optimizer step, `p -= ...` under "
                "no_grad, load_state_dict): its backward needs the value the forward saw. "
                "Call backward() before changing the parameters (loss.backward(), then "
                "opt.step()), or run the forward again after the change."
            )


def _op_site(fn: Function) -> str:
    return f"op '{fn.name}' (created at {where(getattr(fn, 'call_site', None))})"


def _backward_error(fn: Function, err: Exception) -> Exception:
    hint = ""
    if "read-only" in str(err):  # the lecture notes' Relu does ``dout[mask] = 0``
        hint = (
            "; the upstream gradient a backward receives may be shared with other nodes "
            "(and with a retained .grad): compute a new one (gy * mask) instead of changing it"
        )
    return retyped(err, f"in the backward of {_op_site(fn)}: {err}{hint}")


def _fix_grad(fn: Function, x: Tensor, gx: Any, i: int, step: BackwardStep | None) -> Tensor:
    """Bring an op's gradient to its input's shape and dtype (the one shared rule)."""
    if not isinstance(gx, Tensor):
        gx = Tensor(np.asarray(gx), _copy=False)  # a user op returned an ndarray
    if gx.data.shape != x.data.shape:
        try:
            reduced = ops.sum_to(gx, x.data.shape)
        except ValueError as err:
            raise ValueError(
                f"{_op_site(fn)}: backward returned a gradient of shape {gx.shape} for input "
                f"{i} of shape {x.shape}; expected that shape, or one that sums back to it "
                "(the input's shape broadcast against others)"
            ) from err
        if step is not None:
            step.reduced.append((i, gx.shape, x.shape))
        gx = reduced
    if gx.data.dtype != x.data.dtype:
        gx = ops.astype(gx, x.data.dtype)
    return gx


def _leading_to(roots: Sequence[Tensor], wanted: set[int]) -> tuple[set[int], int]:
    """ids of the nodes with a path down to a ``wanted`` tensor (all that ``grad()`` runs),
    and how many nodes the graph below the roots has (for the growth monitor).

    The rest of the graph (a part only the leaves need, or one without a backward) is
    neither run nor freed, so it can still be differentiated later, as in PyTorch.
    """
    nodes: dict[int, Function] = {}
    stack = [r.creator for r in roots if r.creator is not None]
    while stack:  # every node below the roots (no recursion: graphs may be deep)
        fn = stack.pop()
        if id(fn) in nodes:
            continue
        nodes[id(fn)] = fn
        for x in fn.inputs or ():
            if x.creator is not None and id(x.creator) not in nodes:
                stack.append(x.creator)
    needed: set[int] = set()
    # inputs' creators have lower generations: each node is decided after those below it
    for fn in sorted(nodes.values(), key=lambda f: f.generation):
        if fn.inputs is None:
            needed.add(id(fn))  # released: running it raises the usual error
            continue
        for x in fn.inputs:
            if id(x) in wanted or (x.creator is not None and id(x.creator) in needed):
                needed.add(id(fn))
                break
    return needed, len(nodes)


def backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Any] | None = None,
    retain_graph: bool = False,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> dict[int, Tensor] | None:
    """Run reverse mode from ``roots``.

    With ``inputs=None`` gradients are accumulated into ``.grad`` of every leaf
    that requires grad (and of non-leaves that called ``retain_grad()``). With
    ``inputs`` given, nothing is written to ``.grad``: the gradients of those
    tensors are returned in a dict keyed by ``id``. ``.grad`` is written only after
    the whole pass has run, so a pass stopped part-way changes none. A seed in
    ``root_grads`` is cast to its root's dtype (a complex one for a real root is a
    TypeError).

    Example (the apple bill: 2 apples at 100 with 10% tax):
        >>> import autodiff as ad
        >>> from autodiff.engine import backward
        >>> apple, n = ad.tensor(100.0, requires_grad=True), ad.tensor(2.0, requires_grad=True)
        >>> tax = ad.tensor(1.1, requires_grad=True)
        >>> bill = apple * n * tax
        >>> got = backward([bill], inputs=[n], retain_graph=True)  # returned, not stored
        >>> round(float(got[id(n)]), 2), n.grad is None
        (110.0, True)
        >>> backward([bill])  # what bill.backward() runs: accumulate into .grad
        >>> round(float(apple.grad), 2), round(float(n.grad), 2), round(float(tax.grad), 2)
        (2.2, 110.0, 200.0)
    """
    retain_graph = retain_graph or create_graph
    wanted = None if inputs is None else {id(t) for t in inputs}
    needed, graph_size = (None, 0) if wanted is None else _leading_to(roots, wanted)
    # id -> (tensor, gradient so far); holding the tensor keeps it alive until its
    # creator has run, even after the consumer that referenced it was released.
    grads: dict[int, tuple[Tensor, Tensor]] = {}
    leaves: dict[int, Tensor] = {}
    # non-leaves that retain_grad() with their gradient: like the leaves, they get it
    # only when the whole pass succeeded (an error part-way leaves every .grad as it was)
    retained: list[tuple[Tensor, Any]] = []
    handed: set[int] = set()
    heap: list[tuple[int, int, Function]] = []
    queued: set[int] = set()
    order = 0
    count = 0  # nodes run, for the graph-growth monitor (cheaper than a separate walk)
    anomaly = config.anomaly
    outer_node = _anomaly.state.node

    # Without create_graph nothing of the backward is recorded, so gradients travel
    # as bare numpy arrays and are wrapped in Tensors only where a Tensor is needed
    # (an op without a fast array path, retained grads, leaves, traces).
    arrays = not create_graph
    plain = wanted is None
    # Sums of several incoming gradients that this loop allocated itself (id -> array,
    # holding the array so the id stays unique): those are added to in place, which
    # saves an allocation per extra use of a weight (35 per step for a 35-step RNN).
    owned: dict[int, np.ndarray] = {}

    def take(fn: Function, k: int, y: Tensor | None) -> Any:
        """The gradient that reached output ``k`` of ``fn`` (``y``, None if dead); zeros if none."""
        if y is not None:
            key = id(y)
            entry = grads.get(key) if wanted and key in wanted else grads.pop(key, None)
            if entry is not None:
                gy = entry[1]
                if owned:  # handed to a backward, it may come back as another input's grad
                    owned.pop(id(gy), None)
                if y.retains_grad and wanted is None:
                    retained.append((y, gy))  # written with the leaves', once all ran
                return gy
        shape, dtype = fn.out_meta[k]
        gy = np.zeros(shape, dtype)
        return _wrap(gy) if not arrays else gy

    def receive(x: Tensor, gx: Any) -> None:
        key = id(x)
        prev = grads.get(key)
        grads[key] = (x, gx if prev is None else prev[1] + gx)
        if x.creator is None:
            leaves[key] = x

    with set_grad_enabled(create_graph):
        for i, root in enumerate(roots):
            if not root.requires_grad:
                raise NoGraphError(
                    f"backward() called at {where(user_call_site(1))}: output {i} (shape "
                    f"{root.shape}) does not require grad: none of "
                    "the tensors it was computed from has requires_grad=True, or it was "
                    "computed under no_grad()"
                )
            g = _seed(root, None if root_grads is None else root_grads[i])
            handed.add(id(g.data))
            receive(root, g.data if arrays else g)
            fn = root.creator
            if fn is not None and id(fn) not in queued and (needed is None or id(fn) in needed):
                queued.add(id(fn))
                heappush(heap, (-fn.generation, order, fn))
                order += 1

        trace = _trace
        try:
            while heap:
                fn = heappop(heap)[2]
                fn_inputs = fn.inputs
                if fn_inputs is None:
                    raise _released_error(fn)
                # (read each time: a backward of the user's may change a parameter)
                if fn.clock != config.changes and fn.reads_inputs:
                    _check_unchanged(fn)
                count += 1
                refs = fn.outputs
                if len(refs) == 1:  # nearly every node: no per-output lists
                    y = refs[0]()
                    outs = (y,)
                    # take()'s common case inline (one call less per node): a live
                    # output, in a plain backward, holding its gradient
                    entry = None if y is None or not plain else grads.pop(id(y), None)
                    if entry is None or y.retains_grad or owned:
                        if entry is not None:
                            grads[id(y)] = entry  # put back for take() to handle
                        gys = (take(fn, 0, y),)
                    else:
                        gys = (entry[1],)
                else:
                    outs = tuple([ref() for ref in refs])
                    gys = tuple([take(fn, k, y) for k, y in enumerate(outs)])
                if anomaly:
                    _anomaly.state.node = fn
                try:
                    gxs = NotImplemented
                    fast = fn.backward_arrays if arrays else None
                    if fast is not None:
                        gxs = fast(*gys)
                    if gxs is NotImplemented:
                        gxs = fn.backward(*[_wrap(g) for g in gys] if arrays else gys)
                        if type(gxs) is not tuple:
                            gxs = tuple(gxs) if type(gxs) is list else (gxs,)
                        if arrays:
                            gxs = tuple([g.data if isinstance(g, Tensor) else g for g in gxs])
                except (ValueError, IndexError, TypeError, ArithmeticError) as err:
                    raise _backward_error(fn, err) from err
                if type(gxs) is not tuple:
                    gxs = tuple(gxs) if type(gxs) is list else (gxs,)
                if len(gxs) != len(fn_inputs):
                    raise RuntimeError(
                        f"{_op_site(fn)}: backward returned {len(gxs)} gradients for "
                        f"{len(fn_inputs)} inputs; return one per input (None for an input "
                        "that needs no gradient)"
                    )
                if anomaly:
                    _anomaly.state.node = outer_node
                    _anomaly.check_backward(fn, [_as_tensor(g) for g in gys], gxs)
                step = None
                if trace is not None:
                    step = BackwardStep(
                        fn, fn_inputs, outs, tuple([_as_tensor(g) for g in gys]), ()
                    )
                    fixed: list[Tensor | None] = []
                for i, x in enumerate(fn_inputs):
                    gx = gxs[i]
                    if gx is None or not x.requires_grad:
                        if step is not None:
                            fixed.append(None)
                        continue
                    if arrays:
                        xd = x.data
                        if (
                            type(gx) is not np.ndarray
                            or gx.shape != xd.shape
                            or gx.dtype != xd.dtype
                        ):
                            gx = _fix_grad(fn, x, _as_tensor(gx), i, step).data
                    elif (
                        type(gx) is not Tensor
                        or gx.data.shape != x.data.shape
                        or gx.data.dtype != x.data.dtype
                    ):
                        gx = _fix_grad(fn, x, gx, i, step)
                    if step is not None:
                        fixed.append(_as_tensor(gx))
                    key = id(x)
                    prev = grads.get(key)
                    if prev is None:
                        grads[key] = (x, gx)
                        # the first gradient x receives: its creator has to run (later
                        # gradients find it queued already), or x is a leaf
                        creator = x.creator
                        if creator is None:
                            leaves[key] = x
                        elif id(creator) not in queued and (
                            needed is None or id(creator) in needed
                        ):
                            queued.add(id(creator))
                            heappush(heap, (-creator.generation, order, creator))
                            order += 1
                    elif arrays:
                        total = prev[1]
                        if id(total) in owned:
                            total += gx  # a sum this loop allocated: nothing else can see it
                        else:
                            total = total + gx
                            owned[id(total)] = total
                        grads[key] = (x, total)
                    else:
                        grads[key] = (x, prev[1] + gx)
                if step is not None:
                    step.grad_inputs = tuple(fixed)
                    trace.append(step)
                if not retain_graph:
                    fn.release()
        finally:
            if anomaly:
                _anomaly.state.node = outer_node
        if growth.enabled:
            # the whole graph's size: grad() runs only part of it, a part that depends on
            # the inputs asked for, which is no sign of growth
            growth.observe(roots[0], count if needed is None else graph_size)

        if wanted is not None:
            return {key: _as_tensor(grads[key][1]) for key in wanted if key in grads}
        for y, gy in retained:
            g = _as_tensor(gy)
            y.grad = _own(g, handed) if y.grad is None else y.grad + g
        for key, leaf in leaves.items():
            g = _as_tensor(grads[key][1])
            leaf.grad = _own(g, handed) if leaf.grad is None else leaf.grad + g
    return None


def _as_tensor(g: Any) -> Tensor:
    return g if isinstance(g, Tensor) else _wrap(np.asarray(g))


def _own(g: Tensor, handed: set[int]) -> Tensor:
    # A gradient handed to the user must not alias the upstream gradient or another
    # tensor's gradient (ops like add pass the same array to both inputs).
    if g.data.base is not None or id(g.data) in handed:
        g = ops.copy(g)
    handed.add(id(g.data))
    return g


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    Args:
        outputs: a tensor or a sequence of tensors to differentiate.
        inputs: the tensors to differentiate with respect to (leaves or not).
        grad_outputs: the upstream gradient of each output (may be omitted for
            single-element outputs).
        retain_graph: keep the graph afterwards; defaults to ``create_graph``.
        create_graph: record the computation of the gradients so they can be
            differentiated again (Hessian-vector products, gradient penalties).
        allow_unused: return None for inputs the outputs do not depend on
            (otherwise that is an error).

    Returns:
        A tuple with one gradient per input.

    Example (second derivative of x**3 at 2 is 12):
        >>> import autodiff as ad
        >>> x = ad.tensor(2.0, requires_grad=True)
        >>> (dx,) = ad.grad(x ** 3, x, create_graph=True)
        >>> (d2x,) = ad.grad(dx, x)
        >>> float(dx.data), float(d2x.data)
        (12.0, 12.0)
    """
    outs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    ins = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is not None and not isinstance(grad_outputs, (tuple, list)):
        grad_outputs = (grad_outputs,)  # one gradient: a Tensor, an array or a number
    if grad_outputs is not None and len(grad_outputs) != len(outs):
        raise ValueError(
            f"grad() at {where(user_call_site(1))}: {len(grad_outputs)} grad_outputs for "
            f"{len(outs)} outputs; give one per output"
        )
    if retain_graph is None:
        retain_graph = create_graph
    for i, x in enumerate(ins):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise NoGraphError(f"grad(): input {i} does not require grad")
    found = backward(outs, grad_outputs, retain_graph, create_graph, inputs=ins)
    result: list[Tensor | None] = []
    handed: set[int] = set()
    for i, x in enumerate(ins):
        g = found.get(id(x)) if found else None
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad(): input {i} (shape {x.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        if g is not None:
            with set_grad_enabled(create_graph):
                g = _own(g, handed)
        result.append(g)
    return tuple(result)


from . import ops  # noqa: E402
