"""Gaussian VI: the mean-field and full-rank optima on Gaussians, gradients, determinism."""

import math

import numpy as np
import pytest

from vi_core.api import Settings, run_vi
from vi_core.families import gaussian_elbos
from vi_core.gaussvi import AdamOptions, gaussian_vi, to_q
from vi_core.grid import make_grid
from vi_core.runner import run
from vi_core.targets import REGISTRY, make_target

# Boxes that hold all of a unit Gaussian's mass, for the known-answer tests.
WIDE = (-7.0, 7.0, -7.0, 7.0)
# Targets whose Gaussian ELBO has several local optima (found from several starts, either family).
SEVERAL_OPTIMA = {"squiggle", "u1", "u2", "u3", "u4", "mixture", "donut", "welling-teh", "ring", "modes"}
# The mean-field Gaussian on the thin ring drifts along it to the optimum where the ring runs parallel to an axis: the
# ELBO is nearly flat along the ring, so 1,000 steps end 1.7 nats short (10,000 arrive). The result must say so.
SLOW = {("ring", "gauss-mf")}


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9, -0.95])
def test_mean_field_reaches_the_mean_field_optimum(rho):
    t = make_target("gaussian", rho=rho)
    res = run_vi(t, "gauss-mf", seed=3, settings=Settings(vi_steps=2000, vi_samples=64))
    # Adam's lr decays 20x over the run; the final variance scatters around the optimum with a
    # Monte Carlo sd of about 1.5% (measured over seeds): allow 4 sd.
    np.testing.assert_allclose(np.diag(res.cov[-1]), 1 - rho**2, rtol=0.06, err_msg="mean-field variance")
    assert abs(res.kl[-1] - (-0.5 * math.log(1 - rho**2))) < 0.01, "KL of the mean-field optimum"
    np.testing.assert_allclose(res.mean[-1], 0.0, atol=0.05)


@pytest.mark.parametrize("rho", [0.5, 0.9, -0.95])
def test_full_rank_recovers_the_posterior(rho):
    t = make_target("gaussian", rho=rho)
    res = run_vi(t, "gauss-fr", seed=4, settings=Settings(vi_steps=1500, vi_samples=32))
    assert res.kl[-1] < 0.01
    np.testing.assert_allclose(res.cov[-1], [[1, rho], [rho, 1]], atol=0.1)


def test_reparameterisation_gradient_is_unbiased_for_the_elbo():
    # Average the step's gradient over many draws and compare with finite differences of
    # the exact (quadrature) ELBO in parameter space.
    t = make_target("banana")
    theta = np.array([0.3, -0.2, np.log(0.8), np.log(0.6), 0.2])
    grads = []
    for _ in range(4):
        algo = gaussian_vi(t, theta[:2], 1.0, full_rank=True, n_samples=100_000, n_steps=2)
        st = algo.init(None)._replace(theta=theta.copy())
        # one Adam step of size lr along mhat/sqrt(vhat) = sign(g); recover g from the moments instead
        new, _ = algo.step(np.random.default_rng(_), st)
        grads.append(new.mom1 / 0.1)  # mom1 = (1 - beta1) g after the first step
    g = np.mean(grads, axis=0)

    def exact(th):
        q = to_q(th)
        return gaussian_elbos(t, q.loc[None], q.chol[None], n=121)[0]

    h = 1e-5
    fd = np.array([(exact(theta + h * e) - exact(theta - h * e)) / (2 * h) for e in np.eye(5)])
    np.testing.assert_allclose(g, fd, atol=0.03, rtol=0.03)


def test_same_seed_same_numbers():
    t = make_target("squiggle")
    a = run(gaussian_vi(t, np.array([1.0, 1.0]), 1.0, full_rank=True, n_steps=50), 50, seed=7)
    b = run(gaussian_vi(t, np.array([1.0, 1.0]), 1.0, full_rank=True, n_steps=50), 50, seed=7)
    c = run(gaussian_vi(t, np.array([1.0, 1.0]), 1.0, full_rank=True, n_steps=50), 50, seed=8)
    assert np.array_equal(a.states[-1].theta, b.states[-1].theta)
    assert not np.array_equal(a.states[-1].theta, c.states[-1].theta)


def test_mc_elbo_is_an_unbiased_estimate_of_the_exact_elbo():
    t = make_target("gaussian", rho=0.8)
    res = run_vi(t, "gauss-mf", seed=1, settings=Settings(vi_steps=400))
    tail = slice(-200, None)
    # late in the run q barely moves: MC ELBOs scatter around the exact ELBO
    diff = res.elbo_mc[tail] - res.elbo[tail]
    assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(diff.size) + 1e-3


@pytest.mark.parametrize("rho", [0.9, -0.6])
def test_default_run_splits_the_family_bias_from_the_optimisation_gap(rho):
    # Bishop PRML 10.1.2: the best mean-field Gaussian's KL is -½ ln(1 - ρ²), the best full-rank one's is 0.
    t = make_target("gaussian", rho=rho)
    grid = make_grid(t, n=300, box=WIDE)
    mf, fr = run_vi(t, "gauss-mf", seed=0, grid=grid), run_vi(t, "gauss-fr", seed=0, grid=grid)
    assert abs(mf.kl_best - (-0.5 * math.log(1 - rho**2))) < 1e-4, "the family's bias"
    assert abs(fr.kl_best) < 1e-6
    for res in (mf, fr):
        assert res.n_optima == 1
        assert math.isclose(res.elbo_best + res.kl_best, grid.log_z, abs_tol=1e-12)
        assert res.optimisation_gap == pytest.approx(res.kl[-1] - res.kl_best, abs=1e-15)
        assert -1e-6 < res.optimisation_gap < 0.01, "the defaults converge"


