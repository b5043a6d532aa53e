"""Recurrent layers: Elman ``RNN``, ``LSTM`` and ``GRU``, as cells and as sequence layers.

A sequence layer records, per layer and direction, one ``linear`` node for the
input projection ``x_t @ W_x + b`` of all time steps and one sequence node
(``autodiff.rnn_sequence``, ``lstm_sequence``, ``gru_sequence``) that runs the
time loop, as PyTorch's fused layers do; full backpropagation through time
(BPTT) is an ordinary ``backward()``. With ``unroll=True`` the loop is recorded
instead as one step node per time step (``autodiff.rnn_step``, ``lstm_step``,
``gru_step``) inside ``step{t}`` name scopes: the lecture notes' "RNN unfolded
in time", the same weights used at every step, for drawing the graph (it rolls
up into ``step ×T``) or watching gradients step by step. Both give the same
values and gradients; the sequence node is ~1.5-2x faster.

Truncated BPTT: carry the final state into the next chunk, but cut the graph
there with ``nn.detach_state(state)`` (or ``h.detach()``), so each backward
only goes back to the start of its chunk::

    state = None
    for x, y in nn.data.BPTTLoader(series, batch_size=32, bptt_length=35):
        out, state = rnn(x, state)
        loss = loss_fn(head(out), y)
        opt.zero_grad(); loss.backward()
        nn.optim.clip_grad_norm_(params, 1.0); opt.step()
        state = nn.detach_state(state)  # keep the values, forget the graph

**Weight layout and the mapping to PyTorch.** Weights are stored for
``x @ W`` as in ``nn.Linear``: ``weight_x_l{k}`` is (input, G*hidden),
``weight_h_l{k}`` is (hidden, G*hidden), with the G gates as column blocks in
PyTorch's order: LSTM i, f, g, o (G = 4); GRU r, z, n (G = 3); Elman G = 1.
The backward direction of a bidirectional layer adds ``_reverse``. So:

===============================  ============================================
PyTorch (``nn.RNN/LSTM/GRU``)    here
===============================  ============================================
``weight_ih_l{k}`` (G*H, in)     ``weight_x_l{k}.T``
``weight_hh_l{k}`` (G*H, H)      ``weight_h_l{k}.T``
``bias_ih_l{k} + bias_hh_l{k}``  ``bias_l{k}`` (RNN and LSTM: one bias suffices)
``bias_ih_l{k}`` (GRU)           ``bias_x_l{k}``
``bias_hh_l{k}`` (GRU)           ``bias_h_l{k}``: its n block sits inside
                                 ``n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn))``,
                                 so it cannot be merged with ``bias_x``
===============================  ============================================

``torch_state_dict()`` and ``load_torch_state_dict()`` convert both ways
(numpy arrays; nothing here imports torch).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from .. import functional as F
from .. import init
from ..module import Module, Parameter
from ._util import as_input, check_float, check_sizes

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "detach_state"]

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def detach_state(state: Any) -> Any:
    """Cut a recurrent state off the graph (truncated BPTT), keeping its values.

    Works on a Tensor, on ``(h, c)`` tuples and on nested lists/tuples (named tuples
    too) of them;
    ``None`` passes through, so the first chunk needs no special case.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> lstm = nn.LSTM(2, 3)
        >>> out, state = lstm(np.ones((4, 1, 2)))
        >>> state[0].creator is None
        False
        >>> h, c = nn.detach_state(state)
        >>> h.creator is None, c.creator is None, h.requires_grad
        (True, True, False)
        >>> nn.detach_state(None) is None
        True
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        parts = [detach_state(s) for s in state]
        return type(state)(*parts) if hasattr(state, "_fields") else type(state)(parts)
    raise TypeError(
        f"detach_state: expected a Tensor, a tuple/list of Tensors or None, got "
        f"{type(state).__name__}"
    )


def _to_numpy(value: Any) -> np.ndarray:
    # torch tensors that require grad refuse np.asarray; go through detach() without
    # importing torch
    if hasattr(value, "detach") and not isinstance(value, Tensor):
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        value = value.numpy()
    elif isinstance(value, Tensor):
        value = value.data
    return np.asarray(value)


