"""Tests for nn.data: datasets, loader, splits, digits, IDX/MNIST and synthetic sets."""

from __future__ import annotations

import ast
import doctest
import gzip
import importlib
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.data import (
    ArrayDataset,
    BPTTLoader,
    DataLoader,
    Dataset,
    Subset,
    load_digits,
    load_mnist,
    make_sine_wave,
    make_spirals,
    make_xor,
    one_hot,
    random_split,
    read_idx,
    train_test_split,
    write_idx,
)

# ----------------------------------------------------------------------------- helpers


class ListDataset(Dataset):
    """A generic (non-array) dataset to exercise the per-sample path."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return np.full(3, i, dtype=np.float32), i


def _epoch_labels(loader: DataLoader) -> list[int]:
    return [int(v) for batch in loader for v in batch[-1]]


# ----------------------------------------------------------------------------- package rules


def test_imports_only_numpy_and_stdlib():
    # Checked statically: importing nn.data also runs nn/__init__.py, which may
    # legitimately pull in autodiff for the rest of nn.
    import nn.data as data

    allowed = set(sys.stdlib_module_names) | {"numpy", "__future__"}
    for path in sorted(Path(data.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                assert root in allowed, f"{path.name} imports {root}"


@pytest.mark.parametrize(
    "module", ["nn.data", "nn.data.dataset", "nn.data.loader", "nn.data.idx", "nn.data.datasets"]
)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_api_documented():
    import nn.data as data

    for name in data.__all__:
        obj = getattr(data, name)
        if callable(obj):
            assert obj.__doc__ and ">>>" in obj.__doc__, f"{name} lacks a runnable example"


# ----------------------------------------------------------------------------- datasets


def test_array_dataset_basics():
    X, y = np.arange(12).reshape(6, 2), np.arange(6)
    ds = ArrayDataset(X, y)
    assert len(ds) == 6
    x0, y0 = ds[4]
    np.testing.assert_array_equal(x0, [8, 9])
    assert y0 == 4
    with pytest.raises(IndexError):
        ds[6]


def test_array_dataset_errors_name_shapes():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 2\).*\(4,\)"):
        ArrayDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one array"):
        ArrayDataset()
    with pytest.raises(ValueError, match="scalar"):
        ArrayDataset(np.float32(1.0))


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_subset_validates_indices():
    ds = ArrayDataset(np.arange(5))
    assert int(Subset(ds, [-1])[0][0]) == 4
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        Subset(ds, [0, 5])


# ----------------------------------------------------------------------------- loader


def test_loader_batches_in_order_and_last_partial():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    loader = DataLoader(ArrayDataset(X, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert all(isinstance(b, tuple) and len(b) == 2 for b in batches)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), X)
    assert batches[0][0].dtype == np.float32


def test_loader_drop_last():
    loader = DataLoader(ArrayDataset(np.arange(10)), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [b[0].shape[0] for b in loader] == [4, 4]
    assert len(DataLoader(ArrayDataset(np.arange(3)), batch_size=4, drop_last=True)) == 0


def test_loader_shuffle_is_permutation_and_changes_each_epoch():
    loader = DataLoader(ArrayDataset(np.arange(50)), batch_size=7, shuffle=True, seed=1)
    e1, e2 = _epoch_labels(loader), _epoch_labels(loader)
    assert sorted(e1) == sorted(e2) == list(range(50))
    assert e1 != list(range(50))
    assert e1 != e2


def test_loader_seed_reproducible():
    ds = ArrayDataset(np.arange(30), np.arange(30) * 2)

    def epochs(seed):
        loader = DataLoader(ds, batch_size=8, shuffle=True, seed=seed)
        return [_epoch_labels(loader) for _ in range(3)]

    assert epochs(123) == epochs(123)
    assert epochs(123) != epochs(124)
    # pairs stay aligned after shuffling
    for xb, yb in DataLoader(ds, batch_size=8, shuffle=True, seed=0):
        np.testing.assert_array_equal(yb, xb * 2)


def test_loader_generic_dataset_path_matches_fast_path():
    generic = DataLoader(ListDataset(10), batch_size=4, shuffle=True, seed=5)
    X = np.repeat(np.arange(10, dtype=np.float32)[:, None], 3, axis=1)
    fast = DataLoader(ArrayDataset(X, np.arange(10)), batch_size=4, shuffle=True, seed=5)
    for (gx, gy), (fx, fy) in zip(generic, fast, strict=True):
        np.testing.assert_array_equal(gx, fx)
        np.testing.assert_array_equal(gy, fy)


def test_loader_fast_path_on_subset():
    ds = ArrayDataset(np.arange(10) * 10)
    sub = Subset(Subset(ds, [9, 8, 7, 6, 5]), [4, 0])
    assert [b[0].tolist() for b in DataLoader(sub, batch_size=1)] == [[50], [90]]


def test_loader_single_value_samples_become_tuples():
    class Plain(Dataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, i: int) -> float:
            return float(i)

    (batch,) = list(DataLoader(Plain(), batch_size=3))
    assert isinstance(batch, tuple) and batch[0].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "4"])
def test_loader_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ArrayDataset(np.arange(3)), batch_size=bad)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 60),
    bs=st.integers(1, 16),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
)
def test_loader_len_and_coverage_property(n, bs, drop_last, shuffle):
    loader = DataLoader(
        ArrayDataset(np.arange(n)), batch_size=bs, shuffle=shuffle, drop_last=drop_last, seed=0
    )
    seen = _epoch_labels(loader)
    assert len(list(loader)) == len(loader)
    expected = (n // bs) * bs if drop_last else n
    assert len(seen) == expected
    assert len(set(seen)) == len(seen)


# ----------------------------------------------------------------------------- splits


def test_random_split_counts_and_disjoint():
    ds = ArrayDataset(np.arange(100))
    parts = random_split(ds, [70, 20, 10], seed=0)
    assert [len(p) for p in parts] == [70, 20, 10]
    values = [int(p[i][0]) for p in parts for i in range(len(p))]
    assert sorted(values) == list(range(100))


def test_random_split_fractions_and_seed():
    ds = ArrayDataset(np.arange(11))
    a = random_split(ds, [0.5, 0.5], seed=3)
    b = random_split(ds, [0.5, 0.5], seed=3)
    assert [len(p) for p in a] == [6, 5]
    np.testing.assert_array_equal(a[0].indices, b[0].indices)
    assert set(a[0].indices).isdisjoint(a[1].indices)


def test_random_split_errors():
    ds = ArrayDataset(np.arange(10))
    with pytest.raises(ValueError, match="sum to 9 but the dataset has 10"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="add up to 1"):
        random_split(ds, [0.5, 0.4])


def test_train_test_split_sizes_disjoint_aligned():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert X_tr.shape == (75, 2) and X_te.shape == (25, 2)
    assert set(y_tr).isdisjoint(y_te) and len(set(y_tr) | set(y_te)) == 100
    np.testing.assert_array_equal(X_tr[:, 0] // 2, y_tr)
    np.testing.assert_array_equal(X_te[:, 0] // 2, y_te)
    again = train_test_split(X, y, test_size=0.25, seed=0)
    np.testing.assert_array_equal(again[3], y_te)
    assert train_test_split(list(range(10)), test_size=3, seed=1)[1].shape == (3,)


def test_train_test_split_stratified_keeps_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    X = np.arange(100)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=4, stratify=y)
    assert np.bincount(y_te).tolist() == [12, 6, 2]
    assert np.bincount(y_tr).tolist() == [48, 24, 8]
    np.testing.assert_array_equal(y[X_te], y_te)


def test_train_test_split_errors():
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.arange(10), test_size=1.5)
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.arange(10), test_size=10)
    with pytest.raises(ValueError, match="same first dimension"):
        train_test_split(np.arange(10), np.arange(9))
    with pytest.raises(ValueError, match="stratify"):
        train_test_split(np.arange(10), stratify=np.arange(9))


def test_one_hot():
    out = one_hot(np.array([[1, 0], [2, 2]]), 3)
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out.argmax(-1), [[1, 0], [2, 2]])
    assert out.sum() == 4
    assert one_hot([0, 3]).shape == (2, 4)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="integers"):
        one_hot([0.5], 2)


# ----------------------------------------------------------------------------- digits


def test_load_digits_shape_range_counts():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_load_digits_raw_and_images():
    X, y = load_digits(normalize=False, flatten=False)
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert X.max() == 16.0
    np.testing.assert_array_equal(np.round(X), X)
    # first sample is a 0 in the UCI file; callers get fresh, writable copies
    assert y[0] == 0 and X[0, 0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    X[:] = -1
    assert load_digits()[0].min() == 0.0


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
        np.array([-3, 0, 5], dtype=np.int8),
        np.array([[-300, 7]], dtype=np.int16),
        np.array([1, -(2**31), 2**31 - 1], dtype=np.int32),
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2),
        np.array([np.pi, -np.e]),
    ],
    ids=["u1", "i1", "i2", "i4", "f4", "f8"],
)
def test_idx_round_trip(tmp_path, array, suffix):
    path = write_idx(tmp_path / f"a-idx{array.ndim}-ubyte{suffix}", array)
    back = read_idx(path)
    assert back.dtype == array.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    back[...] = 0  # writable


def test_idx_header_layout(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((2, 3), dtype=np.uint8))
    raw = path.read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x02"
    assert raw[4:12] == b"\x00\x00\x00\x02\x00\x00\x00\x03"
    assert len(raw) == 12 + 6
    gz = write_idx(tmp_path / "x.gz", np.zeros((2, 3), dtype=np.uint8))
    assert gzip.decompress(gz.read_bytes()) == raw


def test_idx_gzip_detected_by_content(tmp_path):
    plain = write_idx(tmp_path / "plain", np.arange(4, dtype=np.uint8))
    disguised = tmp_path / "no-extension"
    disguised.write_bytes(gzip.compress(plain.read_bytes()))
    np.testing.assert_array_equal(read_idx(disguised), np.arange(4))


def test_idx_truncated_data(tmp_path):
    path = write_idx(tmp_path / "t", np.zeros((4, 5), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"truncated.*\(4, 5\).*20 data bytes.*only 17") as exc:
        read_idx(path)
    assert str(path) in str(exc.value)


def test_idx_truncated_header_and_empty(tmp_path):
    path = tmp_path / "h"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="truncated header.*3 dimensions"):
        read_idx(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="only 0 bytes"):
        read_idx(path)


def test_idx_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "t", np.zeros(3, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="1 unexpected bytes"):
        read_idx(path)


def test_idx_bad_magic_and_type(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"<!DOCTYPE html><html></html>")
    with pytest.raises(ValueError, match=r"page\.html: bad IDX magic number 0x3C21444F"):
        read_idx(path)
    path.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="unknown IDX type code 0x07"):
        read_idx(path)


def test_idx_with_more_dimensions_than_numpy_names_the_file(tmp_path):
    path = tmp_path / "deep.idx"
    path.write_bytes(bytes([0, 0, 8, 70]) + struct.pack(">70I", *[1] * 70) + b"x")
    with pytest.raises(ValueError, match=r"deep\.idx: the header gives 70 dimensions"):
        read_idx(path)


def test_bptt_loader_sizes_must_be_positive_ints():
    for batch, length in ((2.5, 4), (2, 2.5), (2, 0), (True, 4)):
        with pytest.raises(ValueError, match="BPTTLoader: .* must be a positive int"):
            BPTTLoader(np.arange(20.0), batch, length)


def test_idx_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "c.gz", np.arange(1000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match="could not be decompressed"):
        read_idx(path)


def test_idx_missing_file_and_bad_dtype(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        read_idx(tmp_path / "nope")
    with pytest.raises(ValueError, match="dtype int64"):
        write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))


# ----------------------------------------------------------------------------- MNIST


def _write_mnist(directory, prefix, n, gz, rows=28, cols=28, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    ext = ".gz" if gz else ""
    directory.mkdir(parents=True, exist_ok=True)
    write_idx(directory / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(directory / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_train_and_test(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, "train", 5, gz)
    test_images, test_labels = _write_mnist(tmp_path, "t10k", 3, gz, seed=1)
    X, y = load_mnist(tmp_path)
    assert X.shape == (5, 1, 28, 28) and X.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == labels.tolist()
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_allclose(X[:, 0] * 255, images, atol=1e-4)
    Xt, yt = load_mnist(str(tmp_path), kind="test")
    assert Xt.shape == (3, 1, 28, 28) and yt.tolist() == test_labels.tolist()


def test_load_mnist_torchvision_layout_and_fashion(tmp_path):
    _write_mnist(tmp_path / "FashionMNIST" / "raw", "t10k", 2, gz=True)
    X, _ = load_mnist(tmp_path, kind="test", fashion=True)
    assert X.shape == (2, 1, 28, 28)
    with pytest.raises(FileNotFoundError):
        load_mnist(tmp_path, kind="test", fashion=False)


def test_load_mnist_missing_files_lists_names(tmp_path):
    with pytest.raises(FileNotFoundError) as exc:
        load_mnist(tmp_path, kind="train")
    msg = str(exc.value)
    assert "train-images-idx3-ubyte" in msg and "train-images-idx3-ubyte.gz" in msg
    assert str(tmp_path) in msg
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "missing")


def test_load_mnist_bad_kind_and_mismatch(tmp_path):
    with pytest.raises(ValueError, match='kind must be "train" or "test"'):
        load_mnist(tmp_path, kind="validation")
    _write_mnist(tmp_path, "train", 4, gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="4 images but .* 3 labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((4, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"labels of shape \(N,\)"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------------------- synthetic


def test_make_xor():
    X, y = make_xor(100, noise=0.1, seed=0)
    assert X.shape == (100, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 50]
    clean_X, clean_y = make_xor(40, noise=0.0, seed=1)
    np.testing.assert_array_equal((clean_X[:, 0] * clean_X[:, 1] < 0).astype(np.int64), clean_y)
    np.testing.assert_array_equal(make_xor(30, seed=7)[0], make_xor(30, seed=7)[0])
    assert not np.array_equal(make_xor(30, seed=7)[0], make_xor(30, seed=8)[0])
    with pytest.raises(ValueError, match="noise"):
        make_xor(10, noise=-1)
    with pytest.raises(ValueError, match="n must be"):
        make_xor(0)


def test_make_spirals():
    X, y = make_spirals(40, n_classes=4, noise=0.2, seed=0)
    assert X.shape == (160, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [40] * 4
    assert np.all(np.linalg.norm(X, axis=1) <= 1.0 + 1e-6)
    a, b = make_spirals(20, seed=3), make_spirals(20, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="n_classes"):
        make_spirals(10, n_classes=0)


def test_make_sine_wave():
    s = make_sine_wave(50, n_series=3, seed=0)
    assert s.shape == (3, 50) and s.dtype == np.float32
    assert np.abs(s).max() <= 1.0 + 1e-6
    clean = make_sine_wave(100, period=20.0, random_phase=False)
    np.testing.assert_allclose(clean[0, :80], clean[0, 20:], atol=1e-5)  # periodic
    assert abs(float(clean[0, 5]) - 1.0) < 1e-6  # sin(pi/2) at t = period / 4
    noisy_a = make_sine_wave(30, n_series=2, noise=0.1, seed=5, period=(10, 30))
    noisy_b = make_sine_wave(30, n_series=2, noise=0.1, seed=5, period=(10, 30))
    np.testing.assert_array_equal(noisy_a, noisy_b)
    with pytest.raises(ValueError, match="period"):
        make_sine_wave(10, period=0)


# ----------------------------------------------------------------------------- nn.manual_seed


def _unseeded_draws(loader: DataLoader) -> list[list[int]]:
    """Two splits and two shuffled epochs, none given a seed."""
    X, y = np.arange(40).reshape(20, 2), np.arange(20)
    _, _, _, y_te = train_test_split(X, y, test_size=0.25)
    _, _, _, y_strat = train_test_split(X, y, test_size=0.25, stratify=y % 2)
    part = random_split(ArrayDataset(y), [15, 5])[1]
    return [y_te.tolist(), y_strat.tolist(), part.indices.tolist()] + [
        _epoch_labels(loader) for _ in range(2)
    ]


def test_manual_seed_makes_unseeded_splits_and_shuffles_repeatable():
    import nn

    # built before manual_seed: the loader must follow the generator seeded later
    loader = DataLoader(ArrayDataset(np.arange(20)), batch_size=6, shuffle=True)
    nn.manual_seed(0)
    first = _unseeded_draws(loader)
    nn.manual_seed(0)
    assert _unseeded_draws(loader) == first
    nn.manual_seed(1)
    assert _unseeded_draws(loader) != first
    epoch1, epoch2 = first[-2:]
    assert epoch1 != epoch2 and sorted(epoch1) == sorted(epoch2) == list(range(20))


def test_an_explicit_seed_wins_over_manual_seed():
    import nn

    def draws() -> list[list[int]]:
        loader = DataLoader(ArrayDataset(np.arange(20)), batch_size=6, shuffle=True, seed=3)
        split = train_test_split(np.arange(20), test_size=5, seed=3)[1]
        part = random_split(ArrayDataset(np.arange(20)), [15, 5], seed=3)[1]
        return [split.tolist(), part.indices.tolist(), _epoch_labels(loader)]

    nn.manual_seed(0)
    first = draws()
    nn.manual_seed(1)
    assert draws() == first
