"""The training loop: fit/evaluate/predict, callbacks, History, metrics, the examples."""

from __future__ import annotations

import csv
import json
import os
import runpy
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.data import ArrayDataset, DataLoader
from nn.training import metrics

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _example(name: str) -> dict:
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))


def _xor(n: int = 200, seed: int = 0):
    return nn.data.make_xor(n, noise=0.2, seed=seed)


def _small_model(seed: int = 0, dropout: float = 0.0) -> nn.Module:
    nn.manual_seed(seed)
    return nn.models.MLP([2, 8, 2], activation="tanh", dropout=dropout)


def _trainer(model, lr: float = 0.05, **kw) -> nn.Trainer:
    return nn.Trainer(model, "cross_entropy", nn.optim.Adam(model.parameters(), lr=lr), **kw)


def _script(key: str, values: list[float]) -> nn.LambdaCallback:
    """A callback that overwrites logs[key] with a scripted value per epoch (deterministic
    tests of the callbacks that watch a monitored quantity)."""
    cb = nn.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(key, values[epoch]))
    cb.order = -1000  # before the callbacks that read it
    return cb


# ------------------------------------------------------------------------------ learning
def test_xor_is_learned():
    x, y = _xor(200, seed=0)
    model = _small_model(0)
    history = nn.fit(
        model, x, y, loss="cross_entropy", optimizer=nn.optim.Adam(model.parameters(), lr=0.05),
        epochs=30, batch_size=20, metrics=["accuracy"], seed=0, verbose=0,
    )  # fmt: skip
    assert history["accuracy"][-1] >= 0.97
    x_test, y_test = _xor(200, seed=1)
    assert nn.evaluate(model, x_test, y_test)["accuracy"] >= 0.97


def test_spirals_are_learned():
    x, y = nn.data.make_spirals(100, n_classes=3, noise=0.2, seed=0)
    nn.manual_seed(0)
    model = nn.models.MLP([2, 64, 64, 3])
    history = nn.fit(
        model, x, y, loss="cross_entropy", optimizer=nn.optim.Adam(model.parameters(), lr=0.01),
        epochs=100, batch_size=32, metrics=["accuracy"], seed=0, verbose=0,
    )  # fmt: skip
    assert history["accuracy"][-1] >= 0.95
    assert nn.evaluate(model, x, y)["accuracy"] >= 0.95


