"""autodiff.threads: per-image work split over the cores with OpenBLAS at one thread."""

import os
import signal
import threading
import time

import numpy as np
import pytest

from autodiff import threads
from autodiff.kernels import runtime


def expected_available() -> bool:
    """What ``threads.available()`` should say on this machine, worked out independently."""
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    return (
        "openblas" in blas.lower()
        and threads.worker_count() >= 2
        and os.environ.get("SEEGRAD_TUNE", "1") != "0"
    )


def test_split_is_available_exactly_when_numpy_uses_openblas_and_there_are_cores():
    assert threads.available() == expected_available()


def test_run_split_calls_every_index_once_on_every_worker():
    seen, idents = [], set()

    def work(i):
        seen.append(i)
        idents.add(threading.get_ident())
        time.sleep(0.01)  # long enough for every helper to start and take indices

    threads.run_split(work, 12)
    assert sorted(seen) == list(range(12))
    assert len(idents) == (threads.worker_count() if expected_available() else 1)


def test_blas_runs_on_one_thread_inside_a_split_and_is_restored_after():
    blas = runtime.openblas()
    if blas is None:
        assert not threads.available()
        return
    before = blas.get_num_threads()
    inside = []
    threads.run_split(lambda i: inside.append(blas.get_num_threads()), 4)
    assert set(inside) == ({1} if threads.available() else {before})
    assert blas.get_num_threads() == before


def test_an_exception_in_work_reaches_the_caller_and_leaves_the_split_usable():
    blas = runtime.openblas()
    before = blas.get_num_threads() if blas else None

    def work(i):
        if i == 3:
            raise ValueError("image 3 is broken")

    with pytest.raises(ValueError, match="image 3"):
        threads.run_split(work, 6)
    if blas:
        assert blas.get_num_threads() == before
    done = []
    threads.run_split(done.append, 5)
    assert sorted(done) == list(range(5))


def test_a_split_inside_a_split_runs_on_the_worker_that_asked():
    outer = {}

    def work(i):
        inner = []
        threads.run_split(lambda j: inner.append(threading.get_ident()), 3)
        outer[i] = set(inner) == {threading.get_ident()} and len(inner) == 3

    threads.run_split(work, 4)
    assert outer == {0: True, 1: True, 2: True, 3: True}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform has no fork()")
def test_a_forked_child_gets_a_working_split():
    threads.run_split(lambda i: None, 4)  # the parent's pool exists before the fork
    pid = os.fork()
    if pid == 0:  # the child: must not hang on the parent's (absent) pool threads
        signal.alarm(10)
        try:
            out = []
            threads.run_split(out.append, 4)
            os._exit(0 if sorted(out) == [0, 1, 2, 3] else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_tune_shortens_openblas_spinning_without_leaving_the_variable_set():
    blas = runtime.openblas()
    # An OPENBLAS_THREAD_TIMEOUT still in the environment can only be the user's own.
    expected = (
        blas is not None
        and "OPENBLAS_THREAD_TIMEOUT" not in os.environ
        and os.environ.get("SEEGRAD_TUNE", "1") != "0"
        and hasattr(blas.library, "openblas_read_env")
    )
    assert any(line.startswith("OpenBLAS") for line in runtime.TUNED) == expected
    if expected:
        blas.library.openblas_thread_timeout.restype = int
        assert blas.library.openblas_thread_timeout() == 20
