"""The reference posterior against closed forms and independent quadratures; refusals; warnings."""

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import integrate, special, stats

from vi_core.api import Settings, run_sampler, run_vi
from vi_core.grid import REFERENCE_TOL, make_grid
from vi_core.metrics import Yardstick
from vi_core.targets import REGISTRY, make_target
from vi_core.targets.expr import make_expr_target

WITH_LOG_Z = [n for n in REGISTRY if make_target(n).log_z_exact is not None]


def _corners(name):
    params = REGISTRY[name].params
    for values in itertools.product(*[(p.lo, p.hi) for p in params]):
        yield {p.name: v for p, v in zip(params, values, strict=True)}


ALL_CORNERS = [(n, kw) for n in REGISTRY for kw in [{}, *_corners(n)]]


def _strip_z1_var(sd=0.2, half=4.0):
    """E z1^2 for the density ∝ 1 on [-4, 4] with half-normal walls of sd 0.2 beyond."""
    r = sd * math.sqrt(math.pi / 2)
    num = 2 * half**3 / 3 + 2 * (half**2 * r + 2 * half * sd**2 + sd**2 * r)
    return num / (2 * half + sd * math.sqrt(2 * math.pi))


def _independent_moments(name, t):
    """Mean (2,) and covariance (2, 2) of the posterior by closed form or scipy quadrature."""
    p = t.param_values()
    if name == "gaussian":
        return np.zeros(2), np.array([[1, p["rho"]], [p["rho"], 1]])
    if name == "banana":
        b, s = p["b"], p["s"]
        return np.zeros(2), np.diag([s**2, 1 + 2 * b**2 * s**4])
    if name == "mixture":
        return np.zeros(2), np.diag([p["d"] ** 2 + p["s"] ** 2, p["s"] ** 2])
    if name == "funnel":
        s = p["scale"]
        return np.zeros(2), np.diag([s**2, math.exp(s**2 / 2)])
    if name == "squiggle":
        a, w, s1, s2 = p["a"], p["omega"], p["s1"], p["s2"]
        v2 = s2**2 + a**2 * (1 - math.exp(-2 * w**2 * s1**2)) / 2
        c12 = a * w * s1**2 * math.exp(-(w**2) * s1**2 / 2)
        return np.zeros(2), np.array([[s1**2, c12], [c12, v2]])
    if name in ("newcomb", "newcomb-clean"):
        post = t.posterior
        var_mu = post.b / (post.lam * (post.a - 1))
        mean = [post.mu, special.digamma(post.a) - math.log(post.b)]
        return np.array(mean), np.diag([var_mu, special.polygamma(1, post.a)])
    if name in ("u2", "u3", "u4"):
        # z1: the strip density; z2 | z1 a mixture of ridges: E and E[.^2] by scipy quad in z1
        cond = t.conditional

        def moment(f):
            def g(z1):
                lw, mu, sd = cond.components(np.array([z1]))
                return math.exp(cond.log_m(np.array([z1]))[0]) * float((np.exp(lw) * f(z1, mu, sd)).sum())

            return sum(integrate.quad(g, a, b, limit=200)[0] for a, b in ((-7, -4), (-4, 4), (4, 7)))

        m2 = moment(lambda z1, mu, sd: mu)
        e22 = moment(lambda z1, mu, sd: mu * mu + sd * sd)
        e12 = moment(lambda z1, mu, sd: z1 * mu)
        v1 = _strip_z1_var()
        return np.array([0.0, m2]), np.array([[v1, e12], [e12, e22 - m2 * m2]])
    # donut, u1, challenger: a fine midpoint grid on a box twice as wide
    x0, x1, y0, y1 = t.box
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0), (y1 - y0)
    xs = np.linspace(cx - hx, cx + hx, 1201)
    ys = np.linspace(cy - hy, cy + hy, 1201)
    lp = t.log_density(np.stack(np.meshgrid(xs, ys, indexing="ij"), -1))
    w = np.exp(lp - lp.max())
    w /= w.sum()
    m = np.array([w.sum(1) @ xs, w.sum(0) @ ys])
    cxs, cys = xs - m[0], ys - m[1]
    c = np.array([[w.sum(1) @ cxs**2, cxs @ w @ cys], [cxs @ w @ cys, w.sum(0) @ cys**2]])
    return m, c


