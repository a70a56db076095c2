"""The best Gaussian q under each direction of the KL, on the quadrature grid.

* Forward, KL(p || q) = E_p[ln p - ln q] (mass-covering). Over Gaussians its minimiser is
  moment matching: -E_p[ln N(z; m, S)] = ½ ln det(2π S) + ½ tr(S⁻¹ (Σ_p + (μ_p - m)(μ_p - m)ᵀ))
  is smallest at m = μ_p, S = Σ_p; restricted to diagonal S, at S = diag Σ_p. Both
  moments and the KL come from the grid (``forward_kl``: Σ_cells p ln(p / q)).
* Reverse, KL(q || p) = ln p(X) - ELBO(q) (mode-seeking). No closed form: ``reverse_kl_fit``
  maximises the exact ELBO (vi_core.families.gaussian_elbos, quadrature centred on q) with
  BFGS over theta = (m1, m2, ln L11, ln L22[, L21]), as vi_core.gaussvi parameterises q,
  with the exact gradient of the quadrature (reparameterised, no Monte Carlo). Deterministic,
  so the same grid gives the same fit. The ELBO can have several local optima (a mode, a lobe,
  a stretch of a ridge): ``best_reverse_kl_fit`` climbs from several starts, keeps the best
  and counts the distinct optima -- the family's best member, against which a VI run's
  optimisation gap is measured.

Both KLs are reported for both fits so the page can show each fit winning its own game.
"""

from __future__ import annotations

import math
import threading
import warnings
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize

from vi_core.cavi import start_point
from vi_core.families import _U_HALF, _U_N, GaussianQ, GridProductQ, gaussian_elbos
from vi_core.gaussvi import to_q
from vi_core.grid import Grid
from vi_core.metrics import decomposition

__all__ = [
    "ElboTerms",
    "FitSummary",
    "GaussianOptima",
    "best_reverse_kl_fit",
    "elbo_terms",
    "fit_starts",
    "forward_kl",
    "forward_kl_fit",
    "local_reverse_kl_fit",
    "mc_elbo",
    "reverse_kl",
    "reverse_kl_fit",
    "summarise",
]


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


def _elbo_and_grad(target, full_rank: bool, n: int):
    """theta -> (-ELBO, -dELBO/dtheta) by the q-centred quadrature of vi_core.families.gaussian_elbos.

    The nodes z = m + L u are fixed in u, so the gradient of the quadrature sum is the same sum
    over grad ln p~ (the reparameterisation gradient, with no Monte Carlo): one density and one
    gradient evaluation per call, where finite differences need 2k + 1 densities.
    """
    u = np.linspace(-_U_HALF, _U_HALF, n)
    w = np.exp(-0.5 * u * u)
    w /= w.sum()
    u1, u2 = np.meshgrid(u, u, indexing="ij")
    ww = np.outer(w, w)
    wu1, wu2 = ww * u1, ww * u2
    const = math.log(2 * math.pi) + 1.0
    k = 5 if full_rank else 4

    def f(theta):
        l11, l22 = math.exp(theta[2]), math.exp(theta[3])
        l21 = theta[4] if full_rank else 0.0
        z = np.empty((n, n, 2))
        z[..., 0] = theta[0] + l11 * u1
        z[..., 1] = theta[1] + l21 * u1 + l22 * u2
        with np.errstate(all="ignore"):
            logp = target.log_density(z)
            g = target.grad_log_density(z)
            elbo = float(np.sum(ww * logp)) + const + theta[2] + theta[3]
            grad = np.empty(k)
            grad[0], grad[1] = np.sum(ww * g[..., 0]), np.sum(ww * g[..., 1])
            grad[2] = l11 * np.sum(wu1 * g[..., 0]) + 1.0
            grad[3] = l22 * np.sum(wu2 * g[..., 1]) + 1.0
            if full_rank:
                grad[4] = np.sum(wu1 * g[..., 1])
        if not (math.isfinite(elbo) and np.isfinite(grad).all()):  # q strayed where p~ = 0: back off
            return np.inf, np.zeros(k)
        return -elbo, -grad

    return f


def _theta(m: np.ndarray, chol: np.ndarray, full_rank: bool) -> np.ndarray:
    return np.array([m[0], m[1], math.log(chol[0, 0]), math.log(chol[1, 1])] + ([chol[1, 0]] if full_rank else []))


def _bounds(box, full_rank: bool) -> list:
    # ln sd bounded to [1e-3, 1] x the box: keeps q's quadrature nodes meaningful and the search finite.
    x0, x1, y0, y1 = box
    span = max(x1 - x0, y1 - y0)
    ln_sd = (math.log(1e-3 * span), math.log(span))
    return [(None, None)] * 2 + [ln_sd] * 2 + [(None, None)] * int(full_rank)