@pytest.mark.parametrize("method", ["gauss-mf", "gauss-fr"])
def test_a_run_stopped_early_shows_its_gap(method):
    t = make_target("gaussian", rho=0.9)
    grid = make_grid(t, n=300, box=WIDE)
    full = run_vi(t, method, seed=0, grid=grid)
    early = run_vi(t, method, seed=0, grid=grid, settings=Settings(vi_steps=5))
    assert early.n_steps == 5
    assert early.optimisation_gap > 0.1, "five steps from the off-centre start are far from the optimum"
    assert early.optimisation_gap == pytest.approx(early.kl[-1] - early.kl_best, abs=1e-15)
    assert early.kl_best == pytest.approx(full.kl_best, abs=1e-6), "the family's best does not depend on the run"
    assert early.kl[-1] - early.kl_local > 0.1, "it had not converged (rather than found another optimum)"


def test_full_rank_on_a_very_narrow_ridge_converges():
    # rho = 0.99: the old defaults left KL 0.136 where the answer is 0.
    t = make_target("gaussian", rho=0.99)
    res = run_vi(t, "gauss-fr", seed=0, grid=make_grid(t, n=300, box=WIDE))
    assert res.kl_best < 1e-6 and res.kl[-1] < 0.01


@pytest.mark.parametrize("method", ["gauss-mf", "gauss-fr"])
@pytest.mark.parametrize("name", list(REGISTRY))
def test_defaults_reach_the_optimum_on_every_target(name, method):
    t = make_target(name)
    res = run_vi(t, method, seed=0, grid=make_grid(t))
    assert res.optimisation_gap > -1e-6, "the best member is at least as good as the run"
    if (name, method) in SLOW:
        assert res.kl[-1] - res.kl_local > 0.5 and "optimis" in res.verdict, "unfinished, and the verdict says so"
        longer = run_vi(t, method, seed=0, grid=make_grid(t), settings=Settings(vi_steps=10_000))
        assert longer.kl[-1] - longer.kl_local < 0.01, "ten times the steps arrive"
        return
    assert res.kl[-1] - res.kl_local < 0.01, "converged to the optimum it was climbing to"
    if name in SEVERAL_OPTIMA:
        assert res.n_optima > 1, "the result says the ELBO has several local optima"
    else:
        assert res.n_optima == 1
        assert res.optimisation_gap < 0.01, "one optimum: the run must end within 0.01 nat of the family's best"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_defaults_converge_on_the_funnel_whatever_the_seed(seed):
    # The hardest single-optimum target for the stochastic optimiser: heavy-tailed gradients in the neck.
    t = make_target("funnel")
    res = run_vi(t, "gauss-fr", seed=seed, grid=make_grid(t))
    assert res.n_optima == 1 and res.optimisation_gap < 0.01


def test_iterates_are_averaged_over_the_last_fraction():
    t = make_target("banana")
    algo = gaussian_vi(t, np.array([1.0, 1.0]), 1.0, False, n_steps=10, adam=AdamOptions(average_frac=0.3))
    trace = run(algo, 10, seed=0)
    thetas = np.array([s.theta for s in trace.states])
    for k in range(8):
        assert np.array_equal(trace.states[k].avg, trace.states[k].theta)
    np.testing.assert_allclose(trace.states[-1].avg, thetas[8:].mean(axis=0), rtol=1e-12)
    assert not np.array_equal(trace.states[-1].avg, trace.states[-1].theta)


def test_mean_steps_are_in_units_of_the_scale():
    # Adam moves each parameter by about lr a step: the mean by lr x scale.
    t = make_target("gaussian", rho=0.0)
    start = np.array([3.0, -3.0])
    for scale in (np.array([1.0, 1.0]), np.array([10.0, 0.1])):
        algo = gaussian_vi(t, start, 1.0, False, n_steps=100, adam=AdamOptions(lr=0.01), scale=scale)
        st, _ = algo.step(np.random.default_rng(0), algo.init(None))
        np.testing.assert_allclose(np.abs(st.theta[:2] - start), 0.01 * scale, rtol=1e-6)


@pytest.mark.parametrize("name", ["banana", "funnel"])
def test_elbo_trace_scores_every_state_as_one_pass(name):
    """The trace reuses its snapshot scores and scores the rest in chunks: the same ELBOs as scoring
    every state at once on the quadrature it picked."""
    from vi_core.methods.gauss import elbo_trace

    t = make_target(name)
    r = run_vi(t, "gauss-fr", 0, Settings(vi_steps=120, vi_samples=16, n_grid=50))
    loc, chol = np.stack([q.loc for q in r.qs]), np.stack([q.chol for q in r.qs])
    got = elbo_trace(t, loc, chol)
    options = [gaussian_elbos(t, loc, chol, n=n) for n in (41, 61)]
    assert any(np.allclose(got, o, rtol=1e-12, atol=0) for o in options)
