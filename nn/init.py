"""Weight initialisation, in place, with the formulas written out.

Why it matters (lecture notes, "weight initial values"): with std 1 the
sigmoid activations pile up at 0 and 1 and gradients vanish; with std 0.01
every unit outputs nearly the same value and depth is wasted. Scaling the std
by the number of inputs keeps activations spread out layer after layer.

Layouts understood by ``calculate_fan_in_and_fan_out``:

* ``(in_features, out_features)``: a ``Linear`` weight (``x @ W``, the Affine layer);
* ``(out_channels, in_channels, *kernel)``: a convolution filter; each fan is
  multiplied by the kernel size.

=====================  =======================================  ===========================
function               distribution                             where it comes from
=====================  =======================================  ===========================
``xavier_normal_``     N(0, gain^2 * 2 / (fan_in + fan_out))    Glorot & Bengio 2010, fan_avg
``xavier_uniform_``    U(+-gain * sqrt(6 / (fan_in + fan_out)))  Glorot & Bengio 2010
``kaiming_normal_``    N(0, gain^2 / fan), gain sqrt(2) (ReLU)   He et al. 2015 ("He init")
``kaiming_uniform_``   U(+-gain * sqrt(3 / fan))                 He et al. 2015
``lecun_normal_``      N(0, 1 / fan_in)                          LeCun 1998; use with SELU
``lecun_uniform_``     U(+-sqrt(3 / fan_in))                     LeCun 1998
=====================  =======================================  ===========================

Note on names: the lecture notes call std ``sqrt(1/n)`` (n = inputs of the
layer) "Xavier". That simplified formula is ``lecun_normal_`` here; the
``xavier_*`` functions use Glorot's original average of fan-in and fan-out.
The notes' "He" std ``sqrt(2/n)`` is exactly ``kaiming_normal_``.

Every function draws from ``nn.manual_seed``'s generator unless given ``rng``,
writes into the tensor's existing array (optimizers holding it stay valid) and
returns the tensor.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from autodiff import Tensor

from .random import get_rng

__all__ = [
    "calculate_fan_in_and_fan_out",
    "calculate_gain",
    "zeros_",
    "ones_",
    "constant_",
    "normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "lecun_normal_",
    "lecun_uniform_",
    "initialize",
]

Rng = np.random.Generator | None


def _array(t: Any) -> np.ndarray:
    arr = t.data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"init functions work on Tensors or numpy arrays, got {type(t).__name__}")
    return arr


def _fill(t: Any, values: np.ndarray | float) -> Any:
    arr = _array(t)
    arr[...] = values  # in place, cast to the tensor's dtype
    if isinstance(t, Tensor):
        t.mark_changed()  # a graph recorded before must not backward with the new values
    return t


def calculate_fan_in_and_fan_out(shape: Any) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (or of a tensor/array).

    ``(in, out)`` is a Linear weight; ``(out_ch, in_ch, k1, k2, ...)`` a
    convolution filter whose fans are multiplied by ``k1 * k2 * ...``.

    Example:
        >>> from nn.init import calculate_fan_in_and_fan_out
        >>> calculate_fan_in_and_fan_out((784, 100))
        (784, 100)
        >>> calculate_fan_in_and_fan_out((16, 3, 5, 5))  # 16 filters over 3 channels, 5x5
        (75, 400)
    """
    if not isinstance(shape, tuple):
        shape = tuple(_array(shape).shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan-in and fan-out need a weight with at least 2 dimensions, got shape {shape} "
            "(biases are usually initialised with zeros_)"
        )
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = math.prod(shape[2:])
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def calculate_gain(nonlinearity: str = "relu", param: float | None = None) -> float:
    """The std multiplier that keeps activations' variance for ``nonlinearity``.

    linear/sigmoid/identity 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)),
    selu 3/4 (PyTorch's value).

    Example:
        >>> from nn.init import calculate_gain
        >>> round(calculate_gain("relu"), 4), round(calculate_gain("tanh"), 4)
        (1.4142, 1.6667)
    """
    name = nonlinearity.lower()
    if name in ("linear", "identity", "sigmoid", "conv"):
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1.0 + slope**2))
    if name == "selu":
        return 0.75
    raise ValueError(
        f"unknown nonlinearity {nonlinearity!r}; use linear, sigmoid, tanh, relu, leaky_relu "
        "or selu"
    )


def zeros_(t: Any) -> Any:
    """Fill with 0 (the usual bias initialisation).

    Example:
        >>> import nn
        >>> nn.init.zeros_(nn.Parameter([1.0, 2.0])).tolist()
        [0.0, 0.0]
    """
    return _fill(t, 0)


def ones_(t: Any) -> Any:
    """Fill with 1 (batch-norm gamma).

    Example:
        >>> import nn
        >>> nn.init.ones_(nn.Parameter([5.0])).tolist()
        [1.0]
    """
    return _fill(t, 1)


def constant_(t: Any, value: float) -> Any:
    """Fill with ``value``.

    Example:
        >>> import nn
        >>> nn.init.constant_(nn.Parameter([0.0, 0.0]), 0.25).tolist()
        [0.25, 0.25]
    """
    return _fill(t, value)


def normal_(t: Any, mean: float = 0.0, std: float = 1.0, rng: Rng = None) -> Any:
    """Draw from N(mean, std^2) (the lecture's ``0.01 * np.random.randn`` is ``std=0.01``).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.normal_(nn.Parameter(np.zeros((200, 200))), std=0.01)
        >>> abs(float(w.data.std()) - 0.01) < 1e-3
        True
    """
    arr = _array(t)
    return _fill(t, mean + std * get_rng(rng).standard_normal(arr.shape))


