"""Optimal Gaussian fits under KL(q || p) and KL(p || q), against closed forms."""

import math

import numpy as np
import pytest

from vi_core import fits
from vi_core.cavi import cavi
from vi_core.families import GaussianQ, GridProductQ, gaussian_elbos
from vi_core.fits import (
    _elbo_and_grad,
    best_reverse_kl_fit,
    elbo_terms,
    fit_starts,
    forward_kl,
    forward_kl_fit,
    local_reverse_kl_fit,
    mc_elbo,
    reverse_kl,
    reverse_kl_fit,
    summarise,
)
from vi_core.gaussvi import to_q
from vi_core.grid import make_grid
from vi_core.targets import REGISTRY, make_target

# The registered boxes cut ~1e-5 of a unit Gaussian's mass (|z| > 4.5), which shows up as
# KL(q || p) = -1.3e-5 at the optimum; the known-answer tests use boxes that hold it all.
WIDE = (-7.0, 7.0, -7.0, 7.0)


def _gauss(rho):
    return make_grid(make_target("gaussian", rho=rho), n=300, box=WIDE)


def _half_log_det_kl(rho):
    """KL between N(0, Σ_ρ) and its mean-field fit, in either direction: -½ ln(1 - ρ²)."""
    return -0.5 * math.log(1.0 - rho**2)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9, -0.8])
def test_forward_fit_on_a_gaussian_is_the_gaussian(rho):
    grid = _gauss(rho)
    q = forward_kl_fit(grid)
    assert np.allclose(q.mean, 0.0, atol=1e-9)
    assert np.allclose(q.cov, [[1.0, rho], [rho, 1.0]], atol=1e-8), q.cov
    assert abs(forward_kl(grid, q)) < 1e-8
    assert abs(reverse_kl(grid, q)) < 1e-6


@pytest.mark.parametrize("rho", [0.5, 0.9, -0.8])
def test_reverse_full_rank_fit_recovers_the_gaussian(rho):
    grid = _gauss(rho)
    q = reverse_kl_fit(grid)
    assert np.allclose(q.mean, 0.0, atol=1e-4), q.mean
    assert np.allclose(q.cov, [[1.0, rho], [rho, 1.0]], atol=1e-4), q.cov
    assert 0.0 <= reverse_kl(grid, q) + 1e-9 and reverse_kl(grid, q) < 1e-6


@pytest.mark.parametrize("rho", [0.5, 0.9, -0.8])
def test_mean_field_fits_in_both_directions(rho):
    # Reverse: variances are the conditional ones, 1 - ρ² (too narrow). Forward: the marginal
    # ones, 1 (diagonal moment match). Both KLs equal -½ ln(1 - ρ²):
    # KL(N(0,I(1-ρ²)) || N(0,Σ)) = ½(tr Σ⁻¹(1-ρ²) - 2 + ln det Σ - 2 ln(1-ρ²)) = ½(2 - 2 - ln(1-ρ²)),
    # KL(N(0,Σ) || N(0,I))       = ½(tr Σ - 2 - ln det Σ)                       = -½ ln(1-ρ²).
    grid = _gauss(rho)
    rev = reverse_kl_fit(grid, full_rank=False)
    assert np.allclose(np.diag(rev.cov), 1 - rho**2, atol=1e-4), rev.cov
    assert rev.cov[0, 1] == 0.0
    assert abs(reverse_kl(grid, rev) - _half_log_det_kl(rho)) < 1e-4
    fwd = forward_kl_fit(grid, full_rank=False)
    assert np.allclose(fwd.cov, np.eye(2), atol=1e-8), fwd.cov
    assert abs(forward_kl(grid, fwd) - _half_log_det_kl(rho)) < 1e-4


def test_mixture_reverse_fit_picks_a_mode_forward_fit_covers_both():
    d, s = 2.0, 0.6
    grid = make_grid(make_target("mixture", d=d, s=s))
    rev = summarise(grid, reverse_kl_fit(grid))
    assert abs(abs(rev.mean[0]) - d) < 0.02 and abs(rev.mean[1]) < 1e-4, rev.mean
    assert np.allclose(rev.sd, s, atol=0.01), rev.sd
    # q sits on one of two well-separated equal modes: it sees half the mass, KL = ln 2 (less a sliver).
    assert abs(rev.kl_qp - math.log(2)) < 0.01, rev.kl_qp
    fwd = summarise(grid, forward_kl_fit(grid))
    assert np.allclose(fwd.mean, 0.0, atol=1e-9)
    assert abs(fwd.sd[0] ** 2 - (d * d + s * s)) < 1e-3 and abs(fwd.sd[1] ** 2 - s * s) < 1e-4, fwd.sd
    # Each fit wins its own objective, loses the other.
    assert rev.kl_qp < fwd.kl_qp and fwd.kl_pq < rev.kl_pq
    assert rev.kl_pq > 5.0, "a one-mode q gives the other mode almost no density: KL(p||q) is large"


