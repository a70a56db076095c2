"""The yardstick: ELBO, KL and ln p(X) = ELBO + KL exactly; distances to the truth.

ln p(X) = ln Z comes from the grid (vi_core.grid). For a q,

    ELBO(q) = E_q[ln p~(z)] + H[q],      KL(q || p(z|X)) = ln Z - ELBO(q) >= 0,

so the decomposition holds to rounding by construction; the tests make it a check by
comparing against independent values (analytic Gaussian KLs, Monte Carlo ELBOs).

* Grid-product q (CAVI): E_q by the midpoint rule on the same grid as ln Z.
* Gaussian q: H analytic and E_q[ln p~] by tensor quadrature on a grid centred on q
  (z = m + L u, u in [-7, 7]^2). A grid fixed to the target would give nonsense for a
  narrow q and lets optimisers exploit quadrature error (ELBOs above ln Z).

One distance for VI and MCMC alike: the maximum mean discrepancy (MMD) to the exact
posterior, with a Gaussian kernel whose per-axis bandwidth is the posterior's sd. Why
MMD: it is a metric between distributions (the Gaussian kernel is characteristic); it
is exact for any q we can put on the grid and unbiased (U-statistic) for any sample
set, with no density estimate of the samples; a separable kernel makes it two small
matrix products. KL cannot be computed from samples, and Wasserstein distances cost
O(n^3) with a large finite-sample floor. Both q and samples are binned onto the same
coarse cells as the reference, mass outside the box included (``Yardstick``), so q = p
gives exactly 0.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from arviz_stats.base import array_stats

from vi_core import chunks
from vi_core.families import GaussianQ, GridProductQ
from vi_core.grid import Grid
from vi_core.reference import gaussian_cell_probabilities
from vi_core.targets import Target

__all__ = [
    "Decomposition",
    "Yardstick",
    "decomposition",
    "elbo",
    "gaussian_elbos",
    "moment_errors",
    "pareto_khat",
]

_U_HALF = 7.0  # q-centred quadrature covers +-7 sd of q
_U_N = 81


class Decomposition(NamedTuple):
    """ln p(X) = ELBO + KL, all three in nats."""

    log_evidence: float
    elbo: float
    kl: float


def gaussian_elbos(target: Target, locs: np.ndarray, chols: np.ndarray, n: int = _U_N) -> np.ndarray:
    """Exact ELBOs of Gaussian q's: locs (T, 2), chols (T, 2, 2) -> (T,).

    A chunk of q's at a time (about vi_core.chunks.CHUNK_POINTS nodes): a whole run's 3,000 q's
    on 61 x 61 nodes at once would make every temporary 89 MB.
    """
    locs = np.asarray(locs, dtype=float).reshape(-1, 2)
    chols = np.asarray(chols, dtype=float).reshape(-1, 2, 2)
    u = np.linspace(-_U_HALF, _U_HALF, n)
    w1 = np.exp(-0.5 * u * u)
    w1 /= w1.sum()
    ww = np.outer(w1, w1).ravel()  # (n * n,) the product weights, in the nodes' order
    u1, u2 = np.meshgrid(u, u, indexing="ij")
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


def elbo(grid: Grid, q: GaussianQ | GridProductQ) -> float:
    """Exact ELBO of q against the grid's target."""
    if isinstance(q, GaussianQ):
        return float(gaussian_elbos(grid.target, q.loc[None], q.chol[None])[0])
    from vi_core.cavi import grid_elbo  # local: cavi imports this module's neighbours

    return grid_elbo(grid, q.w1, q.w2)


def decomposition(grid: Grid, q: GaussianQ | GridProductQ) -> Decomposition:
    """(ln p(X), ELBO, KL) for q, with KL = ln p(X) - ELBO."""
    e = elbo(grid, q)
    return Decomposition(grid.log_z, e, grid.log_z - e)


def moment_errors(grid: Grid, mean: np.ndarray, cov: np.ndarray) -> tuple[float, float]:
    """(|mean - reference mean|_2, |cov - reference cov|_F): against the whole posterior
    (``grid.mean``, ``grid.cov`` are the reference's, mass outside the box included)."""
    return (
        float(np.linalg.norm(np.asarray(mean) - grid.mean)),
        float(np.linalg.norm(np.asarray(cov) - grid.cov)),
    )


