"""Variational families: one protocol every q implements, and the built-in families.

``Family`` is the protocol (an abstract base with generic defaults): what the ELBO, the yardsticks, the marginals,
the result type and the race need of a q, so nothing outside this module dispatches on a family.

* ``mean``, ``cov`` (2,), (2, 2); ``log_prob(z)`` (..., 2) -> (...); ``sample(rng, n)`` -> (n, 2): the family's
  own (abstract).
* ``elbo(grid)``: the exact ELBO against the grid's target; ``on_grid``: that ELBO is a midpoint sum on the grid's
  cells (so the grid's resolution error applies to its KL).
* ``cell_weights(grid)`` (nx, ny): q's probability per working-grid cell, renormalised to the box.
* ``cell_probabilities(grid, x_edges, y_edges)`` (Mx, My): q's probability per cell of any edges (outermost
  intervals open), mass outside the box included where the family knows it: the MMD yardstick's cells.
* ``marginal_cdf(grid, axis, t)`` and ``cdf_knots(grid, axis, scale)``: q's marginal CDF at points t, and the
  points between which it is (nearly) linear: the W1 yardstick integrates |F_q - F_p| on them.
* ``marginal_densities(grid)``: q's marginal densities on the grid's axes, (nx,), (ny,).
* ``picture(grid)``: what the race draws (``Picture``: curves, level lines, or points).
* ``has_density``: False for a family without one (particles): it is scored by sample distances only;
  ``draws``: how many points such a q is (inf for a density), which sets the noise in those distances;
  ``drawn_as``: the picture in words, for captions.

The defaults derive everything from ``log_prob`` on the working grid (midpoint rule), so a new family needs only
its mean, covariance, density and sampler; the Gaussian and the grid product override them with exact forms.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from vi_core import chunks
from vi_core.reference import gaussian_cell_probabilities

__all__ = ["PICTURE_NODES", "Family", "GaussianQ", "GridProductQ", "Picture", "ellipses", "gaussian_elbos", "radius"]

LOG_2PI = math.log(2.0 * math.pi)
PICTURE_NODES = 70  # nodes a side of a picture's level function (what the browser contours)
_U_HALF = 7.0  # a Gaussian q's ELBO: quadrature centred on q over +-7 sd
_U_N = 81
_W1_Q_HALF = 8.5  # a Gaussian q's marginal CDF is tabulated over its mean +- 8.5 sd for W1


class Picture(NamedTuple):
    """What the race draws for a q. kind "curves": polylines x, y (NaN-separated); "levels": axes x (m,), y (m,)
    and z (m, m) with rows following y, a level function whose lines at 1, 2, 3 are drawn (``radius``: the 1, 2, 3
    sigma contours for a Gaussian); "points": x, y of particles."""

    kind: str
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray | None = None


def radius(log_density: np.ndarray) -> np.ndarray:
    """sqrt(-2 ln(p / max p)), capped at 4: the Mahalanobis radius for a Gaussian, so levels 1, 2, 3 are its 1, 2, 3
    sigma ellipses, and the same for every shape."""
    lp = log_density - np.max(log_density[np.isfinite(log_density)])
    with np.errstate(invalid="ignore"):
        r = np.sqrt(np.maximum(-2.0 * lp, 0.0))
    return np.where(np.isfinite(r), np.minimum(r, 4.0), 4.0)


def ellipses(locs: np.ndarray, chols: np.ndarray, radii=(1.0,), points: int = 61) -> Picture:
    """The ellipses loc + r L u (|u| = 1) of Gaussians locs (K, 2), chols (K, 2, 2), for each r in radii, as one
    polyline with nan gaps: a "curves" Picture."""
    a = np.linspace(0, 2 * np.pi, points)
    circle = np.stack([np.cos(a), np.sin(a)])
    xs, ys = [], []
    for loc, chol in zip(np.asarray(locs, dtype=float), np.asarray(chols, dtype=float), strict=True):
        for r in radii:
            pts = loc[:, None] + r * chol @ circle
            xs += [pts[0], [np.nan]]
            ys += [pts[1], [np.nan]]
    return Picture("curves", np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32))


def _picture_axes(grid, m: int = PICTURE_NODES) -> tuple[np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = grid.box
    return np.linspace(x0, x1, m), np.linspace(y0, y1, m)


class Family(abc.ABC):
    """The variational-family protocol (see the module docstring), with defaults from ``log_prob`` on the grid."""

    on_grid: bool = True  # the default ELBO is a midpoint sum on the grid's cells
    has_density: bool = True  # particles have none: no ELBO, KL or k̂, only sample distances
    draws: float = math.inf  # a finite sample (particles) has this many points: its distances carry their noise
    drawn_as: str = "q's 1, 2, 3σ contours"  # the picture in words, for the captions that name it

    @property
    @abc.abstractmethod
    def mean(self) -> np.ndarray: ...

    @property
    @abc.abstractmethod
    def cov(self) -> np.ndarray: ...

    @abc.abstractmethod
    def log_prob(self, z: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray: ...

    def cell_weights(self, grid) -> np.ndarray:
        """q's probability per grid cell (nx, ny), renormalised to the box (density at the cell centres)."""
        with np.errstate(all="ignore"):
            lw = np.asarray(self.log_prob(grid.points), dtype=float)
        lw = np.where(np.isnan(lw), -np.inf, lw)
        w = np.exp(lw - lw.max())
        return w / w.sum()

    def elbo(self, grid) -> float:
        """E_q[ln p~] + H[q] by the midpoint rule on the grid's cells (q taken constant on each)."""
        w = self.cell_weights(grid)
        lq = np.log(np.where(w > 0, w, 1.0)) - math.log(grid.dx * grid.dy)
        lp = np.where(np.isfinite(grid.log_p), grid.log_p, 0.0)
        return float(np.sum(w * (lp - lq)))

    def cell_probabilities(self, grid, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
        """Each working-grid cell's weight into the cell of the given edges that holds its centre (Mx, My)."""
        w = self.cell_weights(grid)
        i = np.clip(np.searchsorted(x_edges[1:-1], grid.xs, side="right"), 0, len(x_edges) - 2)
        j = np.clip(np.searchsorted(y_edges[1:-1], grid.ys, side="right"), 0, len(y_edges) - 2)
        out = np.zeros((len(x_edges) - 1, len(y_edges) - 1))
        np.add.at(out, (i[:, None], j[None, :]), w)
        return out

    def marginal_densities(self, grid) -> tuple[np.ndarray, np.ndarray]:
        w = self.cell_weights(grid)
        return w.sum(axis=1) / grid.dx, w.sum(axis=0) / grid.dy

    def _grid_edges(self, grid, axis: int) -> np.ndarray:
        lo, hi = grid.box[2 * axis], grid.box[2 * axis + 1]
        return np.linspace(lo, hi, (grid.xs, grid.ys)[axis].size + 1)

    def marginal_cdf(self, grid, axis: int, t: np.ndarray) -> np.ndarray:
        """Piecewise linear over the grid's cell edges (q uniform within a cell; no mass outside the box)."""
        w = self.cell_weights(grid)
        marg = w.sum(axis=1 - axis)
        return np.interp(t, self._grid_edges(grid, axis), np.concatenate([[0.0], np.cumsum(marg)]), 0.0, 1.0)

    def cdf_knots(self, grid, axis: int, scale: float) -> np.ndarray:
        return self._grid_edges(grid, axis)

    def picture(self, grid) -> Picture:
        """Level lines of q's density (``radius``) on a coarse copy of the box."""
        cx, cy = _picture_axes(grid)
        pts = np.stack(np.meshgrid(cx, cy, indexing="xy"), axis=-1)  # (y, x, 2): rows follow y
        with np.errstate(all="ignore"):
            lq = np.asarray(self.log_prob(pts), dtype=float)
        return Picture("levels", cx, cy, radius(np.where(np.isnan(lq), -np.inf, lq)).astype(np.float32))

    def parts(self, grid) -> Picture | None:
        """What the race draws beside q's picture to show how q is built (a mixture's components), or None."""
        return None


def normal_nodes(n: int, half: float = _U_HALF) -> tuple[np.ndarray, np.ndarray]:
    """Tensor quadrature for E over N(0, I_2): n x n nodes over [-half, half]^2 (n * n, 2), in meshgrid "ij" order, and
    their normalised Gaussian weights (n * n,)."""
    u = np.linspace(-half, half, n)
    w1 = np.exp(-0.5 * u * u)
    w1 /= w1.sum()
    return np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2), np.outer(w1, w1).ravel()


