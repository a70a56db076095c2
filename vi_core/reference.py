"""The reference posterior every run is scored against: ln p(X), mean, covariance, marginals.

A uniform midpoint grid on the plotting box is a good picture and a good domain for grid
CAVI, but a poor "truth" when the box cannot hold the posterior or its cells cannot resolve
it. Neal's funnel at scale 3 does both: 4 % of its mass lies beyond |x| = 12 (Var(x) is
e^4.5 ≈ 90, the box's 6.3), and below v ≈ -4 its neck is narrower than a cell. So the
reference is computed apart from the working grid, in one of two ways:

* Exact (every target with a closed form): the target gives its posterior as
  ``Conditional`` -- a 1D density m(z1) times normal mixtures in z2 (the funnel in
  (v, u = x e^(-v/2)) is N(0, s^2) N(0, 1)). ln Z is the closed form; the mean, covariance,
  marginals, the mass outside any box and the probability of any product of cells are 1D
  Gauss-Legendre quadratures in z1 of normal densities and CDF differences in z2. Nothing
  depends on the box or the grid's cell size, and the error is at rounding level.
* Quadrature (typed targets, U1, the donut and the data posteriors): the working grid on
  the box plus a scan of the space around it -- dyadic annuli B_k minus B_(k-1), B_k the
  box scaled 2^k about its centre, on a grid graded outwards. The annuli give the mass
  outside the box (an estimate from a real integral, not edge cells) and join the box in
  ln Z, the moments and the marginals. A typed density is scanned out to 4096 box widths,
  which also decides whether it can be normalised at all (``refuse_improper``). Its error
  estimate adds the box's |trapezoid - midpoint| ln Z, the change of the outside integral
  when the scan has half the cells, and the mass of the last annulus.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri

from vi_core.targets.base import Conditional, Target

__all__ = [
    "ConditionalReference",
    "Reference",
    "ScanReference",
    "TailScan",
    "gaussian_cell_probabilities",
    "log_box_mass_exact",
    "refuse_improper",
    "scan_outside",
]

_GL_ORDER = 8
_PANELS = 48  # composite Gauss-Legendre panels over z1's range: 384 nodes
_CELL_NODES = 6  # Gauss-Legendre nodes per cell in z1 for cell probabilities
_SUPPORT_TAIL = 1e-6  # the support box leaves at most this much mass beyond each side
_SCALES = 12  # typed targets are scanned out to 2^12 = 4096 box widths
_IMPROPER_SHARE = 1e-3  # the last two annuli may hold at most this share of the mass
_NEGLIGIBLE = 18.0  # a proper target's scan stops when an annulus is e^-18 of the total


class Reference(NamedTuple):
    """The posterior every score is measured against.

    log_evidence: ln p(X) = ln Z; log_evidence_error: an estimate of its absolute error;
    mean (2,), cov (2, 2): the posterior's; mass_outside_box: its probability outside the
    working box; method: how it was computed, in words.
    """

    log_evidence: float
    log_evidence_error: float
    mean: np.ndarray
    cov: np.ndarray
    mass_outside_box: float
    method: str


@functools.cache
def _gl(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def _composite(edges: np.ndarray, order: int = _GL_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on each interval [edges[i], edges[i+1]]: (K,), (K,)."""
    u, w = _gl(order)
    a, b = edges[:-1, None], edges[1:, None]
    half = 0.5 * (b - a)
    return ((a + b) * 0.5 + half * u).ravel(), (half * w).ravel()


