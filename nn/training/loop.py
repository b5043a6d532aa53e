"""The training loop: ``Trainer`` and the function forms ``fit``, ``evaluate``, ``predict``.

``fit`` is the plain PyTorch-style loop, written once, with the bookkeeping
around it::

    for epoch in range(epochs):
        model.train()
        for *inputs, target in loader:          # DataLoader batches: numpy arrays
            optimizer.zero_grad()
            loss = loss_fn(model(*inputs), target)
            loss.backward()
            optimizer.step()
        # then: validation under no_grad in eval mode, metrics, History, callbacks

so ``fit(model, x, y, batch_size=b, seed=s, ...)`` gives exactly the weights of
that hand-written loop over ``DataLoader(ArrayDataset(x, y), b, shuffle=True, seed=s)``.

Example (XOR, the problem a single perceptron cannot solve):
    >>> import nn
    >>> _ = nn.manual_seed(0)
    >>> x, y = nn.data.make_xor(200, noise=0.1, seed=0)
    >>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    >>> history = nn.fit(model, x, y, loss="cross_entropy", optimizer=nn.optim.Adam(
    ...     model.parameters(), lr=0.05), epochs=20, batch_size=20, metrics=["accuracy"],
    ...     seed=0, verbose=0)
    >>> history["accuracy"][-1] > 0.95, nn.predict(model, x[:3]).shape
    (True, (3, 2))
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.function import user_call_site

from .. import layers as _layers
from .. import losses as _losses
from .. import optim as _optim
from ..checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ..data import ArrayDataset, DataLoader
from ..module import Module, Sequential
from ..random import get_rng
from .callbacks import Callback, LearningRateScheduler, ProgressBar
from .history import History
from .metrics import get_metric, metric_name

__all__ = ["Trainer", "fit", "evaluate", "predict"]

_LOSSES: dict[str, Callable[[], Any]] = {
    "cross_entropy": _losses.CrossEntropyLoss,
    "crossentropy": _losses.CrossEntropyLoss,
    "nll": _losses.NLLLoss,
    "mse": _losses.MSELoss,
    "l1": _losses.L1Loss,
    "mae": _losses.L1Loss,
    "huber": _losses.HuberLoss,
    "bce": _losses.BCELoss,
    "bce_with_logits": _losses.BCEWithLogitsLoss,
    # Keras's names. Its cross entropies take probabilities by default; these take logits
    # (Keras's from_logits=True), and a model that ends in the Softmax a Keras model would
    # have gets a warning from _warn_if_squashed_twice. binary_crossentropy is on
    # probabilities, as in Keras.
    "sparse_categorical_crossentropy": _losses.CrossEntropyLoss,
    "categorical_crossentropy": _losses.CrossEntropyLoss,
    "mean_squared_error": _losses.MSELoss,
    "mean_absolute_error": _losses.L1Loss,
    "binary_crossentropy": _losses.BCELoss,
}
# Losses on logits that squash them themselves, and the layer that would do it a second
# time at the end of a model. (A final LogSoftmax is harmless: log_softmax is idempotent.)
_SQUASHING = [
    (_losses.CrossEntropyLoss, _layers.Softmax, "softmax"),
    (_losses.BCEWithLogitsLoss, _layers.Sigmoid, "sigmoid"),
]
_OPTIMIZERS = {
    name.lower(): getattr(_optim, name)
    for name in ("SGD", "Momentum", "Nesterov", "AdaGrad", "AdaDelta", "RMSprop", "Adam")
    + ("AdaMax", "Nadam")
}

MetricsArg = Sequence[Any] | Mapping[str, Any]


# ------------------------------------------------------------------------------ arguments
def _get_loss(loss: Any) -> Any:
    if loss is None or callable(loss):
        return loss
    factory = _LOSSES.get(str(loss).lower())
    if factory is None:
        raise ValueError(
            f"unknown loss {loss!r}; use one of {sorted(_LOSSES)} or a callable "
            "loss_fn(output, target) -> scalar Tensor (e.g. nn.CrossEntropyLoss())"
        )
    return factory()


def _exit_callbacks(cbs: list[Callback], failed: bool) -> None:
    """Every callback's ``on_train_exit``, each one even if another raises.

    When training itself failed its error is the one the user sees; otherwise the first
    error raised here is passed on, once every callback has had its turn.
    """
    first: BaseException | None = None
    for cb in cbs:
        try:
            cb.on_train_exit()
        except Exception as err:  # noqa: BLE001 - re-raised below, or reported
            if failed:  # not lost: training's own error is on its way to the user
                warnings.warn(
                    f"{type(cb).__name__}.on_train_exit raised {err!r} while fit was "
                    "stopping on an error",
                    RuntimeWarning,
                    stacklevel=3,
                )
            first = first or err
    if first is not None and not failed:
        raise first


def _warn_if_squashed_twice(model: Module, loss_fn: Any) -> None:
    path: list[str] = []
    last = model
    while isinstance(last, Sequential) and len(last):
        name, last = list(last.named_children())[-1]
        path.append(name)
    for loss_cls, layer_cls, squash in _SQUASHING:
        if isinstance(loss_fn, loss_cls) and type(last) is layer_cls:
            layer = f"{layer_cls.__name__} '{'.'.join(path)}'" if path else layer_cls.__name__
            message = (
                f"{type(loss_fn).__name__} expects logits (raw scores) and applies {squash} "
                f"itself, but the model ends in {layer}, so {squash} is applied twice and "
                f"training slows down or stalls; remove the final {layer_cls.__name__} (apply "
                "it at prediction time if you want probabilities)"
            )
            site = user_call_site()
            if site is None:
                warnings.warn(message, UserWarning, stacklevel=3)
            else:  # at the user's line, whether they called fit or Trainer
                warnings.warn_explicit(message, UserWarning, *site)


def _get_optimizer(optimizer: Any, model: Module) -> Any:
    if optimizer is None or hasattr(optimizer, "step"):
        return optimizer
    cls = _OPTIMIZERS.get(str(optimizer).lower())
    if cls is None:
        raise ValueError(
            f"unknown optimizer {optimizer!r}; use one of {sorted(_OPTIMIZERS)} or an "
            "nn.optim optimizer built on model.parameters()"
        )
    return cls(model.parameters())


def _get_metrics(metrics: MetricsArg | None) -> list[tuple[str, Callable[..., float]]]:
    if metrics is None:
        return []
    if isinstance(metrics, (str, bytes)) or callable(metrics):
        metrics = [metrics]
    if isinstance(metrics, Mapping):
        pairs = [(str(k), get_metric(v)) for k, v in metrics.items()]
    else:
        pairs = [(metric_name(m), get_metric(m)) for m in metrics]
    names = [n for n, _ in pairs]
    clash = sorted({n for n in names if names.count(n) > 1} | ({"loss", "lr"} & set(names)))
    if clash:
        raise ValueError(f"metric names must be unique and not 'loss'/'lr'; clash on {clash}")
    return pairs


def _is_loader(x: Any) -> bool:
    return not isinstance(x, (np.ndarray, Tensor, list, tuple)) and hasattr(x, "__iter__")


def _float_dtype(model: Module) -> np.dtype:
    """The dtype of the model's floating parameters (float32 for a model without any)."""
    for p in model.parameters():
        if p.data.dtype.kind == "f":
            return p.data.dtype
    return np.dtype(ad.DEFAULT_FLOAT)


