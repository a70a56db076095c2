"""Random-walk Metropolis with its proposal tuned in burn-in, as an init/step pair for vi_core.runner.run.

W independent chains, vectorised: each step proposes z' = z + L ε (ε ~ N(0, I)) for every chain and accepts
with probability min(1, p(z')/p(z)). The proposal starts isotropic with sd ``step_size``. During burn-in (the
first quarter, vi_core.chains.burn_in) it is tuned twice, at the half and at the end of burn-in, to
2.38²/d times the covariance of the chains' draws in the preceding window (d = 2; Haario, Saksman &
Tamminen 2001; Roberts & Rosenthal 2001): an isotropic step is limited by the posterior's narrowest
direction (τ ≈ 37 steps on a ρ = 0.9 Gaussian at sd 0.5, 18 at the best isotropic sd), a proposal shaped like
the posterior is not. After burn-in the proposal is fixed, so the kept draws are an ordinary Metropolis
chain. It is still one Gaussian for the whole posterior: too wide for a funnel's neck and too narrow for its
mouth at once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vi_core.chains import burn_in, initial_walkers
from vi_core.runner import Algorithm
from vi_core.targets import Target

__all__ = ["ADAPT_SCALE", "RwmState", "rwm"]

ADAPT_SCALE = 2.38**2 / 2  # optimal scaling of a Gaussian proposal's covariance in d = 2
MIN_WINDOW = 8  # fewer steps in a window: keep the proposal as it is


class RwmState(NamedTuple):
    """z (W, 2), lp (W,): the chains and their log densities; it: steps done; chol (2, 2): the proposal's
    Cholesky factor; window: (n, sum (2,), sum of outer products (2, 2)) of the draws since the last tuning."""

    z: np.ndarray
    lp: np.ndarray
    it: int
    chol: np.ndarray
    window: tuple


def _log_density(target: Target, z: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        lp = np.asarray(target.log_density(z), dtype=float)
    # nan (outside the support) and +inf (a density that is not one) carry no mass, as in vi_core.gibbs
    return np.where(np.isnan(lp) | np.isposinf(lp), -np.inf, lp)


def _empty_window() -> tuple:
    return 0, np.zeros(2), np.zeros((2, 2))


def rwm(target: Target, start, spread, n_chains: int, step_size: float, n_steps: int) -> Algorithm:
    """``n_chains`` random-walk Metropolis chains from start + spread x N(0, I), proposal sd ``step_size``
    until tuned in burn-in (``n_steps``: the run's length, which sets when burn-in ends)."""
    if n_chains < 1:
        raise ValueError(f"random-walk Metropolis needs at least one chain, got {n_chains}")
    start, spread = np.asarray(start, float), np.asarray(spread, float)
    n_warm = burn_in(n_steps)
    tune_at = {n_warm // 2 - 1, n_warm - 1}  # the steps after which the proposal is re-tuned

    def init(rng):
        z = initial_walkers(rng, start, spread, n_chains)
        return RwmState(z, _log_density(target, z), 0, np.eye(2) * float(step_size), _empty_window())

    def step(rng, s: RwmState):
        prop = s.z + rng.standard_normal(s.z.shape) @ s.chol.T
        lp = _log_density(target, prop)
        with np.errstate(invalid="ignore"):  # -inf - -inf: a chain outside the support moves anywhere finite
            log_ratio = np.where(np.isneginf(s.lp), np.where(np.isfinite(lp), 0.0, -np.inf), lp - s.lp)
        accept = np.log(rng.uniform(size=n_chains)) < log_ratio
        z = np.where(accept[:, None], prop, s.z)
        lp = np.where(accept, lp, s.lp)
        chol, window = s.chol, s.window
        if s.it < n_warm:
            n, s1, s2 = window
            window = (n + n_chains, s1 + z.sum(0), s2 + z.T @ z)
            if s.it in tune_at:
                chol, window = _tuned(chol, window, n_chains), _empty_window()
        return RwmState(z, lp, s.it + 1, chol, window), accept

    return Algorithm(init, step, keep=lambda s: s.z)


def _tuned(chol: np.ndarray, window: tuple, n_chains: int) -> np.ndarray:
    """2.38²/d x the window's covariance (regularised towards a small multiple of I), or ``chol`` unchanged
    when the window is too short or its covariance is not positive definite."""
    n, s1, s2 = window
    if n < MIN_WINDOW * n_chains:
        return chol
    m = s1 / n
    cov = s2 / n - np.outer(m, m)
    # shrunk towards a small multiple of I as Stan shrinks its metric (its 1e-3 is for unit-scale posteriors; a
    # narrow posterior here can have variances far below that)
    cov = (n / (n + 5.0)) * cov + 1e-6 * (5.0 / (n + 5.0)) * np.eye(2)
    try:
        return np.linalg.cholesky(ADAPT_SCALE * cov)
    except np.linalg.LinAlgError:
        return chol
