"""One entry for the CLI and the app: a method on a target -> plain arrays, timed.

Methods come from the registry (vi_core.methods): each builds an init/step algorithm that
the one loop, vi_core.runner.run, steps and times -- samplers included. ``run_vi`` and
``run_sampler`` validate their inputs, run the algorithm under the clock
(``wall_time_s`` covers the algorithm only), then evaluate the yardstick at a few dozen
snapshots outside the clock: exact ELBO and KL, moment errors and MMD to the truth.

A VI result also knows its family's best member, found outside the clock from several
starts (vi_core.fits.best_reverse_kl_fit for the Gaussian families, vi_core.cavi.best_fixed_point
for grid CAVI), so the KL of a run splits into the family's cost (``kl_best``) and what this
run's optimisation added (``optimisation_gap``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time

import numpy as np

from vi_core import budget, chains, methods
from vi_core.cavi import start_point
from vi_core.counting import Counted
from vi_core.grid import DEFAULT_N, Grid, make_grid
from vi_core.metrics import moment_errors, pareto_khat, yardstick
from vi_core.results import KHAT_DRAWS, MCMC_LABELS, VI_LABELS, McmcDraws, McmcResult, ViFit, ViResult
from vi_core.rules import Evidence, mcmc_verdict
from vi_core.runner import run, snapshot_indices
from vi_core.settings import DEFAULTS, Settings
from vi_core.targets import Target, make_target
from vi_core.verdicts import vi_verdict

# VI_METHODS, MCMC_METHODS, METHODS are importable too (module __getattr__ below).
__all__ = [
    "MCMC_LABELS",
    "VI_LABELS",
    "WARM_SETTINGS",
    "McmcDraws",
    "McmcResult",
    "Settings",
    "ViFit",
    "ViResult",
    "first_stage_timed",
    "fit_vi",
    "run_method",
    "run_sampler",
    "run_timed",
    "run_vi",
    "sample",
    "score_draws",
    "score_fit",
    "second_stage_timed",
    "snapshot_indices",
    "warm_up",
]


def __getattr__(name: str):
    # VI_METHODS, MCMC_METHODS, METHODS: read from the registry when asked, so a method
    # registered later (a test's toy) is in them.
    if name == "VI_METHODS":
        return methods.vi_methods()
    if name == "MCMC_METHODS":
        return methods.mcmc_methods()
    if name == "METHODS":
        return methods.vi_methods() + methods.mcmc_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# A snapshot is scored on at most this many draws, evenly thinned in time (every walker and chain kept): W1's
# sort and the moments grow with the draws, so a long budgeted run (a million draws) would spend more on scoring
# than the loop's share leaves it. The default run (48,000 draws) is scored on all of its draws; thinning a
# correlated chain by a stride below its autocorrelation time loses almost none of its effective draws.
SCORED_DRAWS = 1 << 17


def scored_window(chain: np.ndarray, k: int) -> np.ndarray:
    """The draws a sampler's snapshot at step k is scored on, (n, 2): chain (T, W, 2) after burn-in up to k,
    thinned by a stride in steps so that n <= SCORED_DRAWS (all W walkers of each kept step)."""
    lo = chains.burn_in(k + 1)
    steps, walkers = k + 1 - lo, chain.shape[1]
    stride = max(1, math.ceil(steps * walkers / SCORED_DRAWS))
    # counted back from step k, so the newest draw is always scored
    return chain[k : lo - 1 if lo > 0 else None : -stride][::-1].reshape(-1, 2)


def _scored(score, x, fraction: float) -> float:
    """score(x) at one snapshot, after a budget checkpoint; fraction of the snapshots done, for progress."""
    budget.checkpoint()
    budget.report("scoring", 0.3 + 0.7 * fraction)
    return score(x)


def _counted_run(m: methods.Method, target: Target, grid: Grid, settings: Settings, seed: int):
    """Build the method on a counting copy of the target and run it: (plan, trace) with
    trace.evals (n + 1, 2) cumulative (density, gradient) evaluations."""
    counted = Counted(target)
    start, sd = _init_scale(grid.box)
    plan = m.build(counted, grid, settings, start, sd)
    if m.grid_evals:  # the run works on the grid's densities: they are its evaluations
        counted.n_density += grid.xs.size * grid.ys.size
    trace = run(
        plan.algorithm,
        plan.n_steps,
        seed,
        stop=plan.stop,
        time_budget_s=settings.time_budget_s,
        counter=counted.counts,
        stage=m.label,
    )
    return plan, trace


def _moves(m: methods.Method, trace) -> tuple:
    """(paths (T, C, L, 2), accepted (T, C), divergent (T, C)) from the method's ``path`` hook, else Nones."""
    if m.path is None:
        return None, None, None
    moves = [m.path(s) for s in trace.states[1:]]
    length = max(mv.points.shape[1] for mv in moves)
    paths = np.full((len(moves), moves[0].points.shape[0], length, 2), np.nan, dtype=np.float32)
    for t, mv in enumerate(moves):
        paths[t, :, : mv.points.shape[1]] = mv.points
    return paths, np.stack([mv.accepted for mv in moves]), np.stack([mv.divergent for mv in moves])


