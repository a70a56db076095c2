"""Mixture VI (vi_core.mog): the mixture density, its exact ELBO, the gradient estimator, and the fitted q."""

import math

import numpy as np
import pytest

from vi_core.api import run_vi
from vi_core.grid import make_grid
from vi_core.mog import MixtureQ, mixture_elbos, mixture_gradient, to_q
from vi_core.targets import make_target

THETA = np.array(
    [
        # logit, m1, m2, log L11, log L22, L21
        [0.3, -1.0, 0.5, math.log(0.8), math.log(0.6), 0.3],
        [-0.2, 1.5, -0.5, math.log(0.5), math.log(0.9), -0.2],
    ]
)


def _grid_moments(q: MixtureQ, half=12.0, n=801):
    x = np.linspace(-half, half, n)
    z = np.stack(np.meshgrid(x, x, indexing="ij"), -1)
    p = np.exp(q.log_prob(z)) * (x[1] - x[0]) ** 2
    mass = p.sum()
    mean = np.einsum("ij,ijk->k", p, z) / mass
    d = z - mean
    return mass, mean, np.einsum("ij,ijk,ijl->kl", p, d, d) / mass


def test_the_mixture_is_a_normalised_density_with_its_stated_moments():
    q = to_q(THETA)
    assert q.w.sum() == pytest.approx(1.0, abs=1e-15) and np.all(q.w > 0)
    mass, mean, cov = _grid_moments(q)
    assert mass == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(q.mean, mean, atol=1e-6) and np.allclose(q.cov, cov, atol=1e-6)


def test_grad_log_prob_matches_finite_differences():
    q = to_q(THETA)
    z = np.random.default_rng(0).normal(size=(7, 2)) * 2
    h = 1e-6
    for axis in range(2):
        dz = np.zeros(2)
        dz[axis] = h
        fd = (q.log_prob(z + dz) - q.log_prob(z - dz)) / (2 * h)
        assert np.allclose(q.grad_log_prob(z)[:, axis], fd, rtol=1e-6, atol=1e-8)


def test_draws_follow_the_mixture():
    q = to_q(THETA)
    n = 200_000
    x = q.sample(np.random.default_rng(1), n)
    se = np.sqrt(np.diag(q.cov) / n)
    assert np.all(np.abs(x.mean(0) - q.mean) < 4 * se), "sample mean within 4 Monte Carlo standard errors"
    assert np.allclose(np.cov(x.T), q.cov, rtol=0.02)


def test_the_exact_elbo_agrees_with_a_fine_grid():
    t = make_target("banana")
    grid = make_grid(t, n=600)
    q = to_q(THETA)
    z = np.stack(np.meshgrid(grid.xs, grid.ys, indexing="ij"), -1)
    lq = q.log_prob(z)
    by_grid = float(np.sum(np.exp(lq) * (grid.log_p - lq)) * grid.dx * grid.dy)
    assert mixture_elbos(t, [q])[0] == pytest.approx(by_grid, abs=1e-4)
    assert mixture_elbos(t, [q], n=40)[0] == pytest.approx(mixture_elbos(t, [q])[0], abs=1e-5), "25 nodes suffice"


def test_the_gradient_is_the_derivative_of_the_estimate_with_ln_q_held():
    # the estimator's definition: with the draws fixed and ln q held at theta, it is an exact derivative
    t = make_target("banana")
    eps = np.random.default_rng(2).standard_normal((2, 16, 2))
    held = to_q(THETA)

    def estimate(theta):
        q = to_q(theta)
        z = q.locs[:, None, :] + np.einsum("kij,knj->kni", q.chols, eps)
        return float(q.w @ (t.log_density(z) - held.log_prob(z)).mean(axis=1))

    value, grad = mixture_gradient(t, THETA, eps)
    assert value == pytest.approx(estimate(THETA), abs=1e-12)
    h = 1e-6
    for idx in np.ndindex(THETA.shape):
        step = np.zeros_like(THETA)
        step[idx] = h
        fd = (estimate(THETA + step) - estimate(THETA - step)) / (2 * h)
        assert grad[idx] == pytest.approx(fd, rel=1e-5, abs=1e-7), idx


def test_the_gradient_is_unbiased_for_the_exact_elbo():
    # averaged over many draws it is the derivative of the exact ELBO (quadrature), within 4 standard errors
    t = make_target("gaussian", rho=0.6)
    rng = np.random.default_rng(3)
    grads = np.stack([mixture_gradient(t, THETA, rng.standard_normal((2, 64, 2)))[1] for _ in range(400)])
    mean, se = grads.mean(0), grads.std(0, ddof=1) / math.sqrt(len(grads))
    h = 1e-5
    for idx in np.ndindex(THETA.shape):
        step = np.zeros_like(THETA)
        step[idx] = h
        up, down = mixture_elbos(t, [to_q(THETA + step), to_q(THETA - step)], n=40)
        exact = (up - down) / (2 * h)
        assert abs(mean[idx] - exact) < 4 * se[idx] + 1e-6, (idx, mean[idx], exact, se[idx])


@pytest.mark.parametrize(("name", "kl_max"), [("gaussian", 0.01), ("u1", 0.02), ("donut", 0.05)])
def test_the_fitted_mixture_is_close_where_one_gaussian_is_not(name, kl_max):
    # K = 8 components: U1's two modes and the donut's ring, which one Gaussian misses by a wide margin
    t = make_target(name)
    grid = make_grid(t)
    mix = run_vi(t, "mog", seed=0, grid=grid)
    one = run_vi(t, "gauss-fr", seed=0, grid=grid)
    assert np.all(mix.kl >= -1e-9), "KL is never negative"
    assert mix.kl[-1] < kl_max
    if name != "gaussian":
        assert mix.kl[-1] < one.kl[-1] / 5


def test_parts_are_the_components_one_sd_ellipses_and_switched_off_ones_are_not_drawn():
    w = np.array([0.7, 0.2995, 0.0005])
    locs = np.array([[0.0, 0.0], [3.0, 1.0], [-5.0, -5.0]])
    chols = np.array([[[1.0, 0.0], [0.5, 0.8]], [[0.3, 0.0], [0.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]]])
    q = MixtureQ(w, locs, chols)
    pic = q.parts(make_grid(make_target("gaussian")))
    assert pic.kind == "curves"
    pieces = np.split(np.stack([pic.x, pic.y], -1), np.flatnonzero(np.isnan(pic.x)) + 1)
    pieces = [p[np.isfinite(p).all(1)] for p in pieces if np.isfinite(p).any()]
    assert len(pieces) == 2, "the component of weight 5e-4 is off"
    for p, loc, chol in zip(pieces, locs, chols, strict=False):
        u = np.linalg.solve(chol, (p - loc).T)  # back to the unit circle
        np.testing.assert_allclose(np.hypot(*u), 1.0, atol=1e-5)
