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
coarse cells as the truth, so q = p gives exactly 0.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from arviz_stats.base import array_stats

from vi_core.families import GaussianQ, GridProductQ
from vi_core.grid import Grid
from vi_core.targets import Target

__all__ = [
    "Decomposition",
    "Yardstick",
    "decomposition",
    "elbo",
    "gaussian_elbos",
    "moment_errors",
    "pareto_khat",
    "verdict",
]

_U_HALF = 7.0  # q-centred quadrature covers +-7 sd of q
_U_N = 81


class Decomposition(NamedTuple):
    """ln p(X) = ELBO + KL, all three in nats."""

    log_evidence: float
    elbo: float
    kl: float


def gaussian_elbos(target: Target, locs: np.ndarray, chols: np.ndarray, n: int = _U_N) -> np.ndarray:
    """Exact ELBOs of Gaussian q's: locs (T, 2), chols (T, 2, 2) -> (T,)."""
    locs = np.asarray(locs, dtype=float).reshape(-1, 2)
    chols = np.asarray(chols, dtype=float).reshape(-1, 2, 2)
    u = np.linspace(-_U_HALF, _U_HALF, n)
    w1 = np.exp(-0.5 * u * u)
    w1 /= w1.sum()
    u1, u2 = np.meshgrid(u, u, indexing="ij")
    z1 = locs[:, 0, None, None] + chols[:, 0, 0, None, None] * u1
    z2 = locs[:, 1, None, None] + chols[:, 1, 0, None, None] * u1 + chols[:, 1, 1, None, None] * u2
    with np.errstate(all="ignore"):
        logp = target.log_density(np.stack([z1, z2], axis=-1))
        energy = np.einsum("tij,i,j->t", logp, w1, w1)
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
    """(|mean - true mean|_2, |cov - true cov|_F)."""
    return (
        float(np.linalg.norm(np.asarray(mean) - grid.mean)),
        float(np.linalg.norm(np.asarray(cov) - grid.cov)),
    )


class Yardstick:
    """MMD to the exact posterior for q's (cell weights) and sample sets, on coarse cells.

    ``coarse`` (default 50): cells per side after summing blocks of the grid's cells.
    """

    def __init__(self, grid: Grid, coarse: int = 50):
        n = grid.xs.size
        self.block = max(1, n // coarse)
        self.grid = grid
        m = n // self.block
        self._m = m
        self.cx = grid.xs[: m * self.block].reshape(m, self.block).mean(axis=1)
        self.cy = grid.ys[: m * self.block].reshape(m, self.block).mean(axis=1)
        sd = np.sqrt(np.maximum(np.diag(grid.cov), 1e-12))
        self.bandwidth = sd
        self.kx = np.exp(-0.5 * ((self.cx[:, None] - self.cx[None, :]) / sd[0]) ** 2)
        self.ky = np.exp(-0.5 * ((self.cy[:, None] - self.cy[None, :]) / sd[1]) ** 2)
        self.p = self._coarsen(grid.weights)
        self.kp = self.kx @ self.p @ self.ky
        self.epp = float((self.p * self.kp).sum())

    def _coarsen(self, w: np.ndarray) -> np.ndarray:
        b, m = self.block, self._m
        return w[: m * b, : m * b].reshape(m, b, m, b).sum(axis=(1, 3))

    def mmd_weights(self, w: np.ndarray) -> float:
        """MMD between the truth and a distribution given by grid-cell weights (nx, ny)."""
        q = self._coarsen(w / w.sum())
        eqq = float((q * (self.kx @ q @ self.ky)).sum())
        epq = float((q * self.kp).sum())
        return math.sqrt(max(self.epp - 2 * epq + eqq, 0.0))

    def mmd_q(self, q: GaussianQ | GridProductQ) -> float:
        return self.mmd_weights(q.cell_weights(self.grid))

    def mmd_samples(self, samples: np.ndarray) -> float:
        """Unbiased MMD (U-statistic, clipped at 0) between the truth and samples (n, 2)."""
        samples = np.asarray(samples, dtype=float).reshape(-1, 2)
        n = samples.shape[0]
        if n < 2:
            return float("nan")
        b = self.block
        x0, y0 = self.grid.box[0], self.grid.box[2]
        i = np.clip(((samples[:, 0] - x0) / (self.grid.dx * b)).astype(int), 0, self._m - 1)
        j = np.clip(((samples[:, 1] - y0) / (self.grid.dy * b)).astype(int), 0, self._m - 1)
        counts = np.bincount(i * self._m + j, minlength=self._m**2).reshape(self._m, self._m)
        s = counts / n
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
        return float(array_stats.psislw(-log_w, r_eff=1.0)[1])


def verdict(khat: float) -> str:
    """Plain-language reading of Pareto k-hat for a VI fit."""
    if not math.isfinite(khat):
        return "k̂ could not be computed."
    if khat < 0.5:
        return "Good: q covers the posterior well; importance sampling from q would be reliable."
    if khat < 0.7:
        return "Usable: q is a little too narrow somewhere; estimates from q are somewhat biased."
    return "Don't trust this q: it misses mass the posterior has (too narrow or in the wrong place)."
