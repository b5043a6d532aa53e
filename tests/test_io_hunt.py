"""Saving, loading and feeding data from files, as a practitioner breaks them: damaged and
forged checkpoints, failing disks, odd paths, partial loads, and loader/IDX edge cases."""

from __future__ import annotations

import errno
import gzip
import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

import nn
from nn.checkpoint import (
    CheckpointError,
    _digest,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from nn.data import (
    ArrayDataset,
    BPTTLoader,
    DataLoader,
    Dataset,
    batchify,
    read_idx,
    train_test_split,
    write_idx,
)


def _linear(seed: int = 0) -> nn.Module:
    nn.manual_seed(seed)
    return nn.Linear(3, 2)


def _forge(tmp_path: Path, name: str, source: str, **changes) -> Path:
    """A copy of ``source`` with entries replaced and a recomputed, valid checksum: what a
    buggy writer or a hand-edited file looks like once the integrity check passes."""
    with np.load(source) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    arrays["__sha256__"] = np.array(_digest(arrays))
    out = tmp_path / name
    np.savez(out, **arrays)
    return out


# ------------------------------------------------------------------ forged checkpoints
@pytest.mark.parametrize(
    "entry, value",
    [
        ("rng/nn", {"bit_generator": "MT19937", "state": 3}),  # another generator's state
        ("rng/numpy", {"name": "MT19937"}),  # keys missing
        (
            "rng/numpy",
            {"name": "MT19937", "keys": [2**40] * 624, "pos": 0, "has_gauss": 0, "gauss": 0.0},
        ),  # fmt: skip
    ],
)
def test_an_invalid_rng_state_fails_before_the_model_changes(tmp_path, entry, value):
    # The RNG state was restored after the weights: a bad one raised with the model loaded.
    model = _linear()
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    good = save_checkpoint(tmp_path / "c.npz", model, opt, epoch=1)
    bad = _forge(tmp_path, "bad.npz", good, **{entry: np.array(json.dumps(value))})
    target = _linear(seed=1)
    before = target.state_dict()
    nn_state = nn.random.get_rng().bit_generator.state
    np_state = np.random.get_state()
    with pytest.raises(CheckpointError, match=r"bad\.npz' has an invalid RNG state"):
        load_checkpoint(bad, target, nn.optim.SGD(target.parameters(), lr=0.5))
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert nn.random.get_rng().bit_generator.state == nn_state
    np.testing.assert_array_equal(np.random.get_state()[1], np_state[1])


@pytest.mark.parametrize(
    "entry, text, message",
    [
        ("rng/nn", "{not json", "malformed metadata"),
        ("__contents__", "[]", "malformed metadata.*__contents__ is a list"),
        ("__contents__", json.dumps({"epoch": "x"}), "malformed metadata.*epoch is 'x'"),
    ],
)
def test_malformed_metadata_is_a_checkpoint_error(tmp_path, entry, text, message):
    # These escaped as a raw JSONDecodeError, AttributeError or a string epoch.
    good = save_checkpoint(tmp_path / "c.npz", _linear(), epoch=1)
    bad = _forge(tmp_path, "bad.npz", good, **{entry: np.array(text)})
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(bad)


@pytest.mark.parametrize("version", [0, -1])
def test_a_version_below_one_is_rejected(tmp_path, version):
    good = save_checkpoint(tmp_path / "c.npz", _linear())
    bad = _forge(tmp_path, "old.npz", good, __version__=np.array(version, dtype=np.int64))
    with pytest.raises(CheckpointError, match=f"format version {version}; versions start at 1"):
        read_checkpoint(bad)


def test_a_newer_format_version_asks_to_upgrade(tmp_path):
    good = save_checkpoint(tmp_path / "c.npz", _linear())
    newer = _forge(tmp_path, "v2.npz", good, __version__=np.array(2, dtype=np.int64))
    with pytest.raises(CheckpointError, match="format version 2.*upgrade seegrad"):
        load_checkpoint(newer, _linear())


# ------------------------------------------------------------------ paths and disks
def test_empty_and_trailing_separator_paths_are_refused_where_they_are(tmp_path, monkeypatch):
    # abspath("") is the working directory, so its dirname is the *parent*: the temporary
    # file was made there and the rename failed with a bare FileNotFoundError.
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    model = _linear()
    with pytest.raises(CheckpointError, match="the path is empty"):
        save_checkpoint("", model)
    with pytest.raises(CheckpointError, match="'newdir/'.*ends with a separator"):
        save_checkpoint("newdir/", model)
    with pytest.raises(CheckpointError, match="the path is empty"):
        load_checkpoint("", model)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert list(work.iterdir()) == []


def test_a_failing_disk_keeps_the_old_checkpoint_and_names_the_file(tmp_path, monkeypatch):
    model = _linear()
    path = Path(save_checkpoint(tmp_path / "c.npz", model, epoch=1))
    good = path.read_bytes()

    def disk_full(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    where = re.escape(str(path))
    with pytest.raises(OSError, match=f"cannot save checkpoint '{where}'.*No space left") as info:
        save_checkpoint(path, _linear(seed=1), epoch=2)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # no temporary file left
    assert read_checkpoint(path).epoch == 1

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr("tempfile.mkstemp", denied)
    where = re.escape(str(path))
    with pytest.raises(PermissionError, match=f"cannot save checkpoint '{where}'.*temporary"):
        save_checkpoint(path, model)
    monkeypatch.undo()
    assert path.read_bytes() == good


def test_model_checkpoint_failing_mid_fit_leaves_the_last_good_file(tmp_path, monkeypatch):
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(-1, 1)
    model = nn.Linear(1, 1)
    path = tmp_path / "ckpt" / "last.npz"
    real_savez = np.savez
    calls = []

    def fails_the_second_time(file, **arrays):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.EIO, "Input/output error")
        real_savez(file, **arrays)

    monkeypatch.setattr(np, "savez", fails_the_second_time)
    trainer = nn.Trainer(model, "mse", nn.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(OSError, match=f"cannot save checkpoint '{re.escape(str(path))}'"):
        trainer.fit(x, 2 * x, epochs=3, batch_size=16, verbose=0,
                    callbacks=[nn.ModelCheckpoint(path)])  # fmt: skip
    assert read_checkpoint(path).epoch == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.npz"]


def test_pathlib_str_and_non_ascii_paths_round_trip(tmp_path):
    model = _linear()
    for path in (tmp_path / "a.npz", str(tmp_path / "b.npz"), tmp_path / "модель ü 名.npz"):
        written = save_checkpoint(path, model, extra={"ключ": "значение"})
        assert written == os.fspath(path)
        other = _linear(seed=1)
        assert load_checkpoint(path, other).extra == {"ключ": "значение"}
        np.testing.assert_array_equal(other.weight.data, model.weight.data)


# ------------------------------------------------------------------ wrong files
def test_a_directory_or_a_foreign_file_is_named_for_what_it_is(tmp_path):
    model = _linear()
    good = Path(save_checkpoint(tmp_path / "c.npz", model))
    with pytest.raises(CheckpointError, match=f"'{re.escape(str(tmp_path))}': it is a directory"):
        load_checkpoint(tmp_path, model)
    (tmp_path / "c.npz.gz").write_bytes(gzip.compress(good.read_bytes()))
    with pytest.raises(CheckpointError, match="gzip-compressed"):
        load_checkpoint(tmp_path / "c.npz.gz", model)
    (tmp_path / "notes.npz").write_text("hello world")
    with pytest.raises(CheckpointError, match=r"notes.npz' is not a checkpoint: it starts with"):
        load_checkpoint(tmp_path / "notes.npz", model)
    (tmp_path / "state.pkl").write_bytes(pickle.dumps(model.state_dict()))
    with pytest.raises(CheckpointError, match="pickle file, which is never read"):
        load_checkpoint(tmp_path / "state.pkl", model)


def test_bad_arguments_to_save_and_load_name_the_function(tmp_path):
    model = _linear()
    with pytest.raises(CheckpointError, match="extra 'ragged'.*not a regular array"):
        save_checkpoint(tmp_path / "c.npz", model, extra={"ragged": [[1], [1, 2]]})
    with pytest.raises(TypeError, match="save_checkpoint.*epoch must be an int.*'x'"):
        save_checkpoint(tmp_path / "c.npz", model, epoch="x")
    with pytest.raises(TypeError, match="save_checkpoint.*model must be an nn.Module.*dict"):
        save_checkpoint(tmp_path / "c.npz", {"weight": np.zeros(2)})
    with pytest.raises(TypeError, match="save_checkpoint.*extra must be a mapping.*list"):
        save_checkpoint(tmp_path / "c.npz", model, extra=[1, 2])
    assert not (tmp_path / "c.npz").exists()
    assert read_checkpoint(save_checkpoint(tmp_path / "c.npz", model, epoch=3.0)).epoch == 3
    with pytest.raises(TypeError, match="load_checkpoint.*model must have load_state_dict.*str"):
        load_checkpoint(tmp_path / "c.npz", "model")


# ------------------------------------------------------------------ partial loads and dtypes
def test_load_weights_strict_false_loads_the_shared_keys(tmp_path):
    body = nn.Sequential(nn.Linear(4, 3))
    path = nn.save_weights(tmp_path / "body.npz", body)
    bigger = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    head = bigger[1].weight.data.copy()
    with pytest.raises(CheckpointError, match=r"keys missing from the checkpoint: \['1.weight'"):
        nn.load_weights(path, bigger)
    result = nn.load_weights(path, bigger, strict=False).load_result
    assert result == nn.LoadResult(missing_keys=["1.weight", "1.bias"], unexpected_keys=[])
    np.testing.assert_array_equal(bigger[0].weight.data, body[0].weight.data)
    np.testing.assert_array_equal(bigger[1].weight.data, head)
    smaller = nn.Sequential(nn.Linear(4, 3))
    full = nn.save_weights(tmp_path / "full.npz", bigger)
    result = load_checkpoint(full, smaller, strict=False).load_result
    assert result.unexpected_keys == ["1.weight", "1.bias"] and result.missing_keys == []
    wrong = nn.Sequential(nn.Linear(4, 5))  # a shared key with another shape still fails
    before = wrong.state_dict()
    with pytest.raises(CheckpointError, match=r"'0.weight': the checkpoint has \(4, 3\)"):
        nn.load_weights(full, wrong, strict=False)
    np.testing.assert_array_equal(wrong[0].weight.data, before["0.weight"])


def test_float64_models_load_float32_checkpoints_and_back(tmp_path):
    m32 = _linear()
    m64 = _linear(seed=1).astype(np.float64)
    nn.load_weights(nn.save_weights(tmp_path / "32.npz", m32), m64)
    assert m64.weight.dtype == np.float64
    np.testing.assert_array_equal(m64.weight.data, m32.weight.data.astype(np.float64))
    m64.weight.data[...] = 1 / 3
    assert read_checkpoint(nn.save_weights(tmp_path / "64.npz", m64)).architecture[0][2] == "<f8"
    nn.load_weights(tmp_path / "64.npz", m32)
    assert m32.weight.dtype == np.float32 and m32.weight.data[0, 0] == np.float32(1 / 3)


@pytest.mark.parametrize(
    "opt_name", ["SGD", "Momentum", "Nesterov", "AdaGrad", "AdaDelta", "RMSprop", "Adam",
                 "AdaMax", "Nadam"],
)  # fmt: skip
def test_resuming_from_a_file_repeats_the_uninterrupted_run(tmp_path, opt_name):
    x = np.random.default_rng(0).standard_normal((24, 4)).astype(np.float32)
    y = (np.arange(24) % 3).astype(np.int64)

    def setup():
        nn.manual_seed(0)
        model = nn.models.MLP([4, 6, 3], dropout=0.2)
        opt = getattr(nn.optim, opt_name)(model.parameters(), lr=0.05, weight_decay=0.01)
        return model, opt, nn.optim.OneCycle(opt, max_lr=0.1, total_steps=8)

    def run(model, opt, sched, steps):
        loader = DataLoader(ArrayDataset(x, y), batch_size=8, shuffle=True)  # unseeded
        losses = []
        for _ in range(steps):
            for xb, yb in loader:
                opt.zero_grad()
                loss = nn.CrossEntropyLoss()(model(xb), yb)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
        return losses

    model, opt, sched = setup()
    run(model, opt, sched, 1)
    path = save_checkpoint(tmp_path / "c.npz", model, opt, sched, epoch=1)
    expected = run(model, opt, sched, 1)
    model2, opt2, sched2 = setup()
    nn.manual_seed(123)  # whatever happened since, the file brings the generators back
    load_checkpoint(path, model2, opt2, sched2)
    assert run(model2, opt2, sched2, 1) == expected
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(model2.state_dict()[key], value)


# ------------------------------------------------------------------ IDX files
@pytest.mark.parametrize("dtype", [">i2", ">i4", ">f4", ">f8", "<f8", ">u1"])
def test_write_idx_takes_arrays_in_either_byte_order(tmp_path, dtype):
    # np.fromfile(..., ">f4") arrays were refused as "a dtype IDX cannot store".
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    back = read_idx(write_idx(tmp_path / "a.idx", a))
    assert back.dtype == a.dtype.newbyteorder("=") and back.dtype.isnative
    np.testing.assert_array_equal(back, a)
    raw = (tmp_path / "a.idx").read_bytes()
    assert raw[12:] == a.astype(a.dtype.newbyteorder(">")).tobytes()  # big-endian on disk


def test_idx_with_little_endian_sizes_is_called_truncated_with_the_shape(tmp_path):
    # A common hand-written-file mistake: the sizes packed little-endian.
    path = tmp_path / "le-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "little") + b"\x01\x02\x03")
    with pytest.raises(ValueError, match=r"le-idx1-ubyte: truncated.*shape \(50331648,\)"):
        read_idx(path)


# ------------------------------------------------------------------ datasets and loaders
class _DictSamples(Dataset):
    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> dict:
        return {"x": np.full(2, i, dtype=np.float32), "y": i}


def test_dict_samples_are_collated_into_dicts_of_arrays():
    # They came out as one object array of dicts.
    batches = list(DataLoader(_DictSamples(), batch_size=2))
    assert [sorted(b) for b in batches] == [["x", "y"]] * 3
    np.testing.assert_array_equal(batches[0]["x"], [[0, 0], [1, 1]])
    assert batches[2]["y"].tolist() == [4] and batches[0]["x"].dtype == np.float32


class _Objects(Dataset):
    def __init__(self, sample):
        self.sample = sample

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i: int):
        return self.sample(i)


@pytest.mark.parametrize(
    "sample, message",
    [
        (lambda i: (np.zeros(2), None), "field 1 holds NoneType values"),
        (lambda i: {"x": i} if i != 1 else {"z": i}, r"keys \['x'\] but sample 1 has \['z'\]"),
        (lambda i: {"x": np.zeros(2), "meta": {"id": i}}, "field 'meta' holds dict values"),
    ],
)
def test_unstackable_samples_are_refused_with_the_field(sample, message):
    with pytest.raises(ValueError, match=f"DataLoader: .*{message}"):
        list(DataLoader(_Objects(sample), batch_size=3))


def test_loader_edge_cases():
    ds = ArrayDataset([[1, 2], [3, 4], [5, 6]], (0, 1, 0))  # lists and tuples
    assert [b[1].tolist() for b in DataLoader(ds, batch_size=10)] == [[0, 1, 0]]
    assert len(DataLoader(ds, batch_size=10, drop_last=True)) == 0
    assert list(DataLoader(ds, batch_size=10, drop_last=True)) == []
    empty = DataLoader(ArrayDataset(np.zeros((0, 3))), batch_size=4, shuffle=True)
    assert len(empty) == 0 and list(empty) == []
    loader = DataLoader(ds, batch_size=2)
    assert [b[1].tolist() for b in loader] == [b[1].tolist() for b in loader] == [[0, 1], [0]]
    orders = []
    for _ in range(2):
        nn.manual_seed(7)
        shuffled = DataLoader(ArrayDataset(np.arange(10)), batch_size=3, shuffle=True)
        orders.append([b[0].tolist() for b in shuffled] + [b[0].tolist() for b in shuffled])
    assert orders[0] == orders[1] and orders[0][:4] != orders[0][4:]


def test_a_tuple_of_arrays_of_two_lengths_names_array_dataset():
    with pytest.raises(ValueError, match=r"ArrayDataset argument 0 \(tuple\).*\*arrays"):
        ArrayDataset((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match=r"arrays\[0\].shape=\(3,\), arrays\[1\].shape=\(4,\)"):
        ArrayDataset(np.zeros(3), np.zeros(4))


def test_train_test_split_names_a_non_numeric_test_size():
    with pytest.raises(ValueError, match="test_size must be a fraction.*str 'a'"):
        train_test_split(np.arange(6), test_size="a")


@pytest.mark.parametrize("bad", [2.0, True, "2"])
def test_batchify_checks_batch_size(bad):
    with pytest.raises(ValueError, match=f"batchify: batch_size must be a positive int.*{bad!r}"):
        batchify(np.arange(10), bad)


def test_bptt_loader_names_bad_targets_and_short_series():
    with pytest.raises(ValueError, match="BPTTLoader: targets must be an array.*scalar"):
        BPTTLoader(np.arange(10), 2, 2, targets=3)
    with pytest.raises(ValueError, match="its 2 steps cut into 2 rows give 1 step"):
        BPTTLoader(np.arange(2), 2, 2)


@pytest.mark.parametrize(
    "value, dtype",
    [
        (np.array([2**40, 1]), np.int8),  # does not fit
        (np.array([1.5, 2.0]), np.int64),  # a fraction into an int
        (np.array([1 + 2j, 0j]), np.float32),  # the imaginary part would be dropped
    ],
)
def test_load_state_dict_refuses_a_lossy_conversion_and_changes_nothing(value, dtype):
    model = nn.Module()
    model.register_buffer("counts", np.zeros(2, dtype=dtype))
    with pytest.raises(ValueError, match="without losing values"):
        model.load_state_dict({"counts": value})
    assert (model.counts.data == 0).all()
    model.load_state_dict({"counts": np.array([3.0, 4.0])})  # whole numbers are fine
    assert model.counts.data.tolist() == [3, 4]


def test_model_checkpoint_reports_a_file_in_the_way_of_its_folder(tmp_path):
    (tmp_path / "ckpt").write_text("not a folder")
    model = nn.Sequential(nn.Linear(2, 1))
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    saver = nn.ModelCheckpoint(str(tmp_path / "ckpt" / "m.npz"))
    with pytest.raises(OSError, match="cannot create its directory"):
        nn.fit(model, x, y, loss="mse", optimizer=opt, callbacks=[saver], verbose=0)
