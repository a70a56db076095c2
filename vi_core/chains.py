"""What every sampler's chains share, whatever the kernel: burn-in, the initial walkers, a recorded run as
arrays, and the diagnostics on the draws after burn-in (bulk/tail ESS, rank R-hat and MCSEs from arviz-stats,
chains or walkers as chains; emcee's integrated autocorrelation time; the acceptance fraction after burn-in, since
our samplers tune their proposals in burn-in). Which of them judge a run is the method's choice (vi_core.verdicts:
emcee's ensembles by τ, independent chains by R-hat and ESS). Kernels import this module, never each other.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import emcee
import numpy as np
from arviz_stats.base import array_stats

from vi_core.runner import Trace

__all__ = ["Diagnostics", "McmcRun", "burn_in", "chain_of", "diagnostics", "initial_walkers"]


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