def _rel_err(got_mean, got_cov, mean, cov):
    scale = np.sqrt(np.diag(cov))
    e_mean = np.abs(got_mean - mean) / scale
    e_cov = np.abs(got_cov - cov) / np.outer(scale, scale)
    return float(max(e_mean.max(), e_cov.max()))


@pytest.mark.parametrize("name", WITH_LOG_Z)
def test_log_z_is_the_closed_form_at_defaults_and_corners(name):
    for kw in [{}, *_corners(name)]:
        t = make_target(name, **kw)
        g = make_grid(t)
        assert abs(g.log_z - t.log_z_exact) < 1e-9, (name, kw, g.log_z, t.log_z_exact)
        assert g.reference.log_evidence == g.log_z and not g.reference_truncated


WITH_CONDITIONAL = [n for n in REGISTRY if make_target(n).conditional is not None]


@pytest.mark.parametrize("name", WITH_CONDITIONAL)
def test_conditional_form_is_the_normalised_density(name):
    # ln p~(z) - ln Z == ln m(z1) + ln sum_c pi_c N(z2; mu_c, sd_c) at random points, every corner
    rng = np.random.default_rng(5)
    for kw in [{}, *_corners(name)]:
        t = make_target(name, **kw)
        x0, x1, y0, y1 = t.box
        z = np.stack([rng.uniform(x0, x1, 500), rng.uniform(y0, y1, 500)], -1)
        cond = t.conditional
        log_pi, mu, sd = cond.components(z[:, 0])
        lq = special.logsumexp(log_pi + stats.norm.logpdf(z[:, 1], mu, sd), axis=0)
        got = cond.log_m(z[:, 0]) + lq
        want = t.log_density(z) - t.log_z_exact
        np.testing.assert_allclose(got, want, atol=1e-9 * (1 + np.abs(want)).max(), err_msg=f"{name} {kw}")
        assert integrate.quad(lambda v, c=cond: math.exp(c.log_m(np.array([v]))[0]), *cond.z1_range,
                              points=cond.z1_breaks or None, limit=400)[0] == pytest.approx(1, abs=1e-8)  # fmt: skip


@pytest.mark.parametrize("name", list(REGISTRY))
def test_reference_moments_match_independent_values(name):
    t = make_target(name)
    g = make_grid(t)
    mean, cov = _independent_moments(name, t)
    assert _rel_err(g.mean, g.cov, mean, cov) < 0.01, (name, g.mean, g.cov, mean, cov)


def test_funnel_reference_is_the_whole_posterior():
    t = make_target("funnel", scale=3.0)
    g = make_grid(t)
    assert abs(g.log_z - math.log(2 * math.pi * 3)) < 1e-12
    assert abs(g.cov[1, 1] / math.exp(4.5) - 1) < 1e-3 and abs(g.cov[0, 0] / 9 - 1) < 1e-9
    assert np.abs(g.mean).max() < 1e-9 and abs(g.cov[0, 1]) < 1e-9
    # P(outside the box) by scipy quadrature in v of the exact x | v ~ N(0, e^v)
    inside = integrate.quad(lambda v: stats.norm.pdf(v, 0, 3) * (2 * stats.norm.cdf(12 * math.exp(-v / 2)) - 1),
                            -9, 9, limit=200)[0]  # fmt: skip
    assert abs(g.mass_outside_box - (1 - inside)) < 1e-9 and 0.035 < g.mass_outside_box < 0.045
    # marginals: v ~ N(0, 9) exactly; x by scipy quadrature at a few points
    np.testing.assert_allclose(g.marginal_x, stats.norm.pdf(g.xs, 0, 3), rtol=1e-12)
    for j in (0, 57, 99, 150):
        x = g.ys[j]
        px = integrate.quad(lambda v, x=x: stats.norm.pdf(v, 0, 3) * stats.norm.pdf(x, 0, math.exp(v / 2)),
                            -30, 30, points=[2 * math.log(abs(x))], limit=400)[0]  # fmt: skip
        assert abs(g.marginal_y[j] / px - 1) < 1e-6
    assert "x·e^(−v/2)" in g.reference.method


