"""MCMC behind one ``run`` interface: emcee's ensemble sampler with three moves.

* ``emcee``    -- affine-invariant stretch move (Goodman & Weare), emcee's default;
* ``emcee-de`` -- differential-evolution move;
* ``rwm``      -- random-walk Metropolis: emcee's GaussianMove, every walker an independent chain.

emcee's per-step Python overhead dominates on cheap 2D densities, so the defaults use
many walkers and few steps, and the log density is vectorised over walkers.
Diagnostics: acceptance fraction, ESS and R-hat from arviz-stats (walkers as chains) and
emcee's integrated autocorrelation time, all on the draws after burn-in.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import emcee
import numpy as np
from arviz_stats.base import array_stats

from vi_core.targets import Target

__all__ = ["MCMC_METHODS", "McmcRun", "burn_in", "diagnostics", "run_mcmc"]

MCMC_METHODS = ("emcee", "emcee-de", "rwm")


class McmcRun(NamedTuple):
    """chain (T, W, 2): walker positions after each step; times (T,): seconds since start
    after each step; accepted (T, W) bool: whether each walker moved at each step."""

    chain: np.ndarray
    times: np.ndarray
    accepted: np.ndarray


def burn_in(n_steps: int) -> int:
    """Steps discarded as burn-in when n_steps have been drawn: the first quarter."""
    return n_steps // 4


def _moves(method: str, step_size: float):
    if method == "emcee":
        return emcee.moves.StretchMove()
    if method == "emcee-de":
        return emcee.moves.DEMove()
    if method == "rwm":
        return emcee.moves.GaussianMove(np.full(2, step_size**2))
    raise ValueError(f"unknown MCMC method {method!r}; choose one of {', '.join(MCMC_METHODS)}")


def initial_walkers(rng: np.random.Generator, start: np.ndarray, spread: np.ndarray, n_walkers: int):
    """Walkers in a small ball around ``start``, (W, 2): burn-in from one place is visible."""
    return start + spread * rng.standard_normal((n_walkers, 2))


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
    """Sample with emcee; every step timed. Same seed -> same chain."""
    move = _moves(method, step_size)
    if n_walkers < 4 or n_walkers % 2:
        raise ValueError(f"n_walkers must be an even number >= 4, got {n_walkers}")
    rng = np.random.default_rng(seed)

    def log_prob(z):
        with np.errstate(all="ignore"):
            lp = target.log_density(z)
        return np.where(np.isnan(lp), -np.inf, lp)

    t0 = time.perf_counter()
    p0 = initial_walkers(rng, np.asarray(start, float), np.asarray(spread, float), n_walkers)
    # emcee draws from a legacy RandomState; seed it from our Generator so one seed fixes all.
    state = emcee.State(p0, random_state=np.random.RandomState(int(rng.integers(2**31))).get_state())
    sampler = emcee.EnsembleSampler(n_walkers, 2, log_prob, moves=move, vectorize=True)
    times = np.empty(n_steps)
    chain = np.empty((n_steps, n_walkers, 2))
    prev = p0
    k = 0
    for k, st in enumerate(sampler.sample(state, iterations=n_steps, store=False)):
        chain[k] = st.coords
        times[k] = time.perf_counter() - t0
        if time_budget_s is not None and times[k] > time_budget_s:
            break
    else:
        k = n_steps - 1
    chain, times = chain[: k + 1], times[: k + 1]
    accepted = np.any(np.diff(np.concatenate([prev[None], chain]), axis=0) != 0, axis=-1)
    return McmcRun(chain, times, accepted)


class Diagnostics(NamedTuple):
    """On the draws after burn-in. ess, rhat, tau: (2,) per coordinate."""

    n_samples: int
    acceptance: float
    ess: np.ndarray
    rhat: np.ndarray
    tau: np.ndarray
    mean: np.ndarray
    cov: np.ndarray


def diagnostics(run: McmcRun) -> Diagnostics:
    """Acceptance, ESS, R-hat (arviz-stats, walkers as chains) and autocorrelation time."""
    draws = run.chain[burn_in(run.chain.shape[0]) :]  # (T', W, 2)
    by_walker = np.moveaxis(draws, 1, 0)  # (W, T', 2)
    ess = np.array([array_stats.ess(by_walker[..., d], chain_axis=0, draw_axis=1) for d in range(2)])
    rhat = np.array([array_stats.rhat(by_walker[..., d], chain_axis=0, draw_axis=1) for d in range(2)])
    # tol=0: always return the estimate; the caller can compare it with the chain length.
    with np.errstate(all="ignore"):  # a walker that never moved has zero variance: tau is nan
        tau = emcee.autocorr.integrated_time(draws, tol=0) if draws.shape[0] > 1 else np.full(2, np.nan)
    flat = draws.reshape(-1, 2)
    return Diagnostics(
        n_samples=flat.shape[0],
        acceptance=float(run.accepted.mean()),
        ess=ess,
        rhat=rhat,
        tau=np.asarray(tau, dtype=float),
        mean=flat.mean(axis=0),
        cov=np.cov(flat.T),
    )
