"""Hypothesis strategies for shapes, arrays, axes and indices, and for registered ops.

Arrays are drawn from a seed and filled with distinct random values, so
max/min and maximum/minimum never meet ties (where they are not
differentiable) and values keep a margin from each op's kinks.

Example:
    >>> from hypothesis import given
    >>> from autodiff.testing import strategies as st
    >>> @given(st.arrays((2, 3)))
    ... def test_shape(a):
    ...     assert a.shape == (2, 3)
    >>> test_shape()
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as hs
from hypothesis.extra import numpy as hnp

from ..registry import REAL, Domain, OpInfo

# Re-exported so op registrations can use one namespace.
booleans = hs.booleans
integers = hs.integers
sampled_from = hs.sampled_from
lists = hs.lists
permutations = hs.permutations
just = hs.just
data = hs.data

__all__ = [
    "shapes",
    "broadcastable_shapes",
    "arrays",
    "bool_arrays",
    "tensors",
    "axes",
    "factorizations",
    "indices_for",
    "op_cases",
]


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> Any:
    """Array shapes with ``min_dims..max_dims`` axes of length ``min_side..max_side``.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from hypothesis import given
        >>> from autodiff.testing import strategies as st
        >>> @given(st.shapes(min_dims=1, max_dims=2, max_side=3))
        ... def test_sum_of_ones_counts_elements(shape):
        ...     assert 1 <= len(shape) <= 2 and max(shape) <= 3
        ...     assert ad.tensor(np.ones(shape)).sum().item() == np.prod(shape)
        >>> test_sum_of_ones_counts_elements()
    """
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


@hs.composite
def broadcastable_shapes(
    draw: Any,
    n: int = 2,
    expand: bool = False,
    max_dims: int = 3,
    max_side: int = 4,
    min_dims: int = 0,
) -> tuple[tuple[int, ...], ...]:
    """``n`` shapes that broadcast together, each with ``min_dims..max_dims`` axes.

    With ``expand=True`` returns ``(small, big)`` where ``small`` broadcasts *to*
    ``big`` (the pairs ``broadcast_to`` and ``sum_to`` need).

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from hypothesis import given
        >>> from autodiff.testing import strategies as st
        >>> @given(st.broadcastable_shapes(2))
        ... def test_add_broadcasts(shapes):
        ...     a, b = (ad.tensor(np.zeros(s)) for s in shapes)
        ...     assert (a + b).shape == np.broadcast_shapes(*shapes)
        >>> @given(st.broadcastable_shapes(expand=True))
        ... def test_sum_to(pair):
        ...     small, big = pair
        ...     assert ad.sum_to(ad.tensor(np.ones(big)), small).shape == small
        >>> test_add_broadcasts(); test_sum_to()
    """
    if expand:
        big = draw(shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side))
        keep = draw(hs.integers(min_dims, len(big)))
        small = tuple(1 if draw(hs.booleans()) else s for s in big[len(big) - keep :])
        return small, big
    result = draw(
        hnp.mutually_broadcastable_shapes(
            num_shapes=n, min_dims=min_dims, max_dims=max_dims, max_side=max_side
        )
    )
    return tuple(result.input_shapes)


@hs.composite
def arrays(
    draw: Any,
    shape: tuple[int, ...],
    domain: Domain = REAL,
    dtype: Any = np.float64,
    salt: int = 0,
) -> np.ndarray:
    """An array of ``shape`` with distinct values inside ``domain`` (kinks avoided).

    Give each input of one call a different ``salt``: hypothesis shrinks seeds
    towards equal values, and equal inputs would be ties for ``maximum``.

    Example (check a gradient on values where the op is defined):
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from hypothesis import given
        >>> from autodiff.testing import strategies as st
        >>> from autodiff.registry import POSITIVE
        >>> from autodiff.testing import gradcheck
        >>> @given(st.arrays((3,), POSITIVE))
        ... def test_log_gradient(a):
        ...     assert a.dtype == np.float64 and np.all((0.2 <= a) & (a <= 3.0))
        ...     assert gradcheck(ad.log, [a])
        >>> test_log_gradient()
    """
    seed = draw(hs.integers(0, 2**32 - 1))
    rng = np.random.default_rng([seed, salt])
    return np.asarray(_uniform(rng, domain, shape), dtype=dtype)


def _uniform(rng: np.random.Generator, domain: Domain, shape: Any) -> np.ndarray:
    """Uniform over the domain's allowed pieces (``Domain.intervals``).

    Drawing from the pieces themselves, rather than pushing values off each kink,
    keeps them distinct (a push maps a whole band onto one point: ties) and inside
    ``[low, high]`` and away from every kink (a push off one kink can land on another).
    """
    pieces = np.array(domain.intervals(), dtype=np.float64)
    lengths = pieces[:, 1] - pieces[:, 0]
    ends = np.cumsum(lengths)
    u = rng.uniform(0.0, ends[-1], size=shape)
    k = np.minimum(np.searchsorted(ends, u, side="right"), len(pieces) - 1)
    return pieces[k, 0] + (u - (ends[k] - lengths[k]))


@hs.composite
def bool_arrays(draw: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean array of ``shape``.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from hypothesis import given
        >>> from autodiff.testing import strategies as st
        >>> @given(st.arrays((4,)), st.bool_arrays((4,)))
        ... def test_where_matches_numpy(a, mask):
        ...     assert mask.dtype == bool and mask.shape == (4,)
        ...     y = ad.where(mask, ad.tensor(a), 0.0)
        ...     assert np.array_equal(y.data, np.where(mask, a, 0.0))
        >>> test_where_matches_numpy()
    """
    seed = draw(hs.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).random(shape) < 0.5