class _RecurrentParams(Module):
    """Parameter creation, initialisation and PyTorch conversion shared by cells and layers."""

    mode: str

    def _make(self, suffix: str, n_in: int, hidden: int, bias: bool, dtype: Any) -> None:
        g = _GATES[self.mode] * hidden
        # PyTorch's default: every weight and bias from U(-1/sqrt(H), 1/sqrt(H))
        k = 1.0 / math.sqrt(hidden)
        shapes: dict[str, tuple[int, ...]] = {"weight_x": (n_in, g), "weight_h": (hidden, g)}
        biases = ("bias_x", "bias_h") if self.mode == "gru" else ("bias",)
        for name in biases:
            shapes[name] = (g,)
        for name, shape in shapes.items():
            if name.startswith("bias") and not bias:
                self.register_parameter(name + suffix, None)
                continue
            p = Parameter(np.zeros(shape), dtype=dtype)
            init.uniform_(p, -k, k)
            setattr(self, name + suffix, p)

    def _suffixes(self) -> list[tuple[str, str]]:
        """(our suffix, PyTorch's suffix) for every layer and direction."""
        raise NotImplementedError

    def torch_state_dict(self) -> dict[str, np.ndarray]:
        """The weights in PyTorch's names and layout (numpy arrays), for ``load_state_dict``.

        Example:
            >>> import nn
            >>> sd = nn.LSTM(3, 5).torch_state_dict()
            >>> sd["weight_ih_l0"].shape, sd["bias_hh_l0"].shape
            ((20, 3), (20,))
        """
        out: dict[str, np.ndarray] = {}
        for ours, theirs in self._suffixes():
            out["weight_ih" + theirs] = getattr(self, "weight_x" + ours).data.T.copy()
            out["weight_hh" + theirs] = getattr(self, "weight_h" + ours).data.T.copy()
            if self.mode == "gru":
                bx, bh = getattr(self, "bias_x" + ours), getattr(self, "bias_h" + ours)
                if bx is not None:
                    out["bias_ih" + theirs] = bx.data.copy()
                    out["bias_hh" + theirs] = bh.data.copy()
            else:
                b = getattr(self, "bias" + ours)
                if b is not None:
                    out["bias_ih" + theirs] = b.data.copy()
                    out["bias_hh" + theirs] = np.zeros_like(b.data)
        return out

    def load_torch_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy weights from a PyTorch ``state_dict()`` (torch tensors or numpy arrays).

        The keys must be exactly those of the matching PyTorch layer (same sizes, layers,
        directions and ``bias``); every key and shape is checked before anything is
        written, so a failed load leaves the layer untouched.

        Example:
            >>> import numpy as np
            >>> import nn
            >>> a, b = nn.GRU(3, 4), nn.GRU(3, 4)
            >>> b.load_torch_state_dict(a.torch_state_dict())
            >>> bool(np.array_equal(a.weight_x_l0.data, b.weight_x_l0.data))
            True
        """
        expected = self.torch_state_dict().keys()
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in expected]
        if missing or unexpected:
            raise ValueError(
                f"{self.describe()}.load_torch_state_dict: the PyTorch state dict does not "
                f"match this layer ({self.extra_repr()}): missing keys {missing}, unexpected "
                f"keys {unexpected}; it needs the same sizes, num_layers, directions and bias"
            )
        ours: dict[str, np.ndarray] = {}
        for mine, theirs in self._suffixes():
            ours["weight_x" + mine] = _to_numpy(state["weight_ih" + theirs]).T
            ours["weight_h" + mine] = _to_numpy(state["weight_hh" + theirs]).T
            if "bias_ih" + theirs not in state:
                continue
            bih, bhh = _to_numpy(state["bias_ih" + theirs]), _to_numpy(state["bias_hh" + theirs])
            if self.mode == "gru":
                ours["bias_x" + mine], ours["bias_h" + mine] = bih, bhh
            else:  # one bias here: PyTorch's two add up
                ours["bias" + mine] = bih + bhh
        try:
            self.load_state_dict(ours)
        except ValueError as err:
            raise ValueError(
                f"{self.describe()}.load_torch_state_dict (PyTorch's weight_ih/weight_hh are "
                f"the transposes of weight_x/weight_h here): {err}"
            ) from None


def _lstm_state(layer: Module, state: Any, pair: str) -> tuple[Any, Any]:
    """An LSTM state as its two parts, (None, None) for zeros; a clear error for one array."""
    if state is None:
        return None, None
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        if hasattr(state, "shape"):
            got = f"one array of shape {tuple(state.shape)}"
        elif isinstance(state, (tuple, list)):
            got = f"a {type(state).__name__} of {len(state)}"
        else:
            got = type(state).__name__
        raise ValueError(
            f"{layer.describe()}: the state of an LSTM is the pair {pair} (hidden state and "
            f"cell state), got {got}"
        )
    return state[0], state[1]


def _zeros(batch_shape: tuple[int, ...], hidden: int, dtype: Any) -> Tensor:
    return Tensor(np.zeros(batch_shape + (hidden,), dtype), _copy=False)


class _CellBase(_RecurrentParams):
    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = np.float32
    ) -> None:
        super().__init__()
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self._make("", self.input_size, self.hidden_size, bias, dtype)

    def _suffixes(self) -> list[tuple[str, str]]:
        return [("", "")]

    def _input(self, x: Any) -> tuple[Tensor, bool]:
        x = as_input(x, self.weight_x.dtype)
        check_float(self, x, self.weight_x.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self.describe()} expects input (batch, {self.input_size}) or "
                f"({self.input_size},), got shape {x.shape}"
            )
        if x.ndim == 1:
            return ad.reshape(x, (1, self.input_size)), True
        return x, False

    def _state(self, h: Any, x: Tensor, unbatched: bool) -> Tensor:
        if h is None:
            return _zeros(x.shape[:1], self.hidden_size, x.dtype)
        h = as_input(h, self.weight_x.dtype)
        check_float(self, h, self.weight_x.dtype)
        if unbatched and h.ndim == 1:
            h = ad.reshape(h, (1, self.hidden_size))
        if h.shape != (x.shape[0], self.hidden_size):
            raise ValueError(
                f"{self.describe()}: state has shape {h.shape}, expected "
                f"({x.shape[0]}, {self.hidden_size}) (batch, hidden_size)"
            )
        return h

    def extra_repr(self) -> str:
        bias = getattr(self, "bias", None) is not None or getattr(self, "bias_x", None) is not None
        return f"{self.input_size}, {self.hidden_size}, bias={bias}"


def _unbatch(t: Tensor, unbatched: bool) -> Tensor:
    return ad.reshape(t, t.shape[1:]) if unbatched else t


class RNNCell(_CellBase):
    """One Elman step ``h' = tanh(x @ W_x + h @ W_h + b)`` (or ``nonlinearity="relu"``).

    Args:
        input_size, hidden_size: sizes of ``x`` and ``h``'s last axis.
        bias: learn ``b`` (hidden,).
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        dtype: parameter dtype (float32).

    ``forward(x, h=None)``: ``x`` (batch, input_size) or (input_size,); ``h``
    defaults to zeros. Returns ``h'``. Parameters: ``weight_x`` (input, hidden),
    ``weight_h`` (hidden, hidden), ``bias``; PyTorch's ``nn.RNNCell`` has
    ``weight_ih = weight_x.T`` (see the module docstring).

    Example:
        >>> import numpy as np
        >>> import nn
        >>> cell = nn.RNNCell(3, 5)
        >>> h = None
        >>> for x_t in np.ones((4, 2, 3), np.float32):  # 4 steps, batch 2
        ...     h = cell(x_t, h)
        >>> h.shape, h.dtype
        ((2, 5), dtype('float32'))
    """

    mode = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: Any = np.float32,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return extra + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")

    def forward(self, x: Any, h: Any = None) -> Tensor:
        """The next hidden state for input ``x`` and state ``h`` (zeros when None)."""
        x, unbatched = self._input(x)
        h = self._state(h, x, unbatched)
        out = ad.rnn_cell(x, h, self.weight_x, self.weight_h, self.bias, self.nonlinearity)
        return _unbatch(out, unbatched)


class LSTMCell(_CellBase):
    """One LSTM step (Hochreiter & Schmidhuber 1997, with a forget gate): returns ``(h', c')``.

    ``a = x @ W_x + h @ W_h + b`` split into gates i, f, g, o; ``c' = f*c + i*g``
    with i, f, o sigmoids and g a tanh; ``h' = o * tanh(c')``. The cell state
    ``c`` is updated additively, which is why gradients survive many steps.

    ``forward(x, state=None)``: ``state`` is ``(h, c)`` or None (zeros).
    Parameters ``weight_x`` (input, 4*hidden), ``weight_h`` (hidden, 4*hidden),
    ``bias`` (4*hidden,), gate blocks i, f, g, o as in PyTorch.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> cell = nn.LSTMCell(3, 5)
        >>> h, c = cell(np.ones((2, 3)))
        >>> h, c = cell(np.ones((2, 3)), (h, c))
        >>> h.shape, c.shape
        ((2, 5), (2, 5))
    """

    mode = "lstm"

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Tensor]:
        """``(h', c')`` for input ``x`` and ``state = (h, c)`` (zeros when None)."""
        x, unbatched = self._input(x)
        h, c = _lstm_state(self, state, "(h, c)")
        h = self._state(h, x, unbatched)
        c = self._state(c, x, unbatched)
        h, c = ad.lstm_cell(x, h, c, self.weight_x, self.weight_h, self.bias)
        return _unbatch(h, unbatched), _unbatch(c, unbatched)


class GRUCell(_CellBase):
    """One GRU step (Cho et al. 2014, PyTorch's formulation); returns ``h'``.

    ``r = sigmoid(x W_xr + b_xr + h W_hr + b_hr)``, ``z`` likewise,
    ``n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Parameters ``weight_x`` (input, 3*hidden), ``weight_h`` (hidden, 3*hidden),
    ``bias_x`` and ``bias_h`` (3*hidden,), gate blocks r, z, n.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> nn.GRUCell(3, 5)(np.ones((2, 3))).shape
        (2, 5)
    """

    mode = "gru"

    def forward(self, x: Any, h: Any = None) -> Tensor:
        """The next hidden state for input ``x`` and state ``h`` (zeros when None)."""
        x, unbatched = self._input(x)
        h = self._state(h, x, unbatched)
        out = ad.gru_cell(x, h, self.weight_x, self.weight_h, self.bias_x, self.bias_h)
        return _unbatch(out, unbatched)


class _RNNBase(_RecurrentParams):
    """The sequence layer: ``num_layers`` stacked, optionally bidirectional, recurrences."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = np.float32,
        unroll: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(
            type(self).__name__,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
        )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.bias = bool(bias)
        self.unroll = bool(unroll)
        directions = 2 if bidirectional else 1
        for layer in range(self.num_layers):
            n_in = self.input_size if layer == 0 else self.hidden_size * directions
            for d in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                self._make(suffix, n_in, self.hidden_size, bias, dtype)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def batch_axis(self) -> int:  # where summary() puts its batch of one
        return 0 if self.batch_first else 1

    def _suffixes(self) -> list[tuple[str, str]]:
        out = []
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                s = f"_l{layer}" + ("_reverse" if d else "")
                out.append((s, s))
        return out

    # --- the per-step recurrence; subclasses say what a state is and how one step runs
    def _initial(self, state: Any, batch: int, dtype: Any, unbatched: bool) -> list[Any]:
        raise NotImplementedError

    def _stepper(self, suffix: str) -> Callable[[Tensor, Any], Any]:
        """``step(xw_t, state) -> new state`` for one layer and direction (weights bound)."""
        raise NotImplementedError

    def _sequence(
        self, suffix: str, xw: Tensor, state: Any, reverse: bool, time_axis: int
    ) -> tuple[Tensor, Any]:
        """``(hidden states of every step, final state)`` from one sequence node."""
        raise NotImplementedError

    @staticmethod
    def _hidden(state: Any) -> Tensor:
        return state

    def _final(self, finals: list[Any], unbatched: bool) -> Any:
        raise NotImplementedError

    def _split_state(
        self, h: Any, name: str, batch: int, dtype: Any, unbatched: bool
    ) -> list[Tensor]:
        """A (layers*directions, batch, hidden) initial state as one Tensor per recurrence."""
        count = self.num_layers * self.num_directions
        if h is None:
            return [_zeros((batch,), self.hidden_size, dtype) for _ in range(count)]
        h = as_input(h, dtype)
        check_float(self, h, dtype)
        if unbatched and h.ndim == 2:
            h = ad.reshape(h, (h.shape[0], 1, h.shape[1]))
        want = (count, batch, self.hidden_size)
        if h.shape != want:
            raise ValueError(
                f"{self.describe()}: initial {name} has shape {h.shape}, expected {want} "
                "(num_layers * num_directions, batch, hidden_size)"
            )
        return list(ad.unstack(h, 0))

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Any]:
        """Run the whole sequence; returns ``(output, final_state)``.

        ``x`` is (T, batch, input_size), or (batch, T, input_size) with
        ``batch_first=True``, or unbatched (T, input_size). ``output`` holds the
        last layer's hidden state at every step, (T, batch, directions*hidden)
        (batch-first if asked); the forward and backward directions are
        concatenated on the last axis. The final state has shape
        (num_layers*directions, batch, hidden) (a pair ``(h_n, c_n)`` for LSTM).
        """
        dtype = self.weight_x_l0.dtype
        x = as_input(x, dtype)
        check_float(self, x, dtype)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self.describe()} expects input ({'batch, T' if self.batch_first else 'T, batch'}"
                f", {self.input_size}) or unbatched (T, {self.input_size}); got shape {x.shape}"
            )
        unbatched = x.ndim == 2
        if unbatched:
            x = ad.reshape(x, (x.shape[0], 1, x.shape[1]))
            time_axis = 0
        else:
            time_axis = 1 if self.batch_first else 0
        steps = x.shape[time_axis]
        batch = x.shape[1 - time_axis]
        if steps == 0:
            raise ValueError(f"{self.describe()}: the sequence is empty (length 0)")
        states = self._initial(state, batch, dtype, unbatched)

        layer_input = x
        finals: list[Any] = []
        for layer in range(self.num_layers):
            outputs = []
            for d in range(self.num_directions):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                b = getattr(self, "bias_x" + suffix if self.mode == "gru" else "bias" + suffix)
                # one node projects every time step; the loop only does the recurrence
                xw = ad.linear(layer_input, getattr(self, "weight_x" + suffix), b)
                s = states[layer * self.num_directions + d]
                if not self.unroll:
                    out, s = self._sequence(suffix, xw, s, bool(d), time_axis)
                    outputs.append(out)
                    finals.append(s)
                    continue
                xws = ad.unstack(xw, time_axis)
                step, hidden = self._stepper(suffix), self._hidden
                hs: list[Any] = [None] * steps
                # numbered step scopes let drawings roll the unrolled loop into one box; with
                # several layers or directions each recurrence has a scope of its own
                # ("l1_reverse"), so their steps are not drawn as one
                several = self.num_layers * self.num_directions > 1
                with ad.name_scope(suffix[1:]) if several else contextlib.nullcontext():
                    for t in range(steps - 1, -1, -1) if d else range(steps):
                        with ad.name_scope(f"step{t}"):
                            s = step(xws[t], s)
                        hs[t] = hidden(s)
                outputs.append(ad.stack_steps(hs, time_axis))
                finals.append(s)
            layer_input = outputs[0] if len(outputs) == 1 else ad.concatenate(outputs, -1)
            if self.dropout and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, self.training)
        out = layer_input
        if unbatched:
            out = ad.reshape(out, (steps, out.shape[-1]))
        return out, self._final(finals, unbatched)

    def _stack(self, hs: list[Tensor], unbatched: bool) -> Tensor:
        h = ad.stack_steps(hs, 0)
        return ad.reshape(h, (h.shape[0], h.shape[2])) if unbatched else h

    def extra_repr(self) -> str:
        parts = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if not self.bias:
            parts.append("bias=False")
        if self.batch_first:
            parts.append("batch_first=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.bidirectional:
            parts.append("bidirectional=True")
        if self.unroll:
            parts.append("unroll=True")
        return ", ".join(parts)


_LAYER_ARGS = """
    Args:
        input_size: features per time step.
        hidden_size: size of the hidden state (per direction).
        num_layers: stacked recurrences; layer k > 0 reads layer k-1's outputs.
        bias: learn biases.
        batch_first: inputs and outputs are (batch, T, features) instead of (T, batch, ...).
        dropout: dropout probability on the outputs of every layer but the last
            (training mode only).
        bidirectional: also run the sequence backwards; outputs concatenate both
            directions, (T, batch, 2*hidden).
        dtype: parameter dtype (float32; float64 for gradient checks).
        unroll: record one step node per time step (in ``step{t}`` name scopes)
            instead of one sequence node: same results, slower, and a graph that
            shows the recurrence unfolded in time.
"""


class RNN(_RNNBase):
    __doc__ = (
        """Elman RNN over a sequence: ``h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b)``.

    ``output, h_n = rnn(x, h_0=None)``; ``h_0`` and ``h_n`` are
    (num_layers * num_directions, batch, hidden). Parameters per layer k:
    ``weight_x_l{k}`` (in, H), ``weight_h_l{k}`` (H, H), ``bias_l{k}`` (H,), plus
    ``..._reverse`` for the backward direction. PyTorch mapping: see
    ``nn.layers.recurrent``.
"""
        + _LAYER_ARGS
        + """        nonlinearity: ``"tanh"`` or ``"relu"``.

    Example:
        >>> import numpy as np
        >>> import nn
        >>> rnn = nn.RNN(3, 8, num_layers=2, bidirectional=True)
        >>> out, h_n = rnn(np.ones((5, 4, 3)))  # T=5, batch=4
        >>> out.shape, h_n.shape
        ((5, 4, 16), (4, 4, 8))
        >>> out.sum().backward()
        >>> rnn.weight_h_l1_reverse.grad.shape
        (8, 8)
    """
    )

    mode = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = np.float32,
        unroll: bool = False,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype,
            unroll,
        )
        self.nonlinearity = nonlinearity

    def _initial(self, state: Any, batch: int, dtype: Any, unbatched: bool) -> list[Any]:
        return self._split_state(state, "state", batch, dtype, unbatched)

    def _stepper(self, suffix: str) -> Callable[[Tensor, Any], Any]:
        w_h, nonlinearity = getattr(self, "weight_h" + suffix), self.nonlinearity
        return lambda xw, h: ad.rnn_step(xw, h, w_h, nonlinearity)

    def _sequence(
        self, suffix: str, xw: Tensor, state: Any, reverse: bool, time_axis: int
    ) -> tuple[Tensor, Any]:
        w_h = getattr(self, "weight_h" + suffix)
        return ad.rnn_sequence(xw, state, w_h, self.nonlinearity, reverse, time_axis)

    def _final(self, finals: list[Any], unbatched: bool) -> Tensor:
        return self._stack(finals, unbatched)

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return extra + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(_RNNBase):
    __doc__ = (
        """Long short-term memory over a sequence; ``output, (h_n, c_n) = lstm(x, (h_0, c_0))``.

    Each step is an ``autodiff.lstm_step``: gates i, f, g, o from
    ``x_t @ W_x + h_{t-1} @ W_h + b``, ``c_t = f*c_{t-1} + i*g``, ``h_t = o*tanh(c_t)``.
    Parameters per layer k: ``weight_x_l{k}`` (in, 4H), ``weight_h_l{k}`` (H, 4H),
    ``bias_l{k}`` (4H,), gate blocks in PyTorch's order i, f, g, o, so
    ``torch weight_ih_l{k} = weight_x_l{k}.T`` and ``bias_ih + bias_hh = bias``.
"""
        + _LAYER_ARGS
        + """
    Example:
        >>> import numpy as np
        >>> import nn
        >>> lstm = nn.LSTM(3, 8, batch_first=True)
        >>> out, (h_n, c_n) = lstm(np.ones((4, 5, 3)))  # batch 4, T=5
        >>> out.shape, h_n.shape, c_n.shape
        ((4, 5, 8), (1, 4, 8), (1, 4, 8))
        >>> bool(np.allclose(out.data[:, -1], h_n.data[0]))
        True
    """
    )

    mode = "lstm"

    def _initial(self, state: Any, batch: int, dtype: Any, unbatched: bool) -> list[Any]:
        h0, c0 = _lstm_state(self, state, "(h_0, c_0)")
        hs = self._split_state(h0, "h_0", batch, dtype, unbatched)
        cs = self._split_state(c0, "c_0", batch, dtype, unbatched)
        return list(zip(hs, cs))

    def _stepper(self, suffix: str) -> Callable[[Tensor, Any], Any]:
        w_h = getattr(self, "weight_h" + suffix)
        return lambda xw, state: ad.lstm_step(xw, state[0], state[1], w_h)

    def _sequence(
        self, suffix: str, xw: Tensor, state: Any, reverse: bool, time_axis: int
    ) -> tuple[Tensor, Any]:
        w_h = getattr(self, "weight_h" + suffix)
        hs, h, c = ad.lstm_sequence(xw, state[0], state[1], w_h, reverse, time_axis)
        return hs, (h, c)

    @staticmethod
    def _hidden(state: Any) -> Tensor:
        return state[0]

    def _final(self, finals: list[Any], unbatched: bool) -> tuple[Tensor, Tensor]:
        return (
            self._stack([s[0] for s in finals], unbatched),
            self._stack([s[1] for s in finals], unbatched),
        )


