"""emcee's ensemble sampler (vi_core.mcmc.ensemble) with two moves, and random-walk Metropolis, as registered
samplers.

* ``emcee``    -- affine-invariant stretch move (Goodman & Weare), emcee's default, scale a = STRETCH_A;
* ``emcee-de`` -- differential-evolution move;
* ``rwm``      -- random-walk Metropolis (vi_core.rwm): every walker an independent chain, the proposal tuned
  in burn-in.

The ensemble moves need an even number of walkers; the rule lives here, with them.
"""

from __future__ import annotations

import emcee
import numpy as np

from vi_core.mcmc import ensemble
from vi_core.method import Method, Plan, register
from vi_core.rwm import rwm

__all__ = ["MOVES", "STRETCH_A"]

# The stretch move's scale a (emcee's default 2). In two dimensions a = 2 accepts ~0.71 of proposals, above
# the 0.2-0.5 emcee's authors recommend, and mixes slowly: tau 25-29 steps on a 2D Gaussian (32 walkers,
# 2000 steps), 39 on the banana. a = 4.5 accepts ~0.45 there (0.25-0.45 on every built-in target) and tau
# falls to 17-19 (banana 23-28); a larger a brings acceptance down with no further gain in tau.
STRETCH_A = 4.5

# method name -> step_size -> a fresh emcee move
MOVES = {
    "emcee": lambda step_size: emcee.moves.StretchMove(a=STRETCH_A),
    "emcee-de": lambda step_size: emcee.moves.DEMove(),
}


def _builder(name: str):
    def build(target, grid, settings, start, sd) -> Plan:
        move = MOVES[name](settings.step_size)
        return Plan(ensemble(target, move, start, np.full(2, sd / 4.0), settings.walkers), settings.mcmc_steps)

    return build


for _name, _label in (("emcee", "emcee (stretch move)"), ("emcee-de", "emcee (DE move)")):
    register(
        Method(
            name=_name,
            label=_label,
            kind="mcmc",
            build=_builder(_name),
            steps="mcmc_steps",
            settings=("walkers", "mcmc_steps"),
            draws=lambda coords: coords,
            even_walkers=True,
            rules=("autocorr", "ensemble_acceptance"),  # walkers are not independent chains
        )
    )


def _build_rwm(target, grid, settings, start, sd) -> Plan:
    algorithm = rwm(target, start, np.full(2, sd / 4.0), settings.walkers, settings.step_size, settings.mcmc_steps)
    return Plan(algorithm, settings.mcmc_steps)


register(
    Method(
        name="rwm",
        label="Random-walk Metropolis",
        kind="mcmc",
        build=_build_rwm,
        steps="mcmc_steps",
        settings=("walkers", "mcmc_steps", "step_size"),
        draws=lambda coords: coords,
        rules=("chains", "metropolis_acceptance"),  # every walker an independent chain
    )
)
