"""vi_core.conjugate: the Normal-Gamma worked example's maths (closed-form CAVI as init/step, moments, q's density)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from vi_core import conjugate
from vi_core.conjugate import newcomb_cavi_closed_form
from vi_core.runner import Trace, run
from vi_core.targets.data import Challenger, Newcomb, NewcombClean

PRIORS = [{}, {"mu0": 30.0, "lambda0": 1.0, "a0": 5.0, "b0": 500.0}]
TARGETS = [cls(**p) for cls in (Newcomb, NewcombClean) for p in PRIORS]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.name}-{t.param_values()}")
def test_closed_form_cavi_is_an_algorithm_for_the_one_run_loop(target):
    trace = run(conjugate.closed_form_cavi(target), 12, seed=0)
    assert isinstance(trace, Trace) and len(trace.states) == 13 and len(trace.infos) == 12
    assert trace.times.shape == (13,) and np.all(np.diff(trace.times) >= 0)
    cf = conjugate.stack(trace)
    assert all(v.shape == (13,) for v in cf)
    n, xbar, _ = target.suff
    assert np.all(cf.mu_n == (target.lambda0 * target.mu0 + n * xbar) / (target.lambda0 + n))
    assert np.all(cf.a_n == target.a0 + (n + 1) / 2)
    assert np.all(np.diff(cf.elbo) >= -1e-9), "ELBO decreased"
    assert cf.elbo[-1] <= target.log_z_exact
    assert trace.infos[-1].delta < 1e-8 * cf.b_n[-1], "not at the fixed point"
    # the wrapper runs the same algorithm through the same loop: identical numbers
    wrapped = newcomb_cavi_closed_form(target, 12)
    for a, b in zip(cf, wrapped, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fixed_point_gets_the_exact_means():
    # At the fixed point a_N / b_N is the exact E[τ] and μ_N the exact E[μ] (Wikipedia's worked example).
    t = Newcomb()
    cf = conjugate.stack(run(conjugate.closed_form_cavi(t), 30, seed=0))
    post = t.posterior
    ex = conjugate.exact_moments(post, t.log_z_exact)
    q = conjugate.q_moments(cf.mu_n[-1], cf.lambda_n[-1], cf.a_n[-1], cf.b_n[-1], cf.elbo[-1], t.log_z_exact)
    assert abs(q.mean_mu - ex.mean_mu) < 1e-9, "Incorrect E[μ]"
    assert abs(q.mean_tau / ex.mean_tau - 1) < 1e-9, "Incorrect E[τ]"
    assert q.sd_mu < ex.sd_mu and q.sd_tau <= ex.sd_tau * (1 + 1e-12), "mean-field should not be wider"
    assert 0 < q.kl < 0.05 and q.kl == pytest.approx(t.log_z_exact - cf.elbo[-1])


def test_exact_moments_are_student_t_and_gamma():
    post = Newcomb().posterior
    ex = conjugate.exact_moments(post, -1.0)
    t = stats.t(2 * post.a, loc=post.mu, scale=math.sqrt(post.b / (post.a * post.lam)))
    g = stats.gamma(post.a, scale=1 / post.b)
    np.testing.assert_allclose([ex.mean_mu, ex.sd_mu], [t.mean(), t.std()], rtol=1e-12)
    np.testing.assert_allclose([ex.mean_tau, ex.sd_tau], [g.mean(), g.std()], rtol=1e-12)
    assert ex.elbo == -1.0 and ex.kl == 0.0


@pytest.mark.parametrize(("a", "b"), [(2.0, 3.0), (34.0, 6000.0)])
def test_log_tau_moments_by_quadrature(a, b):
    mean, sd = conjugate.log_tau_moments(a, b)
    g = stats.gamma(a, scale=1 / b)
    m1 = g.expect(np.log)
    m2 = g.expect(lambda x: (np.log(x) - m1) ** 2)
    assert abs(mean - m1) < 1e-7, "Incorrect mean of ln τ"
    assert abs(sd - math.sqrt(m2)) < 1e-6, "Incorrect sd of ln τ"


def test_q_log_density_integrates_to_one_in_mu_and_log_tau():
    # The trapezoid rule on a smooth density whose tails vanish at the ends converges geometrically: 201 nodes a
    # side reach ~1e-14 (dblquad over a Python callable gave the same answer in seconds, one point per call).
    m, lam, a, b = 26.2, 0.5, 34.0, 3700.0
    s_mid, s_sd = conjugate.log_tau_moments(a, b)
    mu = np.linspace(m - 10 / math.sqrt(lam), m + 10 / math.sqrt(lam), 201)
    s = np.linspace(s_mid - 12 * s_sd, s_mid + 12 * s_sd, 201)
    q = np.exp(conjugate.q_log_density(*np.meshgrid(mu, s, indexing="ij"), m, lam, a, b))
    total = np.trapezoid(np.trapezoid(q, s, axis=1), mu)
    assert abs(total - 1) < 1e-6, "q is not a density in (μ, ln τ)"


def test_analyse_shapes_and_agreement():
    t = Newcomb()
    an = conjugate.analyse(t, n_iter=10, m=40)
    assert an.cf.elbo.shape == an.grid_elbo.shape == (11,)
    assert an.lp_exact.shape == an.lq_cf.shape == an.lq_grid.shape == (40, 40)
    assert an.cx.shape == an.cy.shape == (40,)
    assert set(an.rows) == {"closed form", "grid", "exact"}
    assert an.n == 66 and an.sum_x == pytest.approx(66 * an.xbar)
    cf, grid = an.rows["closed form"], an.rows["grid"]
    assert abs(cf.kl - grid.kl) < 1e-6, "closed-form and grid CAVI disagree"
    assert abs(an.log_z - an.log_z_grid) < 1e-6


@pytest.mark.parametrize(
    ("target", "tau_init", "match"),
    [(Challenger(), 1.0, "newcomb"), (Newcomb(), -1.0, "tau_init"), (Newcomb(), math.inf, "tau_init")],
)
def test_errors(target, tau_init, match):
    with pytest.raises(ValueError, match=match):
        conjugate.closed_form_cavi(target, tau_init)
