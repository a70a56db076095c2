"""Gibbs sampling (vi_core.gibbs, method "gibbs"): exact conditionals, grid conditionals, the API.

Statistical checks are seeded; moment tolerances are in Monte Carlo standard errors computed
from the effective sample size (arviz-stats), not from the raw number of draws.
"""

import math

import numpy as np
import pytest
from arviz_stats.base import array_stats
from scipy import stats
from scipy.special import polygamma

from vi_core import methods
from vi_core.api import run_sampler
from vi_core.gibbs import GRID_NODES, gibbs, grid_conditional, line_range
from vi_core.runner import run
from vi_core.settings import Settings
from vi_core.targets import REGISTRY, make_target
from vi_core.targets.expr import make_expr_target

GAUSS_08 = "-(x**2 - 2*0.8*x*y + y**2)/(2*(1 - 0.8**2))"


def _draws(target, n_chains: int, n_steps: int, seed: int) -> np.ndarray:
    """Chains after burn-in (the first quarter), (C, T, 2); they start off-centre in the box."""
    x0, x1, y0, y1 = target.box
    start = np.array([x0 + 0.3 * (x1 - x0), y0 + 0.7 * (y1 - y0)])
    spread = np.array([x1 - x0, y1 - y0]) / 32
    trace = run(gibbs(target, start, spread, n_chains), n_steps, seed)
    chain = np.stack([s.positions for s in trace.states[1:]], axis=1)  # (C, T, 2)
    return chain[:, n_steps // 4 :]


def _z(series: np.ndarray, exact: float) -> float:
    """(estimate - exact) / MCSE for the mean of series (C, T); MCSE = sd / sqrt(ESS)."""
    ess = float(array_stats.ess(series, chain_axis=0, draw_axis=1, method="mean"))
    return (series.mean() - exact) / (series.std() / math.sqrt(ess))


def _moment_z(chains: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """z-scores of the two means and the three covariance entries (centred at the exact mean)."""
    d = chains - mean
    zs = [_z(chains[..., k], mean[k]) for k in range(2)]
    zs += [_z(d[..., i] * d[..., j], cov[i, j]) for i, j in ((0, 0), (0, 1), (1, 1))]
    return np.array(zs)


def _newcomb_exact(target):
    """Mean and covariance of (μ, ln τ): μ is Student-t, τ Gamma(a, b); μ | τ is symmetric about
    mu_n, so μ and ln τ are uncorrelated."""
    p = target.posterior
    mean = np.array([p.mu, float(polygamma(0, p.a)) - math.log(p.b)])
    return mean, np.diag([p.b / (p.lam * (p.a - 1)), float(polygamma(1, p.a))])


@pytest.mark.parametrize(("rho", "n_chains", "n_steps"), [(0.8, 8, 4000), (0.99, 8, 25000), (-0.5, 4, 4000)])
def test_gibbs_matches_the_gaussian_moments(rho, n_chains, n_steps):
    chains = _draws(make_target("gaussian", rho=rho), n_chains, n_steps, seed=11)
    z = _moment_z(chains, np.zeros(2), np.array([[1.0, rho], [rho, 1.0]]))
    assert np.all(np.abs(z) < 4), f"moment z-scores {np.round(z, 2)}"


@pytest.mark.parametrize("name", ["newcomb", "newcomb-clean"])
def test_gibbs_matches_the_newcomb_moments(name):
    target = make_target(name)
    mean, cov = _newcomb_exact(target)
    z = _moment_z(_draws(target, 8, 3000, seed=5), mean, cov)
    assert np.all(np.abs(z) < 4), f"moment z-scores {np.round(z, 2)}"


def test_the_newcomb_closed_form_moments_match_the_reference():
    from vi_core.grid import make_grid

    target = make_target("newcomb")
    mean, cov = _newcomb_exact(target)
    grid = make_grid(target)
    assert np.allclose(grid.mean, mean, rtol=0, atol=1e-3 * np.sqrt(np.diag(cov)))
    assert np.allclose(grid.cov, cov, rtol=2e-3, atol=1e-3 * math.sqrt(cov[0, 0] * cov[1, 1]))


def _line_cdf(target, axis: int, other: float, lo: float, hi: float, n: int = 40001):
    """The conditional CDF of z_axis given the other coordinate, from log_density on a fine line."""
    t = np.linspace(lo, hi, n)
    z = np.empty((n, 2))
    z[:, axis], z[:, 1 - axis] = t, other
    with np.errstate(all="ignore"):
        lp = target.log_density(z)
    w = np.exp(np.where(np.isfinite(lp), lp, -np.inf) - np.nanmax(lp))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(t))])
    return lambda x: np.interp(x, t, cdf / cdf[-1])


