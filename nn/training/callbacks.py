"""Callbacks: objects ``fit`` calls at the start and end of training, epochs and batches.

Subclass :class:`Callback` and override any of the ``on_*`` methods. While
training, ``self.trainer`` is the running :class:`~nn.training.Trainer`
(``trainer.model``, ``trainer.optimizer``, ``trainer.history``...); setting
``trainer.stop_training = True`` ends training after the current epoch.

``logs`` at the end of an epoch hold ``loss``, the metrics, their ``val_``
versions when there is validation data, and ``lr``; at the end of a batch they
hold the batch's ``loss`` and ``size``.

Example (stop when the validation loss has not improved for 3 epochs, keep the best):
    >>> import nn
    >>> stop = nn.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    >>> stop.patience, stop.mode
    (3, 'min')
"""

from __future__ import annotations

import csv
import inspect
import math
import os
from collections.abc import Callable, Mapping
from typing import IO, Any

__all__ = [
    "Callback",
    "LambdaCallback",
    "EarlyStopping",
    "ModelCheckpoint",
    "CSVLogger",
    "LearningRateScheduler",
    "ProgressBar",
]

Logs = Mapping[str, Any]


class Callback:
    """Base class: every hook does nothing. ``self.trainer`` is set before training starts.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(f"epoch {epoch}: loss {logs['loss']:.3f}")
        >>> PrintLoss().on_epoch_end(0, {"loss": 0.5})
        epoch 0: loss 0.500
    """

    trainer: Any = None
    #: callbacks run in increasing ``order`` (ties: the order given). Display comes first,
    #: learning-rate changes next, checkpoints last so they capture the epoch's final state.
    order: int = 0

    def set_trainer(self, trainer: Any) -> None:
        """Called by the trainer before ``on_train_begin``."""
        self.trainer = trainer

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Before the first epoch."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """After the last epoch (also after an early stop); not when training raised."""

    def on_train_exit(self) -> None:
        """Whenever ``fit`` ends, also when training raised (an error, or Ctrl-C): release
        what the callback holds open (a file, a progress bar). After ``on_train_end``
        when that ran."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Before epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """After epoch ``epoch`` and its validation, with the epoch's logs."""

    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Before training batch ``batch`` (0-based within the epoch)."""

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """After the optimizer step of batch ``batch``; logs have ``loss`` and ``size``."""


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``.

    Example:
        >>> seen = []
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> cb.on_epoch_end(3, {})
        >>> seen
        [3]
    """

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        names = {n for n in dir(Callback) if n.startswith("on_")}
        unknown = set(hooks) - names
        if unknown:
            raise ValueError(
                f"LambdaCallback: unknown hook(s) {sorted(unknown)}; use {sorted(names)}"
            )
        for name, fn in hooks.items():
            setattr(self, name, fn)