def gaussian_elbos(target, locs: np.ndarray, chols: np.ndarray, n: int = _U_N) -> np.ndarray:
    """Exact ELBOs of Gaussian q's: locs (T, 2), chols (T, 2, 2) -> (T,).

    H analytic; E_q[ln p~] by tensor quadrature on a grid centred on each q (z = m + L u, u in [-7, 7]^2): a grid
    fixed to the target would give nonsense for a narrow q and let optimisers exploit quadrature error. A chunk of
    q's at a time (about vi_core.chunks.CHUNK_POINTS nodes): a whole run's 3,000 q's on 61 x 61 nodes at once would
    make every temporary 89 MB.
    """
    locs = np.asarray(locs, dtype=float).reshape(-1, 2)
    chols = np.asarray(chols, dtype=float).reshape(-1, 2, 2)
    nodes, ww = normal_nodes(n)
    u1, u2 = nodes[:, 0].reshape(n, n), nodes[:, 1].reshape(n, n)
    energy = np.empty(locs.shape[0])
    for s in chunks.spans(locs.shape[0], n * n):
        loc, chol = locs[s], chols[s]
        z = np.empty((loc.shape[0], n, n, 2))
        np.multiply(chol[:, 0, 0, None, None], u1, out=z[..., 0])
        z[..., 0] += loc[:, 0, None, None]
        np.multiply(chol[:, 1, 0, None, None], u1, out=z[..., 1])
        z[..., 1] += loc[:, 1, None, None]
        z[..., 1] += chol[:, 1, 1, None, None] * u2
        with np.errstate(all="ignore"):
            logp = np.asarray(target.log_density(z), dtype=float)
            energy[s] = logp.reshape(loc.shape[0], n * n) @ ww
    energy = np.where(np.isnan(energy), -np.inf, energy)
    entropy = math.log(2 * math.pi) + 1.0 + np.log(chols[:, 0, 0] * chols[:, 1, 1])
    return energy + entropy


