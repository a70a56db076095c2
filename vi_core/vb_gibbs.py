"""The source's claim, measured: variational Bayes "gives comparable accuracy to Gibbs sampling
at greater speed" on the two-parameter Normal-Gamma model (Newcomb's data).

Same model, same prior, one yardstick. Variational Bayes is closed-form CAVI
(vi_core.conjugate.closed_form_cavi) run to its fixed point; Gibbs sampling is the registered
``gibbs`` method with its closed-form conditionals (μ | τ normal, τ | μ gamma), several chains.
Both are timed by the one run loop. Accuracy is the distance to the exact Normal-Gamma
posterior in (μ, ln τ): the MMD of vi_core.metrics.Yardstick (VB's q by its exact cell
probabilities, Gibbs' draws as samples), plus the moments of μ and τ. Neither method
evaluates the log density or its gradient (both draw or update from closed forms), so their
cost is counted in conditional updates instead: 2 per CAVI iteration, 2 per Gibbs sweep and
chain.

``compare`` runs one seed and returns every number (the page animates that run); ``compare_seeds``
runs ``SEEDS`` seeds and ``over_seeds`` summarises them: per seed the time and draws Gibbs needed to be
as close and its ratio to VB's time, their median and range. ``verdict`` writes the paragraph from
them. The speed ratio is quoted only over seeds: one seed's is noise. "As close" is when the unbiased
MMD of Gibbs' draws so far stays at or below VB's; for draws from the exact posterior that estimate
is 0 on average at any number of draws, so when it last rises above VB's is decided by its noise
(on newcomb, seeds 0-9 need 440 to 8,832 draws: a twentyfold range). A smoother yardstick (the
distance of the draws' own empirical distribution, whose mean falls as 1/ESS) narrows the range
only to about fourfold and would no longer be the distance the figure draws; the median and the
range over seeds are what the text quotes instead, and the conclusion is drawn from what holds in
every seed.

VB is deterministic: every seed gives the same q, distance and moments. It is timed anew with each
seed all the same, just before that seed's Gibbs run in the same process, so each ratio sets two
clock readings taken under the same conditions (load, a worker's first call) against each other.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np
from arviz_stats.base import array_stats
from scipy import stats

from vi_core.api import run_sampler
from vi_core.chains import burn_in
from vi_core.conjugate import closed_form_cavi, exact_moments, stack
from vi_core.grid import make_grid
from vi_core.metrics import Yardstick
from vi_core.runner import run
from vi_core.settings import DEFAULTS
from vi_core.targets.data import Newcomb

__all__ = [
    "GIBBS_CHAINS",
    "GIBBS_STEPS",
    "SEEDS",
    "Comparison",
    "OverSeeds",
    "Side",
    "compare",
    "compare_seeds",
    "over_seeds",
    "verdict",
]

GIBBS_CHAINS = 4
GIBBS_STEPS = 4000  # sweeps per chain, the first quarter burn-in: ~12,000 kept draws
VB_TOL = 1e-12  # VB has converged when an iteration changes b_N by less than this (relative)
VB_MAX_ITER = 50
VB_REPEATS = 7  # VB is timed as the median of this many runs (each ~25 µs: one run's clock is scheduler noise)
SEEDS = 10  # Gibbs runs the ratio is quoted over (seeds 0, 1, ...)


class Side(NamedTuple):
    """One method's result. mean/sd of μ and of τ; se_*: their Monte Carlo standard errors (0 for
    VB, which is deterministic); mmd: distance to the exact posterior; kl: KL(q ‖ p) in nats (nan
    for draws); time_s: wall-clock to the end of the run; updates: conditional updates made;
    mmd_trace (S,), time_trace (S,), updates_trace (S,): the distance along the run."""

    mean_mu: float
    sd_mu: float
    mean_tau: float
    sd_tau: float
    se_mean_mu: float
    se_mean_tau: float
    mmd: float
    kl: float
    time_s: float
    updates: int
    mmd_trace: np.ndarray
    time_trace: np.ndarray
    updates_trace: np.ndarray


class Comparison(NamedTuple):
    """vb, gibbs: each side; exact: the posterior's moments (vi_core.conjugate.Moments);
    match_time_s / match_updates: from when on Gibbs' distance stayed at or below VB's (None: not
    within its run); chains, steps, seed: Gibbs' run."""

    vb: Side
    gibbs: Side
    exact: object
    match_time_s: float | None
    match_updates: int | None
    chains: int
    steps: int
    seed: int = 0