def test_banana_var_z2_is_exact_and_its_box_holds_the_mass():
    for b, s in [(0.25, 2.0), (1.0, 3.0), (0.0, 0.5), (1.0, 0.5)]:
        g = make_grid(make_target("banana", b=b, s=s))
        assert abs(g.cov[1, 1] / (1 + 2 * b**2 * s**4) - 1) < 1e-9 and abs(g.mean[1]) < 1e-9
        assert g.mass_outside_box < 1e-4, (b, s, g.mass_outside_box)


@pytest.mark.parametrize("name", [n for n in REGISTRY if n != "funnel"])  # funnel: pointwise, above
def test_marginals_integrate_to_the_box_share(name):
    g = make_grid(make_target(name))
    # ∫ marginal over the box's x-range <= 1 and = 1 - P(z1 outside); both near 1 - mass outside
    for marg, h in ((g.marginal_x, g.dx), (g.marginal_y, g.dy)):
        total = marg.sum() * h
        assert 1 - g.mass_outside_box - 1e-4 <= total <= 1 + 1e-4, (name, total)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_no_warnings_at_defaults(name):
    g = make_grid(make_target(name))
    assert g.warnings() == [], (name, g.warnings())
    assert not g.reference_truncated


def test_funnel_window_is_a_note_not_a_warning():
    g = make_grid(make_target("funnel"))
    (note,) = g.notes()
    assert "4.0%" in note and "exact posterior" in note
    assert make_grid(make_target("gaussian")).notes() == []


