"""LeNet-5 (or the lecture notes' SimpleCNN) on MNIST from IDX files you downloaded yourself.

Nothing is downloaded: put ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz`` (MNIST or, with
``--fashion``, Fashion-MNIST) in a folder (or its ``MNIST/raw`` sub-folder, torchvision's
layout) and run:

    python examples/cnn_mnist.py DIR                    # LeNet-5, 1 epoch
    python examples/cnn_mnist.py DIR --model simple --epochs 3 --limit 10000

Without the files it says where to get them and exits with status 0.
"""

from __future__ import annotations

import os

# Small matrices: one BLAS thread is faster, and several fight for busy cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import nn  # noqa: E402

MODELS = {
    "lenet5": lambda: nn.models.LeNet5(),
    "simple": lambda: nn.models.SimpleCNN((1, 28, 28)),
}
HELP = """MNIST files not found: {error}

Download the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from an MNIST mirror into
{directory} and run this example again. If you have torchvision,
torchvision.datasets.MNIST(root={directory!r}, download=True) fetches them into
{directory}/MNIST/raw, which is searched too."""


def main(
    directory: str | os.PathLike[str],
    model: str = "lenet5",
    epochs: int = 1,
    limit: int | None = None,
    batch_size: int = 64,
    lr: float = 1e-3,
    fashion: bool = False,
    seed: int = 0,
) -> dict[str, Any] | None:
    """Train on the training set (its first ``limit`` images), test on the test set.

    Returns test accuracy and seconds, or None (after printing help) when files are missing.
    """
    try:
        X_train, y_train = nn.data.load_mnist(directory, "train", fashion=fashion)
        X_test, y_test = nn.data.load_mnist(directory, "test", fashion=fashion)
    except FileNotFoundError as error:
        print(HELP.format(error=error, directory=directory))
        return None
    if limit is not None:
        X_train, y_train = X_train[:limit], y_train[:limit]
    nn.manual_seed(seed)
    net = MODELS[model]()
    print(net)
    print(f"{len(X_train)} training and {len(X_test)} test images of shape {X_train.shape[1:]}")
    trainer = nn.Trainer(
        net, nn.CrossEntropyLoss(), nn.optim.Adam(net.parameters(), lr=lr), metrics=["accuracy"]
    )
    start = time.perf_counter()
    trainer.fit(X_train, y_train, epochs=epochs, batch_size=batch_size, seed=seed, verbose=1)
    seconds = time.perf_counter() - start
    test = trainer.evaluate(X_test, y_test)
    print(f"trained {epochs} epoch(s) in {seconds:.1f} s; test accuracy {test['accuracy']:.4f}")
    return {"test_accuracy": test["accuracy"], "seconds": seconds}


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="folder holding the MNIST IDX files")
    parser.add_argument("--model", choices=sorted(MODELS), default="lenet5")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="use only N training images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--fashion", action="store_true", help="Fashion-MNIST sub-folders")
    args = parser.parse_args(argv)
    main(
        args.directory, args.model, args.epochs, args.limit, args.batch_size, args.lr,
        args.fashion,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(cli())
