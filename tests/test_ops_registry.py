"""Walk the op registry: every registered op gets hypothesis-driven gradient checks.

The meta-tests make sure nothing escapes the walk: every ``Function`` subclass
in ``autodiff.ops`` must be covered by a registry entry, and every op the core
promises must be registered.
"""

import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as hs

import autodiff as ad
import autodiff.ops
from autodiff.function import Function
from autodiff.testing import check_op
from autodiff.testing import strategies as st

PROMISED = """
add sub mul div neg pow pow_scalar rpow exp log log1p sqrt abs sin cos tan tanh sigmoid relu
leaky_relu elu selu softplus step clip maximum minimum where sum mean var std max min logsumexp
argmax reshape transpose swapaxes broadcast_to sum_to expand_dims squeeze flatten getitem
concatenate stack split pad matmul linear softmax log_softmax
""".split()

OPS = ad.registry.all_ops()


@pytest.mark.parametrize("info", OPS, ids=[i.name for i in OPS])
@given(data=hs.data())
def test_op_gradients(info, data):
    arrays, kwargs = data.draw(st.op_cases(info), label="case")
    check_op(info, arrays, kwargs)


def _function_classes():
    seen, todo = set(), list(Function.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
    return {c for c in seen if c.__module__.startswith("autodiff.ops")}


def test_every_function_class_is_covered_by_the_registry():
    covered = {cls for info in OPS for cls in info.functions}
    missing = sorted(c.__qualname__ for c in _function_classes() - covered)
    assert not missing, (
        f"Function classes without a registry entry (so no gradient test): {missing}"
    )


def test_every_promised_op_is_registered():
    names = {info.name for info in OPS}
    assert not [n for n in PROMISED if n not in names]


def test_every_registered_op_can_be_drawn_and_has_a_domain():
    for info in OPS:
        assert info.fn is not None
        assert info.cases is not None or len(info.domains) >= 1, info.name
        assert info.functions, f"op '{info.name}' names no Function classes"


def test_public_ops_are_in_the_namespace():
    for name in autodiff.ops.__all__:
        assert inspect.isfunction(getattr(ad, name)), name