class OverSeeds(NamedTuple):
    """``compare`` over several seeds. runs: one Comparison per seed (runs[0] is the run the page draws);
    per seed, (K,) arrays: seeds; vb_time_s (VB timed with that seed); match_time_s, match_updates (inf:
    Gibbs never got as close within its run); ratio = match_time_s / vb_time_s (inf likewise). Over the
    seeds: median, lo (min), hi (max) of the ratio and of match_updates, inf counted as larger than any
    (a median of inf: more than half never got as close); never: seeds where Gibbs did not get as close."""

    runs: tuple
    seeds: np.ndarray
    vb_time_s: np.ndarray
    match_time_s: np.ndarray
    match_updates: np.ndarray
    ratio: np.ndarray
    median_ratio: float
    lo_ratio: float
    hi_ratio: float
    median_updates: float
    lo_updates: float
    hi_updates: float
    never: int


def _vb_cells(yard: Yardstick, mu_n: float, lambda_n: float, a_n: float, b_n: float) -> np.ndarray:
    """q(μ) q(ln τ)'s exact probability of each yardstick cell: normal CDF differences in μ times
    gamma CDF differences at e^edge in ln τ."""
    pm = np.diff(stats.norm.cdf(yard.x_edges, mu_n, 1.0 / math.sqrt(lambda_n)))
    with np.errstate(over="ignore"):
        ps = np.diff(stats.gamma.cdf(np.exp(yard.y_edges), a_n, scale=1.0 / b_n))
    cells = np.outer(pm, ps)
    return cells / cells.sum()


