"""First-order optimizers without per-coordinate scaling: SGD, Momentum, Nesterov.

In every formula ``g`` is the gradient *after* the optional L2 term has been added
(``g <- g + weight_decay * p``), ``lr`` is the learning rate and updates are in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, _check_range

__all__ = ["SGD", "Momentum", "Nesterov"]


class SGD(Optimizer):
    r"""Plain (mini-batch) stochastic gradient descent.

    Update (Robbins & Monro, 1951; e.g. CS231n notes, "Vanilla update")::

        p <- p - lr * g

    Defaults: ``lr=0.01`` (Keras; PyTorch 2.x uses 1e-3), ``weight_decay=0``.
    Stateless.  For momentum use :class:`Momentum` or :class:`Nesterov`.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0, -2.0])
        >>> opt = nn.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward()  # grad = 2 * w = [2, -4]
        >>> opt.step()
        >>> np.round(w.data, 4)  # w - 0.1 * grad
        array([ 0.8, -1.6], dtype=float32)
    """

    def __init__(self, params: Any, lr: float = 0.01, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, weight_decay=weight_decay)

    def _update(self, p, g, state, group):
        x = p.data
        x -= group["lr"] * g


class Momentum(Optimizer):
    r"""Classical momentum (Polyak, 1964), in the form of the CS231n lecture notes.

    Update (Sutskever, Martens, Dahl & Hinton, ICML 2013, eq. 1-2; CS231n "Momentum
    update")::

        v <- momentum * v - lr * g        (v starts at 0)
        p <- p + v

    Note this is *not* PyTorch's ``SGD(momentum=...)`` formulation
    (``v <- mu v + g; p <- p - lr v``): the two agree for a constant learning rate but the
    lecture-notes form folds ``lr`` into the velocity, so an lr change only affects new
    gradients.  (It is the formulation Keras' ``SGD(momentum=...)`` uses.)

    Defaults: ``lr=0.01`` (Keras), ``momentum=0.9`` (CS231n's usual value; Keras/PyTorch
    default to 0, which would make this plain SGD), ``weight_decay=0``.
    State: ``velocity`` (same shape/dtype as the parameter).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0])
        >>> opt = nn.optim.Momentum([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):  # constant gradient 3: v = -0.3, then 0.9 * -0.3 - 0.3
        ...     opt.zero_grad()
        ...     (3 * w).sum().backward()
        ...     opt.step()
        >>> np.round(w.data, 4), np.round(opt.state[w]["velocity"], 4)  # 1 - 0.3 - 0.57
        (array([0.13], dtype=float32), array([-0.57], dtype=float32))
    """

    _state_spec = {"velocity": "array"}

    def __init__(
        self, params: Any, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0
    ):
        super().__init__(params, lr=lr, weight_decay=weight_decay, momentum=momentum)

    def _validate_group(self, group):
        super()._validate_group(group)
        _check_range("momentum", group["momentum"], lo=0.0, hi=1.0, hi_open=True)

    def _init_state(self, p, group):
        return {"velocity": np.zeros_like(p.data)}

    def _update(self, p, g, state, group):
        v = state["velocity"]
        v *= group["momentum"]
        v -= group["lr"] * g
        x = p.data
        x += v


class Nesterov(Momentum):
    r"""Nesterov accelerated gradient (Nesterov, 1983), in its "look-ahead-free" form.

    Update (Bengio, Boulanger-Lewandowski & Pascanu, 2013, "Advances in optimizing
    recurrent networks", sec. 3.5; CS231n "Nesterov momentum")::

        v_prev = v
        v <- momentum * v - lr * g
        p <- p - momentum * v_prev + (1 + momentum) * v

    which is algebraically ``p <- p + momentum * v - lr * g`` (the form Keras uses and the
    one evaluated here).  The gradient is taken at the stored parameters, i.e. the stored
    ``p`` plays the role of the look-ahead point ``p + momentum * v`` of Sutskever et al.

    Defaults: ``lr=0.01``, ``momentum=0.9``, ``weight_decay=0``.  State: ``velocity``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.Parameter([1.0])
        >>> opt = nn.optim.Nesterov([w], lr=0.1, momentum=0.9)
        >>> for _ in range(2):  # constant gradient 3; steps are 0.9 v - 0.3 with the new v
        ...     opt.zero_grad()
        ...     (3 * w).sum().backward()
        ...     opt.step()
        >>> np.round(w.data, 4)  # 1 - 0.57 - 0.813 (Momentum would give 0.13)
        array([-0.383], dtype=float32)
    """

    def _update(self, p, g, state, group):
        mu, lr = group["momentum"], group["lr"]
        v = state["velocity"]
        v *= mu
        v -= lr * g
        x = p.data
        x += mu * v - lr * g
