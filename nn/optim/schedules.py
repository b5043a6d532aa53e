"""Learning-rate schedules that drive an :class:`~nn.optim.Optimizer`'s ``lr``.

Usage (PyTorch style)::

    opt = Adam(params, lr=1e-3)
    sched = PowerSchedule(opt, s=1000)     # sets opt.lr = sched.lr_at(0) immediately
    for batch in data:
        ...; opt.step(); sched.step()      # step count t advances, lr = lr_at(t)

Conventions shared by all schedules:

* ``t`` (``sched.last_step``) counts ``sched.step()`` calls, starting at 0, so the k-th
  optimizer step (0-based) uses ``lr_at(k)``.  Whether ``t`` counts iterations or epochs
  is up to how often you call ``step()``.
* ``lr_at(t)`` is a pure function of ``t`` (handy for plotting), except for
  :class:`ReduceOnPlateau` where it replays the recorded history.
* ``lr_at`` gives the learning rate of the *reference* param group: the first group
  whose lr is not 0 when the schedule is created (the first group if all are 0).  Other
  groups keep the ratio to it they had then (``lr_g = lr_at(t) * base_lr_g /
  base_lr_ref``), so a frozen group (lr 0, a fine-tuned model's backbone) stays frozen;
  with one group this is just ``opt.lr = lr_at(t)``.  (:class:`ReduceOnPlateau` instead
  multiplies every group's current lr by ``factor``.)
* ``state_dict()`` is flat (``str -> scalar | str | ndarray``), ``np.savez``-friendly, and
  ``load_state_dict`` re-applies the restored lr to the optimizer.

Create the schedule *before* loading the optimizer's state when resuming (or load the
schedule's state too -- it stores the base learning rates, so the order does not matter
once both are loaded).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np

from .optimizer import Optimizer, _as_float, _as_int, _as_str, _check_range, _require

__all__ = [
    "LRSchedule",
    "PowerSchedule",
    "ExponentialSchedule",
    "PiecewiseConstant",
    "ReduceOnPlateau",
    "OneCycle",
]


class LRSchedule:
    """Base class: holds the optimizer, the step count and the groups' base learning rates.

    Subclasses implement :meth:`lr_at`. Creating the schedule sets ``lr_at(0)`` on the
    optimizer, so a subclass sets the attributes ``lr_at`` reads before it calls
    ``super().__init__(optimizer)`` (as in PyTorch); ``self.base_lrs`` is there already.

    Example:
        >>> import nn
        >>> class Halving(nn.optim.LRSchedule):  # lr_at(t) must be a pure function of t
        ...     def lr_at(self, step):
        ...         return self.base_lrs[0] * 0.5**step
        >>> opt = nn.optim.SGD([nn.Parameter([0.0])], lr=0.8)
        >>> sched = Halving(opt)
        >>> [sched.step() for _ in range(3)]  # each step() sets opt.lr = lr_at(last_step)
        [0.4, 0.2, 0.1]
        >>> opt.lr, sched.last_step
        (0.1, 3)
    """

    def __init__(self, optimizer: Optimizer):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.last_step = 0
        self.base_lrs = [float(g["lr"]) for g in optimizer.param_groups]
        if self._applies_on_creation:
            self._start()

    #: Built-in schedules set their own attributes after this ``__init__`` and call
    #: ``_start`` themselves (or, like ReduceOnPlateau, keep the optimizer's lr).
    _applies_on_creation = True

    def _start(self) -> None:
        if type(self).lr_at is LRSchedule.lr_at:
            return  # a schedule that drives the lr its own way (it overrides step)
        try:
            self._apply(0)
        except AttributeError as err:
            raise AttributeError(
                f"{type(self).__name__}.lr_at(0) failed while the schedule was being created "
                f"({err}); set the attributes lr_at reads before calling "
                f"super().__init__(optimizer)"
            ) from err

    # -- to implement
    def lr_at(self, step: int) -> float:
        """Learning rate (of the reference group, see ``get_lr``) at step ``step``."""
        raise NotImplementedError

    # -- public API
    def get_lr(self) -> float:
        """The learning rate currently set on the schedule's reference group.

        That is the first param group whose lr was not 0 when the schedule was made (the
        first group when all were 0): a frozen group (lr 0) stays frozen, and the others
        keep their ratio to the reference group.
        """
        return float(self.optimizer.param_groups[self._reference()]["lr"])

    def _reference(self) -> int:
        return next((i for i, b in enumerate(self.base_lrs) if b != 0.0), 0)

    def step(self) -> float:
        """Advance one step and set the optimizer's lr; returns the new lr (``get_lr()``)."""
        self.last_step += 1
        self._apply(self.last_step)
        return self.get_lr()

    def state_dict(self) -> dict[str, Any]:
        return {
            "schedule": type(self).__name__,
            "last_step": self.last_step,
            "base_lrs": np.array(self.base_lrs, dtype=np.float64),
            **self._extra_state(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        sd = dict(state_dict)
        _require(sd, "schedule")
        name = _as_str(sd["schedule"], "schedule")
        if name != type(self).__name__:
            raise ValueError(
                f"state dict is for schedule {name!r}, cannot load into {type(self).__name__!r}"
            )
        expected = set(self.state_dict())
        missing = sorted(expected - set(sd))
        if missing:
            raise ValueError(f"schedule state dict is missing key(s) {missing}")
        unexpected = sorted(set(sd) - expected)
        if unexpected:
            raise ValueError(f"unexpected key(s) in schedule state dict: {unexpected}")
        base = np.asarray(sd["base_lrs"], dtype=np.float64)
        if base.shape != (len(self.optimizer.param_groups),):
            raise ValueError(
                f"state dict key 'base_lrs' has shape {base.shape}, but the optimizer has "
                f"{len(self.optimizer.param_groups)} param group(s)"
            )
        last = _as_int(sd["last_step"], "last_step")
        if last < 0:
            raise ValueError(f"state dict key 'last_step' must be >= 0, got {last}")
        extra = self._parse_extra_state(sd)
        self.last_step = last
        self.base_lrs = [float(x) for x in base]
        self._load_extra_state(extra)
        self._apply(self.last_step)

    # -- hooks
    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _parse_extra_state(self, sd: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, extra: dict[str, Any]) -> None:
        pass

    def _apply(self, step: int) -> None:
        lr = self.lr_at(step)
        b_ref = self.base_lrs[self._reference()]
        for group, b in zip(self.optimizer.param_groups, self.base_lrs):
            if b == b_ref:  # also every group when all started at 0
                group["lr"] = lr
            else:  # a frozen group (b == 0) stays at 0
                group["lr"] = lr * (b / b_ref)

    def _check_step(self, step: int) -> int:
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        return step

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_step={self.last_step}, lr={self.get_lr():.6g})"


class _FunctionalSchedule(LRSchedule):
    """A schedule whose lr is a fixed function of t; applies lr_at(0) once its own
    attributes are set (its ``__init__`` ends with ``self._start()``)."""

    _applies_on_creation = False


class PowerSchedule(_FunctionalSchedule):
    r"""Power scheduling: ``lr(t) = lr0 / (1 + t / s) ** c``.

    After ``s`` steps the lr has dropped to ``lr0 / 2**c``; with ``c=1`` this is the
    "1/t decay" (Keras ``InverseTimeDecay`` with ``decay_rate=1``; Géron, *Hands-On ML*,
    ch. 11).  ``lr0`` defaults to the reference group's lr (see ``get_lr``).

    Example:
        >>> import nn
        >>> opt = nn.optim.SGD([nn.Parameter([0.0])], lr=0.1)
        >>> sched = nn.optim.PowerSchedule(opt, s=10)  # c=1: lr halves after 10 steps
        >>> [round(sched.lr_at(t), 4) for t in (0, 10, 30)]
        [0.1, 0.05, 0.025]
        >>> for _ in range(10):
        ...     _ = sched.step()  # once per optimizer step (after opt.step())
        >>> round(opt.lr, 4)
        0.05
    """

    def __init__(self, optimizer: Optimizer, s: float, c: float = 1.0, lr0: float | None = None):
        super().__init__(optimizer)
        self.s, self.c = float(s), float(c)
        if not self.s > 0:
            raise ValueError(f"s must be > 0, got {s}")
        _check_range("c", self.c, lo=0.0)
        self.lr0 = float(self.base_lrs[self._reference()] if lr0 is None else lr0)
        _check_range("lr0", self.lr0, lo=0.0)
        self._start()

    def lr_at(self, step: int) -> float:
        t = self._check_step(step)
        return self.lr0 / (1.0 + t / self.s) ** self.c

    def _extra_state(self):
        return {"lr0": self.lr0}

    def _parse_extra_state(self, sd):
        return {"lr0": _as_float(sd["lr0"], "lr0")}

    def _load_extra_state(self, extra):
        self.lr0 = extra["lr0"]


class ExponentialSchedule(_FunctionalSchedule):
    r"""Exponential scheduling: ``lr(t) = lr0 * 0.1 ** (t / s)``.

    The lr drops by a factor of 10 every ``s`` steps (Géron, *Hands-On ML*, ch. 11; Keras
    ``ExponentialDecay(decay_rate=0.1, decay_steps=s)``).  ``lr0`` defaults to the
    reference group's lr (see ``get_lr``).

    Example:
        >>> import nn
        >>> opt = nn.optim.SGD([nn.Parameter([0.0])], lr=0.1)
        >>> sched = nn.optim.ExponentialSchedule(opt, s=10)  # lr / 10 every 10 steps
        >>> [round(sched.lr_at(t), 4) for t in (0, 5, 10, 20)]
        [0.1, 0.0316, 0.01, 0.001]
        >>> for _ in range(10):
        ...     _ = sched.step()
        >>> round(opt.lr, 4)
        0.01
    """

    def __init__(self, optimizer: Optimizer, s: float, lr0: float | None = None):
        super().__init__(optimizer)
        self.s = float(s)
        if not self.s > 0:
            raise ValueError(f"s must be > 0, got {s}")
        self.lr0 = float(self.base_lrs[self._reference()] if lr0 is None else lr0)
        _check_range("lr0", self.lr0, lo=0.0)
        self._start()

    def lr_at(self, step: int) -> float:
        t = self._check_step(step)
        return self.lr0 * 0.1 ** (t / self.s)

    _extra_state = PowerSchedule._extra_state
    _parse_extra_state = PowerSchedule._parse_extra_state
    _load_extra_state = PowerSchedule._load_extra_state


class PiecewiseConstant(_FunctionalSchedule):
    r"""Piecewise constant lr: ``values[i]`` for ``boundaries[i-1] <= t < boundaries[i]``.

    I.e. ``lr(t) = values[k]`` with ``k`` = the number of boundaries ``<= t``: the lr
    switches to ``values[k]`` *at* step ``boundaries[k-1]`` (PyTorch ``MultiStepLR``
    milestone semantics).  Note Keras' ``PiecewiseConstantDecay`` switches one step later
    (it uses ``t <= boundary``).  Needs ``len(values) == len(boundaries) + 1`` and strictly
    increasing non-negative integer boundaries.

    Example:
        >>> import nn
        >>> opt = nn.optim.SGD([nn.Parameter([0.0])], lr=1.0)  # overridden by values[0]
        >>> sched = nn.optim.PiecewiseConstant(opt, boundaries=[2, 4], values=[0.1, 0.01, 0.001])
        >>> opt.lr  # step 0
        0.1
        >>> [sched.step() for _ in range(5)]  # steps 1..5: switches *at* steps 2 and 4
        [0.1, 0.01, 0.01, 0.001, 0.001]
    """

    def __init__(self, optimizer: Optimizer, boundaries: list[int], values: list[float]):
        super().__init__(optimizer)
        self.boundaries = [int(b) for b in boundaries]
        self.values = [float(v) for v in values]
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                f"need len(values) == len(boundaries) + 1, got {len(self.values)} values and "
                f"{len(self.boundaries)} boundaries"
            )
        if any(b != b0 for b, b0 in zip(self.boundaries, boundaries)):
            raise ValueError(f"boundaries must be integers, got {list(boundaries)}")
        if any(b < 0 for b in self.boundaries) or any(
            a >= b for a, b in zip(self.boundaries, self.boundaries[1:])
        ):
            raise ValueError(f"boundaries must be >= 0 and strictly increasing: {boundaries}")
        for v in self.values:
            _check_range("value", v, lo=0.0)
        self._start()

    def lr_at(self, step: int) -> float:
        t = self._check_step(step)
        return self.values[bisect.bisect_right(self.boundaries, t)]