def _vb(target: Newcomb, yard: Yardstick, log_z: float) -> Side:
    algo = closed_form_cavi(target)

    def stop(s, info) -> bool:
        return info.delta <= VB_TOL * s.b_n

    # once untimed: a process's first run pays one-off set-up (a fresh worker's: ~1 ms, twenty times the run),
    # which is not the algorithm's cost; Gibbs' sampler is warmed up with the engine (vi_core.api.warm_up). Then
    # VB_REPEATS timed runs (it is deterministic: the same iterates each time), the median's clock kept: a 25 µs run
    # timed once took 13 ms in one seed of a loaded CI run (a scheduler pause), which made that seed's ratio 0.09
    run(algo, VB_MAX_ITER, seed=0, stop=stop)
    traces = sorted((run(algo, VB_MAX_ITER, seed=0, stop=stop) for _ in range(VB_REPEATS)), key=lambda t: t.times[-1])
    trace = traces[len(traces) // 2]
    cf = stack(trace)
    mmd = np.array(
        [yard.mmd_cells(_vb_cells(yard, *(float(c[k]) for c in (cf.mu_n, cf.lambda_n, cf.a_n, cf.b_n)))) for k in
         range(cf.elbo.size)]
    )  # fmt: skip
    a_n, b_n, lam_n = float(cf.a_n[-1]), float(cf.b_n[-1]), float(cf.lambda_n[-1])
    updates = 2 * np.arange(cf.elbo.size)
    return Side(
        mean_mu=float(cf.mu_n[-1]),
        sd_mu=1.0 / math.sqrt(lam_n),
        mean_tau=a_n / b_n,
        sd_tau=math.sqrt(a_n) / b_n,
        se_mean_mu=0.0,
        se_mean_tau=0.0,
        mmd=float(mmd[-1]),
        kl=float(log_z - cf.elbo[-1]),
        time_s=float(trace.times[-1]),
        updates=int(updates[-1]),
        mmd_trace=mmd,
        time_trace=trace.times,
        updates_trace=updates,
    )


def _gibbs(target: Newcomb, grid, seed: int, chains: int, steps: int) -> Side:
    settings = dataclasses.replace(DEFAULTS, chains=chains, mcmc_steps=steps)
    res = run_sampler(target, "gibbs", seed, settings, grid=grid)
    kept = res.chain[burn_in(res.n_steps) :].astype(float)  # (T', C, 2) in (μ, ln τ)
    mu, tau = kept[..., 0], np.exp(kept[..., 1])
    by_chain = [np.moveaxis(v, 1, 0) for v in (mu, tau)]  # (C, T')
    ess = [float(array_stats.ess(v, chain_axis=0, draw_axis=1)) for v in by_chain]
    updates = 2 * chains * (res.snap + 1)
    return Side(
        mean_mu=float(mu.mean()),
        sd_mu=float(mu.std(ddof=1)),
        mean_tau=float(tau.mean()),
        sd_tau=float(tau.std(ddof=1)),
        se_mean_mu=float(mu.std(ddof=1) / math.sqrt(ess[0])),
        se_mean_tau=float(tau.std(ddof=1) / math.sqrt(ess[1])),
        mmd=float(res.mmd[-1]),
        kl=math.nan,
        time_s=res.wall_time_s,
        updates=int(2 * chains * res.n_steps),
        mmd_trace=res.mmd,
        time_trace=res.times[res.snap],
        updates_trace=updates,
    )


def compare(target: Newcomb, seed: int = 0, chains: int = GIBBS_CHAINS, steps: int = GIBBS_STEPS) -> Comparison:
    """VB and Gibbs on ``target`` (a newcomb target), scored against its exact posterior."""
    if not isinstance(target, Newcomb):
        raise ValueError(f"the VB-versus-Gibbs comparison needs a newcomb target, got {type(target).__name__}")
    grid = make_grid(target)
    yard = Yardstick(grid)
    log_z = float(target.log_z_exact)
    vb = _vb(target, yard, log_z)
    gibbs = _gibbs(target, grid, seed, chains, steps)
    # "as close" = from that snapshot on: the distance of a handful of early draws is noise and can dip to 0
    above = np.nonzero(~(gibbs.mmd_trace <= vb.mmd))[0]
    first = 0 if above.size == 0 else above[-1] + 1
    hit = first < gibbs.mmd_trace.size
    match_t = float(gibbs.time_trace[first]) if hit else None
    match_u = int(gibbs.updates_trace[first]) if hit else None
    return Comparison(vb, gibbs, exact_moments(target.posterior, log_z), match_t, match_u, chains, steps, seed)


def over_seeds(runs) -> OverSeeds:
    """The per-seed numbers of ``runs`` (Comparisons of one target, one per seed) and their median and range."""
    runs = tuple(runs)
    if not runs:
        raise ValueError("over_seeds needs at least one run")
    inf = math.inf
    vb_t = np.array([c.vb.time_s for c in runs], dtype=float)
    match_t = np.array([inf if c.match_time_s is None else c.match_time_s for c in runs], dtype=float)
    match_u = np.array([inf if c.match_updates is None else c.match_updates for c in runs], dtype=float)
    ratio = match_t / np.maximum(vb_t, 1e-12)
    return OverSeeds(
        runs=runs,
        seeds=np.array([c.seed for c in runs]),
        vb_time_s=vb_t,
        match_time_s=match_t,
        match_updates=match_u,
        ratio=ratio,
        median_ratio=float(np.median(ratio)),
        lo_ratio=float(ratio.min()),
        hi_ratio=float(ratio.max()),
        median_updates=float(np.median(match_u)),
        lo_updates=float(match_u.min()),
        hi_updates=float(match_u.max()),
        never=int(np.isinf(match_t).sum()),
    )


def compare_seeds(
    target: Newcomb, seeds=range(SEEDS), chains: int = GIBBS_CHAINS, steps: int = GIBBS_STEPS
) -> OverSeeds:
    """``compare`` once per seed (VB timed with each), summarised by ``over_seeds``."""
    return over_seeds(compare(target, int(s), chains, steps) for s in seeds)


def _ms(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.2f} s"


def _n(v: float) -> str:
    """A ratio or a count: whole units with thousands separators from 10 on, two significant digits below (a
    ratio of 1.3 is not "1"); ∞ for "never"."""
    if not math.isfinite(v):
        return "∞"
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}"


