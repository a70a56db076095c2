"""The four energies U1-U4 of Rezende & Mohamed (2015), "Variational inference with
normalizing flows", ICML, Table 1: ln p~(z) = -U(z).

    w1(z) = sin(2π z1 / 4),  w2(z) = 3 exp(-½((z1 - 1)/0.6)²),  w3(z) = 3 σ((z1 - 1)/0.3)

U1 is a proper density on the plane (a ring times two bumps in z1). U2-U4 confine z2
around sine-shaped ridges but not z1 at all: integrated over z2 every column holds the
same mass √(2π) Σσ_k, so on R² they are improper; the paper draws them on [-4, 4]².
Here they are exactly -U on the strip |z1| <= 4 and fall off beyond it as a half-normal
wall of sd 0.2:

    ln p~(z) = -U(z) - ½((|z1| - 4)₊ / 0.2)²,    Z = √(2π) Σσ_k (8 + 0.2 √(2π)).

Why a soft wall rather than ln p~ = -inf off the strip: with a hard edge every Gaussian q
has KL(q || p) = inf (it puts mass where p = 0), so Gaussian VI has no finite ELBO, and
the grid's edge and resolution checks would read the strip's edges as a cut box. The
wall keeps the paper's density on its box, makes the target proper on R², and its box
holds the mass like any other target's.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
from scipy.special import expit

from vi_core.targets.base import Conditional, Target, register

__all__ = ["U1", "U2", "U3", "U4"]

_HALF_PERIOD = 0.5 * math.pi  # w1 = sin(2π z1 / 4) = sin(π z1 / 2)
STRIP = 4.0  # U2-U4 are exactly -U on |z1| <= STRIP
WALL = 0.2  # sd of the half-normal fall-off beyond the strip
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_HALF_BOX = STRIP + 7.0 * WALL  # the wall's mass beyond the box is ~1e-12
_LOG_STRIP_MASS = math.log(2.0 * STRIP + WALL * _SQRT_2PI)  # ∫ e^wall(z1) dz1


def _w1(x):
    """w1 and dw1/dz1, each shaped like x."""
    return np.sin(_HALF_PERIOD * x), _HALF_PERIOD * np.cos(_HALF_PERIOD * x)


def _weight(a, b):
    """e^a / (e^a + e^b) without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * (a - b)))


def _wall(x):
    """-½((|x| - 4)₊ / 0.2)² and its derivative, each shaped like x."""
    e = np.maximum(np.abs(x) - STRIP, 0.0) / WALL
    return -0.5 * e * e, -np.sign(x) * e / WALL


class _Strip(Target):
    """Shared by U2-U4: the paper's energy on |z1| <= 4, a soft wall beyond."""

    sigmas: ClassVar[tuple[float, ...]] = ()  # sds of the Gaussian ridges in z2, for ln Z

    @property
    def log_z_exact(self):
        return math.log(_SQRT_2PI * sum(self.sigmas)) + _LOG_STRIP_MASS

    def _ridges(self, x):
        """Means (C, K) of the Gaussian ridges in z2 at z1 = x (K,)."""
        raise NotImplementedError

    @property
    def conditional(self):
        """z1 has density e^wall(z1) / (8 + 0.2 √(2π)) (flat on the strip, half-normal walls);
        given z1, z2 is a mixture of the ridges N(mu_k(z1), sigma_k^2) with weights
        sigma_k / Σ sigma (each ridge's integral over z2 is √(2π) sigma_k)."""
        sig = np.asarray(self.sigmas)
        log_pi = np.log(sig / sig.sum())[:, None]

        def components(t):
            mu = self._ridges(np.atleast_1d(np.asarray(t, dtype=float)))
            return np.broadcast_to(log_pi, mu.shape), mu, np.broadcast_to(sig[:, None], mu.shape)

        lim = STRIP + 12.0 * WALL
        return Conditional(
            lambda t: _wall(np.asarray(t, dtype=float))[0] - _LOG_STRIP_MASS,
            (-lim, lim),
            components,
            "(z₁, z₂ about each ridge)",
            (-STRIP, STRIP),
        )