def _conditional_cases():
    g, nc = make_target("gaussian", rho=0.8), make_target("newcomb")
    mean, cov = _newcomb_exact(nc)
    sd = np.sqrt(np.diag(cov))
    return [
        (g, 0, 1.5),
        (g, 1, -2.0),
        (nc, 0, mean[1] + 2 * sd[1]),  # μ | ln τ, in the upper tail of ln τ
        (nc, 1, mean[0] - 2 * sd[0]),  # ln τ | μ, in the lower tail of μ
        (make_target("newcomb-clean"), 1, 27.0),
    ]


@pytest.mark.parametrize(("target", "axis", "other"), _conditional_cases())
def test_closed_form_conditionals_follow_the_log_density(target, axis, other):
    # The sampler's draws against the conditional CDF read off log_density along the line:
    # this checks the prior/likelihood parameterisation (and the ln τ change of variable).
    rng = np.random.default_rng(3)
    draws = target.gibbs_conditional(axis, np.full(20000, other), rng)
    lo, hi = np.quantile(draws, [0, 1])
    pad = hi - lo
    p = stats.kstest(draws, _line_cdf(target, axis, other, lo - pad, hi + pad)).pvalue
    assert p > 0.01, f"KS p = {p:.3g}"


def test_gaussian_conditional_moments():
    rho, c, n = 0.8, 1.5, 40000
    draws = make_target("gaussian", rho=rho).gibbs_conditional(0, np.full(n, c), np.random.default_rng(4))
    var = 1 - rho**2
    assert abs(draws.mean() - rho * c) < 4 * math.sqrt(var / n)
    assert abs(draws.var() - var) < 4 * var * math.sqrt(2 / n)


@pytest.mark.parametrize(("name", "axis", "other"), [("banana", 0, 2.0), ("donut", 1, 0.5), ("funnel", 0, 1.0)])
def test_grid_conditionals_follow_the_log_density(name, axis, other):
    target = make_target(name)
    lo, hi = line_range(target.box, axis)
    draws, ok = grid_conditional(target, axis, np.full(5000, other), np.random.default_rng(8), lo, hi)
    assert ok.all() and np.all((draws >= lo) & (draws <= hi))
    p = stats.kstest(draws, _line_cdf(target, axis, other, lo, hi)).pvalue
    assert p > 0.01, f"KS p = {p:.3g}"


def test_grid_conditional_without_mass_keeps_the_chain():
    # ln(1 - y²) is nan for |y| >= 1: the row at y = 2 has no finite density anywhere.
    target = make_expr_target("log(1 - y**2) - x**2/2", (-3, 3, -1, 1))
    draws, ok = grid_conditional(target, 0, np.array([0.5, 2.0]), np.random.default_rng(0), -6, 6)
    assert ok.tolist() == [True, False] and np.isfinite(draws[0]) and np.isnan(draws[1])
    algo = gibbs(target, np.array([0.0, 0.5]), np.zeros(2), 2)
    state = algo.init(np.random.default_rng(0))
    state = state._replace(positions=np.array([[0.3, 0.5], [0.3, 2.0]]))
    new, info = algo.step(np.random.default_rng(1), state)
    # chain 1: z1 | z2 = 2 has no mass (z1 stays); z2 | z1 = 0.3 has, and brings it back inside
    assert new.positions[1, 0] == 0.3 and abs(new.positions[1, 1]) < 1 and info.stuck == 1
    assert np.all(np.abs(new.positions[0]) < [6, 1])


