"""graph_stats and the graph-growth warning (on the classic mistakes, silent on correct loops)."""

import sys
import time
import warnings

import numpy as np
import pytest

import autodiff as ad
from autodiff import diagnostics
from autodiff.diagnostics import GraphGrowthWarning


@pytest.fixture(autouse=True)
def _fresh_monitors():
    diagnostics.growth.reset()
    diagnostics.stats_growth.reset()
    yield
    diagnostics.growth.enabled = True


def _growth_warnings(fn) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [w for w in caught if issubclass(w.category, GraphGrowthWarning)]


# ------------------------------------------------------------------ graph_stats
def test_counts_nodes_depth_leaves_and_bytes_once_per_array():
    x = ad.tensor(np.ones(100), requires_grad=True)  # 800 bytes
    a = x * x  # x used twice: counted once
    b = a.exp()
    loss = (a + b).sum()
    s = ad.graph_stats(loss)
    assert s.nodes == 4 and s.leaves == 1
    assert s.depth == 4  # mul -> exp -> add -> sum
    # x, a, b, a+b (800 each) and the 8-byte loss; exp keeps its output (b) for backward
    assert s.saved_bytes == 4 * 800 + 8
    assert s.by_op == {"mul": 1, "exp": 1, "add": 1, "sum": 1}
    assert "4 nodes, depth 4, 1 leaves" in str(s)


def test_views_count_their_whole_buffer():
    big = ad.tensor(np.ones((100, 100)), requires_grad=True)
    row = big[0]  # getitem copies; reshape is a view of `big`
    flat = big.reshape(-1)
    s = ad.graph_stats(flat.sum() + row.sum())
    assert s.saved_bytes == 80_000 + 800 + 8 + 8 + 8


def test_leaf_and_released_graph():
    x = ad.tensor([1.0], requires_grad=True)
    assert ad.graph_stats(x) == ad.GraphStats(nodes=0, depth=0, saved_bytes=4, leaves=1)
    loss = (x * 2).sum()
    loss.backward()
    s = ad.graph_stats(loss)
    assert s.nodes == 1 and s.released == 1 and "already released" in str(s)


def test_100k_chain_without_recursion():
    assert sys.getrecursionlimit() <= 10_000
    x = ad.tensor(np.float64(0.5), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    t0 = time.perf_counter()
    s = ad.graph_stats(y)
    assert time.perf_counter() - t0 < 10
    assert s.nodes == 100_000 and s.depth == 100_000 and s.leaves == 1


def test_depth_is_the_longest_path():
    x = ad.tensor(1.0, requires_grad=True)
    long = x
    for _ in range(5):
        long = long.tanh()
    assert ad.graph_stats(long + x * 2).depth == 6


# ------------------------------------------------------------- growth warning
def _rnn_step_data():
    rng = np.random.default_rng(0)
    w = ad.tensor(rng.normal(scale=0.3, size=(4, 4)), requires_grad=True)
    xs = rng.normal(size=(20, 5, 1, 4))
    return w, xs


def test_warns_when_the_rnn_state_is_not_detached():
    w, xs = _rnn_step_data()

    def train():
        h = ad.tensor(np.zeros((1, 4)))
        for batch in xs:
            for x in batch:
                h = (h @ w + x).tanh()
            loss = (h**2).sum()
            loss.backward(retain_graph=True)  # what people add when they hit the error

    caught = _growth_warnings(train)
    assert len(caught) == 1  # once per line, not once per step
    w0 = caught[0]
    assert w0.filename == __file__  # attributed to the user's `loss = ...` line
    msg = str(w0.message)
    assert "has grown on each of the last 8 backward() calls" in msg
    assert "h = h.detach()" in msg and "total_loss += loss.item()" in msg


def test_silent_when_the_rnn_state_is_detached():
    w, xs = _rnn_step_data()

    def train():
        h = ad.tensor(np.zeros((1, 4)))
        for batch in xs:
            h = h.detach()
            for x in batch:
                h = (h @ w + x).tanh()
            loss = (h**2).sum()
            loss.backward()

    assert _growth_warnings(train) == []


def test_warns_when_backward_runs_on_a_running_total():
    w = ad.tensor(np.ones(3), requires_grad=True)

    def train():
        total = ad.tensor(0.0)
        for _ in range(12):
            loss = (w * 2.0).sum()
            total = total + loss
            total.backward(retain_graph=True)

    assert len(_growth_warnings(train)) == 1


def test_graph_stats_catches_a_total_that_is_only_printed():
    w = ad.tensor(np.ones(3), requires_grad=True)

    def train(detach):
        total = 0.0
        for _ in range(12):
            loss = (w * 2.0).sum()
            loss.backward()
            total += loss.item() if detach else loss
            ad.graph_stats(ad.tensor(0.0) + total)

    caught = _growth_warnings(lambda: train(detach=False))
    assert len(caught) == 1 and "graph_stats() calls" in str(caught[0].message)
    diagnostics.stats_growth.reset()
    assert _growth_warnings(lambda: train(detach=True)) == []


def test_silent_on_random_sequence_lengths():
    rng = np.random.default_rng(1)
    w = ad.tensor(rng.normal(scale=0.3, size=(4, 4)), requires_grad=True)

    def train():
        for _ in range(300):
            h = ad.tensor(np.zeros((1, 4)))
            for _ in range(int(rng.integers(1, 30))):
                h = (h @ w).tanh()
            loss = h.sum()
            loss.backward()

    assert _growth_warnings(train) == []


def test_can_be_switched_off():
    w, xs = _rnn_step_data()
    diagnostics.growth.enabled = False

    def train():
        h = ad.tensor(np.zeros((1, 4)))
        for x in xs[:, 0]:
            h = (h @ w + x).tanh()
            h.sum().backward(retain_graph=True)

    assert _growth_warnings(train) == []
