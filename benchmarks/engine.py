"""Engine timings: every method at default settings on each target, plus emcee's overhead.

    python -m benchmarks.engine [--repeats N] [--targets a,b|all] [--methods m1,m2] [--seed S]

For each (target, method) the table shows the median over N repeats (after one warm-up
round) of the algorithm's wall time (``result.wall_time_s``), the time per step, and the
total time of ``vi_core.api.run_method`` including grid and scoring.

For the MCMC methods it also times raw emcee with identical settings in the same process,
interleaved with our run (ours, raw, ours, raw, ...): same walkers, steps, move, initial
positions and random state, the same nan -> -inf log-density wrapper
(``vi_core.mcmc.log_prob_fn``), timed with ``time.perf_counter`` from sampler construction
to the end of ``run_mcmc``; ours is the span of vi_core.runner.run (walkers drawn, emcee
stepped one iteration at a time by the shared loop). The ratio ours / raw near 1.0 means
our loop, per-step timestamps and chain bookkeeping add little.
"same" checks that both produced the identical final walkers.

Seeds are fixed (every repeat reruns the same seed, so every repeat does the same work).
Nothing here asserts on timings. The default run (5 repeats, six classic targets, six
methods) takes well under a minute on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import emcee
import numpy as np

from vi_core import api, chains, mcmc, methods
from vi_core.methods.emcee_moves import MOVES
from vi_core.targets import REGISTRY, make_target

__all__ = ["CLASSIC_TARGETS", "main"]

CLASSIC_TARGETS = ("gaussian", "banana", "donut", "mixture", "funnel", "squiggle")


def raw_emcee(target, method: str, seed: int, settings: api.Settings, box) -> tuple[float, np.ndarray]:
    """Plain ``EnsembleSampler.run_mcmc`` with our settings -> (seconds, final walkers (W, 2))."""
    start, sd = api._init_scale(box)
    rng = np.random.default_rng(seed)  # drawn in the same order as run_mcmc: p0, then emcee's seed
    p0 = chains.initial_walkers(rng, start, np.full(2, sd / 4.0), settings.walkers)
    state = emcee.State(p0, random_state=np.random.RandomState(int(rng.integers(2**31))).get_state())
    log_prob = mcmc.log_prob_fn(target)
    t0 = time.perf_counter()
    sampler = emcee.EnsembleSampler(
        settings.walkers, 2, log_prob, moves=MOVES[method](settings.step_size), vectorize=True
    )
    sampler.run_mcmc(state, settings.mcmc_steps, progress=False)
    seconds = time.perf_counter() - t0
    return seconds, sampler.get_chain()[-1]


class Cell:
    """Measurements of one (target, method) over the repeats."""

    def __init__(self):
        self.wall, self.per_step, self.total, self.ratio = [], [], [], []
        self.n_steps = 0
        self.same = True


def measure(target, method: str, seed: int, settings: api.Settings, cell: Cell | None) -> None:
    """One of our runs, and for MCMC the raw emcee run right after it; record into ``cell``."""
    grid, res, total = api.run_method(target, method, seed, settings)
    raw = raw_emcee(target, method, seed, settings, grid.box) if method in MOVES else None
    if cell is None:  # warm-up
        return
    cell.n_steps = res.n_steps
    cell.wall.append(res.wall_time_s)
    cell.per_step.append(res.wall_time_s / max(res.n_steps, 1))
    cell.total.append(total)
    if raw is not None:
        raw_s, raw_last = raw
        cell.ratio.append(res.wall_time_s / raw_s)
        cell.same &= bool(np.array_equal(raw_last.astype(np.float32), res.chain[-1]))


def _names(value: str, known, what: str, parser) -> list[str]:
    names = [s.strip() for s in value.split(",") if s.strip()]
    bad = [n for n in names if n not in known]
    if bad or not names:
        parser.error(f"unknown {what} {', '.join(bad) or '(none)'}; choose from {', '.join(known)}")
    return names


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.engine", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=5, help="timed repeats after one warm-up round (default 5)")
    p.add_argument(
        "--targets", default=",".join(CLASSIC_TARGETS),
        help="comma-separated target names, or 'all' for every registered target (default: the six classic)",
    )  # fmt: skip
    p.add_argument(
        "--methods", default=",".join(methods.REGISTRY), help="comma-separated methods (default: all registered)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of every run (default 0)")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    targets = list(REGISTRY) if args.targets.strip() == "all" else _names(args.targets, list(REGISTRY), "target", p)
    names = _names(args.methods, list(methods.REGISTRY), "method", p)
    return args, targets, names


def _ms(s: float) -> str:
    return f"{1e3 * s:9.1f}"


def _us(s: float) -> str:
    return f"{1e6 * s:9.1f}"


def main(argv=None) -> int:
    args, target_names, method_names = _parse(argv)
    settings = api.Settings()
    targets = {name: make_target(name) for name in target_names}
    print(
        f"Python {platform.python_version()} | numpy {np.__version__} | emcee {emcee.__version__} | "
        f"{os.cpu_count()} CPUs | {platform.machine()} {platform.system()}"
    )
    print(
        f"Settings() defaults: n_grid={settings.n_grid}, cavi_sweeps={settings.cavi_sweeps}, "
        f"vi_steps={settings.vi_steps}, vi_samples={settings.vi_samples}, walkers={settings.walkers}, "
        f"mcmc_steps={settings.mcmc_steps} | seed {args.seed} | median of {args.repeats} repeats after 1 warm-up"
    )
    sys.stdout.flush()

    t_start = time.perf_counter()
    cells = {(t, m): Cell() for t in target_names for m in method_names}
    for rep in range(-1, args.repeats):  # rep -1 is the warm-up round
        for (t, m), cell in cells.items():
            measure(targets[t], m, args.seed, settings, cell if rep >= 0 else None)

    head = (
        f"{'target':<10} {'method':<9} {'steps':>5} {'algo ms':>9} {'µs/step':>9} {'total ms':>9}"
        f"  {'ours/raw emcee [min–max]':<26} {'same':<4}"
    )
    print()
    print(head)
    print("-" * len(head))
    for (t, m), c in cells.items():
        line = (
            f"{t:<10} {m:<9} {c.n_steps:>5} {_ms(statistics.median(c.wall))} "
            f"{_us(statistics.median(c.per_step))} {_ms(statistics.median(c.total))}"
        )
        if c.ratio:
            r = f"{statistics.median(c.ratio):.3f} [{min(c.ratio):.3f}–{max(c.ratio):.3f}]"
            line += f"  {r:<26} {'yes' if c.same else 'NO':<4}"
        print(line.rstrip())

    print()
    print("Summary (median across targets of the per-target medians):")
    all_ratios = []
    for m in method_names:
        per_step = statistics.median(statistics.median(cells[t, m].per_step) for t in target_names)
        line = f"  {m:<9} {_us(per_step)} µs/step"
        ratios = [statistics.median(cells[t, m].ratio) for t in target_names if cells[t, m].ratio]
        if ratios:
            all_ratios += [r for t in target_names for r in cells[t, m].ratio]
            line += f"   ours/raw emcee {statistics.median(ratios):.3f}"
        print(line)
    if all_ratios:
        print(
            f"  emcee overhead ratio, median of all {len(all_ratios)} paired runs: {statistics.median(all_ratios):.3f}"
            f" [{min(all_ratios):.3f}–{max(all_ratios):.3f}]"
        )
    print(f"Benchmark wall time: {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
