"""Checkpoints: model weights and full training state in one ``.npz`` file, safely.

* **No pickle, ever.** Everything is a numpy array (numbers, or unicode text for
  names and JSON); files are read with ``np.load(allow_pickle=False)``, so loading
  an untrusted checkpoint cannot execute code.
* **Atomic.** The archive is written to a temporary file in the same directory,
  flushed and fsynced, then renamed over the target with ``os.replace`` and the
  directory is fsynced. A crash (or ``kill -9``) in the middle of a save leaves the
  previous checkpoint as it was.
* **Checked.** The file stores a format name and version, the architecture
  signature (every state-dict key with its shape) and a SHA-256 of all arrays.
  Truncated, tampered and wrong-architecture files, files that are no checkpoint
  (gzip, pickle, a directory) and an RNG state that cannot be restored raise
  :class:`CheckpointError` naming the file and the problem, before anything is
  modified. A failed write (disk full, no permission) is an ``OSError`` with its
  errno that names the checkpoint, and leaves the file at that path unchanged.
* **Resumable.** ``save_checkpoint(path, model, optimizer, scheduler, epoch=...)``
  also stores the state of ``nn.manual_seed``'s generator and numpy's global
  generator, so training resumed from it repeats an uninterrupted run bit for bit.

Layout of the archive (``np.load(path).files``)::

    __format__        "seegrad-checkpoint"      __version__    1
    __architecture__  JSON [[key, shape, dtype], ...] of the model's state dict
    __contents__      JSON {"epoch": ..., "optimizer": bool, "scheduler": bool, ...}
    __sha256__        hex digest of every other entry (name, dtype, shape, bytes)
    model/<key>       the model's parameters and buffers (``model.state_dict()``)
    optimizer/<key>   ``optimizer.state_dict()``      scheduler/<key>  likewise
    rng/nn, rng/numpy JSON generator states            extra/<key>      yours

Example:
    >>> import os, tempfile
    >>> import nn
    >>> _ = nn.manual_seed(0)
    >>> model = nn.Linear(3, 2)
    >>> opt = nn.optim.SGD(model.parameters(), lr=0.1)
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> _ = nn.save_checkpoint(path, model, opt, epoch=5, extra={"note": "hello"})
    >>> other = nn.Linear(3, 2)
    >>> info = nn.load_checkpoint(path, other, nn.optim.SGD(other.parameters(), lr=0.5))
    >>> info.epoch, info.extra["note"], bool((other.weight.data == model.weight.data).all())
    (5, 'hello', True)
    >>> nn.load_checkpoint(path, nn.Linear(3, 4))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nn.checkpoint.CheckpointError: checkpoint '...ckpt.npz' was saved from a different \
architecture: shape mismatch for 'weight': the checkpoint has (3, 2), the model has (3, 4); ...
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .module import LoadResult, Module
from .random import get_rng

__all__ = [
    "CheckpointError",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "save_weights",
    "load_weights",
    "FORMAT",
    "VERSION",
]

FORMAT = "seegrad-checkpoint"
VERSION = 1
_DIGEST_KEY = "__sha256__"

PathLike = str | os.PathLike[str]


class CheckpointError(ValueError):
    """A checkpoint could not be written or read: the message names the file and the problem."""


@dataclass
class Checkpoint:
    """A verified checkpoint, as returned by :func:`load_checkpoint` / :func:`read_checkpoint`.

    ``model_state``, ``optimizer_state`` and ``scheduler_state`` are flat dicts of numpy
    arrays (0-d arrays for scalars and text), ready for ``load_state_dict``.

    Example:
        >>> import os, tempfile
        >>> import nn
        >>> path = os.path.join(tempfile.mkdtemp(), "c.npz")
        >>> _ = save_checkpoint(path, nn.Linear(2, 1), epoch=4, extra={"note": "hi"})
        >>> ckpt = read_checkpoint(path)
        >>> ckpt.epoch, ckpt.extra, ckpt.architecture
        (4, {'note': 'hi'}, [('weight', (2, 1), '<f4'), ('bias', (1,), '<f4')])
        >>> sorted(ckpt.model_state), ckpt.optimizer_state is None, sorted(ckpt.rng_state)
        (['bias', 'weight'], True, ['nn', 'numpy'])
    """

    path: str
    epoch: int | None
    extra: dict[str, Any]
    architecture: list[tuple[str, tuple[int, ...], str]]
    model_state: dict[str, np.ndarray] = field(repr=False)
    optimizer_state: dict[str, np.ndarray] | None = field(default=None, repr=False)
    scheduler_state: dict[str, np.ndarray] | None = field(default=None, repr=False)
    rng_state: dict[str, Any] = field(default_factory=dict, repr=False)
    #: What the model's ``load_state_dict`` skipped (set by :func:`load_checkpoint`).
    load_result: LoadResult | None = field(default=None, repr=False)


# --------------------------------------------------------------------------------- saving
def save_checkpoint(
    path: PathLike,
    model: Module,
    optimizer: Any = None,
    scheduler: Any = None,
    *,
    epoch: int | None = None,
    extra: Mapping[str, Any] | None = None,
    save_rng: bool = True,
    compress: bool = False,
) -> str:
    """Write ``model`` (and optionally optimizer, schedule, epoch, RNG state) to ``path``.

    The file name is used exactly as given (no ``.npz`` is appended); missing
    directories are created. ``extra`` maps names to numbers, text or numeric arrays
    (no Python objects: they would need pickle). The write is atomic: readers see the
    old file or the new one, never a half-written one. Returns the path.

    Raises :class:`CheckpointError` for a path that names no file (empty, ending in a
    separator, a directory) or a value that cannot be stored without pickle;
    TypeError for a model without ``state_dict()``, an ``extra`` that is no mapping or
    an ``epoch`` that is no int; an ``OSError`` (with its errno) naming the checkpoint
    when the disk refuses the write.

    Example:
        >>> import os, tempfile
        >>> import nn
        >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "w.npz"), nn.Linear(2, 1))
        >>> sorted(k for k in np.load(path).files if k.startswith("model/"))
        ['model/bias', 'model/weight']
    """
    path = _checked_path(path, "save")
    if not callable(getattr(model, "state_dict", None)):
        raise TypeError(
            f"save_checkpoint('{path}'): model must be an nn.Module (anything with "
            f"state_dict()); got {type(model).__name__}"
        )
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError(
            f"save_checkpoint('{path}'): extra must be a mapping of names to values; "
            f"got {type(extra).__name__}"
        )
    arrays: dict[str, np.ndarray] = {}
    state = model.state_dict()
    for key, value in state.items():
        arrays[f"model/{key}"] = _storable(value, f"model state '{key}'", path)
    contents: dict[str, Any] = {"epoch": _checked_epoch(epoch, path)}
    if optimizer is not None:
        for key, value in optimizer.state_dict().items():
            arrays[f"optimizer/{key}"] = _storable(value, f"optimizer state '{key}'", path)
    if scheduler is not None:
        for key, value in scheduler.state_dict().items():
            arrays[f"scheduler/{key}"] = _storable(value, f"scheduler state '{key}'", path)
    for key, value in (extra or {}).items():
        arrays[f"extra/{key}"] = _storable(value, f"extra '{key}'", path)
    if save_rng:
        arrays["rng/nn"] = _text(json.dumps(get_rng().bit_generator.state))
        arrays["rng/numpy"] = _text(json.dumps(_numpy_global_state()))
    contents.update(
        optimizer=optimizer is not None,
        optimizer_class=type(optimizer).__name__ if optimizer is not None else None,
        scheduler=scheduler is not None,
        rng=save_rng,
    )
    arch = [[k, list(v.shape), v.dtype.str] for k, v in state.items()]
    arrays["__format__"] = _text(FORMAT)
    arrays["__version__"] = np.array(VERSION, dtype=np.int64)
    arrays["__architecture__"] = _text(json.dumps(arch))
    arrays["__contents__"] = _text(json.dumps(contents))
    arrays[_DIGEST_KEY] = _text(_digest(arrays))
    _atomic_savez(path, arrays, compress)
    return path


def save_weights(path: PathLike, model: Module) -> str:
    """Only the model's parameters and buffers (no optimizer, no RNG state).

    Example:
        >>> import os, tempfile
        >>> import nn
        >>> path = save_weights(os.path.join(tempfile.mkdtemp(), "w.npz"), nn.Linear(2, 1))
        >>> load_weights(path, nn.Linear(2, 1)).epoch is None
        True
    """
    return save_checkpoint(path, model, save_rng=False)


def _text(s: str) -> np.ndarray:
    return np.array(s, dtype=np.str_)


def _checked_path(path: PathLike, action: str) -> str:
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    # "" and "out/" would make the temporary file land in the parent of the working
    # directory (abspath drops the trailing separator) and fail at the rename.
    if not path:
        raise CheckpointError(
            f"cannot {action} checkpoint: the path is empty; expected a file name"
        )
    if path.endswith(os.sep) or (os.altsep and path.endswith(os.altsep)):
        raise CheckpointError(
            f"cannot {action} checkpoint '{path}': the path ends with a separator, so it names "
            "a directory; expected a file name such as 'out/model.npz'"
        )
    return path


def _checked_epoch(epoch: Any, path: str) -> int | None:
    if epoch is None:
        return None
    if isinstance(epoch, (float, np.floating)) and float(epoch).is_integer():
        epoch = int(epoch)  # 3.0 from a float counter is still epoch 3
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
        raise TypeError(
            f"save_checkpoint('{path}'): epoch must be an int or None; "
            f"got {type(epoch).__name__} {epoch!r}"
        )
    return int(epoch)


def _storable(value: Any, what: str, path: str) -> np.ndarray:
    try:
        arr = np.asarray(getattr(value, "data", value))
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise CheckpointError(
            f"cannot save checkpoint '{path}': {what} ({type(value).__name__}) is not a "
            f"regular array ({exc}); only numbers, booleans, text and numeric arrays can be "
            "stored (no pickle)"
        ) from None
    if arr.dtype.kind not in "biufcUS":
        raise CheckpointError(
            f"cannot save checkpoint '{path}': {what} has dtype {arr.dtype} "
            f"({type(value).__name__}); only numbers, booleans, text and numeric arrays can be "
            "stored (no pickle)"
        )
    return arr


def _numpy_global_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "name": name,
        "keys": keys.tolist(),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "gauss": float(gauss),
    }


def _digest(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        if key == _DIGEST_KEY:
            continue
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _atomic_savez(path: str, arrays: Mapping[str, np.ndarray], compress: bool) -> None:
    # Not abspath: it drops "link/.." as text, while the OS resolves it through the link.
    directory = os.path.dirname(path) or os.curdir
    try:  # "out/model.npz" in a fresh folder just works
        os.makedirs(directory, exist_ok=True)
    except OSError as err:
        raise _write_error(path, f"cannot create its directory {directory}", err) from err
    directory = os.path.realpath(directory)  # mkstemp applies abspath to its folder too
    if os.path.isdir(path):
        raise CheckpointError(f"cannot save checkpoint '{path}': it is a directory, not a file")
    # Same directory as the target: os.replace is only atomic within one file system.
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
        )
    except OSError as err:
        raise _write_error(path, f"cannot create a temporary file in {directory}", err) from err
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode(path))  # mkstemp's 0600 would surprise whoever shares the file
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):  # disk full, I/O error: the bare errno names no file
            raise _write_error(path, f"writing it through {tmp} failed", err) from err
        raise
    _fsync_directory(directory)


def _write_error(path: str, what: str, err: OSError) -> OSError:
    # An OSError again (same errno, so the same subclass), so callers that handle disk-full
    # or permission errors keep working; the message says which file and that the old one lives.
    reason = err.strerror or str(err)
    message = (
        f"cannot save checkpoint '{path}': {what} ({reason}); the file at that path, if "
        "any, is unchanged"
    )
    return OSError(message) if err.errno is None else OSError(err.errno, message)


def _file_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------- loading
def read_checkpoint(path: PathLike) -> Checkpoint:
    """Read and verify a checkpoint without loading it into anything.

    Raises :class:`CheckpointError` for a truncated, tampered or foreign file (gzip,
    pickle, a single .npy array), damaged metadata or a directory, and
    FileNotFoundError when there is no file.

    Example:
        >>> import os, tempfile
        >>> import nn
        >>> path = save_weights(os.path.join(tempfile.mkdtemp(), "w.npz"), nn.Linear(2, 1))
        >>> read_checkpoint(path).architecture
        [('weight', (2, 1), '<f4'), ('bias', (1,), '<f4')]
    """
    path = _checked_path(path, "read")
    arrays = _read_arrays(path)
    fmt = _get_text(arrays, "__format__", path)
    if fmt != FORMAT:
        raise CheckpointError(f"'{path}' is not a seegrad checkpoint (format {fmt!r})")
    version = arrays.get("__version__")
    if version is None or version.shape != () or version.dtype.kind not in "iu":
        raise CheckpointError(f"checkpoint '{path}' has no valid __version__ entry")
    if int(version) < 1:
        raise CheckpointError(
            f"checkpoint '{path}' has format version {int(version)}; versions start at 1 "
            "(the file was not written by seegrad)"
        )
    if int(version) > VERSION:
        raise CheckpointError(
            f"checkpoint '{path}' has format version {int(version)}; this seegrad reads "
            f"versions up to {VERSION} (upgrade seegrad)"
        )
    stored = _get_text(arrays, _DIGEST_KEY, path)
    actual = _digest(arrays)
    if stored != actual:
        raise CheckpointError(
            f"checkpoint '{path}' failed its integrity check: the SHA-256 of its contents is "
            f"{actual[:16]}..., the file says {stored[:16]}... (the file was modified or "
            "corrupted after it was written)"
        )
    try:
        arch_raw = json.loads(_get_text(arrays, "__architecture__", path))
        contents = json.loads(_get_text(arrays, "__contents__", path))
        architecture = [
            (str(k), tuple(int(d) for d in shape), str(dt)) for k, shape, dt in arch_raw
        ]
        if not isinstance(contents, dict):
            raise TypeError(f"__contents__ is a {type(contents).__name__}, expected an object")
        epoch = contents.get("epoch")
        if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int)):
            raise TypeError(f"the epoch is {epoch!r}, expected an int or null")
        rng: dict[str, Any] = {}
        for name in ("nn", "numpy"):
            if f"rng/{name}" in arrays:
                rng[name] = json.loads(_get_text(arrays, f"rng/{name}", path))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint '{path}' has malformed metadata ({exc})") from None
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        head, sep, rest = key.partition("/")
        if sep:
            groups.setdefault(head, {})[rest] = value
    model_state = groups.get("model", {})
    declared = {k: shape for k, shape, _ in architecture}
    actual_shapes = {k: v.shape for k, v in model_state.items()}
    if declared != actual_shapes:
        raise CheckpointError(
            f"checkpoint '{path}' is inconsistent: its architecture signature does not match "
            f"the stored model arrays ({_diff(declared, actual_shapes, 'signature', 'arrays')})"
        )
    extra = {k: (v.item() if v.shape == () else v) for k, v in groups.get("extra", {}).items()}
    return Checkpoint(
        path=path,
        epoch=epoch,
        extra=extra,
        architecture=architecture,
        model_state=model_state,
        optimizer_state=groups.get("optimizer") if contents.get("optimizer") else None,
        scheduler_state=groups.get("scheduler") if contents.get("scheduler") else None,
        rng_state=rng,
    )


def load_checkpoint(
    path: PathLike,
    model: Module | None = None,
    optimizer: Any = None,
    scheduler: Any = None,
    *,
    restore_rng: bool = True,
    strict: bool = True,
) -> Checkpoint:
    """Verify ``path`` and load it into ``model`` (and ``optimizer``, ``scheduler``).

    Everything is checked before anything changes: a wrong architecture (the
    error lists missing and unexpected keys and mismatched shapes), a missing
    optimizer or schedule state, or one for another class, or an RNG state that
    cannot be restored, leaves every object as it was. With ``restore_rng``
    (default) the generator states saved with the checkpoint are put back
    (``nn.manual_seed``'s generator and numpy's global one), which is what makes a
    resumed run repeat the original exactly.

    ``strict=False`` (as ``Module.load_state_dict``) loads the keys the model
    and the checkpoint share, e.g. a pretrained body under a new head; their
    shapes must still match. ``Checkpoint.load_result`` then lists the model's
    keys the file lacked and the file's keys the model lacks. With an optimizer
    the keys must be the same even then (its state is stored by parameter
    position): load the weights alone with :func:`load_weights` and start a
    fresh optimizer.

    Returns the :class:`Checkpoint` (``epoch``, ``extra``, the raw states,
    ``load_result``).

    Example (save, then load into a fresh model and optimizer):
        >>> import os, tempfile
        >>> import nn
        >>> _ = nn.manual_seed(0)
        >>> model = nn.Linear(2, 1)
        >>> opt = nn.optim.Adam(model.parameters(), lr=0.01)
        >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "c.npz"), model, opt, epoch=7)
        >>> after_save = np.random.rand()
        >>> fresh = nn.Linear(2, 1)
        >>> ckpt = load_checkpoint(path, fresh, nn.optim.Adam(fresh.parameters(), lr=0.01))
        >>> ckpt.epoch, bool((fresh.weight.data == model.weight.data).all())
        (7, True)
        >>> np.random.rand() == after_save  # the RNG states were restored too
        True
    """
    for obj, what in ((model, "model"), (optimizer, "optimizer"), (scheduler, "scheduler")):
        if obj is not None and not callable(getattr(obj, "load_state_dict", None)):
            raise TypeError(
                f"load_checkpoint('{os.fspath(path)}'): {what} must have load_state_dict(); "
                f"got {type(obj).__name__}"
            )
    ckpt = read_checkpoint(path)
    path = ckpt.path
    if model is not None:
        ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        theirs = {k: shape for k, shape, _ in ckpt.architecture}
        if optimizer is not None and set(ours) != set(theirs):
            # even with strict=False: the optimizer's state is stored by parameter position
            raise CheckpointError(
                f"checkpoint '{path}' holds another set of model keys "
                f"({_diff(theirs, ours, 'checkpoint', 'model')}), so its optimizer state, "
                "stored by parameter position, would be attached to other parameters; load "
                "the weights alone (load_weights(path, model, strict=False)) and start a "
                "fresh optimizer"
            )
        if not strict:  # only the shared keys have to agree
            ours = {k: v for k, v in ours.items() if k in theirs}
            theirs = {k: v for k, v in theirs.items() if k in ours}
        if ours != theirs:
            raise CheckpointError(
                f"checkpoint '{path}' was saved from a different architecture: "
                + _diff(theirs, ours, "checkpoint", "model")
            )
    for obj, state, what in (
        (optimizer, ckpt.optimizer_state, "optimizer"),
        (scheduler, ckpt.scheduler_state, "learning-rate schedule"),
    ):
        if obj is not None and state is None:
            raise CheckpointError(
                f"checkpoint '{path}' has no {what} state (it was saved without one); "
                f"load it without the {what}"
            )
    if restore_rng:  # checked now, so that a bad state cannot fail after the weights changed
        _check_rng(ckpt.rng_state, path)
    before = [(o, o.state_dict()) for o in (model, optimizer, scheduler) if o is not None]
    try:
        if model is not None:
            ckpt.load_result = model.load_state_dict(ckpt.model_state, strict=strict)
        if optimizer is not None:
            optimizer.load_state_dict(ckpt.optimizer_state)
        if scheduler is not None:
            scheduler.load_state_dict(ckpt.scheduler_state)
    except (ValueError, TypeError, KeyError) as exc:
        for obj, state in before:  # all or nothing
            obj.load_state_dict(state)
        raise CheckpointError(f"cannot load checkpoint '{path}': {exc}") from None
    if restore_rng:
        _restore_rng(ckpt.rng_state, path)
    return ckpt


def load_weights(path: PathLike, model: Module, *, strict: bool = True) -> Checkpoint:
    """Load only the model's parameters and buffers (RNG states are left alone).

    ``strict=False`` loads the keys shared by the file and the model (see
    :func:`load_checkpoint`); ``.load_result`` says what was skipped.

    Example:
        >>> import os, tempfile
        >>> import nn
        >>> a, b = nn.Linear(2, 1), nn.Linear(2, 1)
        >>> path = save_weights(os.path.join(tempfile.mkdtemp(), "w.npz"), a)
        >>> _ = load_weights(path, b)
        >>> bool((a.weight.data == b.weight.data).all())
        True
        >>> body = nn.Sequential(nn.Linear(2, 1))
        >>> path = save_weights(os.path.join(tempfile.mkdtemp(), "body.npz"), body)
        >>> bigger = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 3))
        >>> load_weights(path, bigger, strict=False).load_result
        LoadResult(missing_keys=['1.weight', '1.bias'], unexpected_keys=[])
    """
    return load_checkpoint(path, model, restore_rng=False, strict=strict)


def _check_rng(states: Mapping[str, Any], path: str) -> None:
    # The same assignments as _restore_rng, on throwaway generators.
    _restore_rng(states, path, type(get_rng().bit_generator)(), np.random.RandomState().set_state)


def _restore_rng(
    states: Mapping[str, Any], path: str, bit_generator: Any = None, set_numpy: Any = None
) -> None:
    try:
        if "nn" in states:
            # In place, so everything holding the shared generator follows.
            (bit_generator or get_rng().bit_generator).state = states["nn"]
        if "numpy" in states:
            s = states["numpy"]
            keys = np.array(s["keys"], dtype=np.uint32)
            (set_numpy or np.random.set_state)(
                (s["name"], keys, s["pos"], s["has_gauss"], s["gauss"])
            )
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise CheckpointError(
            f"checkpoint '{path}' has an invalid RNG state ({type(exc).__name__}: {exc})"
        ) from None


# What zipfile, zlib and numpy raise on a damaged archive: a flipped byte can make an entry
# look encrypted (RuntimeError) or compressed by an unknown method (NotImplementedError),
# or break the Python-literal header numpy parses for each array (TokenError, SyntaxError).
_UNREADABLE = (
    OSError,
    EOFError,
    KeyError,
    RuntimeError,
    NotImplementedError,
    SyntaxError,
    tokenize.TokenError,
    zipfile.BadZipFile,
    zlib.error,
)


def _read_arrays(path: str) -> dict[str, np.ndarray]:
    if os.path.isdir(path):
        raise CheckpointError(
            f"cannot read checkpoint '{path}': it is a directory; expected a checkpoint file"
        )
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except ValueError as exc:
        raise CheckpointError(
            f"'{path}' is not a checkpoint: {_sniff(path, exc)}; expected an .npz archive"
        ) from None
    except _UNREADABLE as exc:
        raise CheckpointError(
            f"cannot read checkpoint '{path}': the file is truncated or not an .npz archive "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise CheckpointError(f"'{path}' holds a single array, not a checkpoint archive")
    try:
        with data:
            arrays = {key: data[key] for key in data.files}
    except ValueError as exc:
        if "pickle" not in str(exc):  # a header or length that does not match the data
            raise CheckpointError(
                f"cannot read checkpoint '{path}': the file is truncated or corrupted ({exc})"
            ) from None
        # numpy refuses object arrays without allow_pickle: someone put pickled data here.
        raise CheckpointError(
            f"checkpoint '{path}' contains an entry that needs pickle to load; refusing it, "
            f"since unpickling can execute code ({exc})"
        ) from None
    except _UNREADABLE as exc:
        raise CheckpointError(
            f"cannot read checkpoint '{path}': the file is truncated or corrupted "
            f"({type(exc).__name__}: {exc})"
        ) from None
    strays = [key for key, value in arrays.items() if not isinstance(value, np.ndarray)]
    if strays:
        raise CheckpointError(f"'{path}' is not a checkpoint: entries {strays} are not arrays")
    return arrays


def _sniff(path: str, exc: ValueError) -> str:
    # numpy calls anything that is neither .npz nor .npy "pickled data"; say what it is.
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        head = b""
    if head.startswith(b"\x93NUMPY"):
        # numpy refuses object arrays (they need pickle, which can execute code)
        return f"it is a single .npy array that cannot be read safely ({exc})"
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed (decompress it first; .npz archives are zip files)"
    if head[:1] == b"\x80":
        return (
            "it looks like a pickle file, which is never read here, since unpickling can "
            "execute code"
        )
    return f"it starts with {head!r}, not the zip signature b'PK\\x03\\x04'"


def _get_text(arrays: Mapping[str, np.ndarray], key: str, path: str) -> str:
    value = arrays.get(key)
    if value is None:
        raise CheckpointError(
            f"'{path}' is not a seegrad checkpoint (it has no {key} entry; plain np.savez "
            "files can be read with np.load)"
        )
    if value.shape != () or value.dtype.kind != "U":
        raise CheckpointError(f"checkpoint '{path}': entry {key} should be text")
    return str(value)


def _diff(
    a: Mapping[str, tuple[int, ...]], b: Mapping[str, tuple[int, ...]], a_name: str, b_name: str
) -> str:
    parts = []
    for key in a:
        if key in b and tuple(a[key]) != tuple(b[key]):
            parts.append(
                f"shape mismatch for '{key}': the {a_name} has {tuple(a[key])}, "
                f"the {b_name} has {tuple(b[key])}"
            )
    only_b = [k for k in b if k not in a]
    only_a = [k for k in a if k not in b]
    if only_b:
        parts.append(f"keys missing from the {a_name}: {only_b}")
    if only_a:
        parts.append(f"keys not in the {b_name}: {only_a}")
    return "; ".join(parts) or "same keys and shapes"
