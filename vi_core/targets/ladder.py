"""Targets for the variational ladder: shapes that defeat a single Gaussian and reward richer families.

* ``ring``: the donut's thin ring, p~(z) = exp(-(|z| - R)^2 / 2w^2) with radius R = r = 8 and width w = sigma = 0.1
  by default, the ring of a published mixture-VI benchmark (Stacking-VBMC, appendix Table A.1); ln Z in closed form.
  Where a score is taken on the grid the cells must resolve the width: the midpoint rule's error on a Gaussian of sd
  w with cells h wide is about 2 exp(-2 pi^2 w^2 / h^2), below 1e-7 for h <= 1.05 w; the box is 2(R + 5w) wide, so
  the default 200 cells a side resolve w >= 0.1 up to R = 10 (the parameters' range), and a thinner ring would need
  2(R + 5w) / w cells a side (the grid warns when its ln Z rules disagree).
* ``modes``: a many-mode Gaussian mixture: ``clusters`` clusters of ``per`` isotropic components on a circle of
  radius 5, seeded (the same mixture every time), cluster k holding mass (k + 1) / sum: unequal on purpose, so a
  method that shares its mass out evenly is seen to. 4 x 5 = 20 components by default; exact ln Z = 0, an exact
  reference (its conditionals are normal mixtures) and the clusters' centres and masses (``mode_centres``,
  ``mode_masses``) for the mass each method puts near each mode.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy.special import logsumexp

from vi_core.targets.base import Conditional, Param, Target, register
from vi_core.targets.classic import Donut

__all__ = ["Modes", "Ring"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@register
@dataclasses.dataclass(frozen=True)
class Ring(Donut):
    """The donut's density (and its closed-form ln Z, gradient and box) at the benchmark's radius and width."""

    r: float = 8.0
    sigma: float = 0.1

    name = "ring"
    description = "Thin ring: all the mass on a circle of radius 8 and width 0.1; a few Gaussians cannot cover it."
    params = (
        Param("r", 8.0, 1.0, 10.0, "radius r"),
        Param("sigma", 0.1, 0.1, 1.0, "ring width σ"),
    )


@register
@dataclasses.dataclass(frozen=True)
class Modes(Target):
    clusters: float = 4.0
    per: float = 5.0

    name = "modes"
    description = "Many modes: 20 Gaussians in 4 clusters of unequal mass (0.1 to 0.4) on a circle."
    params = (
        Param("clusters", 4.0, 2.0, 6.0, "clusters (rounded)"),
        Param("per", 5.0, 1.0, 8.0, "components per cluster (rounded)"),
    )
    SEED = 7  # the mixture is drawn once from this seed: the same target for everyone
    RADIUS = 5.0
    SPREAD = 0.9  # sd of a component's offset from its cluster's centre

    @functools.cached_property
    def _mixture(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ln weights (M,), means (M, 2), sds (M,)): clusters x per components, cluster k's weights summing to
        mode_masses[k]."""
        c, p = round(self.clusters), round(self.per)
        rng = np.random.default_rng(self.SEED)
        offsets = np.zeros((c, p, 2)) if p == 1 else self.SPREAD * rng.standard_normal((c, p, 2))
        means = (self.mode_centres[:, None, :] + offsets).reshape(-1, 2)
        sds = rng.uniform(0.35, 0.6, size=c * p)
        log_w = np.repeat(np.log(self.mode_masses / p), p)
        return log_w, means, sds

    @property
    def mode_centres(self) -> np.ndarray:
        """(clusters, 2): the clusters' centres, evenly round the circle."""
        angle = 2.0 * np.pi * np.arange(round(self.clusters)) / round(self.clusters) + 0.3
        return self.RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=-1)

    @property
    def mode_masses(self) -> np.ndarray:
        """(clusters,): cluster k's probability, (k + 1) / sum."""
        k = np.arange(1, round(self.clusters) + 1, dtype=float)
        return k / k.sum()

    def _components(self, z):
        log_w, means, sds = self._mixture
        d = np.asarray(z, dtype=float)[..., None, :] - means  # (..., M, 2)
        comp = log_w - 0.5 * (d * d).sum(-1) / sds**2 - 2.0 * _HALF_LOG_2PI - 2.0 * np.log(sds)
        return comp, d, sds

    def log_density(self, z):
        comp, _, _ = self._components(z)
        return logsumexp(comp, axis=-1)

    def grad_log_density(self, z):
        comp, d, sds = self._components(z)
        r = np.exp(comp - comp.max(axis=-1, keepdims=True))
        r /= r.sum(axis=-1, keepdims=True)
        return -np.einsum("...m,...mi->...i", r / sds**2, d)

    @property
    def box(self):
        h = self.RADIUS + 4.0
        return (-h, h, -h, h)

    @property
    def log_z_exact(self):
        return 0.0  # a mixture of normalised Gaussians whose weights sum to 1

    @property
    def conditional(self):
        """z1 ~ sum_m w_m N(mu_m1, s_m^2); given z1, z2 ~ sum_m pi_m(z1) N(mu_m2, s_m^2), with
        pi_m(z1) ∝ w_m N(z1; mu_m1, s_m^2)."""
        log_w, means, sds = self._mixture

        def joint(t):  # (M, K): ln w_m N(t; mu_m1, s_m^2)
            u = (np.asarray(t, dtype=float)[None, :] - means[:, :1]) / sds[:, None]
            return log_w[:, None] - 0.5 * u * u - _HALF_LOG_2PI - np.log(sds)[:, None]

        def components(t):
            j = joint(t)
            k = j.shape[1]
            return j - logsumexp(j, axis=0), np.repeat(means[:, 1:], k, axis=1), np.repeat(sds[:, None], k, axis=1)

        lo, hi = (means[:, 0] - 15.0 * sds).min(), (means[:, 0] + 15.0 * sds).max()
        return Conditional(lambda t: logsumexp(joint(t), axis=0), (float(lo), float(hi)), components, "(z₁, z₂)")
