"""Metrics: plain functions ``metric(pred, target) -> float`` on numpy arrays.

Anything with that signature is a metric; ``fit(metrics=[...])`` also takes the
names below. Metrics are computed once per epoch on all the predictions of the
epoch (not averaged over batches), so any metric, not only the additive ones,
gets its exact value.

=========================  =========================================================
name                       what it computes
=========================  =========================================================
``"accuracy"``/``"acc"``   fraction of correct classes; see :func:`accuracy`
``"binary_accuracy"``      ``(pred > 0.5) == target`` on probabilities
``"logit_accuracy"``       ``(pred > 0) == target`` on raw scores (BCEWithLogitsLoss)
``"mse"``                  mean squared error
``"mae"``                  mean absolute error
=========================  =========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "accuracy",
    "binary_accuracy",
    "logit_accuracy",
    "mean_squared_error",
    "mean_absolute_error",
    "get_metric",
    "metric_name",
]

Metric = Callable[[Any, Any], float]


def _array(x: Any) -> np.ndarray:
    # Tensors (or anything with .data) are accepted so a metric works on model outputs directly.
    return np.asarray(getattr(x, "data", x))


def _check_rows(pred: np.ndarray, target: np.ndarray, name: str) -> None:
    if pred.shape[:1] != target.shape[:1]:
        raise ValueError(
            f"{name}: pred has {pred.shape[0] if pred.ndim else 'no'} rows (shape {pred.shape}) "
            f"but target has {target.shape[0] if target.ndim else 'no'} (shape {target.shape})"
        )


def _same_size(pred: Any, target: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    p, t = _array(pred).astype(np.float64), _array(target).astype(np.float64)
    if p.size != t.size:
        raise ValueError(
            f"{name}: pred has shape {p.shape} but target has shape {t.shape} (for class "
            "labels use accuracy)"
        )
    return p, t.reshape(p.shape)


def binary_accuracy(pred: Any, target: Any, threshold: float = 0.5) -> float:
    """Fraction of ``(pred > threshold) == target`` for one-output (binary) classifiers.

    ``pred`` holds probabilities (N,) or (N, 1); ``target`` 0/1 labels of the same size.

    Example:
        >>> binary_accuracy([0.9, 0.2, 0.6], [1, 0, 0])
        0.6666666666666666
    """
    p, t = _array(pred), _array(target)
    _check_rows(p, t, "binary_accuracy")
    if p.size != t.size:
        raise ValueError(
            f"binary_accuracy: pred has {p.size} values (shape {p.shape}) but target has "
            f"{t.size} (shape {t.shape})"
        )
    return float(np.mean((p.reshape(-1) > threshold) == (t.reshape(-1) > 0.5)))


def logit_accuracy(pred: Any, target: Any) -> float:
    """:func:`binary_accuracy` on raw scores (logits): a score above 0 means class 1.

    Example:
        >>> logit_accuracy([2.0, -1.0, 0.5], [1, 0, 0])
        0.6666666666666666
    """
    return binary_accuracy(pred, target, threshold=0.0)


def accuracy(pred: Any, target: Any) -> float:
    """Fraction of samples whose predicted class is the target class.

    * ``pred`` (N, C) with C > 1: the class is ``argmax`` over scores, logits or
      probabilities; ``target`` is integer labels (N,) or one-hot rows (N, C).
    * ``pred`` (N,) or (N, 1): a binary classifier's probabilities, thresholded at
      0.5 (use :func:`logit_accuracy` for raw scores).

    Example:
        >>> import numpy as np
        >>> scores = np.array([[2.0, 0.1], [0.3, 0.9], [1.0, 0.0]])
        >>> accuracy(scores, np.array([0, 1, 1]))
        0.6666666666666666
        >>> accuracy(scores, np.eye(2)[[0, 1, 0]])  # one-hot targets
        1.0
        >>> accuracy(np.array([0.8, 0.3]), np.array([1, 0]))  # binary probabilities
        1.0
    """
    p, t = _array(pred), _array(target)
    _check_rows(p, t, "accuracy")
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1):
        return binary_accuracy(p, t)
    if p.ndim != 2:
        raise ValueError(f"accuracy: pred must be (N,), (N, 1) or (N, C), got shape {p.shape}")
    if t.ndim == 2 and t.shape == p.shape:
        t = t.argmax(axis=1)
    elif t.ndim != 1:
        raise ValueError(
            f"accuracy: target must be integer labels (N,) or one-hot (N, C) matching pred "
            f"{p.shape}, got shape {t.shape}"
        )
    return float(np.mean(p.argmax(axis=1) == t))


def mean_squared_error(pred: Any, target: Any) -> float:
    """Mean of ``(pred - target) ** 2`` (shapes must broadcast).

    Example:
        >>> mean_squared_error([1.0, 2.0], [0.0, 4.0])
        2.5
    """
    p, t = _same_size(pred, target, "mean_squared_error")
    return float(np.mean((p - t) ** 2))


def mean_absolute_error(pred: Any, target: Any) -> float:
    """Mean of ``|pred - target|``.

    Example:
        >>> mean_absolute_error([1.0, 2.0], [0.0, 4.0])
        1.5
    """
    p, t = _same_size(pred, target, "mean_absolute_error")
    return float(np.mean(np.abs(p - t)))


_BY_NAME: dict[str, Metric] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "binary_accuracy": binary_accuracy,
    "logit_accuracy": logit_accuracy,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error,
}


def get_metric(metric: str | Metric) -> Metric:
    """A metric function from its name, or the callable itself.

    Example:
        >>> get_metric("acc") is accuracy
        True
    """
    if callable(metric):
        return metric
    fn = _BY_NAME.get(str(metric).lower())
    if fn is None:
        raise ValueError(
            f"unknown metric {metric!r}; use one of {sorted(_BY_NAME)} or a callable "
            "f(pred, target) -> float"
        )
    return fn


def metric_name(metric: str | Metric) -> str:
    """The key a metric gets in the logs: its name as given, else the function's name.

    Example:
        >>> metric_name("acc"), metric_name(mean_absolute_error)
        ('acc', 'mean_absolute_error')
    """
    if isinstance(metric, str):
        return metric
    name = getattr(metric, "__name__", None) or type(metric).__name__
    return "metric" if name == "<lambda>" else name
