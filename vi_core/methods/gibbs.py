"""Gibbs sampling (vi_core.gibbs) as a registered sampler: ``settings.chains`` independent chains."""

from __future__ import annotations

import math

import numpy as np

from vi_core import gibbs as engine  # the module, not its names: importing either first works
from vi_core.method import Method, Plan, register

__all__ = ["stats"]


def _build(target, grid, settings, start, sd) -> Plan:
    # With the working grid, the conditionals' ranges cover its reference's support as well as
    # the box (vi_core.gibbs.sampling_ranges): the posterior outside them is reported, not hidden.
    algorithm = engine.gibbs(target, start, np.full(2, sd / 4.0), settings.chains, grid=grid)
    return Plan(algorithm, settings.mcmc_steps)


def stats(infos) -> dict:
    """How the conditionals were drawn, the chain updates skipped for want of density, and
    the posterior's mass outside the conditionals' ranges (0 for closed form, nan if unknown)."""
    if not infos:
        return {}
    m = infos[0].grid_nodes
    return {
        "conditionals": "closed form" if m == 0 else f"1D grid ({m} nodes, two passes)",
        "stuck_updates": int(sum(i.stuck for i in infos)),
        "mass_outside_ranges": float(getattr(infos[0], "mass_outside_ranges", math.nan)),
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
        rules=("chains", "gibbs"),  # every draw is accepted: no rule on the rate; stuck updates, mass outside ranges
    )
)