@hs.composite
def tensors(
    draw: Any,
    shape: tuple[int, ...] | None = None,
    domain: Domain = REAL,
    dtype: Any = np.float32,
    requires_grad: bool = False,
) -> Any:
    """A ``Tensor`` (random shape unless given) with values in ``domain``.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from hypothesis import given
        >>> from autodiff.testing import strategies as st
        >>> @given(st.tensors(requires_grad=True))
        ... def test_sum_gradient_is_ones(x):
        ...     assert x.dtype == np.float32 and x.is_leaf
        ...     x.sum().backward()
        ...     assert np.array_equal(x.grad.data, np.ones(x.shape))
        >>> test_sum_gradient_is_ones()
    """
    from ..tensor import Tensor

    if shape is None:
        shape = draw(shapes())
    return Tensor(draw(arrays(shape, domain, dtype)), requires_grad=requires_grad)


@hs.composite
def axes(draw: Any, ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> Any:
    """A valid ``axis`` argument for an array with ``ndim`` axes (negatives included).

    Example (``None``, an int or a tuple of ints):
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from hypothesis import given
        >>> from autodiff.testing import strategies as st
        >>> @given(st.arrays((2, 3, 4)), st.axes(3))
        ... def test_sum_matches_numpy(a, axis):
        ...     assert np.allclose(ad.tensor(a).sum(axis=axis).data, a.sum(axis=axis))
        >>> test_sum_matches_numpy()
    """
    choices = []
    if allow_none:
        choices.append("none")
    if ndim > 0:
        choices.append("int")
        if allow_tuple:
            choices.append("tuple")
    if not choices:
        return None
    kind = draw(hs.sampled_from(choices))
    if kind == "none":
        return None
    if kind == "int":
        return draw(hs.integers(-ndim, ndim - 1))
    picked = draw(hs.lists(hs.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(hs.booleans()) else a for a in picked)


@hs.composite
def factorizations(draw: Any, size: int) -> tuple[int, ...]:
    """A shape whose element count is ``size`` (for reshape targets).

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from hypothesis import given
        >>> from autodiff.testing import strategies as st
        >>> @given(st.factorizations(12))
        ... def test_reshape(shape):
        ...     assert np.prod(shape) == 12
        ...     assert ad.tensor(np.arange(12.0)).reshape(shape).shape == shape
        >>> test_reshape()
    """
    dims = []
    rest = size
    while rest > 1 and len(dims) < 3:
        divisors = [d for d in range(2, rest + 1) if rest % d == 0]
        d = draw(hs.sampled_from(divisors))
        dims.append(d)
        rest //= d
    if rest > 1:
        dims.append(rest)
    if draw(hs.booleans()):
        dims.insert(draw(hs.integers(0, len(dims))), 1)
    return tuple(draw(hs.permutations(dims))) if dims else ()


@hs.composite
def indices_for(draw: Any, shape: tuple[int, ...]) -> Any:
    """An index for an array of ``shape``: ints, slices, integer arrays (with repeats) or masks.

    Example:
        >>> import numpy as np
        >>> import autodiff as ad
        >>> from hypothesis import given
        >>> from autodiff.testing import strategies as st
        >>> @given(st.arrays((4, 3)), st.indices_for((4, 3)))
        ... def test_getitem_matches_numpy(a, index):
        ...     assert np.array_equal(ad.tensor(a)[index].data, a[index])
        >>> test_getitem_matches_numpy()
    """
    if not shape:
        # a 0-d array takes only the empty index and Ellipsis (what ints and slices
        # would need an axis for)
        return draw(hs.sampled_from([(), Ellipsis]))
    kind = draw(hs.sampled_from(["basic", "int_array", "mask", "mixed"]))
    if kind == "int_array":
        k = draw(hs.integers(1, 5))
        return np.asarray(
            draw(hs.lists(hs.integers(-shape[0], shape[0] - 1), min_size=k, max_size=k))
        )
    if kind == "mask":
        mask = draw(bool_arrays(shape[:1]))
        return mask
    if kind == "mixed" and len(shape) >= 2:
        rows = np.asarray(draw(hs.lists(hs.integers(0, shape[0] - 1), min_size=1, max_size=4)))
        return (rows, slice(None, None, draw(hs.sampled_from([1, -1, 2]))))
    parts: list[Any] = []
    for n in shape[: draw(hs.integers(1, len(shape)))]:
        if draw(hs.booleans()):
            parts.append(draw(hs.integers(-n, n - 1)))
        else:
            start = draw(hs.integers(0, n - 1))
            stop = draw(hs.integers(start + 1, n))
            parts.append(slice(start, stop, draw(hs.sampled_from([1, 2]))))
    return tuple(parts)


@hs.composite
def op_cases(draw: Any, info: OpInfo) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Inputs (float64 arrays) and keyword arguments for one call of a registered op.

    Give the test ``settings(deadline=None)``: ops with numba kernels (convolutions,
    recurrent sequences) compile on their first call, which overruns hypothesis's
    default 200 ms deadline once and is then reported as a flaky test.

    Example (the property test the project runs for every op; register yours first):
        >>> import autodiff as ad
        >>> from hypothesis import given, settings
        >>> from autodiff.testing import check_op, strategies as st
        >>> info = ad.registry.get("maximum")
        >>> @settings(deadline=None)
        ... @given(st.op_cases(info))
        ... def test_maximum(case):
        ...     arrays, kwargs = case
        ...     check_op(info, arrays, kwargs)
        >>> test_maximum()
    """
    if info.cases is not None:
        return info.cases(draw, _this_module())
    n = len(info.domains)
    if info.shapes == "broadcast":
        input_shapes = list(
            draw(broadcastable_shapes(n, min_dims=info.min_dims, max_dims=info.max_dims))
        )
    else:
        shape = draw(shapes(min_dims=info.min_dims, max_dims=info.max_dims))
        input_shapes = [shape] * n
    arrays_ = [
        draw(arrays(s, d, salt=k)) for k, (s, d) in enumerate(zip(input_shapes, info.domains))
    ]
    kwargs = info.params(draw, _this_module(), input_shapes) if info.params else {}
    return arrays_, kwargs


def _this_module() -> Any:
    import sys

    return sys.modules[__name__]