def _phi_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Φ(b) - Φ(a) for a <= b, accurate in both tails."""
    upper = a > 0
    return np.where(upper, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))


class ConditionalReference:
    """Exact reference of a target given as a ``Conditional`` (see the module docstring)."""

    def __init__(self, cond: Conditional, log_z: float, box: tuple[float, float, float, float]):
        self.cond = cond
        self.box = box
        lo, hi = cond.z1_range
        x0, x1, y0, y1 = box
        cuts = [v for v in (*cond.z1_breaks, x0, x1) if lo < v < hi]
        edges = np.unique(np.concatenate([np.linspace(lo, hi, _PANELS + 1), cuts]))
        t, w = _composite(edges)
        with np.errstate(under="ignore"):
            omega = w * np.exp(cond.log_m(t))
        log_pi, mu, sd = (np.asarray(a, dtype=float) for a in cond.components(t))
        pi = np.exp(log_pi)
        self.t, self.omega, self.pi, self.mu, self.sd = t, omega, pi, mu, sd
        e2 = (pi * mu).sum(0)  # E[z2 | z1 = t]
        e22 = (pi * (mu * mu + sd * sd)).sum(0)
        total = omega.sum()
        m1, m2 = omega @ t / total, omega @ e2 / total
        v11 = omega @ (t - m1) ** 2 / total
        v22 = omega @ e22 / total - m2 * m2
        v12 = omega @ ((t - m1) * e2) / total
        inside = (t > x0) & (t < x1)
        with np.errstate(under="ignore"):
            out_y = (pi * (ndtr((y0 - mu) / sd) + ndtr((mu - y1) / sd))).sum(0)
        outside = float(omega[~inside].sum() + omega[inside] @ out_y[inside])
        with np.errstate(under="ignore"):
            in_y = (pi * _phi_diff((y0 - mu) / sd, (y1 - mu) / sd)).sum(0)
        self.mass_in_box = float(omega[inside] @ in_y[inside])
        self.mass_outside_box = min(max(outside, 0.0), 1.0)
        self.normalisation_error = abs(total - 1.0)
        self.mean = np.array([m1, m2])
        self.cov = np.array([[v11, v12], [v12, v22]])
        self.log_z = float(log_z)

    @functools.cached_property
    def reference(self) -> Reference:
        method = f"exact: ln Z in closed form; moments by 1D quadrature in {self.cond.coords}"
        return Reference(self.log_z, 0.0, self.mean, self.cov, self.mass_outside_box, method)

    def marginal_x(self, xs: np.ndarray) -> np.ndarray:
        with np.errstate(under="ignore"):
            return np.exp(self.cond.log_m(np.asarray(xs, dtype=float)))

    def marginal_y(self, ys: np.ndarray) -> np.ndarray:
        keep = self.omega > 1e-17 * self.omega.max()
        om, pi, mu, sd = self.omega[keep], self.pi[:, keep], self.mu[:, keep], self.sd[:, keep]
        out = np.zeros(np.size(ys))
        ys = np.asarray(ys, dtype=float)
        with np.errstate(under="ignore"):
            for c in range(pi.shape[0]):
                u = (ys[:, None] - mu[c]) / sd[c]
                out += np.exp(-0.5 * u * u) @ (om * pi[c] / (sd[c] * math.sqrt(2.0 * math.pi)))
        return out

    def _tail_z2(self, y: np.ndarray, upper: bool) -> np.ndarray:
        """P(z2 > y) (upper) or P(z2 < y) for each y (J,)."""
        keep = self.omega > 1e-20 * self.omega.max()
        om, pi, mu, sd = self.omega[keep], self.pi[:, keep], self.mu[:, keep], self.sd[:, keep]
        u = (y[:, None, None] - mu[None]) / sd[None]
        with np.errstate(under="ignore"):
            cdf = ndtr(-u) if upper else ndtr(u)
        return (cdf * pi[None]).sum(1) @ om

    def support(self) -> tuple[float, float, float, float]:
        """A box holding all but ~1e-6 a side of the mass, containing the working box."""
        c = np.cumsum(self.omega) / self.omega.sum()
        t_lo = self.t[max(int(np.searchsorted(c, _SUPPORT_TAIL)) - 1, 0)]
        t_hi = self.t[min(int(np.searchsorted(c, 1.0 - _SUPPORT_TAIL)) + 1, c.size - 1)]
        m, s = self.mean[1], math.sqrt(max(self.cov[1, 1], 1e-300))
        steps = 0.25 * s * 2.0 ** (np.arange(120) / 4.0)
        up = m + steps
        dn = m - steps
        y_hi = up[min(int(np.argmax(self._tail_z2(up, True) <= _SUPPORT_TAIL)), up.size - 1)]
        y_lo = dn[min(int(np.argmax(self._tail_z2(dn, False) <= _SUPPORT_TAIL)), dn.size - 1)]
        x0, x1, y0, y1 = self.box
        return (min(x0, float(t_lo)), max(x1, float(t_hi)), min(y0, float(y_lo)), max(y1, float(y_hi)))

    def cell_probabilities(self, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
        """Probability of each cell of a product of intervals, (Mx, My). The outermost
        intervals are open: they take all the mass beyond them."""
        lo, hi = self.cond.z1_range
        ex = np.clip(np.asarray(x_edges, dtype=float), lo, hi)
        ex[0], ex[-1] = lo, hi
        ey = np.asarray(y_edges, dtype=float).copy()
        ey[0], ey[-1] = -np.inf, np.inf
        t, w = _composite(ex, _CELL_NODES)
        with np.errstate(under="ignore"):
            om = w * np.exp(self.cond.log_m(t))
        log_pi, mu, sd = (np.asarray(a, dtype=float) for a in self.cond.components(t))
        pi = np.exp(log_pi)
        with np.errstate(under="ignore", invalid="ignore"):
            u = (ey[None, None, :] - mu[..., None]) / sd[..., None]  # (C, K, My + 1)
            cdf = np.where(u > 0, 1.0 - ndtr(-u), ndtr(u))
            cdf = np.where(np.isnan(cdf), (u > 0).astype(float), cdf)
        per_node = (pi[..., None] * np.diff(cdf, axis=-1)).sum(0)  # (K, My)
        per_node = np.maximum(per_node, 0.0) * om[:, None]
        return per_node.reshape(ex.size - 1, _CELL_NODES, -1).sum(1)


def gaussian_cell_probabilities(loc, chol, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
    """Probability of each cell (outermost intervals open) under N(loc, chol chol^T), (Mx, My).

    z1 ~ N(m1, l11^2) and z2 | z1 ~ N(m2 + (l21 / l11)(z1 - m1), l22^2). Each column of cells
    gets its exact z1 mass (Φ differences); within it z2's CDF is averaged over z1 at the
    midpoints of equal-probability slices, so a q much narrower than a cell stays exact.
    """
    m1, m2 = float(loc[0]), float(loc[1])
    l11, l21, l22 = float(chol[0, 0]), float(chol[1, 0]), float(chol[1, 1])
    a = (np.asarray(x_edges, dtype=float) - m1) / l11
    a[0], a[-1] = -np.inf, np.inf
    ey = np.asarray(y_edges, dtype=float).copy()
    ey[0], ey[-1] = -np.inf, np.inf
    r = 4
    frac = (np.arange(r) + 0.5) / r
    # slice midpoints in probability, taken in the lower tail on each side of the mode
    lo, hi = a[:-1], a[1:]
    flip = lo > 0
    plo = np.where(flip, ndtr(-hi), ndtr(lo))
    phi = np.where(flip, ndtr(-lo), ndtr(hi))
    mass = phi - plo  # (Mx,)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = ndtri(plo[:, None] + frac * mass[:, None])
    u1 = np.where(flip[:, None], -q, q)  # (Mx, r) standardised z1
    u1 = np.where(np.isfinite(u1), u1, 0.0)
    cm = m2 + l21 * u1  # conditional means of z2
    with np.errstate(invalid="ignore"):
        v = (ey[None, None, :] - cm[..., None]) / l22
        cdf = ndtr(v)
    cell = np.diff(cdf, axis=-1).mean(1)  # (Mx, My)
    return np.maximum(cell, 0.0) * mass[:, None]


# ---- targets without a closed form: the working grid plus a scan of the space around it ----


class TailScan(NamedTuple):
    """Dyadic annuli around the box. log_mass (K,): ln of ∫ p~ over annulus k; x, y, log_w,
    wx, wy: centres, ln p~ x cell area and widths of the cells that carry mass (for the
    moments, marginals and cell probabilities); complete: scanned out to 4096 box widths;
    fine: cells a side in the near shells (half of the cells over the box)."""

    log_mass: np.ndarray
    x: np.ndarray
    y: np.ndarray
    log_w: np.ndarray
    wx: np.ndarray
    wy: np.ndarray
    complete: bool
    fine: int


def _graded_edges(c: float, h: float, k: int, fine: int) -> np.ndarray:
    """Edges along one axis of B_k (half-width 2^k h about c): 2 fine cells over the box,
    then each shell 2^(j-1) h < |z - c| < 2^j h cut into fine (j <= 3) or fine/4 cells a side."""
    parts = [c + h * np.linspace(-1.0, 1.0, 2 * fine + 1)]
    for j in range(1, k + 1):
        q = fine if j <= 3 else fine // 4
        shell = h * np.linspace(2.0 ** (j - 1), 2.0**j, q + 1)[1:]
        parts += [c - shell, c + shell]
    return np.unique(np.concatenate(parts))


def scan_outside(target: Target, box, log_z_box: float, full: bool, fine: int = 32, scales: int = _SCALES) -> TailScan:
    """Integrate p~ over the annuli B_k minus B_(k-1), k = 1, 2, ... (B_k: the box scaled 2^k
    about its centre) by the midpoint rule on a graded product grid: per axis, 2 ``fine``
    cells over the box and ``fine`` cells a side in each dyadic shell (fine / 4 beyond 8 box
    widths). Rows and columns through the box keep the box's resolution, so a narrow ridge
    leaving the box (``-abs(x)``) is seen however far out.

    ``full``: scan all ``scales`` annuli (typed targets: needed to refuse improper densities);
    otherwise stop once an annulus holds under e^-18 of the mass so far (a built-in's box
    leaves about that or less; the last annulus's mass counts in the error estimate). At
    most ~30k points are evaluated at once. Raises ValueError if ln p~ is +inf anywhere
    scanned; NaN (undefined) counts as zero density.
    """
    x0, x1, y0, y1 = box
    cx, cy, hx, hy = 0.5 * (x0 + x1), 0.5 * (y0 + y1), 0.5 * (x1 - x0), 0.5 * (y1 - y0)
    masses, keep, total = [], [], log_z_box
    for k in range(1, scales + 1):
        ex, ey = _graded_edges(cx, hx, k, fine), _graded_edges(cy, hy, k, fine)
        mx, my = 0.5 * (ex[1:] + ex[:-1]), 0.5 * (ey[1:] + ey[:-1])
        wx, wy = np.diff(ex), np.diff(ey)
        new_x = np.abs(mx - cx) > 2.0 ** (k - 1) * hx  # columns in shell k
        new_y = np.abs(my - cy) > 2.0 ** (k - 1) * hy
        # the annulus: shell-k columns (every row) plus shell-k rows (older columns)
        ii = [np.repeat(np.flatnonzero(new_x), my.size), np.repeat(np.flatnonzero(~new_x), new_y.sum())]
        jj = [np.tile(np.arange(my.size), new_x.sum()), np.tile(np.flatnonzero(new_y), (~new_x).sum())]
        i, j = np.concatenate(ii), np.concatenate(jj)
        xs, ys = mx[i], my[j]
        with np.errstate(all="ignore"):
            lp = np.asarray(target.log_density(np.stack([xs, ys], axis=-1)), dtype=float)
        if (lp == np.inf).any():
            at = int(np.argmax(lp == np.inf))
            raise ValueError(
                f"the density cannot be normalised: ln p is +inf at x={xs[at]:.3g}, y={ys[at]:.3g} outside the box"
            )
        lp = np.where(np.isnan(lp), -np.inf, lp)
        with np.errstate(divide="ignore"):
            lw = lp + np.log(wx[i] * wy[j])
        a = float(logsumexp(lw)) if np.isfinite(lw).any() else -np.inf
        masses.append(a)
        total = float(np.logaddexp(total, a))
        big = lw > total - 45.0
        keep.append((xs[big], ys[big], lw[big], wx[i][big], wy[j][big]))
        if not full and a < total - _NEGLIGIBLE:
            break
    parts = [np.concatenate(c) for c in zip(*keep, strict=True)]
    return TailScan(np.array(masses), *parts, complete=len(masses) == _SCALES, fine=fine)


def refuse_improper(scan: TailScan, log_z_box: float) -> None:
    """Raise ValueError if the scan shows mass growing without bound as the box widens."""
    if not scan.complete:
        return
    total = float(np.logaddexp(log_z_box, logsumexp(scan.log_mass)))
    far = float(logsumexp(scan.log_mass[-2:]))
    share = math.exp(far - total) if np.isfinite(far) else 0.0
    if share > _IMPROPER_SHARE:
        raise ValueError(
            "the density cannot be normalised: its mass keeps growing as the box widens "
            f"({share:.0%} of it lies more than 500 box widths out); ln p must fall to -inf in every direction"
        )


class ScanReference:
    """Reference of a target without a closed form: the working grid (box) plus the scan."""

    def __init__(self, grid, scan: TailScan):
        self.grid, self.scan = grid, scan
        lzb = grid.log_z_box
        out = float(logsumexp(scan.log_mass)) if scan.log_mass.size else -np.inf
        self.log_z = float(np.logaddexp(lzb, out))
        self.p_box = math.exp(lzb - self.log_z)
        exact = getattr(grid.target, "log_z_exact", None)
        self.closed_form = exact is not None
        if self.closed_form:  # the donut: ln Z in closed form, the moments by quadrature
            self.log_z = float(exact)
        self.mass_outside_box = max(0.0, 1.0 - self.p_box) if np.isfinite(out) else 0.0
        log_total = float(np.logaddexp(lzb, out))
        self.tail_w = np.exp(scan.log_w - log_total) if scan.log_w.size else np.zeros(0)
        w, pb, tw = grid.weights, self.p_box, self.tail_w
        wx, wy = w.sum(1), w.sum(0)
        m = np.array([pb * (wx @ grid.xs) + tw @ scan.x, pb * (wy @ grid.ys) + tw @ scan.y])
        cx, cy = grid.xs - m[0], grid.ys - m[1]
        tx, ty = scan.x - m[0], scan.y - m[1]
        v11 = pb * (wx @ (cx * cx)) + tw @ (tx * tx)
        v22 = pb * (wy @ (cy * cy)) + tw @ (ty * ty)
        v12 = pb * (cx @ w @ cy) + tw @ (tx * ty)
        self.mean, self.cov = m, np.array([[v11, v12], [v12, v22]])
        last = scan.log_mass[-1] if scan.log_mass.size else -np.inf
        self.beyond = math.exp(last - log_total) if np.isfinite(last) else 0.0

    @functools.cached_property
    def reference(self) -> Reference:
        g = self.grid
        err = g.resolution_error * self.p_box + self.outside_error + self.beyond
        n = g.xs.size
        method = f"midpoint rule on the box ({n}×{n} cells)"
        if self.mass_outside_box > 0.0 and self.scan.log_w.size:
            method += " plus coarse grids on widening rings around it"
        if self.closed_form:
            method = "ln Z in closed form; moments by the " + method
        return Reference(self.log_z, err, self.mean, self.cov, self.mass_outside_box, method)

    @functools.cached_property
    def outside_error(self) -> float:
        """|ln Z(fine scan) - ln Z(coarse scan)| in nats, the coarse scan having half the cells a
        side (a quarter of the evaluations): an over-estimate of the fine scan's error."""
        s, g = self.scan, self.grid
        if not s.log_mass.size or self.mass_outside_box < 1e-12:
            return 0.0
        coarse = scan_outside(g.target, g.box, g.log_z_box, True, fine=s.fine // 2, scales=s.log_mass.size)
        a, b = float(logsumexp(s.log_mass)), float(logsumexp(coarse.log_mass))
        return abs(float(np.logaddexp(g.log_z_box, a) - np.logaddexp(g.log_z_box, b)))

    def support(self) -> tuple[float, float, float, float]:
        g, s = self.grid, self.scan
        x0, x1, y0, y1 = g.box
        if not s.log_w.size or self.mass_outside_box < 1e-9:
            return (x0, x1, y0, y1)
        big = self.tail_w > _SUPPORT_TAIL * 1e-3
        if not big.any():
            return (x0, x1, y0, y1)
        xs, ys, hx, hy = s.x[big], s.y[big], 0.5 * s.wx[big], 0.5 * s.wy[big]
        return (
            min(x0, float((xs - hx).min())),
            max(x1, float((xs + hx).max())),
            min(y0, float((ys - hy).min())),
            max(y1, float((ys + hy).max())),
        )

    def marginal_x(self, xs: np.ndarray) -> np.ndarray:
        g, s = self.grid, self.scan
        out = self.p_box * g.weights.sum(1) / g.dx
        return out + _spread(xs, s.x, s.wx, self.tail_w)

    def marginal_y(self, ys: np.ndarray) -> np.ndarray:
        g, s = self.grid, self.scan
        out = self.p_box * g.weights.sum(0) / g.dy
        return out + _spread(ys, s.y, s.wy, self.tail_w)

    def cell_probabilities(self, x_edges: np.ndarray, y_edges: np.ndarray) -> np.ndarray:
        """Probability of each cell (outermost open), binning the box's cells and the scan's by centre."""
        g, s = self.grid, self.scan
        ix = _bin(g.xs, x_edges)
        iy = _bin(g.ys, y_edges)
        mx, my = len(x_edges) - 1, len(y_edges) - 1
        out = np.zeros((mx, my))
        box_part = np.zeros((mx, g.ys.size))
        np.add.at(box_part, ix, g.weights)
        np.add.at(out.T, iy, box_part.T)
        out *= self.p_box
        if s.x.size:
            np.add.at(out, (_bin(s.x, x_edges), _bin(s.y, y_edges)), self.tail_w)
        return out


def _bin(v: np.ndarray, edges) -> np.ndarray:
    """Index of the interval holding each v; the outermost intervals are open."""
    return np.clip(np.searchsorted(np.asarray(edges)[1:-1], v, side="right"), 0, len(edges) - 2)


def _spread(at: np.ndarray, centres: np.ndarray, widths: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Density at ``at`` (sorted) of point masses spread uniformly over [centre ± width/2]."""
    if centres.size == 0:
        return np.zeros(at.size)
    lo = np.searchsorted(at, centres - 0.5 * widths)
    hi = np.searchsorted(at, centres + 0.5 * widths)
    diff = np.zeros(at.size + 1)
    np.add.at(diff, lo, mass / widths)
    np.add.at(diff, hi, -mass / widths)
    return np.cumsum(diff)[:-1]


def log_box_mass_exact(ref: ConditionalReference) -> float:
    """ln of the unnormalised mass in the box, exactly: ln Z + ln P(box)."""
    return ref.log_z + math.log(ref.mass_in_box) if ref.mass_in_box > 0 else -math.inf
