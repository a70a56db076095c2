"""Normalizing-flow VI (vi_core.flow) as a registered VI method: affine + coupling layers fitted by reparameterised
gradients with an annealed start; the recorded q's are scored exactly on the grid (the flow's density is exact)."""

from __future__ import annotations

import numpy as np

from vi_core.flow import flow_vi, to_q
from vi_core.method import Method, Plan, register
from vi_core.runner import recorded

__all__ = ["METHOD"]

RECORDED = 60  # q's recorded a run, whatever the updates: each is ~1 k parameters and ~25 ms to score on the grid


def _build(target, grid, settings, start, sd) -> Plan:
    algo = flow_vi(target, start, sd, grid.box, n_layers=settings.layers, n_steps=settings.flow_steps)
    return Plan(*recorded(algo, settings.flow_steps, RECORDED))  # the schedule counts updates, not recorded steps


def _elbo(target, grid, qs, trace):
    exact = np.array([q.elbo(grid) for q in qs])
    return exact, np.concatenate([[np.nan], [i.mc_elbo for i in trace.infos]])


METHOD = register(
    Method(
        name="flow",
        label="Normalizing flow",
        kind="vi",
        build=_build,
        steps="flow_steps",
        settings=("layers", "flow_steps"),
        q=lambda state, grid: to_q(state),
        elbo=_elbo,
        family="normalizing flows (affine + coupling layers)",
    )
)
