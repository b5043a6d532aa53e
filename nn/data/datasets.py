"""Ready-made datasets: bundled digits, MNIST from local files, and synthetic sets.

Every loader returns float32 features and int64 labels. Nothing here touches
the network: :func:`load_digits` reads a file shipped inside this package and
:func:`load_mnist` reads IDX files from a directory you give it.

This module uses only NumPy and the standard library.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from .dataset import SeedLike, _rng, one_hot
from .idx import read_idx

__all__ = [
    "load_digits",
    "load_mnist",
    "mnist_file_names",
    "make_xor",
    "make_spirals",
    "make_sine_wave",
    "one_hot",
    "DIGITS_PATH",
]

#: The bundled copy of the UCI optical-digits test set (see DATA_SOURCES.md).
DIGITS_PATH = Path(__file__).with_name("digits.csv.gz")

Features = NDArray[np.float32]
Labels = NDArray[np.int64]


def _check_count(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return int(value)


def _check_noise(value: float, name: str = "noise") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative number; got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a non-negative finite number; got {value!r}")
    return v


# --------------------------------------------------------------------------- digits


@functools.lru_cache(maxsize=1)
def _digits_raw() -> np.ndarray:
    if not DIGITS_PATH.is_file():
        raise FileNotFoundError(
            f"the bundled digits file is missing: {DIGITS_PATH}; reinstall the package "
            "(it ships as package data of nn.data)"
        )
    try:
        table = np.loadtxt(DIGITS_PATH, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{DIGITS_PATH}: could not parse the bundled digits CSV ({exc})") from None
    if table.shape[1] != 65:
        raise ValueError(
            f"{DIGITS_PATH}: expected 65 columns (64 pixels and a label); got {table.shape[1]}"
        )
    table.setflags(write=False)
    return table


def load_digits(normalize: bool = True, flatten: bool = True) -> tuple[Features, Labels]:
    """Load the bundled 8x8 handwritten digits (1,797 images, classes 0-9).

    This is the test set of the UCI "Optical Recognition of Handwritten
    Digits" data (E. Alpaydin and C. Kaynak), as shipped by scikit-learn.
    Pixel values are counts from 0 to 16.

    Args:
        normalize: divide pixels by 16 so they lie in [0, 1]; otherwise keep
            the raw 0..16 values (still float32).
        flatten: return features of shape (1797, 64); otherwise images of
            shape (1797, 1, 8, 8) (channels first).

    Returns:
        ``(X, y)``: float32 features and int64 labels of shape (1797,).

    Example:
        >>> X, y = load_digits()
        >>> X.shape, X.dtype, float(X.max()), y.shape, sorted(set(y.tolist()))[:3]
        ((1797, 64), dtype('float32'), 1.0, (1797,), [0, 1, 2])
    """
    table = _digits_raw()
    X = table[:, :64].astype(np.float32)
    y = table[:, 64].astype(np.int64)
    if normalize:
        X /= np.float32(16.0)
    if not flatten:
        X = X.reshape(-1, 1, 8, 8)
    return X, y


# --------------------------------------------------------------------------- MNIST


def mnist_file_names(kind: str = "train") -> tuple[list[str], list[str]]:
    """The file names :func:`load_mnist` accepts for ``kind``, images then labels.

    Example:
        >>> images, labels = mnist_file_names("test")
        >>> images[:2]
        ['t10k-images-idx3-ubyte', 't10k-images-idx3-ubyte.gz']
    """
    if kind not in ("train", "test"):
        raise ValueError(f'kind must be "train" or "test"; got {kind!r}')
    prefix = "train" if kind == "train" else "t10k"
    out = []
    for what, nd in (("images", 3), ("labels", 1)):
        names = []
        for stem in (f"{prefix}-{what}-idx{nd}-ubyte", f"{prefix}-{what}.idx{nd}-ubyte"):
            names += [stem, stem + ".gz"]
        out.append(names)
    return out[0], out[1]


def _find(dirs: list[Path], names: list[str]) -> Path | None:
    for d in dirs:
        for name in names:
            if (d / name).is_file():
                return d / name
    return None


def load_mnist(
    directory: str | os.PathLike[str], kind: str = "train", fashion: bool = False
) -> tuple[Features, Labels]:
    """Load MNIST or Fashion-MNIST from IDX files you have downloaded yourself.

    Looks for the standard names (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-...`` for the test set; ``.gz`` or
    not; the ``train-images.idx3-ubyte`` spelling too) in ``directory``, then
    in the torchvision layout ``directory/MNIST/raw`` (``FashionMNIST/raw``
    when ``fashion``) and in ``directory/mnist`` (``directory/fashion``).
    Both datasets use the same file names, so ``fashion`` only picks those
    sub-folders. Nothing is downloaded.

    Args:
        directory: folder holding the files.
        kind: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        fashion: also look in the Fashion-MNIST sub-folders instead of MNIST's.

    Returns:
        ``(X, y)``: X float32 of shape (N, 1, H, W) in [0, 1] (H = W = 28 for
        the real sets), y int64 of shape (N,).

    Raises:
        FileNotFoundError: a file was not found; the message lists the
            folders searched and the names tried.
        ValueError: a file is not valid IDX, or images and labels disagree.

    Example:
        >>> import tempfile
        >>> import numpy as np
        >>> from nn.data import write_idx
        >>> d = tempfile.mkdtemp()
        >>> _ = write_idx(f"{d}/t10k-images-idx3-ubyte.gz", np.full((3, 28, 28), 255, np.uint8))
        >>> _ = write_idx(f"{d}/t10k-labels-idx1-ubyte.gz", np.array([7, 2, 1], np.uint8))
        >>> X, y = load_mnist(d, kind="test")
        >>> X.shape, float(X.max()), y.tolist()
        ((3, 1, 28, 28), 1.0, [7, 2, 1])
    """
    image_names, label_names = mnist_file_names(kind)
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(
            f"load_mnist directory does not exist or is not a folder: {root}; download the "
            f"{'Fashion-MNIST' if fashion else 'MNIST'} IDX files there first"
        )
    subdirs = ("FashionMNIST/raw", "fashion") if fashion else ("MNIST/raw", "mnist")
    dirs = [root, *(root / s for s in subdirs)]
    found = {}
    for what, names in (("images", image_names), ("labels", label_names)):
        path = _find(dirs, names)
        if path is None:
            raise FileNotFoundError(
                f"load_mnist could not find the {kind} {what} file. Looked in "
                f"{', '.join(str(d) for d in dirs)} for any of: {', '.join(names)}"
            )
        found[what] = path
    images = read_idx(found["images"])
    labels = read_idx(found["labels"])
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"{found['images']}: expected uint8 images of shape (N, rows, cols); got "
            f"{images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{found['labels']}: expected uint8 labels of shape (N,); got {labels.dtype} "
            f"of shape {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{found['images']} holds {images.shape[0]} images but {found['labels']} holds "
            f"{labels.shape[0]} labels; expected the same number (mixed train/test files?)"
        )
    X = images.astype(np.float32)[:, None, :, :]
    X /= np.float32(255.0)
    return X, labels.astype(np.int64)


# --------------------------------------------------------------------------- synthetic


def make_xor(n: int = 200, noise: float = 0.1, seed: SeedLike = None) -> tuple[Features, Labels]:
    """Two-class XOR data: Gaussian blobs at the corners (+-1, +-1).

    Corners (-1,-1) and (1,1) are class 0, (-1,1) and (1,-1) class 1; the four
    corners get equal shares of the points (up to rounding), in random order.
    Not linearly separable: a network needs a hidden layer.

    Args:
        n: number of points.
        noise: standard deviation of the Gaussian around each corner.
        seed: int, numpy Generator or None.

    Returns:
        ``(X, y)``: X float32 (n, 2), y int64 (n,) with values 0 and 1.

    Example:
        >>> X, y = make_xor(8, noise=0.0, seed=0)
        >>> X.shape, y.dtype, bool(((X[:, 0] * X[:, 1] < 0) == (y == 1)).all())
        ((8, 2), dtype('int64'), True)
    """
    n = _check_count(n, "n")
    noise = _check_noise(noise)
    rng = _rng(seed)
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    which = rng.permutation(np.arange(n) % 4)
    X = corners[which] + noise * rng.standard_normal((n, 2))
    y = (which >= 2).astype(np.int64)
    return X.astype(np.float32), y


def make_spirals(
    n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed: SeedLike = None
) -> tuple[Features, Labels]:
    """Interleaved spirals, one arm per class (the classic CS231n toy set).

    Arm ``j`` has radius growing linearly from 0 to 1 while the angle runs
    from ``4j`` to ``4(j+1)`` radians plus Gaussian noise. Points come grouped
    by class (shuffle with a DataLoader).

    Args:
        n_per_class: points per arm.
        n_classes: number of arms/classes.
        noise: standard deviation of the angle noise, in radians.
        seed: int, numpy Generator or None.

    Returns:
        ``(X, y)``: X float32 (n_per_class * n_classes, 2) inside the unit
        disc, y int64 with values 0..n_classes-1.

    Example:
        >>> X, y = make_spirals(50, n_classes=3, seed=0)
        >>> X.shape, y.shape, sorted(set(y.tolist()))
        ((150, 2), (150,), [0, 1, 2])
    """
    n_per_class = _check_count(n_per_class, "n_per_class")
    n_classes = _check_count(n_classes, "n_classes")
    noise = _check_noise(noise)
    rng = _rng(seed)
    r = np.linspace(0.0, 1.0, n_per_class)
    X = np.empty((n_per_class * n_classes, 2))
    for j in range(n_classes):
        t = np.linspace(4.0 * j, 4.0 * (j + 1), n_per_class)
        t = t + noise * rng.standard_normal(n_per_class)
        X[j * n_per_class : (j + 1) * n_per_class] = np.c_[r * np.sin(t), r * np.cos(t)]
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    return X.astype(np.float32), y


def make_sine_wave(
    n_steps: int = 200,
    n_series: int = 1,
    noise: float = 0.0,
    seed: SeedLike = None,
    period: float | tuple[float, float] = 25.0,
    amplitude: float = 1.0,
    random_phase: bool = True,
) -> NDArray[np.float32]:
    """Sine-wave time series for next-value prediction with an RNN.

    Series ``i`` is ``amplitude * sin(2*pi*t / period_i + phase_i)`` for
    ``t = 0 .. n_steps-1``, plus Gaussian noise. Inputs and targets for
    next-value prediction are ``s[:, :-1]`` and ``s[:, 1:]``.

    Args:
        n_steps: time steps per series.
        n_series: number of independent series.
        noise: standard deviation of the added Gaussian noise.
        seed: int, numpy Generator or None.
        period: steps per cycle, or a ``(low, high)`` range to draw each
            series' period from uniformly.
        amplitude: peak value of the clean wave.
        random_phase: draw each series' phase uniformly from [0, 2*pi);
            otherwise every series starts at phase 0.

    Returns:
        float32 array of shape (n_series, n_steps).

    Example:
        >>> s = make_sine_wave(100, n_series=4, seed=0)
        >>> x, target = s[:, :-1], s[:, 1:]
        >>> s.shape, s.dtype, x.shape == target.shape
        ((4, 100), dtype('float32'), True)
    """
    n_steps = _check_count(n_steps, "n_steps")
    n_series = _check_count(n_series, "n_series")
    noise = _check_noise(noise)
    rng = _rng(seed)
    if isinstance(period, (tuple, list)):
        if len(period) != 2 or not 0 < float(period[0]) <= float(period[1]):
            raise ValueError(f"period range must be (low, high) with 0 < low <= high; got {period}")
        periods = rng.uniform(float(period[0]), float(period[1]), size=(n_series, 1))
    else:
        if not float(period) > 0:
            raise ValueError(f"period must be a positive number of steps; got {period!r}")
        periods = np.full((n_series, 1), float(period))
    phases = (
        rng.uniform(0.0, 2 * np.pi, size=(n_series, 1)) if random_phase else np.zeros((n_series, 1))
    )
    t = np.arange(n_steps)[None, :]
    s = float(amplitude) * np.sin(2 * np.pi * t / periods + phases)
    if noise:
        s = s + noise * rng.standard_normal(s.shape)
    return s.astype(np.float32)
