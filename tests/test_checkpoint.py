"""Checkpoints: exact round trips, no pickle, atomic writes (kill -9 mid-save), clear errors
for truncated/tampered/foreign/wrong-architecture files, and bit-for-bit resumption."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def _model(seed: int = 0, hidden: int = 8) -> nn.Module:
    nn.manual_seed(seed)
    return nn.models.MLP([4, hidden, 3], dropout=0.25, batchnorm=True)


def _train_steps(model, opt, sched, steps: int) -> None:
    """A plain loop whose randomness comes from nn's generator (dropout) and numpy's
    global one (mini-batch choice, as in the lecture notes)."""
    x = np.linspace(-1, 1, 200, dtype=np.float32).reshape(50, 4)
    y = (np.arange(50) % 3).astype(np.int64)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(steps):
        idx = np.random.choice(50, 10)
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
        sched.step()


def _setup(seed: int = 0):
    model = _model(seed)
    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    sched = nn.optim.ExponentialSchedule(opt, s=20)
    return model, opt, sched


def _assert_same_state(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


# ------------------------------------------------------------------------------ round trips
def test_save_load_round_trip_is_exact(tmp_path):
    np.random.seed(0)
    model, opt, sched = _setup(0)
    _train_steps(model, opt, sched, 5)
    path = save_checkpoint(
        tmp_path / "c.npz", model, opt, sched, epoch=7,
        extra={"name": "run-1", "best": 0.25, "steps": np.arange(3)},
    )  # fmt: skip
    assert path == str(tmp_path / "c.npz")
    other, opt2, sched2 = _setup(1)
    info = load_checkpoint(path, other, opt2, sched2)
    _assert_same_state(other.state_dict(), model.state_dict())  # incl. batch-norm buffers
    _assert_same_state(opt2.state_dict(), opt.state_dict())
    _assert_same_state(sched2.state_dict(), sched.state_dict())
    assert opt2.lr == opt.lr
    assert info.epoch == 7 and info.extra["name"] == "run-1" and info.extra["best"] == 0.25
    np.testing.assert_array_equal(info.extra["steps"], np.arange(3))
    assert all(v.dtype == np.float32 for v in info.model_state.values() if v.dtype.kind == "f")
    weights = nn.save_weights(tmp_path / "w.npz", model)
    third = _model(2)
    assert nn.load_weights(weights, third).optimizer_state is None
    _assert_same_state(third.state_dict(), model.state_dict())


def test_files_are_plain_npz_without_pickle(tmp_path):
    model, opt, sched = _setup()
    path = save_checkpoint(tmp_path / "c.npz", model, opt, sched, epoch=1)
    with np.load(path, allow_pickle=False) as z:  # readable by numpy alone
        assert all(z[k].dtype != object for k in z.files)
        assert str(z["__format__"]) == "seegrad-checkpoint" and int(z["__version__"]) == 1
        assert json.loads(str(z["__architecture__"]))[0] == ["fc1.weight", [4, 8], "<f4"]
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    assert read_checkpoint(path).architecture[5] == ("bn1.running_var", (8,), "<f4")
    with pytest.raises(CheckpointError, match="only numbers.*no pickle"):
        save_checkpoint(tmp_path / "bad.npz", model, extra={"obj": {"a": 1}})
    save_checkpoint(tmp_path / "new" / "dir" / "c.npz", model)  # directories are created
    assert read_checkpoint(tmp_path / "new" / "dir" / "c.npz").epoch is None
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(OSError, match="cannot create its directory"):
        save_checkpoint(tmp_path / "file" / "c.npz", model)


class _Payload:
    def __reduce__(self):
        return (os.mkdir, (str(MARKER),))


MARKER = Path("/nonexistent")


def test_loading_never_executes_code(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "MARKER", tmp_path / "pwned")
    model = _model()
    good = save_checkpoint(tmp_path / "good.npz", model)
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["model/fc1.weight"] = np.array([_Payload()], dtype=object)  # pickled when saved
    evil = tmp_path / "evil.npz"
    np.savez(evil, **arrays)
    with pytest.raises(CheckpointError, match="needs pickle.*refusing"):
        load_checkpoint(evil, model)
    assert not (tmp_path / "pwned").exists()
    np.save(tmp_path / "evil.npy", np.array([_Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointError, match=str(tmp_path / "evil.npy")):
        load_checkpoint(tmp_path / "evil.npy", model)
    assert not (tmp_path / "pwned").exists()


# ------------------------------------------------------------------------------ bad files
def test_truncated_files_are_rejected_with_a_clear_error(tmp_path):
    model, opt, sched = _setup()
    path = Path(save_checkpoint(tmp_path / "c.npz", model, opt, sched))
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1):
        broken = tmp_path / f"cut{cut}.npz"
        broken.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match=f"'{broken}'.*(truncated|not an .npz)"):
            load_checkpoint(broken, model)


def test_tampered_files_are_rejected(tmp_path):
    model = _model()
    path = Path(save_checkpoint(tmp_path / "c.npz", model))
    before = model.state_dict()
    # 1. flipped bytes inside the archive: the zip CRC or our checksum catches them
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model/fc1.weight.npy")
    start = info.header_offset + 30 + len(info.filename) + 200  # inside the array bytes
    data[start] ^= 0xFF
    flipped = tmp_path / "flipped.npz"
    flipped.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=f"'{flipped}'.*(corrupted|integrity)"):
        load_checkpoint(flipped, model)
    # 2. a well-formed archive whose weights were edited: only the checksum can tell
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["model/fc2.bias"] = arrays["model/fc2.bias"] + np.float32(1.0)
    edited = tmp_path / "edited.npz"
    np.savez(edited, **arrays)
    with pytest.raises(CheckpointError, match=f"'{edited}' failed its integrity check"):
        load_checkpoint(edited, model)
    _assert_same_state(model.state_dict(), before)  # nothing was loaded


@pytest.mark.parametrize("compress", [False, True])
def test_any_flipped_byte_gives_a_checkpoint_error_or_the_saved_state(tmp_path, compress):
    # Bytes spread over the file plus every byte of its first entry's header and of the
    # archive's directory at the end, flipped in turn: a compressed entry hit in its deflate
    # stream used to escape as a raw zlib.error, a flipped method field as NotImplementedError.
    model = _model()
    saved = model.state_dict()
    data = Path(save_checkpoint(tmp_path / "c.npz", model, compress=compress)).read_bytes()
    broken = tmp_path / "broken.npz"
    positions = sorted(
        {*range(0, len(data), len(data) // 300), *range(64), *range(len(data) - 300, len(data))}
    )
    errors = 0
    for pos in positions:
        flipped = bytearray(data)
        flipped[pos] ^= 0xFF
        broken.write_bytes(bytes(flipped))
        target = _model(seed=1)
        before = target.state_dict()
        try:
            load_checkpoint(broken, target)
        except CheckpointError:
            errors += 1
            _assert_same_state(target.state_dict(), before)  # a failed load changes nothing
        else:  # the byte was one the reader never looks at (zip metadata such as a timestamp)
            _assert_same_state(target.state_dict(), saved)
    assert errors > len(positions) // 2


@pytest.mark.parametrize(
    "damage", ["{'descr", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,"]
)
def test_an_unparsable_array_header_is_a_checkpoint_error(tmp_path, damage):
    # numpy parses each array's header as a Python literal; a damaged one raised
    # tokenize.TokenError or SyntaxError past the reader
    path = Path(save_checkpoint(tmp_path / "c.npz", _model()))
    broken = tmp_path / "broken.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "model/fc1.weight.npy":
                start = data.index(b"{")
                end = data.index(b"}") + 1
                data = data[:start] + damage.encode().ljust(end - start) + data[end:]
            dst.writestr(info, data)
    with pytest.raises(CheckpointError, match="broken.npz"):
        load_checkpoint(broken, _model())


def test_saving_onto_a_directory_is_a_checkpoint_error(tmp_path):
    (tmp_path / "here").mkdir()
    with pytest.raises(CheckpointError, match="it is a directory"):
        save_checkpoint(tmp_path / "here", _model())
    assert list((tmp_path / "here").iterdir()) == []


def test_foreign_files_are_rejected(tmp_path):
    model = _model()
    np.savez(tmp_path / "plain.npz", **model.state_dict())
    with pytest.raises(CheckpointError, match="not a seegrad checkpoint.*__format__"):
        load_checkpoint(tmp_path / "plain.npz", model)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(CheckpointError, match="text.npz"):
        load_checkpoint(tmp_path / "text.npz", model)
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as zf:
        zf.writestr("notes.txt", "not an array")
    with pytest.raises(CheckpointError, match=r"entries \['notes.txt'\] are not arrays"):
        load_checkpoint(tmp_path / "other.npz", model)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.npz", model)


def test_wrong_architecture_error_names_keys_and_shapes(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", _model(hidden=8))
    wider = _model(hidden=16)
    before = wider.state_dict()
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, wider)
    message = str(err.value)
    assert f"'{path}' was saved from a different architecture" in message
    assert "'fc1.weight': the checkpoint has (4, 8), the model has (4, 16)" in message
    assert "'bn1.running_mean': the checkpoint has (8,), the model has (16,)" in message
    _assert_same_state(wider.state_dict(), before)
    deeper = nn.models.MLP([4, 8, 8, 3], batchnorm=True)
    with pytest.raises(
        CheckpointError, match=r"keys missing from the checkpoint: \['bn2.weight'.*'fc3.bias'\]"
    ):
        load_checkpoint(path, deeper)
    with pytest.raises(CheckpointError, match=r"keys not in the model: \['bn1.weight'"):
        load_checkpoint(path, nn.models.MLP([4, 8, 3]))


def test_optimizer_mismatch_leaves_everything_untouched(tmp_path):
    model, opt, sched = _setup(0)
    _train_steps(model, opt, sched, 2)
    path = save_checkpoint(tmp_path / "c.npz", model, opt)
    other = _model(3)
    before = other.state_dict()
    with pytest.raises(CheckpointError, match="optimizer 'Adam', cannot load into 'SGD'"):
        load_checkpoint(path, other, nn.optim.SGD(other.parameters()))
    _assert_same_state(other.state_dict(), before)  # the model load was rolled back
    with pytest.raises(CheckpointError, match="has no learning-rate schedule state"):
        load_checkpoint(path, other, None, nn.optim.ExponentialSchedule(opt, s=2))


# ------------------------------------------------------------------------------ resumption
def test_resume_is_bit_for_bit(tmp_path):
    np.random.seed(42)
    model, opt, sched = _setup(0)
    _train_steps(model, opt, sched, 10)
    uninterrupted = model.state_dict()

    np.random.seed(42)
    model, opt, sched = _setup(0)
    _train_steps(model, opt, sched, 4)
    save_checkpoint(tmp_path / "mid.npz", model, opt, sched, epoch=4)
    del model, opt, sched
    # a fresh start: other weights, other random states
    nn.manual_seed(1234)
    np.random.seed(1234)
    model, opt, sched = _setup(5)
    info = load_checkpoint(tmp_path / "mid.npz", model, opt, sched)
    assert info.epoch == 4
    _train_steps(model, opt, sched, 6)
    _assert_same_state(model.state_dict(), uninterrupted)


# ------------------------------------------------------------------------------ kill -9
_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import nn

    path, start = sys.argv[1], int(sys.argv[2])
    model = nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1000, 1000))  # 8 MB of float32
    version = start
    while True:
        version += 1
        for p in model.parameters():
            p.data[...] = version
        nn.save_checkpoint(path, model, epoch=version)
        print(version, flush=True)
    """
)


