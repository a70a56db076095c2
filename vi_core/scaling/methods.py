"""Scaling's methods: one registry, name -> ``ScaleMethod`` (its label, kind and the builder of its run).

Every method starts at the prior's centre (0, 0) with length scale 1 (nothing from the reference). A builder
``build(post, batch)`` returns a ``ScalePlan``: the init/step ``Algorithm``, its step cap, a counter of density and
gradient evaluations in full-posterior equivalents, and how to read the state's estimate: ``moments(state)`` (VI:
q's mean and variances) or ``draws(state)`` (MCMC: the positions of the walkers or chains this step). NUTS runs
with vi_core.settings' ``Settings`` (its chains, steps and target acceptance replaced).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from vi_core import methods as _methods  # noqa: F401  (imported before vi_core.hmc, which needs it first)
from vi_core.counting import Counted
from vi_core.hmc import nuts
from vi_core.mcmc import ensemble
from vi_core.runner import Algorithm
from vi_core.scaling.model import LogisticPosterior
from vi_core.scaling.vi import gauss_vi, q_moments
from vi_core.settings import DEFAULTS

__all__ = [
    "EMCEE_MAX_STEPS",
    "EMCEE_WALKERS",
    "METHODS",
    "NUTS_CHAINS",
    "NUTS_SETTINGS",
    "NUTS_STEPS",
    "VI_MAX_STEPS",
    "ScaleMethod",
    "ScalePlan",
]

VI_MAX_STEPS = 5_000_000
EMCEE_WALKERS, EMCEE_MAX_STEPS = 32, 100_000
NUTS_CHAINS, NUTS_STEPS = 4, 1000  # warm-up: the first quarter (vi_core.hmc)
NUTS_SETTINGS = dataclasses.replace(DEFAULTS, chains=NUTS_CHAINS, mcmc_steps=NUTS_STEPS, target_accept=0.8)
_START, _SCALE = np.zeros(2), 1.0  # every method starts at the prior's centre with length scale 1


class ScalePlan(NamedTuple):
    """One method's run on one posterior: exactly one of ``moments`` and ``draws`` is set."""

    algo: Algorithm
    max_steps: int
    counter: Callable[[], tuple[int, int]]
    moments: Callable[[Any], tuple[np.ndarray, np.ndarray]] | None = None
    draws: Callable[[Any], np.ndarray] | None = None


class ScaleMethod(NamedTuple):
    name: str
    label: str
    kind: str  # "vi" | "mcmc"
    minibatch: bool
    build: Callable[[LogisticPosterior, int], ScalePlan]


def _vi(name: str, label: str, full_rank: bool, minibatch: bool) -> ScaleMethod:
    def build(post: LogisticPosterior, batch: int) -> ScalePlan:
        costs = [0.0]  # gradient evaluations in full-data equivalents, counted by the step
        algo = gauss_vi(post, full_rank, batch if minibatch else None, costs, _START, _SCALE)
        return ScalePlan(algo, VI_MAX_STEPS, lambda: (0, round(costs[0])), moments=lambda s: q_moments(s.avg))

    return ScaleMethod(name, label, "vi", minibatch, build)


def _emcee(post: LogisticPosterior, batch: int) -> ScalePlan:
    import emcee

    counted = Counted(post)
    algo = ensemble(counted, emcee.moves.StretchMove(), _START, np.full(2, _SCALE), EMCEE_WALKERS)
    return ScalePlan(algo, EMCEE_MAX_STEPS, counted.counts, draws=lambda s: s.walkers.coords)


def _nuts(post: LogisticPosterior, batch: int) -> ScalePlan:
    counted = Counted(post)
    algo = nuts(counted, NUTS_SETTINGS, _START, _SCALE)
    return ScalePlan(algo, NUTS_STEPS, counted.counts, draws=lambda s: s.z)


METHODS: dict[str, ScaleMethod] = {
    m.name: m
    for m in (
        _vi("minibatch-mf", "Minibatch VI, mean-field", full_rank=False, minibatch=True),
        _vi("minibatch-fr", "Minibatch VI, full-rank", full_rank=True, minibatch=True),
        _vi("fullbatch-fr", "Full-batch VI, full-rank", full_rank=True, minibatch=False),
        ScaleMethod("emcee", "emcee (stretch move)", "mcmc", False, _emcee),
        ScaleMethod("nuts", "NUTS", "mcmc", False, _nuts),
    )
}