def _as_array(a: Any, what: str, dtype: np.dtype) -> np.ndarray:
    need = (
        f"{what} must be an array of numbers (or a tuple of arrays for several inputs); "
        "pass a DataLoader for other kinds of samples"
    )
    try:
        arr = a.data if isinstance(a, Tensor) else np.asarray(a)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{need}; numpy could not make an array of it: {err}") from None
    if arr.dtype == object:  # numbers held as objects (a pandas column) still convert
        try:
            arr = arr.astype(dtype)
        except (TypeError, ValueError):
            raise TypeError(
                f"{need}; got {type(a).__name__} of items that are not numbers"
            ) from None
    if arr.ndim == 0:
        raise ValueError(f"{what} must have a sample axis (axis 0), got a scalar")
    if arr.dtype.kind == "f" and arr.dtype.itemsize >= 4 and arr.dtype != dtype:
        # float32/float64 data takes the model's float dtype once, not per batch (float16
        # stays as it is: converting the whole dataset up front would double its memory)
        arr = arr.astype(dtype)
    return arr


def _arrays(
    x: Any, y: Any, who: str, dtype: np.dtype, need_y: bool = True
) -> tuple[np.ndarray, ...]:
    """x (an array or a tuple of arrays) and y as arrays; floats in the model's ``dtype``."""
    inputs = list(x) if isinstance(x, tuple) else [x]
    names = [f"x[{i}]" for i in range(len(inputs))] if isinstance(x, tuple) else ["x"]
    arrays = [_as_array(a, f"{who}: {n}", dtype) for a, n in zip(inputs, names)]
    if y is None:
        if need_y:
            raise ValueError(
                f"{who}: y is missing; pass the targets y with the arrays x, or a DataLoader "
                "that yields (x, y) batches"
            )
    else:
        arrays.append(_as_array(y, f"{who}: y", dtype))
        names.append("y")
    n = len(arrays[0])
    for name, a in zip(names, arrays):
        if len(a) != n:
            raise ValueError(
                f"{who}: {names[0]} has {n} samples but {name} has {len(a)}; they must have the "
                "same length along axis 0"
            )
    return tuple(arrays)