def _divergent(infos: list) -> np.ndarray | None:
    """(T, W) bool from infos that carry ``divergent`` (W,), else None."""
    flags = [getattr(i, "divergent", None) for i in infos]
    if not flags or any(f is None for f in flags):
        return None
    return np.stack([np.asarray(f, dtype=bool) for f in flags])


def _init_scale(box) -> tuple[np.ndarray, float]:
    x0, x1, y0, y1 = box
    return start_point(box), min(x1 - x0, y1 - y0) / 8.0


def _check_settings(method: methods.Method, settings: Settings) -> None:
    if method.even_walkers and settings.walkers % 2:
        raise ValueError(f"setting walkers must be even for {method.name} (emcee splits walkers in halves), "
                         f"got {settings.walkers}")  # fmt: skip


def fit_vi(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, grid=None) -> ViFit:
    """Run a registered VI method (vi_core.methods) and score every recorded q's ELBO, KL and (at the snapshots)
    MMD, with its family's best member: what the race shows. ``score_fit`` adds the rest; ``run_vi`` does both."""
    m = methods.get(method, "vi")
    _check_seed(seed)
    _check_settings(m, settings)
    grid = grid if grid is not None else make_grid(target, settings.n_grid)
    plan, trace = _counted_run(m, target, grid, settings, seed)
    qs = tuple(m.q(s, grid) for s in trace.states)
    budget.report("scoring", 0.0)
    if m.elbo is not None:
        elbo, elbo_mc = m.elbo(target, grid, qs, trace)
    else:
        elbo = np.array([q.elbo(grid) for q in qs])
        elbo_mc = np.full_like(elbo, np.nan)
    budget.report("scoring", 0.3)
    # without a search for its family's best, the split of the KL into bias and gap is unknown, not zero
    best = m.best(target, grid, qs, elbo, plan) if m.best is not None else methods.Best(math.nan, math.nan, 1)
    snap = snapshot_indices(elbo.size)
    yard = yardstick(grid)
    return ViFit(
        method=method,
        qs=qs,
        times=trace.times,
        elbo=elbo,
        elbo_mc=elbo_mc,
        kl=grid.log_z - elbo,
        mean=np.stack([q.mean for q in qs]),
        cov=np.stack([q.cov for q in qs]),
        snap=snap,
        mmd=np.array([_scored(yard.mmd_q, qs[k], i / snap.size) for i, k in enumerate(snap)]),
        elbo_best=float(best.elbo_best),
        elbo_local=float(best.elbo_local),
        n_optima=int(best.n_optima),
        note=plan.note,
        seed=seed,
        evals=trace.evals,
    )


def score_fit(fit: ViFit, target: Target, grid: Grid) -> ViResult:
    """A VI run (``fit_vi``) scored in full on the grid it was fitted on: W1 and moment errors over time, Pareto
    k̂ of the final q, the KL's split and the verdict."""
    m = methods.get(fit.method, "vi")
    qs, snap = fit.qs, fit.snap
    yard = yardstick(grid)
    w1_sd = np.array([_scored(yard.w1_q, qs[k], i / snap.size) for i, k in enumerate(snap)])
    errs = np.array([moment_errors(grid, fit.mean[k], fit.cov[k]) for k in snap])
    khat = pareto_khat(target, qs[-1], seed=fit.seed, n=KHAT_DRAWS) if qs[-1].has_density else math.nan
    kl_best, kl_local = grid.log_z - fit.elbo_best, grid.log_z - fit.elbo_local
    verdict = vi_verdict(
        khat,
        float(fit.kl[-1]),
        kl_best=kl_best,
        kl_local=kl_local,
        n_optima=fit.n_optima,
        reference_truncated=bool(getattr(grid, "reference_truncated", False)),
        family=m.family or m.label,
        note=fit.note,
        khat_draws=KHAT_DRAWS,
        w1=None if qs[-1].has_density else float(w1_sd[-1]),
        w1_floor=yard.w1_resolution(qs[-1].draws) if math.isfinite(qs[-1].draws) else math.nan,
    )
    marg_x, marg_y = qs[-1].marginal_densities(grid)
    return _scored_result(
        ViResult,
        fit,
        mean_err=errs[:, 0],
        cov_err=errs[:, 1],
        w1_sd=w1_sd,
        marg_x=marg_x,
        marg_y=marg_y,
        log_evidence=grid.log_z,
        khat=khat,
        verdict=verdict.text,
        kl_best=float(kl_best),
        kl_local=float(kl_local),
        verdict_level=verdict.level,
        mmtv=yard.mmtv_q(qs[-1]),
    )


