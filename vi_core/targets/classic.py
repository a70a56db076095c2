"""The six classic 2D shapes, with closed-form normalising constants Z.

Each formula is written exactly as specified so that ``log_z_exact`` is the true
ln Z of ``log_density``; the tests check the grid against it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.special import log_ndtr

from vi_core.targets.base import Conditional, Param, Target, register

__all__ = ["Banana", "Donut", "Funnel", "Gaussian", "Mixture", "Squiggle"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_Z1_SDS = 15.0  # z1 quadrature range in sds: also covers e^v N(v; 0, s^2), the funnel's Var(x)


def _normal_log_pdf(sd: float, mean: float = 0.0):
    def log_m(t):
        u = (np.asarray(t, dtype=float) - mean) / sd
        return -0.5 * u * u - _HALF_LOG_2PI - math.log(sd)

    return log_m


def _one(mu, sd):
    """A single normal component: (ln pi, mu, sd), each (1, K)."""
    mu = np.atleast_1d(np.asarray(mu, dtype=float))
    sd = np.broadcast_to(np.asarray(sd, dtype=float), mu.shape)
    return np.zeros((1, mu.size)), mu[None], np.array(sd)[None]


@register
@dataclasses.dataclass(frozen=True)
class Gaussian(Target):
    rho: float = 0.8

    name = "gaussian"
    description = "Correlated Gaussian: mean-field VI under-estimates the variance."
    params = (Param("rho", 0.8, -0.99, 0.99, "correlation ρ"),)

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        return -(x * x - 2.0 * self.rho * x * y + y * y) / (2.0 * (1.0 - self.rho**2))

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        c = 1.0 / (1.0 - self.rho**2)
        return np.stack([-c * (x - self.rho * y), -c * (y - self.rho * x)], axis=-1)

    @property
    def box(self):
        return (-4.5, 4.5, -4.5, 4.5)

    @property
    def log_z_exact(self):
        return math.log(2.0 * math.pi) + 0.5 * math.log(1.0 - self.rho**2)

    @property
    def conditional(self):
        """z1 ~ N(0, 1), z2 | z1 ~ N(rho z1, 1 - rho^2)."""
        sd = math.sqrt(1.0 - self.rho**2)
        return Conditional(
            _normal_log_pdf(1.0), (-_Z1_SDS, _Z1_SDS), lambda t: _one(self.rho * np.asarray(t), sd), "(z₁, z₂)"
        )

    def gibbs_conditional(self, axis, other, rng):
        """Exact Gibbs draws, other (C,) -> (C,): z_axis | z_other ~ N(rho z_other, 1 - rho^2), either axis."""
        other = np.asarray(other, dtype=float)
        return self.rho * other + math.sqrt(1.0 - self.rho**2) * rng.standard_normal(other.shape)


@register
@dataclasses.dataclass(frozen=True)
class Banana(Target):
    b: float = 0.25
    s: float = 2.0

    name = "banana"
    description = "Banana: a bent ridge that no Gaussian q can follow."
    params = (
        Param("b", 0.25, 0.0, 1.0, "curvature b"),
        Param("s", 2.0, 0.5, 3.0, "spread s along z₁"),
    )

    def _ridge(self, x, y):
        return y - self.b * (x * x - self.s**2)

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        r = self._ridge(x, y)
        return -0.5 * (x / self.s) ** 2 - 0.5 * r * r

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        r = self._ridge(x, y)
        return np.stack([-x / self.s**2 + 2.0 * self.b * x * r, -r], axis=-1)

    @property
    def box(self):
        # ±4.5 sd in z1 and 4.5 sd about the ridge in z2: the arms' ends carry much of Var(z2)
        # (z1^4 terms): a ±3.75 sd box left out 1.5 % of it.
        xmax = 4.5 * self.s
        return (-xmax, xmax, -self.b * self.s**2 - 4.5, self.b * (xmax**2 - self.s**2) + 4.5)

    @property
    def log_z_exact(self):
        return math.log(2.0 * math.pi * self.s)

    @property
    def conditional(self):
        """z1 ~ N(0, s^2), z2 | z1 ~ N(b (z1^2 - s^2), 1): E z2 = 0, Var z2 = 1 + 2 b^2 s^4."""
        lim = _Z1_SDS * self.s
        return Conditional(
            _normal_log_pdf(self.s),
            (-lim, lim),
            lambda t: _one(self.b * (np.asarray(t) ** 2 - self.s**2), 1.0),
            "(z₁, z₂ − b(z₁² − s²))",
        )


@register
@dataclasses.dataclass(frozen=True)
class Donut(Target):
    r: float = 2.0
    sigma: float = 0.3

    name = "donut"
    description = "Donut: a ring of mass; a Gaussian q must pick a part or smear across the hole."
    params = (
        Param("r", 2.0, 0.5, 4.0, "radius r"),
        Param("sigma", 0.3, 0.1, 1.5, "ring width σ"),
    )

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        d = np.hypot(z[..., 0], z[..., 1]) - self.r
        return -(d * d) / (2.0 * self.sigma**2)

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        norm = np.hypot(z[..., 0], z[..., 1])
        # z/|z| is undefined at the origin; the density's subgradient there is 0 by symmetry.
        scale = -(norm - self.r) / (self.sigma**2 * np.where(norm > 0, norm, np.inf))
        return z * scale[..., None]

    @property
    def box(self):
        h = self.r + 5.0 * self.sigma
        return (-h, h, -h, h)

    @property
    def log_z_exact(self):
        r, s = self.r, self.sigma
        # 2π(σ² e^{-r²/2σ²} + rσ√(2π) Φ(r/σ)), summed in log space for small σ.
        a = 2.0 * math.log(s) - r * r / (2.0 * s * s)
        b = math.log(r * s * math.sqrt(2.0 * math.pi)) + float(log_ndtr(r / s))
        return math.log(2.0 * math.pi) + float(np.logaddexp(a, b))


@register
@dataclasses.dataclass(frozen=True)
class Mixture(Target):
    d: float = 2.0
    s: float = 0.6

    name = "mixture"
    description = "Two equal Gaussian modes at (±d, 0): reverse KL picks one mode."
    params = (
        Param("d", 2.0, 0.0, 4.0, "half-distance d between the modes"),
        Param("s", 0.6, 0.2, 2.0, "mode width s"),
    )

    def _parts(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        c = -0.5 / self.s**2
        yy = c * y * y
        return x, y, c * (x - self.d) ** 2 + yy, c * (x + self.d) ** 2 + yy

    def log_density(self, z):
        _, _, a, b = self._parts(z)
        # logaddexp over two arrays is far faster than logsumexp over a stacked axis.
        return np.logaddexp(a, b)

    def grad_log_density(self, z):
        x, y, a, b = self._parts(z)
        w = 0.5 * (1.0 + np.tanh(0.5 * (a - b)))  # weight of the (+d) mode, overflow-free
        gx = -(x - self.d * (2.0 * w - 1.0)) / self.s**2
        gy = -y / self.s**2
        return np.stack([gx, gy], axis=-1)

    @property
    def box(self):
        hx = self.d + 5.0 * self.s
        hy = max(5.0 * self.s, 0.6 * hx)
        return (-hx, hx, -hy, hy)

    @property
    def log_z_exact(self):
        return math.log(4.0 * math.pi * self.s**2)

    @property
    def conditional(self):
        """z1 ~ ½ N(-d, s^2) + ½ N(d, s^2), z2 ~ N(0, s^2) independently."""
        a, b = _normal_log_pdf(self.s, -self.d), _normal_log_pdf(self.s, self.d)
        lim = self.d + _Z1_SDS * self.s
        return Conditional(
            lambda t: np.logaddexp(a(t), b(t)) - math.log(2.0),
            (-lim, lim),
            lambda t: _one(np.zeros(np.size(t)), self.s),
            "(z₁, z₂)",
        )


@register
@dataclasses.dataclass(frozen=True)
class Funnel(Target):
    scale: float = 3.0

    name = "funnel"
    description = "Neal's funnel: a wide mouth and a narrow neck that MCMC struggles to enter."
    params = (Param("scale", 3.0, 0.5, 3.0, "sd of v"),)
    labels = ("v", "x")
    window_note = (
        "No box can both hold the funnel's mouth (x reaches ±e^(v/2)) and resolve its neck "
        "(width e^(v/2)): the box is a window."
    )

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        v, x = z[..., 0], z[..., 1]
        return -(v * v) / (2.0 * self.scale**2) - 0.5 * x * x * np.exp(-v) - 0.5 * v

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        v, x = z[..., 0], z[..., 1]
        e = np.exp(-v)
        return np.stack([-v / self.scale**2 + 0.5 * x * x * e - 0.5, -x * e], axis=-1)

    @property
    def box(self):
        # v to ±4.5 sd where that stays in a plottable range; x wide enough for the mouth.
        hv = min(4.5 * self.scale, 9.0)
        return (-hv, hv, -12.0, 12.0)

    @property
    def log_z_exact(self):
        return math.log(2.0 * math.pi * self.scale)

    @property
    def conditional(self):
        """v ~ N(0, s^2), x | v ~ N(0, e^v): in (v, u = x e^(-v/2)) a product of normals.

        Var(x) = E e^v = e^(s^2 / 2) (about 90 at s = 3), far beyond any plotting box.
        """
        lim = _Z1_SDS * self.scale
        return Conditional(
            _normal_log_pdf(self.scale),
            (-lim, lim),
            lambda t: _one(np.zeros(np.size(t)), np.exp(0.5 * np.asarray(t, dtype=float))),
            "(v, x·e^(−v/2))",
        )


@register
@dataclasses.dataclass(frozen=True)
class Squiggle(Target):
    a: float = 1.5
    omega: float = 2.0
    s1: float = 1.5
    s2: float = 0.4

    name = "squiggle"
    description = "Squiggle: a sine-shaped ridge; mean-field q cannot follow the wiggle."
    params = (
        Param("a", 1.5, 0.0, 3.0, "amplitude a"),
        Param("omega", 2.0, 0.5, 4.0, "frequency ω"),
        Param("s1", 1.5, 0.5, 3.0, "sd s₁ along z₁"),
        Param("s2", 0.4, 0.1, 1.5, "sd s₂ across the ridge"),
    )

    def _resid(self, x, y):
        return y - self.a * np.sin(self.omega * x)

    def log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        r = self._resid(x, y)
        return -(x * x) / (2.0 * self.s1**2) - (r * r) / (2.0 * self.s2**2)

    def grad_log_density(self, z):
        z = np.asarray(z, dtype=float)
        x, y = z[..., 0], z[..., 1]
        r = self._resid(x, y) / self.s2**2
        gx = -x / self.s1**2 + r * self.a * self.omega * np.cos(self.omega * x)
        return np.stack([gx, -r], axis=-1)

    @property
    def box(self):
        hx = 4.5 * self.s1
        hy = self.a + 4.5 * self.s2
        return (-hx, hx, -hy, hy)

    @property
    def log_z_exact(self):
        return math.log(2.0 * math.pi * self.s1 * self.s2)

    @property
    def conditional(self):
        """z1 ~ N(0, s1^2), z2 | z1 ~ N(a sin(omega z1), s2^2)."""
        lim = _Z1_SDS * self.s1
        return Conditional(
            _normal_log_pdf(self.s1),
            (-lim, lim),
            lambda t: _one(self.a * np.sin(self.omega * np.asarray(t, dtype=float)), self.s2),
            "(z₁, z₂ − a·sin(ωz₁))",
        )
