"""emcee's ensemble sampler (vi_core.mcmc.ensemble) with three moves, as registered samplers.

* ``emcee``    -- affine-invariant stretch move (Goodman & Weare), emcee's default;
* ``emcee-de`` -- differential-evolution move;
* ``rwm``      -- random-walk Metropolis: emcee's GaussianMove, every walker an independent chain.

The ensemble moves need an even number of walkers; the rule lives here, with them.
"""

from __future__ import annotations

import emcee
import numpy as np

from vi_core.mcmc import ensemble
from vi_core.methods import Method, Plan, register

__all__ = ["MOVES"]

# method name -> step_size -> a fresh emcee move
MOVES = {
    "emcee": lambda step_size: emcee.moves.StretchMove(),
    "emcee-de": lambda step_size: emcee.moves.DEMove(),
    "rwm": lambda step_size: emcee.moves.GaussianMove(np.full(2, step_size**2)),
}


def _builder(name: str):
    def build(target, grid, settings, start, sd) -> Plan:
        move = MOVES[name](settings.step_size)
        return Plan(ensemble(target, move, start, np.full(2, sd / 4.0), settings.walkers), settings.mcmc_steps)

    return build


for _name, _label, _extra in (
    ("emcee", "emcee (stretch move)", ()),
    ("emcee-de", "emcee (DE move)", ()),
    ("rwm", "Random-walk Metropolis", ("step_size",)),
):
    register(
        Method(
            name=_name,
            label=_label,
            kind="mcmc",
            build=_builder(_name),
            steps="mcmc_steps",
            settings=("walkers", "mcmc_steps", *_extra),
            draws=lambda coords: coords,
            even_walkers=True,
        )
    )
