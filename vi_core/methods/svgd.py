"""Stein variational gradient descent (vi_core.svgd) as a registered VI method: particles, no density."""

from __future__ import annotations

import numpy as np

from vi_core.method import Method, Plan, register
from vi_core.svgd import ParticlesQ, svgd

__all__ = ["METHOD"]


def _build(target, grid, settings, start, sd) -> Plan:
    algo = svgd(target, start, sd, grid.box, settings.particles, settings.svgd_spread, settings.vi_lr)
    return Plan(algo, settings.vi_steps)


def _no_elbo(target, grid, qs, trace):
    """Particles have no density: no ELBO, exact or estimated."""
    nan = np.full(len(qs), np.nan)
    return nan, nan.copy()


METHOD = register(
    Method(
        name="svgd",
        label="SVGD (particles)",
        kind="vi",
        build=_build,
        steps="vi_steps",
        settings=("particles", "svgd_spread", "vi_steps", "vi_lr"),
        q=lambda state, grid: ParticlesQ(state.x),
        elbo=_no_elbo,
        family="particles",
    )
)
