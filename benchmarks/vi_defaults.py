"""Wall times and optimisation gaps of the VI methods at their default settings, every built-in target.

    python -m benchmarks.vi_defaults [--repeats N] [--seed S]

Per target and registered VI method (vi_core.methods; cavi, gauss-mf, gauss-fr): the algorithm's wall time
(``result.wall_time_s``, median over N repeats after one warm-up), the search for the
family's best member alone (``best_fixed_point`` or ``best_reverse_kl_fit``), the whole
``run_vi`` including scoring, then the run's optimisation gap (kl - kl_best, nats), how
far it ended from the optimum it was climbing to (kl - kl_local) and the number of
distinct optima found. For CAVI also its best ELBO minus the best mean-field Gaussian's.
Prints only; asserts nothing (the claims are tested in tests/vi_core/test_gaussvi.py and
test_cavi.py). Timings depend on the machine and its load: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from vi_core.api import Settings, run_vi
from vi_core.cavi import best_fixed_point
from vi_core.fits import best_reverse_kl_fit
from vi_core.grid import make_grid
from vi_core.methods import vi_methods
from vi_core.targets import REGISTRY, make_target


def _median_time(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _bench_target(name: str, args) -> None:
    t = make_target(name)
    grid = make_grid(t)
    gauss_mf = best_reverse_kl_fit(grid, full_rank=False).elbo
    searches = {  # the family's best-member search of the built-in methods, timed alone
        "cavi": lambda: best_fixed_point(grid),
        "gauss-mf": lambda: best_reverse_kl_fit(grid, False),
        "gauss-fr": lambda: best_reverse_kl_fit(grid, True),
    }
    for method in vi_methods():
        total, res = _median_time(lambda m=method: run_vi(t, m, args.seed, grid=grid), args.repeats)
        search = _median_time(searches[method], args.repeats)[0] if method in searches else float("nan")
        walls = [run_vi(t, method, args.seed, grid=grid).wall_time_s for _ in range(args.repeats)]
        extra = f"  CAVI best - best MF Gaussian ELBO = {res.elbo_best - gauss_mf:+.4f}" if method == "cavi" else ""
        print(
            f"{name:14s} {method:9s} {statistics.median(walls):7.3f} {search:7.3f} {total:8.3f} "
            f"{res.optimisation_gap:8.4f} {res.kl[-1] - res.kl_local:8.4f} {res.n_optima:5d}{extra}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    s = Settings()
    print(f"defaults: vi_steps={s.vi_steps} vi_samples={s.vi_samples} vi_lr={s.vi_lr} cavi_sweeps={s.cavi_sweeps}")
    if hasattr(os, "getloadavg"):
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    head = "{:14s} {:9s} {:>7s} {:>7s} {:>8s} {:>8s} {:>8s} n_opt".format(
        "target", "method", "algo s", "best s", "run_vi s", "gap", "to local"
    )
    print(head)
    print("-" * len(head))
    for name in REGISTRY:
        _bench_target(name, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