def _check_version(path: Path) -> int:
    model = nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1000, 1000))
    info = load_checkpoint(path, model, restore_rng=False)
    for p in model.parameters():
        assert (p.data == info.epoch).all()  # one whole version, never a mix
    return info.epoch


def test_killing_the_process_mid_save_leaves_a_loadable_checkpoint(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    path = tmp_path / "big.npz"
    model = nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1000, 1000))
    for p in model.parameters():
        p.data[...] = 0
    save_checkpoint(path, model, epoch=0)
    rng = random.Random(0)
    version = 0
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    for attempt in range(4):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(path), str(version)],
            stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            first = proc.stdout.readline()  # the writer is now saving in a loop
            assert first.strip(), "the writer died before saving once"
            if attempt % 2:
                time.sleep(rng.uniform(0.0, 0.15))  # anywhere in the save cycle
            else:
                old = set(tmp_path.glob(".big.npz.*.tmp"))
                deadline = time.monotonic() + 5
                while set(tmp_path.glob(".big.npz.*.tmp")) <= old:  # a write has begun
                    assert time.monotonic() < deadline, "no temporary file ever appeared"
        finally:
            proc.send_signal(signal.SIGKILL)
            rest = proc.communicate()[0]
        printed = [int(v) for v in (first + rest).split()]
        found = _check_version(path)
        # the file holds the last announced version, or the next one if the kill hit
        # between os.replace and the print
        assert printed[-1] <= found <= printed[-1] + 1
        assert proc.returncode == -signal.SIGKILL
        version = found
    assert version >= 4
    # killed writes leave their temporary files behind, never a damaged target
    assert all(p.name.startswith(".big.npz.") for p in tmp_path.glob(".*.tmp"))


def test_resume_with_an_unseeded_shuffling_loader_is_bit_for_bit(tmp_path):
    # The loader draws each epoch's order from nn.manual_seed's generator, whose state the
    # checkpoint holds, so the resumed epochs see the batches the uninterrupted run saw.
    x = np.linspace(-1, 1, 200, dtype=np.float32).reshape(50, 4)
    loader = nn.data.DataLoader(
        nn.data.ArrayDataset(x, np.arange(50) % 3), batch_size=10, shuffle=True
    )

    def epochs(model, opt, count: int) -> None:
        model.train()
        for _ in range(count):
            for xb, yb in loader:
                opt.zero_grad()
                nn.CrossEntropyLoss()(model(xb), yb).backward()
                opt.step()

    model, opt, _ = _setup(0)
    epochs(model, opt, 4)
    uninterrupted = model.state_dict()

    model, opt, sched = _setup(0)
    epochs(model, opt, 2)
    save_checkpoint(tmp_path / "mid.npz", model, opt, sched, epoch=2)
    nn.manual_seed(1234)
    model, opt, sched = _setup(5)
    load_checkpoint(tmp_path / "mid.npz", model, opt, sched)
    epochs(model, opt, 2)
    _assert_same_state(model.state_dict(), uninterrupted)