def _resolve_mode(mode: str, monitor: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


def _monitored(logs: Logs | None, monitor: str, who: str) -> float:
    if not logs or monitor not in logs:
        have = sorted(logs or {})
        hint = " (pass validation_data or validation_split to fit)" if monitor[:4] == "val_" else ""
        raise ValueError(f"{who} monitors {monitor!r} but the epoch logs only have {have}{hint}")
    return float(logs[monitor])


class _Monitor:
    """Tracks the best value of a logged quantity; shared by EarlyStopping and ModelCheckpoint."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.min_delta = abs(float(min_delta))
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs in a row.

    Args:
        monitor: the logged quantity to watch (``"val_loss"``, ``"val_accuracy"``, ``"loss"``).
        patience: how many epochs without improvement are tolerated; training stops
            at the ``patience``-th one (0: at the first).
        min_delta: an improvement must beat the best value by more than this.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max when the name contains "acc").
        restore_best_weights: at the end of training, put back the weights of the
            best epoch (whether training stopped early or ran out of epochs).
        verbose: print a line when stopping and when restoring.

    After training, ``stopped_epoch`` (None if it never stopped), ``best_epoch`` and
    ``best`` tell what happened.

    Example (fit ``y = 2x``; stop when ``val_loss`` has improved on its best value by less
    than 0.01 twice in a row, then put back the weights of the best epoch):
        >>> import numpy as np
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> model = nn.Linear(1, 1)
        >>> stop = nn.EarlyStopping(patience=2, min_delta=0.01, restore_best_weights=True)
        >>> history = nn.fit(model, x, 2 * x, loss="mse", epochs=20, batch_size=20,
        ...     optimizer=nn.optim.SGD(model.parameters(), lr=0.5),
        ...     validation_data=(x, 2 * x), callbacks=[stop], verbose=0)
        >>> len(history["val_loss"]), stop.best_epoch, stop.stopped_epoch
        (9, 6, 8)
        >>> nn.evaluate(model, x, 2 * x, loss="mse", metrics=None)["loss"] == stop.best
        True
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        verbose: int = 0,
    ) -> None:
        if int(patience) != patience or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}")
        self._monitor = _Monitor(monitor, mode, min_delta)
        self.monitor, self.mode = monitor, self._monitor.mode
        self.patience = int(patience)
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self._reset()

    def _reset(self) -> None:
        self._monitor.reset()
        self.wait = 0
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, Any] | None = None
        self._last_epoch: int | None = None

    @property
    def best(self) -> float:
        """The best value of ``monitor`` seen so far."""
        return self._monitor.best

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = _monitored(logs, self.monitor, "EarlyStopping")
        self._last_epoch = epoch
        if self._monitor.improved(value):
            self._monitor.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            if self.verbose:
                print(
                    f"EarlyStopping: {self.monitor} has not improved for {self.wait} epoch(s); "
                    f"best {self.best:.4g} at epoch {self.best_epoch}"
                )

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.best_weights is not None and self.best_epoch != self._last_epoch:
            self.trainer.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch}")


class ModelCheckpoint(Callback):
    """Save a checkpoint at the end of every epoch, or only when ``monitor`` improves.

    Args:
        path: file name; may contain ``{epoch}`` (1-based count of finished epochs)
            and any log key, e.g. ``"ckpt/model-{epoch:03d}-{val_loss:.3f}.npz"``.
        monitor, mode: what "best" means (as for :class:`EarlyStopping`).
        save_best_only: write only when the epoch beats every earlier one.
        save_weights_only: store only the model (else also the optimizer, schedule,
            epoch and RNG states, so ``Trainer.load`` can resume the run exactly).

    ``saved`` lists ``(epoch, path)`` of every write. Files are written atomically
    with :func:`nn.save_checkpoint`. Runs after the other callbacks (``order = 100``),
    so the schedule has already stepped when the state is saved.

    Example (one file per epoch, named from the template; resume from the first one):
        >>> import os, tempfile
        >>> import numpy as np
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> model = nn.Linear(1, 1)
        >>> template = os.path.join(tempfile.mkdtemp(), "model-{epoch:02d}-{loss:.3f}.npz")
        >>> ckpt = nn.ModelCheckpoint(template)
        >>> _ = nn.fit(model, x, 2 * x, loss="mse", epochs=3, batch_size=20,
        ...     optimizer=nn.optim.SGD(model.parameters(), lr=0.5), callbacks=[ckpt], verbose=0)
        >>> [(epoch, os.path.basename(path)) for epoch, path in ckpt.saved]
        [(0, 'model-01-1.223.npz'), (1, 'model-02-0.488.npz'), (2, 'model-03-0.195.npz')]
        >>> trainer = nn.Trainer(nn.Linear(1, 1), "mse", "sgd")
        >>> trainer.load(ckpt.saved[0][1]).epoch, trainer.epoch
        (1, 1)
    """

    order = 100

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = False,
        mode: str = "auto",
        save_weights_only: bool = False,
        verbose: int = 0,
    ) -> None:
        self.path = os.fspath(path)
        self._monitor = _Monitor(monitor, mode, 0.0)
        self.monitor, self.mode = monitor, self._monitor.mode
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.verbose = verbose
        self.saved: list[tuple[int, str]] = []

    @property
    def best(self) -> float:
        """The best value of ``monitor`` seen so far (when ``save_best_only``)."""
        return self._monitor.best

    # The best value lasts as long as the callback, as in Keras: a second fit() with the
    # same callback must not overwrite the best file with a worse epoch.

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not self._monitor.improved(value):
                return
            self._monitor.best = value
        path = self._path(epoch, logs or {})  # save_checkpoint creates its directory
        if self.save_weights_only:
            from ..checkpoint import save_weights

            save_weights(path, self.trainer.model)
        else:
            self.trainer.save(path)
        self.saved.append((epoch, path))
        if self.verbose:
            print(f"ModelCheckpoint: saved {path}")

    def _path(self, epoch: int, logs: Logs) -> str:
        if "{" not in self.path:
            return self.path
        try:
            return self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(
                f"ModelCheckpoint: cannot fill in the path {self.path!r} ({type(err).__name__}: "
                f"{err}); it may use {{epoch}} and the logged keys {sorted(logs)}"
            ) from None


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` and every logged value.

    Rows are flushed as they are written, so the file can be watched during
    training. ``append=True`` continues an existing file (a resumed run).

    Example:
        >>> import csv, os, tempfile
        >>> import numpy as np
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> model = nn.Linear(1, 1)
        >>> logger = nn.CSVLogger(os.path.join(tempfile.mkdtemp(), "log.csv"))
        >>> _ = nn.fit(model, x, 2 * x, loss="mse", epochs=3, batch_size=20,
        ...     optimizer=nn.optim.SGD(model.parameters(), lr=0.5), callbacks=[logger], verbose=0)
        >>> with open(logger.path, newline="") as f:
        ...     rows = list(csv.reader(f))
        >>> rows[0], len(rows) - 1
        (['epoch', 'loss', 'lr'], 3)
        >>> [(epoch, round(float(loss), 3)) for epoch, loss, lr in rows[1:]]
        [('0', 1.223), ('1', 0.488), ('2', 0.195)]
    """

    def __init__(self, path: str | os.PathLike[str], separator: str = ",", append: bool = False):
        self.path = os.fspath(path)
        self.separator = separator
        self.append = bool(append)
        self._file: IO[str] | None = None
        self._writer: Any = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        continuing = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._keys = None
        if continuing:
            with open(self.path, newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            self._keys = header[1:] if header else None
        self._file = open(self.path, "a" if continuing else "w", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file, delimiter=self.separator)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = dict(logs or {})
        if self._keys is None:
            self._keys = list(logs)
            self._writer.writerow(["epoch", *self._keys])
        self._writer.writerow([epoch, *(_fmt(logs.get(k, "")) for k in self._keys)])
        self._file.flush()

    def on_train_exit(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _fmt(value: Any) -> Any:
    return repr(float(value)) if isinstance(value, (int, float)) else value


class LearningRateScheduler(Callback):
    """Drive the learning rate from an ``nn.optim`` schedule or a function of the epoch.

    * an :class:`nn.optim.LRSchedule` (``ExponentialSchedule``, ``OneCycle``...):
      ``schedule.step()`` after every epoch (``per="epoch"``) or every batch
      (``per="batch"``);
    * :class:`nn.optim.ReduceOnPlateau`: ``schedule.step(logs[monitor])`` after every epoch;
    * a function ``f(epoch) -> lr`` or ``f(epoch, lr) -> lr``: called before every
      epoch, its result becomes the optimizer's learning rate.

    The learning rate in effect during each epoch is logged as ``lr``. Runs before the
    other callbacks (``order = -10``).

    Example:
        >>> sched = LearningRateScheduler(lambda epoch: 0.1 * 0.5**epoch)
        >>> sched.per
        'epoch'
    """

    order = -10

    def __init__(
        self,
        schedule: Any,
        monitor: str = "val_loss",
        per: str = "epoch",
        verbose: int = 0,
    ) -> None:
        if per not in ("epoch", "batch"):
            raise ValueError(f"per must be 'epoch' or 'batch', got {per!r}")
        self.is_schedule = hasattr(schedule, "step") and hasattr(schedule, "optimizer")
        if not self.is_schedule and not callable(schedule):
            raise TypeError(
                "LearningRateScheduler takes an nn.optim schedule or a function epoch -> lr, "
                f"got {type(schedule).__name__}"
            )
        from ..optim import ReduceOnPlateau

        self.on_plateau = isinstance(schedule, ReduceOnPlateau)
        if self.on_plateau and per == "batch":
            raise ValueError("ReduceOnPlateau is stepped once per epoch with the monitored value")
        self.schedule, self.monitor, self.per, self.verbose = schedule, monitor, per, verbose
        self._takes_lr = False
        if not self.is_schedule:
            try:
                params = inspect.signature(schedule).parameters.values()
                positional = [
                    p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                ]
                self._takes_lr = len(positional) >= 2
            except (TypeError, ValueError):  # builtins without a signature: assume f(epoch)
                pass

    def on_train_begin(self, logs: Logs | None = None) -> None:
        if self.is_schedule:
            if self.schedule.optimizer is not self.trainer.optimizer:
                raise ValueError(
                    "LearningRateScheduler: the schedule drives a different optimizer than the "
                    "one being trained; create it with the trainer's optimizer"
                )
            if self.trainer.scheduler is None:
                self.trainer.scheduler = self.schedule  # so checkpoints include it

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if self.is_schedule:
            return
        opt = self.trainer.optimizer
        lr = self.schedule(epoch, opt.lr) if self._takes_lr else self.schedule(epoch)
        opt.lr = float(lr)
        if self.verbose:
            print(f"LearningRateScheduler: epoch {epoch} lr = {opt.lr:.4g}")

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.is_schedule and self.per == "batch":
            self.schedule.step()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if not self.is_schedule:
            return
        if self.on_plateau:
            self.schedule.step(_monitored(logs, self.monitor, "LearningRateScheduler"))
        elif self.per == "epoch":
            self.schedule.step()


class ProgressBar(Callback):
    """Show training progress: a tqdm bar per epoch (``verbose=1``), one line per epoch
    (``verbose=2``, or when tqdm is not installed), or nothing (``verbose=0``).

    ``fit(verbose=...)`` adds one automatically unless you pass your own.

    Example (one line per epoch: the epoch's logs, then its duration):
        >>> import numpy as np
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> model = nn.Linear(1, 1)
        >>> _ = nn.fit(model, x, 2 * x, loss="mse", epochs=2, batch_size=20,
        ...     optimizer=nn.optim.SGD(model.parameters(), lr=0.5),
        ...     callbacks=[nn.ProgressBar(verbose=2)])  # doctest: +ELLIPSIS
        epoch 1/2 - loss: 1.223 - lr: 0.5 - ...s
        epoch 2/2 - loss: 0.488 - lr: 0.5 - ...s
    """

    order = -100

    def __init__(self, verbose: int = 1, file: IO[str] | None = None) -> None:
        self.verbose = int(verbose)
        self.file = file
        self._bar: Any = None
        self._tqdm: Any = None
        self._start = 0.0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._tqdm = None
        if self.verbose == 1:
            try:
                from tqdm.auto import tqdm  # optional extra

                self._tqdm = tqdm
            except ImportError:
                self._tqdm = None  # degrade to one printed line per epoch

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        import time

        self._start = time.perf_counter()
        if self._tqdm is not None:
            total = getattr(self.trainer, "steps_per_epoch", None)
            epochs = getattr(self.trainer, "epochs", None)
            self._bar = self._tqdm(
                total=total,
                desc=f"epoch {epoch + 1}/{epochs}" if epochs else f"epoch {epoch + 1}",
                unit="batch",
                leave=True,
                file=self.file,
                dynamic_ncols=True,
            )

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._bar is not None:
            self._bar.update(1)
            if logs and "loss" in logs and batch % 10 == 0:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        import time

        text = " - ".join(f"{k}: {v:.4g}" for k, v in (logs or {}).items())
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)
            self._bar.close()
            self._bar = None
        elif self.verbose:
            epochs = getattr(self.trainer, "epochs", None)
            seconds = time.perf_counter() - self._start
            head = f"epoch {epoch + 1}/{epochs}" if epochs else f"epoch {epoch + 1}"
            print(f"{head} - {text} - {seconds:.2f}s", file=self.file, flush=True)

    def on_train_exit(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