def test_digits_mlp_reaches_95_percent_quickly():
    X, y = nn.data.load_digits()
    X_tr, X_te, y_tr, y_te = nn.data.train_test_split(X, y, test_size=0.2, seed=0, stratify=y)
    nn.manual_seed(0)
    model = nn.models.MLP([64, 128, 10])
    start = time.perf_counter()
    nn.fit(
        model, X_tr, y_tr, loss="cross_entropy",
        optimizer=nn.optim.Adam(model.parameters(), lr=2e-3), epochs=8, batch_size=32,
        seed=0, verbose=0,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    assert nn.evaluate(model, X_te, y_te)["accuracy"] >= 0.95
    assert seconds < 30  # a few seconds normally; generous for a loaded CI machine


def test_mlp_digits_example_reaches_97_percent(tmp_path):
    # In a fresh process, as `python examples/mlp_digits.py` runs: the example limits
    # OpenBLAS to one thread before numpy loads, which cannot be done inside pytest.
    code = (
        "import json, runpy, sys\n"
        f"r = runpy.run_path({str(EXAMPLES / 'mlp_digits.py')!r})['main'](out=sys.argv[1])\n"
        "print(json.dumps({k: r[k] for k in ('test_accuracy', 'seconds', 'epochs')}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = str(EXAMPLES.parent)
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert "test accuracy" in done.stdout and "trained" in done.stdout
    assert result["test_accuracy"] >= 0.97
    assert result["seconds"] < 30
    assert (tmp_path / "learning_curves.png").stat().st_size > 0
    assert (tmp_path / "best.npz").exists() and (tmp_path / "log.csv").exists()


def test_optimizer_comparison_example():
    result = _example("optimizer_comparison")["main"](digits_epochs=2, plot=False)
    toy, digits = result["toy"], result["digits"]
    start = (-7.0) ** 2 / 20 + 2.0**2
    for name in ("SGD", "Momentum", "AdaGrad", "Adam"):
        assert toy[name] < 0.2 * start, name
    assert toy["AdaGrad"] < toy["SGD"]  # AdaGrad damps the zig-zag along y
    assert all(loss < 1.0 for loss in digits.values())  # from ~2.3 = ln(10)
    assert digits["Adam"] < digits["SGD"]


# ------------------------------------------------------------------------------ equivalence
def _plain_loop(model, x, y, epochs, batch_size, seed, lr):
    loader = DataLoader(ArrayDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed)
    loss_fn = nn.CrossEntropyLoss()
    opt = nn.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()


def test_fit_equals_the_plain_loop_bit_for_bit():
    x, y = _xor(120, seed=0)
    hand = _small_model(0, dropout=0.2)
    _plain_loop(hand, x, y, epochs=4, batch_size=16, seed=5, lr=0.05)

    fitted = _small_model(0, dropout=0.2)
    _trainer(fitted, metrics=["accuracy"]).fit(
        x, y, epochs=4, batch_size=16, seed=5, validation_data=(x, y), verbose=0
    )
    from_loader = _small_model(0, dropout=0.2)
    loader = DataLoader(ArrayDataset(x, y), batch_size=16, shuffle=True, seed=5)
    _trainer(from_loader).fit(loader, epochs=4, verbose=0)
    for other in (fitted, from_loader):
        for key, value in hand.state_dict().items():
            np.testing.assert_array_equal(other.state_dict()[key], value, err_msg=key)


# ------------------------------------------------------------------------------ History
def test_history_contents_and_plot(tmp_path):
    x, y = _xor(100)
    model = _small_model()

    def max_score(pred, target):
        return float(pred.max())

    history = _trainer(model, metrics=["accuracy", max_score]).fit(
        x, y, epochs=3, batch_size=25, validation_split=0.2, seed=0, verbose=0
    )
    assert history.keys() == [
        "loss", "accuracy", "max_score", "val_loss", "val_accuracy", "val_max_score", "lr",
    ]  # fmt: skip
    assert history.epoch == [0, 1, 2] and len(history) == 3
    assert all(len(history[k]) == 3 for k in history)
    assert history["lr"] == [0.05, 0.05, 0.05]
    assert history["loss"][-1] < history["loss"][0]
    assert all(0.0 <= a <= 1.0 for a in history["val_accuracy"])
    assert history.to_dict()["epoch"] == [0, 1, 2]
    with pytest.raises(KeyError, match="val_acc"):
        history["val_acc"]
    fig = history.plot(tmp_path / "curves" / "h.png")
    assert (tmp_path / "curves" / "h.png").stat().st_size > 1000
    assert len(fig.axes) == 3  # loss, accuracy, max_score; val_ drawn in the same panels


def test_validation_split_takes_the_last_samples_before_shuffling():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10) % 2
    seen = []
    model = nn.Linear(2, 2)
    model.register_forward_hook(lambda m, args, out: seen.append((m.training, len(args[0]))))
    nn.fit(
        model, x, y, loss="cross_entropy", optimizer="sgd", epochs=1, batch_size=4,
        validation_split=0.3, verbose=0,
    )  # fmt: skip
    assert [n for training, n in seen if training] == [4, 3]  # 7 training samples
    assert [n for training, n in seen if not training] == [3]  # validation in eval mode


def test_fit_switches_train_and_eval_and_restores_the_mode():
    x, y = _xor(40)
    model = _small_model(dropout=0.5)
    modes = []
    model.register_forward_hook(lambda m, args, out: modes.append(m.training))
    model.eval()
    _trainer(model).fit(x, y, epochs=2, batch_size=20, validation_data=(x, y), verbose=0)
    assert modes == [True, True, False] * 2
    assert model.training is False  # as before fit
    model.train()
    nn.predict(model, x)
    assert model.training is True


# ------------------------------------------------------------------------------ evaluate/predict
def test_evaluate_and_predict_shapes_and_no_graph():
    x, y = nn.data.make_spirals(25, n_classes=3, seed=0)
    nn.manual_seed(0)
    model = nn.models.MLP([2, 16, 3])
    out = nn.predict(model, x, batch_size=7)  # 75 samples: uneven last batch
    assert isinstance(out, np.ndarray) and out.shape == (75, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-6)
    loader = DataLoader(ArrayDataset(x, y), batch_size=10)
    np.testing.assert_array_equal(nn.predict(model, loader), out)
    result = nn.evaluate(model, x, y, loss=nn.CrossEntropyLoss(), metrics=["accuracy"])
    assert sorted(result) == ["accuracy", "loss"]
    expected = nn.CrossEntropyLoss()(model(x), y).item()
    assert result["loss"] == pytest.approx(expected, rel=1e-6)
    assert result["accuracy"] == metrics.accuracy(out, y)
    assert nn.evaluate(model, loader)["accuracy"] == result["accuracy"]
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_training_and_validation_loss_share_a_scale(reduction):
    # With lr 0 nothing changes, so the epoch's training loss over the data must equal the
    # validation loss on the same data (a summing loss used to log a size-weighted mean of
    # batch sums: 4.0 against 10.3).
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 3)).astype(np.float32), rng.normal(size=(10, 1))
    model = nn.Linear(3, 1)
    trainer = nn.Trainer(
        model, nn.MSELoss(reduction=reduction), nn.optim.SGD(model.parameters(), lr=0.0)
    )
    logs = trainer.fit(
        x, y, epochs=1, batch_size=4, shuffle=False, validation_data=(x, y), verbose=0
    )
    assert logs.history["loss"][0] == pytest.approx(logs.history["val_loss"][0], rel=1e-5)
    assert logs.history["loss"][0] == pytest.approx(trainer.evaluate(x, y)["loss"], rel=1e-5)


