"""Scaling's model: the two-parameter logistic-regression posterior and its exact reference at any N.

The posterior p(alpha, beta | data) of ``y ~ Bernoulli(sigmoid(alpha + beta x))`` is 2D at every N, so an exact
reference (``reference``: Newton + Laplace, then a grid) exists at every N, while each method's cost grows with N:
every full-data log density or gradient touches all N rows. ``LogisticReference`` is this model's own summary (mean,
covariance, correlation, ln p(y | x), how it was computed); it is not vi_core.reference.Reference, which scores the
app's 2D targets on a box (mass outside the box, an error estimate of ln Z) and has none of these fields.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import NamedTuple

import numpy as np
from scipy.special import expit, logsumexp

from vi_core.scaling.data import LogisticData
from vi_core.targets import Target

__all__ = [
    "LOGISTIC_PRIOR_SD",
    "LogisticPosterior",
    "LogisticReference",
    "design_t",
    "eta_rows",
    "reference",
    "softplus",
]

# N(0, 5^2) on intercept and slope: weakly informative for a logistic regression on a covariate of unit scale
# (a slope of 5 per unit of x already moves the probability from 0.5 to 0.99 over one unit), so at every N of
# interest the data dominate; and it makes the posterior proper even at tiny N or with separable data.
LOGISTIC_PRIOR_SD = 5.0

_CHUNK = 2_000_000  # floats in one (points x rows) block: a few such temporaries stay well under ~8M floats


def eta_rows(z: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """The linear predictor alpha + beta x of every row at every point: z (K, 2), dt (2, R) the rows' design
    transposed (a row of ones over a row of x) -> (K, R).

    The one place where the methods' likelihood and gradient evaluations meet the data rows: K x R of them are
    "rows touched" (tests/vi_core/test_scaling_rows.py tallies them here, independently of each method's count)."""
    return z @ dt


def design_t(x: np.ndarray) -> np.ndarray:
    """The design transposed, (2, R): a row of ones over x (C-contiguous: each row one run of memory)."""
    out = np.empty((2, x.size))
    out[0] = 1.0
    out[1] = x
    return out


def softplus(eta: np.ndarray) -> np.ndarray:
    """ln(1 + e^eta), stable for any eta (faster than np.logaddexp)."""
    return np.maximum(eta, 0.0) + np.log1p(np.exp(-np.abs(eta)))


def _loglik_blocks(z: np.ndarray, dt: np.ndarray, s: np.ndarray, c: np.ndarray | None, value: bool, grad: bool):
    """Sum over rows of s*eta - c*softplus(eta), eta = a + b x, for K points z (K, 2); rows (dt (2, R) the design
    transposed, s, c) may be raw (s = y, c = None: weight 1) or distinct values with counts. -> (ll (K,) or None,
    grad (K, 2) or None): the value and the gradient in the same pass over the rows when both are asked for. Blocks
    of points x rows hold at most _CHUNK floats."""
    k, n = z.shape[0], dt.shape[1]
    ll = np.zeros(k) if value else None
    g = np.zeros((k, 2)) if grad else None
    pts = max(1, min(k, _CHUNK // max(n, 1)))
    rows = max(1, min(n, _CHUNK // pts))
    for p0 in range(0, k, pts):
        zp = z[p0 : p0 + pts]
        for r0 in range(0, n, rows):
            dr, sr = dt[:, r0 : r0 + rows], s[r0 : r0 + rows]
            cr = None if c is None else c[r0 : r0 + rows]
            eta = eta_rows(zp, dr)
            if value:
                sp = softplus(eta)
                ll[p0 : p0 + pts] += eta @ sr - (sp.sum(1) if cr is None else sp @ cr)
            if grad:
                resid = sr - (expit(eta) if cr is None else expit(eta) * cr)  # d/deta of each row's term
                g[p0 : p0 + pts] += resid @ dr.T
    return ll, g


@dataclasses.dataclass(frozen=True, eq=False)
class LogisticPosterior(Target):
    """p(alpha, beta | data) ∝ prod_i Bernoulli(y_i; sigmoid(alpha + beta x_i)) N(alpha; 0, 5^2) N(beta; 0, 5^2).

    ``log_density`` includes the prior's normalising constant, so the reference's log_z is ln p(y | x). Every
    full-data evaluation touches all N raw rows, in blocks of at most 2M floats (memory bounded at any N)."""

    name = "logistic"
    description = "two-parameter logistic regression posterior (scaling page)"
    labels = ("α (intercept)", "β (slope)")
    same_units = False
    data: LogisticData = None  # type: ignore[assignment]

    def __post_init__(self):
        if self.data is None:
            raise ValueError("LogisticPosterior needs data (vi_core.scaling.dataset)")

    @property
    def n(self) -> int:
        return int(self.data.x.size)

    @property
    def box(self) -> tuple[float, float, float, float]:
        ref = reference(self)
        sd = np.sqrt(np.diag(ref.cov))
        return (ref.mean[0] - 6 * sd[0], ref.mean[0] + 6 * sd[0], ref.mean[1] - 6 * sd[1], ref.mean[1] + 6 * sd[1])

    @functools.cached_property
    def design_t(self) -> np.ndarray:
        """(2, N): a row of ones over the raw x, the rows every full-data evaluation reads."""
        return design_t(self.data.x)

    @functools.cached_property
    def distinct(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distinct x, sum of y at each, count of each): the likelihood depends on the data only through these."""
        xu, inv = np.unique(self.data.x, return_inverse=True)
        return xu, np.bincount(inv, weights=self.data.y, minlength=xu.size), np.bincount(inv, minlength=xu.size)

    @staticmethod
    def _log_prior(a, b):
        v = LOGISTIC_PRIOR_SD**2
        return -0.5 * (a * a + b * b) / v - math.log(2 * math.pi * v)

    def log_density(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        flat = z.reshape(-1, 2)
        ll, _ = _loglik_blocks(flat, self.design_t, self.data.y, None, value=True, grad=False)
        return (ll + self._log_prior(flat[:, 0], flat[:, 1])).reshape(z.shape[:-1])

    def log_density_distinct(self, z: np.ndarray) -> np.ndarray:
        """The same log density, summed over the distinct x (exact, not an approximation): for the reference."""
        z = np.asarray(z, dtype=float)
        flat = z.reshape(-1, 2)
        xu, s, c = self.distinct
        ll, _ = _loglik_blocks(flat, design_t(xu), s, c.astype(float), value=True, grad=False)
        return (ll + self._log_prior(flat[:, 0], flat[:, 1])).reshape(z.shape[:-1])

    def grad_log_density(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        flat = z.reshape(-1, 2)
        _, g = _loglik_blocks(flat, self.design_t, self.data.y, None, value=False, grad=True)
        return (g - flat / LOGISTIC_PRIOR_SD**2).reshape(z.shape)

    def value_and_grad(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log_density and grad_log_density of z (K, 2) in one pass over the rows: ((K,), (K, 2))."""
        flat = np.asarray(z, dtype=float).reshape(-1, 2)
        ll, g = _loglik_blocks(flat, self.design_t, self.data.y, None, value=True, grad=True)
        return ll + self._log_prior(flat[:, 0], flat[:, 1]), g - flat / LOGISTIC_PRIOR_SD**2

    def minibatch_grad(self, z: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """z (K, 2), idx (B,) row indices -> (K, 2): prior gradient + (N/B) * the batch's likelihood gradient.
        Unbiased for grad_log_density when idx is a uniform random subset (with or without replacement)."""
        z = np.asarray(z, dtype=float).reshape(-1, 2)
        dt, yb = self.design_t[:, idx], self.data.y[idx]
        resid = yb[None, :] - expit(eta_rows(z, dt))
        return (self.n / len(idx)) * (resid @ dt.T) - z / LOGISTIC_PRIOR_SD**2


class LogisticReference(NamedTuple):
    """The exact posterior's mean (2,), covariance (2, 2), correlation, ln p(y | x); grid_n points per axis;
    seconds it took; method in words."""

    mean: np.ndarray
    cov: np.ndarray
    corr: float
    log_z: float
    grid_n: int
    seconds: float
    method: str


def _newton(post: LogisticPosterior, max_iter: int = 100):
    """The posterior mode and the Hessian of -ln p there, over the distinct x (damped Newton from (0, 0))."""
    xu, s, c = post.distinct
    c = c.astype(float)
    v = LOGISTIC_PRIOR_SD**2
    z = np.zeros(2)

    def parts(z):
        eta = z[0] + z[1] * xu
        p = expit(eta)
        f = float(eta @ s - np.logaddexp(0.0, eta) @ c) - 0.5 * (z @ z) / v
        r = s - c * p
        g = np.array([r.sum(), r @ xu]) - z / v
        w = c * p * (1 - p)
        h = np.array([[w.sum(), w @ xu], [w @ xu, w @ (xu * xu)]]) + np.eye(2) / v
        return f, g, h

    f, g, h = parts(z)
    for _ in range(max_iter):
        dz = np.linalg.solve(h, g)
        t = 1.0
        while t > 1e-10:
            f_new, g_new, h_new = parts(z + t * dz)
            if f_new >= f - 1e-12 * abs(f):
                break
            t /= 2
        z, f, g, h = z + t * dz, f_new, g_new, h_new
        if np.max(np.abs(dz) * np.sqrt(np.diag(np.linalg.inv(h)))) < 1e-10 or t <= 1e-10:
            break
    return z, h


def reference(post: LogisticPosterior, grid_n: int = 121, half_width: float = 8.0) -> LogisticReference:
    """The exact posterior moments and evidence at any N.

    Newton's method finds the mode and the Hessian (Laplace covariance); a grid_n x grid_n grid on a box of
    ±half_width Laplace sds in the Laplace covariance's eigen-coordinates then integrates the exact density (the
    box widens by 1.5x while its edge holds more than e^-25 of the peak). At 0.1 Laplace sd spacing the sum is
    accurate far beyond the benchmark's needs (the integrand is smooth and negligible at the edge).

    Cost: the log-likelihood depends on the data only through the distinct (x, y) values and their counts, so each
    grid point costs O(distinct x), exactly (no approximation): synthetic x is on a 1e-3 lattice, so at N = 1e6
    there are 7240 distinct x -> 121^2 x 7240 ~ 1.1e8 terms: measured 3-4 s on one core of a 2-core VM (N = 1e4,
    3753 distinct: ~2 s; arsenic, 3020 distinct: ~1.5 s; N = 100: ~0.1 s), plus O(N) once for np.unique. The methods
    always evaluate the raw N rows.
    """
    t0 = time.perf_counter()
    mode, h = _newton(post)
    cov_l = np.linalg.inv(h)
    lam, vec = np.linalg.eigh(cov_l)
    basis = vec * np.sqrt(lam)  # z = mode + basis @ u, u ~ N(0, I) under Laplace
    w = half_width
    for _ in range(4):
        u = np.linspace(-w, w, grid_n)
        uu = np.stack(np.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 2)
        z = mode + uu @ basis.T
        lp = post.log_density_distinct(z)
        top = float(lp.max())
        edge = lp.reshape(grid_n, grid_n)
        edge_max = max(edge[0].max(), edge[-1].max(), edge[:, 0].max(), edge[:, -1].max())
        if edge_max < top - 25 or w > 40:
            break
        w *= 1.5
    wts = np.exp(lp - top)
    total = wts.sum()
    mean = wts @ z / total
    d = z - mean
    cov = (d * wts[:, None]).T @ d / total
    cell = (2 * w / (grid_n - 1)) ** 2 * float(np.sqrt(np.prod(lam)))
    log_z = float(logsumexp(lp) + math.log(cell))
    corr = float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]))
    n_distinct = post.distinct[0].size
    method = (
        f"Newton mode + Laplace covariance, then a {grid_n}x{grid_n} grid on ±{w:g} Laplace sd in its "
        f"eigen-coordinates, exact log density over {n_distinct} distinct x values"
    )
    return LogisticReference(mean, cov, corr, log_z, grid_n, time.perf_counter() - t0, method)
