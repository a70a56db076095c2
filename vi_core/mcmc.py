"""MCMC on the one run loop: emcee's ensemble sampler stepped by vi_core.runner.run.

The moves (stretch, differential evolution, random-walk Metropolis) are registered methods
in vi_core.methods.emcee_moves.

emcee's per-step Python overhead dominates on cheap 2D densities, so the defaults use
many walkers and few steps, and the log density is vectorised over walkers.
Diagnostics: ESS and R-hat from arviz-stats (walkers as chains) and emcee's integrated
autocorrelation time on the draws after burn-in; the acceptance fraction over every step,
after burn-in (emcee's ``acceptance_fraction`` counts every step; our samplers tune their proposals in burn-in).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import emcee
import numpy as np
from arviz_stats.base import array_stats
from emcee.model import Model  # what moves' propose(model, state) take; emcee builds it the same way

from vi_core.runner import Algorithm, Trace, run
from vi_core.targets import Target

__all__ = [
    "Diagnostics",
    "EnsembleState",
    "McmcRun",
    "burn_in",
    "chain_of",
    "diagnostics",
    "ensemble",
    "initial_walkers",
    "log_prob_fn",
    "run_mcmc",
]


class McmcRun(NamedTuple):
    """chain (T, W, 2): walker positions after each step; times (T,): seconds since start
    after each step; accepted (T, W) bool: whether each walker moved at each step."""

    chain: np.ndarray
    times: np.ndarray
    accepted: np.ndarray


def burn_in(n_steps: int) -> int:
    """Steps discarded as burn-in when n_steps have been drawn: the first quarter."""
    return n_steps // 4


def initial_walkers(rng: np.random.Generator, start: np.ndarray, spread: np.ndarray, n_walkers: int):
    """Walkers in a small ball around ``start``, (W, 2): burn-in from one place is visible."""
    return start + spread * rng.standard_normal((n_walkers, 2))


def log_prob_fn(target: Target):
    """The target's log density for a batch of walkers, nan (outside the support) as -inf."""

    def log_prob(z):
        with np.errstate(all="ignore"):
            lp = target.log_density(z)
        return np.where(np.isnan(lp), -np.inf, lp)

    return log_prob


class EnsembleState(NamedTuple):
    """walkers: emcee's State (coords (W, 2), log_prob (W,)); random: the legacy RandomState
    emcee's moves draw from, seeded from our Generator at init and passed along like it."""

    walkers: emcee.State
    random: np.random.RandomState


def ensemble(target: Target, move, start: np.ndarray, spread: np.ndarray, n_walkers: int) -> Algorithm:
    """emcee's EnsembleSampler with one move as an init/step pair.

    init draws the walkers around ``start`` and seeds emcee's RandomState from our Generator
    (one seed fixes all); step is the body of ``EnsembleSampler.sample``'s loop -- pick the
    move (one draw, as emcee does), ``move.propose(model, state)`` -- so the chain is the one
    ``EnsembleSampler.run_mcmc`` draws from the same State, at its speed. The run loop keeps
    only the walker positions (``keep``). The ensemble moves need an even number of walkers.
    """
    if n_walkers < 4 or n_walkers % 2:
        raise ValueError(f"walkers must be an even number >= 4 for emcee's moves, got {n_walkers}")
    start, spread = np.asarray(start, float), np.asarray(spread, float)
    sampler = emcee.EnsembleSampler(n_walkers, 2, log_prob_fn(target), moves=move, vectorize=True)
    moves, weights = [move], np.ones(1)

    def init(rng):
        p0 = initial_walkers(rng, start, spread, n_walkers)
        random = np.random.RandomState(int(rng.integers(2**31)))
        walkers = emcee.State(p0)
        walkers.log_prob, walkers.blobs = sampler.compute_log_prob(p0)
        return EnsembleState(walkers, random)

    def step(rng, state):
        model = Model(sampler.log_prob_fn, sampler.compute_log_prob, map, state.random)
        chosen = state.random.choice(moves, p=weights)  # emcee draws its move even when there is one
        old = state.walkers  # moves update the State they are given in place: give them a copy
        walkers, accepted = chosen.propose(model, emcee.State(old.coords.copy(), log_prob=old.log_prob.copy()))
        return EnsembleState(walkers, state.random), accepted

    return Algorithm(init, step, keep=lambda state: state.walkers.coords)


