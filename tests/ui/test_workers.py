"""ui.workers: calls run in worker processes under the caller's budget (deadline, cancellation, progress)."""

import os
import threading
import time

import numpy as np
import pytest

from ui.workers import Elsewhere
from vi_core import budget
from vi_core.api import run_sampler
from vi_core.settings import Settings
from vi_core.targets import make_target


@pytest.fixture(scope="module")
def elsewhere():
    return Elsewhere()


def test_elsewhere_runs_in_a_worker_process_with_the_same_result(elsewhere):
    import functools
    import os

    settings = Settings(mcmc_steps=200, n_grid=60)
    fn = functools.partial(run_sampler, make_target("banana"), "emcee", 3, settings)
    with budget.within(60.0):
        there = elsewhere.call(fn)
    here = fn()
    np.testing.assert_array_equal(there.chain, here.chain)
    assert elsewhere.call(os.getpid) != os.getpid()


def test_elsewhere_forwards_cancellation_and_the_deadline(elsewhere):
    import functools

    slow = functools.partial(run_sampler, make_target("banana"), "rwm", 0, Settings(mcmc_steps=50_000, walkers=256))
    cancel = threading.Event()
    seen, cancelled_at = [], []

    def progress(stage, f):
        # cancel once the sampler's loop reports (a fixed delay raced the run's set-up on a loaded machine)
        seen.append((stage, f))
        if stage == "Random-walk Metropolis" and not cancel.is_set():
            cancelled_at.append(time.perf_counter())
            cancel.set()

    backstop = threading.Timer(30.0, cancel.set)  # never hang: without progress the assertion below fails
    backstop.start()
    try:
        with budget.within(60.0, cancel=cancel, progress=progress):
            with pytest.raises(budget.Cancelled):
                elsewhere.call(slow)
    finally:
        backstop.cancel()
    assert cancelled_at, f"no progress crossed over from the worker: {seen}"
    assert time.perf_counter() - cancelled_at[0] < 2.0, "the cancel reached the worker's loop"
    assert seen[-1][0] == "Random-walk Metropolis" and 0 < seen[-1][1] < 1, seen
    with budget.within(0.3), pytest.raises(budget.OutOfTime, match=r"budget"):
        elsewhere.call(_sleep_then_check)


def _span(seconds: float) -> tuple[int, float, float]:
    t0 = time.time()  # wall clock: comparable across processes
    time.sleep(seconds)
    return os.getpid(), t0, time.time()


def test_elsewhere_runs_calls_side_by_side_one_per_worker():
    import concurrent.futures
    import functools

    pair = Elsewhere(workers=2)
    pair.start(os.getpid)  # started and warmed: what follows measures only the calls
    with concurrent.futures.ThreadPoolExecutor(3) as ex:
        spans = list(ex.map(lambda _: pair.call(functools.partial(_span, 0.8)), range(3)))
    assert len({pid for pid, _, _ in spans}) == 2, "two worker processes, each reused"
    (_, _, a1), (_, b0, b1), (_, c0, _) = sorted(spans, key=lambda s: s[1])
    assert b0 < a1, "the first two calls ran at the same time"
    assert c0 >= min(a1, b1) - 0.05, "the third waited for a free worker"


class _Left(Exception):
    pass


def test_a_caller_leaving_early_stops_its_run_before_the_worker_is_reused(elsewhere):
    import functools

    slow = functools.partial(run_sampler, make_target("banana"), "rwm", 0, Settings(mcmc_steps=50_000, walkers=256))

    def leave(stage, fraction):
        raise _Left

    t0 = time.perf_counter()
    with budget.within(120.0, progress=leave), pytest.raises(_Left):
        elsewhere.call(slow)
    assert elsewhere.call(os.getpid) != os.getpid()
    assert time.perf_counter() - t0 < 20, "the run was stopped, not waited out (it takes minutes)"


def _sleep_then_check():
    time.sleep(0.5)
    budget.checkpoint()


def _streamlit_loaded() -> bool:
    import sys

    return "streamlit" in sys.modules


def test_a_worker_imports_the_budget_not_the_server(elsewhere):
    """The child's side (ui.workers._child_call) needs only vi_core.budget: no Streamlit in a worker."""
    assert not elsewhere.call(_streamlit_loaded)
