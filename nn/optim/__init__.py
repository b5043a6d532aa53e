"""``nn.optim`` -- optimizers, gradient clipping and learning-rate schedules.

Depends on numpy only and sees nothing of the framework but *parameters*: objects with a
float ``.data`` ndarray (updated in place) and a ``.grad`` that is None or has ``.data``.

Optimizers (update rule, citation and defaults in each docstring):

=============  ============================================  =====================
class          rule                                          defaults
=============  ============================================  =====================
SGD            p -= lr g                                     lr=0.01
Momentum       v = mu v - lr g;  p += v                      lr=0.01, momentum=0.9
Nesterov       v = mu v - lr g;  p += mu v - lr g            lr=0.01, momentum=0.9
AdaGrad        G += g^2;  p -= lr g / (sqrt(G) + eps)        lr=0.01, eps=1e-7
AdaDelta       Zeiler 2012, Algorithm 1 (lr multiplier)      lr=1, rho=0.9, eps=1e-6
RMSprop        E = rho E + (1-rho) g^2; p -= lr g/(sqrt E+eps) lr=0.01, rho=0.99, eps=1e-8
Adam           Kingma & Ba Alg. 1, bias-corrected            lr=1e-3, betas=(.9,.999), eps=1e-8
AdaMax         Kingma & Ba Alg. 2 (+eps in denominator)      lr=2e-3, betas=(.9,.999), eps=1e-8
Nadam          Dozat 2016 with momentum schedule (PyTorch)   lr=2e-3, ..., momentum_decay=4e-3
=============  ============================================  =====================

Every optimizer also takes ``weight_decay`` (L2 added to the gradient, default 0) and
param-group dicts.  Clipping: :func:`clip_grad_value_`, :func:`clip_grad_norm_`,
:func:`apply_max_norm_`.  Schedules: :class:`PowerSchedule`, :class:`ExponentialSchedule`,
:class:`PiecewiseConstant`, :class:`ReduceOnPlateau`, :class:`OneCycle`.
"""

from .adam import Adam, AdaMax, Nadam
from .adaptive import AdaDelta, AdaGrad, RMSprop
from .clip import apply_max_norm_, clip_grad_norm_, clip_grad_value_
from .optimizer import Optimizer
from .schedules import (
    ExponentialSchedule,
    LRSchedule,
    OneCycle,
    PiecewiseConstant,
    PowerSchedule,
    ReduceOnPlateau,
)
from .sgd import SGD, Momentum, Nesterov

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "AdaDelta",
    "RMSprop",
    "Adam",
    "AdaMax",
    "Nadam",
    "clip_grad_value_",
    "clip_grad_norm_",
    "apply_max_norm_",
    "LRSchedule",
    "PowerSchedule",
    "ExponentialSchedule",
    "PiecewiseConstant",
    "ReduceOnPlateau",
    "OneCycle",
]
