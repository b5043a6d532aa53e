"""Linear algebra: matmul (1-D, 2-D and batched, numpy rules) and the fused ``linear``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import Function
from ..registry import REAL, register
from ..tensor import Tensor
from .shape import reshape, sum_to, swapaxes


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` on arrays; a float16 product is computed in float32 and rounded to float16.

    numpy's own float16 matmul has no BLAS: it converts every element to float32 and
    accumulates in float32 anyway, ~40x slower than converting both operands once and
    calling float32 BLAS (same result, bit for bit).
    """
    if a.dtype.char == "e" or b.dtype.char == "e":
        out = np.result_type(a, b)
        if out.char == "e":
            return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(out)
    return np.matmul(a, b)


class MatMul(Function):
    rule = "gx0 = gy @ x1.T, gx1 = x0.T @ gy"

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul needs at least 1-D inputs; use mul for scalars")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"shapes {a.shape} and {b.shape} are not aligned: the last axis of the first "
                f"({a.shape[-1]}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} "
                f"axis of the second ({b.shape[-2 if b.ndim > 1 else 0]})"
            )
        return _mm(a, b)

    def backward(self, gy: Tensor) -> tuple[Tensor | None, Tensor | None]:
        a, b = self.inputs
        if a.ndim == 2 and b.ndim == 2:
            return (
                gy @ b.T if a.requires_grad else None,
                a.T @ gy if b.requires_grad else None,
            )
        # Promote 1-D operands to matrices, as numpy does, then undo it.
        a2 = a if a.ndim > 1 else reshape(a, (1, a.shape[0]))
        b2 = b if b.ndim > 1 else reshape(b, (b.shape[0], 1))
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        gy2 = reshape(gy, batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if a.requires_grad:
            ga = reshape(sum_to(gy2 @ swapaxes(b2, -1, -2), a2.shape), a.shape)
        if b.requires_grad:
            gb = reshape(sum_to(swapaxes(a2, -1, -2) @ gy2, b2.shape), b.shape)
        return ga, gb

    def backward_arrays(self, gy):
        a, b = self.inputs
        if a.ndim != 2 or b.ndim != 2:
            return NotImplemented
        return (
            _mm(gy, b.data.T) if a.requires_grad else None,
            _mm(a.data.T, gy) if b.requires_grad else None,
        )


class Linear(Function):
    """``x @ W + b`` as one node (the Affine layer of the lecture notes)."""

    rule = "gx = gy @ W.T, gW = x.T @ gy, gb = sum(gy, axis=0)"

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[0]:
            raise ValueError(
                f"linear expects x (..., in_features) and W (in_features, out_features); "
                f"got x {x.shape} and W {w.shape}"
            )
        y = _mm(x, w)
        if b is not None:
            if b.dtype == y.dtype and b.ndim <= 1:
                y += b  # saves an allocation on the hot path
            else:
                y = y + b
        return y

    def backward(self, gy: Tensor) -> tuple[Tensor | None, ...]:
        x, w = self.inputs[0], self.inputs[1]
        gx = gy @ w.T if x.requires_grad else None
        gw = None
        if w.requires_grad:
            if x.ndim == 2:
                gw = x.T @ gy
            else:
                x2 = reshape(x, (-1, x.shape[-1]))
                gw = x2.T @ reshape(gy, (-1, gy.shape[-1]))
        if len(self.inputs) == 3:
            return gx, gw, gy  # the engine sums gy down to b's shape
        return gx, gw

    def backward_arrays(self, gy):
        x, w = self.inputs[0].data, self.inputs[1].data
        gx = _mm(gy, w.T) if self.inputs[0].requires_grad else None
        gy2 = gy.reshape(-1, gy.shape[-1])
        gw = _mm(x.reshape(-1, x.shape[-1]).T, gy2) if self.inputs[1].requires_grad else None
        if len(self.inputs) == 3:
            # a bias of another shape than (out,) is summed down by the engine, as in backward
            # (float16 is summed in float32: along the batch axis float16 stagnates at 1024 + 0.5)
            acc = np.float32 if gy2.dtype == np.float16 else None
            gb = gy2.sum(axis=0, dtype=acc) if self.inputs[2].data.shape == gy.shape[-1:] else gy
            return gx, gw, gb
        return gx, gw


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with numpy's rules (1-D vectors, batched stacks, broadcasting).

    Example:
        >>> import autodiff as ad
        >>> ad.matmul(ad.tensor([[1.0, 2.0]]), ad.tensor([[3.0], [4.0]]))
        Tensor([[11.]])
    """
    return MatMul()(a, b)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """``x @ weight + bias`` as one node; ``weight`` has shape (in_features, out_features).

    Example:
        >>> import autodiff as ad
        >>> ad.linear(ad.tensor([[1.0, 2.0]]), ad.tensor([[1.0], [1.0]]), ad.tensor([0.5]))
        Tensor([[3.5]])
    """
    if bias is None:
        return Linear()(x, weight)
    return Linear()(x, weight, bias)


def _matmul_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    kind = draw(st.sampled_from(["2d", "vec-mat", "mat-vec", "vec-vec", "batched", "broadcast"]))
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    bsz = draw(st.integers(1, 3))
    shapes = {
        "2d": ((m, k), (k, n)),
        "vec-mat": ((k,), (k, n)),
        "mat-vec": ((m, k), (k,)),
        "vec-vec": ((k,), (k,)),
        "batched": ((bsz, m, k), (bsz, k, n)),
        "broadcast": ((bsz, m, k), (k, n)),
    }[kind]
    return [draw(st.arrays(s, REAL, salt=k)) for k, s in enumerate(shapes)], {}


def _linear_case(draw: Any, st: Any) -> tuple[list[Any], dict[str, Any]]:
    lead = draw(st.shapes(min_dims=1, max_dims=2))
    k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    arrays = [draw(st.arrays(lead + (k,), REAL)), draw(st.arrays((k, n), REAL))]
    if draw(st.booleans()):
        # any shape that broadcasts against the output, not only the usual (out,)
        bias = draw(st.sampled_from([(n,), (1, n), (1,), lead + (n,)]))
        arrays.append(draw(st.arrays(bias, REAL)))
    return arrays, {}


register("matmul", matmul, functions=(MatMul,), shapes="custom", cases=_matmul_case)
register("linear", linear, functions=(Linear,), shapes="custom", cases=_linear_case)
