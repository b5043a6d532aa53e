"""The apple/orange bill, the classic first computational graph, built twice.

2 apples at 100 and 3 oranges at 150, with 10% tax:

    total = (apple_price * apple_count + orange_price * orange_count) * tax

First with two hand-written nodes (an add node and a mul node, each with its own
backward), then with plain Tensors whose operators record the same graph.
Run: python examples/apple_orange.py
"""

from __future__ import annotations

import numpy as np

import autodiff as ad


class AddNode(ad.Function):
    """z = x + y: passes the upstream gradient unchanged to both inputs."""

    rule = "gx = gz, gy = gz"

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x + y

    def backward(self, gz: ad.Tensor) -> tuple[ad.Tensor, ad.Tensor]:
        return gz, gz


class MulNode(ad.Function):
    """z = x * y: each input's gradient is the upstream gradient times the other input."""

    rule = "gx = gz * y, gy = gz * x"

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x * y

    def backward(self, gz: ad.Tensor) -> tuple[ad.Tensor, ad.Tensor]:
        x, y = self.inputs
        return gz * y, gz * x


NAMES = ["apple price", "apple count", "orange price", "orange count", "tax"]
VALUES = [100.0, 2.0, 150.0, 3.0, 1.1]


def leaves(dtype: type) -> list[ad.Tensor]:
    return [
        ad.Tensor(np.array(v, dtype=dtype), requires_grad=True, name=n)
        for n, v in zip(NAMES, VALUES)
    ]


def with_nodes(dtype: type = np.float32) -> tuple[ad.Tensor, list[ad.Tensor]]:
    """The bill built from the two hand-written nodes."""
    price, count, oprice, ocount, tax = xs = leaves(dtype)
    apples = MulNode()(price, count)
    oranges = MulNode()(oprice, ocount)
    total = MulNode()(AddNode()(apples, oranges), tax)
    total.backward()
    return total, xs


def with_tensors(dtype: type = np.float32) -> tuple[ad.Tensor, list[ad.Tensor]]:
    """The same bill written with Tensor operators."""
    price, count, oprice, ocount, tax = xs = leaves(dtype)
    total = (price * count + oprice * ocount) * tax
    total.backward()
    return total, xs


def report(title: str, total: ad.Tensor, xs: list[ad.Tensor]) -> None:
    print(f"{title}: total = {total.item()!r} ({total.dtype})")
    for x in xs:
        print(f"  d total / d {x.name:<12} = {x.grad.item():.6g}")


def main() -> None:
    for dtype in (np.float32, np.float64):
        report(f"hand-written nodes, {np.dtype(dtype).name}", *with_nodes(dtype))
        report(f"plain tensors,      {np.dtype(dtype).name}", *with_tensors(dtype))


if __name__ == "__main__":
    main()