def run_vi(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, grid=None) -> ViResult:
    """Run a registered VI method (vi_core.methods) and score every recorded q: ``score_fit(fit_vi(...))``."""
    grid = grid if grid is not None else make_grid(target, settings.n_grid)
    return score_fit(fit_vi(target, method, seed, settings, grid), target, grid)


def sample(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, grid=None) -> McmcDraws:
    """Run a registered sampler (vi_core.methods) and score its draws' MMD over time: what the race shows.
    ``score_draws`` adds the rest; ``run_sampler`` does both."""
    m = methods.get(method, "mcmc")
    _check_seed(seed)
    _check_settings(m, settings)
    grid = grid if grid is not None else make_grid(target, settings.n_grid)
    _, trace = _counted_run(m, target, grid, settings, seed)
    res = chains.chain_of(trace, m.draws)
    paths, path_accepted, path_divergent = _moves(m, trace)
    snap = snapshot_indices(res.times.size)
    snap = snap[snap >= 1]
    yard = yardstick(grid)
    mmd = [_scored(yard.mmd_samples, scored_window(res.chain, k), i / snap.size) for i, k in enumerate(snap)]
    return McmcDraws(
        method=method,
        chain=res.chain,
        accepted=res.accepted,
        times=res.times,
        snap=snap,
        mmd=np.array(mmd),
        evals=trace.evals[1:],
        stats=dict(m.stats(trace.infos)) if m.stats is not None else {},
        target_accept=settings.target_accept,
        paths=paths,
        path_accepted=path_accepted,
        path_divergent=path_divergent,
        divergent=_divergent(trace.infos),
    )


def score_draws(draws: McmcDraws, grid: Grid) -> McmcResult:
    """A sampler's run (``sample``) scored in full on ``grid``, the grid it was sampled on: W1 and moment errors
    over time, the diagnostics and the verdict by the method's own rules."""
    m = methods.get(draws.method, "mcmc")
    yard = yardstick(grid)
    w1_sd, errs = [], []
    for i, k in enumerate(draws.snap):
        window = scored_window(draws.chain, k)
        w1_sd.append(_scored(yard.w1_samples, window, i / draws.snap.size))
        errs.append(moment_errors(grid, window.mean(axis=0), np.cov(window.T)))
    errs = np.array(errs).reshape(-1, 2)
    d = chains.diagnostics(chains.McmcRun(draws.chain, draws.times, draws.accepted), ensemble="autocorr" in m.rules)
    evidence = Evidence(
        d.rhat, d.ess_bulk, d.ess_tail, d.tau, d.n_chains, d.n_kept, d.acceptance, draws.stats, draws.target_accept
    )
    verdict = mcmc_verdict(evidence, m.rules)
    kept = draws.chain[chains.burn_in(draws.chain.shape[0]) :].reshape(-1, 2)
    return _scored_result(
        McmcResult,
        draws,
        chain=draws.chain.astype(np.float32),
        mean_err=errs[:, 0],
        cov_err=errs[:, 1],
        w1_sd=np.array(w1_sd),
        diagnostics=d,
        verdict=verdict.text,
        verdict_level=verdict.level,
        w1_resolution=yard.w1_resolution(d.ess),
        mmtv=yard.mmtv_samples(kept),
    )


