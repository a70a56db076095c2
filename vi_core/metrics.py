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
matrix products. KL cannot be computed from samples, and the 2D Wasserstein distance
costs O(n^3) with a large finite-sample floor (the marginal W1 below does not). Both q
and samples are binned onto the same coarse cells as the reference, mass outside the box
included (``Yardstick``), so q = p gives exactly 0.

Beside it, a tail-sensitive distance: the 1-Wasserstein distance W1 = ∫ |F_method - F_p| dt
between each marginal and the exact one, in units of that marginal's sd, averaged over the
two coordinates. An MMD whose kernel is an sd wide barely sees mass that is missing far out,
since the kernel between the far tail and the bulk is ~0: on Neal's funnel a sampler that
never reaches the mouth (Var(x) 36-65 against 90) scores an MMD of about 0.01. W1 weighs every
draw by how far its mass has to move, so a missing tail costs in proportion to its reach.
In 1D it is exact and cheap: the exact marginal CDF is tabulated once (piecewise linear on a
few thousand edges, mass outside the box included) and merged with the sorted draws or with
q's CDF; a sample set of n draws costs O(n log n) and has no kernel or binning.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from arviz_stats.base import array_stats

from vi_core import chunks
from vi_core.families import Family
from vi_core.grid import Grid
from vi_core.targets.base import Target

__all__ = [
    "Decomposition",
    "Yardstick",
    "decomposition",
    "elbo",
    "mode_masses",
    "moment_errors",
    "pareto_khat",
    "yardstick",
]