class GRU(_RNNBase):
    __doc__ = (
        """Gated recurrent unit over a sequence; ``output, h_n = gru(x, h_0=None)``.

    Each step is ``autodiff.gru_step`` (PyTorch's formulation, gates r, z, n):
    ``n = tanh(x W_xn + b_xn + r * (h W_hn + b_hn))``, ``h' = (1 - z) n + z h``.
    Parameters per layer k: ``weight_x_l{k}`` (in, 3H), ``weight_h_l{k}`` (H, 3H),
    ``bias_x_l{k}`` and ``bias_h_l{k}`` (3H,) = PyTorch's ``bias_ih_l{k}``, ``bias_hh_l{k}``.
"""
        + _LAYER_ARGS
        + """
    Example:
        >>> import numpy as np
        >>> import nn
        >>> gru = nn.GRU(3, 8, num_layers=2, dropout=0.2)
        >>> out, h_n = gru(np.ones((6, 2, 3)))
        >>> out.shape, h_n.shape
        ((6, 2, 8), (2, 2, 8))
    """
    )

    mode = "gru"

    def _initial(self, state: Any, batch: int, dtype: Any, unbatched: bool) -> list[Any]:
        return self._split_state(state, "state", batch, dtype, unbatched)

    def _stepper(self, suffix: str) -> Callable[[Tensor, Any], Any]:
        w_h, b_h = getattr(self, "weight_h" + suffix), getattr(self, "bias_h" + suffix)
        return lambda xw, h: ad.gru_step(xw, h, w_h, b_h)

    def _sequence(
        self, suffix: str, xw: Tensor, state: Any, reverse: bool, time_axis: int
    ) -> tuple[Tensor, Any]:
        w_h, b_h = getattr(self, "weight_h" + suffix), getattr(self, "bias_h" + suffix)
        return ad.gru_sequence(xw, state, w_h, b_h, reverse, time_axis)

    def _final(self, finals: list[Any], unbatched: bool) -> Tensor:
        return self._stack(finals, unbatched)
