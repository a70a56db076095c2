"""Grid CAVI: monotone ELBO and the closed-form mean-field optimum on Gaussians (Bishop PRML 10.1.2)."""

import math

import numpy as np
import pytest

from vi_core.cavi import cavi, grid_elbo
from vi_core.families import GridProductQ
from vi_core.grid import make_grid
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
    assert grid.log_z - s.elbo < 1e-9


def test_factors_are_normalised_and_deterministic():
    grid = make_grid(make_target("donut"))
    a, b = _converge(grid, 20), _converge(grid, 20)
    for sa, sb in zip(a.states, b.states, strict=True):
        assert np.array_equal(sa.w1, sb.w1) and np.array_equal(sa.w2, sb.w2)
    assert math.isclose(a.states[-1].w1.sum(), 1.0) and math.isclose(a.states[-1].w2.sum(), 1.0)