_DICT_BATCH = (
    "{who}: the data yields dict batches (its samples are dicts); the training loop "
    "takes (inputs..., target) tuples: return a tuple from the dataset's __getitem__"
)


def _split_batch(batch: Any, who: str) -> tuple[list[Any], Any]:
    if isinstance(batch, Mapping):
        raise ValueError(_DICT_BATCH.format(who=who))
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(
            f"{who}: every batch must be a tuple (inputs..., target); got "
            f"{type(batch).__name__}{'' if not isinstance(batch, tuple) else f' of {len(batch)}'}"
        )
    return list(batch[:-1]), batch[-1]


def _to_numpy(out: Any, who: str) -> np.ndarray:
    if isinstance(out, Tensor):
        return out.data
    if isinstance(out, np.ndarray):
        return out
    raise TypeError(
        f"{who}: the model returned {type(out).__name__}; metrics and predict need a single "
        "Tensor (wrap the model so forward returns one)"
    )


def _target_array(t: Any) -> np.ndarray:
    return t.data if isinstance(t, Tensor) else np.asarray(t)


# --------------------------------------------------------------------------------- trainer
class Trainer:
    """A model, its loss, its optimizer and metrics, trained by :meth:`fit`.

    Args:
        model: the :class:`nn.Module` to train.
        loss: a callable ``loss(output, target) -> scalar Tensor`` (``nn.CrossEntropyLoss()``)
            or a name: ``"cross_entropy"``, ``"mse"``, ``"bce_with_logits"``, ... or Keras's
            ``"sparse_categorical_crossentropy"``, ``"mean_squared_error"``, ... (None is
            enough for ``predict``). The cross entropies take logits: a model that ends in
            ``nn.Softmax`` gets a warning, as softmax would be applied twice.
        optimizer: an ``nn.optim`` optimizer over ``model.parameters()``, or a name
            (``"adam"``, ``"sgd"``, ...) for one with its default learning rate.
        metrics: names (``"accuracy"``) or callables ``f(pred, target) -> float`` (numpy
            arrays), or a dict ``{name: metric}``; logged as ``name`` and ``val_name``.
        callbacks: :class:`~nn.training.callbacks.Callback` objects used by every ``fit``.
        scheduler: an ``nn.optim`` learning-rate schedule, stepped once per epoch
            (``ReduceOnPlateau`` with ``val_loss``); the same as passing
            ``LearningRateScheduler(scheduler)``. Saved in checkpoints.

    The trainer counts finished epochs in ``epoch`` and keeps one :class:`History`
    across ``fit`` calls; :meth:`save` / :meth:`load` write and restore everything
    needed to continue a run exactly where it stopped.

    Example:
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> x, y = nn.data.make_xor(100, seed=0)
        >>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
        >>> trainer = nn.Trainer(model, "cross_entropy", nn.optim.Adam(model.parameters(), lr=0.05),
        ...                      metrics=["accuracy"])
        >>> history = trainer.fit(x, y, epochs=3, batch_size=25, validation_split=0.2, seed=0,
        ...                       verbose=0)
        >>> history.keys(), trainer.epoch
        (['loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr'], 3)
        >>> sorted(trainer.evaluate(x, y))
        ['accuracy', 'loss']
    """

    def __init__(
        self,
        model: Module,
        loss: Any = None,
        optimizer: Any = None,
        *,
        metrics: MetricsArg | None = None,
        callbacks: Iterable[Callback] = (),
        scheduler: Any = None,
    ) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"Trainer needs an nn.Module, got {type(model).__name__}")
        self.model = model
        self.loss_fn = _get_loss(loss)
        _warn_if_squashed_twice(model, self.loss_fn)
        self.optimizer = _get_optimizer(optimizer, model)
        self.metrics = _get_metrics(metrics)
        self.callbacks = list(callbacks)
        self.scheduler = scheduler
        self.history = History()
        self.epoch = 0
        self.epochs: int | None = None
        self.steps_per_epoch: int | None = None
        self.stop_training = False
        self._epoch_lr = math.nan
        self._shuffle_rng: np.random.Generator | None = None
        self._restored_shuffle_state: dict[str, Any] | None = None

    # ------------------------------------------------------------------------- steps
    def train_step(self, inputs: Sequence[Any], target: Any) -> tuple[float, Any]:
        """One optimisation step on one batch; returns ``(loss value, model output)``."""
        self.optimizer.zero_grad()
        out = self.model(*inputs)
        loss = self.loss_fn(out, target)
        loss.backward()
        self.optimizer.step()
        return float(loss.item()), out

    # ------------------------------------------------------------------------- fit
    def fit(
        self,
        x: Any,
        y: Any = None,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: Any = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        seed: int | None = None,
        callbacks: Iterable[Callback] = (),
        verbose: int = 1,
        initial_epoch: int | None = None,
    ) -> History:
        """Train until ``epochs`` epochs are done in total; returns the :class:`History`.

        Args:
            x, y: numpy arrays (``x`` may be a tuple of arrays for a model with several
                inputs), or ``x`` a DataLoader (any re-iterable of ``(inputs..., target)``
                batches) and ``y`` None.
            epochs: the epoch count to reach (Keras style): a trainer that has finished
                4 epochs (or was :meth:`load`-ed from an epoch-4 checkpoint) trains epochs
                5..10 when asked for ``epochs=10``.
            batch_size, shuffle, seed: how arrays are batched. ``seed`` seeds the shuffling
                the first time the trainer needs it; later ``fit`` calls continue the same
                stream, and a state restored by :meth:`load` takes precedence. Without a
                seed the stream is drawn from ``nn.manual_seed``'s generator.
            validation_data: ``(x_val, y_val)`` or a DataLoader, evaluated after every epoch.
            validation_split: instead, hold out this fraction of the arrays (the last
                samples, before shuffling) for validation.
            callbacks: used for this call only, after the trainer's own.
            verbose: 0 silent, 1 a progress bar per epoch (tqdm), 2 one line per epoch.
            initial_epoch: override the number of epochs already done.

        The epoch's ``loss`` is the mean over its samples, or the sum when the loss
        object says ``reduction="sum"`` (as ``nn.MSELoss(reduction="sum")`` does), so it
        is on the scale of ``val_loss``; a plain function is taken to return a mean.
        """
        if self.loss_fn is None or self.optimizer is None:
            raise ValueError("Trainer.fit needs a loss and an optimizer")
        start = self.epoch if initial_epoch is None else int(initial_epoch)
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if epochs <= start:
            raise ValueError(
                f"epochs={epochs} is the total epoch count to reach, and {start} epoch(s) are "
                f"already done; pass epochs={start + epochs} to train {epochs} more"
            )
        train_loader, val_loader = self._loaders(
            x, y, batch_size, shuffle, seed, validation_data, validation_split
        )
        self.epochs = int(epochs)
        self.steps_per_epoch = len(train_loader) if hasattr(train_loader, "__len__") else None
        cbs = self._callback_list(callbacks, verbose)
        for cb in cbs:
            cb.set_trainer(self)
        self.stop_training = False
        was_training = self.model.training
        failed = True
        try:
            for cb in cbs:
                cb.on_train_begin({})
            for epoch in range(start, self.epochs):
                for cb in cbs:
                    cb.on_epoch_begin(epoch, {})
                logs = self._train_epoch(train_loader, cbs, epoch)
                if val_loader is not None:
                    val = self._evaluate_loader(val_loader, "fit (validation)")
                    logs.update({f"val_{k}": v for k, v in val.items()})
                if hasattr(self.optimizer, "lr"):
                    logs["lr"] = self._epoch_lr
                self.epoch = epoch + 1
                self.history.append(epoch, logs)
                for cb in cbs:
                    cb.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            for cb in cbs:
                cb.on_train_end({})
            failed = False
        finally:
            self.model.train(was_training)
            _exit_callbacks(cbs, failed)
        return self.history

    def _callback_list(self, extra: Iterable[Callback], verbose: int) -> list[Callback]:
        cbs = [*self.callbacks, *extra]
        for cb in cbs:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be nn.Callback objects, got {type(cb).__name__}")
        if self.scheduler is not None and not any(
            isinstance(cb, LearningRateScheduler) and cb.schedule is self.scheduler for cb in cbs
        ):
            cbs.append(LearningRateScheduler(self.scheduler))
        if not any(isinstance(cb, ProgressBar) for cb in cbs):
            cbs.insert(0, ProgressBar(verbose))
        return sorted(cbs, key=lambda cb: cb.order)  # stable: ties keep the given order

    def _loaders(
        self,
        x: Any,
        y: Any,
        batch_size: int,
        shuffle: bool,
        seed: int | None,
        validation_data: Any,
        validation_split: float,
    ) -> tuple[Any, Any]:
        if validation_data is not None and validation_split:
            raise ValueError("fit: pass validation_data or validation_split, not both")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if _is_loader(x):
            if y is not None:
                raise ValueError("fit: y must be None when x is a DataLoader (its batches hold y)")
            if validation_split:
                raise ValueError(
                    "fit: validation_split needs arrays; with a DataLoader pass validation_data"
                )
            train = x
        else:
            arrays = _arrays(x, y, "fit", _float_dtype(self.model))
            if validation_split:
                n = len(arrays[0])
                n_val = int(math.ceil(n * validation_split))
                if n_val >= n:
                    raise ValueError(
                        f"fit: validation_split={validation_split} leaves no training samples "
                        f"out of {n}"
                    )
                validation_data = tuple(a[n - n_val :] for a in arrays)
                arrays = tuple(a[: n - n_val] for a in arrays)
            rng = self._shuffle_generator(seed) if shuffle else None
            train = DataLoader(ArrayDataset(*arrays), batch_size, shuffle=shuffle, seed=rng)
        val = None
        if validation_data is not None:
            if _is_loader(validation_data):
                val = validation_data
            else:
                if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                    raise ValueError(
                        "fit: validation_data must be (x_val, y_val) or a DataLoader, got "
                        f"{type(validation_data).__name__}"
                    )
                dtype = _float_dtype(self.model)
                val = DataLoader(
                    ArrayDataset(*_arrays(*validation_data, "fit (validation_data)", dtype)),
                    batch_size=max(batch_size, 256),
                )
        return train, val

    def _shuffle_generator(self, seed: int | None) -> np.random.Generator:
        if self._restored_shuffle_state is not None:
            rng = np.random.default_rng()
            rng.bit_generator.state = self._restored_shuffle_state
            self._restored_shuffle_state = None
            self._shuffle_rng = rng
        elif self._shuffle_rng is None and seed is not None:
            self._shuffle_rng = np.random.default_rng(seed)
        elif self._shuffle_rng is None:
            # nn.manual_seed then makes the whole run reproducible
            self._shuffle_rng = np.random.default_rng(int(get_rng().integers(2**63)))
        return self._shuffle_rng

    def _train_epoch(self, loader: Any, cbs: list[Callback], epoch: int) -> dict[str, float]:
        self.model.train()
        self._epoch_lr = float(self.optimizer.lr) if hasattr(self.optimizer, "lr") else math.nan
        # The epoch's loss on the same scale as evaluate()'s: the mean over samples, or for a
        # summing loss the sum over all of them (a size-weighted mean of batch sums is neither).
        summing = getattr(self.loss_fn, "reduction", "mean") == "sum"
        total, count = 0.0, 0
        outs: list[np.ndarray] = []
        targets: list[np.ndarray] = []
        for b, batch in enumerate(loader):
            for cb in cbs:
                cb.on_batch_begin(b, {})
            inputs, target = _split_batch(batch, "fit")
            loss, out = self.train_step(inputs, target)
            size = len(target)
            total += loss if summing else loss * size
            count += size
            if self.metrics:
                outs.append(_to_numpy(out, "fit").copy())
                targets.append(_target_array(target))
            for cb in cbs:
                cb.on_batch_end(b, {"loss": loss, "size": size})
            if not math.isfinite(loss):
                warnings.warn(
                    f"fit: the loss became {loss} at epoch {epoch} batch {b}; stopping "
                    "(try a smaller learning rate, or check the data for NaN/inf)",
                    RuntimeWarning,
                    stacklevel=3,
                )
                self.stop_training = True
                break
        if count == 0:
            raise ValueError(
                "fit: the training data produced no batches: it holds no samples, or it is "
                "a generator that the first epoch used up (pass a DataLoader or arrays)"
            )
        logs = {"loss": total if summing else total / count}
        if self.metrics:
            pred, tgt = np.concatenate(outs), np.concatenate(targets)
            logs.update({name: float(fn(pred, tgt)) for name, fn in self.metrics})
        return logs

    # ------------------------------------------------------------------------- evaluate
    def evaluate(self, x: Any, y: Any = None, *, batch_size: int = 256) -> dict[str, float]:
        """Loss and metrics on ``(x, y)`` (or a DataLoader), in eval mode under ``no_grad``.

        The loss is computed once on all outputs, so it is exact for any reduction.
        """
        if _is_loader(x):
            if y is not None:
                raise ValueError("evaluate: y must be None when x is a DataLoader")
            loader = x
        else:
            arrays = _arrays(x, y, "evaluate", _float_dtype(self.model))
            loader = DataLoader(ArrayDataset(*arrays), batch_size)
        return self._evaluate_loader(loader, "evaluate")

    def _evaluate_loader(self, loader: Any, who: str) -> dict[str, float]:
        if self.loss_fn is None and not self.metrics:
            raise ValueError(f"{who}: nothing to compute; give the trainer a loss or metrics")
        outs, targets = [], []
        was_training = self.model.training
        self.model.eval()
        try:
            with ad.no_grad():
                for batch in loader:
                    inputs, target = _split_batch(batch, who)
                    outs.append(_to_numpy(self.model(*inputs), who))
                    targets.append(_target_array(target))
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError(f"{who}: the data produced no batches")
        pred, tgt = np.concatenate(outs), np.concatenate(targets)
        logs: dict[str, float] = {}
        if self.loss_fn is not None:
            with ad.no_grad():
                logs["loss"] = float(self.loss_fn(Tensor(pred), tgt).item())
        logs.update({name: float(fn(pred, tgt)) for name, fn in self.metrics})
        return logs

    # ------------------------------------------------------------------------- predict
    def predict(self, x: Any, *, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for ``x`` as one numpy array, in eval mode under ``no_grad``.

        ``x``: an array (or tuple of arrays for several inputs), or a DataLoader whose
        batches are ``(inputs..., target)`` (the target is ignored) or ``(inputs,)``.
        """
        only_inputs = not _is_loader(x)
        if not only_inputs:
            batches: Iterable[Any] = x
        else:
            arrays = _arrays(x, None, "predict", _float_dtype(self.model), need_y=False)
            batches = DataLoader(ArrayDataset(*arrays), batch_size)
        outs = []
        was_training = self.model.training
        self.model.eval()
        try:
            with ad.no_grad():
                for batch in batches:
                    if isinstance(batch, Mapping):
                        raise ValueError(_DICT_BATCH.format(who="predict"))
                    if not isinstance(batch, (tuple, list)):
                        batch = (batch,)
                    if only_inputs or len(batch) == 1:
                        inputs = batch
                    else:
                        inputs = batch[:-1]
                    outs.append(_to_numpy(self.model(*inputs), "predict"))
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError("predict: the data produced no batches")
        return np.concatenate(outs)

    # ------------------------------------------------------------------------- checkpoints
    def save(self, path: str | os.PathLike[str], extra: Mapping[str, Any] | None = None) -> str:
        """Write a full checkpoint: model, optimizer, schedule, epoch count, RNG states, the
        shuffling state and the history (see :func:`nn.save_checkpoint`)."""
        own: dict[str, Any] = {"trainer.history": json.dumps(self.history.to_dict())}
        if self._shuffle_rng is not None:
            own["trainer.shuffle_rng"] = json.dumps(self._shuffle_rng.bit_generator.state)
        return save_checkpoint(
            path,
            self.model,
            self.optimizer,
            self.scheduler,
            epoch=self.epoch,
            extra={**own, **(extra or {})},
        )

    def load(self, path: str | os.PathLike[str], restore_rng: bool = True) -> Checkpoint:
        """Restore a checkpoint written by :meth:`save` (or ``ModelCheckpoint``), so the next
        :meth:`fit` continues the run exactly; returns the :class:`nn.checkpoint.Checkpoint`."""
        from ..checkpoint import read_checkpoint

        info = read_checkpoint(path)
        optimizer = self.optimizer if info.optimizer_state is not None else None
        scheduler = None
        if info.scheduler_state is not None:
            scheduler = self.scheduler or next(
                (cb.schedule for cb in self.callbacks if getattr(cb, "is_schedule", False)), None
            )
            if scheduler is None:
                warnings.warn(
                    f"checkpoint '{info.path}' holds a learning-rate schedule state but this "
                    "trainer has no schedule (pass scheduler=...); the run will not resume "
                    "exactly",
                    RuntimeWarning,
                    stacklevel=2,
                )
            self.scheduler = scheduler
        ckpt = load_checkpoint(path, self.model, optimizer, scheduler, restore_rng=restore_rng)
        self.epoch = int(ckpt.epoch or 0)
        state = ckpt.extra.get("trainer.shuffle_rng")
        self._restored_shuffle_state = json.loads(state) if state else None
        history = ckpt.extra.get("trainer.history")
        if history:
            self.history = History()
            logged = json.loads(history)
            epochs = logged.pop("epoch")
            for i, e in enumerate(epochs):
                self.history.append(e, {k: v[i] for k, v in logged.items()})
        return ckpt


# ------------------------------------------------------------------------------ functions
def fit(
    model: Module,
    x: Any,
    y: Any = None,
    *,
    loss: Any,
    optimizer: Any,
    epochs: int = 1,
    batch_size: int = 32,
    metrics: MetricsArg | None = None,
    callbacks: Iterable[Callback] = (),
    validation_data: Any = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    seed: int | None = None,
    scheduler: Any = None,
    verbose: int = 1,
) -> History:
    """Train ``model`` (a :class:`Trainer` in one call); returns the :class:`History`.

    See :meth:`Trainer.fit` for the arguments.

    Example:
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> x, y = nn.data.make_xor(100, seed=0)
        >>> model = nn.models.MLP([2, 8, 2], activation="tanh")
        >>> h = nn.fit(model, x, y, loss="cross_entropy", optimizer=nn.optim.Adam(
        ...     model.parameters(), lr=0.05), epochs=2, verbose=0)
        >>> len(h["loss"])
        2
    """
    trainer = Trainer(
        model, loss, optimizer, metrics=metrics, callbacks=callbacks, scheduler=scheduler
    )
    return trainer.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=validation_data,
        validation_split=validation_split,
        shuffle=shuffle,
        seed=seed,
        verbose=verbose,
    )


def evaluate(
    model: Module,
    x: Any,
    y: Any = None,
    *,
    loss: Any = None,
    metrics: MetricsArg | None = ("accuracy",),
    batch_size: int = 256,
) -> dict[str, float]:
    """Loss (if given) and metrics of ``model`` on ``(x, y)``, in eval mode under ``no_grad``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> model = nn.Linear(2, 2)
        >>> _ = model.load_state_dict({"weight": np.eye(2), "bias": np.zeros(2)})
        >>> nn.evaluate(model, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 2.0]]), [0, 1, 0])
        {'accuracy': 0.6666666666666666}
    """
    return Trainer(model, loss, metrics=metrics).evaluate(x, y, batch_size=batch_size)


def predict(model: Module, x: Any, *, batch_size: int = 256) -> np.ndarray:
    """``model``'s outputs for ``x`` in batches, in eval mode under ``no_grad``, as numpy.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> nn.predict(nn.Linear(4, 3), np.zeros((10, 4)), batch_size=4).shape
        (10, 3)
    """
    return Trainer(model).predict(x, batch_size=batch_size)
