"""Grid CAVI (vi_core.cavi) as a registered VI method.

It animates the best of its starts (vi_core.cavi.cavi_starts): the shared off-centre start
unless another start reaches a better fixed point (found outside the clock by
best_fixed_point, which is also the family's best); the verdict then says so.
"""

from __future__ import annotations

import numpy as np

from vi_core.cavi import best_fixed_point, cavi, cavi_starts
from vi_core.families import GridProductQ
from vi_core.method import Best, Method, Plan, register

__all__ = ["METHOD"]


def _build(target, grid, settings, start, sd) -> Plan:
    tol = settings.cavi_tol
    best = best_fixed_point(grid, init_sd=sd)
    shown = best.best_start  # the shared start (0) unless another start reaches a better fixed point
    label, w1_0, w2_0 = cavi_starts(grid, init_sd=sd)[shown]
    note = ""
    if shown:
        note = (
            f"Shown: the best of {len(best.start_elbos)} CAVI starts ({label}); the shared off-centre start "
            f"stops at a fixed point {best.elbo - best.start_elbos[0]:.2f} nats lower."
        )
    return Plan(
        cavi(grid, init_sd=sd, init_factors=(w1_0, w2_0)),
        settings.cavi_sweeps,
        stop=lambda s, i: abs(i.delta) <= tol,
        note=note,
        extra=best,
    )


def _elbo(target, grid, qs, trace):
    elbo = np.array([s.elbo for s in trace.states])
    return elbo, np.full_like(elbo, np.nan)


def _best(target, grid, qs, elbo, plan) -> Best:
    best = plan.extra
    return Best(max(best.elbo, elbo[-1]), max(best.start_elbos[best.best_start], elbo[-1]), best.n_optima)


METHOD = register(
    Method(
        name="cavi",
        label="CAVI (grid, mean-field)",
        kind="vi",
        build=_build,
        steps="cavi_sweeps",
        settings=("cavi_sweeps", "cavi_tol", "n_grid"),
        q=lambda state, grid: GridProductQ.on(grid, state.w1, state.w2),
        elbo=_elbo,
        best=_best,
        family="mean-field products q1(z1) q2(z2)",
        grid_evals=True,
    )
)