def test_multi_input_model():
    class Add(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2), nn.Linear(3, 2)

        def forward(self, u, v):
            return self.a(u) + self.b(v)

    rng = np.random.default_rng(0)
    u, v, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    model = Add()
    h = nn.fit(model, (u, v), y, loss="cross_entropy", optimizer="adam", epochs=2, verbose=0)
    assert len(h) == 2
    assert nn.predict(model, (u, v)).shape == (30, 2)


# ------------------------------------------------------------------------------ metrics
def test_metrics_for_labels_one_hot_binary_and_callables():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([1, 0, 0, 0])
    assert metrics.accuracy(scores, labels) == 0.75
    assert metrics.accuracy(scores, np.eye(2)[labels]) == 0.75
    assert metrics.accuracy(np.array([[0.9], [0.1]]), np.array([1, 1])) == 0.5
    assert metrics.logit_accuracy(np.array([-2.0, 3.0]), np.array([0, 1])) == 1.0
    assert metrics.get_metric("acc") is metrics.accuracy
    with pytest.raises(ValueError, match="unknown metric 'precision'"):
        metrics.get_metric("precision")
    with pytest.raises(ValueError, match="pred has 4 rows"):
        metrics.accuracy(scores, labels[:3])
    with pytest.raises(ValueError, match="for class labels use accuracy"):
        metrics.mean_squared_error(scores, labels)
    assert metrics.mean_squared_error(np.array([[1.0], [3.0]]), np.array([0.0, 1.0])) == 2.5

    def top_score(pred, target):
        return float(pred.max())

    x, y = _xor(40)
    model = _small_model()
    h = _trainer(model, metrics={"top": top_score, "acc": "accuracy"}).fit(
        x, y, epochs=1, batch_size=10, validation_data=(x, y), verbose=0
    )
    assert {"top", "acc", "val_top", "val_acc"} <= set(h.keys())
    assert h["val_top"][0] == pytest.approx(float(nn.predict(model, x).max()))


