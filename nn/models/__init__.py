"""``nn.models``: ready-made networks built from ``nn`` layers (the top layer of ``nn``)."""

from .cnn import LeNet5, SimpleCNN
from .mlp import MLP
from .rnn import RNNLanguageModel

__all__ = ["MLP", "RNNLanguageModel", "SimpleCNN", "LeNet5"]
