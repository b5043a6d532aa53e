"""``nn.training``: the fit loop, callbacks, History and metrics (the top of ``nn``).

* :class:`Trainer` and the functions :func:`fit`, :func:`evaluate`, :func:`predict`;
* callbacks: :class:`Callback`, :class:`EarlyStopping`, :class:`ModelCheckpoint`,
  :class:`CSVLogger`, :class:`LearningRateScheduler`, :class:`ProgressBar`,
  :class:`LambdaCallback`;
* :class:`History` (per-epoch logs, ``.plot(path)``) and ``nn.training.metrics``.

Nothing below this package imports it: layers, losses and optimizers work without it,
and the plain loop (``loss.backward(); opt.step()``) is always available.
"""

from . import metrics
from .callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
)
from .history import History
from .loop import Trainer, evaluate, fit, predict
from .metrics import accuracy

__all__ = [
    "Trainer",
    "fit",
    "evaluate",
    "predict",
    "History",
    "Callback",
    "LambdaCallback",
    "EarlyStopping",
    "ModelCheckpoint",
    "CSVLogger",
    "LearningRateScheduler",
    "ProgressBar",
    "metrics",
    "accuracy",
]
