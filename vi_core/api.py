"""One entry for the CLI and the app: a method on a target -> plain arrays, timed.

``run_vi`` and ``run_sampler`` validate their inputs, run the algorithm under the clock
(``wall_time_s`` covers the algorithm only), then evaluate the yardstick at a few dozen
snapshots outside the clock: exact ELBO and KL, moment errors and MMD to the truth.

A VI result also knows its family's best member, found outside the clock from several
starts (vi_core.fits.best_reverse_kl_fit for the Gaussian families, vi_core.cavi.best_fixed_point
for grid CAVI), so the KL of a run splits into the family's cost (``kl_best``) and what this
run's optimisation added (``optimisation_gap``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import ClassVar, NamedTuple

import numpy as np

from vi_core import mcmc
from vi_core.cavi import best_fixed_point, cavi, cavi_starts, start_point
from vi_core.families import GaussianQ, GridProductQ
from vi_core.fits import best_reverse_kl_fit, local_reverse_kl_fit
from vi_core.gaussvi import AdamOptions, gaussian_vi, to_q
from vi_core.grid import DEFAULT_N, Grid, make_grid
from vi_core.metrics import Yardstick, gaussian_elbos, moment_errors, pareto_khat
from vi_core.runner import run
from vi_core.targets import Target
from vi_core.verdicts import mcmc_verdict, vi_verdict

__all__ = [
    "MCMC_METHODS",
    "METHODS",
    "VI_METHODS",
    "McmcResult",
    "Settings",
    "ViResult",
    "run_method",
    "run_sampler",
    "run_vi",
    "snapshot_indices",
]

VI_METHODS = ("cavi", "gauss-mf", "gauss-fr")
MCMC_METHODS = mcmc.MCMC_METHODS
METHODS = VI_METHODS + MCMC_METHODS
VI_LABELS = {
    "cavi": "CAVI (grid, mean-field)",
    "gauss-mf": "Gaussian VI, mean-field",
    "gauss-fr": "Gaussian VI, full-rank",
}
MCMC_LABELS = {
    "emcee": "emcee (stretch move)",
    "emcee-de": "emcee (DE move)",
    "rwm": "Random-walk Metropolis",
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every knob of a run, with bounds. Frozen, so it keys caches."""

    n_grid: int = DEFAULT_N
    cavi_sweeps: int = 300
    cavi_tol: float = 1e-10
    vi_steps: int = 1000
    vi_samples: int = 64
    vi_lr: float = 0.1
    walkers: int = 32
    mcmc_steps: int = 500
    step_size: float = 0.5
    time_budget_s: float = 20.0

    BOUNDS: ClassVar[dict[str, tuple[float, float]]] = {
        "n_grid": (50, 600),
        "cavi_sweeps": (1, 5000),
        "cavi_tol": (0.0, 1.0),
        "vi_steps": (1, 20000),
        "vi_samples": (1, 1024),
        "vi_lr": (1e-4, 1.0),
        "walkers": (4, 512),
        "mcmc_steps": (2, 50000),
        "step_size": (1e-3, 100.0),
        "time_budget_s": (0.01, 600.0),
    }

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            lo, hi = self.BOUNDS[f.name]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"setting {f.name} must be a finite number, got {v!r}")
            if f.type == "int" and int(v) != v:
                raise ValueError(f"setting {f.name} must be a whole number, got {v!r}")
            if not lo <= v <= hi:
                raise ValueError(f"setting {f.name}={v:g} is outside its bounds [{lo:g}, {hi:g}]")
        if self.walkers % 2:
            raise ValueError(f"setting walkers must be even (emcee splits walkers in halves), got {self.walkers}")


