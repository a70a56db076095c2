"""The best Gaussian q under each direction of the KL, on the quadrature grid.

* Forward, KL(p || q) = E_p[ln p - ln q] (mass-covering). Over Gaussians its minimiser is
  moment matching: -E_p[ln N(z; m, S)] = ½ ln det(2π S) + ½ tr(S⁻¹ (Σ_p + (μ_p - m)(μ_p - m)ᵀ))
  is smallest at m = μ_p, S = Σ_p; restricted to diagonal S, at S = diag Σ_p. Both
  moments and the KL come from the grid (``forward_kl``: Σ_cells p ln(p / q)).
* Reverse, KL(q || p) = ln p(X) - ELBO(q) (mode-seeking). No closed form: ``reverse_kl_fit``
  maximises the exact ELBO (vi_core.metrics.gaussian_elbos, quadrature centred on q) with
  L-BFGS over theta = (m1, m2, ln L11, ln L22[, L21]), as vi_core.gaussvi parameterises q.
  Deterministic (no Monte Carlo), so the same grid gives the same fit.

Both KLs are reported for both fits so the page can show each fit winning its own game.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from vi_core.cavi import start_point
from vi_core.families import GaussianQ, GridProductQ
from vi_core.gaussvi import to_q
from vi_core.grid import Grid
from vi_core.metrics import decomposition, gaussian_elbos

__all__ = [
    "ElboTerms",
    "FitSummary",
    "elbo_terms",
    "forward_kl",
    "forward_kl_fit",
    "mc_elbo",
    "reverse_kl",
    "reverse_kl_fit",
    "summarise",
]

_FD_STEP = 1e-6  # central differences on a smooth deterministic objective: error ~ h², rounding ~ 1e-16 / h


def forward_kl_fit(grid: Grid, full_rank: bool = True) -> GaussianQ:
    """argmin over Gaussians of KL(p || q): q = N(grid mean, grid cov) (diagonal cov if not full_rank)."""
    cov = grid.cov if full_rank else np.diag(np.diag(grid.cov))
    return GaussianQ(grid.mean, np.linalg.cholesky(cov))


def forward_kl(grid: Grid, q: GaussianQ) -> float:
    """KL(p || q) = Σ_cells w ln(p / q): p the grid's normalised density, q's density at the cell centres.

    The midpoint rule on the same cells as ln p(X); cells where p vanishes contribute 0.
    """
    w = grid.weights
    pos = w > 0
    ln_p = np.log(w[pos] / (grid.dx * grid.dy))
    ln_q = q.log_prob(grid.points)[pos]
    return float(np.sum(w[pos] * (ln_p - ln_q)))


def reverse_kl(grid: Grid, q: GaussianQ | GridProductQ) -> float:
    """KL(q || p(z|X)) = ln p(X) - ELBO(q), both exact (vi_core.metrics.decomposition)."""
    return decomposition(grid, q).kl


def reverse_kl_fit(grid: Grid, full_rank: bool = True, start: np.ndarray | None = None) -> GaussianQ:
    """argmax over Gaussians of the exact ELBO = argmin KL(q || p).

    start (2,): the initial mean; default ``vi_core.cavi.start_point(grid.box)``, off-centre
    on purpose: on a symmetric mixture a start at the centre sits on a saddle between the
    modes (the gradient in m vanishes there by symmetry) while an off-centre start rolls
    into the nearer mode, the fit reverse KL is known for. Initial sds: 1/8 of the box.
    """
    x0, x1, y0, y1 = grid.box
    m0 = start_point(grid.box) if start is None else np.asarray(start, dtype=float)
    if m0.shape != (2,) or not np.isfinite(m0).all():
        raise ValueError(f"start must be a finite mean of shape (2,), got {start!r}")
    sd0 = min(x1 - x0, y1 - y0) / 8.0
    theta0 = np.array([m0[0], m0[1], np.log(sd0), np.log(sd0)] + ([0.0] if full_rank else []))
    k = theta0.size
    steps = np.vstack([np.zeros(k), _FD_STEP * np.eye(k), -_FD_STEP * np.eye(k)])

    def neg_elbo_and_grad(theta):
        # One batched quadrature call for the value and all 2k central differences.
        thetas = theta + steps
        locs = thetas[:, :2]
        chols = np.zeros((thetas.shape[0], 2, 2))
        chols[:, 0, 0], chols[:, 1, 1] = np.exp(thetas[:, 2]), np.exp(thetas[:, 3])
        if full_rank:
            chols[:, 1, 0] = thetas[:, 4]
        f = -gaussian_elbos(grid.target, locs, chols)
        if not np.isfinite(f).all():  # q strayed where p~ = 0: tell the line search to back off
            return np.inf, np.zeros(k)
        return f[0], (f[1 : k + 1] - f[k + 1 :]) / (2 * _FD_STEP)

    # ln sd bounded to [1e-3, 1] x the box: keeps q's quadrature nodes meaningful and the search finite.
    span = max(x1 - x0, y1 - y0)
    bounds = [(None, None)] * 2 + [(np.log(1e-3 * span), np.log(span))] * 2 + [(None, None)] * (k - 4)
    res = minimize(
        neg_elbo_and_grad, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options=dict(maxiter=500, gtol=1e-9)
    )
    return to_q(res.x)


class FitSummary(NamedTuple):
    """One Gaussian q against the grid's posterior: mean (2,), sd (2,), corr, and both KLs in nats."""

    mean: np.ndarray
    sd: np.ndarray
    corr: float
    kl_qp: float  # KL(q || p), reverse
    kl_pq: float  # KL(p || q), forward


def summarise(grid: Grid, q: GaussianQ) -> FitSummary:
    cov = q.cov
    sd = np.sqrt(np.diag(cov))
    return FitSummary(q.mean, sd, float(cov[0, 1] / (sd[0] * sd[1])), reverse_kl(grid, q), forward_kl(grid, q))


class ElboTerms(NamedTuple):
    """ln p(X) = ELBO + KL, term by term, in nats: ELBO = energy + entropy."""

    log_evidence: float  # ln p(X) by quadrature on the grid
    energy: float  # E_q[ln p(X, z)]
    entropy: float  # H[q]
    elbo: float
    kl: float  # KL(q || p(z|X)) = ln p(X) - ELBO

    @property
    def residual(self) -> float:
        """ELBO + KL - ln p(X): zero up to rounding."""
        return self.elbo + self.kl - self.log_evidence


def elbo_terms(grid: Grid, q: GaussianQ | GridProductQ) -> ElboTerms:
    """The decomposition (vi_core.metrics.decomposition) with the ELBO split into E_q[ln p~] + H[q]."""
    d = decomposition(grid, q)
    return ElboTerms(d.log_evidence, d.elbo - q.entropy, q.entropy, d.elbo, d.kl)


def mc_elbo(grid: Grid, q: GaussianQ | GridProductQ, seed: int = 0, n: int = 4000) -> tuple[float, float]:
    """An independent Monte Carlo ELBO, mean_k [ln p~(z_k) - ln q(z_k)] over n draws z_k ~ q: (estimate, std error).

    What VI optimises in practice; it should agree with the exact ELBO within a few standard errors.
    """
    z = q.sample(np.random.default_rng(seed), n)
    with np.errstate(all="ignore"):
        r = grid.target.log_density(z) - q.log_prob(z)
    return float(np.mean(r)), float(np.std(r, ddof=1) / np.sqrt(n))
