"""Scaling: the cost, in seconds and in rows touched, of reaching the fair accuracy, from N = 100 to 1,000,000.

    python -m benchmarks.scaling [--n 1e2,1e3,...] [--methods a,b] [--budget S] [--batch B] [--uncentred]
                                 [--seed S] [--write PATH]
    python -m benchmarks.scaling --overhead     # per-step interpreter overhead of minibatch VI against its arithmetic
    python -m benchmarks.scaling --tune         # the control-variate methods' batch and schedule, by measurement

Synthetic logistic regression (vi_core.scaling.dataset), every method under the same wall-clock budget per
(N, method), scored against the exact reference at ~50 checkpoints by the fair rule (vi_core.scaling.ACCURACY: the
mean within 0.1 posterior sd AND the sd within 10 %, on both coordinates; MCMC on its draws after warm-up). Prints
per N and method the time and rows touched to accuracy, the final errors, the measured gradient-variance reduction of
the control-variate methods and how the run ended; then the fitted slopes of log cost against log N in seconds and in
rows, and at the largest N the best minibatch VI against NUTS (time) and against the best full-data MCMC (rows). A
method that does not reach the accuracy within its budget is reported as such. --write PATH also saves everything
as JSON for the app (vi_core/data/scaling_precomputed.json is where the page looks). Asserts nothing.

The default run (5 sizes x 8 methods, 90 s budget) takes about 7 minutes on a 2-core machine: most runs converge (or
settle short of the accuracy, by their bias) and stop early; at N = 10^6 emcee, full-batch VI and NUTS use their
whole budget (NUTS reaches the accuracy after about a minute there: its warm-up alone is 250 iterations of a few full
passes each). Plain minibatch VI runs with B = 1000 (at N = 10^6 B = 100 needs ~10x the steps); the control-variate
methods with their own B = 100 (--tune).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import numpy as np

from vi_core import scaling
from vi_core.scaling import methods as scale_methods
from vi_core.scaling.records import write_sweep

__all__ = ["main", "overhead", "tune"]


def _fmt(v, width: int, spec: str, none: str = "—") -> str:
    return format(v, f"{width}{spec}") if v is not None else format(none, f">{width}")


def overhead(n: int = 1_000_000, batches=(100, 1000), steps: int = 4000) -> None:
    """Per minibatch VI step at N = n: the wall time of the loop's steps (vi_core.scaling.vi, through the registry's
    minibatch-fr) against the batch's arithmetic alone (the same K x B linear predictor, sigmoid and reduction,
    computed for 200 batches in one numpy call, per batch): the difference is the interpreter's overhead per step."""
    from scipy.special import expit

    data = scaling.dataset("synthetic", n, seed=0)
    post = scaling.LogisticPosterior(data)
    k = scale_methods.VI_DRAWS
    for b in batches:
        x, y = data.x[: 200 * b].reshape(200, b), data.y[: 200 * b].reshape(200, b)
        z = np.random.default_rng(0).normal(size=(k, 2)) * 0.01
        arith = []
        for _ in range(5):
            t0 = time.perf_counter()
            eta = z[None, :, :1] + z[None, :, 1:] * x[:, None, :]
            r = y[:, None, :] - expit(eta)
            np.stack([r.sum(-1), np.einsum("rkb,rb->rk", r, x)], -1)
            arith.append((time.perf_counter() - t0) / 200)
        plan = scaling.METHODS["minibatch-fr"].build(post, b)
        per_step = []
        for rep in range(3):
            s = plan.algo.init(np.random.default_rng(rep))
            rng = np.random.default_rng(rep + 10)
            calls = steps // scale_methods.INNER
            t0 = time.perf_counter()
            for _ in range(calls):
                s, _ = plan.algo.step(rng, s)
            per_step.append((time.perf_counter() - t0) / (calls * scale_methods.INNER))
        a, p = min(arith), min(per_step)
        print(f"N = {n:,}, B = {b}, K = {k}: a step {p * 1e6:.1f} us, the batch's arithmetic {a * 1e6:.1f} us, "
              f"overhead {(p - a) * 1e6:.1f} us a step ({scale_methods.INNER} steps per loop call)")  # fmt: skip