def run_mcmc(
    target: Target,
    method: str,
    seed: int,
    start: np.ndarray,
    spread: np.ndarray,
    n_walkers: int = 32,
    n_steps: int = 500,
    step_size: float = 0.5,
    time_budget_s: float | None = None,
) -> McmcRun:
    """Sample with one of emcee's moves (vi_core.methods.emcee_moves.MOVES); every step timed
    by vi_core.runner.run. Same seed -> same chain."""
    from vi_core.methods.emcee_moves import MOVES

    if method not in MOVES:
        raise ValueError(f"unknown MCMC method {method!r}; choose one of {', '.join(MOVES)}")
    algo = ensemble(target, MOVES[method](step_size), start, spread, n_walkers)
    return chain_of(run(algo, n_steps, seed, time_budget_s=time_budget_s))


def chain_of(trace: Trace, draws=lambda s: s) -> McmcRun:
    """A recorded run of walkers -> (chain after each step, times, accepted): the initial
    positions (trace.states[0]) only decide whether the first step moved."""
    chain = np.stack([draws(s) for s in trace.states])
    # compared, not differenced: a bool temporary instead of a copy of the chain (20 MB at 256 x 5000)
    accepted = np.any(chain[1:] != chain[:-1], axis=-1)
    return McmcRun(chain[1:], trace.times[1:], accepted)


_NAN2 = np.full(2, np.nan)
_NAN2.flags.writeable = False  # one default shared by every Diagnostics that lacks these: never written


class Diagnostics(NamedTuple):
    """On the draws after burn-in; per coordinate (2,): ess, rhat, tau, ess_bulk, ess_tail, mcse_mean,
    mcse_sd. rhat: rank-normalised, chains (walkers) as chains. ess: the effective draws the method's own
    rules trust -- bulk ESS for independent chains, walkers x kept steps / τ for emcee's ensembles
    (``ensemble``). ess_bulk/ess_tail/mcse_*: arviz-stats with chains (walkers) as chains. n_chains,
    n_kept: chains (walkers) and steps per chain after burn-in."""

    n_samples: int
    acceptance: float
    ess: np.ndarray
    rhat: np.ndarray
    tau: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    ess_bulk: np.ndarray = _NAN2
    ess_tail: np.ndarray = _NAN2
    mcse_mean: np.ndarray = _NAN2
    mcse_sd: np.ndarray = _NAN2
    n_chains: int = 0
    n_kept: int = 0


def _per_coordinate(fn, by_chain: np.ndarray, **kw) -> np.ndarray:
    """fn(draws of one coordinate (C, T'), chain_axis=0, draw_axis=1, **kw) for both coordinates -> (2,)."""
    with np.errstate(all="ignore"):  # a chain that never moved has zero variance
        return np.array([fn(by_chain[..., d], chain_axis=0, draw_axis=1, **kw) for d in range(2)], dtype=float)


def diagnostics(run: McmcRun, ensemble: bool = False) -> Diagnostics:
    """Acceptance, bulk/tail ESS, rank R-hat and MCSEs (arviz-stats, walkers as chains) and emcee's
    integrated autocorrelation time; ``ensemble``: ess from τ (emcee's walkers are not independent)."""
    draws = run.chain[burn_in(run.chain.shape[0]) :]  # (T', W, 2)
    by_walker = np.moveaxis(draws, 1, 0)  # (W, T', 2)
    ess_bulk = _per_coordinate(array_stats.ess, by_walker, method="bulk")
    ess_tail = _per_coordinate(array_stats.ess, by_walker, method="tail", prob=(0.05, 0.95))  # Vehtari et al. 2021
    rhat = _per_coordinate(array_stats.rhat, by_walker)
    mcse_mean = _per_coordinate(array_stats.mcse, by_walker, method="mean")
    mcse_sd = _per_coordinate(array_stats.mcse, by_walker, method="sd")
    # tol=0: always return the estimate; the caller can compare it with the chain length.
    with np.errstate(all="ignore"):  # a walker that never moved has zero variance: tau is nan
        tau = emcee.autocorr.integrated_time(draws, tol=0) if draws.shape[0] > 1 else np.full(2, np.nan)
    tau = np.asarray(tau, dtype=float)
    flat = draws.reshape(-1, 2)
    if ensemble:
        with np.errstate(all="ignore"):
            ess = np.where(tau > 0, flat.shape[0] / tau, np.nan)
    else:
        ess = ess_bulk
    return Diagnostics(
        n_samples=flat.shape[0],
        # after burn-in: what the kept draws were made with (RWM, HMC and NUTS tune their proposals in burn-in)
        acceptance=float(run.accepted[burn_in(run.chain.shape[0]) :].mean()) if run.accepted.size else math.nan,
        ess=ess,
        rhat=rhat,
        tau=tau,
        mean=flat.mean(axis=0),
        cov=np.cov(flat.T),
        ess_bulk=ess_bulk,
        ess_tail=ess_tail,
        mcse_mean=mcse_mean,
        mcse_sd=mcse_sd,
        n_chains=int(draws.shape[1]),
        n_kept=int(draws.shape[0]),
    )