def _scored_result(cls, first, **scores):
    """``cls`` (ViResult, McmcResult) from a first stage: every field the two share carried over as it is, its wall
    time, and ``scores`` (which may replace a carried field, e.g. the chain as float32)."""
    carried = {f.name for f in dataclasses.fields(cls)} & {f.name for f in dataclasses.fields(first)}
    kept = {name: getattr(first, name) for name in carried - scores.keys()}
    return cls(**kept, wall_time_s=first.wall_time_s, **scores)


def run_sampler(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, grid=None) -> McmcResult:
    """Run a registered sampler (vi_core.methods) and score its draws over time: ``score_draws(sample(...))``."""
    grid = grid if grid is not None else make_grid(target, settings.n_grid)
    return score_draws(sample(target, method, seed, settings, grid), grid)


def run_method(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, box=None):
    """Dispatch on the method's kind; returns (grid, ViResult | McmcResult, seconds incl. scoring).

    box: (xmin, xmax, ymin, ymax) for the grid and CAVI, default the target's own."""
    m = methods.get(method)
    t0 = time.perf_counter()
    grid = make_grid(target, settings.n_grid, box)
    fn = run_vi if m.kind == "vi" else run_sampler
    result = fn(target, method, seed, settings, grid=grid)
    return grid, result, time.perf_counter() - t0


@functools.lru_cache(maxsize=8)
def _kept_grid(target: Target, n: int, box) -> Grid:
    """make_grid, kept for the next run on the same target in this process (a worker serves many): the reference's
    marginals, cell probabilities and the yardstick's tables are then computed once, not per run."""
    return make_grid(target, n, box)


def _worker_grid(target: Target, n: int, box) -> Grid:
    key = (target, n, None if box is None else tuple(box))
    try:
        # up to the default size only: 8 grids of 600 x 600 with their tables would hold ~100 MB in each worker
        return _kept_grid(*key) if n <= DEFAULT_N else make_grid(*key)
    except TypeError:  # a target that cannot be a cache key (unhashable): its own grid
        return make_grid(*key)


def run_timed(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, box=None):
    """(grid, its seconds, ViResult | McmcResult, seconds of the run incl. scoring): run_method with the
    grid's time apart (module-level, so a worker process can be handed it)."""
    t0 = time.perf_counter()
    grid = _worker_grid(target, settings.n_grid, box)
    t1 = time.perf_counter()
    fn = run_vi if methods.get(method).kind == "vi" else run_sampler
    result = fn(target, method, seed, settings, grid=grid)
    return grid, t1 - t0, result, time.perf_counter() - t1


def first_stage_timed(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, box=None):
    """(grid, its seconds, ViFit | McmcDraws, seconds of the stage): run_timed's first stage (``fit_vi`` or
    ``sample``), what the race shows."""
    t0 = time.perf_counter()
    grid = _worker_grid(target, settings.n_grid, box)
    t1 = time.perf_counter()
    first = _FIRST[methods.get(method).kind](target, method, seed, settings, grid=grid)
    return grid, t1 - t0, first, time.perf_counter() - t1


def second_stage_timed(first: ViFit | McmcDraws, target: Target, settings: Settings = DEFAULTS, box=None):
    """(ViResult | McmcResult, seconds of the stage): the first stage scored in full (``score_fit`` or
    ``score_draws``) on the grid it was run on."""
    grid = _worker_grid(target, settings.n_grid, box)
    t0 = time.perf_counter()
    if isinstance(first, ViFit):
        result = score_fit(first, target, grid)
    else:
        result = score_draws(first, grid)
    return result, time.perf_counter() - t0


_FIRST = {"vi": fit_vi, "mcmc": sample}  # a method's first stage by its kind


# every method's own step count tiny (the flow's flow_steps default of 8,000 once made the warm-up 5 s, not 0.7 s)
WARM_SETTINGS = Settings(n_grid=50, cavi_sweeps=2, vi_steps=3, walkers=8, mcmc_steps=3, flow_steps=10, particles=8)


def warm_up() -> float:
    """Run every registered method once, tiny, so that later timings measure the algorithms and not
    numpy's, emcee's and arviz's first-call set-up (once per process). Returns the seconds spent."""
    t0 = time.perf_counter()
    tiny = WARM_SETTINGS
    target = make_target("gaussian")
    grid = make_grid(target, tiny.n_grid)
    for name in methods.vi_methods():
        run_vi(target, name, 0, tiny, grid=grid)
    for name in methods.mcmc_methods():
        run_sampler(target, name, 0, tiny, grid=grid)
    return time.perf_counter() - t0


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
