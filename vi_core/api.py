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

import functools
import math
import time

import numpy as np

from vi_core import budget, chains, methods
from vi_core.cavi import start_point
from vi_core.counting import Counted
from vi_core.grid import DEFAULT_N, Grid, make_grid
from vi_core.metrics import moment_errors, pareto_khat, yardstick
from vi_core.results import KHAT_DRAWS, MCMC_LABELS, VI_LABELS, McmcResult, ViResult
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
    "McmcResult",
    "Settings",
    "ViResult",
    "run_method",
    "run_sampler",
    "run_timed",
    "run_vi",
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


def run_vi(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, grid=None) -> ViResult:
    """Run a registered VI method (vi_core.methods) and score every recorded q."""
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
    mean = np.stack([q.mean for q in qs])
    cov = np.stack([q.cov for q in qs])
    budget.report("scoring", 0.3)
    # without a search for its family's best, the split of the KL into bias and gap is unknown, not zero
    best = m.best(target, grid, qs, elbo, plan) if m.best is not None else methods.Best(math.nan, math.nan, 1)
    kl = grid.log_z - elbo
    snap = snapshot_indices(elbo.size)
    yard = yardstick(grid)
    mmd = np.array([_scored(yard.mmd_q, qs[k], i / snap.size) for i, k in enumerate(snap)])
    w1_sd = np.array([yard.w1_q(qs[k]) for k in snap])
    errs = np.array([moment_errors(grid, mean[k], cov[k]) for k in snap])
    khat = pareto_khat(target, qs[-1], seed=seed, n=KHAT_DRAWS) if qs[-1].has_density else math.nan
    kl_best, kl_local = grid.log_z - best.elbo_best, grid.log_z - best.elbo_local
    verdict = vi_verdict(
        khat,
        float(kl[-1]),
        kl_best=kl_best,
        kl_local=kl_local,
        n_optima=best.n_optima,
        reference_truncated=bool(getattr(grid, "reference_truncated", False)),
        family=m.family or m.label,
        note=plan.note,
        khat_draws=KHAT_DRAWS,
        w1=None if qs[-1].has_density else float(w1_sd[-1]),
        w1_floor=yard.w1_resolution(qs[-1].draws) if math.isfinite(qs[-1].draws) else math.nan,
    )
    marg_x, marg_y = qs[-1].marginal_densities(grid)
    return ViResult(
        method=method,
        qs=qs,
        times=trace.times,
        wall_time_s=float(trace.times[-1]),
        elbo=elbo,
        elbo_mc=elbo_mc,
        kl=kl,
        mean=mean,
        cov=cov,
        snap=snap,
        mmd=mmd,
        mean_err=errs[:, 0],
        cov_err=errs[:, 1],
        w1_sd=w1_sd,
        marg_x=marg_x,
        marg_y=marg_y,
        log_evidence=grid.log_z,
        khat=khat,
        verdict=verdict.text,
        kl_best=float(kl_best),
        elbo_best=float(best.elbo_best),
        n_optima=int(best.n_optima),
        kl_local=float(kl_local),
        verdict_level=verdict.level,
        evals=trace.evals,
        mmtv=yard.mmtv_q(qs[-1]),
    )


def run_sampler(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, grid=None) -> McmcResult:
    """Run a registered sampler (vi_core.methods) and score its draws over time."""
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
    mmd, w1_sd, errs = [], [], []
    for i, k in enumerate(snap):
        draws = scored_window(res.chain, k)
        mmd.append(_scored(yard.mmd_samples, draws, i / snap.size))
        w1_sd.append(yard.w1_samples(draws))
        errs.append(moment_errors(grid, draws.mean(axis=0), np.cov(draws.T)))
    errs = np.array(errs).reshape(-1, 2)
    d = chains.diagnostics(res, ensemble="autocorr" in m.rules)
    stats = dict(m.stats(trace.infos)) if m.stats is not None else {}
    evidence = Evidence(
        d.rhat, d.ess_bulk, d.ess_tail, d.tau, d.n_chains, d.n_kept, d.acceptance, stats, settings.target_accept
    )
    verdict = mcmc_verdict(evidence, m.rules)
    return McmcResult(
        method=method,
        chain=res.chain.astype(np.float32),
        times=res.times,
        wall_time_s=float(res.times[-1]),
        snap=snap,
        mmd=np.array(mmd),
        mean_err=errs[:, 0],
        cov_err=errs[:, 1],
        w1_sd=np.array(w1_sd),
        diagnostics=d,
        verdict=verdict.text,
        verdict_level=verdict.level,
        evals=trace.evals[1:],
        stats=stats,
        paths=paths,
        path_accepted=path_accepted,
        path_divergent=path_divergent,
        divergent=_divergent(trace.infos),
        w1_resolution=yard.w1_resolution(d.ess),
        mmtv=yard.mmtv_samples(res.chain[chains.burn_in(res.chain.shape[0]) :].reshape(-1, 2)),
    )


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


def run_timed(target: Target, method: str, seed: int = 0, settings: Settings = DEFAULTS, box=None):
    """(grid, its seconds, ViResult | McmcResult, seconds of the run incl. scoring): run_method with the
    grid's time apart (module-level, so a worker process can be handed it)."""
    t0 = time.perf_counter()
    key = (target, settings.n_grid, None if box is None else tuple(box))
    try:
        # up to the default size only: 8 grids of 600 x 600 with their tables would hold ~100 MB in each worker
        grid = _kept_grid(*key) if settings.n_grid <= DEFAULT_N else make_grid(*key)
    except TypeError:  # a target that cannot be a cache key (unhashable): its own grid
        grid = make_grid(*key)
    t1 = time.perf_counter()
    fn = run_vi if methods.get(method).kind == "vi" else run_sampler
    result = fn(target, method, seed, settings, grid=grid)
    return grid, t1 - t0, result, time.perf_counter() - t1


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
