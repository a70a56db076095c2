"""A mixture of K full-covariance Gaussians fitted by reverse KL (``mog``): the variational family one rung above a
single Gaussian.

q(z) = Σ_k π_k N(z; m_k, L_k L_kᵀ), π = softmax(a), L_k lower triangular with a positive diagonal
(parameters a_k, m_k, log L_k11, log L_k22, L_k21). The ELBO is written over the components,

    ELBO = Σ_k π_k E_{ε~N(0, I)}[f(m_k + L_k ε)],   f(z) = ln p~(z) − ln q(z),

and its gradient is estimated per component by reparameterisation with the mixture weights' gradient exact in
the estimated E_k[f] (π_k (F_k − Σ_j π_j F_j) for the logits): unbiased, since the term ∇_θ ln q at fixed z has
zero expectation under q and is left out (the "mixture gradient" of Roeder et al. 2017 / Morningstar et al.
2021). The components start spread over the box (a ring of K points around the shared start, radius a third of
the box), so they do not all sit in one mode; each then climbs to what is near it. Adam with a geometric
learning-rate decay, as Gaussian VI (vi_core.gaussvi.adam_update).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from vi_core import chunks
from vi_core.families import Family, Picture, ellipses, normal_nodes
from vi_core.gaussvi import AdamOptions, adam_update
from vi_core.runner import Algorithm
from vi_core.targets.base import Target

__all__ = ["MixtureQ", "MogInfo", "MogState", "mixture_elbos", "mixture_gradient", "mixture_vi", "to_q"]

LOG_2PI = math.log(2.0 * math.pi)
PART_WEIGHT = 1e-3  # a component below this weight is not drawn (the fit switched it off)


@dataclasses.dataclass(frozen=True, eq=False)
class MixtureQ(Family):
    """q(z) = Σ_k w_k N(z; locs_k, chols_k chols_kᵀ). w (K,), locs (K, 2), chols (K, 2, 2) lower triangular.
    The density is exact; the ELBO is the Family default (midpoint rule on the grid's cells)."""

    w: np.ndarray
    locs: np.ndarray
    chols: np.ndarray
    drawn_as = "q's contours where its density is e^-½, e^-2, e^-9/2 of its peak (a Gaussian's 1, 2, 3σ)"

    @property
    def mean(self) -> np.ndarray:
        return self.w @ self.locs

    @property
    def cov(self) -> np.ndarray:
        m = self.mean
        within = np.einsum("k,kij->ij", self.w, self.chols @ np.swapaxes(self.chols, 1, 2))
        d = self.locs - m
        return within + np.einsum("k,ki,kj->ij", self.w, d, d)

    def component_log_probs(self, z: np.ndarray) -> np.ndarray:
        """ln w_k + ln N(z; m_k, Σ_k) for z (..., 2) -> (..., K)."""
        d = np.asarray(z, dtype=float)[..., None, :] - self.locs  # (..., K, 2)
        l11, l21, l22 = self.chols[:, 0, 0], self.chols[:, 1, 0], self.chols[:, 1, 1]
        u1 = d[..., 0] / l11
        u2 = (d[..., 1] - l21 * u1) / l22
        with np.errstate(divide="ignore"):
            lw = np.log(self.w)
        return lw - 0.5 * (u1 * u1 + u2 * u2) - LOG_2PI - np.log(l11 * l22)

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        c = self.component_log_probs(z)
        top = c.max(axis=-1, keepdims=True)
        return (top + np.log(np.exp(c - top).sum(axis=-1, keepdims=True)))[..., 0]

    def grad_log_prob(self, z: np.ndarray) -> np.ndarray:
        """∇_z ln q(z), (..., 2): the responsibilities' mix of each component's −Σ_k⁻¹ (z − m_k)."""
        z = np.asarray(z, dtype=float)
        c = self.component_log_probs(z)
        r = np.exp(c - c.max(axis=-1, keepdims=True))
        r /= r.sum(axis=-1, keepdims=True)  # (..., K)
        d = z[..., None, :] - self.locs
        prec = np.linalg.inv(self.chols @ np.swapaxes(self.chols, 1, 2))  # (K, 2, 2)
        g = -np.einsum("kij,...kj->...ki", prec, d)
        return np.einsum("...k,...ki->...i", r, g)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        k = rng.choice(self.w.size, size=n, p=self.w / self.w.sum())
        eps = rng.standard_normal((n, 2))
        return self.locs[k] + np.einsum("nij,nj->ni", self.chols[k], eps)

    def parts(self, grid) -> Picture:
        """Each component's 1-sd ellipse (those of weight above PART_WEIGHT: a component the fit has switched off
        is not drawn), beside the mixture's level lines."""
        on = self.w > PART_WEIGHT
        return ellipses(self.locs[on], self.chols[on])


class MogState(NamedTuple):
    """theta (K, 6): per component (logit a, m1, m2, log L11, log L22, L21); mom1, mom2: Adam's moments; t: steps."""

    theta: np.ndarray
    mom1: np.ndarray
    mom2: np.ndarray
    t: int


class MogInfo(NamedTuple):
    """mc_elbo: the Monte Carlo ELBO the step followed; grad_norm: its gradient's norm (nan: step skipped)."""

    mc_elbo: float
    grad_norm: float


def to_q(theta: np.ndarray) -> MixtureQ:
    a = theta[:, 0] - theta[:, 0].max()
    w = np.exp(a) / np.exp(a).sum()
    k = theta.shape[0]
    chols = np.zeros((k, 2, 2))
    chols[:, 0, 0], chols[:, 1, 1], chols[:, 1, 0] = np.exp(theta[:, 3]), np.exp(theta[:, 4]), theta[:, 5]
    return MixtureQ(w, theta[:, 1:3].copy(), chols)


def _starts(k: int, start: np.ndarray, box) -> np.ndarray:
    """K component means: the shared start for K = 1, else a ring of K points around the box's centre."""
    if k == 1:
        return np.asarray(start, dtype=float)[None]
    x0, x1, y0, y1 = box
    c = np.array([0.5 * (x0 + x1), 0.5 * (y0 + y1)])
    a = 2 * np.pi * (np.arange(k) + 0.25) / k
    return c + np.stack([(x1 - x0) / 3 * np.cos(a), (y1 - y0) / 3 * np.sin(a)], axis=-1)


def mixture_vi(
    target: Target,
    start: np.ndarray,
    sd: float,
    box,
    n_components: int = 4,
    n_samples: int = 32,
    n_steps: int = 1000,
    adam: AdamOptions = AdamOptions(),
) -> Algorithm:
    """Mixture VI as an init/step pair: K components, n_samples draws per component a step, n_steps the
    learning-rate schedule's length. (The registered method runs several steps per recorded state,
    vi_core.runner.recorded: each recorded q is scored exactly afterwards, ~4 ms a q at K = 8.)"""
    k = int(n_components)
    decay = adam.final_lr_frac ** (1.0 / max(n_steps - 1, 1))
    x0, x1, y0, y1 = box
    sx, sy = (x1 - x0) / 8.0, (y1 - y0) / 8.0
    unit = np.tile(np.array([1.0, sx, sy, 1.0, 1.0, sy]), (k, 1))

    def init(rng):
        theta = np.zeros((k, 6))
        theta[:, 1:3] = _starts(k, start, box)
        theta[:, 3], theta[:, 4] = math.log(sd), math.log(sd)
        return MogState(theta, np.zeros_like(theta), np.zeros_like(theta), 0)

    def step(rng, s: MogState):
        eps = rng.standard_normal((k, n_samples, 2))
        mc_elbo, grad = mixture_gradient(target, s.theta, eps)
        t = s.t + 1
        if not np.isfinite(grad).all():  # a draw where the density is zero or overflowing: skip, keep going
            return s._replace(t=t), MogInfo(mc_elbo, math.nan)
        theta, m1, m2 = adam_update(s.theta, s.mom1, s.mom2, grad, t, adam.lr * decay ** (t - 1), unit, adam)
        theta[:, 3:5] = np.maximum(theta[:, 3:5], math.log(1e-3 * min(sx, sy)))  # no collapse to a point
        return MogState(theta, m1, m2, t), MogInfo(mc_elbo, float(np.linalg.norm(grad)))

    return Algorithm(init, step)


def mixture_gradient(target: Target, theta: np.ndarray, eps: np.ndarray) -> tuple[float, np.ndarray]:
    """The ELBO's estimate and its gradient in theta (K, 6) from standard-normal draws eps (K, S, 2), S per
    component: (Σ_k π_k F_k, (K, 6)) with F_k = mean_s f(m_k + L_k ε_ks). Unbiased for the exact ELBO's gradient;
    it is the derivative of the estimate with ln q held at theta (its score term has mean zero and is left out)."""
    q = to_q(theta)
    z = q.locs[:, None, :] + np.einsum("kij,knj->kni", q.chols, eps)  # (K, S, 2)
    with np.errstate(all="ignore"):
        lp = np.asarray(target.log_density(z), dtype=float)
        gp = np.asarray(target.grad_log_density(z), dtype=float)
        f = lp - q.log_prob(z)  # (K, S)
        g = gp - q.grad_log_prob(z)  # (K, S, 2): ∇_z f
    big_f = f.mean(axis=1)  # E_k[f]
    mc_elbo = float(q.w @ big_f)
    grad = np.empty_like(theta)
    grad[:, 0] = q.w * (big_f - mc_elbo)
    grad[:, 1:3] = q.w[:, None] * g.mean(axis=1)
    grad[:, 3] = q.w * (g[..., 0] * eps[..., 0]).mean(axis=1) * q.chols[:, 0, 0]
    grad[:, 4] = q.w * (g[..., 1] * eps[..., 1]).mean(axis=1) * q.chols[:, 1, 1]
    grad[:, 5] = q.w * (g[..., 1] * eps[..., 0]).mean(axis=1)
    return mc_elbo, grad


def mixture_elbos(target: Target, qs: list[MixtureQ], n: int = 25) -> np.ndarray:
    """Exact ELBOs of mixture q's, (T,): Σ_k w_k E_{N_k}[ln p~ − ln q] with each component's expectation by
    tensor quadrature centred on it (z = m_k + L_k u, u on n x n nodes over ±7 with Gaussian weights), as the
    Gaussian family's (vi_core.families.gaussian_elbos). A chunk of q's at a time: T q's of K components on n² nodes
    each, against every component of their own q."""
    uu, ww = normal_nodes(n)  # (n², 2), (n²,)
    out = np.empty(len(qs))
    if not qs:
        return out
    w = np.stack([q.w for q in qs])  # (T, K)
    locs = np.stack([q.locs for q in qs])  # (T, K, 2)
    chols = np.stack([q.chols for q in qs])  # (T, K, 2, 2)
    k = w.shape[1]
    with np.errstate(divide="ignore"):
        lw = np.log(w)
    for span in chunks.spans(len(qs), k * k * n * n):
        lc, cc = locs[span], chols[span]
        z = lc[:, :, None, :] + np.einsum("tkij,nj->tkni", cc, uu)  # (t, K, n², 2): each component's nodes
        # ln q at every node, against every component of the node's own q: (t, K, n², K)
        d = z[:, :, :, None, :] - lc[:, None, None, :, :]
        l11, l21, l22 = (cc[:, None, None, :, a, b] for a, b in ((0, 0), (1, 0), (1, 1)))
        u1 = d[..., 0] / l11
        u2 = (d[..., 1] - l21 * u1) / l22
        comp = lw[span][:, None, None, :] - 0.5 * (u1 * u1 + u2 * u2) - LOG_2PI - np.log(l11 * l22)
        top = comp.max(axis=-1)
        lq = top + np.log(np.exp(comp - top[..., None]).sum(axis=-1))
        with np.errstate(all="ignore"):
            f = np.asarray(target.log_density(z), dtype=float) - lq
        f = np.where(np.isnan(f), -np.inf, f)
        out[span] = np.einsum("tk,tk->t", w[span], f @ ww)
    return out
