"""``nn.models``: ready-made networks built from ``nn`` layers (the top layer of ``nn``)."""

from .mlp import MLP

__all__ = ["MLP"]