def snapshot_indices(n: int, k: int = 60) -> np.ndarray:
    """About k indices into n snapshots, dense early (log-spaced) and even later, (S,)."""
    if n <= k:
        return np.arange(n)
    idx = np.concatenate([[0], np.geomspace(1, n - 1, k // 2), np.linspace(0, n - 1, k // 2)])
    return np.unique(idx.astype(int))


class ViResult(NamedTuple):
    """A VI run. T = steps recorded + 1 (the initial q is index 0).

    times (T,) s; elbo (T,) exact; elbo_mc (T,) the MC estimate each step followed (nan for
    CAVI and the initial q); kl (T,); mean (T, 2); cov (T, 2, 2); loc/chol (T, 2)/(T, 2, 2)
    for Gaussian q, w1 (T, nx)/w2 (T, ny) for CAVI (else None). snap (S,) indices with
    mmd/mean_err/cov_err (S,). marg_x (nx,), marg_y (ny,): final q's marginal densities.

    The family's best member, found outside the clock from several starts: kl_best, elbo_best
    (= log_evidence - kl_best) its KL and ELBO -- for gauss-mf/gauss-fr the best Gaussian of
    that family (the run's own last q counts as a start), for CAVI the best fixed point;
    n_optima: distinct local optima found for this family on this target (1: all starts
    agree); kl_local: KL of the local optimum this run was climbing to (kl[-1] - kl_local:
    not yet converged; kl_local - kl_best: a worse local optimum). verdict, verdict_level:
    vi_core.verdicts.vi_verdict's plain text and level ("good", "warn", "bad").

    CAVI animates the best of its starts (vi_core.cavi.cavi_starts): the shared off-centre
    start unless another start reaches a better fixed point; the verdict then says so.
    """

    method: str
    times: np.ndarray
    wall_time_s: float
    elbo: np.ndarray
    elbo_mc: np.ndarray
    kl: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    loc: np.ndarray | None
    chol: np.ndarray | None
    w1: np.ndarray | None
    w2: np.ndarray | None
    snap: np.ndarray
    mmd: np.ndarray
    mean_err: np.ndarray
    cov_err: np.ndarray
    marg_x: np.ndarray
    marg_y: np.ndarray
    log_evidence: float
    khat: float
    verdict: str
    kl_best: float = math.nan
    elbo_best: float = math.nan
    n_optima: int = 1
    kl_local: float = math.nan
    verdict_level: str = "good"

    @property
    def n_steps(self) -> int:
        return self.times.size - 1

    @property
    def optimisation_gap(self) -> float:
        """kl[-1] - kl_best >= 0 (to the optimiser's tolerance): what this run's optimisation
        cost beyond the family's bias."""
        return float(self.kl[-1] - self.kl_best)

    def final_q(self, grid: Grid) -> GaussianQ | GridProductQ:
        if self.loc is not None:
            return GaussianQ(self.loc[-1], self.chol[-1])
        return GridProductQ.on(grid, self.w1[-1], self.w2[-1])


class McmcResult(NamedTuple):
    """An MCMC run. chain (T, W, 2) float32; times (T,) s after each step; snap (S,) step
    indices with mmd/mean_err/cov_err (S,) of the post-burn-in draws up to that step.
    verdict, verdict_level: vi_core.verdicts.mcmc_verdict from R-hat, ESS and acceptance."""

    method: str
    chain: np.ndarray
    times: np.ndarray
    wall_time_s: float
    snap: np.ndarray
    mmd: np.ndarray
    mean_err: np.ndarray
    cov_err: np.ndarray
    n_samples: int
    acceptance: float
    ess: np.ndarray
    rhat: np.ndarray
    tau: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    verdict: str = ""
    verdict_level: str = ""

    @property
    def n_steps(self) -> int:
        return self.times.size

    @property
    def ess_per_s(self) -> np.ndarray:
        return self.ess / max(self.wall_time_s, 1e-9)


def _init_scale(box) -> tuple[np.ndarray, float]:
    x0, x1, y0, y1 = box
    return start_point(box), min(x1 - x0, y1 - y0) / 8.0


def run_vi(target: Target, method: str, seed: int = 0, settings: Settings = Settings(), grid=None) -> ViResult:
    """Run a VI method ('cavi', 'gauss-mf', 'gauss-fr') and score every recorded q."""
    if method not in VI_METHODS:
        raise ValueError(f"unknown VI method {method!r}; choose one of {', '.join(VI_METHODS)}")
    _check_seed(seed)
    grid = grid if grid is not None else make_grid(target, settings.n_grid)
    start, sd = _init_scale(grid.box)
    note = ""
    if method == "cavi":
        tol = settings.cavi_tol
        best = best_fixed_point(grid, init_sd=sd)
        shown = best.best_start  # the shared start (0) unless another start reaches a better fixed point
        label, w1_0, w2_0 = cavi_starts(grid, init_sd=sd)[shown]
        if shown:
            note = (
                f"Shown: the best of {len(best.start_elbos)} CAVI starts ({label}); the shared off-centre start "
                f"stops at a fixed point {best.elbo - best.start_elbos[0]:.2f} nats lower."
            )
        trace = run(
            cavi(grid, init_sd=sd, init_factors=(w1_0, w2_0)),
            settings.cavi_sweeps,
            seed,
            stop=lambda s, i: abs(i.delta) <= tol,
            time_budget_s=settings.time_budget_s,
        )
        wall = float(trace.times[-1])
        w1 = np.stack([s.w1 for s in trace.states])
        w2 = np.stack([s.w2 for s in trace.states])
        elbo = np.array([s.elbo for s in trace.states])
        elbo_mc = np.full_like(elbo, np.nan)
        mean = np.stack([w1 @ grid.xs, w2 @ grid.ys], axis=-1)
        var = np.stack([(w1 * (grid.xs - mean[:, :1]) ** 2).sum(1), (w2 * (grid.ys - mean[:, 1:]) ** 2).sum(1)], -1)
        cov = np.zeros((elbo.size, 2, 2))
        cov[:, 0, 0], cov[:, 1, 1] = var[:, 0], var[:, 1]
        loc = chol = None
        qs = [GridProductQ.on(grid, w1[k], w2[k]) for k in range(elbo.size)]
        q_final = qs[-1]
        marg_x, marg_y = q_final.density_x, q_final.density_y
        elbo_best, elbo_local, n_optima = (
            max(best.elbo, elbo[-1]),
            max(best.start_elbos[shown], elbo[-1]),
            best.n_optima,
        )
        family = "mean-field products q1(z1) q2(z2)"
    else:
        full_rank = method == "gauss-fr"
        x0, x1, y0, y1 = grid.box
        algo = gaussian_vi(
            target,
            start,
            sd,
            full_rank=full_rank,
            n_samples=settings.vi_samples,
            n_steps=settings.vi_steps,
            adam=AdamOptions(lr=settings.vi_lr),
            scale=np.array([(x1 - x0) / 8.0, (y1 - y0) / 8.0]),
        )
        trace = run(algo, settings.vi_steps, seed, time_budget_s=settings.time_budget_s)
        wall = float(trace.times[-1])
        qs = [to_q(s.avg) for s in trace.states]
        loc = np.stack([q.loc for q in qs])
        chol = np.stack([q.chol for q in qs])
        elbo = _elbo_trace(target, loc, chol)
        elbo[-1] = gaussian_elbos(target, loc[-1:], chol[-1:])[0]
        elbo_mc = np.concatenate([[np.nan], [i.mc_elbo for i in trace.infos]])
        mean, cov = loc, chol @ np.swapaxes(chol, 1, 2)
        w1 = w2 = None
        q_final = qs[-1]
        sx, sy = np.sqrt(cov[-1, 0, 0]), np.sqrt(cov[-1, 1, 1])
        marg_x = np.exp(-0.5 * ((grid.xs - loc[-1, 0]) / sx) ** 2) / (sx * math.sqrt(2 * math.pi))
        marg_y = np.exp(-0.5 * ((grid.ys - loc[-1, 1]) / sy) ** 2) / (sy * math.sqrt(2 * math.pi))
        # The optimum this run was climbing to, then every start's optimum with it as one more start.
        local_q, local_elbo = local_reverse_kl_fit(grid, q_final, full_rank)
        try:
            opt = best_reverse_kl_fit(grid, full_rank, extra_starts=(local_q,))
            search_elbo, n_optima = opt.elbo, opt.n_optima
        except ValueError:  # no start has a finite ELBO (a density zero almost everywhere): the run is all we have
            search_elbo, n_optima = -math.inf, 1
        elbo_best, elbo_local = max(search_elbo, local_elbo, elbo[-1]), max(local_elbo, elbo[-1])
        family = "full-rank Gaussians" if full_rank else "mean-field Gaussians"
    kl = grid.log_z - elbo
    snap = snapshot_indices(elbo.size)
    yard = Yardstick(grid)
    mmd = np.array([yard.mmd_q(qs[k]) for k in snap])
    errs = np.array([moment_errors(grid, mean[k], cov[k]) for k in snap])
    khat = pareto_khat(target, q_final, seed=seed)
    kl_best, kl_local = grid.log_z - elbo_best, grid.log_z - elbo_local
    verdict = vi_verdict(
        khat,
        float(kl[-1]),
        kl_best=kl_best,
        kl_local=kl_local,
        n_optima=n_optima,
        reference_truncated=bool(getattr(grid, "reference_truncated", False)),
        family=family,
        note=note,
    )
    return ViResult(
        method,
        trace.times,
        wall,
        elbo,
        elbo_mc,
        kl,
        mean,
        cov,
        loc,
        chol,
        w1,
        w2,
        snap,
        mmd,
        errs[:, 0],
        errs[:, 1],
        marg_x,
        marg_y,
        grid.log_z,
        khat,
        verdict.text,
        float(kl_best),
        float(elbo_best),
        int(n_optima),
        float(kl_local),
        verdict.level,
    )


def _elbo_trace(target: Target, loc: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """Exact ELBOs of every recorded Gaussian q, (T,), by the q-centred quadrature.

    61 nodes a side, or 41 where that is as good: when the two agree within 1e-7 nats at the
    snapshot states (early ones included), the smooth target needs no more, and a run of
    1000 steps on a costly density (the data posteriors) is scored in half the time.
    """
    snap = snapshot_indices(loc.shape[0])
    fine = gaussian_elbos(target, loc[snap], chol[snap], n=61)
    coarse = gaussian_elbos(target, loc[snap], chol[snap], n=41)
    if np.allclose(coarse, fine, rtol=0.0, atol=1e-7):
        return gaussian_elbos(target, loc, chol, n=41)
    return gaussian_elbos(target, loc, chol, n=61)


def run_sampler(target: Target, method: str, seed: int = 0, settings: Settings = Settings(), grid=None) -> McmcResult:
    """Run an MCMC method ('emcee', 'emcee-de', 'rwm') and score its draws over time."""
    if method not in MCMC_METHODS:
        raise ValueError(f"unknown MCMC method {method!r}; choose one of {', '.join(MCMC_METHODS)}")
    _check_seed(seed)
    grid = grid if grid is not None else make_grid(target, settings.n_grid)
    start, sd = _init_scale(grid.box)
    res = mcmc.run_mcmc(
        target,
        method,
        seed,
        start,
        np.full(2, sd / 4.0),
        n_walkers=settings.walkers,
        n_steps=settings.mcmc_steps,
        step_size=settings.step_size,
        time_budget_s=settings.time_budget_s,
    )
    wall = float(res.times[-1])
    snap = snapshot_indices(res.times.size)
    snap = snap[snap >= 1]
    yard = Yardstick(grid)
    mmd, errs = [], []
    for k in snap:
        draws = res.chain[mcmc.burn_in(k + 1) : k + 1].reshape(-1, 2)
        mmd.append(yard.mmd_samples(draws))
        errs.append(moment_errors(grid, draws.mean(axis=0), np.cov(draws.T)))
    errs = np.array(errs)
    d = mcmc.diagnostics(res)
    verdict = mcmc_verdict(d.rhat, d.ess, d.acceptance)
    return McmcResult(
        method,
        res.chain.astype(np.float32),
        res.times,
        wall,
        snap,
        np.array(mmd),
        errs[:, 0],
        errs[:, 1],
        d.n_samples,
        d.acceptance,
        d.ess,
        d.rhat,
        d.tau,
        d.mean,
        d.cov,
        verdict.text,
        verdict.level,
    )


def run_method(target: Target, method: str, seed: int = 0, settings: Settings = Settings(), box=None):
    """Dispatch on the method name; returns (grid, ViResult | McmcResult, seconds incl. scoring).

    box: (xmin, xmax, ymin, ymax) for the grid and CAVI, default the target's own."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    t0 = time.perf_counter()
    grid = make_grid(target, settings.n_grid, box)
    fn = run_vi if method in VI_METHODS else run_sampler
    result = fn(target, method, seed, settings, grid=grid)
    return grid, result, time.perf_counter() - t0


def _check_seed(seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