@pytest.mark.parametrize(("name", "kw"), ALL_CORNERS)
def test_no_runtime_warnings_and_no_refusal_at_parameter_corners(name, kw):
    t = make_target(name, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = make_grid(t)
        z = g.points
        t.log_density(z)
        t.grad_log_density(z)
        _ = (g.log_z, g.mean, g.cov, g.marginal_x, g.marginal_y, g.reference, g.warnings(), g.notes())
        Yardstick(g)
    assert np.isfinite(g.log_z) and np.all(np.isfinite(g.cov))


@pytest.mark.parametrize(
    "expr",
    ["x + y", "x**2", "0", "-abs(x)", "-log(1 + x**2 + y**2)", "exp(x) - y**2", "-(x**2)/2 + y", "x*y"],
)
def test_densities_that_cannot_be_normalised_are_refused(expr):
    with pytest.raises(ValueError, match="cannot be normalised") as info:
        make_grid(make_expr_target(expr, "-4,4,-4,4"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("expr", "box"),
    [
        ("-(x**2 + y**2)/2", "-1,1,-1,1"),  # cut hard, still proper
        ("-(x**2 + y**2)/2", "10,12,10,12"),  # mass far from the box
        ("-1.5*log(1 + x**2 + y**2)", "-5,5,-5,5"),  # heavy but proper tails
        ("where(x > 0, -(x**2 + y**2), -1e6*(1 + x**2))", "-2,2,-2,2"),
        ("log(x) - x - y**2/2", "0.01,10,-4,4"),  # NaN outside the box counts as zero density
    ],
)
def test_proper_densities_are_accepted(expr, box):
    g = make_grid(make_expr_target(expr, box))
    assert np.isfinite(g.log_z)


def test_typed_gaussian_on_a_cut_box_is_integrated_outside_it():
    g = make_grid(make_expr_target("-(x**2 + y**2)/2", "-1,1,-1,1"))
    exact_out = 1 - (2 * stats.norm.cdf(1) - 1) ** 2
    assert abs(g.mass_outside_box - exact_out) < 1e-3
    assert abs(g.log_z - math.log(2 * math.pi)) <= g.reference.log_evidence_error < REFERENCE_TOL
    np.testing.assert_allclose(g.cov, np.eye(2), atol=1e-3)
    assert not g.reference_truncated
    (w,) = g.warnings()
    assert "53.39% of the posterior lies outside the box" in w and w.endswith("Widen the box.")
    g = make_grid(make_expr_target("-(x**2 + y**2)/2", "-5,5,-5,5"))
    assert g.warnings() == [] and abs(g.log_z - math.log(2 * math.pi)) < 1e-6


def test_a_reference_that_misses_mass_says_so_and_is_not_the_truth():
    # a needle far outside the box: the scan sees it, too coarsely to be exact
    g = make_grid(make_expr_target("-((x - 20)**2 + y**2)/(2*0.05**2)", "-5,5,-5,5"))
    assert g.mass_outside_box > 0.999 and g.reference_truncated
    (w,) = g.warnings()
    assert "not exact" in w and w.endswith("Widen the box.")
    g = make_grid(make_expr_target("-((x - 20)**2 + y**2)/(2*0.05**2)", "19,21,-1,1"))
    assert not g.reference_truncated and g.warnings() == []


def test_warnings_name_one_action_each():
    cut = make_grid(make_target("gaussian", rho=0.0), box=(-1, 1, -1, 1))  # exact reference, cut box
    (w,) = cut.warnings()
    assert w.endswith("Widen the box.") and "whole posterior" in w and not cut.reference_truncated
    coarse = make_grid(make_target("gaussian", rho=0.99), n=12)
    (w,) = coarse.warnings()
    assert w.endswith("Use more grid points per side.") and "narrower than the grid" in w
    typed = make_grid(make_expr_target("-(x**2 + y**2)/(2*0.01**2)", "-5,5,-5,5"), n=50)
    assert typed.reference_truncated
    assert any("narrower than the grid" in w and w.endswith("Use more grid points per side.") for w in typed.warnings())
    for g in (cut, coarse, typed, make_grid(make_target("funnel"), box=(-9, 9, -2, 2), n=30)):
        for w in g.warnings() + g.notes():
            assert "Narrow the box" not in w and w.count("Widen") + w.count("grid points per side") <= 1


def test_reference_tolerance_is_respected_by_built_ins_at_corners():
    worst = max(make_grid(make_target(n, **kw)).reference.log_evidence_error for n, kw in ALL_CORNERS)
    assert worst < REFERENCE_TOL


def _funnel_draws(n, rng, s=3.0):
    v = rng.normal(0, s, n)
    return np.stack([v, rng.normal(0, np.exp(v / 2))], -1)


def _mmd(a, b, bw):
    """V-statistic MMD with a Gaussian kernel of per-axis bandwidth bw, directly on the points."""

    def k(p, q):
        d = (p[:, None, :] - q[None, :, :]) / bw
        return np.exp(-0.5 * (d * d).sum(-1)).mean()

    return math.sqrt(max(k(a, a) + k(b, b) - 2 * k(a, b), 0.0))


def test_funnel_scores_rank_emcee_above_cavi_by_an_independent_check():
    rng = np.random.default_rng(0)
    t = make_target("funnel", scale=3.0)
    settings = Settings()
    grid = make_grid(t, settings.n_grid)
    cavi = run_vi(t, "cavi", 0, settings, grid=grid)
    mc = run_sampler(t, "emcee", 0, settings, grid=grid)
    # the engine's own scores
    assert mc.cov_err[-1] < cavi.cov_err[-1] and mc.mmd[-1] < cavi.mmd[-1]
    # independent truth: 2M exact draws (v ~ N(0, 9), x | v ~ N(0, e^v))
    exact = _funnel_draws(2_000_000, rng)
    t_mean, t_cov = exact.mean(0), np.cov(exact.T)
    assert abs(t_cov[1, 1] / grid.cov[1, 1] - 1) < 0.1  # the draws agree with the reference
    q = cavi.qs[-1]
    draws = mc.chain[-200:].reshape(-1, 2).astype(float)
    err = {
        "cavi": np.linalg.norm(q.cov - t_cov),
        "emcee": np.linalg.norm(np.cov(draws.T) - t_cov),
    }
    assert err["emcee"] < err["cavi"], err
    # means: both near 0 (CAVI's by symmetry), so they do not separate the two
    assert np.linalg.norm(q.mean - t_mean) < 0.1 and np.linalg.norm(draws.mean(0) - t_mean) < 1.0
    bw = np.sqrt(np.diag(grid.cov))
    sub = exact[:3000]
    mmd_cavi = _mmd(q.sample(rng, 3000), sub, bw)
    mmd_emcee = _mmd(draws[rng.choice(len(draws), 3000, replace=False)], sub, bw)
    assert mmd_emcee < mmd_cavi, (mmd_emcee, mmd_cavi)
    # exact draws score near zero on the yardstick, far below either method
    yard = Yardstick(grid)
    assert yard.mmd_samples(exact[:200_000]) < 0.01 < mc.mmd[-1] < cavi.mmd[-1]