def verdict(s: OverSeeds) -> str:
    """One paragraph, every number from ``s``: the speed ratio as its median and range over the seeds,
    the conclusion only from what holds in every seed; the drawn run (runs[0]) labelled as its seed's."""
    c = s.runs[0]
    vb, gb, ex = c.vb, c.gibbs, c.exact
    k = len(s.runs)
    parts = [
        f"Variational Bayes reached its fixed point in {_ms(vb.time_s)} ({vb.updates} closed-form updates), "
        f"at a distance {vb.mmd:.4f} from the exact posterior (KL = {vb.kl:.4f} nats); it draws nothing, so every "
        "seed gives the same q."
    ]
    never = (
        f" In {s.never} of the {k} seeds it did not get as close within its {c.steps:,} sweeps (counted as ∞)."
        if s.never
        else ""
    )
    if math.isfinite(s.median_ratio):
        parts.append(
            f"Over {k} seeds Gibbs sampling ({c.chains} chains) needed a median of {_n(s.median_ratio)}× VB's time "
            f"to be as close (range {_n(s.lo_ratio)}–{_n(s.hi_ratio)}×), after a median of "
            f"{_n(s.median_updates)} conditional draws (range {_n(s.lo_updates)}–{_n(s.hi_updates)}).{never}"
        )
    else:
        parts.append(
            f"Over {k} seeds Gibbs sampling ({c.chains} chains) got as close to the posterior as VB in only "
            f"{k - s.never}: in {s.never} it did not within its {c.steps:,} sweeps."
        )
    this = f"In the run drawn here (seed {c.seed})"
    if c.match_time_s is not None:
        parts.append(
            f"{this} it needed {_ms(c.match_time_s)} and {c.match_updates:,} draws, "
            f"{_n(c.match_time_s / max(vb.time_s, 1e-12))}× VB's time in that run."
        )
    else:
        parts.append(f"{this} it did not get as close within its {c.steps:,} sweeps.")
    parts.append(
        f"After all {c.steps:,} sweeps ({_ms(gb.time_s)}) its distance is {gb.mmd:.4f}, and it keeps falling "
        "with more draws; VB's does not."
    )
    parts.append(
        f"Both find the mean: E[μ] = {vb.mean_mu:.3f} (VB), {gb.mean_mu:.3f} ± {gb.se_mean_mu:.3f} (Gibbs), "
        f"{ex.mean_mu:.3f} (exact). VB's price is the spread: sd(μ) = {vb.sd_mu:.4f} against {ex.sd_mu:.4f} "
        f"({vb.sd_mu / ex.sd_mu - 1:+.1%}); Gibbs gives {gb.sd_mu:.4f}."
    )
    if s.never == k:
        parts.append(
            f"On this model the claim cannot be checked from these runs: Gibbs did not get as close as VB in any of "
            f"the {k} seeds within its {c.steps:,} sweeps."
        )
    elif s.lo_ratio > 1:
        spread = (
            " By how much is not one number: the noise of a few thousand draws decides when Gibbs' distance last "
            "rises above VB's, so no one seed's ratio measures the speed-up."
            if math.isfinite(s.hi_ratio)
            else ""
        )
        parts.append(
            f"On this model the claim holds in all {k} seeds: comparable accuracy, and VB was done at least "
            f"{_n(s.lo_ratio)}× sooner than Gibbs was as close, in every seed.{spread}"
        )
    else:
        won = int((s.ratio <= 1).sum())
        parts.append(
            f"On this model the claim does not hold in every seed: in {won} of the {k} Gibbs was as close no "
            "later than VB."
        )
    return " ".join(parts)
