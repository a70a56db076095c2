"""Scaling's runs: one method on one data set under a wall-clock budget, scored at ~50 checkpoints
(``run_one``), and every method at every N (``sweep``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from vi_core.runner import Algorithm, run
from vi_core.scaling.data import LogisticData, dataset
from vi_core.scaling.methods import METHODS
from vi_core.scaling.model import LogisticPosterior, LogisticReference, reference
from vi_core.scaling.records import ScaleRecord
from vi_core.scaling.score import ACCURACY, Recorder, time_to_accuracy

__all__ = ["run_one", "sweep"]


def _check_methods(methods) -> None:
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"unknown scaling method {m!r}; choose from {', '.join(METHODS)}")


def _stopped(t_last: int, max_steps: int, last_time: float, budget_s: float, reason: str) -> str:
    if t_last < max_steps and last_time > budget_s and not reason:
        return "budget"
    return (reason or "converged") if t_last < max_steps else "steps"


def _checkpoints(t_last: int) -> np.ndarray:
    """About 50 log-spaced steps, the initial state and the last step included."""
    idx = np.unique(np.concatenate([[0], np.round(np.logspace(0, math.log10(max(t_last, 1)), 50)), [t_last]]))
    return idx[idx <= t_last].astype(int)


def run_one(
    data: LogisticData,
    method: str,
    budget_s: float = 10.0,
    seed: int = 0,
    batch: int = 100,
    ref: LogisticReference | None = None,
) -> ScaleRecord:
    """Run one method on the data under a wall-clock budget (vi_core.runner.run: it overruns by at most one call of
    the method's step) and score ~50 log-spaced checkpoints against the reference (computed here when not given) by
    the fair rule (vi_core.scaling.score). Recording each step's moments and rows is inside the clock (it is O(1) a
    step); scoring, and the control-variate methods' measured gradient-variance reduction, are after the run.
    batch: the plain minibatch methods' B (the control-variate methods have their own, ``ScaleMethod.batch``)."""
    _check_methods([method])
    if not (isinstance(budget_s, (int, float)) and math.isfinite(budget_s) and budget_s > 0):
        raise ValueError(f"budget must be a positive number of seconds, got {budget_s!r}")
    if int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch!r}")
    spec = METHODS[method]
    post = LogisticPosterior(data)
    ref = reference(post) if ref is None else ref
    rec = Recorder(ref)
    plan = spec.build(post, int(spec.batch or batch))
    algo, rows = plan.algo, plan.rows
    if plan.moments is not None:
        moments = plan.moments

        def note(s):
            rec.add_moments(*moments(s))
            rec.add_rows(rows())
    else:
        draws, warm = plan.draws, plan.warm

        def note(s):
            rec.add_draws(draws(s), None if warm is None else warm(s))
            rec.add_rows(rows())

    last = []

    def init(rng):
        s = algo.init(rng)
        note(s)
        last[:] = [s]
        return s

    def step(rng, s):
        s, info = algo.step(rng, s)
        note(s)
        last[:] = [s]
        return s, info

    trace = run(
        Algorithm(init, step, keep=lambda s: None),
        plan.max_steps,
        seed,
        stop=rec.stop,
        time_budget_s=budget_s,
        counter=plan.counter,
    )
    t_last = len(trace.times) - 1
    idx = _checkpoints(t_last)
    times = trace.times[idx]
    mean_err = np.array([rec.mean_error(i) for i in idx])
    sd_err = np.array([rec.sd_error(i) for i in idx])
    accuracy = np.asarray(ACCURACY.score(mean_err, sd_err), dtype=float)
    var_ratio = np.array([rec.vars[i] / np.diag(ref.cov) for i in idx])
    rows_at = np.array([rec.rows[i] for i in idx], dtype=float)
    t_acc = time_to_accuracy(times, accuracy)
    rows_acc = None if t_acc is None else int(rows_at[np.searchsorted(times, t_acc)])
    dens, grads = (int(v) for v in trace.evals[-1])
    warm_s = None
    if plan.warm is not None and 0 < rec.warm_until <= t_last:
        warm_s = float(trace.times[rec.warm_until])  # the first draw after warm-up
    gvr = None
    if plan.grad_var is not None and last:
        gvr = plan.grad_var(last[0])  # a diagnostic after the run, off its clock
    return ScaleRecord(
        n=post.n,
        method=method,
        kind=spec.kind,
        minibatch=spec.minibatch,
        times=times,
        mean_err=mean_err,
        var_ratio=var_ratio,
        accuracy=accuracy,
        time_to_accuracy_s=t_acc,
        final_accuracy=float(accuracy[-1]),
        n_density_evals=dens,
        n_grad_evals=grads,
        budget_s=float(budget_s),
        stopped=_stopped(t_last, plan.max_steps, float(trace.times[-1]), budget_s, rec.reason),
        sd_err=sd_err,
        rows=rows_at,
        rows_touched=int(rec.rows[-1]),
        rows_to_accuracy=rows_acc,
        warmup_excluded=True,
        grad_var_reduction=gvr,
        warmup_s=warm_s,
    )


def sweep(
    ns,
    methods=None,
    name: str = "synthetic",
    budget_s: float = 10.0,
    seed: int = 0,
    centred: bool = True,
    batch: int = 100,
    progress: Callable[[float, str], None] | None = None,
) -> list[ScaleRecord]:
    """Every method at every N (one data set and reference per N); progress(fraction, message) after each run."""
    methods = list(METHODS) if methods is None else list(methods)
    _check_methods(methods)
    ns = list(ns)
    out, total, done = [], len(ns) * len(methods), 0
    for n in ns:
        data = dataset(name, n, seed=seed, centred=centred)
        ref = reference(LogisticPosterior(data))
        for m in methods:
            r = run_one(data, m, budget_s=budget_s, seed=seed, batch=batch, ref=ref)
            out.append(r)
            done += 1
            if progress is not None:
                t = r.time_to_accuracy_s
                reached = f"reached in {t:.3g} s" if t is not None else f"not reached in {budget_s:g} s"
                progress(done / total, f"N = {r.n:,}, {METHODS[m].label}: {reached}")
    return out
