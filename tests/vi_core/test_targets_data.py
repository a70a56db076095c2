"""Real-data posteriors: Newcomb (Normal-Gamma, closed-form evidence and CAVI) and Challenger."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import digamma, expit, polygamma

from vi_core.api import Settings, run_method, run_sampler
from vi_core.cavi import cavi
from vi_core.conjugate import newcomb_cavi_closed_form, normal_gamma_elbo
from vi_core.grid import make_grid
from vi_core.runner import run
from vi_core.targets import make_target
from vi_core.targets.data import (
    WELLING_TEH_SEED,
    Challenger,
    Newcomb,
    NewcombClean,
    WellingTeh,
    challenger_data,
    newcomb_data,
    welling_teh_data,
)

SMALL = Settings(n_grid=80, cavi_sweeps=40, vi_steps=60, walkers=16, mcmc_steps=60)
MCMC = Settings(walkers=64, mcmc_steps=400)
PRIORS = [
    {},
    {"mu0": 30.0, "lambda0": 1.0, "a0": 5.0, "b0": 500.0},
    {"mu0": -100.0, "lambda0": 10.0, "a0": 50.0, "b0": 0.01},  # prior-data conflict
    {"mu0": 100.0, "lambda0": 0.001, "a0": 0.1, "b0": 10000.0},
]
NEWCOMBS = [cls(**p) for cls in (Newcomb, NewcombClean) for p in PRIORS]


def _fd(target, z, h=1e-5):
    return np.stack([(target.log_density(z + h * e) - target.log_density(z - h * e)) / (2 * h) for e in np.eye(2)], -1)


def _in_box(target, n, seed):
    x0, x1, y0, y1 = target.box
    return np.random.default_rng(seed).uniform([x0, y0], [x1, y1], size=(n, 2))


def _grid_cavi(grid):
    return run(cavi(grid), 500, 0, stop=lambda s, i: abs(i.delta) <= 1e-12).states[-1]


# ---- data ------------------------------------------------------------------------------


def test_data_files():
    x = newcomb_data()
    assert x.size == 66 and sorted(x)[:3] == [-44.0, -2.0, 16.0]
    clean = newcomb_data(drop_outliers=True)
    assert clean.size == 64 and clean.min() == 16.0
    temp, fail = challenger_data()
    assert temp.size == fail.size == 23 and fail.sum() == 7 and set(fail) == {0.0, 1.0}
    assert not x.flags.writeable and not temp.flags.writeable
    assert newcomb_data() is x  # read once


def test_registered():
    assert type(make_target("newcomb")) is Newcomb and type(make_target("newcomb-clean")) is NewcombClean
    assert make_target("challenger", prior_scale=5.0) == Challenger(5.0)
    assert Newcomb() != NewcombClean()
    with pytest.raises(ValueError, match="lambda0"):
        make_target("newcomb", lambda0=0.0)
    with pytest.raises(ValueError, match="prior_scale"):
        make_target("challenger", prior_scale=100.0)


# ---- Newcomb ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", NEWCOMBS[:2] + NEWCOMBS[4:6], ids=lambda t: t.name)
def test_newcomb_log_density_is_the_normalised_joint(target):
    z = _in_box(target, 50, 0)
    mu, s = z[:, 0], z[:, 1]
    tau = np.exp(s)
    x = target.data
    direct = (
        stats.norm.logpdf(x[None, :], mu[:, None], 1 / np.sqrt(tau[:, None])).sum(axis=1)
        + stats.norm.logpdf(mu, target.mu0, 1 / np.sqrt(target.lambda0 * tau))
        + stats.gamma.logpdf(tau, target.a0, scale=1 / target.b0)
        + s  # Jacobian of τ = e^s
    )
    np.testing.assert_allclose(target.log_density(z), direct, rtol=1e-10)


@pytest.mark.parametrize("target", NEWCOMBS, ids=lambda t: f"{t.name}-{t.param_values()}")
def test_newcomb_grid_evidence_is_closed_form(target):
    g = make_grid(target, 200)
    # Measured: at most 1.5e-11 at n = 200 over the corners of the parameter box.
    assert abs(g.log_z - target.log_z_exact) < 1e-9, f"grid {g.log_z} vs closed form {target.log_z_exact}"
    assert g.warnings() == []
    post = target.posterior
    np.testing.assert_allclose(g.mean[0], post.mu, rtol=1e-9)
    np.testing.assert_allclose(g.mean[1], digamma(post.a) - math.log(post.b), rtol=1e-9)


@pytest.mark.parametrize("target", NEWCOMBS[:3], ids=lambda t: str(t.param_values()))
def test_newcomb_gradient(target):
    z = _in_box(target, 200, 1)
    fd = _fd(target, z, h=1e-6)
    np.testing.assert_allclose(target.grad_log_density(z), fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())


@pytest.mark.parametrize("target", NEWCOMBS, ids=lambda t: f"{t.name}-{t.param_values()}")
def test_closed_form_cavi_matches_grid_cavi(target):
    cf = newcomb_cavi_closed_form(target, 30)
    n = target.suff.n
    assert np.all(cf.a_n == target.a0 + (n + 1) / 2)
    assert np.all(np.diff(cf.elbo) >= -1e-9), "ELBO decreased"
    assert cf.elbo[-1] <= target.log_z_exact
    m, lam, a, b = cf.mu_n[-1], cf.lambda_n[-1], cf.a_n[-1], cf.b_n[-1]
    kl_analytic = target.log_z_exact - cf.elbo[-1]

    g = make_grid(target, 200)
    # The closed-form q as a density on (μ, ln τ): q(μ) q(τ = e^s) e^s.
    mu, s = g.points[..., 0], g.points[..., 1]
    log_q = stats.norm.logpdf(mu, m, 1 / math.sqrt(lam)) + stats.gamma.logpdf(np.exp(s), a, scale=1 / b) + s
    wq = np.exp(log_q) * g.dx * g.dy
    kl_cf_grid = float((wq * (log_q - (g.log_p - g.log_z))).sum())

    st = _grid_cavi(g)
    kl_grid_cavi = g.log_z - st.elbo
    # Measured agreement ~1e-11.
    assert abs(kl_cf_grid - kl_analytic) < 1e-6, (kl_cf_grid, kl_analytic)
    assert abs(kl_grid_cavi - kl_cf_grid) < 1e-6, (kl_grid_cavi, kl_cf_grid)
    assert 0 < kl_grid_cavi < 0.05

    qm = np.array([st.w1 @ g.xs, st.w2 @ g.ys])
    qv = np.array([st.w1 @ (g.xs - qm[0]) ** 2, st.w2 @ (g.ys - qm[1]) ** 2])
    np.testing.assert_allclose(qm, [m, digamma(a) - math.log(b)], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(qv, [1 / lam, polygamma(1, a)], rtol=1e-5)


def test_bishop_shape_gives_lower_elbo():
    # DESIGN.md: a0 + N/2 (Bishop's printed 10.29) is not the optimal shape for this model.
    t = Newcomb()
    cf = newcomb_cavi_closed_form(t, 30)
    n, xbar, ss = t.suff
    m = cf.mu_n[-1]
    fixed = ss + n * (xbar - m) ** 2 + t.lambda0 * (m - t.mu0) ** 2
    a_bishop, lam = t.a0 + n / 2, cf.lambda_n[-1]
    for _ in range(30):  # the same updates with Bishop's shape, to their fixed point
        b = t.b0 + 0.5 * (fixed + (n + t.lambda0) / lam)
        lam = (t.lambda0 + n) * a_bishop / b
    assert normal_gamma_elbo(t, m, lam, a_bishop, b) < cf.elbo[-1] - 1e-4


def test_closed_form_cavi_trace():
    cf = newcomb_cavi_closed_form(Newcomb(), 5, tau_init=1.0)
    assert all(v.shape == (6,) for v in cf)
    assert cf.lambda_n[0] == Newcomb().lambda0 + 66  # E[τ] = 1 at the start
    assert cf.elbo[1] > cf.elbo[0] + 100  # a poor start, a big first step


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_iter": 0}, "n_iter"),
        ({"n_iter": 2.5}, "n_iter"),
        ({"tau_init": -1.0}, "tau_init"),
        ({"tau_init": math.inf}, "tau_init"),
    ],
)
def test_closed_form_cavi_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        newcomb_cavi_closed_form(Newcomb(), **kwargs)
    with pytest.raises(ValueError, match="newcomb"):
        newcomb_cavi_closed_form(Challenger())


@pytest.mark.parametrize("target", [Newcomb(), NewcombClean()], ids=lambda t: t.name)
def test_newcomb_emcee_mean(target):
    g = make_grid(target)
    res = run_sampler(target, "emcee", 3, MCMC, grid=g)
    sd = math.sqrt(g.cov[0, 0])
    mcse = sd / math.sqrt(res.ess[0])
    err = abs(res.mean[0] - target.posterior.mu)
    assert err < 4 * mcse, f"emcee mean of μ off by {err:.3g} = {err / mcse:.1f} MCSE"


# ---- Challenger ------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [0.5, 2.5, 20.0])
def test_challenger_log_density_is_the_normalised_joint(scale):
    t = Challenger(scale)
    temp, fail = challenger_data()
    z = _in_box(t, 50, 2)
    eta = z[:, :1] + z[:, 1:] * (temp - temp.mean()) / 10.0
    direct = stats.bernoulli.logpmf(fail, expit(eta)).sum(axis=1) + stats.norm.logpdf(z, 0, scale).sum(axis=1)
    np.testing.assert_allclose(t.log_density(z), direct, rtol=1e-9)


@pytest.mark.parametrize("scale", [0.5, 2.5, 20.0])
def test_challenger_grid(scale):
    t = Challenger(scale)
    a, b = make_grid(t, 200), make_grid(t, 400)
    assert abs(a.log_z - b.log_z) < 1e-6, (a.log_z, b.log_z)
    assert a.edge_mass < 1e-6 and a.warnings() == []
    assert a.mean[1] < 0, "colder launches should make failure more likely"


def test_challenger_gradient():
    t = Challenger()
    z = _in_box(t, 300, 3)
    fd = _fd(t, z)
    np.testing.assert_allclose(t.grad_log_density(z), fd, rtol=1e-5, atol=1e-5 * np.abs(fd).max())


def test_challenger_emcee_means():
    t = Challenger()
    g = make_grid(t)
    res = run_sampler(t, "emcee", 1, MCMC, grid=g)
    mcse = np.sqrt(np.diag(g.cov) / res.ess)
    z = (res.mean - g.mean) / mcse
    assert np.all(np.abs(z) < 4), f"emcee means off by {z} MCSE"


# ---- Welling & Teh's mixture ---------------------------------------------------------------


def test_welling_teh_data_are_fixed_and_its_log_density_is_the_normalised_joint():
    x = welling_teh_data()
    assert x.size == 100 and not x.flags.writeable and welling_teh_data() is x
    rng = np.random.default_rng(WELLING_TEH_SEED)  # regenerated by hand: half from N(0, 2), half from N(1, 2)
    np.testing.assert_array_equal(x, rng.normal(rng.integers(2, size=100) * 1.0, math.sqrt(2.0)))
    t = make_target("welling-teh")
    assert type(t) is WellingTeh and t.params == () and t.to_dict()["box"] == [-3.0, 4.0, -4.0, 4.0]
    z = _in_box(t, 40, 4)
    mix = 0.5 * stats.norm.pdf(x, z[:, :1], math.sqrt(2)) + 0.5 * stats.norm.pdf(x, z[:, :1] + z[:, 1:], math.sqrt(2))
    direct = np.log(mix).sum(1) + stats.norm.logpdf(z[:, 0], 0, math.sqrt(10)) + stats.norm.logpdf(z[:, 1], 0, 1)
    np.testing.assert_allclose(t.log_density(z), direct, rtol=1e-10)
    assert t.log_density(z.reshape(4, 10, 2)).shape == (4, 10)
    fd = _fd(t, z, 1e-6)
    np.testing.assert_allclose(t.grad_log_density(z), fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())
    assert t.grad_log_density(z.reshape(4, 10, 2)).shape == (4, 10, 2)


def test_welling_teh_has_two_modes_and_its_box_holds_the_mass():
    t = make_target("welling-teh")
    # swapping the components maps (t1, t2) to (t1 + t2, -t2): the likelihood is the same, only the prior differs
    z = _in_box(t, 20, 5)
    swapped = np.stack([z[:, 0] + z[:, 1], -z[:, 1]], -1)

    def prior(v):
        return stats.norm.logpdf(v[:, 0], 0, math.sqrt(10)) + stats.norm.logpdf(v[:, 1], 0, 1)

    np.testing.assert_allclose(t.log_density(z) - prior(z), t.log_density(swapped) - prior(swapped), rtol=1e-10)
    modes = []
    for start in ([0.0, 1.0], [1.0, -1.0]):
        m = optimize.minimize(lambda v: -float(t.log_density(v)), start, jac=lambda v: -t.grad_log_density(v)).x
        modes.append(m)
    assert modes[0][1] > 1 and modes[1][1] < -1  # one mode each side of theta2 = 0
    path = [float(t.log_density(modes[0] + s * (modes[1] - modes[0]))) for s in np.linspace(0, 1, 51)]
    assert min(float(t.log_density(m)) for m in modes) - min(path) > 1.5  # a valley of more than 1.5 nats between
    g = make_grid(t)
    assert g.mass_outside_box < 1e-10 and g.warnings() == [] and not g.reference_truncated
    # ln p(X) by an independent rule: Gauss-Legendre on a box twice as wide
    (x0, x1, y0, y1), (u, w) = t.box, np.polynomial.legendre.leggauss(160)
    a, b = (0.5 * (hi - lo) * u + 0.5 * (hi + lo) for lo, hi in ((2 * x0, 2 * x1), (2 * y0, 2 * y1)))
    wa, wb = (0.5 * (hi - lo) * w for lo, hi in ((2 * x0, 2 * x1), (2 * y0, 2 * y1)))
    lp = t.log_density(np.stack(np.meshgrid(a, b, indexing="ij"), -1))
    top = lp.max()
    log_z = top + math.log((np.exp(lp - top) * wa[:, None] * wb[None, :]).sum())
    assert abs(g.log_z - log_z) < 1e-6, (g.log_z, log_z)


# ---- every target through the API -------------------------------------------------------


@pytest.mark.parametrize("target", [Newcomb(), NewcombClean(), Challenger(), WellingTeh()], ids=lambda t: t.name)
@pytest.mark.parametrize("method", ["cavi", "gauss-mf", "emcee"])
def test_runs_through_api(target, method):
    _, res, _ = run_method(target, method, 0, SMALL)
    if method == "emcee":
        assert np.isfinite(res.chain).all() and res.acceptance > 0.1
    else:
        assert np.isfinite(res.elbo).all()
