"""Perceptrons as logic gates, with the weights and thresholds of the lecture notes.

A perceptron fires (outputs 1) when w1*x1 + w2*x2 + b > 0. AND, NAND and OR
differ only in their weights and bias; XOR is not linearly separable, so it
needs two layers: XOR(x1, x2) = AND(NAND(x1, x2), OR(x1, x2)).
Run: python examples/perceptron_gates.py
"""

from __future__ import annotations

import autodiff as ad

INPUTS = ad.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def perceptron(weights: list[float], bias: float):
    w = ad.tensor(weights)

    def gate(x: ad.Tensor) -> ad.Tensor:
        return ad.step(x @ w + bias)

    return gate


AND = perceptron([0.5, 0.5], -0.7)
NAND = perceptron([-0.5, -0.5], 0.7)
OR = perceptron([0.5, 0.5], -0.2)


def XOR(x: ad.Tensor) -> ad.Tensor:
    hidden = ad.stack([NAND(x), OR(x)], axis=-1)
    return AND(hidden)


def truth_table(name: str, gate) -> list[int]:
    outputs = [int(v) for v in gate(INPUTS).data]
    print(f"{name}:")
    for (x1, x2), y in zip(INPUTS.data.astype(int).tolist(), outputs):
        print(f"  {x1} {x2} -> {y}")
    return outputs


def main() -> None:
    for name, gate in [("AND", AND), ("NAND", NAND), ("OR", OR), ("XOR (two layers)", XOR)]:
        truth_table(name, gate)


if __name__ == "__main__":
    main()