# ------------------------------------------------------------------------------ callbacks
def test_early_stopping_stops_and_restores_the_best_weights():
    x, y = _xor(60)
    model = _small_model()
    snapshots = []
    keep = nn.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.state_dict()))
    stop = nn.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    losses = [1.0, 0.5, 0.7, 0.4, 0.45, 0.41, 0.3, 0.2]  # best at epoch 3, then 2 bad epochs
    trainer = _trainer(model)
    history = trainer.fit(
        x, y, epochs=8, batch_size=20, validation_data=(x, y), verbose=0,
        callbacks=[_script("val_loss", losses), keep, stop],
    )  # fmt: skip
    assert (stop.best_epoch, stop.stopped_epoch, stop.best) == (3, 5, 0.4)
    assert len(history) == 6 and trainer.epoch == 6
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[3][key])
    assert not np.array_equal(snapshots[5]["fc1.weight"], snapshots[3]["fc1.weight"])


def test_early_stopping_on_accuracy_and_errors():
    stop = nn.EarlyStopping(monitor="val_accuracy", patience=0, min_delta=0.01)
    assert stop.mode == "max"
    x, y = _xor(40)
    trainer = _trainer(_small_model(), metrics=["accuracy"])
    trainer.fit(
        x, y, epochs=5, batch_size=20, validation_data=(x, y), verbose=0,
        callbacks=[_script("val_accuracy", [0.5, 0.6, 0.605, 0.9, 0.9]), stop],
    )  # fmt: skip
    assert stop.stopped_epoch == 2 and trainer.epoch == 3  # +0.005 is within min_delta
    with pytest.raises(ValueError, match="monitors 'val_loss'.*validation_data"):
        _trainer(_small_model()).fit(x, y, epochs=2, callbacks=[nn.EarlyStopping()], verbose=0)


def test_model_checkpoint_save_best_only_writes_only_on_improvement(tmp_path):
    x, y = _xor(60)
    model = _small_model()
    snapshots = []
    keep = nn.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.state_dict()))
    best = nn.ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss", save_best_only=True)
    every = nn.ModelCheckpoint(str(tmp_path / "all" / "ep{epoch:02d}-{val_loss:.1f}.npz"))
    trainer = _trainer(model)
    trainer.fit(
        x, y, epochs=5, batch_size=20, validation_data=(x, y), verbose=0,
        callbacks=[_script("val_loss", [3.0, 2.0, 2.5, 1.0, 1.5]), keep, best, every],
    )  # fmt: skip
    assert [e for e, _ in best.saved] == [0, 1, 3]
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        "ep01-3.0.npz", "ep02-2.0.npz", "ep03-2.5.npz", "ep04-1.0.npz", "ep05-1.5.npz",
    ]  # fmt: skip
    ckpt = nn.load_checkpoint(tmp_path / "best.npz", _small_model(1))
    assert ckpt.epoch == 4 and ckpt.optimizer_state is not None
    for key, value in ckpt.model_state.items():
        np.testing.assert_array_equal(value, snapshots[3][key])
    weights_only = nn.ModelCheckpoint(tmp_path / "w.npz", monitor="loss", save_weights_only=True)
    trainer.fit(x, y, epochs=6, batch_size=20, callbacks=[weights_only], verbose=0)
    assert nn.checkpoint.read_checkpoint(tmp_path / "w.npz").optimizer_state is None