def uniform_(t: Any, low: float = 0.0, high: float = 1.0, rng: Rng = None) -> Any:
    """Draw from U(low, high).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.uniform_(nn.Parameter(np.zeros(1000)), -0.5, 0.5)
        >>> bool((w.data >= -0.5).all() and (w.data < 0.5).all())
        True
    """
    arr = _array(t)
    return _fill(t, get_rng(rng).uniform(low, high, size=arr.shape))


def xavier_normal_(t: Any, gain: float = 1.0, rng: Rng = None) -> Any:
    """Glorot normal: std = gain * sqrt(2 / (fan_in + fan_out)) (fan_avg; for tanh/sigmoid).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.xavier_normal_(nn.Parameter(np.zeros((300, 100))))
        >>> round(float(w.data.std()), 2)  # sqrt(2 / 400)
        0.07
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t).shape)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)


def xavier_uniform_(t: Any, gain: float = 1.0, rng: Rng = None) -> Any:
    """Glorot uniform: U(+-a), a = gain * sqrt(6 / (fan_in + fan_out)) (same variance as normal).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.xavier_uniform_(nn.Parameter(np.zeros((300, 100))))
        >>> float(abs(w.data).max()) <= (6 / 400) ** 0.5
        True
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(t).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, rng)


def _fan(shape: tuple[int, ...], mode: str) -> int:
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def kaiming_normal_(
    t: Any,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    rng: Rng = None,
) -> Any:
    """He normal: std = gain / sqrt(fan), gain sqrt(2) for ReLU, so std = sqrt(2 / fan_in).

    ``a`` is the negative slope for ``nonlinearity="leaky_relu"``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.kaiming_normal_(nn.Parameter(np.zeros((200, 300))))
        >>> round(float(w.data.std()), 2)  # sqrt(2 / 200)
        0.1
    """
    fan = _fan(_array(t).shape, mode)
    gain = calculate_gain(nonlinearity, a)
    return normal_(t, 0.0, gain / math.sqrt(fan), rng)


def kaiming_uniform_(
    t: Any,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "relu",
    rng: Rng = None,
) -> Any:
    """He uniform: U(+-b), b = gain * sqrt(3 / fan) (the variance of ``kaiming_normal_``).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.kaiming_uniform_(nn.Parameter(np.zeros((600, 10))))
        >>> float(abs(w.data).max()) <= 0.1  # sqrt(2) * sqrt(3 / 600)
        True
    """
    fan = _fan(_array(t).shape, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(t, -bound, bound, rng)


def lecun_normal_(t: Any, rng: Rng = None) -> Any:
    """LeCun normal: std = sqrt(1 / fan_in) (the lecture notes' "Xavier"; for SELU nets).

    Plain (not truncated) normal, unlike Keras' ``lecun_normal``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.lecun_normal_(nn.Parameter(np.zeros((400, 300))))
        >>> round(float(w.data.std()), 2)  # sqrt(1 / 400)
        0.05
    """
    fan_in, _ = calculate_fan_in_and_fan_out(_array(t).shape)
    return normal_(t, 0.0, math.sqrt(1.0 / fan_in), rng)


def lecun_uniform_(t: Any, rng: Rng = None) -> Any:
    """LeCun uniform: U(+-sqrt(3 / fan_in)) (variance 1 / fan_in).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.lecun_uniform_(nn.Parameter(np.zeros((300, 10))))
        >>> float(abs(w.data).max()) <= 0.1  # sqrt(3 / 300)
        True
    """
    fan_in, _ = calculate_fan_in_and_fan_out(_array(t).shape)
    bound = math.sqrt(3.0 / fan_in)
    return uniform_(t, -bound, bound, rng)


_BY_NAME = {
    "he": kaiming_normal_,
    "kaiming": kaiming_normal_,
    "he_normal": kaiming_normal_,
    "kaiming_normal": kaiming_normal_,
    "he_uniform": kaiming_uniform_,
    "kaiming_uniform": kaiming_uniform_,
    "xavier": xavier_normal_,
    "glorot": xavier_normal_,
    "xavier_normal": xavier_normal_,
    "glorot_normal": xavier_normal_,
    "xavier_uniform": xavier_uniform_,
    "glorot_uniform": xavier_uniform_,
    "lecun": lecun_normal_,
    "lecun_normal": lecun_normal_,
    "lecun_uniform": lecun_uniform_,
    "zeros": zeros_,
    "ones": ones_,
}


def initialize(t: Any, how: Any, rng: Rng = None) -> Any:
    """Initialise ``t`` by name, by a number (normal with that std) or by a callable.

    Names: ``he``/``kaiming`` (normal), ``he_uniform``, ``xavier``/``glorot``
    (normal), ``xavier_uniform``, ``lecun``, ``lecun_uniform``, ``zeros``,
    ``ones``. A float is the lecture's ``weight_init_std * randn``. A callable
    is called as ``how(t)``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> w = nn.init.initialize(nn.Parameter(np.zeros((100, 100))), 0.01)
        >>> round(float(w.data.std()), 3)
        0.01
    """
    if callable(how):
        how(t)
        return t
    if isinstance(how, numbers.Real) and not isinstance(how, bool):
        return normal_(t, 0.0, float(how), rng)
    fn = _BY_NAME.get(str(how).lower())
    if fn is None:
        raise ValueError(
            f"unknown initialisation {how!r}; use one of {sorted(_BY_NAME)}, a float std "
            "or a callable"
        )
    if fn in (zeros_, ones_):
        return fn(t)
    return fn(t, rng=rng)