def test_grid_gibbs_handles_nan_outside_the_support():
    # x ~ Gamma(2, 1) (nan for x < 0, inside the extended range), y ~ N(0, 1)
    target = make_expr_target("log(x) - x - y**2/2", (0, 12, -4.5, 4.5))
    chains = _draws(target, 4, 2000, seed=2)
    assert np.all(chains[..., 0] > 0)
    assert abs(_z(chains[..., 0], 2.0)) < 4 and abs(_z(chains[..., 1], 0.0)) < 4


def test_grid_gibbs_matches_closed_form_gibbs_in_distribution():
    # A typed Gaussian (1D grid conditionals) against the built-in one (closed form), thinned to
    # nearly independent draws (integrated autocorrelation ~ 4.6 sweeps at rho = 0.8), and both
    # against the exact N(0, 1) marginals; projections on x + y and x - y see the correlation.
    typed = make_expr_target(GAUSS_08, (-4.5, 4.5, -4.5, 4.5))
    grid = _draws(typed, 4, 6000, seed=21)[:, ::20].reshape(-1, 2)
    exact = _draws(make_target("gaussian", rho=0.8), 4, 6000, seed=22)[:, ::20].reshape(-1, 2)
    proj = np.array([[1, 0], [0, 1], [1, 1], [1, -1]]) / np.sqrt([1, 1, 3.6, 0.4])[:, None]  # unit variance
    p2 = [stats.ks_2samp(grid @ v, exact @ v).pvalue for v in proj]
    p1 = [stats.kstest(grid @ v, "norm").pvalue for v in proj]
    assert min(p2) > 0.01 and min(p1) > 0.01, f"two-sample p {np.round(p2, 3)}, against N(0, 1) p {np.round(p1, 3)}"


SMALL = Settings(chains=4, mcmc_steps=40, n_grid=60)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_gibbs_runs_through_the_api_on_every_target(name):
    res = run_sampler(make_target(name), "gibbs", seed=1, settings=SMALL)
    assert res.chain.shape == (40, 4, 2) and np.all(np.isfinite(res.chain))
    d = res.diagnostics
    assert d.rhat.shape == (2,) and d.ess.shape == (2,) and np.all(np.isfinite(d.rhat)) and np.all(d.ess > 0)


def test_same_seed_same_chain():
    for name in ("gaussian", "banana"):
        a, b, c = (run_sampler(make_target(name), "gibbs", seed=s, settings=SMALL) for s in (7, 7, 8))
        assert np.array_equal(a.chain, b.chain) and not np.array_equal(a.chain, c.chain)


@pytest.mark.parametrize(("name", "kind"), [("gaussian", "closed form"), ("banana", f"1D grid ({GRID_NODES} nodes)")])
def test_the_moves_are_an_axis_parallel_staircase(name, kind):
    m = methods.get("gibbs", "mcmc")
    plan = m.build(make_target(name), None, Settings(chains=6, mcmc_steps=15), np.array([1.0, 2.0]), 0.5)
    trace = run(plan.algorithm, plan.n_steps, 0)
    assert len(trace.states) == 16
    for before, after in zip(trace.states[:-1], trace.states[1:], strict=True):
        pts, accepted, divergent = m.path(after)
        assert pts.shape == (methods.PATH_CHAINS, 3, 2) and pts.dtype == np.float32
        assert np.array_equal(pts[:, 0], before.positions[: methods.PATH_CHAINS].astype(np.float32))
        assert np.array_equal(pts[:, 2], m.draws(after)[: methods.PATH_CHAINS].astype(np.float32))
        assert np.array_equal(pts[:, 1, 1], pts[:, 0, 1]) and np.all(pts[:, 1, 0] != pts[:, 0, 0])  # z1 moves
        assert np.array_equal(pts[:, 2, 0], pts[:, 1, 0]) and np.all(pts[:, 2, 1] != pts[:, 1, 1])  # then z2
        assert accepted.all() and not divergent.any()
    assert m.stats(trace.infos) == {"conditionals": kind, "stuck_updates": 0}
