"""The Adam family: Adam, AdaMax, Nadam.

``g`` is the gradient after the optional L2 term (``g <- g + weight_decay * p``; this is
Adam + L2, *not* AdamW).  ``t`` is the per-parameter step count, starting at 1 on the
first update of that parameter (a parameter skipped because its grad was None does not
advance its ``t``), exactly as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_range

__all__ = ["Adam", "AdaMax", "Nadam"]


class _AdamBase(Optimizer):
    def _validate_group(self, group):
        super()._validate_group(group)
        betas = group["betas"]
        if not isinstance(betas, tuple) or len(betas) != 2:
            raise ValueError(f"invalid betas: {betas!r} (need a pair (beta1, beta2))")
        _check_range("betas[0]", betas[0], lo=0.0, hi=1.0, hi_open=True)
        _check_range("betas[1]", betas[1], lo=0.0, hi=1.0, hi_open=True)


class Adam(_AdamBase):
    r"""Adam (Kingma & Ba, ICLR 2015, "Adam: A Method for Stochastic Optimization", Alg. 1).

    Update, with bias correction::

        t <- t + 1
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    (eps is added to ``sqrt(v_hat)`` exactly as in Algorithm 1 and PyTorch, not the
    "eps-hat" variant of the paper's sec. 2 / Keras.)  Defaults (PyTorch and Keras):
    ``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8`` (Keras 1e-7), ``weight_decay=0``.
    State: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0, -2.0])
        >>> opt = nn.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()  # grad = 2 * w = [2, -4]
        >>> opt.step()
        >>> np.round(w.data, 4)  # bias-corrected first step: lr * sign(grad), whatever its scale
        array([ 0.9, -1.9], dtype=float32)
        >>> opt.state[w]["step"]
        1
    """

    _state_spec = {"step": int, "exp_avg": "array", "exp_avg_sq": "array"}

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr=lr, weight_decay=weight_decay, betas=betas, eps=eps)

    def _init_state(self, p, group):
        return {"step": 0, "exp_avg": np.zeros_like(p.data), "exp_avg_sq": np.zeros_like(p.data)}

    def _update(self, p, g, state, group):
        b1, b2 = group["betas"]
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        m_hat = m / (1.0 - b1**t)
        v_hat = v / (1.0 - b2**t)
        x = p.data
        x -= group["lr"] * m_hat / (np.sqrt(v_hat) + group["eps"])


class AdaMax(_AdamBase):
    r"""AdaMax (Kingma & Ba, ICLR 2015, sec. 7.1, Algorithm 2): Adam with the infinity norm.

    Update::

        t <- t + 1
        m <- beta1 * m + (1 - beta1) * g
        u <- max(beta2 * u, |g|)
        p <- p - (lr / (1 - beta1**t)) * m / (u + eps)

    The paper has no ``eps``; it is added to the denominator (as Keras does) so that a
    coordinate whose gradient has always been 0 gives a 0 step instead of 0/0.  PyTorch
    instead uses ``max(beta2 * u, |g| + eps)``.  Defaults (paper and PyTorch): ``lr=2e-3``,
    ``betas=(0.9, 0.999)``, ``eps=1e-8``, ``weight_decay=0`` (Keras: lr=1e-3, eps=1e-7).
    State: ``step`` (int), ``exp_avg`` (m), ``exp_inf`` (u).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0, -2.0])
        >>> opt = nn.optim.AdaMax([w], lr=0.1)
        >>> (w * w).sum().backward()  # grad = 2 * w = [2, -4]
        >>> opt.step()
        >>> np.round(w.data, 4), opt.state[w]["exp_inf"]  # first step lr * sign(grad); u = |grad|
        (array([ 0.9, -1.9], dtype=float32), array([2., 4.], dtype=float32))
    """

    _state_spec = {"step": int, "exp_avg": "array", "exp_inf": "array"}

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr=lr, weight_decay=weight_decay, betas=betas, eps=eps)

    def _init_state(self, p, group):
        return {"step": 0, "exp_avg": np.zeros_like(p.data), "exp_inf": np.zeros_like(p.data)}

    def _update(self, p, g, state, group):
        b1, b2 = group["betas"]
        state["step"] += 1
        t = state["step"]
        m, u = state["exp_avg"], state["exp_inf"]
        m *= b1
        m += (1.0 - b1) * g
        u *= b2
        np.maximum(u, np.abs(g), out=u)
        x = p.data
        x -= (group["lr"] / (1.0 - b1**t)) * m / (u + group["eps"])


class Nadam(_AdamBase):
    r"""Nadam: Adam with Nesterov momentum (Dozat, 2016, "Incorporating Nesterov Momentum
    into Adam", ICLR workshop, Algorithm 2 with the momentum schedule).

    Variant implemented: the one of the paper's Algorithm 2 as implemented by PyTorch
    ``NAdam`` and Keras ``Nadam`` -- a warming momentum schedule ``mu_t``, the first moment
    ``m`` accumulated with the constant ``beta1``, and the product of the ``mu_i`` used for
    bias correction::

        t      <- t + 1
        mu_t    = beta1 * (1 - 0.5 * 0.96**(t * psi))          psi = momentum_decay
        mu_t1   = beta1 * (1 - 0.5 * 0.96**((t + 1) * psi))
        prod   <- prod * mu_t                                  (prod = mu_1 ... mu_t)
        m      <- beta1 * m + (1 - beta1) * g
        v      <- beta2 * v + (1 - beta2) * g * g
        g_hat   = g / (1 - prod)
        m_hat   = m / (1 - prod * mu_t1)
        m_bar   = (1 - mu_t) * g_hat + mu_t1 * m_hat
        v_hat   = v / (1 - beta2**t)
        p      <- p - lr * m_bar / (sqrt(v_hat) + eps)

    (This is *not* the simplified constant-``beta1`` Nadam found in some tutorials.)
    Defaults (PyTorch): ``lr=2e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``,
    ``momentum_decay=4e-3`` (Dozat's 0.004), ``weight_decay=0``
    (Keras: lr=1e-3, eps=1e-7).
    State: ``step`` (int), ``mu_product`` (float), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0, -2.0])
        >>> opt = nn.optim.Nadam([w], lr=0.1)
        >>> (w * w).sum().backward()  # grad = 2 * w = [2, -4]
        >>> opt.step()
        >>> np.round(w.data, 4)  # lr * sign(grad), plus the Nesterov look-ahead term (mu_2 * m_hat)
        array([ 0.8944, -1.8944], dtype=float32)
        >>> round(opt.state[w]["mu_product"], 4)  # mu_1 = 0.9 * (1 - 0.5 * 0.96**0.004)
        0.4501
    """

    _state_spec = {"step": int, "mu_product": float, "exp_avg": "array", "exp_avg_sq": "array"}

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        momentum_decay: float = 4e-3,
        weight_decay: float = 0.0,
    ):
        super().__init__(
            params,
            lr=lr,
            weight_decay=weight_decay,
            betas=betas,
            eps=eps,
            momentum_decay=momentum_decay,
        )

    def _validate_group(self, group):
        super()._validate_group(group)
        _check_range("momentum_decay", group["momentum_decay"], lo=0.0)

    def _init_state(self, p, group):
        return {
            "step": 0,
            "mu_product": 1.0,
            "exp_avg": np.zeros_like(p.data),
            "exp_avg_sq": np.zeros_like(p.data),
        }

    def _update(self, p, g, state, group):
        b1, b2 = group["betas"]
        psi, lr, eps = group["momentum_decay"], group["lr"], group["eps"]
        state["step"] += 1
        t = state["step"]
        mu_t = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_t1 = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu_t
        prod = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        denom = np.sqrt(v / (1.0 - b2**t)) + eps
        x = p.data
        x -= (lr * (1.0 - mu_t) / (1.0 - prod)) * g / denom
        x -= (lr * mu_t1 / (1.0 - prod * mu_t1)) * m / denom
