"""Regressions found reviewing the float16-in-float32 commit (3718da3); each failed before
its fix: softmax, log_softmax and logsumexp compute float16 in float32 inside their one
node (wrapping casts held three times the memory and named a float16 input float32)."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad

F16, F32 = np.float16, np.float32
RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 100))


def _saved(fn, dtype):
    x = ad.Tensor(X.astype(dtype), requires_grad=True)
    return ad.graph_stats(fn(x), monitor=False)


CASES = {
    "softmax": lambda x: ad.softmax(x),
    "log_softmax": lambda x: ad.log_softmax(x),
    "logsumexp": lambda x: ad.logsumexp(x, axis=-1),
}


@pytest.mark.parametrize("name", list(CASES))
def test_float16_graph_holds_no_more_than_the_float32_graph(name):
    half, single = _saved(CASES[name], F16), _saved(CASES[name], F32)
    assert half.saved_bytes <= single.saved_bytes, (half, single)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_float16_softmax_family_is_one_node_as_in_float32(name):
    assert _saved(CASES[name], F16).nodes == _saved(CASES[name], F32).nodes == 1


@pytest.mark.parametrize("fn", [ad.softmax, ad.log_softmax, ad.logsumexp])
def test_axis_error_of_a_float16_input_names_float16(fn):
    x = ad.Tensor(np.ones((2, 3), F16))
    with pytest.raises(Exception) as err:
        fn(x, axis=3)
    assert "(2, 3) float16" in str(err.value), str(err.value)
