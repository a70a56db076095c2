"""Normalised q families: a Gaussian N(m, L L^T) and a product of grid factors q1(z1) q2(z2).

Both expose ``log_prob``, ``sample``, ``mean``, ``cov`` and ``cell_weights(grid)`` (q's
probability of each cell of a quadrature grid, for distances on that grid).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["GaussianQ", "GridProductQ"]

LOG_2PI = math.log(2.0 * math.pi)


@dataclasses.dataclass(frozen=True, eq=False)
class GaussianQ:
    """q(z) = N(z; loc, chol chol^T). loc (2,), chol (2, 2) lower triangular, positive diagonal."""

    loc: np.ndarray
    chol: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.loc, dtype=float)

    @property
    def cov(self) -> np.ndarray:
        return self.chol @ self.chol.T

    @property
    def entropy(self) -> float:
        """H[q] = ln(2 pi e) + ln|det L| for d = 2."""
        return LOG_2PI + 1.0 + float(np.log(np.diag(self.chol)).sum())

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        """ln q(z) for z (..., 2) -> (...)."""
        d = np.asarray(z, dtype=float) - self.loc
        l11, l21, l22 = self.chol[0, 0], self.chol[1, 0], self.chol[1, 1]
        # Solve L u = d by hand: explicit 2x2 forms are far faster than a generic solve on a grid.
        u1 = d[..., 0] / l11
        u2 = (d[..., 1] - l21 * u1) / l22
        return -0.5 * (u1 * u1 + u2 * u2) - LOG_2PI - math.log(l11 * l22)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws, (n, 2)."""
        return self.loc + rng.standard_normal((n, 2)) @ self.chol.T

    def cell_weights(self, grid) -> np.ndarray:
        """q's probability per grid cell (nx, ny), renormalised to the box."""
        lw = self.log_prob(grid.points)
        w = np.exp(lw - lw.max())
        return w / w.sum()


@dataclasses.dataclass(frozen=True, eq=False)
class GridProductQ:
    """q(z) = q1(z1) q2(z2), each piecewise constant on the cells of a grid.

    w1 (nx,), w2 (ny,): cell probabilities (each sums to 1). Moments are taken by the
    midpoint rule, on the same footing as the grid's truth.
    """

    xs: np.ndarray
    ys: np.ndarray
    dx: float
    dy: float
    w1: np.ndarray
    w2: np.ndarray

    @classmethod
    def on(cls, grid, w1: np.ndarray, w2: np.ndarray) -> GridProductQ:
        return cls(grid.xs, grid.ys, grid.dx, grid.dy, w1, w2)

    @property
    def mean(self) -> np.ndarray:
        return np.array([self.w1 @ self.xs, self.w2 @ self.ys])

    @property
    def cov(self) -> np.ndarray:
        m = self.mean
        return np.diag([self.w1 @ (self.xs - m[0]) ** 2, self.w2 @ (self.ys - m[1]) ** 2])

    @property
    def entropy(self) -> float:
        """H[q] = -sum w ln(w / h) per factor: the entropy of the piecewise-constant density."""
        return _entropy(self.w1, self.dx) + _entropy(self.w2, self.dy)

    @property
    def density_x(self) -> np.ndarray:
        return self.w1 / self.dx

    @property
    def density_y(self) -> np.ndarray:
        return self.w2 / self.dy

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        """ln q(z) for z (..., 2) -> (...); -inf outside the grid."""
        z = np.asarray(z, dtype=float)
        i, oki = _cell_index(z[..., 0], self.xs, self.dx)
        j, okj = _cell_index(z[..., 1], self.ys, self.dy)
        with np.errstate(divide="ignore"):
            lq = np.log(self.density_x[i]) + np.log(self.density_y[j])
        return np.where(oki & okj, lq, -np.inf)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws, (n, 2): a cell per factor, then uniform within the cell."""
        i = rng.choice(self.xs.size, size=n, p=self.w1)
        j = rng.choice(self.ys.size, size=n, p=self.w2)
        jitter = rng.uniform(-0.5, 0.5, size=(n, 2)) * (self.dx, self.dy)
        return np.stack([self.xs[i], self.ys[j]], axis=-1) + jitter

    def cell_weights(self, grid) -> np.ndarray:
        """q's probability per cell (nx, ny) of the grid it was built on."""
        return np.outer(self.w1, self.w2)


def _entropy(w: np.ndarray, h: float) -> float:
    nz = w[w > 0]
    return float(-(nz * np.log(nz / h)).sum())


def _cell_index(v: np.ndarray, centres: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    lo = centres[0] - 0.5 * h
    k = np.floor((v - lo) / h)
    ok = (k >= 0) & (k < centres.size)
    return np.clip(k, 0, centres.size - 1).astype(int), ok