def test_reverse_fit_mode_follows_the_start():
    grid = make_grid(make_target("mixture"))
    assert reverse_kl_fit(grid, start=np.array([-1.5, 0.5])).mean[0] < -1.9
    assert reverse_kl_fit(grid, start=np.array([1.5, 0.5])).mean[0] > 1.9


def test_banana_forward_fit_matches_its_moments_and_reverse_fit_wins_its_own_kl():
    b, s = 0.25, 2.0
    t = make_target("banana", b=b, s=s)
    # y = b(x² - s²) + N(0,1), x ~ N(0, s²): E = 0, Var x = s², Var y = 1 + 2 b² s⁴, Cov = E[x b(x² - s²)] = 0.
    wide = make_grid(t, n=400, box=(-12.0, 12.0, -6.0, 40.0))
    fwd = forward_kl_fit(wide)
    assert np.allclose(fwd.mean, 0.0, atol=1e-6), fwd.mean
    assert np.allclose(fwd.cov, np.diag([s * s, 1 + 2 * b * b * s**4]), atol=1e-5), fwd.cov
    grid = make_grid(t)
    rev, fwd = summarise(grid, reverse_kl_fit(grid)), summarise(grid, forward_kl_fit(grid))
    assert rev.kl_qp < fwd.kl_qp and fwd.kl_pq < rev.kl_pq
    assert rev.sd[1] < fwd.sd[1], "the reverse fit hides inside the ridge; the forward fit spans the bend"


def test_fits_are_deterministic():
    grid = make_grid(make_target("banana"))
    a, b = reverse_kl_fit(grid), reverse_kl_fit(grid)
    assert np.array_equal(a.loc, b.loc) and np.array_equal(a.chol, b.chol)


def test_forward_kl_is_nonnegative_and_zero_only_at_p():
    grid = _gauss(0.6)
    q = GaussianQ(np.array([0.3, -0.2]), np.array([[1.1, 0.0], [0.2, 0.9]]))
    assert forward_kl(grid, q) > 0.05
    # against the closed form KL(N(0,Σ) || N(m,S))
    S, m = q.cov, q.mean
    Sigma = np.array([[1.0, 0.6], [0.6, 1.0]])
    Si = np.linalg.inv(S)
    exact = 0.5 * (np.trace(Si @ Sigma) + m @ Si @ m - 2 + math.log(np.linalg.det(S) / np.linalg.det(Sigma)))
    assert abs(forward_kl(grid, q) - exact) < 1e-8


def test_elbo_terms_add_up_and_match_monte_carlo():
    grid = make_grid(make_target("banana"))
    q = GaussianQ(np.array([0.5, 0.0]), np.array([[1.5, 0.0], [0.3, 1.2]]))
    t = elbo_terms(grid, q)
    assert abs(t.energy + t.entropy - t.elbo) < 1e-12 and abs(t.residual) < 1e-12
    assert abs(t.entropy - (math.log(2 * math.pi * math.e) + math.log(1.5 * 1.2))) < 1e-12
    est, se = mc_elbo(grid, q, seed=1, n=20_000)
    assert abs(est - t.elbo) < 4 * se, (est, t.elbo, se)
    # CAVI's grid-product q: the same split on the grid.
    algo = cavi(grid)
    state = algo.init(None)
    for _ in range(5):
        state, _ = algo.step(None, state)
    qc = GridProductQ.on(grid, state.w1, state.w2)
    tc = elbo_terms(grid, qc)
    assert abs(tc.elbo - state.elbo) < 1e-10 and abs(tc.residual) < 1e-12 and tc.kl > 0
    est, se = mc_elbo(grid, qc, seed=1, n=20_000)
    assert abs(est - tc.elbo) < 4 * se + 1e-3, (est, tc.elbo, se)


def test_bad_start_is_refused():
    grid = make_grid(make_target("gaussian"), n=50)
    with pytest.raises(ValueError, match="start must be a finite mean of shape"):
        reverse_kl_fit(grid, start=np.array([np.nan, 0.0]))


