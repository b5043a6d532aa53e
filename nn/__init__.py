"""nn: neural-network building blocks on top of ``autodiff``.

* ``Module``, ``Parameter``, ``Sequential``, ``ModuleList``, ``ModuleDict`` (``nn.module``);
* layers: ``Linear``, activations, ``Dropout``, ``BatchNorm1d/2d``, ``LayerNorm``,
  ``Embedding``, ``Flatten``, ``Identity``, ``Conv2d``, ``ConvTranspose2d``,
  ``MaxPool2d``, ``AvgPool2d``, ``GlobalAvgPool2d``, ``Dropout2d`` (``nn.layers``);
* ``nn.init`` (He, Xavier/Glorot, LeCun), ``nn.functional`` (``import nn.functional as F``),
  losses (``CrossEntropyLoss``, ``MSELoss``, ...), ``nn.optim``, ``nn.data``;
* ``nn.manual_seed(s)`` seeds weight initialisation, dropout masks, and ``nn.data``'s
  splits and shuffles when they are given no seed.

Example (the lecture notes' two-layer net):
    >>> import numpy as np
    >>> import nn
    >>> _ = nn.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))
    >>> x, t = np.zeros((8, 784), np.float32), np.arange(8) % 10
    >>> loss = nn.CrossEntropyLoss()(model(x), t)
    >>> loss.backward()
    >>> model[0].weight.grad.shape, loss.dtype
    ((784, 50), dtype('float32'))
"""

from . import data, functional, init, optim
from .layers import (
    ELU,
    GRU,
    LSTM,
    RNN,
    SELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Dropout2d,
    Embedding,
    Flatten,
    GlobalAvgPool2d,
    GRUCell,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    LSTMCell,
    MaxPool2d,
    PReLU,
    ReLU,
    RNNCell,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    detach_state,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SoftmaxWithLoss,
)
from .module import (
    LoadResult,
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    RemovableHandle,
    Sequential,
    functional_call,
)
from .random import get_rng, manual_seed
from .summary import Summary

# training, checkpoints and models sit on top of everything above (see DESIGN.md)
from . import checkpoint, models, training  # isort: skip
from .checkpoint import (  # isort: skip
    CheckpointError,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)
from .training import (  # isort: skip
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    Trainer,
    evaluate,
    fit,
    predict,
)

from .viz import plot_model  # isort: skip

__all__ = [
    "detach_state",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "RNN",
    "LSTM",
    "GRU",
    "data",
    "functional",
    "init",
    "optim",
    "Module",
    "Parameter",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "RemovableHandle",
    "LoadResult",
    "functional_call",
    "manual_seed",
    "get_rng",
    "Summary",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "SELU",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "Dropout2d",
    "Conv2d",
    "ConvTranspose2d",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "Embedding",
    "Flatten",
    "Identity",
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "CrossEntropyLoss",
    "SoftmaxWithLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "training",
    "checkpoint",
    "models",
    "Trainer",
    "fit",
    "evaluate",
    "predict",
    "History",
    "Callback",
    "LambdaCallback",
    "EarlyStopping",
    "ModelCheckpoint",
    "CSVLogger",
    "LearningRateScheduler",
    "ProgressBar",
    "save_checkpoint",
    "load_checkpoint",
    "save_weights",
    "load_weights",
    "CheckpointError",
    "plot_model",
]
