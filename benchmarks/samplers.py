"""Samplers compared in the currencies that transfer: ESS per second and ESS per evaluation.

    python -m benchmarks.samplers [--repeats N] [--targets a,b|all] [--methods m1,m2] [--seed S]

For each (target, sampler) at default settings: the median algorithm wall time over N
repeats (after one untimed warm-up run), the minimum ESS over the two coordinates (arviz-stats,
after the first quarter), ESS per second, the log-density and gradient evaluations the run
made (vi_core.counting; Gibbs with closed-form conditionals makes none), ESS per 1000
evaluations (density + gradient) and per 1000 gradients, R-hat and the divergences after
warm-up (HMC, NUTS). ESS and counts do not depend on the repeat (same seed, same chain).
Nothing here asserts; the default run takes about two minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

import numpy as np

from vi_core import methods
from vi_core.api import run_sampler
from vi_core.grid import make_grid
from vi_core.settings import DEFAULTS
from vi_core.targets import REGISTRY, make_target

__all__ = ["main"]

DEFAULT_TARGETS = ("gaussian", "banana", "funnel", "mixture", "newcomb")


def _per_k(ess: float, n: int) -> str:
    return f"{1000 * ess / n:9.2f}" if n > 0 else f"{'—':>9}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.samplers", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--targets", default=",".join(DEFAULT_TARGETS), help="comma-separated names, or 'all'")
    p.add_argument("--methods", default=",".join(methods.mcmc_methods()))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    targets = list(REGISTRY) if args.targets == "all" else args.targets.split(",")
    names = args.methods.split(",")
    print(
        f"python {platform.python_version()} · numpy {np.__version__} · {os.cpu_count()} CPUs · "
        f"{platform.machine()} · defaults: walkers {DEFAULTS.walkers}, chains {DEFAULTS.chains}, "
        f"steps {DEFAULTS.mcmc_steps} · median of {args.repeats} repeats"
    )
    head = (
        f"{'target':<10} {'sampler':<9} {'wall s':>7} {'ESS min':>8} {'ESS/s':>8} {'density':>9} {'gradient':>9} "
        f"{'ESS/k ev':>9} {'ESS/k gr':>9} {'R-hat':>6} {'diverg.':>7}"
    )
    print(head)
    print("-" * len(head))
    for name in targets:
        target = make_target(name)
        grid = make_grid(target, DEFAULTS.n_grid)
        for method in names:
            run_sampler(target, method, args.seed, DEFAULTS, grid=grid)  # warm-up
            runs = [run_sampler(target, method, args.seed, DEFAULTS, grid=grid) for _ in range(args.repeats)]
            wall = statistics.median(r.wall_time_s for r in runs)
            r = runs[0]
            ess = float(np.min(r.ess))
            dens, grad = (int(v) for v in r.evals[-1])
            div = r.stats.get("divergences", "—")
            print(
                f"{name:<10} {method:<9} {wall:7.3f} {ess:8.0f} {ess / wall:8.0f} {dens:9d} {grad:9d} "
                f"{_per_k(ess, dens + grad)} {_per_k(ess, grad)} {float(np.max(r.rhat)):6.3f} {div!s:>7}"
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
