"""Mixture VI (vi_core.mog) as a registered VI method: K full-covariance Gaussian components by reparameterisation
gradients; exact ELBOs of the recorded q's by component-centred quadrature."""

from __future__ import annotations

import numpy as np

from vi_core.gaussvi import AdamOptions
from vi_core.method import Method, Plan, register
from vi_core.mog import mixture_elbos, mixture_vi, to_q
from vi_core.runner import recorded

__all__ = ["METHOD"]

RECORDED = 200  # about this many q's recorded (and scored exactly) a run, whatever the updates


def _build(target, grid, settings, start, sd) -> Plan:
    algo = mixture_vi(target, start, sd, grid.box, settings.components, settings.vi_samples, settings.vi_steps,
                      AdamOptions(lr=settings.vi_lr))  # fmt: skip
    return Plan(*recorded(algo, settings.vi_steps, RECORDED))


def _elbo(target, grid, qs, trace):
    return mixture_elbos(target, list(qs)), np.concatenate([[np.nan], [i.mc_elbo for i in trace.infos]])


METHOD = register(
    Method(
        name="mog",
        label="Mixture of Gaussians",
        kind="vi",
        build=_build,
        steps="vi_steps",
        settings=("components", "vi_steps", "vi_samples", "vi_lr"),
        q=lambda state, grid: to_q(state.theta),
        elbo=_elbo,
        family="mixtures of K Gaussians",
    )
)
