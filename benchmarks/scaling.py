"""Scaling: time to accuracy of minibatch VI, full-batch VI and full-data MCMC from N = 100 to 1,000,000.

    python -m benchmarks.scaling [--n 1e2,1e3,...] [--methods a,b] [--budget S] [--batch B] [--uncentred]
                                 [--seed S] [--write PATH]

Synthetic logistic regression (vi_core.scaling.dataset), every method under the same wall-clock budget per
(N, method), scored against the exact reference at ~50 checkpoints. Prints per N and method the time to accuracy
(posterior mean within vi_core.scaling.ACCURACY reference sd on both coordinates, holding to the end), the final
accuracy, the evaluations (full-data equivalents), then the fitted slopes of log time against log N and the ratio
(full-data MCMC time to accuracy) / (minibatch VI time to accuracy) at the largest N. A method that does not reach
the accuracy within its budget is reported as such (its time is then at least the budget). --write PATH also saves
everything as JSON for the app (vi_core/data/scaling_precomputed.json is where the page looks). Asserts nothing.
The default run (5 sizes x 5 methods, 40 s budget, batch 1000) takes about 5 minutes on a 2-core machine: small N
converge and stop early; at N = 1e5-1e6 emcee and full-batch VI use their whole budget. Batch 1000, not the API's
100: at N = 1e6 minibatch VI needs ~20 epochs for 0.1 sd, and with B = 100 that is ~2e5 steps of ~150 us of Python
overhead each (about 30 s); with B = 1000 it is ~2e4 steps (about 5 s).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys

import numpy as np

from vi_core import scaling
from vi_core.scaling.records import write_sweep

__all__ = ["main"]


def _fmt_t(t: float | None, budget: float) -> str:
    return f"{t:10.3g}" if t is not None else f"{'> ' + format(budget, 'g'):>10}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.splitlines()[0])
    p.add_argument("--n", default="1e2,1e3,1e4,1e5,1e6", help="comma-separated data sizes")
    p.add_argument("--methods", default=",".join(scaling.METHODS))
    p.add_argument("--budget", type=float, default=40.0, help="seconds per (N, method)")
    p.add_argument("--batch", type=int, default=1000, help="minibatch VI batch (the API default is 100)")
    p.add_argument("--uncentred", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", metavar="PATH", help="also write the records as JSON")
    args = p.parse_args(argv)
    ns = [int(float(v)) for v in args.n.split(",")]
    names = args.methods.split(",")
    machine = (
        f"{platform.node() or 'host'}: {platform.machine()}, {platform.processor() or platform.system()}, "
        f"{os.cpu_count()} CPUs, python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"{machine} · budget {args.budget:g} s per run · batch {args.batch} · accuracy {scaling.ACCURACY} sd")
    head = f"{'N':>9} {'method':<14} {'t_acc s':>10} {'final':>7} {'density ev':>11} {'grad ev':>10} {'stopped':<9}"
    print(head)
    print("-" * len(head))

    records_so_far: list[scaling.ScaleRecord] = []
    for n in ns:
        data = scaling.dataset("synthetic", n, seed=args.seed, centred=not args.uncentred)
        ref = scaling.reference(scaling.LogisticPosterior(data))
        print(
            f"# N = {n:,}: reference {ref.seconds:.2f} s, posterior sd {np.sqrt(np.diag(ref.cov))}, corr {ref.corr:.3f}"
        )
        for m in names:
            r = scaling.run_one(data, m, budget_s=args.budget, seed=args.seed, batch=args.batch, ref=ref)
            records_so_far.append(r)
            print(
                f"{n:9d} {m:<14} {_fmt_t(r.time_to_accuracy_s, args.budget)} {r.final_accuracy:7.3f} "
                f"{r.n_density_evals:11d} {r.n_grad_evals:10d} {r.stopped:<9}"
            )
            sys.stdout.flush()
    records = records_so_far
    print()
    for m in names:
        s = scaling.slope(records, m)
        print(
            f"slope log10(time to accuracy) vs log10(N), {m:<14}: "
            + ("— (reached at < 2 sizes)" if s is None else f"{s:.2f}")
        )
    top = max(ns)
    at_top = {r.method: r for r in records if r.n == top}
    vi = [r.time_to_accuracy_s for r in at_top.values() if r.minibatch and r.time_to_accuracy_s is not None]
    if not vi:
        print(f"N = {top:,}: no minibatch VI reached the accuracy within {args.budget:g} s: no ratio")
    for m, r in at_top.items():
        if r.kind != "mcmc" or not vi:
            continue
        if r.time_to_accuracy_s is None:
            print(
                f"N = {top:,}: {m} did not reach the accuracy within {args.budget:g} s "
                f"(final {r.final_accuracy:.3g} sd): "
                f"ratio {m} / best minibatch VI > {args.budget / min(vi):.0f}"
            )
        else:
            print(f"N = {top:,}: ratio {m} / best minibatch VI time to accuracy = {r.time_to_accuracy_s / min(vi):.1f}")
    if args.write:
        settings = {
            "name": "synthetic",
            "ns": ns,
            "methods": names,
            "budget_s": args.budget,
            "batch": args.batch,
            "centred": not args.uncentred,
            "seed": args.seed,
            "accuracy": scaling.ACCURACY,
        }
        write_sweep(args.write, records, machine=machine, date=datetime.date.today().isoformat(), settings=settings)
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
