"""vi_core.budget: a run's deadline, cancellation and progress, as the run loop and scoring see them."""

import threading
import time

import numpy as np
import pytest

from vi_core import budget
from vi_core.api import run_sampler, run_vi
from vi_core.runner import Algorithm, run
from vi_core.settings import Settings
from vi_core.targets import make_target


def _counter_algorithm(delay: float = 0.0) -> Algorithm:
    def step(rng, state):
        if delay:
            time.sleep(delay)
        return state + 1, None

    return Algorithm(lambda rng: 0, step)


def test_outside_a_budget_everything_is_free():
    budget.checkpoint()
    budget.report("x", 0.5)
    assert budget.soft_left() == float("inf")
    assert run(_counter_algorithm(), 100, seed=0).states[-1] == 100


def test_a_cancel_event_stops_the_loop_at_the_next_step():
    cancel = threading.Event()
    seen = []

    def step(rng, state):
        if state == 5:
            cancel.set()
        seen.append(state)
        return state + 1, None

    with budget.within(60.0, cancel=cancel), pytest.raises(budget.Cancelled):
        run(Algorithm(lambda rng: 0, step), 1000, seed=0)
    assert seen[-1] == 5, "cancelled right after the step that saw the event"


def test_the_loop_stops_at_its_share_of_the_deadline_and_keeps_what_it_has():
    with budget.within(0.5):
        t0 = time.perf_counter()
        trace = run(_counter_algorithm(delay=0.01), 10_000, seed=0)
        spent = time.perf_counter() - t0
    # the loop may use LOOP_SHARE of the budget, leaving the rest for scoring
    assert 0.25 < spent < 0.5, spent
    assert 10 < trace.states[-1] < 10_000


def test_past_the_hard_deadline_checkpoint_raises_out_of_time():
    with budget.within(0.01):
        time.sleep(0.02)
        with pytest.raises(budget.OutOfTime, match=r"0\.01 s budget"):
            budget.checkpoint()


def test_progress_is_reported_by_stage_and_ends_in_scoring():
    seen = []
    with budget.within(60.0, progress=lambda stage, f: seen.append((stage, f))):
        run_vi(make_target("gaussian"), "gauss-mf", settings=Settings(vi_steps=100, n_grid=60))
    stages = [s for s, _ in seen]
    assert stages[0] == "Gaussian VI, mean-field" and stages[-1] == "scoring"
    fractions = [f for s, f in seen if s == stages[0]]
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1
    assert all(0 <= f <= 1 for _, f in seen)


def test_a_whole_sampler_run_honours_the_budget_and_its_scores_fit():
    """emcee asked for far more steps than fit: the run stops early, still scored, inside the hard limit."""
    t0 = time.perf_counter()
    # 4 s: the loop gets 60 % of it and scoring (~0.2 s alone) the rest, room enough when the browser tests load
    # both cores (with 1.5 s, scoring ran out of time in CI)
    with budget.within(4.0):
        res = run_sampler(make_target("banana"), "emcee", settings=Settings(mcmc_steps=50_000, walkers=64))
    spent = time.perf_counter() - t0
    # the hard limit is checked between steps and scoring chunks, so the last chunk may end a little past it on
    # a loaded machine; unbudgeted, this run takes minutes
    assert spent < 8.0, spent
    assert res.n_steps < 50_000 and np.isfinite(res.mmd).all()


def test_left_and_cancelled_tell_a_caller_what_to_forward():
    assert budget.left() == float("inf") and not budget.cancelled()
    cancel = threading.Event()
    with budget.within(10.0, cancel=cancel):
        assert 9.0 < budget.left() <= 10.0 and not budget.cancelled()
        cancel.set()
        assert budget.cancelled()
    with budget.within(0.0):
        time.sleep(0.01)
        assert budget.left() == 0.0


def test_any_object_with_is_set_can_cancel():
    """A worker process passes a shared-memory flag, not a threading.Event."""

    class Flag:
        value = False

        def is_set(self):
            return self.value

    flag = Flag()
    with budget.within(60.0, cancel=flag):
        budget.checkpoint()
        flag.value = True
        with pytest.raises(budget.Cancelled):
            budget.checkpoint()