_OUTER_GROWTH = 1.5  # width ratio of successive cells outside the box
_OUTER_MAX = 40  # at most this many cells a side outside the box


def _outer_edges(edge: float, limit: float, h: float, sign: float) -> np.ndarray:
    """Edges beyond ``edge`` out to ``limit`` (sign +1 upwards, -1 downwards): widths h,
    1.5 h, 1.5^2 h, ..., the last cell ending at ``limit``."""
    span = (limit - edge) * sign
    if span <= 1e-9 * h:
        return np.zeros(0)
    g = _OUTER_GROWTH
    k = min(_OUTER_MAX, max(1, math.ceil(math.log1p(span * (g - 1.0) / h) / math.log(g))))
    steps = h * (g ** np.arange(1, k + 1) - 1.0) / (g - 1.0)
    steps[-1] = span
    return edge + sign * steps


class Yardstick:
    """MMD to the reference posterior for q's and sample sets, on coarse cells.

    Cells, per axis: inside the box, blocks of ``block`` working-grid cells (``coarse``,
    default 50, blocks a side; the last block takes any remainder), so a q given by its
    working-grid weights (grid CAVI) is binned exactly. Outside the box, where the reference
    has mass there (the funnel's mouth: 4 % beyond |x| = 12 at scale 3), cells continue out
    to a box holding all but ~1e-6 a side of it (``grid.reference_support``), widening by
    1.5x each (at most 40 a side), and the outermost cells are open: every sample and all
    of p's mass land in some cell. Why widening cells and not quantile cells: they keep the
    box's cells aligned with the working grid, cost a few dozen cells, and a kernel of the
    posterior's sd cannot tell apart points within a cell that is narrow next to its distance
    from the mass. p's cell probabilities come from the reference (exact for closed-form
    targets, e.g. the funnel's by normal CDF differences in x given v); a Gaussian q's from its
    own CDFs, mass outside the box included. If the reference has no mass outside the box
    and no closed form, p is the binned working grid, as before: q = p gives exactly 0.
    """

    def __init__(self, grid: Grid, coarse: int = 50):
        n = grid.xs.size
        self.block = b = max(1, n // coarse)
        self.grid = grid
        m = n // b
        self._starts = np.arange(m) * b
        x0, x1, y0, y1 = grid.box
        ex_in = np.append(x0 + self._starts * grid.dx, x1)
        ey_in = np.append(y0 + self._starts * grid.dy, y1)
        cond = getattr(grid.target, "conditional", None) is not None
        if grid.mass_outside_box > 1e-9:
            sx0, sx1, sy0, sy1 = grid.reference_support
        else:
            sx0, sx1, sy0, sy1 = grid.box
        hx, hy = (x1 - x0) / m, (y1 - y0) / m
        lo_x, hi_x = _outer_edges(x0, sx0, hx, -1.0)[::-1], _outer_edges(x1, sx1, hx, 1.0)
        lo_y, hi_y = _outer_edges(y0, sy0, hy, -1.0)[::-1], _outer_edges(y1, sy1, hy, 1.0)
        self.x_edges = np.concatenate([lo_x, ex_in, hi_x])
        self.y_edges = np.concatenate([lo_y, ey_in, hi_y])
        self._off = (lo_x.size, lo_y.size)
        self._m = m
        self.cx = 0.5 * (self.x_edges[:-1] + self.x_edges[1:])
        self.cy = 0.5 * (self.y_edges[:-1] + self.y_edges[1:])
        sd = np.sqrt(np.maximum(np.diag(grid.cov), 1e-12))
        self.bandwidth = sd
        self.kx = np.exp(-0.5 * ((self.cx[:, None] - self.cx[None, :]) / sd[0]) ** 2)
        self.ky = np.exp(-0.5 * ((self.cy[:, None] - self.cy[None, :]) / sd[1]) ** 2)
        if cond or self.cx.size > m or self.cy.size > m:
            p = grid.cell_probabilities(self.x_edges, self.y_edges)
            self.p = p / p.sum()
        else:
            self.p = self._coarsen(grid.weights)
        self.kp = self.kx @ self.p @ self.ky
        self.epp = float((self.p * self.kp).sum())

    def _coarsen(self, w: np.ndarray) -> np.ndarray:
        """Working-grid cell weights (nx, ny) -> this yardstick's cells (box cells filled)."""
        inner = np.add.reduceat(np.add.reduceat(w, self._starts, axis=0), self._starts, axis=1)
        out = np.zeros((self.cx.size, self.cy.size))
        ox, oy = self._off
        out[ox : ox + self._m, oy : oy + self._m] = inner
        return out

    def mmd_cells(self, q: np.ndarray) -> float:
        """MMD between the reference and a distribution given by this yardstick's cell probabilities."""
        eqq = float((q * (self.kx @ q @ self.ky)).sum())
        epq = float((q * self.kp).sum())
        return math.sqrt(max(self.epp - 2 * epq + eqq, 0.0))

    def mmd_weights(self, w: np.ndarray) -> float:
        """MMD between the reference and a distribution given by working-grid cell weights (nx, ny)."""
        return self.mmd_cells(self._coarsen(w / w.sum()))

    def mmd_q(self, q: GaussianQ | GridProductQ) -> float:
        if isinstance(q, GaussianQ):
            c = gaussian_cell_probabilities(q.loc, q.chol, self.x_edges, self.y_edges)
            return self.mmd_cells(c / c.sum())
        return self.mmd_weights(q.cell_weights(self.grid))

    def _index(self, v: np.ndarray, edges: np.ndarray, off: int, lo: float, h: float) -> np.ndarray:
        """Cell index along one axis: arithmetic inside the box, a search outside it."""
        k = np.floor((v - lo) / (h * self.block))
        idx = off + np.clip(k, 0, self._m - 1).astype(int)
        out = (v < edges[off]) | (v >= edges[off + self._m])
        if out.any():
            idx[out] = np.clip(np.searchsorted(edges[1:-1], v[out], side="right"), 0, edges.size - 2)
        return idx

    def mmd_samples(self, samples: np.ndarray) -> float:
        """Unbiased MMD (U-statistic, clipped at 0) between the reference and samples (n, 2)."""
        samples = np.asarray(samples, dtype=float).reshape(-1, 2)
        n = samples.shape[0]
        if n < 2:
            return float("nan")
        mx, my = self.cx.size, self.cy.size
        counts = np.zeros(mx * my, dtype=np.int64)
        for c in chunks.spans(n):  # a chain's 1.3 M draws at once: a dozen 10 MB temporaries
            i = self._index(samples[c, 0], self.x_edges, self._off[0], self.grid.box[0], self.grid.dx)
            j = self._index(samples[c, 1], self.y_edges, self._off[1], self.grid.box[2], self.grid.dy)
            counts += np.bincount(i * my + j, minlength=mx * my)
        s = counts.reshape(mx, my) / n
        ess_v = float((s * (self.kx @ s @ self.ky)).sum())
        ess_u = (n * ess_v - 1.0) / (n - 1)  # drop the n self-pairs, k(x, x) = 1
        eps = float((s * self.kp).sum())
        return math.sqrt(max(self.epp - 2 * eps + ess_u, 0.0))


def pareto_khat(target: Target, q: GaussianQ | GridProductQ, seed: int = 0, n: int = 10_000) -> float:
    """Pareto k-hat of the importance ratios p~/q over n draws from q (PSIS diagnostic).

    k < 0.5: q is a good importance proposal; 0.5-0.7: usable; > 0.7: don't trust q.
    """
    z = q.sample(np.random.default_rng(seed), n)
    with np.errstate(all="ignore"):
        log_w = target.log_density(z) - q.log_prob(z)
    finite = np.isfinite(log_w)
    if not finite.any():
        return float("nan")
    # p~ = 0 at a draw: a zero weight, which PSIS takes as a very small log weight.
    log_w = np.where(finite, log_w, log_w[finite].min() - 50.0)
    # arviz-stats' psislw is written for PSIS-LOO, where the ratios are 1/p(y|theta): it takes
    # the *negated* log ratios (its input is a log likelihood) and returns (smoothed, k-hat).
    with np.errstate(all="ignore"):  # equal weights (q = p) make the tail fit divide by zero
        try:
            return float(array_stats.psislw(-log_w, r_eff=1.0)[1])
        except ValueError as exc:
            # All tail ratios equal (a uniform target, q uniform where the ratio peaks): bounded ratios, the
            # best case, the limit k -> -inf of the generalised Pareto; arviz-stats refuses to fit it.
            if "tail values are the same" in str(exc):
                return -math.inf
            raise