@pytest.mark.parametrize("rho", [0.5, 0.9, -0.99])
def test_best_fit_on_bishops_gaussian_is_the_known_optimum(rho):
    # Bishop PRML 10.1.2: the best mean-field Gaussian has KL -½ ln(1 - ρ²); the best full-rank one is p itself.
    grid = _gauss(rho)
    mf, fr = best_reverse_kl_fit(grid, full_rank=False), best_reverse_kl_fit(grid, full_rank=True)
    assert abs(mf.kl - _half_log_det_kl(rho)) < 1e-4 and mf.n_optima == 1
    assert abs(fr.kl) < 1e-6 and fr.n_optima == 1
    assert math.isclose(mf.elbo + mf.kl, grid.log_z, abs_tol=1e-12)
    assert np.allclose(np.diag(mf.q.cov), 1 - rho**2, atol=1e-4) and np.allclose(
        fr.q.cov, [[1, rho], [rho, 1]], atol=1e-4
    )


def test_best_fit_counts_the_two_modes_and_drops_the_saddle_between():
    # The posterior's mean (one of the starts) is a saddle between the modes: not an optimum.
    grid = make_grid(make_target("mixture"))
    best = best_reverse_kl_fit(grid, full_rank=False)
    assert best.n_optima == 2 and len(best.optima) == 2
    assert abs(best.elbos[0] - best.elbos[1]) < 1e-3, "mirror images"
    assert best.optima[0].mean[0] * best.optima[1].mean[0] < 0, "one optimum on each mode"
    assert abs(best.kl - math.log(2)) < 0.01


def test_best_fit_beats_every_single_start():
    grid = make_grid(make_target("u4"))
    best = best_reverse_kl_fit(grid, full_rank=True)
    one = reverse_kl_fit(grid)
    assert reverse_kl(grid, one) > best.kl + 0.1, "the off-centre start alone finds a worse optimum on U4"
    assert best.n_optima > 1 and np.all(np.diff(best.elbos) <= 0) and best.elbos[0] == best.elbo


@pytest.mark.parametrize("name", list(REGISTRY))
def test_best_fit_is_at_least_as_good_as_the_default_start(name):
    grid = make_grid(make_target(name))
    for full_rank in (False, True):
        best = best_reverse_kl_fit(grid, full_rank)
        single = reverse_kl(grid, reverse_kl_fit(grid, full_rank))
        assert best.kl <= single + 1e-6, (full_rank, best.kl, single)
        assert best.n_optima >= 1 and best.elbos.shape == (best.n_optima,)


def test_local_fit_climbs_from_the_given_q():
    grid = make_grid(make_target("mixture"))
    q = GaussianQ(np.array([-1.5, 0.3]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    local, elbo = local_reverse_kl_fit(grid, q, full_rank=False)
    assert local.mean[0] < -1.9 and math.isclose(elbo, grid.log_z - reverse_kl(grid, local), abs_tol=1e-12)


def test_exact_gradient_matches_finite_differences_of_the_quadrature_elbo():
    t = make_target("banana")
    theta = np.array([0.3, -0.2, np.log(0.8), np.log(0.6), 0.2])
    f = _elbo_and_grad(t, True, 81)
    value, grad = f(theta)
    q = to_q(theta)
    assert math.isclose(-value, gaussian_elbos(t, q.loc[None], q.chol[None])[0], abs_tol=1e-12)

    def exact(th):
        p = to_q(th)
        return gaussian_elbos(t, p.loc[None], p.chol[None])[0]

    h = 1e-6
    fd = np.array([(exact(theta + h * e) - exact(theta - h * e)) / (2 * h) for e in np.eye(5)])
    np.testing.assert_allclose(-grad, fd, atol=1e-6)


def test_best_fit_is_deterministic_and_its_search_is_remembered_per_grid(monkeypatch):
    t = make_target("squiggle")
    fits._CLIMBS.clear()
    a = best_reverse_kl_fit(make_grid(t), False)
    climbs = []
    real = fits._maximise
    monkeypatch.setattr(fits, "_maximise", lambda *args, **kw: climbs.append(1) or real(*args, **kw))
    b = best_reverse_kl_fit(make_grid(t), False)  # a new grid of the same target, box and nodes
    assert len(climbs) == 1, "only the polish: the starts' climbs were remembered"
    fits._CLIMBS.clear()
    c = best_reverse_kl_fit(make_grid(t), False)  # searched afresh: the same answer, bit for bit
    for x in (b, c):
        assert x.elbo == a.elbo and x.n_optima == a.n_optima
        assert np.array_equal(x.q.loc, a.q.loc) and np.array_equal(x.q.chol, a.q.chol)
    climbs.clear()
    best_reverse_kl_fit(make_grid(t, box=(-3.0, 3.0, -3.0, 3.0)), False)  # another box: its own search
    assert len(climbs) == len(fit_starts(make_grid(t), False)) + 1
