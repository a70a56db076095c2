"""Gibbs sampling (vi_core.gibbs, method "gibbs"): exact conditionals, grid conditionals, the API.

Statistical checks are seeded; moment tolerances are in Monte Carlo standard errors computed
from the effective sample size (arviz-stats), not from the raw number of draws.
"""

import math
import types

import numpy as np
import pytest
from arviz_stats.base import array_stats
from scipy import integrate, stats
from scipy.special import polygamma

from vi_core import methods
from vi_core.api import run_sampler
from vi_core.gibbs import GRID_NODES, gibbs, grid_conditional, line_range, mass_outside, sampling_ranges
from vi_core.grid import make_grid
from vi_core.runner import run
from vi_core.settings import Settings
from vi_core.targets import REGISTRY, make_target
from vi_core.targets.expr import make_expr_target

GAUSS_08 = "-(x**2 - 2*0.8*x*y + y**2)/(2*(1 - 0.8**2))"


def _draws(target, n_chains: int, n_steps: int, seed: int, grid=None) -> np.ndarray:
    """Chains after burn-in (the first quarter), (C, T, 2); they start off-centre in the box.
    With a grid, the conditionals' ranges cover its reference's support (as the method's)."""
    x0, x1, y0, y1 = target.box
    start = np.array([x0 + 0.3 * (x1 - x0), y0 + 0.7 * (y1 - y0)])
    spread = np.array([x1 - x0, y1 - y0]) / 32
    trace = run(gibbs(target, start, spread, n_chains, grid=grid), n_steps, seed)
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


@pytest.mark.parametrize(
    ("name", "kind"), [("gaussian", "closed form"), ("banana", f"1D grid ({GRID_NODES} nodes, two passes)")]
)
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
    s = m.stats(trace.infos)
    mass = s.pop("mass_outside_ranges")  # built without a grid: not known for grid conditionals
    assert s == {"conditionals": kind, "stuck_updates": 0}
    assert mass == 0.0 if name == "gaussian" else math.isnan(mass)


# ---- the ranges, the mass outside them, the two-pass conditional ----

FUNNEL_VAR_X = math.exp(4.5)  # Var(x) = E e^v, v ~ N(0, 9)


def _funnel_mass_outside(ranges) -> float:
    """1 - P(v in R_v, x in R_x) for Neal's funnel (v ~ N(0, 9), x | v ~ N(0, e^v)), by quad."""
    (v0, v1), (x0, x1) = ranges

    def inside(v):
        s = math.exp(0.5 * v)
        return stats.norm.pdf(v, 0.0, 3.0) * (stats.norm.sf(x0 / s) - stats.norm.sf(x1 / s))

    return 1.0 - integrate.quad(inside, v0, v1, epsabs=1e-13, epsrel=1e-12, limit=500)[0]


def _var_z(d: np.ndarray, exact: float) -> tuple[float, float]:
    """(mean of d² - exact) / MCSE and the MCSE, for deviations d (C, T) from the exact mean: the
    MCSE is sd(d²) / sqrt(ESS of d²), the ESS the smaller of arviz's bulk and mean ESS."""
    d2 = d * d
    ess = min(float(array_stats.ess(d2, chain_axis=0, draw_axis=1, method=m)) for m in ("bulk", "mean"))
    mcse = d2.std() / math.sqrt(ess)
    return (d2.mean() - exact) / mcse, mcse


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_mass_outside_the_ranges_is_reported_and_negligible(name):
    # The default grid's reference; the ranges hold the box's line_range and the reference's support.
    target = make_target(name)
    res = run_sampler(target, "gibbs", seed=1, settings=Settings(chains=4, mcmc_steps=20))
    mass = res.stats["mass_outside_ranges"]
    assert isinstance(mass, float) and res.summary()["mass_outside_ranges"] == mass
    if target.gibbs_conditional is not None:
        assert mass == 0.0  # closed form: no ranges
        return
    grid = make_grid(target)
    ranges = sampling_ranges(target.box, grid.reference_support)
    support = grid.reference_support
    for axis, (lo, hi) in enumerate(ranges):
        box_lo, box_hi = line_range(target.box, axis)
        assert lo <= min(box_lo, support[2 * axis]) and hi >= max(box_hi, support[2 * axis + 1])
    assert 0.0 <= mass < 1e-3 and mass == mass_outside(grid, ranges)


