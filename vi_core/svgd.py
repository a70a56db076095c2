"""Stein variational gradient descent (``svgd``, Liu & Wang 2016): n particles moved together towards the posterior.

Each step moves every particle along φ(x_i) = (1/n) Σ_j [k(x_j, x_i) ∇ ln p~(x_j) + ∇_{x_j} k(x_j, x_i)]: the
first term pulls particles up the density, the second (the kernel's gradient) pushes them apart. The kernel is RBF,
k(x, y) = exp(−|x − y|² / h) with the median heuristic h = med² / ln n; the step is AdaGrad-like (a running mean
of φ² with momentum 0.9, as the authors' code). With one particle the kernel term vanishes and SVGD is gradient
ascent on ln p~ (a test checks). The particles start on a lattice ``spread`` x sd wide (clipped to the box;
``initial_particles``): spread over the box they share out the modes; from a narrow start they all climb the
nearest mode and never find the others (SVGD's single-mode failure).

Particles have no density: q is the empirical distribution (``ParticlesQ``), scored by the sample yardsticks (MMD,
W1, marginal TV); there is no ELBO, KL or k̂.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from vi_core.families import Family, Picture
from vi_core.runner import Algorithm
from vi_core.targets.base import Target

__all__ = ["ParticlesQ", "SvgdInfo", "SvgdState", "initial_particles", "phi", "svgd"]

MOMENTUM = 0.9
FUDGE = 1e-6


@dataclasses.dataclass(frozen=True, eq=False)
class ParticlesQ(Family):
    """The empirical distribution of particles x (n, 2): no density (``has_density`` False), so no ELBO."""

    x: np.ndarray
    on_grid = False
    has_density = False
    drawn_as = "the particles now (dots: no density, so no contours)"

    @property
    def draws(self) -> float:
        return float(self.x.shape[0])

    @property
    def mean(self) -> np.ndarray:
        return self.x.mean(axis=0)

    @property
    def cov(self) -> np.ndarray:
        return np.cov(self.x.T) if self.x.shape[0] > 1 else np.zeros((2, 2))

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError("particles have no density")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.x[rng.integers(0, self.x.shape[0], size=n)]

    def elbo(self, grid) -> float:
        return math.nan

    def cell_weights(self, grid) -> np.ndarray:
        ex, ey = self._grid_edges(grid, 0), self._grid_edges(grid, 1)
        h, _, _ = np.histogram2d(self.x[:, 0], self.x[:, 1], bins=(ex, ey))
        return h / max(h.sum(), 1.0)

    def cell_probabilities(self, grid, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(x_edges[1:-1], self.x[:, 0], side="right"), 0, len(x_edges) - 2)
        j = np.clip(np.searchsorted(y_edges[1:-1], self.x[:, 1], side="right"), 0, len(y_edges) - 2)
        out = np.zeros((len(x_edges) - 1, len(y_edges) - 1))
        np.add.at(out, (i, j), 1.0 / self.x.shape[0])
        return out

    def marginal_cdf(self, grid, axis: int, t: np.ndarray) -> np.ndarray:
        s = np.sort(self.x[:, axis])
        return np.searchsorted(s, np.asarray(t, dtype=float), side="right") / s.size

    def cdf_knots(self, grid, axis: int, scale: float) -> np.ndarray:
        # the empirical CDF steps at the particles: knots just either side of each make it piecewise linear
        s = np.sort(self.x[:, axis])
        tiny = 1e-9 * scale
        return np.concatenate([s - tiny, s])

    def marginal_densities(self, grid) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian kernel density estimates on the grid's axes (Scott's bandwidth): a picture, not a score."""
        out = []
        for axis, nodes in ((0, grid.xs), (1, grid.ys)):
            v = self.x[:, axis]
            bw = max(1.06 * v.std() * v.size ** (-0.2), 1e-3 * (nodes[-1] - nodes[0]))
            d = (nodes[:, None] - v[None, :]) / bw
            out.append(np.exp(-0.5 * d * d).sum(axis=1) / (v.size * bw * math.sqrt(2 * math.pi)))
        return out[0], out[1]

    def picture(self, grid) -> Picture:
        return Picture("points", self.x[:, 0].astype(np.float32), self.x[:, 1].astype(np.float32))


