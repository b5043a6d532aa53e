"""Regressions found reviewing 32e83e2 (checkpoints, data) and the nn parts of 71f3893;
each test failed before its fix and states the behaviour it expects."""

from __future__ import annotations

import os

import numpy as np
import pytest

import autodiff as ad
import nn
from nn.checkpoint import CheckpointError
from nn.data import DataLoader, Dataset


# ------------------------------------------------------------ strict=False and the optimizer
class _Net(nn.Module):
    def __init__(self, head: str) -> None:
        super().__init__()
        self.body = nn.Linear(4, 3)
        self.head_name = head
        setattr(self, head, nn.Linear(3, 2))

    def forward(self, x):
        return getattr(self, self.head_name)(self.body(x).relu())


def test_strict_false_refuses_optimizer_state_for_a_partially_loaded_model(tmp_path):
    # Fine-tuning: same body, a new head with the same shapes under another name. The model
    # load skips the head, but the optimizer state (stored by parameter position) attaches
    # the old head's Adam moments and step count to the fresh head, silently.
    nn.manual_seed(0)
    old = _Net("head")
    opt = nn.optim.Adam(old.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    for _ in range(3):
        opt.zero_grad()
        (old(x) ** 2).mean().backward()
        opt.step()
    path = nn.save_checkpoint(tmp_path / "c.npz", old, opt, epoch=3)
    new = _Net("classifier")
    opt2 = nn.optim.Adam(new.parameters(), lr=0.1)
    with pytest.raises(CheckpointError, match="optimizer"):
        nn.load_checkpoint(path, new, opt2, strict=False)
    assert not opt2.state  # nothing attached
    # the weights alone are fine
    result = nn.load_weights(path, new, strict=False).load_result
    assert result.missing_keys == ["classifier.weight", "classifier.bias"]


# ------------------------------------------------------------ lossy conversions
@pytest.mark.parametrize(
    "value, dtype",
    [
        (np.array([2.0**63, 0.0]), np.int64),  # float(iinfo.max) rounds up: became INT64_MIN
        (np.array([2.0**31, 0.0], np.float32), np.int32),  # same at 32 bits
        (np.array([1.5 + 0j, 0j]), np.int64),  # zero imaginary part: the fraction was not checked
        (np.array([1e39, 0.0]), np.float32),  # a finite value became inf
        (np.array([70000, 0]), np.float16),  # an int that float16 cannot hold became inf
        (np.array([0.5, 0.0]), np.bool_),  # became True
        (np.array([2, 0]), np.bool_),  # became True
    ],
)
def test_load_state_dict_refuses_these_lossy_conversions_too(value, dtype):
    model = nn.Module()
    model.register_buffer("b", np.zeros(2, dtype=dtype))
    with pytest.raises(ValueError, match="without losing values"):
        model.load_state_dict({"b": value})
    assert not model.b.data.any()


def test_a_python_int_too_big_for_the_buffer_is_a_value_error_naming_the_key():
    # np.asarray gives an object array, _lossy lets it through and astype raises a bare
    # OverflowError ("Python int too large to convert to C long") that names no key.
    model = nn.Module()
    model.register_buffer("count", np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="'count'"):
        model.load_state_dict({"count": [2**70, 1]})


# ------------------------------------------------------------ ModelCheckpoint folders
def test_model_checkpoint_creates_the_folder_the_path_resolves_to(tmp_path, monkeypatch):
    # ModelCheckpoint made os.path.dirname(path) itself; save_checkpoint makes
    # dirname(abspath(path)), which drops "link/.." lexically: the temporary file goes to
    # ./ckpt, the real folder (real/ckpt) is never created, and os.replace fails.
    (tmp_path / "real" / "sub").mkdir(parents=True)
    os.symlink(tmp_path / "real" / "sub", tmp_path / "link")
    monkeypatch.chdir(tmp_path)
    model = nn.Linear(1, 1)
    x = np.ones((4, 1), np.float32)
    saver = nn.ModelCheckpoint(os.path.join("link", "..", "ckpt", "m.npz"))
    nn.fit(model, x, x, loss="mse", optimizer="sgd", callbacks=[saver], verbose=0)
    assert (tmp_path / "real" / "ckpt" / "m.npz").is_file()
    assert not (tmp_path / "ckpt").exists()  # no stray folder where the file is not


def test_a_disk_error_without_errno_does_not_print_errno_none(tmp_path, monkeypatch):
    def fails(file, **arrays):
        raise OSError("quota exceeded")

    monkeypatch.setattr(np, "savez", fails)
    with pytest.raises(OSError) as info:
        nn.save_checkpoint(tmp_path / "c.npz", nn.Linear(1, 1))
    assert "Errno None" not in str(info.value)
    assert "quota exceeded" in str(info.value)


# ------------------------------------------------------------ dict batches
class _Dicts(Dataset):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int) -> dict:
        return {"x": np.full(2, i, np.float32), "y": np.float32(i)}


def test_predict_on_dict_batches_says_so():
    # DataLoader now yields dicts; predict passed the dict to the model, which failed with
    # "float() argument must be a string or a real number, not 'dict'".
    model = nn.Linear(2, 1)
    trainer = nn.Trainer(model, "mse", nn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises((ValueError, TypeError), match="predict.*dict"):
        trainer.predict(DataLoader(_Dicts(), batch_size=3))


# ------------------------------------------------------------ in-place changes (71f3893)
def test_reinitialising_a_parameter_between_forward_and_backward_is_refused():
    # nn.init writes into .data in place without mark_changed: backward used the new zeros.
    layer = nn.Linear(3, 2)
    x = ad.tensor(np.ones((1, 3), np.float32), requires_grad=True)
    loss = layer(x).sum()
    nn.init.zeros_(layer.weight)
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
