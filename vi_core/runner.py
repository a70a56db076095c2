"""One loop for every iterative method: init/step pairs, timed snapshots.

An ``Algorithm`` is a pair of pure functions (blackjax style):
``init(rng) -> State`` and ``step(rng, state) -> (State, Info)``. ``run`` calls them,
keeps every state and info, and stamps each with ``time.perf_counter`` so the UI can
replay any method -- or all of them on one time axis. Diagnostics that are not part
of the algorithm (exact ELBO, distances) are computed afterwards, outside the clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from vi_core import budget

__all__ = ["Algorithm", "Trace", "recorded", "run", "snapshot_indices"]


class Algorithm(NamedTuple):
    """init(rng) -> State; step(rng, state) -> (State, Info); keep(state) -> what the trace
    records of each state (default: the state itself; a sampler whose state carries a
    random-number generator keeps only its positions)."""

    init: Callable[[np.random.Generator], Any]
    step: Callable[[np.random.Generator, Any], tuple[Any, Any]]
    keep: Callable[[Any], Any] | None = None


def recorded(algorithm: Algorithm, n_updates: int, n_states: int) -> tuple[Algorithm, int]:
    """The algorithm with ceil(n_updates / n_states) of its steps in each step, and the steps that cover n_updates:
    a method of many cheap updates keeps about n_states states in its trace (each scored afterwards), not one per
    update. The info returned is the last update's."""
    k = max(1, math.ceil(n_updates / n_states))
    if k == 1:
        return algorithm, n_updates

    def step(rng, state):
        for _ in range(k):
            state, info = algorithm.step(rng, state)
        return state, info

    return algorithm._replace(step=step), math.ceil(n_updates / k)


class Trace(NamedTuple):
    """states: [init state, state after step 1, ...] (as ``Algorithm.keep`` records them); infos: one per step;
    times (n + 1,): seconds since the start of ``init`` at which each state existed; evals (n + 1, 2): what
    ``counter()`` said after init and after each step (density and gradient evaluations), None without one."""

    states: list
    infos: list
    times: np.ndarray
    evals: np.ndarray | None = None


def run(
    algorithm: Algorithm,
    n_steps: int,
    seed: int,
    stop: Callable[[Any, Any], bool] | None = None,
    time_budget_s: float | None = None,
    counter: Callable[[], tuple[int, int]] | None = None,
    stage: str = "run",
) -> Trace:
    """Run ``n_steps`` steps (fewer if ``stop(state, info)`` or the time budget says so).
    counter: read after init and after every step (e.g. vi_core.counting.Counted.counts).
    Under a vi_core.budget: stops stepping when the loop's share of the run's time is used,
    raises when cancelled, and reports (stage, fraction of n_steps) about 50 times."""
    rng = np.random.default_rng(seed)
    time_budget_s = min(math.inf if time_budget_s is None else time_budget_s, budget.soft_left())
    every = max(1, n_steps // 50)
    t0 = time.perf_counter()
    keep = algorithm.keep or (lambda s: s)
    state = algorithm.init(rng)
    states, infos, times = [keep(state)], [], [time.perf_counter() - t0]
    count = counter or (lambda: (0, 0))
    evals = [count()]
    step = algorithm.step
    for _ in range(n_steps):
        state, info = step(rng, state)
        now = time.perf_counter() - t0
        states.append(keep(state))
        infos.append(info)
        times.append(now)
        evals.append(count())
        if (stop is not None and stop(state, info)) or now > time_budget_s:
            break
        budget.checkpoint()  # a context-variable read when no budget is set: cheap beside any step
        if len(infos) % every == 0:
            budget.report(stage, len(infos) / n_steps)
    return Trace(states, infos, np.asarray(times), np.asarray(evals, dtype=np.int64) if counter else None)


def snapshot_indices(n: int, k: int = 60) -> np.ndarray:
    """About k indices into n snapshots, dense early (log-spaced) and even later, (S,)."""
    if n <= k:
        return np.arange(n)
    idx = np.concatenate([[0], np.geomspace(1, n - 1, k // 2), np.linspace(0, n - 1, k // 2)])
    return np.unique(idx.astype(int))