def test_model_checkpoint_best_lasts_across_fit_calls(tmp_path):
    # A second fit() continues the same run: its worse epoch must not replace the best file.
    x, y = _xor(40)
    trainer = _trainer(_small_model())
    best = nn.ModelCheckpoint(tmp_path / "best.npz", save_best_only=True)
    trainer.fit(x, y, epochs=2, verbose=0, callbacks=[_script("val_loss", [1.0, 0.4]), best])
    trainer.fit(x, y, epochs=3, verbose=0, callbacks=[_script("val_loss", [0, 0, 0.9]), best])
    assert [e for e, _ in best.saved] == [0, 1]
    assert nn.checkpoint.read_checkpoint(tmp_path / "best.npz").epoch == 2
    # a new callback starts afresh (as in Keras): its first epoch (epoch 3 of 3..5) is saved
    fresh = nn.ModelCheckpoint(tmp_path / "fresh.npz", save_best_only=True)
    values = [9.0] * 3 + [2.0, 3.0, 1.0]
    trainer.fit(x, y, epochs=6, verbose=0, callbacks=[_script("val_loss", values), fresh])
    assert [e for e, _ in fresh.saved] == [3, 5]


def test_model_checkpoint_path_template_errors_name_the_keys(tmp_path):
    x, y = _xor(40)
    ckpt = nn.ModelCheckpoint(tmp_path / "m-{val_loss:.2f}.npz")
    with pytest.raises(ValueError, match=r"cannot fill in the path .*'loss'"):
        _trainer(_small_model()).fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])


def test_history_best_skips_epochs_without_the_value():
    x, y = _xor(40)
    trainer = _trainer(_small_model())
    trainer.fit(x, y, epochs=1, verbose=0)
    trainer.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    values = trainer.history["val_loss"]
    assert np.isnan(values[0])
    epoch, best = trainer.history.best("val_loss")
    assert best == min(values[1:]) and epoch == 1 + int(np.argmin(values[1:]))


def test_a_second_fit_with_the_same_seed_continues_the_shuffle_stream():
    x, y = _xor(64)

    def run(split):
        trainer = _trainer(_small_model())
        if split:
            trainer.fit(x, y, epochs=2, batch_size=8, seed=0, verbose=0)
        trainer.fit(x, y, epochs=4, batch_size=8, seed=0, verbose=0)
        return trainer.model.state_dict()

    whole, split = run(False), run(True)
    for key in whole:
        np.testing.assert_array_equal(whole[key], split[key])


def test_a_float64_model_gets_float64_data():
    # fit/evaluate/predict used to round float64 data to float32 first
    model = nn.Linear(1, 1, dtype=np.float64)
    model.load_state_dict({"weight": np.ones((1, 1)), "bias": np.zeros(1)})
    x, y = np.array([[1 + 1e-12]]), np.array([[1.0]])
    assert nn.predict(model, x).dtype == np.float64
    assert nn.predict(model, x).item() - 1 == pytest.approx(1e-12, rel=1e-3, abs=0)
    got = nn.evaluate(model, x, y, loss="mse", metrics=None)["loss"]
    assert got == pytest.approx(1e-24, rel=1e-3, abs=0)
    assert nn.predict(nn.Linear(1, 1), x).dtype == np.float32  # float32 model: float32


def test_samples_that_are_not_arrays_of_numbers_are_a_clear_error():
    with pytest.raises(ValueError, match=r"fit: x must be an array of numbers.*inhomogeneous"):
        _trainer(_small_model()).fit([[1.0, 2.0], [1.0]], [0, 1], epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"fit: x must be an array of numbers.*not numbers"):
        _trainer(_small_model()).fit([{"a": 1.0}, {"a": 2.0}], [0, 1], epochs=1, verbose=0)
    x, y = _xor(40)
    _trainer(_small_model()).fit(x.astype(object), y, epochs=1, verbose=0)  # numbers as objects


def test_csv_logger_rows(tmp_path):
    x, y = _xor(40)
    path = tmp_path / "log.csv"
    trainer = _trainer(_small_model(), metrics=["accuracy"])
    history = trainer.fit(
        x, y, epochs=3, batch_size=20, validation_data=(x, y),
        callbacks=[nn.CSVLogger(path)], verbose=0,
    )  # fmt: skip
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert [float(r[1]) for r in rows[1:]] == history["loss"]
    trainer.fit(x, y, epochs=5, batch_size=20, validation_data=(x, y), verbose=0,
                callbacks=[nn.CSVLogger(path, append=True)])  # fmt: skip
    rows = list(csv.reader(path.open()))
    assert len(rows) == 6 and [r[0] for r in rows[1:]] == ["0", "1", "2", "3", "4"]