def mode_masses(points: np.ndarray, centres: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The share of the (weighted) points nearest each mode's centre: points (n, 2), centres (M, 2), weights (n,)
    (default equal) -> (M,) summing to 1. The same rule for the exact posterior (grid cells and their weights), a
    density q (its cell weights) and a sample, so the three compare like with like."""
    z = np.asarray(points, dtype=float).reshape(-1, 2)
    w = np.ones(z.shape[0]) if weights is None else np.asarray(weights, dtype=float).ravel()
    keep = np.isfinite(z).all(axis=1)
    nearest = np.argmin(((z[keep, None, :] - np.asarray(centres)[None]) ** 2).sum(-1), axis=1)
    out = np.bincount(nearest, weights=w[keep], minlength=len(centres))
    return out / out.sum()


class Decomposition(NamedTuple):
    """ln p(X) = ELBO + KL, all three in nats."""

    log_evidence: float
    elbo: float
    kl: float


def elbo(grid: Grid, q: Family) -> float:
    """Exact ELBO of q against the grid's target (the family's own: vi_core.families)."""
    return q.elbo(grid)


def decomposition(grid: Grid, q: Family) -> Decomposition:
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


def _outer_edges(
    edge: float, limit: float, h: float, sign: float, g: float = _OUTER_GROWTH, most: int = _OUTER_MAX
) -> np.ndarray:
    """Edges beyond ``edge`` out to ``limit`` (sign +1 upwards, -1 downwards): widths h,
    g h, g^2 h, ... (at most ``most`` cells), the last cell ending at ``limit``."""
    span = (limit - edge) * sign
    if span <= 1e-9 * h:
        return np.zeros(0)
    k = min(most, max(1, math.ceil(math.log1p(span * (g - 1.0) / h) / math.log(g))))
    steps = h * (g ** np.arange(1, k + 1) - 1.0) / (g - 1.0)
    steps[-1] = span
    return edge + sign * steps


_W1_CELLS = 6000  # CDF-table intervals across the box (closed-form targets): see Yardstick._cdf_tables
_W1_GROWTH = 1.02  # width ratio of successive table intervals outside the box
_W1_OUTER_MAX = 1000  # at most this many table intervals a side outside the box
_W1_REACH = 2.0  # the table reaches this many support widths beyond the support (closed-form targets)
_W1_QUAD_CELLS = 48  # z1 cells over the support for the z2 marginal's quadrature (6 nodes each)


def _abs_linear_integral(w: np.ndarray, d0: np.ndarray, d1: np.ndarray) -> float:
    """sum_k of the integral of |d| over interval k of width w[k], d linear from d0[k] to d1[k];
    across a sign change it is w (d0^2 + d1^2) / (2 (|d0| + |d1|))."""
    s = np.abs(d0) + np.abs(d1)
    cross = d0 * d1 < 0
    part = np.where(cross, (d0 * d0 + d1 * d1) / np.where(cross, s, 1.0), s)
    return 0.5 * float((w * part).sum())  # not w @ part: a BLAS call wakes its threads, 1-5 ms here


def _w1_empirical(s: np.ndarray, e: np.ndarray, f: np.ndarray) -> float:
    """∫ |F_n - F| dt: F_n the empirical CDF of sorted draws s (n,), F piecewise linear through
    (e, f) (M,), 0 below e[0] and 1 above e[-1]. Exact: on each interval between consecutive
    points of the merged draws and edges, F_n is constant and F linear. The n + M points are
    merged a chunk at a time (vi_core.chunks): a chain's million draws make no big temporaries."""
    n, m = s.size, e.size
    below = np.searchsorted(s, e, side="left")  # draws below each edge
    pos_e = np.arange(m) + below  # the edges' places among the merged points (before equal draws)
    total = 0.0
    for c in chunks.spans(n + m - 1):  # the intervals from merged point k to k + 1, k in c
        p, q = c.start, c.stop  # merged points p..q
        j0, j1 = int(np.searchsorted(pos_e, p, side="left")), int(np.searchsorted(pos_e, q, side="right"))
        i0, i1 = p - j0, q + 1 - j1  # the draws among them
        ss = s[i0:i1]
        k = q + 1 - p
        t, ft, fn = np.empty(k), np.empty(k), np.empty(k)
        at_e = pos_e[j0:j1] - p
        at_s = np.arange(i0 - p, i1 - p) + np.searchsorted(e, ss, side="right")
        t[at_e], t[at_s] = e[j0:j1], ss
        ft[at_e], ft[at_s] = f[j0:j1], np.interp(ss, e, f, left=0.0, right=1.0)
        fn[at_e], fn[at_s] = below[j0:j1] / n, np.arange(i0 + 1, i1 + 1) / n  # F_n on [t_k, t_k+1)
        total += _abs_linear_integral(np.diff(t), ft[:-1] - fn[:-1], ft[1:] - fn[:-1])
    return total


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

    ``w1_q`` and ``w1_samples``: the marginal W1 distances (module docstring), against the exact
    marginal CDFs tabulated on first use (``_cdf_tables``), not on these cells.
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

    def mmd_q(self, q: Family) -> float:
        """MMD between the reference and q, by q's own probability of each of this yardstick's cells."""
        c = q.cell_probabilities(self.grid, self.x_edges, self.y_edges)
        return self.mmd_cells(c / c.sum())

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

    # ---- W1 of the marginals ----

    @functools.cached_property
    def _cdf_tables(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Per axis (edges (M,), F (M,)): the reference's marginal CDF P(z < e) at a table of
        edges, piecewise linear between them; 0 below the table and 1 above it.

        Closed-form targets (exact cell probabilities at any edges): ``_W1_CELLS`` equal
        intervals across the box (1.5e-3 sd at the default boxes: linear interpolation of F then
        costs at most (h^2 / 12) ∫|f'| ≈ 1.5e-7 sd for a normal marginal), then widening by 2 %
        a cell through the reference support (all but ~1e-6 a side) and twice its width beyond,
        so that the last 1e-6 is in the table too (what lies beyond costs the funnel's heavy x
        tail 1e-6 sd, a normal tail nothing). Otherwise the reference is the working grid plus
        the scan's cells, each spread evenly over its cell: the edges are the working grid's
        inside the box and the scan's outside it (out to the support), so F is exact at them.
        Built on first use, not with the yardstick: 50-200 ms for a closed-form target, ~1 ms else.
        """
        g = self.grid
        cond = getattr(g.target, "conditional", None)
        sup = g.reference_support
        out = []
        for axis in (0, 1):
            lo, hi = g.box[2 * axis], g.box[2 * axis + 1]
            s_lo, s_hi = sup[2 * axis], sup[2 * axis + 1]
            n = (g.xs, g.ys)[axis].size
            if cond is not None:
                f_lo, f_hi = s_lo - _W1_REACH * (s_hi - s_lo), s_hi + _W1_REACH * (s_hi - s_lo)
                if axis == 0:  # z1's range holds all but ~1e-15 of it
                    f_lo, f_hi = max(f_lo, min(cond.z1_range[0], s_lo)), min(f_hi, max(cond.z1_range[1], s_hi))
                k = max(1, math.ceil(_W1_CELLS / n))  # the working grid's edges among them
                h = (hi - lo) / (n * k)
                low = _outer_edges(lo, f_lo, h, -1.0, _W1_GROWTH, _W1_OUTER_MAX)[::-1]
                inner = np.linspace(lo, hi, n * k + 1)
                high = _outer_edges(hi, f_hi, h, 1.0, _W1_GROWTH, _W1_OUTER_MAX)
            else:
                inner = np.linspace(lo, hi, n + 1)
                low = high = np.zeros(0)
                if g.scan is not None and g.scan.x.size:
                    c, w = (g.scan.x, g.scan.y)[axis], 0.5 * (g.scan.wx, g.scan.wy)[axis]
                    ends = np.unique(np.concatenate([c - w, c + w]))
                    low, high = ends[(ends < lo) & (ends > s_lo)], ends[(ends > hi) & (ends < s_hi)]
                low = np.concatenate([[s_lo], low]) if s_lo < lo else low
                high = np.concatenate([high, [s_hi]]) if s_hi > hi else high
            e = np.concatenate([low, inner, high])
            e = e[np.concatenate([[True], np.diff(e) > 1e-12 * (e[-1] - e[0])])]
            out.append((e, self._marginal_cdf(axis, e, cond)))
        return out[0], out[1]

    def _marginal_cdf(self, axis: int, e: np.ndarray, cond) -> np.ndarray:
        """The reference's P(z_axis < e) at sorted edges e (M,), from its cell probabilities (the
        outermost cells are open: with one more edge each side the first cell is P(z < e[0]))."""
        g = self.grid
        x0, x1, y0, y1 = g.reference_support
        if axis == 0:
            if cond is not None:  # z1: Gauss-Legendre nodes in each cell, 8 cells a side beyond e
                low = np.linspace(min(cond.z1_range[0], e[0] - 1.0), e[0], 9)[:-1]
                high = np.linspace(e[-1], max(cond.z1_range[1], e[-1] + 1.0), 9)[1:]
            else:
                low, high = np.array([e[0] - 1.0]), np.array([e[-1] + 1.0])
            p = g.cell_probabilities(np.concatenate([low, e, high]), np.array([y0, y1])).sum(1)
            f = np.cumsum(p)
            return np.clip(f[low.size - 1 : low.size - 1 + e.size] / f[-1], 0.0, 1.0)
        if cond is None:
            p = g.cell_probabilities(np.array([x0, x1]), np.concatenate([[e[0] - 1.0], e, [e[-1] + 1.0]])).sum(0)
            return np.clip(np.cumsum(p)[: e.size] / p.sum(), 0.0, 1.0)
        # z2: a quadrature in z1 (6 nodes a cell, exact to ~1e-10 on the built-ins) at every edge,
        # a chunk of edges at a time (the reference makes (nodes, edges) temporaries)
        z_lo, z_hi = cond.z1_range
        quad = np.unique(
            np.concatenate(
                [
                    np.linspace(min(z_lo, x0), x0, 9),
                    np.linspace(x0, x1, _W1_QUAD_CELLS + 1),
                    np.linspace(x1, max(z_hi, x1), 9),
                    cond.z1_breaks,
                ]
            )
        )
        f = np.empty(e.size)
        for c in chunks.spans(e.size, 6 * quad.size):
            part = np.concatenate([[e[c.start] - 1.0], e[c], [e[c.stop - 1] + 1.0]])
            cdf = np.cumsum(g.cell_probabilities(quad, part).sum(0))
            f[c] = cdf[:-1] / cdf[-1]
        return np.clip(f, 0.0, 1.0)

    def w1_samples(self, samples: np.ndarray) -> float:
        """Mean over the two coordinates of W1(sample marginal, exact marginal) / exact sd.

        samples (n, 2); rows with a non-finite coordinate are ignored; nan for fewer than 2
        finite rows. Exact for the empirical CDF against the tabulated exact one; draws outside
        the table count with their full distance. 64,000 draws: a few ms.
        """
        z = np.asarray(samples, dtype=float).reshape(-1, 2)
        if not np.isfinite(z).all():
            z = z[np.isfinite(z).all(axis=1)]
        if z.shape[0] < 2:
            return float("nan")
        tables = self._cdf_tables
        return 0.5 * sum(_w1_empirical(np.sort(z[:, k]), *tables[k]) / self.bandwidth[k] for k in (0, 1))

    def w1_resolution(self, n) -> float:
        """The W1 (as ``w1_samples`` measures it) that n independent exact draws score on average: the yardstick's
        Monte Carlo resolution at that many draws. E|F_n(t) - F(t)| ≈ sqrt(2 F(1 - F) / (π n)) (the binomial's
        normal limit), so E[W1] ≈ sqrt(2 / (π n)) ∫ sqrt(F(1 - F)) dt per coordinate (trapezoid on the table),
        divided by the sd and averaged. n: a number or one per coordinate (2,); for correlated draws their
        effective numbers, which makes it a rough guide (bulk ESS is about the mean, not every quantile). nan
        where an n is below 1."""
        ns = np.broadcast_to(np.asarray(n, dtype=float), (2,))
        if not (np.isfinite(ns).all() and (ns >= 1).all()):
            return float("nan")
        total = 0.0
        for k, (e, f) in enumerate(self._cdf_tables):
            g = np.sqrt(np.clip(f * (1.0 - f), 0.0, None))
            spread = float(np.sum(0.5 * (g[1:] + g[:-1]) * np.diff(e))) / self.bandwidth[k]
            total += spread * math.sqrt(2.0 / (math.pi * ns[k]))
        return 0.5 * total

    def _tv(self, cdf_at, cells: int | None = None) -> float:
        """Mean over both coordinates of the total variation between a marginal (its CDF at points: cdf_at(axis, t))
        and the exact one, on ``cells`` equal cells across the box (default: the working grid's) with the two
        outermost open (mass outside the box in them)."""
        total = 0.0
        for k, (e, f) in enumerate(self._cdf_tables):
            lo, hi = self.grid.box[2 * k], self.grid.box[2 * k + 1]
            m = cells or (self.grid.xs, self.grid.ys)[k].size
            edges = np.linspace(lo, hi, m + 1)[1:-1]
            p = np.diff(np.concatenate([[0.0], np.interp(edges, e, f, left=0.0, right=1.0), [1.0]]))
            q = np.diff(np.concatenate([[0.0], cdf_at(k, edges), [1.0]]))
            total += 0.5 * float(np.abs(q - p).sum())
        return 0.5 * total

    def mmtv_q(self, q: Family) -> float:
        """Mean marginal total variation between q and the exact posterior (0: equal marginals, 1: disjoint); a q of
        finitely many points (particles: ``q.draws``) on as many cells as a sample of that size."""
        return self._tv(lambda k, t: q.marginal_cdf(self.grid, k, t), self._sample_cells(q.draws))

    def _sample_cells(self, n: float) -> int | None:
        """sqrt(n) cells a side for n points (at least 10, at most the grid's); None (the grid's) for a density."""
        if not math.isfinite(n):
            return None
        return int(min(max(round(math.sqrt(n)), 10), self.grid.xs.size))

    def mmtv_samples(self, samples: np.ndarray) -> float:
        """Mean marginal total variation between the samples' marginals (n, 2) and the exact ones, on sqrt(n) cells a
        side (at least 10, at most the grid's): a histogram's noise is about sqrt(cells / n), so a few particles on the
        grid's 200 cells would score their own noise, not their fit."""
        z = np.asarray(samples, dtype=float).reshape(-1, 2)
        z = z[np.isfinite(z).all(axis=1)]
        if z.shape[0] < 2:
            return float("nan")
        s = [np.sort(z[:, 0]), np.sort(z[:, 1])]
        return self._tv(lambda k, t: np.searchsorted(s[k], t, side="right") / s[k].size, self._sample_cells(len(z)))

    def w1_q(self, q: Family) -> float:
        """Mean over the two coordinates of W1(q's marginal, exact marginal) / exact sd: |F_q - F_p| integrated
        exactly between the union of the exact table's edges and q's own CDF knots (``Family.cdf_knots``), where
        both are (nearly) linear. nan for a q with non-finite moments."""
        if not (np.isfinite(q.mean).all() and np.isfinite(q.cov).all()):
            return float("nan")
        total = 0.0
        for k, (e, f) in enumerate(self._cdf_tables):
            sd = self.bandwidth[k]
            t = np.union1d(e, q.cdf_knots(self.grid, k, sd))
            d = q.marginal_cdf(self.grid, k, t) - np.interp(t, e, f, left=0.0, right=1.0)
            total += _abs_linear_integral(np.diff(t), d[:-1], d[1:]) / sd
        return 0.5 * total


def yardstick(grid: Grid) -> Yardstick:
    """The grid's Yardstick, built once per grid object and kept on it: its exact-marginal CDF tables and cell
    probabilities cost ~0.06 s a build, more than scoring a default run's snapshots (Grid.__getstate__ drops it)."""
    found = grid.__dict__.get("_yardstick")
    if found is None:
        found = grid.__dict__["_yardstick"] = Yardstick(grid)
    return found


def pareto_khat(target: Target, q: Family, seed: int = 0, n: int = 10_000) -> float:
    """Pareto k-hat of the importance ratios p~/q over n draws from q (PSIS diagnostic).

    Below min(1 - 1/log10 n, 0.7) (vi_core.verdicts.khat_threshold) importance sampling from q is reliable; it
    is noisy for small n (the app uses 100,000 draws) and a second opinion beside an exact KL.
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