def test_the_funnel_mass_outside_the_ranges_matches_quadrature():
    target = make_target("funnel")
    grid = make_grid(target)
    wide = sampling_ranges(target.box, grid.reference_support)
    assert wide[1][1] > 1000  # x reaches e^(v/2): the mouth is far wider than the box's +-12
    for ranges in (wide, sampling_ranges(target.box)):  # the new ranges; the box's line_range
        exact = _funnel_mass_outside(ranges)
        assert abs(mass_outside(grid, ranges) - exact) < 1e-6, ranges
    assert _funnel_mass_outside(wide) < 1e-5 < 0.01 < _funnel_mass_outside(sampling_ranges(target.box))
    plan = methods.get("gibbs", "mcmc").build(target, grid, Settings(), np.zeros(2), 1.0)
    _, info = plan.algorithm.step(np.random.default_rng(0), plan.algorithm.init(np.random.default_rng(0)))
    assert abs(info.mass_outside_ranges - _funnel_mass_outside(wide)) < 1e-6


def test_gibbs_without_a_grid_draws_on_the_box_or_the_given_ranges():
    target = make_target("funnel")
    chains = _draws(target, 4, 200, seed=3)
    assert np.all(np.abs(chains[..., 1]) <= 24)  # line_range of the box's x side, [-12, 12]
    ranges = ((-2.0, 3.0), (-1.0, 0.5))
    trace = run(gibbs(target, np.zeros(2), np.full(2, 0.1), 4, ranges=ranges), 50, 0)
    z = np.stack([s.positions for s in trace.states[1:]])
    assert np.all((z[..., 0] >= -2) & (z[..., 0] <= 3) & (z[..., 1] >= -1) & (z[..., 1] <= 0.5))
    assert math.isnan(trace.infos[0].mass_outside_ranges)  # no reference to compute it from
    with pytest.raises(ValueError, match="ranges"):
        gibbs(target, np.zeros(2), np.ones(2), 4, ranges=((1.0, 0.0), (-1.0, 1.0)))


def test_grid_gibbs_samples_the_whole_funnel():
    # One pass on the box's line_range gave Var(x) ~ 13 and Var(v) ~ 8.4 (the funnel cut to the
    # ranges). Var(x) = e^4.5 ~ 90 is carried by a heavy tail (x² has sd ~ 1.4e4 in theory), so
    # its MCSE, from the draws themselves, is wide; the ranges still cut Var(x) to 83.1.
    target = make_target("funnel")
    chains = _draws(target, 16, 8000, seed=1, grid=make_grid(target))
    z_v, se_v = _var_z(chains[..., 0], 9.0)
    z_x, se_x = _var_z(chains[..., 1], FUNNEL_VAR_X)
    assert abs(z_v) < 4 and abs(z_x) < 4, (
        f"Var(v) z = {z_v:.2f} (MCSE {se_v:.3f}), Var(x) z = {z_x:.2f} (MCSE {se_x:.1f})"
    )


def test_the_funnel_neck_is_resolved():
    # x | v = -6 is N(0, e^-6), sd 0.050, on a range of +-1214: one pass puts it in one 2.4-wide cell.
    target = make_target("funnel")
    lo, hi = sampling_ranges(target.box, make_grid(target).reference_support)[1]
    sd = math.exp(-3.0)
    rng = np.random.default_rng(6)
    parts = [grid_conditional(target, 1, np.full(2000, -6.0), rng, lo, hi) for _ in range(10)]  # 2000 rows at a time
    draws, ok = (np.concatenate(p) for p in zip(*parts, strict=True))
    assert ok.all() and abs(draws.std() / sd - 1) < 0.03, f"sd {draws.std():.4g} against {sd:.4g}"
    assert abs(draws.mean()) < 4 * sd / math.sqrt(draws.size)
    assert stats.kstest(draws, "norm", args=(0.0, sd)).pvalue > 0.01
    one_pass, _ = grid_conditional(target, 1, np.full(2000, -6.0), np.random.default_rng(6), lo, hi, refine=False)
    assert one_pass.std() > 10 * sd


def test_a_spike_between_the_refined_nodes_falls_back_to_its_coarse_cell():
    # ln p~ finite only within 1e-9 of c, a pass-1 midpoint: pass 1 sees it; pass 2's nodes
    # (c falls on a cell boundary there) all miss it, so the draw is uniform in c's pass-1 cell.
    lo, hi, m = -1.0, 1.0, 64
    h = (hi - lo) / m
    c = lo + h * (40 + 0.5)

    def log_density(z):
        return np.where(np.abs(z[..., 0] - c) < 1e-9, 0.0, -np.inf)

    spike = types.SimpleNamespace(log_density=log_density)
    draws, ok = grid_conditional(spike, 0, np.zeros(500), np.random.default_rng(2), lo, hi, m)
    assert ok.all() and np.all(np.abs(draws - c) <= 0.5 * h) and draws.std() > 0.2 * h