def test_callbacks_release_files_and_bars_when_training_raises(tmp_path):
    x, y = _xor(40)
    logger = nn.CSVLogger(tmp_path / "log.csv")
    closed = []

    class Tracks(nn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt  # Ctrl-C in the middle of fit

        def on_train_end(self, logs=None):
            closed.append("on_train_end")

        def on_train_exit(self):
            closed.append("on_train_exit")

    with pytest.raises(KeyboardInterrupt):
        _trainer(_small_model()).fit(
            x, y, epochs=3, batch_size=20, callbacks=[logger, Tracks()], verbose=0
        )
    assert logger._file is None  # closed: the rows written so far are on disk
    assert len(list(csv.reader((tmp_path / "log.csv").open()))) == 3  # header + 2 epochs
    assert closed == ["on_train_exit"]  # on_train_end is for a finished run only

    class FailsToExit(nn.Callback):
        close = ["a user attribute that happens to be called close"]

        def on_train_exit(self):
            raise OSError("disk full")

    late = Tracks()
    late.on_epoch_end = lambda epoch, logs=None: None
    closed.clear()
    with (
        pytest.raises(KeyboardInterrupt),  # the training error wins over the exit error,
        pytest.warns(RuntimeWarning, match=r"FailsToExit.on_train_exit raised OSError"),
    ):
        _trainer(_small_model()).fit(
            x, y, epochs=3, batch_size=20, callbacks=[FailsToExit(), Tracks()], verbose=0
        )
    assert closed == ["on_train_exit"]  # the other callbacks still exit
    with pytest.raises(OSError, match="disk full"):  # after a finished run it is reported
        _trainer(_small_model()).fit(
            x, y, epochs=1, batch_size=20, callbacks=[FailsToExit(), late], verbose=0
        )
    assert closed == ["on_train_exit", "on_train_end", "on_train_exit"]


def test_learning_rate_scheduler_changes_the_lr():
    x, y = _xor(40)
    fn = nn.LearningRateScheduler(lambda epoch: 0.1 * 0.5**epoch)
    h = _trainer(_small_model()).fit(x, y, epochs=3, batch_size=20, callbacks=[fn], verbose=0)
    assert h["lr"] == [0.1, 0.05, 0.025]

    two_args = nn.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    h = _trainer(_small_model(), lr=0.4).fit(x, y, epochs=2, callbacks=[two_args], verbose=0)
    assert h["lr"] == [0.2, 0.1]

    model = _small_model()
    opt = nn.optim.SGD(model.parameters(), lr=1.0)
    sched = nn.optim.ExponentialSchedule(opt, s=1)  # lr / 10 per step
    trainer = nn.Trainer(model, "cross_entropy", opt, scheduler=sched)
    h = trainer.fit(x, y, epochs=3, batch_size=20, verbose=0)
    assert h["lr"] == pytest.approx([1.0, 0.1, 0.01])

    model = _small_model()
    opt = nn.optim.SGD(model.parameters(), lr=1.0)
    per_batch = nn.LearningRateScheduler(nn.optim.ExponentialSchedule(opt, s=2), per="batch")
    h = nn.Trainer(model, "cross_entropy", opt).fit(
        x, y, epochs=2, batch_size=10, callbacks=[per_batch], verbose=0
    )  # 4 batches per epoch: 0.1 ** (4 / 2) per epoch
    assert h["lr"] == pytest.approx([1.0, 0.01])

    model = _small_model()
    opt = nn.optim.SGD(model.parameters(), lr=1.0)
    plateau = nn.LearningRateScheduler(nn.optim.ReduceOnPlateau(opt, factor=0.5, patience=1))
    h = nn.Trainer(model, "cross_entropy", opt).fit(
        x, y, epochs=5, batch_size=20, validation_data=(x, y), verbose=0,
        callbacks=[_script("val_loss", [1.0, 1.0, 1.0, 0.5, 0.6]), plateau],
    )  # fmt: skip
    assert h["lr"] == [1.0, 1.0, 1.0, 0.5, 0.5]
    assert opt.lr == 0.5


def test_progress_bar_verbosity(capsys, monkeypatch):
    x, y = _xor(40)
    _trainer(_small_model()).fit(x, y, epochs=2, batch_size=20, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    _trainer(_small_model()).fit(x, y, epochs=2, batch_size=20, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2 - loss: ")
    _trainer(_small_model()).fit(x, y, epochs=1, batch_size=20, verbose=1)
    assert "epoch 1/1" in capsys.readouterr().err  # the tqdm bar
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm missing: one line per epoch
    _trainer(_small_model()).fit(x, y, epochs=1, batch_size=20, verbose=1)
    assert capsys.readouterr().out.startswith("epoch 1/1 - loss: ")


def test_nan_loss_stops_with_a_warning():
    x, y = _xor(40)
    x[5, 0] = np.nan
    with pytest.warns(RuntimeWarning, match="loss became nan at epoch 0"):
        h = _trainer(_small_model()).fit(x, y, epochs=3, batch_size=40, shuffle=False, verbose=0)
    assert len(h) == 1


# ------------------------------------------------------------------------------ errors
def test_clear_errors_for_bad_arguments():
    x, y = _xor(40)
    trainer = _trainer(_small_model())
    with pytest.raises(ValueError, match="x has 40 samples but y has 39"):
        trainer.fit(x, y[:39], verbose=0)
    with pytest.raises(ValueError, match="y is missing"):
        trainer.fit(x, verbose=0)
    loader = DataLoader(ArrayDataset(x, y), batch_size=10)
    with pytest.raises(ValueError, match="y must be None when x is a DataLoader"):
        trainer.fit(loader, y, verbose=0)
    with pytest.raises(ValueError, match="validation_split needs arrays"):
        trainer.fit(loader, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="not both"):
        trainer.fit(x, y, validation_data=(x, y), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be \(x_val, y_val\)"):
        trainer.fit(x, y, validation_data=(x, y, y), verbose=0)
    with pytest.raises(ValueError, match="x has 40 samples but y has 3"):
        trainer.fit(x, y, validation_data=(x, y[:3]), verbose=0)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        nn.Trainer(_small_model(), "hinge", "adam")
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        nn.Trainer(_small_model(), "mse", "lbfgs")
    with pytest.raises(ValueError, match="clash on \\['loss'\\]"):
        nn.Trainer(_small_model(), "mse", "adam", metrics={"loss": "mae"})
    trainer.fit(x, y, epochs=2, verbose=0)
    with pytest.raises(ValueError, match="already done; pass epochs=4 to train 2 more"):
        trainer.fit(x, y, epochs=2, verbose=0)
    with pytest.raises(ValueError, match="nothing to compute"):
        nn.evaluate(_small_model(), x, y, metrics=None)
    with pytest.raises(TypeError, match="nn.Callback"):
        trainer.fit(x, y, epochs=3, callbacks=[print], verbose=0)


# ------------------------------------------------------------------------------ resume
def test_trainer_resume_from_model_checkpoint_is_bit_for_bit(tmp_path):
    x, y = nn.data.make_spirals(40, n_classes=3, seed=0)

    def make():
        nn.manual_seed(7)
        model = nn.models.MLP([2, 16, 16, 3], dropout=0.2)
        opt = nn.optim.Momentum(model.parameters(), lr=0.1)
        sched = nn.optim.ExponentialSchedule(opt, s=10)
        return nn.Trainer(model, "cross_entropy", opt, metrics=["accuracy"], scheduler=sched)

    full = make()
    full.fit(x, y, epochs=6, batch_size=16, validation_split=0.25, verbose=0)

    first = make()
    ckpt = nn.ModelCheckpoint(tmp_path / "run.npz", monitor="loss")
    first.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, callbacks=[ckpt], verbose=0)
    nn.manual_seed(12345)  # a new process would start from other random states
    np.random.seed(12345)
    resumed = make()
    nn.manual_seed(999)
    resumed.load(tmp_path / "run.npz")
    assert resumed.epoch == 3
    resumed.fit(x, y, epochs=6, batch_size=16, validation_split=0.25, verbose=0)
    for key, value in full.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[key], value, err_msg=key)
    assert resumed.history.to_dict() == full.history.to_dict()
    assert resumed.optimizer.lr == full.optimizer.lr


def test_trainer_load_finds_a_schedule_given_as_a_callback(tmp_path):
    x, y = _xor(40)

    def make():
        model = _small_model()
        opt = nn.optim.SGD(model.parameters(), lr=1.0)
        callback = nn.LearningRateScheduler(nn.optim.ExponentialSchedule(opt, s=1))
        return nn.Trainer(model, "cross_entropy", opt, callbacks=[callback])

    trainer = make()
    trainer.fit(x, y, epochs=2, batch_size=20, verbose=0)
    trainer.save(tmp_path / "t.npz")
    resumed = make()
    resumed.load(tmp_path / "t.npz")
    assert resumed.optimizer.lr == pytest.approx(0.01) and resumed.scheduler.last_step == 2
    bare = nn.Trainer(_small_model(), "cross_entropy", "sgd")
    with pytest.warns(RuntimeWarning, match="no schedule"):
        bare.load(tmp_path / "t.npz")


@pytest.mark.parametrize(
    "name, cls",
    [
        ("sparse_categorical_crossentropy", nn.CrossEntropyLoss),
        ("categorical_crossentropy", nn.CrossEntropyLoss),
        ("mean_squared_error", nn.MSELoss),
        ("Mean_Absolute_Error", nn.L1Loss),
        ("binary_crossentropy", nn.BCELoss),
    ],
)
def test_keras_loss_names_are_aliases(name, cls):
    assert type(nn.Trainer(_small_model(), name, "sgd").loss_fn) is cls


def test_keras_categorical_crossentropy_takes_one_hot_targets_on_logits():
    x, y = _xor(40)
    model = _small_model()
    sparse = nn.evaluate(model, x, y, loss="sparse_categorical_crossentropy")
    one_hot = nn.evaluate(model, x, np.eye(2)[y], loss="categorical_crossentropy")
    assert one_hot["loss"] == pytest.approx(sparse["loss"])


def _fit_warnings(model, loss, column=False):
    x, y = _xor(40)
    if column:  # (N, 1) float targets for a binary loss
        y = y[:, None].astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.fit(model, x, y, loss=loss, optimizer="sgd", epochs=3, batch_size=10, verbose=0)
    return [w for w in caught if issubclass(w.category, UserWarning)]


def test_fit_warns_once_when_a_softmax_head_meets_a_loss_on_logits():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2), nn.Softmax())
    (caught,) = _fit_warnings(model, "sparse_categorical_crossentropy")
    message = str(caught.message)
    assert "CrossEntropyLoss expects logits" in message
    assert "Softmax '3'" in message and "remove the final Softmax" in message
    assert caught.filename == __file__  # at the user's call, not inside nn
    mlp = nn.models.MLP([2, 8, 1], output_activation="sigmoid")
    (caught,) = _fit_warnings(mlp, nn.BCEWithLogitsLoss(), column=True)
    assert "applies sigmoid itself" in str(caught.message)
    assert "Sigmoid 'out_act'" in str(caught.message)
    assert _fit_warnings(mlp, "binary_crossentropy", column=True) == []  # on probabilities


def test_fit_does_not_warn_about_heads_that_fit_the_loss():
    nn.manual_seed(0)
    assert _fit_warnings(_small_model(), "cross_entropy") == []
    # log_softmax is idempotent, so cross entropy after a LogSoftmax is still right
    log_head = nn.Sequential(nn.Linear(2, 2), nn.LogSoftmax())
    assert _fit_warnings(log_head, "cross_entropy") == []
    assert _fit_warnings(log_head, "nll") == []