class ReduceOnPlateau(LRSchedule):
    r"""Performance scheduling: cut the lr by ``factor`` when a metric stops improving.

    Call ``step(metric)`` once per evaluation (typically per epoch).  Semantics follow
    PyTorch ``ReduceLROnPlateau``:

    * the metric *improves* if ``metric < best * (1 - threshold)`` (mode ``"min"``,
      ``threshold_mode="rel"``), ``metric < best - threshold`` (``"abs"``), and
      symmetrically with ``>`` / ``1 + threshold`` / ``+`` for mode ``"max"``;
    * on improvement ``best = metric`` and the bad-step counter resets, otherwise it grows;
    * when the counter exceeds ``patience`` (so ``patience`` bad steps are tolerated and the
      cut happens on the ``patience + 1``-th), every group's lr becomes
      ``max(lr * factor, min_lr)``, the counter resets and ``cooldown`` steps are ignored.

    (Keras' ``ReduceLROnPlateau`` cuts one step earlier: on the ``patience``-th bad step.)
    Defaults (PyTorch): ``mode="min"``, ``factor=0.1``, ``patience=10``, ``min_lr=0``,
    ``threshold=1e-4``, ``threshold_mode="rel"``, ``cooldown=0``.

    ``lr_at(step)`` replays the recorded lr history (steps ``0 .. last_step``); the future
    is unknown, so later steps raise ValueError.

    Example:
        >>> import nn
        >>> opt = nn.optim.SGD([nn.Parameter([0.0])], lr=0.1)
        >>> sched = nn.optim.ReduceOnPlateau(opt, factor=0.5, patience=1)
        >>> [sched.step(loss) for loss in (1.0, 0.9, 0.95, 0.95, 0.8)]  # cut on 2nd bad epoch
        [0.1, 0.1, 0.1, 0.05, 0.05]
        >>> sched.best, sched.lr_at(3), sched.lr_at(4)  # lr_at replays the recorded history
        (0.8, 0.1, 0.05)
    """

    _applies_on_creation = False  # it scales the optimizer's current lr

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        min_lr: float = 0.0,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
    ):
        super().__init__(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not 0.0 < factor < 1.0:
            raise ValueError(f"factor must be in (0, 1), got {factor}")
        if int(patience) != patience or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience}")
        if int(cooldown) != cooldown or cooldown < 0:
            raise ValueError(f"cooldown must be a non-negative integer, got {cooldown}")
        _check_range("min_lr", float(min_lr), lo=0.0)
        _check_range("threshold", float(threshold), lo=0.0)
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor, self.patience = float(factor), int(patience)
        self.min_lr, self.threshold = float(min_lr), float(threshold)
        self.cooldown = int(cooldown)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_steps = 0
        self.cooldown_counter = 0
        # history of (first step, reference group's lr) change points, for lr_at()
        self._change_steps = [0]
        self._change_lrs = [self.get_lr()]

    def is_better(self, metric: float, best: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return metric < best * (1.0 - self.threshold)
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (1.0 + self.threshold)
        return metric > best + self.threshold

    def step(self, metric: float) -> float:  # type: ignore[override]
        """Record ``metric`` (e.g. the validation loss) and maybe cut the lr."""
        metric = float(metric)
        self.last_step += 1
        if self.is_better(metric, self.best):
            self.best = metric
            self.num_bad_steps = 0
        else:
            self.num_bad_steps += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_steps = 0
        if self.num_bad_steps > self.patience:
            for group in self.optimizer.param_groups:
                if group["lr"] != 0.0:  # a frozen group stays frozen, min_lr or not
                    group["lr"] = max(group["lr"] * self.factor, self.min_lr)
            self.cooldown_counter = self.cooldown
            self.num_bad_steps = 0
        lr = self.get_lr()
        if lr != self._change_lrs[-1]:
            self._change_steps.append(self.last_step)
            self._change_lrs.append(lr)
        return lr

    def lr_at(self, step: int) -> float:
        t = self._check_step(step)
        if t > self.last_step:
            raise ValueError(
                f"ReduceOnPlateau cannot predict the lr at step {t} (only {self.last_step} "
                "steps have been taken): it depends on future metrics"
            )
        return self._change_lrs[bisect.bisect_right(self._change_steps, t) - 1]

    def _apply(self, step: int) -> None:
        # the lr lives in the optimizer (restored by Optimizer.load_state_dict); only
        # re-apply the reference group's recorded lr, keeping the others' ratios to it
        # (a group at lr 0 stays at 0).
        lr = self.lr_at(step)
        groups = self.optimizer.param_groups
        current = groups[self._reference()]["lr"]
        for group in groups:
            if group["lr"] == current:
                group["lr"] = lr
            elif current != 0:
                group["lr"] = group["lr"] * (lr / current)

    def _extra_state(self):
        return {
            "best": self.best,
            "num_bad_steps": self.num_bad_steps,
            "cooldown_counter": self.cooldown_counter,
            "change_steps": np.array(self._change_steps, dtype=np.int64),
            "change_lrs": np.array(self._change_lrs, dtype=np.float64),
        }

    def _parse_extra_state(self, sd):
        steps = np.asarray(sd["change_steps"])
        lrs = np.asarray(sd["change_lrs"], dtype=np.float64)
        if steps.ndim != 1 or steps.shape != lrs.shape or steps.size == 0:
            raise ValueError(
                f"state dict keys 'change_steps'/'change_lrs' must be equal-length non-empty "
                f"1-d arrays, got shapes {steps.shape} and {lrs.shape}"
            )
        return {
            "best": _as_float(sd["best"], "best"),
            "num_bad_steps": _as_int(sd["num_bad_steps"], "num_bad_steps"),
            "cooldown_counter": _as_int(sd["cooldown_counter"], "cooldown_counter"),
            "change_steps": [int(s) for s in steps],
            "change_lrs": [float(x) for x in lrs],
        }

    def _load_extra_state(self, extra):
        self.best = extra["best"]
        self.num_bad_steps = extra["num_bad_steps"]
        self.cooldown_counter = extra["cooldown_counter"]
        self._change_steps = extra["change_steps"]
        self._change_lrs = extra["change_lrs"]


class OneCycle(_FunctionalSchedule):
    r"""Smith's 1cycle policy (L. N. Smith, 2018, "A disciplined approach to neural network
    hyper-parameters: Part 1", sec. 4.1; Géron, *Hands-On ML*, ch. 11).

    With ``T = total_steps`` optimizer steps (indices ``0 .. T-1``),
    ``A = int(annihilation * T)`` annihilation steps (at least 1 when ``annihilation > 0``
    and the cycle can spare it; with none the last step uses ``start_lr``), cycle end
    ``E = T - 1 - A`` and peak
    ``P = round(pct_start * E)``::

        0 <= t <= P :  lr = start_lr + (max_lr - start_lr) * t / P            (warm-up)
        P <= t <= E :  lr = max_lr - (max_lr - start_lr) * (t - P) / (E - P)  (cool-down)
        E <= t <= T-1: lr = start_lr - (start_lr - final_lr) * (t - E) / A     (annihilation)
        t >  T-1    :  lr = final_lr

    so the peak ``max_lr`` is reached exactly at step ``P`` and the last step ``T-1`` uses
    ``final_lr``.  Defaults: ``start_lr = max_lr / 10`` (Smith/Géron), ``final_lr =
    start_lr / 1000`` ("several orders of magnitude" below), ``pct_start=0.5`` (symmetric
    cycle, as in the paper; PyTorch's ``OneCycleLR`` uses 0.3 and cosine annealing),
    ``annihilation=0.1``.

    Momentum cycling (``cycle_momentum=True``): momentum goes linearly from
    ``max_momentum`` down to ``base_momentum`` at the peak, back up to ``max_momentum`` at
    ``E`` and stays there.  It sets the group's ``momentum`` (:class:`Momentum`,
    :class:`Nesterov`) or ``betas[0]`` (Adam family); defaults 0.95 / 0.85 (Smith).

    Example:
        >>> import nn
        >>> opt = nn.optim.SGD([nn.Parameter([0.0])], lr=0.01)
        >>> sched = nn.optim.OneCycle(opt, max_lr=1.0, total_steps=10)  # start_lr = 0.1
        >>> opt.lr  # lr_at(0) is applied immediately
        0.1
        >>> [round(sched.lr_at(t), 4) for t in range(10)]  # peak at t=4, annihilation at t=9
        [0.1, 0.325, 0.55, 0.775, 1.0, 0.775, 0.55, 0.325, 0.1, 0.0001]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float,
        total_steps: int,
        start_lr: float | None = None,
        final_lr: float | None = None,
        pct_start: float = 0.5,
        annihilation: float = 0.1,
        cycle_momentum: bool = False,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
    ):
        super().__init__(optimizer)
        self.max_lr = float(max_lr)
        _check_range("max_lr", self.max_lr, lo=0.0)
        if int(total_steps) != total_steps:
            raise ValueError(f"total_steps must be an integer, got {total_steps}")
        self.total_steps = int(total_steps)
        self.start_lr = self.max_lr / 10.0 if start_lr is None else float(start_lr)
        self.final_lr = self.start_lr / 1000.0 if final_lr is None else float(final_lr)
        _check_range("start_lr", self.start_lr, lo=0.0)
        _check_range("final_lr", self.final_lr, lo=0.0)
        _check_range("pct_start", float(pct_start), lo=0.0, hi=1.0)
        _check_range("annihilation", float(annihilation), lo=0.0, hi=1.0, hi_open=True)
        self.pct_start, self.annihilation = float(pct_start), float(annihilation)
        # at least one annihilation step when asked for any, so that step T-1 is final_lr,
        # unless the cycle is too short to spare one
        anneal = int(self.annihilation * self.total_steps)
        for steps in (1, 0) if anneal == 0 and self.annihilation > 0 else (anneal,):
            self.anneal_steps = steps
            self.cycle_end = self.total_steps - 1 - steps
            self.peak_step = int(round(self.pct_start * self.cycle_end))
            if 0 < self.peak_step < self.cycle_end:
                break
        if not 0 < self.peak_step < self.cycle_end:
            raise ValueError(
                f"total_steps={total_steps} is too small for pct_start={pct_start}, "
                f"annihilation={annihilation}: need 0 < peak step ({self.peak_step}) < "
                f"cycle end ({self.cycle_end})"
            )
        self.cycle_momentum = bool(cycle_momentum)
        self.base_momentum, self.max_momentum = float(base_momentum), float(max_momentum)
        if self.cycle_momentum:
            _check_range("base_momentum", self.base_momentum, lo=0.0, hi=1.0, hi_open=True)
            _check_range("max_momentum", self.max_momentum, lo=0.0, hi=1.0, hi_open=True)
            for group in optimizer.param_groups:
                if "momentum" not in group and "betas" not in group:
                    raise ValueError(
                        f"cycle_momentum=True but {type(optimizer).__name__} has neither a "
                        "'momentum' nor a 'betas' hyper-parameter"
                    )
        self._start()

    def lr_at(self, step: int) -> float:
        t = self._check_step(step)
        P, E, A = self.peak_step, self.cycle_end, self.anneal_steps
        lo, hi = self.start_lr, self.max_lr
        if t <= P:
            return lo + (hi - lo) * t / P
        if t <= E:
            return hi - (hi - lo) * (t - P) / (E - P)
        if t < self.total_steps and A > 0:
            return lo - (lo - self.final_lr) * (t - E) / A
        return self.final_lr

    def momentum_at(self, step: int) -> float:
        """The cycled momentum at ``step`` (meaningful with ``cycle_momentum=True``)."""
        t = self._check_step(step)
        P, E = self.peak_step, self.cycle_end
        lo, hi = self.base_momentum, self.max_momentum
        if t <= P:
            return hi - (hi - lo) * t / P
        if t <= E:
            return lo + (hi - lo) * (t - P) / (E - P)
        return hi

    def _apply(self, step: int) -> None:
        super()._apply(step)
        if self.cycle_momentum:
            m = self.momentum_at(step)
            for group in self.optimizer.param_groups:
                if "momentum" in group:
                    group["momentum"] = m
                else:
                    group["betas"] = (m, group["betas"][1])
