"""Regressions found reviewing the in-place check, the checking tools, conv/pool and the drawings
(71f3893, 3e8240f, 70a8c3d, 87b5fa3); each test failed before its fix."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.registry import Domain
from autodiff.viz.recording import from_steps

F32 = np.float32


# ---------------------------------------------------------------- in-place check: false negatives
def test_a_change_seen_through_a_transposed_view_is_refused():
    # x @ w.T: matmul's input is the transpose's output, a view of w's array
    w = nn.Parameter(np.array([[1.0, 2.0], [3.0, 4.0]], F32), name="w")
    x = ad.tensor(np.array([[1.0, 1.0]], F32), requires_grad=True)
    loss = (x @ w.T).sum()
    with ad.no_grad():
        w -= 10.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()  # before the fix: x.grad = [[-16, -14]] instead of [[3, 7]]


def test_a_change_seen_through_detach_is_refused():
    w = nn.Parameter(np.array([1.0, 2.0], F32), name="w")
    x = ad.tensor(np.array([1.0, 1.0], F32), requires_grad=True)
    loss = (x * w.detach()).sum()
    with ad.no_grad():
        w -= 10.0
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()  # before the fix: x.grad = [-9, -8] instead of [1, 2]


@pytest.mark.parametrize(
    "make, shape",
    [(lambda: nn.PReLU(3), (4, 3, 2, 2)), (lambda: nn.BatchNorm2d(3), (4, 3, 2, 2))],
    ids=["PReLU", "BatchNorm2d"],
)
def test_layers_that_reshape_their_weights_are_checked(make, shape):
    # both reshape a (C,) parameter into a view before the mul that reads it
    layer = make()
    x = ad.tensor(np.random.default_rng(0).standard_normal(shape).astype(F32), requires_grad=True)
    loss = (layer(x) ** 2).sum()
    loss.backward(retain_graph=True)
    nn.optim.SGD(layer.parameters(), lr=0.5).step()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_nn_init_in_place_marks_the_change():
    lin = nn.Linear(2, 2)
    x = ad.tensor(np.ones((1, 2), F32), requires_grad=True)
    loss = (lin(x) ** 2).sum()
    nn.init.normal_(lin.weight, std=5.0)  # writes weight.data[...] without mark_changed
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_a_change_made_during_backward_is_seen():
    # the engine compares with a snapshot of config.changes taken when backward starts
    w = nn.Parameter(np.array([2.0], F32), name="w")
    x = ad.tensor(np.array([3.0], F32), requires_grad=True)

    class UpdateInBackward(ad.Function):  # an "optimizer in backward" hook
        reads_inputs = False

        def forward(self, y):
            return y.copy()

        def backward(self, gy):
            p = w
            with ad.no_grad():
                p -= 100.0
            return gy

    loss = UpdateInBackward()(x * w).sum()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()  # before the fix: x.grad = [-98] (w after the update) instead of [2]


# ---------------------------------------------------------------- conv/pool lock and fork
def test_pooling_in_a_child_forked_while_a_kernel_runs_does_not_hang():
    script = textwrap.dedent(
        """
        import os, sys, threading, time
        import numpy as np
        import autodiff as ad
        from autodiff.ops import conv
        x = ad.tensor(np.zeros((32, 16, 64, 64), np.float32))
        ad.avg_pool2d(x, 2)  # compile
        held, go = threading.Event(), threading.Event()
        def busy():  # a thread inside a parallel kernel at the moment of the fork
            with conv._PARALLEL:
                held.set(); go.wait()
        t = threading.Thread(target=busy); t.start(); held.wait()
        pid = os.fork()
        if pid == 0:
            ad.avg_pool2d(x, 2)  # avg_pool2d has no serial twin: waits for the lock
            os._exit(0)
        go.set(); t.join()
        for _ in range(200):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                sys.exit(0)
            time.sleep(0.05)
        os.kill(pid, 9); os.waitpid(pid, 0)
        sys.exit(3)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=120)
    assert result.returncode == 0, "the forked child hung on conv._PARALLEL"


# ---------------------------------------------------------------- viz
def test_from_steps_seed_of_an_intermediate_output():
    # drawing the part of a recorded backward below an intermediate tensor
    x = ad.tensor(3.0, requires_grad=True)
    a = x * x
    loss = a * 5
    with ad.record_backward() as steps:
        loss.backward()
    rec = from_steps([a], steps)
    assert float(rec.seed_of(a)) == 5.0  # 0.0 before the fix: the mul above `a` is subtracted


# ---------------------------------------------------------------- checking tools
def test_a_domain_with_a_list_of_kinks_still_works():
    # accepted (and honoured) before 3e8240f; now a TypeError
    d = Domain(-2.0, 2.0, avoid=[0.0])
    assert d.intervals() == [(-2.0, -0.05), (0.05, 2.0)]
