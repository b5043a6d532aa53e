"""Per-coordinate adaptive optimizers: AdaGrad, AdaDelta, RMSprop.

``g`` is the gradient after the optional L2 term (``g <- g + weight_decay * p``); all
operations are elementwise and in place, in the parameter's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_range

__all__ = ["AdaGrad", "AdaDelta", "RMSprop"]


class AdaGrad(Optimizer):
    r"""AdaGrad (Duchi, Hazan & Singer, JMLR 2011), as written in the CS231n notes.

    Update::

        G <- G + g * g                      (G starts at initial_accumulator_value)
        p <- p - lr * g / (sqrt(G) + eps)

    ``eps`` is added *outside* the square root, as in the CS231n notes and PyTorch
    (Keras puts it inside).  Defaults: ``lr=0.01`` (PyTorch; Keras 1e-3),
    ``eps=1e-7`` (the notes' value, also Keras'; PyTorch uses 1e-10),
    ``initial_accumulator_value=0`` (PyTorch; Keras 0.1), ``weight_decay=0``.
    State: ``sum_sq`` (the accumulator G).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0, -2.0])
        >>> opt = nn.optim.AdaGrad([w], lr=0.1)
        >>> for _ in range(2):  # grads [2, -4] then [1.8, -3.8]: G only grows, steps shrink
        ...     opt.zero_grad()
        ...     (w * w).sum().backward()
        ...     opt.step()
        >>> np.round(w.data, 4), np.round(opt.state[w]["sum_sq"], 4)
        (array([ 0.8331, -1.8311], dtype=float32), array([ 7.24, 30.44], dtype=float32))
    """

    _state_spec = {"sum_sq": "array"}

    def __init__(
        self,
        params: Any,
        lr: float = 0.01,
        eps: float = 1e-7,
        initial_accumulator_value: float = 0.0,
        weight_decay: float = 0.0,
    ):
        super().__init__(
            params,
            lr=lr,
            weight_decay=weight_decay,
            eps=eps,
            initial_accumulator_value=initial_accumulator_value,
        )

    def _validate_group(self, group):
        super()._validate_group(group)
        _check_range("initial_accumulator_value", group["initial_accumulator_value"], lo=0.0)

    def _init_state(self, p, group):
        return {"sum_sq": np.full_like(p.data, group["initial_accumulator_value"])}

    def _update(self, p, g, state, group):
        acc = state["sum_sq"]
        acc += g * g
        x = p.data
        x -= group["lr"] * g / (np.sqrt(acc) + group["eps"])


class AdaDelta(Optimizer):
    r"""AdaDelta (Zeiler, 2012, "ADADELTA: An Adaptive Learning Rate Method", Algorithm 1).

    Update::

        E[g^2]  <- rho * E[g^2] + (1 - rho) * g * g
        dx       = - sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g
        E[dx^2] <- rho * E[dx^2] + (1 - rho) * dx * dx
        p       <- p + lr * dx

    Zeiler's algorithm has no learning rate; ``lr`` is PyTorch's extra multiplier applied
    to the step only (the accumulator ``E[dx^2]`` stores the unscaled ``dx``), so the
    default ``lr=1.0`` is exactly the paper.  Defaults (PyTorch): ``lr=1.0``, ``rho=0.9``,
    ``eps=1e-6``, ``weight_decay=0`` (Keras: lr=1e-3, rho=0.95, eps=1e-7).
    State: ``square_avg`` (E[g^2]) and ``acc_delta`` (E[dx^2]).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0, -2.0])
        >>> opt = nn.optim.AdaDelta([w])  # no learning rate to tune (lr=1.0 is the paper)
        >>> (w * w).sum().backward()  # grad = 2 * w = [2, -4]
        >>> opt.step()
        >>> np.round(w.data, 4)  # the first steps are small: ~sqrt(eps / (1 - rho)) = 0.0032
        array([ 0.9968, -1.9968], dtype=float32)
    """

    _state_spec = {"square_avg": "array", "acc_delta": "array"}
    _eps_in_denominator = False  # eps sits inside both square roots: a float16 1e-6 is fine

    def __init__(
        self,
        params: Any,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr=lr, weight_decay=weight_decay, rho=rho, eps=eps)

    def _validate_group(self, group):
        super()._validate_group(group)
        _check_range("rho", group["rho"], lo=0.0, hi=1.0)

    def _init_state(self, p, group):
        return {"square_avg": np.zeros_like(p.data), "acc_delta": np.zeros_like(p.data)}

    def _update(self, p, g, state, group):
        rho, eps = group["rho"], group["eps"]
        sq, acc = state["square_avg"], state["acc_delta"]
        sq *= rho
        sq += (1.0 - rho) * (g * g)
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g  # = -dx
        acc *= rho
        acc += (1.0 - rho) * (delta * delta)
        x = p.data
        x -= group["lr"] * delta


class RMSprop(Optimizer):
    r"""RMSprop (Tieleman & Hinton, 2012, Coursera "Neural Networks for ML", lecture 6e).

    Update::

        E[g^2] <- rho * E[g^2] + (1 - rho) * g * g      (starts at 0)
        p      <- p - lr * g / (sqrt(E[g^2]) + eps)

    ``eps`` outside the root, as in PyTorch and the CS231n notes.  Defaults (PyTorch):
    ``lr=0.01``, ``rho=0.99`` (PyTorch calls it ``alpha``), ``eps=1e-8``,
    ``weight_decay=0``.  Keras/Hinton's slides use ``rho=0.9`` (Keras also lr=1e-3,
    eps=1e-7).  No momentum/centered variants.  State: ``square_avg``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0, -2.0])
        >>> opt = nn.optim.RMSprop([w], lr=0.01, rho=0.99)
        >>> (w * w).sum().backward()  # grad = 2 * w = [2, -4]
        >>> opt.step()  # E[g^2] = 0.01 * g^2, so the first step is lr * g / (0.1 |g|) = 10 lr
        >>> np.round(w.data, 4), np.round(opt.state[w]["square_avg"], 4)
        (array([ 0.9, -1.9], dtype=float32), array([0.04, 0.16], dtype=float32))
    """

    _state_spec = {"square_avg": "array"}

    def __init__(
        self,
        params: Any,
        lr: float = 0.01,
        rho: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr=lr, weight_decay=weight_decay, rho=rho, eps=eps)

    def _validate_group(self, group):
        super()._validate_group(group)
        _check_range("rho", group["rho"], lo=0.0, hi=1.0)

    def _init_state(self, p, group):
        return {"square_avg": np.zeros_like(p.data)}

    def _update(self, p, g, state, group):
        rho = group["rho"]
        sq = state["square_avg"]
        sq *= rho
        sq += (1.0 - rho) * (g * g)
        x = p.data
        x -= group["lr"] * g / (np.sqrt(sq) + group["eps"])