@register
@dataclasses.dataclass(frozen=True)
class U1(Target):
    name = "u1"
    description = "U1 (Rezende & Mohamed 2015): a ring with two bumps; mean-field q picks one or smears."

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        r = (np.hypot(x, y) - 2.0) / 0.4
        return -0.5 * r * r + np.logaddexp(-0.5 * ((x - 2.0) / 0.6) ** 2, -0.5 * ((x + 2.0) / 0.6) ** 2)

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        norm = np.hypot(x, y)
        # z/|z| is undefined at the origin; the density's subgradient there is 0 by symmetry.
        ring = -(norm - 2.0) / (0.16 * np.where(norm > 0, norm, np.inf))
        a, b = -0.5 * ((x - 2.0) / 0.6) ** 2, -0.5 * ((x + 2.0) / 0.6) ** 2
        wa = _weight(a, b)
        bumps = -(wa * (x - 2.0) + (1.0 - wa) * (x + 2.0)) / 0.36
        return np.stack([ring * x + bumps, ring * y], axis=-1)

    @property
    def box(self):
        return (-4.0, 4.0, -4.0, 4.0)


@register
@dataclasses.dataclass(frozen=True)
class U2(_Strip):
    name = "u2"
    description = "U2 (Rezende & Mohamed 2015): a sine-shaped ridge, walled in beyond |z₁| = 4."
    sigmas = (0.4,)

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        d = (y - np.sin(_HALF_PERIOD * x)) / 0.4
        return -0.5 * d * d + _wall(x)[0]

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        w1, dw1 = _w1(x)
        gy = -(y - w1) / 0.16
        return np.stack([-gy * dw1 + _wall(x)[1], gy], axis=-1)

    @property
    def box(self):
        return (-_HALF_BOX, _HALF_BOX, -4.0, 4.0)

    def _ridges(self, x):
        return _w1(x)[0][None]


class _TwoRidges(_Strip):
    """Two Gaussian ridges in z2 mixed by logaddexp: at w1(z1) with sd sigmas[0] and at
    w1(z1) - shift(z1) with sd sigmas[1]. U3 and U4 differ only in the shift."""

    @staticmethod
    def _shift(x):
        """The second ridge's offset below the first and its derivative, each shaped like x."""
        raise NotImplementedError

    def _parts(self, x, y):
        w1, dw1 = _w1(x)
        w, dw = self._shift(x)
        s1, s2 = self.sigmas
        return dw1, dw, (y - w1) / s1, (y - w1 + w) / s2

    def _ridges(self, x):
        w1 = _w1(x)[0]
        return np.stack([w1, w1 - self._shift(x)[0]])

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        _, _, d1, d2 = self._parts(x, y)
        return np.logaddexp(-0.5 * d1 * d1, -0.5 * d2 * d2) + _wall(x)[0]

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        dw1, dw, d1, d2 = self._parts(x, y)
        wa = _weight(-0.5 * d1 * d1, -0.5 * d2 * d2)
        g1, g2 = -d1 / self.sigmas[0], -d2 / self.sigmas[1]  # d(ln N_k)/dz2 for each ridge
        gx = wa * g1 * -dw1 + (1.0 - wa) * g2 * (dw - dw1)
        return np.stack([gx + _wall(x)[1], wa * g1 + (1.0 - wa) * g2], axis=-1)


@register
@dataclasses.dataclass(frozen=True)
class U3(_TwoRidges):
    name = "u3"
    description = "U3 (Rezende & Mohamed 2015): a sine ridge that splits in two near z₁ = 1, walled at |z₁| = 4."
    sigmas = (0.35, 0.35)

    @staticmethod
    def _shift(x):
        w2 = 3.0 * np.exp(-0.5 * ((x - 1.0) / 0.6) ** 2)
        return w2, -w2 * (x - 1.0) / 0.36

    @property
    def box(self):
        # The lower ridge z2 = w1 - w2 reaches down to about -2: [-4, 4] holds 5.7 sd below it.
        return (-_HALF_BOX, _HALF_BOX, -4.0, 4.0)


@register
@dataclasses.dataclass(frozen=True)
class U4(_TwoRidges):
    name = "u4"
    description = "U4 (Rezende & Mohamed 2015): a sine ridge and a copy stepped down by 3, walled at |z₁| = 4."
    sigmas = (0.4, 0.35)

    @staticmethod
    def _shift(x):
        s = expit((x - 1.0) / 0.3)
        return 3.0 * s, 3.0 * s * (1.0 - s) / 0.3

    @property
    def box(self):
        # The lower ridge z2 = w1 - w3 dips to -4 at z1 = 3 (the paper's [-4, 4]² cuts it):
        # 7 of its sds below that.
        return (-_HALF_BOX, _HALF_BOX, -6.5, 4.0)