class SvgdState(NamedTuple):
    """x (n, 2): the particles; hist (n, 2): AdaGrad's running mean of φ²; t: steps."""

    x: np.ndarray
    hist: np.ndarray
    t: int


class SvgdInfo(NamedTuple):
    """bandwidth: the kernel's h this step; step: the mean particle displacement."""

    bandwidth: float
    step: float


def phi(x: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, float]:
    """SVGD's direction for particles x (n, 2) with ∇ ln p~ at them (n, 2) -> (φ (n, 2), bandwidth h)."""
    n = x.shape[0]
    diff = x[:, None, :] - x[None, :, :]  # (n, n, 2): x_i - x_j
    sq = (diff * diff).sum(-1)
    med = np.median(sq[np.triu_indices(n, 1)]) if n > 1 else 1.0
    h = max(med / math.log(n + 1.0), 1e-12)  # median heuristic (ln(n + 1): finite for n = 1)
    k = np.exp(-sq / h)  # (n, n), symmetric
    drive = k @ grad  # Σ_j k(x_j, x_i) ∇ ln p(x_j)
    repulse = (2.0 / h) * (k[:, :, None] * diff).sum(axis=1)  # Σ_j ∇_{x_j} k(x_j, x_i) = Σ_j (2/h)(x_i − x_j) k
    return (drive + repulse) / n, h


def initial_particles(rng, start: np.ndarray, sd: float, box, n: int, spread: float) -> np.ndarray:
    """n particles on a jittered lattice over a square spread x sd wide either side, clipped to the box. Its centre
    slides from the start (a narrow spread: the particles sit there) to the box's centre at spread 4 (sd is 1/8 of
    the box's shorter side, so 4 covers the box evenly and no mode is favoured by where the particles began)."""
    m = math.ceil(math.sqrt(n))
    x0, x1, y0, y1 = box
    centre = start + (np.array([0.5 * (x0 + x1), 0.5 * (y0 + y1)]) - start) * min(1.0, spread / 4.0)
    lo = np.maximum(centre - spread * sd, (x0, y0))
    hi = np.minimum(centre + spread * sd, (x1, y1))
    hi = np.maximum(hi, lo + 1e-9 * sd)
    u = (np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2) + 0.5) / m
    u = u[rng.permutation(m * m)[:n]] + rng.uniform(-0.5, 0.5, size=(n, 2)) / m
    return lo + u * (hi - lo)


def svgd(target: Target, start: np.ndarray, sd: float, box, n_particles: int = 100, spread: float = 4.0,
         lr: float = 0.1) -> Algorithm:  # fmt: skip
    """SVGD as an init/step pair: n_particles from ``initial_particles`` (spread in units of sd, 1/8 of the box's
    shorter side: 4 covers the box), AdaGrad steps of size lr x sd."""
    start = np.asarray(start, dtype=float)

    def init(rng):
        x = initial_particles(rng, start, sd, box, int(n_particles), spread)
        return SvgdState(x, np.zeros_like(x), 0)

    def step(rng, s: SvgdState):
        with np.errstate(all="ignore"):
            g = np.asarray(target.grad_log_density(s.x), dtype=float)
        g = np.where(np.isfinite(g), g, 0.0)  # a particle where the density is zero: no pull, only the push
        direction, h = phi(s.x, g)
        hist = direction * direction if s.t == 0 else MOMENTUM * s.hist + (1 - MOMENTUM) * direction * direction
        move = lr * sd * direction / (FUDGE + np.sqrt(hist))
        return SvgdState(s.x + move, hist, s.t + 1), SvgdInfo(h, float(np.abs(move).mean()))

    return Algorithm(init, step)