def tune(n: int = 1_000_000, seeds=(0, 1)) -> None:
    """The control-variate VI's batch size and learning-rate hold, by measurement at N = n: time and rows to the fair
    accuracy for B in (100, 300, 1000) and t0 in (200, 500, 1000), over seeds (the median)."""
    data = scaling.dataset("synthetic", n, seed=0)
    ref = scaling.reference(scaling.LogisticPosterior(data))
    keep, spec = scale_methods.CV_T0, scale_methods.METHODS["minibatch-cv"]
    try:
        for b in (100, 300, 1000):
            scale_methods.METHODS["minibatch-cv"] = spec._replace(batch=b)
            for t0 in (200, 500, 1000):
                scale_methods.CV_T0 = t0
                rs = [scaling.run_one(data, "minibatch-cv", budget_s=10.0, seed=s, ref=ref) for s in seeds]
                t = [r.time_to_accuracy_s for r in rs]
                rows = [r.rows_to_accuracy for r in rs]
                med = f"{np.median(t):.3g} s" if None not in t else "not reached"
                print(f"N = {n:,}, minibatch-cv, B = {b:5d}, t0 = {t0:5d}: time to accuracy {med} (median of "
                      f"{len(seeds)}), rows {rows}")  # fmt: skip
                sys.stdout.flush()
    finally:
        scale_methods.CV_T0, scale_methods.METHODS["minibatch-cv"] = keep, spec


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.splitlines()[0])
    p.add_argument("--n", default="1e2,1e3,1e4,1e5,1e6", help="comma-separated data sizes")
    p.add_argument("--methods", default=",".join(scaling.METHODS))
    p.add_argument("--budget", type=float, default=90.0, help="seconds per (N, method)")
    p.add_argument("--batch", type=int, default=1000, help="plain minibatch methods' batch (the API default is 100)")
    p.add_argument("--uncentred", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", metavar="PATH", help="also write the records as JSON")
    p.add_argument("--overhead", action="store_true", help="measure minibatch VI's per-step overhead, then exit")
    p.add_argument("--tune", action="store_true", help="the control-variate VI's batch and schedule, then exit")
    args = p.parse_args(argv)
    if args.overhead:
        overhead()
        return 0
    if args.tune:
        tune()
        return 0
    ns = [int(float(v)) for v in args.n.split(",")]
    names = args.methods.split(",")
    machine = (
        f"{platform.node() or 'host'}: {platform.machine()}, {platform.processor() or platform.system()}, "
        f"{os.cpu_count()} CPUs, python {platform.python_version()}, numpy {np.__version__}"
    )
    rule = scaling.ACCURACY
    print(f"{machine} · budget {args.budget:g} s per run · batch {args.batch} (control variate "
          f"{scale_methods.CV_BATCH}) · accurate: mean within {rule.mean_sd:g} sd and sd within "
          f"{rule.sd_rel:.0%}")  # fmt: skip
    head = (f"{'N':>9} {'method':<14} {'t_acc s':>9} {'rows_acc':>9} {'mean err':>8} {'sd err':>7} {'rows':>9} "
            f"{'grad var ÷':>10} {'ended':<9}")  # fmt: skip
    print(head)
    print("-" * len(head))
    records: list[scaling.ScaleRecord] = []
    for n in ns:
        data = scaling.dataset("synthetic", n, seed=args.seed, centred=not args.uncentred)
        ref = scaling.reference(scaling.LogisticPosterior(data))
        print(f"# N = {n:,}: reference {ref.seconds:.2f} s, posterior sd {np.sqrt(np.diag(ref.cov))}, "
              f"corr {ref.corr:.3f}")  # fmt: skip
        for m in names:
            r = scaling.run_one(data, m, budget_s=args.budget, seed=args.seed, batch=args.batch, ref=ref)
            records.append(r)
            s = r.summary()
            print(f"{n:9d} {m:<14} {_fmt(s['time_to_accuracy_s'], 9, '.3g', 'no')} "
                  f"{_fmt(s['rows_to_accuracy'], 9, '.3g')} {_fmt(s['mean_error'], 8, '.3f')} "
                  f"{_fmt(s['sd_error'], 7, '.3f')} {s['rows_touched']:9.3g} "
                  f"{_fmt(s['grad_var_reduction'], 10, '.3g')} {r.stopped:<9}")  # fmt: skip
            sys.stdout.flush()
    print()
    for m in names:
        st, sr = scaling.slope(records, m), scaling.slope(records, m, "rows")
        print(f"slope of log cost to accuracy against log N, {m:<14}: {'—' if st is None else f'{st:.2f}'} in "
              f"seconds, {'—' if sr is None else f'{sr:.2f}'} in rows")  # fmt: skip
    _at_the_top(records, max(ns), args.budget)
    if args.write:
        settings = {
            "name": "synthetic",
            "ns": ns,
            "methods": names,
            "budget_s": args.budget,
            "batch": args.batch,
            "cv_batch": scale_methods.CV_BATCH,
            "centred": not args.uncentred,
            "seed": args.seed,
            "accuracy": {"mean_sd": rule.mean_sd, "sd_rel": rule.sd_rel},
            "warmup_excluded": True,
        }
        write_sweep(args.write, records, machine=machine, date=datetime.date.today().isoformat(), settings=settings)
        print(f"wrote {args.write}")
    return 0


def _at_the_top(records: list[scaling.ScaleRecord], top: int, budget: float) -> None:
    """At the largest N: the best minibatch VI against NUTS (time) and the best full-data MCMC (rows)."""
    at = [r for r in records if r.n == top]
    vi = [r for r in at if r.kind == "vi" and r.minibatch and r.time_to_accuracy_s is not None]
    if not vi:
        print(f"N = {top:,}: no minibatch VI reached the accuracy within {budget:g} s: no ratio")
        return
    best = min(vi, key=lambda r: r.time_to_accuracy_s)
    t, rows = best.time_to_accuracy_s, best.rows_to_accuracy
    print(f"N = {top:,}: best minibatch VI {best.method}: {t:.3g} s, {rows:.3g} rows")
    for r in at:
        if r.kind != "mcmc" or r.minibatch:
            continue
        if r.time_to_accuracy_s is None:
            print(f"N = {top:,}: {r.method} not reached within {budget:g} s: time ratio > {budget / t:.0f}, "
                  f"rows ratio > {r.rows_touched / rows:.0f}")  # fmt: skip
        else:
            print(f"N = {top:,}: {r.method} / best minibatch VI: time {r.time_to_accuracy_s / t:.1f}x, "
                  f"rows {r.rows_to_accuracy / rows:.0f}x")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