def _maximise(f, theta0: np.ndarray, bounds, gtol: float) -> tuple[np.ndarray, float]:
    """Minimise f (-ELBO and its gradient) from theta0 by BFGS; returns (theta, ELBO).

    The bounds act as a wall (f = +inf beyond them: the line search backs off). Not L-BFGS-B:
    its compiled core hands 5-vectors to the threaded linear-algebra library, which on a busy
    machine waits milliseconds for threads at every iteration (measured: 10x slower under load).
    """
    lo = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
    hi = np.array([b[1] if b[1] is not None else np.inf for b in bounds])

    def walled(theta):
        if np.any(theta < lo) or np.any(theta > hi):
            return np.inf, np.zeros_like(theta)
        return f(theta)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "precision loss": the line search cannot improve further
        res = minimize(walled, np.clip(theta0, lo, hi), jac=True, method="BFGS", options=dict(maxiter=500, gtol=gtol))
    return res.x, -float(res.fun)


def reverse_kl_fit(grid: Grid, full_rank: bool = True, start: np.ndarray | None = None) -> GaussianQ:
    """argmax over Gaussians of the exact ELBO = argmin KL(q || p), from one start.

    start (2,): the initial mean; default ``vi_core.cavi.start_point(grid.box)``, off-centre
    on purpose: on a symmetric mixture a start at the centre sits on a saddle between the
    modes (the gradient in m vanishes there by symmetry) while an off-centre start rolls
    into the nearer mode, the fit reverse KL is known for. Initial sds: 1/8 of the box.
    The optimum found is the local one downhill of the start; ``best_reverse_kl_fit`` tries
    several starts.
    """
    x0, x1, y0, y1 = grid.box
    m0 = start_point(grid.box) if start is None else np.asarray(start, dtype=float)
    if m0.shape != (2,) or not np.isfinite(m0).all():
        raise ValueError(f"start must be a finite mean of shape (2,), got {start!r}")
    sd0 = min(x1 - x0, y1 - y0) / 8.0
    f = _elbo_and_grad(grid.target, full_rank, _U_N)
    theta, _ = _maximise(f, _theta(m0, sd0 * np.eye(2), full_rank), _bounds(grid.box, full_rank), gtol=1e-9)
    return to_q(theta)


class GaussianOptima(NamedTuple):
    """The best member of a Gaussian family found from several starts.

    q: the best Gaussian; elbo, kl: its exact ELBO and KL(q || p) in nats; n_optima: how many
    distinct local optima the starts reached (1: every start agreed); optima: those optima,
    best first, and elbos (n_optima,) their ELBOs.
    """

    q: GaussianQ
    elbo: float
    kl: float
    n_optima: int
    optima: tuple[GaussianQ, ...]
    elbos: np.ndarray


# Two optima are one when their ELBOs agree within _SAME_ELBO nats and their means within
# _SAME_MEAN sds of q (in q's own metric). Coarse-grid optima of one basin agree far closer.
_SAME_ELBO = 1e-3
_SAME_MEAN = 0.2
_SADDLE_CURVATURE = 1e-3  # nats per sd²: below minus this, a stationary point is a saddle
_SEARCH_N = 41  # quadrature nodes per axis while searching; the best is polished on _U_N


