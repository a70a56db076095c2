"""Step-size adaptation by Nesterov dual averaging (Hoffman & Gelman 2014), apart from any kernel: HMC and NUTS
(vi_core.hmc) tune their shared step size with it during warm-up."""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["GAMMA", "KAPPA", "T0", "DualAverage", "da_init", "da_update"]

GAMMA, T0, KAPPA = 0.05, 10.0, 0.75  # dual averaging's usual constants (Hoffman & Gelman 2014)


class DualAverage(NamedTuple):
    """Nesterov dual averaging of log step size: mu the shrinkage point, hbar the averaged
    gap to the target acceptance, log_eps_bar the averaged iterate, t the iteration."""

    mu: float
    hbar: float
    log_eps_bar: float
    t: int


def da_init(step_size: float) -> DualAverage:
    return DualAverage(math.log(10.0 * step_size), 0.0, 0.0, 0)


def da_update(da: DualAverage, accept: float, target: float) -> tuple[DualAverage, float]:
    """One dual-averaging step with the accept statistic seen -> (new state, next step size)."""
    t = da.t + 1
    eta = 1.0 / (t + T0)
    hbar = (1.0 - eta) * da.hbar + eta * (target - accept)
    log_eps = da.mu - math.sqrt(t) / GAMMA * hbar
    w = t**-KAPPA
    log_eps_bar = w * log_eps + (1.0 - w) * da.log_eps_bar
    return DualAverage(da.mu, hbar, log_eps_bar, t), math.exp(log_eps)
