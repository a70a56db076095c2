"""Grid CAVI: monotone ELBO and the closed-form mean-field optimum on Gaussians (Bishop PRML 10.1.2)."""

import math

import numpy as np
import pytest

from vi_core.api import run_vi
from vi_core.cavi import best_fixed_point, cavi, cavi_starts, grid_elbo, start_point
from vi_core.families import GridProductQ
from vi_core.fits import best_reverse_kl_fit, reverse_kl_fit
from vi_core.grid import make_grid
from vi_core.metrics import elbo
from vi_core.runner import run
from vi_core.targets import REGISTRY, make_target


def _converge(grid, sweeps=2000):
    return run(cavi(grid), sweeps, seed=0, stop=lambda s, i: abs(i.delta) <= 1e-13)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9, -0.95])
def test_cavi_matches_bishop_on_correlated_gaussian(rho):
    grid = make_grid(make_target("gaussian", rho=rho), n=240, box=(-6, 6, -6, 6))
    s = _converge(grid).states[-1]
    q = GridProductQ.on(grid, s.w1, s.w2)
    # The mean-field optimum: q_j = N(0, 1/Lambda_jj) = N(0, 1 - rho^2), and KL = -1/2 ln(1 - rho^2).
    np.testing.assert_allclose(np.diag(q.cov), 1 - rho**2, rtol=1e-3)
    assert q.cov[0, 1] == 0.0
    np.testing.assert_allclose(q.mean, 0.0, atol=1e-3)
    kl = grid.log_z - s.elbo
    assert abs(kl - (-0.5 * math.log(1 - rho**2))) < 1e-3


@pytest.mark.parametrize("name", list(REGISTRY))
def test_elbo_never_decreases(name):
    grid = make_grid(make_target(name))
    trace = run(cavi(grid), 300, seed=0, stop=lambda s, i: abs(i.delta) <= 1e-12)
    deltas = np.array([i.delta for i in trace.infos])
    assert (deltas >= -1e-10).all(), f"ELBO decreased by {deltas.min()}"
    assert all(s.elbo <= grid.log_z + 1e-10 for s in trace.states), "ELBO above ln Z"


def test_off_centre_start_takes_several_sweeps_on_correlated_target():
    trace = _converge(make_grid(make_target("gaussian", rho=0.9)))
    # mean error shrinks by rho^2 a sweep: dozens of sweeps, not one
    assert 30 < len(trace.infos) < 300


def test_state_elbo_is_the_exact_grid_elbo():
    grid = make_grid(make_target("banana"))
    s = _converge(grid, 50).states[-1]
    # independent evaluation: sum over the product density and its piecewise-constant entropy
    w = np.outer(s.w1, s.w2)
    energy = (w * grid.log_p).sum()
    entropy = -(w[w > 0] * np.log(w[w > 0] / (grid.dx * grid.dy))).sum()
    assert math.isclose(s.elbo, energy + entropy, rel_tol=1e-10, abs_tol=1e-10)
    assert math.isclose(grid_elbo(grid, s.w1, s.w2), s.elbo, rel_tol=1e-12)


def test_mixture_is_a_product_so_cavi_is_exact():
    # (+-d, 0) modes with equal sd: p(z) = mixture(z1) N(z2; 0, s^2), a product, so KL -> 0.
    grid = make_grid(make_target("mixture"))
    s = _converge(grid).states[-1]
    # Exact on the box; the box cuts ~1e-6 of the posterior's mass, which a grid q cannot cover.
    assert getattr(grid, "log_z_box", grid.log_z) - s.elbo < 1e-9
    assert grid.log_z - s.elbo < 1e-5


def test_factors_are_normalised_and_deterministic():
    grid = make_grid(make_target("donut"))
    a, b = _converge(grid, 20), _converge(grid, 20)
    for sa, sb in zip(a.states, b.states, strict=True):
        assert np.array_equal(sa.w1, sb.w1) and np.array_equal(sa.w2, sb.w2)
    assert math.isclose(a.states[-1].w1.sum(), 1.0) and math.isclose(a.states[-1].w2.sum(), 1.0)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_best_fixed_point_beats_the_best_mean_field_gaussian(name):
    # A product of free-form factors contains every mean-field Gaussian (up to the grid): CAVI's best
    # fixed point must not be worse than the best mean-field Gaussian (DESIGN: worth a test).
    t = make_target(name)
    grid = make_grid(t)
    res = run_vi(t, "cavi", seed=0, grid=grid)
    gauss = elbo(grid, reverse_kl_fit(grid, full_rank=False))
    assert res.elbo_best >= gauss - 1e-6, (res.elbo_best, gauss)
    assert res.elbo_best >= best_reverse_kl_fit(grid, full_rank=False).elbo - 1e-6
    assert res.n_optima >= 1 and -1e-12 <= res.optimisation_gap < 1e-6, "the shown run reaches the best fixed point"


def test_u4_off_centre_start_stops_at_a_worse_fixed_point():
    grid = make_grid(make_target("u4"))
    best = best_fixed_point(grid)
    assert best.n_optima >= 2 and best.converged.all()
    assert best.elbo - best.start_elbos[0] > 0.5, "the shared start's fixed point is far below the best"
    assert best.elbo > best_reverse_kl_fit(grid, full_rank=False).elbo
    res = run_vi(make_target("u4"), "cavi", seed=0, grid=grid)
    assert abs(res.elbo[-1] - best.elbo) < 1e-6, "the best start is the one shown"
    assert "off-centre start stops at a fixed point" in res.verdict


def test_the_shared_start_is_first_and_unchanged():
    grid = make_grid(make_target("banana"))
    label, w1, w2 = cavi_starts(grid)[0]
    y0, y1 = grid.box[2:]
    m = start_point(grid.box)
    assert label == "off-centre" and abs(w2 @ grid.ys - m[1]) < 0.05 * (y1 - y0)
    s = cavi(grid).init(None)
    assert np.array_equal(s.w1, w1) and np.array_equal(s.w2, w2)
    for _, a, b in cavi_starts(grid):
        assert math.isclose(a.sum(), 1.0) and math.isclose(b.sum(), 1.0)


def test_single_fixed_point_on_a_gaussian_keeps_the_shared_start():
    grid = make_grid(make_target("gaussian", rho=0.9))
    best = best_fixed_point(grid)
    assert best.n_optima == 1 and best.best_start == 0
    assert np.ptp(best.start_elbos) < 1e-8