@dataclasses.dataclass(frozen=True, eq=False)
class GaussianQ(Family):
    """q(z) = N(z; loc, chol chol^T). loc (2,), chol (2, 2) lower triangular, positive diagonal."""

    loc: np.ndarray
    chol: np.ndarray
    on_grid = False  # its ELBO is a q-centred quadrature, not a sum on the grid

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

    def elbo(self, grid) -> float:
        return float(gaussian_elbos(grid.target, self.loc[None], self.chol[None])[0])

    def cell_probabilities(self, grid, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
        """Exact: normal CDF differences, mass outside the box included (vi_core.reference)."""
        return gaussian_cell_probabilities(self.loc, self.chol, x_edges, y_edges)

    def marginal_densities(self, grid) -> tuple[np.ndarray, np.ndarray]:
        sx, sy = math.sqrt(self.cov[0, 0]), math.sqrt(self.cov[1, 1])
        mx = np.exp(-0.5 * ((grid.xs - self.loc[0]) / sx) ** 2) / (sx * math.sqrt(2 * math.pi))
        my = np.exp(-0.5 * ((grid.ys - self.loc[1]) / sy) ** 2) / (sy * math.sqrt(2 * math.pi))
        return mx, my

    def marginal_cdf(self, grid, axis: int, t: np.ndarray) -> np.ndarray:
        return ndtr((np.asarray(t, dtype=float) - self.loc[axis]) / math.sqrt(max(self.cov[axis, axis], 1e-300)))

    def cdf_knots(self, grid, axis: int, scale: float) -> np.ndarray:
        """Nodes over mean +- 8.5 sd, dense enough that linear interpolation of the normal CDF errs by under 1e-6 of
        ``scale`` (the error is at most h^2 / (6 sqrt(2 pi) s) for node spacing h: 4400 sqrt(s / scale) nodes, at
        least 4000, at most 400,000)."""
        m, s = float(self.loc[axis]), math.sqrt(max(self.cov[axis, axis], 1e-300))
        nodes = int(min(400_000, max(4000, math.ceil(4400 * math.sqrt(s / scale)))))
        return m + s * np.linspace(-_W1_Q_HALF, _W1_Q_HALF, nodes)

    def picture(self, grid) -> Picture:
        """q's 1, 2, 3 sigma ellipses as one polyline with gaps (nan)."""
        return ellipses(self.loc[None], self.chol[None], (1.0, 2.0, 3.0))


@dataclasses.dataclass(frozen=True, eq=False)
class GridProductQ(Family):
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
    on_grid = True  # its ELBO is a sum over the grid's cells

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

    def elbo(self, grid) -> float:
        """E_q[ln p~] + H[q1] + H[q2] by the midpoint rule (grid CAVI's own objective)."""
        finite = np.isfinite(grid.log_p)
        # -inf cells (no density) as (min finite - 1000): e^-1000 times their neighbours', nan-free products
        lp = grid.log_p if finite.all() else np.where(finite, grid.log_p, grid.log_p[finite].min() - 1000.0)
        return float(self.w1 @ lp @ self.w2) + self.entropy

    def cell_probabilities(self, grid, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
        """Exact for a product of piecewise-constant factors: CDF differences per axis, outer product."""
        px = np.diff(self.marginal_cdf(grid, 0, np.asarray(x_edges, dtype=float)))
        py = np.diff(self.marginal_cdf(grid, 1, np.asarray(y_edges, dtype=float)))
        px[0] += self.marginal_cdf(grid, 0, np.array([x_edges[0]]))[0]  # the outermost cells are open
        py[0] += self.marginal_cdf(grid, 1, np.array([y_edges[0]]))[0]
        px[-1] += 1.0 - self.marginal_cdf(grid, 0, np.array([x_edges[-1]]))[0]
        py[-1] += 1.0 - self.marginal_cdf(grid, 1, np.array([y_edges[-1]]))[0]
        return np.outer(px, py)

    def marginal_densities(self, grid) -> tuple[np.ndarray, np.ndarray]:
        return self.density_x, self.density_y

    def marginal_cdf(self, grid, axis: int, t: np.ndarray) -> np.ndarray:
        c, h, w = (self.xs, self.dx, self.w1) if axis == 0 else (self.ys, self.dy, self.w2)
        edges = np.append(c - 0.5 * h, c[-1] + 0.5 * h)
        return np.interp(t, edges, np.concatenate([[0.0], np.cumsum(w)]), 0.0, 1.0)

    def cdf_knots(self, grid, axis: int, scale: float) -> np.ndarray:
        c, h = (self.xs, self.dx) if axis == 0 else (self.ys, self.dy)
        return np.append(c - 0.5 * h, c[-1] + 0.5 * h)

    def picture(self, grid) -> Picture:
        """Level lines of q1 q2 on a coarse copy of the box (its factors interpolated there)."""
        cx, cy = _picture_axes(grid)
        q1 = np.interp(cx, self.xs, self.density_x)
        q2 = np.interp(cy, self.ys, self.density_y)
        with np.errstate(divide="ignore"):
            lq = np.log(q2)[:, None] + np.log(q1)[None, :]  # rows are y
        return Picture("levels", cx, cy, radius(lq).astype(np.float32))


def _entropy(w: np.ndarray, h: float) -> float:
    nz = w[w > 0]
    return float(-(nz * np.log(nz / h)).sum())


def _cell_index(v: np.ndarray, centres: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    lo = centres[0] - 0.5 * h
    k = np.floor((v - lo) / h)
    ok = (k >= 0) & (k < centres.size)
    return np.clip(k, 0, centres.size - 1).astype(int), ok
