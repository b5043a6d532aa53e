"""Numerical vs automatic derivatives, and gradient descent, as in the lecture notes.

* f(x) = 0.01x^2 + 0.1x at x = 5 and x = 10 (exact: 0.2 and 0.3);
* the gradient of f(x0, x1) = x0^2 + x1^2 at (3, 4), (0, 2) and (3, 0);
* gradient descent on that function from (-3, 4) for 100 steps with learning
  rates 0.1 (converges near 0), 2 (diverges: too large) and 0.001 (barely moves,
  ending near (-2.46, 3.27): too small).
Run: python examples/derivatives.py
"""

from __future__ import annotations

import numpy as np

import autodiff as ad


def f1(x):
    return 0.01 * x**2 + 0.1 * x


def f2(x):
    return (x**2).sum()


def auto_derivative(f, x: float) -> float:
    t = ad.tensor(np.float64(x), requires_grad=True)
    f(t).backward()
    return t.grad.item()


def auto_gradient(f, x: np.ndarray) -> np.ndarray:
    t = ad.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    f(t).backward()
    return t.grad.numpy()


def gradient_descent(f, init: np.ndarray, lr: float, steps: int = 100) -> np.ndarray:
    x = ad.tensor(np.asarray(init, dtype=np.float64), requires_grad=True)
    for _ in range(steps):
        x.zero_grad()
        f(x).backward()
        with ad.no_grad():
            x.data -= lr * x.grad.data
    return x.numpy()


def main() -> None:
    print("f(x) = 0.01x^2 + 0.1x")
    for x in (5.0, 10.0):
        numerical, automatic = ad.numerical_diff(f1, x), auto_derivative(f1, x)
        print(f"  x = {x:>4}: numerical {numerical:.10f}   automatic {automatic:.10f}")
    print("f(x0, x1) = x0^2 + x1^2")
    for point in ([3.0, 4.0], [0.0, 2.0], [3.0, 0.0]):
        p = np.array(point)
        num = ad.numerical_gradient(lambda v: np.sum(v**2), p.copy())
        print(
            f"  at {tuple(point)}: numerical {np.round(num, 6)}   automatic {auto_gradient(f2, p)}"
        )
    print("gradient descent from (-3, 4), 100 steps")
    for lr in (0.1, 2.0, 0.001):
        end = gradient_descent(f2, np.array([-3.0, 4.0]), lr)
        print(f"  lr = {lr:<6} -> {np.array2string(end, precision=4)}")


if __name__ == "__main__":
    main()
