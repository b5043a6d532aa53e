"""autodiff: a define-by-run reverse-mode automatic differentiation engine.

Tensors record the ops that made them; ``backward()`` walks that graph from the
output back to the leaves and fills in ``.grad``. Start with the apple bill:

    >>> import autodiff as ad
    >>> apple, n_apple = ad.tensor(100.0, requires_grad=True), ad.tensor(2.0, requires_grad=True)
    >>> tax = ad.tensor(1.1, requires_grad=True)
    >>> total = apple * n_apple * tax
    >>> total.backward()
    >>> round(apple.grad.item(), 4), round(n_apple.grad.item(), 4), round(tax.grad.item(), 4)
    (2.2, 110.0, 200.0)
"""

# Tensor first: its module binds the engine and the ops once the class exists.
from .tensor import DEFAULT_FLOAT, Tensor, tensor  # isort: skip

from . import registry
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from .diagnostics import GraphGrowthWarning, GraphStats, graph_stats
from .engine import BackwardStep, NoGraphError, grad, record_backward
from .function import (
    Function,
    current_scope,
    enable_grad,
    is_grad_enabled,
    name_scope,
    no_grad,
    set_grad_enabled,
)
from .numerical import numerical_diff, numerical_gradient
from .ops import *  # noqa: F403 - the op functions are the public API
from .ops import __all__ as _ops_all

from . import graph, viz  # isort: skip - the drawing API sits on top of everything above

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "tensor",
    "Function",
    "grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "name_scope",
    "current_scope",
    "record_backward",
    "BackwardStep",
    "NoGraphError",
    "numerical_diff",
    "numerical_gradient",
    "registry",
    "graph",
    "viz",
    "DEFAULT_FLOAT",
    "AnomalyError",
    "detect_anomaly",
    "is_anomaly_enabled",
    "GraphGrowthWarning",
    "GraphStats",
    "graph_stats",
    *_ops_all,
]