def fit_starts(grid: Grid, full_rank: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (mean (2,), chol (2, 2)) starts ``best_reverse_kl_fit`` tries, the shared off-centre start first.

    The off-centre start with sds 1/8 of the box (where Gaussian VI starts); the posterior's
    mean and covariance (the forward-KL fit, diagonal for mean-field); its mode with sds 1/16
    of the box; and four starts spread over the box at 1/4 and 3/4 of each side.
    """
    x0, x1, y0, y1 = grid.box
    sd0 = min(x1 - x0, y1 - y0) / 8.0
    fwd = forward_kl_fit(grid, full_rank)
    i, j = np.unravel_index(np.argmax(grid.log_p), grid.log_p.shape)
    starts = [(start_point(grid.box), sd0 * np.eye(2)), (fwd.loc, fwd.chol)]
    starts.append((np.array([grid.xs[i], grid.ys[j]]), 0.5 * sd0 * np.eye(2)))
    for a in (0.25, 0.75):
        for b in (0.25, 0.75):
            starts.append((np.array([x0 + a * (x1 - x0), y0 + b * (y1 - y0)]), sd0 * np.eye(2)))
    return starts


def local_reverse_kl_fit(grid: Grid, q: GaussianQ, full_rank: bool = True) -> tuple[GaussianQ, float]:
    """The local optimum uphill of q (BFGS on the exact ELBO from q) and its ELBO.

    For a VI run's last q: how far the run was from the optimum it was heading for.
    """
    chol = q.chol if full_rank else np.diag(np.diag(q.chol))
    f = _elbo_and_grad(grid.target, full_rank, _U_N)
    theta, _ = _maximise(f, _theta(q.loc, chol, full_rank), _bounds(grid.box, full_rank), gtol=1e-9)
    best = to_q(theta)
    return best, float(gaussian_elbos(grid.target, best.loc[None], best.chol[None])[0])


def best_reverse_kl_fit(grid: Grid, full_rank: bool = True, extra_starts: tuple[GaussianQ, ...] = ()) -> GaussianOptima:
    """The best Gaussian under KL(q || p) over several starts (``fit_starts``, then ``extra_starts``),
    and how many distinct optima they reach.

    Each start climbs the exact ELBO with BFGS on a coarser q-centred quadrature; stationary
    points where the ELBO still curves up (saddles) are dropped; the best optimum is then
    polished on the full quadrature (the one vi_core.families.gaussian_elbos scores every q with).
    Deterministic: the same grid gives the same answer.
    """
    bounds = _bounds(grid.box, full_rank)
    coarse = _elbo_and_grad(grid.target, full_rank, _SEARCH_N)
    found = list(_climbs_from_fit_starts(grid, full_rank))
    for q in extra_starts:
        found += _climb(coarse, [(q.loc, q.chol if full_rank else np.diag(np.diag(q.chol)))], bounds, full_rank)
    if not found:
        raise ValueError("no Gaussian q has a finite ELBO from any start: the density is zero where q puts mass")
    found.sort(key=lambda x: -x[0])
    distinct = []
    for e, theta in found:
        if not any(_same_optimum(e, theta, e2, t2) for e2, t2 in distinct):
            distinct.append((e, theta))
    # A start on a symmetry axis (the posterior's mean, on a symmetric mixture) can stop on a saddle
    # between optima: a stationary point, not an optimum. Keep only points where the ELBO curves down.
    distinct = [d for d in distinct if not _is_saddle(coarse, d[1])] or distinct[:1]
    theta, _ = _maximise(_elbo_and_grad(grid.target, full_rank, _U_N), distinct[0][1], bounds, gtol=1e-9)
    q = to_q(theta)
    best = float(gaussian_elbos(grid.target, q.loc[None], q.chol[None])[0])
    optima = (q, *(to_q(t) for _, t in distinct[1:]))
    elbos = np.array([best] + [e for e, _ in distinct[1:]])
    return GaussianOptima(q, best, grid.log_z - best, len(distinct), optima, elbos)


def _climb(coarse, starts, bounds, full_rank: bool) -> list[tuple[float, np.ndarray]]:
    """(ELBO, theta) of the coarse-quadrature optimum uphill of each start, those with a finite ELBO."""
    found = []
    for m, chol in starts:
        theta, e = _maximise(coarse, _theta(m, chol, full_rank), bounds, gtol=1e-7)
        if math.isfinite(e):
            found.append((e, theta))
    return found


# The climbs from fit_starts depend only on the grid (its target, box and nodes): a VI run's family optimum is
# sought again with every run on the same grid (new steps, seed or learning rate), and these seven climbs are
# ~3/4 of that search. Kept per process for the most recently used grids; entries are small (a few 5-vectors).
_CLIMBS: dict[tuple, tuple[tuple[float, np.ndarray], ...]] = {}
_CLIMBS_MAX = 64
_CLIMBS_LOCK = threading.Lock()  # a threaded server's sessions may search at once: evicting must not race


def _climbs_from_fit_starts(grid: Grid, full_rank: bool) -> tuple[tuple[float, np.ndarray], ...]:
    key = (grid.target, grid.box, grid.xs.size, grid.ys.size, full_rank)
    try:
        hash(key)
    except TypeError:  # a target that cannot be hashed is searched every time
        key = None
    if key is not None:
        with _CLIMBS_LOCK:
            cached = _CLIMBS.pop(key, None)
            if cached is not None:
                _CLIMBS[key] = cached  # the most recently used last: eviction takes the least recently used
                return cached
    coarse = _elbo_and_grad(grid.target, full_rank, _SEARCH_N)
    found = tuple(_climb(coarse, fit_starts(grid, full_rank), _bounds(grid.box, full_rank), full_rank))
    for _, theta in found:
        theta.setflags(write=False)  # shared by later calls: nobody may change it
    if key is not None:
        with _CLIMBS_LOCK:
            while len(_CLIMBS) >= _CLIMBS_MAX:
                _CLIMBS.pop(next(iter(_CLIMBS)))  # the oldest
            _CLIMBS[key] = found
    return found


def _is_saddle(f, theta: np.ndarray) -> bool:
    """Does the ELBO curve up along some direction at theta? The Hessian by central differences
    of the exact gradient, in units of q's sds (a curvature is then in nats per sd²)."""
    k = theta.size
    scale = np.ones(k)
    scale[:2] = np.exp(theta[2:4])
    if k == 5:
        scale[4] = math.exp(theta[3])
    h = 1e-4
    hess = np.empty((k, k))
    for i in range(k):
        step = np.zeros(k)
        step[i] = h * scale[i]
        hess[i] = (f(theta + step)[1] - f(theta - step)[1]) / (2 * h) * scale
    if not np.isfinite(hess).all():
        return False
    return bool(np.linalg.eigvalsh(0.5 * (hess + hess.T)).min() < -_SADDLE_CURVATURE)


def _same_optimum(e1: float, t1: np.ndarray, e2: float, t2: np.ndarray) -> bool:
    if abs(e1 - e2) > _SAME_ELBO:
        return False
    q = to_q(t2)
    d = np.linalg.solve(q.chol, t1[:2] - t2[:2])
    return float(np.linalg.norm(d)) < _SAME_MEAN


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
