"""Mixture VI (vi_core.mog) as a registered VI method: K full-covariance Gaussian components by reparameterisation
gradients; exact ELBOs of the recorded q's by component-centred quadrature."""

from __future__ import annotations

import math

import numpy as np

from vi_core.gaussvi import AdamOptions
from vi_core.method import Method, Plan, register
from vi_core.mog import mixture_elbos, mixture_vi, to_q

__all__ = ["METHOD"]

RECORDED = 200  # about this many q's recorded (and scored exactly) a run, whatever the updates


def _build(target, grid, settings, start, sd) -> Plan:
    per_step = max(1, math.ceil(settings.vi_steps / RECORDED))
    algo = mixture_vi(target, start, sd, grid.box, settings.components, settings.vi_samples, settings.vi_steps,
                      AdamOptions(lr=settings.vi_lr), per_step)  # fmt: skip
    return Plan(algo, math.ceil(settings.vi_steps / per_step))


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
