"""The conjugate worked example's maths: the Normal-Gamma model of Newcomb's data.

* ``closed_form_cavi``: Wikipedia's closed-form mean-field CAVI as an init/step ``Algorithm``
  (run it with ``vi_core.runner.run``); ``stack`` turns its trace into a ``ClosedFormCavi``.
* ``exact_moments`` / ``q_moments``: moments of μ and τ under the exact posterior (μ's marginal is
  Student-t with 2a dof) and under the closed-form q, with ELBO and KL in nats.
* ``log_tau_moments``: mean and sd of ln τ under Gamma(a, b) (polygamma).
* ``q_log_density``: the closed-form q carried to the target's coordinates (μ, s = ln τ).
* ``analyse``: everything the worked example shows for one target: both CAVIs (closed form and
  grid), the exact posterior, and each density on a contour grid.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats
from scipy.special import digamma, gammaln, polygamma

from vi_core.cavi import cavi
from vi_core.grid import make_grid
from vi_core.runner import Algorithm, Trace, run
from vi_core.targets.data import Newcomb, NormalGamma

LOG_2PI = math.log(2.0 * math.pi)

__all__ = [
    "N_ITER",
    "Analysis",
    "CaviInfo",
    "CaviState",
    "ClosedFormCavi",
    "Moments",
    "analyse",
    "closed_form_cavi",
    "exact_moments",
    "log_tau_moments",
    "newcomb_cavi_closed_form",
    "normal_gamma_elbo",
    "q_log_density",
    "q_moments",
    "stack",
]


class ClosedFormCavi(NamedTuple):
    """Closed-form CAVI iterates for q(μ) q(τ) = N(μ; mu_n, 1/lambda_n) Gamma(τ; a_n, b_n).

    Index 0 is the initial q; each later index is one iteration (q(τ), then q(μ)).
    mu_n, lambda_n, a_n, b_n, elbo: (n_iter + 1,). elbo: the exact ELBO of each iterate.
    """

    mu_n: np.ndarray
    lambda_n: np.ndarray
    a_n: np.ndarray
    b_n: np.ndarray
    elbo: np.ndarray


def normal_gamma_elbo(target: Newcomb, mu_n: float, lambda_n: float, a_n: float, b_n: float) -> float:
    """Exact ELBO of q(μ) q(τ) = N(mu_n, 1/lambda_n) Gamma(a_n, b_n) against ``target``.

    The same number in (μ, τ) and in (μ, ln τ): q and p~ carry the same Jacobian.
    """
    n, xbar, ss = target.suff
    e_tau = a_n / b_n
    e_ln_tau = float(digamma(a_n)) - math.log(b_n)
    var_mu = 1.0 / lambda_n
    # E_q(μ)[Σ(x_i - μ)² + λ0(μ - μ0)²]
    e_quad = ss + n * ((xbar - mu_n) ** 2 + var_mu) + target.lambda0 * ((mu_n - target.mu0) ** 2 + var_mu)
    energy = target._const() + (target.a0 + 0.5 * (n + 1) - 1.0) * e_ln_tau - e_tau * (target.b0 + 0.5 * e_quad)
    h_mu = 0.5 * (LOG_2PI + 1.0 - math.log(lambda_n))
    h_tau = a_n - math.log(b_n) + float(gammaln(a_n)) + (1.0 - a_n) * float(digamma(a_n))
    return energy + h_mu + h_tau


def newcomb_cavi_closed_form(target: Newcomb, n_iter: int = 10, tau_init: float = 1.0) -> ClosedFormCavi:
    """Closed-form mean-field CAVI for the Normal-Gamma model (Wikipedia's updates): n_iter steps of
    ``closed_form_cavi`` run by ``vi_core.runner.run``, as arrays.

    The initial q has E[τ] = ``tau_init``. Returns the n_iter + 1 iterates with their exact ELBOs.
    """
    if not isinstance(target, Newcomb):
        raise ValueError(f"closed-form CAVI needs a newcomb target, got {type(target).__name__}")
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or not 1 <= n_iter <= 10_000:
        raise ValueError(f"n_iter must be an integer in [1, 10000], got {n_iter!r}")
    algorithm = closed_form_cavi(target, tau_init)  # validates target and tau_init
    return stack(run(algorithm, int(n_iter), seed=0))


N_ITER = 10  # both CAVIs reach their fixed point to 1e-12 within 8 iterations at the defaults
M = 90  # points a side of the contour grid


class CaviState(NamedTuple):
    """q(μ) q(τ) = N(μ; mu_n, 1/lambda_n) Gamma(τ; a_n, rate b_n), all floats; elbo: its exact ELBO."""

    mu_n: float
    lambda_n: float
    a_n: float
    b_n: float
    elbo: float


class CaviInfo(NamedTuple):
    """delta: |change of b_n| in this iteration."""

    delta: float


def _check(target, tau_init) -> None:
    if not isinstance(target, Newcomb):
        raise ValueError(f"closed-form CAVI needs a newcomb target, got {type(target).__name__}")
    if isinstance(tau_init, bool) or not (
        isinstance(tau_init, (int, float, np.integer, np.floating)) and 0 < tau_init < math.inf
    ):
        raise ValueError(f"tau_init must be a finite positive number, got {tau_init!r}")


def closed_form_cavi(target: Newcomb, tau_init: float = 1.0) -> Algorithm:
    """Closed-form mean-field CAVI for the Normal-Gamma model (Wikipedia's updates), as init/step.

    Fixed by the data: mu_n = (λ0 μ0 + N x̄)/(λ0 + N) and a_n = a0 + (N + 1)/2 (Bishop's
    printed a0 + N/2 is not the update for this model). Each step: b_n = b0 + ½ E_μ[Σ(x_i - μ)²
    + λ0(μ - μ0)²], then lambda_n = (λ0 + N) a_n / b_n. The initial q has E[τ] = ``tau_init``
    (default 1: σ = 1, far too small, so the first steps are visible). Deterministic: the rng
    is not used.
    """
    _check(target, tau_init)
    n, xbar, ss = target.suff
    lam0, mu0 = target.lambda0, target.mu0
    mu_n = (lam0 * mu0 + n * xbar) / (lam0 + n)
    a_n = target.a0 + 0.5 * (n + 1)

    def state(lam_n: float, b_n: float) -> CaviState:
        return CaviState(mu_n, lam_n, a_n, b_n, normal_gamma_elbo(target, mu_n, lam_n, a_n, b_n))

    def init(rng: np.random.Generator) -> CaviState:
        return state((lam0 + n) * tau_init, a_n / tau_init)

    def step(rng: np.random.Generator, s: CaviState) -> tuple[CaviState, CaviInfo]:
        b_n = target.b0 + 0.5 * (ss + n * (xbar - mu_n) ** 2 + lam0 * (mu_n - mu0) ** 2 + (n + lam0) / s.lambda_n)
        lam_n = (lam0 + n) * a_n / b_n
        return state(lam_n, b_n), CaviInfo(abs(b_n - s.b_n))

    return Algorithm(init, step)


def stack(trace: Trace) -> ClosedFormCavi:
    """The trace's states as arrays (n_iter + 1,) per field."""
    cols = [np.array(c, dtype=float) for c in zip(*trace.states, strict=True)]
    return ClosedFormCavi(*cols)


class Moments(NamedTuple):
    """One row of the comparison table: moments of μ and τ, ELBO and KL(q ‖ p) in nats."""

    mean_mu: float
    sd_mu: float
    mean_tau: float
    sd_tau: float
    elbo: float
    kl: float


def exact_moments(post: NormalGamma, log_z: float) -> Moments:
    """Moments under the exact posterior: μ's marginal is Student-t with 2a dof (variance
    b / (λ (a - 1)), finite for a > 1); τ's is Gamma(a, b). ELBO = ln p(X), KL = 0."""
    sd_mu = math.sqrt(post.b / (post.lam * (post.a - 1))) if post.a > 1 else math.inf
    return Moments(post.mu, sd_mu, post.a / post.b, math.sqrt(post.a) / post.b, log_z, 0.0)


def q_moments(mu_n: float, lambda_n: float, a_n: float, b_n: float, elbo: float, log_z: float) -> Moments:
    """Moments under q(μ) q(τ) = N(mu_n, 1/lambda_n) Gamma(a_n, b_n); KL = ln p(X) − ELBO."""
    return Moments(mu_n, 1.0 / math.sqrt(lambda_n), a_n / b_n, math.sqrt(a_n) / b_n, elbo, log_z - elbo)


def log_tau_moments(a: float, b: float) -> tuple[float, float]:
    """Mean and sd of ln τ under τ ~ Gamma(a, rate b): ψ(a) − ln b and √ψ'(a)."""
    return float(polygamma(0, a)) - math.log(b), math.sqrt(float(polygamma(1, a)))


def q_log_density(mu: np.ndarray, s: np.ndarray, mu_n: float, lambda_n: float, a_n: float, b_n: float) -> np.ndarray:
    """ln of q(μ) q(τ) carried to (μ, s = ln τ): N(μ; mu_n, 1/lambda_n) Gamma(e^s; a_n, b_n) e^s
    (the Jacobian dτ/ds = e^s). mu, s: broadcastable arrays."""
    return stats.norm.logpdf(mu, mu_n, 1 / math.sqrt(lambda_n)) + stats.gamma.logpdf(np.exp(s), a_n, scale=1 / b_n) + s


class Analysis(NamedTuple):
    """Everything the worked example shows for one target (arrays float64).

    cf: closed-form CAVI, n_iter + 1 iterates; grid_elbo (n_iter + 1,): grid CAVI's ELBO per sweep;
    log_z: exact ln p(X); log_z_grid: ln p(X) by quadrature; post: the exact Normal-Gamma posterior;
    n, xbar, sum_x, sum_x2: the data's statistics; rows: 'closed form', 'grid', 'exact' -> Moments;
    xs (n,), ys (n,): grid axes (μ, ln τ); marg_mu, marg_s (n,): exact marginal densities;
    q_mu, q_s (n,): grid CAVI's factor densities; cx (M,), cy (M,): contour axes;
    lp_exact, lq_cf, lq_grid (M, M): each log density on the contour grid, rows follow cy;
    warnings: the grid's own warnings.
    """

    cf: ClosedFormCavi
    grid_elbo: np.ndarray
    log_z: float
    log_z_grid: float
    post: NormalGamma
    n: int
    xbar: float
    sum_x: float
    sum_x2: float
    rows: dict
    xs: np.ndarray
    ys: np.ndarray
    marg_mu: np.ndarray
    marg_s: np.ndarray
    q_mu: np.ndarray
    q_s: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    lp_exact: np.ndarray
    lq_cf: np.ndarray
    lq_grid: np.ndarray
    warnings: list


def analyse(target: Newcomb, n_iter: int = N_ITER, m: int = M) -> Analysis:
    """Closed-form CAVI, grid CAVI (n_iter sweeps on make_grid(target)) and the exact posterior."""
    cf = stack(run(closed_form_cavi(target), n_iter, seed=0))
    grid = make_grid(target)
    trace = run(cavi(grid), n_iter, seed=0)
    w1, w2 = trace.states[-1].w1, trace.states[-1].w2
    post, log_z = target.posterior, target.log_z_exact
    x = target.data

    tau = np.exp(grid.ys)
    m_mu, m_tau = float(w1 @ grid.xs), float(w2 @ tau)
    g_elbo = trace.states[-1].elbo
    rows = {
        "closed form": q_moments(cf.mu_n[-1], cf.lambda_n[-1], cf.a_n[-1], cf.b_n[-1], cf.elbo[-1], log_z),
        "grid": Moments(
            m_mu,
            math.sqrt(w1 @ (grid.xs - m_mu) ** 2),
            m_tau,
            math.sqrt(w2 @ (tau - m_tau) ** 2),
            g_elbo,
            grid.log_z - g_elbo,
        ),
        "exact": exact_moments(post, log_z),
    }

    # Contours on the exact posterior's ±4.5 sd (μ) and ±5 sd (ln τ): the grid's box holds 1e-10 tails.
    half_mu = 4.5 * rows["exact"].sd_mu
    s_mid, s_sd = log_tau_moments(post.a, post.b)
    cx = np.linspace(post.mu - half_mu, post.mu + half_mu, m)
    cy = np.linspace(s_mid - 5.0 * s_sd, s_mid + 5.0 * s_sd, m)
    mu, s = np.meshgrid(cx, cy, indexing="xy")  # (m, m), rows follow cy as Plotly's z
    lp_exact = target.log_density(np.stack([mu, s], axis=-1))
    lq_cf = q_log_density(mu, s, cf.mu_n[-1], cf.lambda_n[-1], cf.a_n[-1], cf.b_n[-1])
    with np.errstate(divide="ignore"):
        lq_grid = np.log(np.interp(cy, grid.ys, w2 / grid.dy))[:, None] + np.log(np.interp(cx, grid.xs, w1 / grid.dx))
    return Analysis(
        cf=cf,
        grid_elbo=np.array([state.elbo for state in trace.states]),
        log_z=log_z,
        log_z_grid=grid.log_z,
        post=post,
        n=int(x.size),
        xbar=float(x.mean()),
        sum_x=float(x.sum()),
        sum_x2=float(x @ x),
        rows=rows,
        xs=grid.xs,
        ys=grid.ys,
        marg_mu=grid.marginal_x,
        marg_s=grid.marginal_y,
        q_mu=w1 / grid.dx,
        q_s=w2 / grid.dy,
        cx=cx,
        cy=cy,
        lp_exact=lp_exact,
        lq_cf=lq_cf,
        lq_grid=lq_grid,
        warnings=grid.warnings(),
    )
