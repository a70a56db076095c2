"""Gibbs sampling (vi_core.gibbs) as a registered sampler: ``settings.chains`` independent chains."""

from __future__ import annotations

import numpy as np

from vi_core import gibbs as engine  # the module, not its names: importing either first works
from vi_core.methods import Method, Plan, register

__all__ = ["stats"]


def _build(target, grid, settings, start, sd) -> Plan:
    algorithm = engine.gibbs(target, start, np.full(2, sd / 4.0), settings.chains)
    return Plan(algorithm, settings.mcmc_steps)


def stats(infos) -> dict:
    """How the conditionals were drawn, and the chain updates skipped for want of density."""
    if not infos:
        return {}
    m = infos[0].grid_nodes
    return {
        "conditionals": "closed form" if m == 0 else f"1D grid ({m} nodes)",
        "stuck_updates": int(sum(i.stuck for i in infos)),
    }


register(
    Method(
        name="gibbs",
        label="Gibbs sampling",
        kind="mcmc",
        build=_build,
        steps="mcmc_steps",
        settings=("chains", "mcmc_steps"),
        draws=lambda kept: kept.positions,
        path=lambda kept: kept.moves,
        stats=stats,
        judge_acceptance=False,  # every draw is accepted: the rate says nothing
    )
)
