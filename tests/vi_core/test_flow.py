"""Normalizing-flow VI (vi_core.flow, vi_core.flow_nets): hand-written gradients, invertibility, exact densities,
seeded runs, and that fitting helps."""

import numpy as np
import pytest

from vi_core import make_target
from vi_core.cavi import start_point
from vi_core.families import GaussianQ
from vi_core.flow import Anneal, FlowQ, Frame, flow_vi, init_theta, mc_objective, to_q
from vi_core.flow_nets import Layout, forward, inverse, log_base, push
from vi_core.gaussvi import AdamOptions
from vi_core.grid import make_grid
from vi_core.runner import run

SMALL = Layout(3, 5)


def _theta(layout, frame, seed=0, spread=0.3):
    """A flow well away from its (Gaussian) initialisation: every parameter perturbed."""
    rng = np.random.default_rng(seed)
    theta = init_theta(layout, frame, frame.centre + 0.5, 1.2 * frame.unit[0], rng)
    return theta + spread * rng.standard_normal(theta.size)


def _start(box):
    x0, x1, y0, y1 = box
    return start_point(box), min(x1 - x0, y1 - y0) / 8.0


@pytest.mark.parametrize(("name", "beta"), [("u1", 1.0), ("squiggle", 0.3)])
def test_elbo_gradient_matches_central_differences(name, beta):
    target = make_target(name)
    frame = Frame.of(target.box)
    theta = _theta(SMALL, frame)
    u = np.random.default_rng(1).standard_normal((7, 2))
    _, _, grad = mc_objective(target, frame, SMALL, theta, u, beta)
    h = 1e-6
    num = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        num[i] = (
            (mc_objective(target, frame, SMALL, theta + e, u, beta)[1])
            - (mc_objective(target, frame, SMALL, theta - e, u, beta)[1])
        )
    num /= 2 * h
    assert np.linalg.norm(grad - num) / np.linalg.norm(num) < 1e-5
    assert np.abs(grad - num).max() < 1e-5 * np.abs(num).max()


def test_objective_is_the_mc_elbo_at_beta_one():
    target = make_target("donut")
    frame = Frame.of(target.box)
    theta = _theta(SMALL, frame)
    u = np.random.default_rng(2).standard_normal((50, 2))
    elbo, obj, _ = mc_objective(target, frame, SMALL, theta, u, 1.0)
    assert elbo == pytest.approx(obj, abs=1e-12)
    # the mean of ln p~ - ln q at the draws, with the base's entropy exact instead of its estimate -mean ln N(u)
    q = FlowQ(SMALL, theta, frame)
    z = q.forward(u)[0]
    estimate = np.mean(target.log_density(z) - q.log_prob(z)) + np.mean(log_base(u)) + np.log(2 * np.pi) + 1.0
    assert elbo == pytest.approx(float(estimate), abs=1e-9)


def test_inverse_undoes_the_forward():
    frame = Frame.of((-3.0, 5.0, -2.0, 1.0))
    layout = Layout(6, 8)
    theta = _theta(layout, frame, seed=3, spread=0.5)
    u = np.random.default_rng(4).standard_normal((500, 2)) * 2.0
    w, ld, _ = forward(layout, theta, u)
    back, ld_back = inverse(layout, theta, w)
    assert np.abs(back - u).max() < 1e-10
    assert np.abs(ld_back - ld).max() < 1e-10
    w2, ld2 = push(layout, theta, u)  # the cache-free forward agrees with the training one
    assert np.array_equal(w2, w) and np.allclose(ld2, ld, rtol=0, atol=1e-12)
    q = FlowQ(layout, theta, frame)
    z = q.forward(u)[0]
    assert np.abs(q.inverse(z)[0] - u).max() < 1e-10


def test_log_det_matches_a_numerical_jacobian():
    frame = Frame.of((-4.0, 4.0, -6.0, 2.0))
    layout = Layout(4, 6)
    theta = _theta(layout, frame, seed=5, spread=0.5)
    q = FlowQ(layout, theta, frame)
    u = np.random.default_rng(6).standard_normal((20, 2))
    _, ld = q.forward(u)
    h = 1e-5
    jac = np.empty((u.shape[0], 2, 2))
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        jac[:, :, j] = (q.forward(u + e)[0] - q.forward(u - e)[0]) / (2 * h)
    assert np.allclose(np.log(np.abs(np.linalg.det(jac))), ld, rtol=0, atol=1e-7)


def test_q_is_normalised_on_a_fine_grid():
    frame = Frame.of((-4.0, 4.0, -4.0, 4.0))
    layout = Layout(4, 6)
    theta = _theta(layout, frame, seed=7, spread=0.4)
    q = FlowQ(layout, theta, frame)
    # T maps the disc |u| <= 6.5 (all but e^-21 of the base) inside the box round its boundary's image
    a = np.linspace(0.0, 2.0 * np.pi, 2000)
    rim = q.forward(6.5 * np.stack([np.cos(a), np.sin(a)], axis=-1))[0]
    (x0, y0), (x1, y1) = rim.min(axis=0) - 0.5, rim.max(axis=0) + 0.5
    n = 700
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    pts = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
    mass = np.exp(q.log_prob(pts)).sum() * (x1 - x0) * (y1 - y0) / n**2
    assert mass == pytest.approx(1.0, abs=1e-6)


def test_moments_by_base_quadrature_agree_with_draws():
    frame = Frame.of((-4.0, 4.0, -4.0, 4.0))
    layout = Layout(4, 6)
    q = FlowQ(layout, _theta(layout, frame, seed=8, spread=0.4), frame)
    z = q.sample(np.random.default_rng(9), 400_000)
    se = np.sqrt(np.diag(q.cov) / z.shape[0])
    assert np.all(np.abs(z.mean(axis=0) - q.mean) < 5 * se)
    assert np.allclose(np.cov(z.T), q.cov, rtol=0.02, atol=0.02 * np.abs(q.cov).max())


def test_the_first_q_is_the_gaussian_at_the_start():
    target = make_target("banana")
    start, sd = _start(target.box)
    algo = flow_vi(target, start, sd, target.box, n_layers=3, hidden=4)
    q = to_q(algo.init(np.random.default_rng(0)))
    z = np.random.default_rng(1).standard_normal((100, 2)) * 3.0
    assert np.allclose(q.log_prob(z), GaussianQ(start, sd * np.eye(2)).log_prob(z), rtol=0, atol=1e-12)
    assert np.allclose(q.mean, start, atol=1e-9) and np.allclose(q.cov, sd**2 * np.eye(2), atol=1e-8)


def _short(target, n_steps, seed=0, **kw):
    start, sd = _start(target.box)
    opts = dict(n_layers=4, hidden=16, n_samples=64, n_steps=n_steps, adam=AdamOptions(lr=0.02, final_lr_frac=0.2))
    return run(flow_vi(target, start, sd, target.box, **{**opts, **kw}), n_steps, seed)


def test_seeded_runs_are_deterministic():
    target = make_target("u2")
    a, b, c = _short(target, 40, seed=3), _short(target, 40, seed=3), _short(target, 40, seed=4)
    assert np.array_equal(a.states[-1].theta, b.states[-1].theta)
    assert [i.mc_elbo for i in a.infos] == [i.mc_elbo for i in b.infos]
    assert not np.array_equal(a.states[-1].theta, c.states[-1].theta)
    assert a.states[-1].mom1 is None  # the trace keeps no Adam moments


def test_annealing_schedule():
    assert Anneal(0.2, 100).beta(0, 1000) == pytest.approx(0.2)
    assert Anneal(0.2, 100).beta(40, 1000) == pytest.approx(0.6)
    assert Anneal(0.2, 100).beta(500, 1000) == 1.0
    assert Anneal(0.5).beta(250, 1000) == pytest.approx(1.0)  # T_anneal: half the run
    trace = _short(make_target("u1"), 30, anneal=Anneal(0.1, 20))
    betas = [i.beta for i in trace.infos]
    assert betas[0] == pytest.approx(0.1) and betas[-1] == 1.0 and np.all(np.diff(betas) >= 0)
    assert all(i.objective == i.mc_elbo for i in trace.infos if i.beta == 1.0)


def test_kl_is_not_negative_after_a_short_run_on_the_gaussian():
    target = make_target("gaussian")
    grid = make_grid(target, 200)
    trace = _short(target, 300)
    kl = grid.log_z - to_q(trace.states[-1]).elbo(grid)
    assert -1e-4 < kl < 0.05


def test_a_short_run_on_u1_beats_its_start():
    target = make_target("u1")
    grid = make_grid(target, 200)
    trace = _short(target, 600)
    kl0 = grid.log_z - to_q(trace.states[0]).elbo(grid)
    kl = grid.log_z - to_q(trace.states[-1]).elbo(grid)
    assert kl < 0.5 * kl0 and kl < 0.3
    assert np.isfinite([i.mc_elbo for i in trace.infos]).all()


def test_family_defaults_work_on_a_flow():
    target = make_target("donut")
    grid = make_grid(target, 60)
    q = to_q(_short(target, 50).states[-1])
    w = q.cell_weights(grid)
    assert w.shape == (60, 60) and w.sum() == pytest.approx(1.0)
    assert q.on_grid and q.picture(grid).kind == "levels"
    assert q.sample(np.random.default_rng(0), 5).shape == (5, 2)
