"""The yardstick: ln p(X) = ELBO + KL against independent values, MMD, marginal W1, Pareto k-hat."""

import itertools
import math

import numpy as np
import pytest

from vi_core import chunks
from vi_core.families import GaussianQ, GridProductQ, gaussian_elbos
from vi_core.grid import make_grid
from vi_core.metrics import Yardstick, decomposition, elbo, moment_errors, pareto_khat
from vi_core.targets import REGISTRY, make_target


def _gauss_kl(m0, S0, m1, S1):
    """KL(N(m0, S0) || N(m1, S1)) in closed form."""
    S1i = np.linalg.inv(S1)
    d = m1 - m0
    return 0.5 * (np.trace(S1i @ S0) + d @ S1i @ d - 2 + math.log(np.linalg.det(S1) / np.linalg.det(S0)))


def _random_gaussian_q(rng, box):
    x0, x1, y0, y1 = box
    loc = np.array([rng.uniform(x0, x1) * 0.4, rng.uniform(y0, y1) * 0.4])
    chol = np.array([[rng.uniform(0.3, 1.5), 0.0], [rng.uniform(-0.5, 0.5), rng.uniform(0.3, 1.5)]])
    return GaussianQ(loc, chol)


def test_gaussian_q_kl_matches_closed_form():
    t = make_target("gaussian", rho=0.8)
    grid = make_grid(t, n=300, box=(-7, 7, -7, 7))
    rng = np.random.default_rng(0)
    for _ in range(10):
        q = _random_gaussian_q(rng, t.box)
        dec = decomposition(grid, q)
        exact = _gauss_kl(q.loc, q.cov, np.zeros(2), np.array([[1, 0.8], [0.8, 1]]))
        assert abs(dec.kl - exact) < 1e-6, (dec.kl, exact)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_decomposition_holds_and_kl_is_nonnegative(name):
    t = make_target(name)
    grid = make_grid(t)
    rng = np.random.default_rng(1)
    qs = [_random_gaussian_q(rng, t.box) for _ in range(5)]
    w1 = rng.dirichlet(np.ones(grid.xs.size))
    w2 = rng.dirichlet(np.ones(grid.ys.size))
    qs.append(GridProductQ.on(grid, w1, w2))
    for q in qs:
        dec = decomposition(grid, q)
        assert abs(dec.elbo + dec.kl - dec.log_evidence) < 1e-8
        assert dec.kl >= -1e-9 or name == "funnel", f"negative KL {dec.kl}"


def test_gaussian_elbo_agrees_with_monte_carlo():
    # An independent estimate: E_q[ln p~] by 400k draws from q, entropy analytic.
    t = make_target("squiggle")
    q = GaussianQ(np.array([0.3, 0.2]), np.array([[1.2, 0.0], [0.4, 0.7]]))
    z = q.sample(np.random.default_rng(2), 400_000)
    lp = t.log_density(z)
    mc = lp.mean() + q.entropy
    assert abs(elbo(make_grid(t), q) - mc) < 4 * lp.std() / math.sqrt(lp.size)


def test_grid_product_elbo_agrees_with_monte_carlo():
    t = make_target("banana")
    grid = make_grid(t)
    w1 = np.exp(-0.5 * (grid.xs / 2) ** 2)
    w2 = np.exp(-0.5 * ((grid.ys - 1) / 1.5) ** 2)
    q = GridProductQ.on(grid, w1 / w1.sum(), w2 / w2.sum())
    z = q.sample(np.random.default_rng(3), 400_000)
    terms = t.log_density(z) - q.log_prob(z)
    assert abs(elbo(grid, q) - terms.mean()) < 4 * terms.std() / math.sqrt(terms.size) + 2e-3


def test_mmd_is_zero_for_the_truth_and_grows_with_distance():
    t = make_target("gaussian", rho=0.0)
    grid = make_grid(t)
    yard = Yardstick(grid)
    assert yard.mmd_cells(yard.p) == 0.0  # q = p exactly
    assert yard.mmd_q(GaussianQ(np.zeros(2), np.eye(2))) < 1e-6  # the truth as a q, its own CDFs
    assert yard.mmd_weights(grid.weights) < 1e-4  # the box holds all but 1.3e-5 of the mass
    d = [yard.mmd_q(GaussianQ(np.array([s, 0.0]), np.eye(2))) for s in (0.0, 0.5, 1.0, 2.0)]
    assert d[0] < 1e-3 and d[0] < d[1] < d[2] < d[3]


def test_mmd_matches_closed_form_between_gaussians():
    # MMD^2 between N(0, I) and N(mu, I) with kernel bandwidth 1 per axis:
    # E k(P,P) = E k(Q,Q) = 1/3 (2D, |L|^.5/|L + 2I|^.5), E k(P,Q) = exp(-|mu|^2/6)/3.
    t = make_target("gaussian", rho=0.0)
    grid = make_grid(t, n=400, box=(-7, 7, -7, 7))
    mu = np.array([1.0, 0.5])
    exact = math.sqrt(2 / 3 - 2 * math.exp(-(mu @ mu) / 6) / 3)
    got = Yardstick(grid, coarse=200).mmd_q(GaussianQ(mu, np.eye(2)))
    assert abs(got - exact) < 2e-3


def test_mmd_of_exact_samples_shrinks_like_one_over_sqrt_n():
    t = make_target("gaussian", rho=0.8)
    grid = make_grid(t)
    yard = Yardstick(grid)
    rng = np.random.default_rng(4)
    exact = GaussianQ(np.zeros(2), np.linalg.cholesky(np.array([[1, 0.8], [0.8, 1]])))
    small = np.mean([yard.mmd_samples(exact.sample(rng, 100)) for _ in range(20)])
    large = np.mean([yard.mmd_samples(exact.sample(rng, 10_000)) for _ in range(20)])
    assert large < small / 4 and large < 0.02


def test_moment_errors():
    grid = make_grid(make_target("gaussian", rho=0.5))
    m, c = moment_errors(grid, np.array([3.0, 4.0]), grid.cov)
    assert abs(m - 5.0) < 1e-4 and c < 1e-9


@pytest.mark.parametrize("rho", [0.5, 0.8, 0.9])
def test_pareto_khat_tracks_rho_for_the_mean_field_optimum(rho):
    # Theory: under the mean-field optimum q = N(0, (1 - rho^2) I) the ratio p/q = exp(rho u1 u2)
    # with u standard normal, whose tail is Pareto with index 1/rho: k = rho (DESIGN.md 3).
    t = make_target("gaussian", rho=rho)
    q = GaussianQ(np.zeros(2), np.eye(2) * math.sqrt(1 - rho**2))
    k = np.median([pareto_khat(t, q, seed=s) for s in range(5)])
    assert abs(k - rho) < 0.12, f"k-hat {k} for rho {rho}"


def test_pareto_khat_is_small_for_a_wide_q():
    t = make_target("gaussian", rho=0.9)
    good = pareto_khat(t, GaussianQ(np.zeros(2), np.linalg.cholesky(np.array([[1.2, 0.9], [0.9, 1.2]]))))
    assert good < 0.5


def test_yardstick_sees_the_funnel_beyond_its_box():
    # 4% of the funnel's mass lies beyond |x| = 12: the yardstick's cells continue outside the box
    grid = make_grid(make_target("funnel", scale=3.0))
    yard = Yardstick(grid)
    assert yard.cy.size > 50 and yard.y_edges[0] < -100 and yard.y_edges[-1] > 100
    assert yard.mmd_cells(yard.p) == 0.0 and abs(yard.p.sum() - 1) < 1e-12
    inside = yard.p[yard._off[0] : yard._off[0] + yard._m, yard._off[1] : yard._off[1] + yard._m].sum()
    assert abs((1 - inside) - grid.mass_outside_box) < 1e-6
    rng = np.random.default_rng(0)
    v = rng.normal(0, 3, 400_000)
    exact = np.stack([v, rng.normal(0, np.exp(v / 2))], -1)
    in_box = exact[(np.abs(exact[:, 1]) < 12)]
    assert yard.mmd_samples(exact) < 0.005 < yard.mmd_samples(in_box)  # the box's part alone is not p
    assert yard.mmd_samples(exact) < yard.mmd_weights(grid.weights)


def test_yardstick_on_a_typed_target_cut_by_its_box():
    from vi_core.targets.expr import make_expr_target

    grid = make_grid(make_expr_target("-(x**2 + y**2)/2", "-1,1,-1,1"))
    yard = Yardstick(grid)
    truth = GaussianQ(np.zeros(2), np.eye(2))
    assert yard.mmd_q(truth) < 5e-3 < yard.mmd_weights(grid.weights)
    assert yard.mmd_samples(truth.sample(np.random.default_rng(1), 200_000)) < 5e-3


def test_chunked_scoring_equals_one_pass(monkeypatch):
    """gaussian_elbos and Yardstick.mmd_samples give the same numbers in chunks of a few points."""
    rng = np.random.default_rng(3)
    t = make_target("banana")
    locs = rng.normal(size=(7, 2))
    chols = np.zeros((7, 2, 2))
    chols[:, 0, 0], chols[:, 1, 1] = rng.uniform(0.3, 1.5, 7), rng.uniform(0.3, 1.5, 7)
    chols[:, 1, 0] = rng.uniform(-0.5, 0.5, 7)
    yard = Yardstick(make_grid(t, n=60))
    samples = rng.normal(size=(1001, 2)) * 3.0  # some outside the box
    whole_e, whole_m = gaussian_elbos(t, locs, chols, n=21), yard.mmd_samples(samples)
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 2 * 21 * 21)  # two q's, or 882 samples, a chunk
    np.testing.assert_allclose(gaussian_elbos(t, locs, chols, n=21), whole_e, rtol=1e-13, atol=0)
    assert yard.mmd_samples(samples) == whole_m
    # the old per-state sum: the product weights over the q-centred nodes
    u = np.linspace(-7, 7, 21)
    w = np.exp(-0.5 * u * u)
    w /= w.sum()
    loc, chol = locs[0], chols[0]
    u1, u2 = np.meshgrid(u, u, indexing="ij")
    z = np.stack([loc[0] + chol[0, 0] * u1, loc[1] + chol[1, 0] * u1 + chol[1, 1] * u2], axis=-1)
    energy = np.einsum("ij,i,j->", t.log_density(z), w, w)
    entropy = math.log(2 * math.pi) + 1 + math.log(chol[0, 0] * chol[1, 1])
    assert whole_e[0] == pytest.approx(energy + entropy, rel=1e-13)


# ---- W1 of the marginals ----


def _w1_normal_quantiles(m, s, mp, sp):
    """W1(N(m, s^2), N(mp, sp^2)) by quadrature of the quantile form ∫_0^1 |F_q^-1(u) - F_p^-1(u)| du."""
    from scipy import integrate, stats

    f = lambda u: abs(stats.norm.ppf(u, m, s) - stats.norm.ppf(u, mp, sp))  # noqa: E731
    cross = [] if s == sp else [float(stats.norm.cdf((mp - m) / (s - sp)))]  # where the quantiles meet
    return integrate.quad(f, 0.0, 1.0, points=[c for c in cross if 0 < c < 1] or None, limit=200, epsabs=1e-12)[0]


def _w1_step_vs(samples, cdf, lo, hi):
    """∫ |F_n(t) - cdf(t)| dt over [lo, hi] by scipy quad, split at the draws (F_n jumps there)."""
    from scipy import integrate

    s = np.sort(samples)
    cuts = np.unique(np.concatenate([[lo], s, [hi]]))
    total = 0.0
    for a, b in itertools.pairwise(cuts):
        c = np.searchsorted(s, 0.5 * (a + b), side="right") / s.size  # F_n on (a, b)
        total += integrate.quad(lambda t, c=c: abs(c - cdf(t)), a, b, limit=200, epsabs=1e-13)[0]
    return total


def test_w1_of_a_gaussian_q_matches_the_quantile_integral():
    # the gaussian target's marginals are N(0, 1) (rho = 0.8); W1 of normal marginals by quad
    t = make_target("gaussian")
    yard = Yardstick(make_grid(t))
    rng = np.random.default_rng(11)
    qs = [_random_gaussian_q(rng, t.box) for _ in range(4)]
    qs += [GaussianQ(np.array([0.1, -0.2]), np.diag([0.05, 0.2])), GaussianQ(np.array([3.0, 0.0]), np.diag([6.0, 2.5]))]
    for q in qs:
        sd_q = np.sqrt(np.diag(q.cov))
        exact = np.mean([_w1_normal_quantiles(q.loc[k], sd_q[k], 0.0, 1.0) for k in (0, 1)])
        got = yard.w1_q(q)
        assert abs(got - exact) < 1e-4, f"w1_q {got} against quad {exact} for loc {q.loc}, sds {sd_q}"


def test_w1_samples_is_the_exact_integral_of_the_empirical_cdf():
    # F_n against the exact marginal CDF Phi, by quad between the draws: the merge is exact
    from scipy.special import ndtr

    yard = Yardstick(make_grid(make_target("gaussian")))
    rng = np.random.default_rng(12)
    for n in (3, 20, 60):
        z = 0.3 + 1.4 * rng.standard_normal((n, 2))
        exact = np.mean([_w1_step_vs(z[:, k], ndtr, -14.0, 14.0) for k in (0, 1)])
        got = yard.w1_samples(z)
        assert abs(got - exact) < 1e-6, f"n={n}: w1_samples {got} against quad {exact}"
    # draws beyond the table count by their full distance: W1 = E|100 - Z| in z1, E|Z| in z2
    far = np.tile([100.0, 0.0], (5, 1))
    assert yard.w1_samples(far) == pytest.approx(0.5 * (100.0 + math.sqrt(2 / math.pi)), abs=1e-6)


def test_w1_samples_ignores_non_finite_rows():
    yard = Yardstick(make_grid(make_target("banana")))
    z = np.random.default_rng(13).normal(size=(500, 2))
    bad = np.vstack([z[:200], [[np.nan, 0.0], [1.0, np.inf], [-np.inf, np.nan]], z[200:]])
    assert yard.w1_samples(bad) == yard.w1_samples(z)
    assert math.isnan(yard.w1_samples(z[:1])) and math.isnan(yard.w1_samples(bad[200:203]))
    assert math.isnan(yard.w1_q(GaussianQ(np.array([np.nan, 0.0]), np.eye(2))))


def _funnel_draws(rng, n, scale=3.0):
    v = rng.normal(0.0, scale, n)
    return np.stack([v, np.exp(v / 2) * rng.standard_normal(n)], axis=-1)


def test_w1_on_the_funnel_matches_quad_over_its_exact_marginal():
    # x's exact marginal CDF F(x) = ∫ N(v; 0, 9) Phi(x e^(-v/2)) dv by quad, heavy tails and all;
    # v's is N(0, 9). A few exact draws: the yardstick's integral against quad's.
    from scipy import integrate

    grid = make_grid(make_target("funnel"))
    yard = Yardstick(grid)
    c = 1.0 / (3.0 * math.sqrt(2.0 * math.pi))

    def cdf_x(x):
        f = lambda v: c * math.exp(-v * v / 18.0) * 0.5 * math.erfc(-x * math.exp(-v / 2) / math.sqrt(2.0))  # noqa: E731
        return integrate.quad(f, -45.0, 45.0, epsabs=1e-15, limit=200)[0]

    z = _funnel_draws(np.random.default_rng(14), 12)
    sd = np.sqrt(np.diag(grid.cov))
    assert abs(sd[1] ** 2 - math.exp(4.5)) < 1e-6 * math.exp(4.5)
    w_v = _w1_step_vs(z[:, 0], lambda v: 0.5 * math.erfc(-v / (3.0 * math.sqrt(2.0))), -60.0, 60.0)
    s = np.sort(z[:, 1])
    w_x = _w1_step_vs(z[:, 1], cdf_x, s[0], s[-1])
    w_x += integrate.quad(cdf_x, -np.inf, s[0], epsabs=1e-12, limit=200)[0]  # F_n = 0 below the draws
    w_x += integrate.quad(lambda x: 1.0 - cdf_x(x), s[-1], np.inf, epsabs=1e-12, limit=200)[0]
    exact = 0.5 * (w_v / sd[0] + w_x / sd[1])
    assert abs(yard.w1_samples(z) - exact) < 2e-5, (yard.w1_samples(z), exact)


def test_w1_sees_the_funnel_tails_that_mmd_misses():
    # Exact draws score at the finite-sample floor (W1 between two exact draw sets, by scipy, is
    # about sqrt(2) times it); draws that never reach the neck or the mouth (|v| < 8, 0.8 % of
    # the mass: Var(x) 34 against 90, near emcee's 36-65) score many times worse in W1 while
    # their MMD stays under 0.01.
    from scipy.stats import wasserstein_distance

    grid = make_grid(make_target("funnel"))
    yard = Yardstick(grid)
    sd = np.sqrt(np.diag(grid.cov))
    z = _funnel_draws(np.random.default_rng(0), 600_000)
    exact, other = z[:200_000], z[200_000:400_000]
    cut = z[200_000:][np.abs(z[200_000:, 0]) < 8.0][:200_000]
    floor = np.mean([wasserstein_distance(exact[:, k], other[:, k]) / sd[k] for k in (0, 1)])
    w_exact, w_cut = yard.w1_samples(exact), yard.w1_samples(cut)
    m_exact, m_cut = yard.mmd_samples(exact), yard.mmd_samples(cut)
    print(f"funnel: exact W1 {w_exact:.4f} MMD {m_exact:.4f} (floor {floor:.4f}); ", end="")
    print(f"|v| < 8 (Var x {cut[:, 1].var():.0f}): W1 {w_cut:.4f} MMD {m_cut:.4f}")
    assert 25 < cut[:, 1].var() < 45 and exact[:, 1].var() > 80
    assert w_exact < 1.5 * floor, f"exact draws W1 {w_exact} above the two-sample floor {floor}"
    assert w_cut > 5 * w_exact, f"tail-cut W1 {w_cut} not 5x the exact draws' {w_exact}"
    assert m_cut < 0.01 and w_cut > 3 * m_cut, f"tail-cut MMD {m_cut}, W1 {w_cut}"


def test_w1_of_the_truth_as_q_is_zero_to_the_grid_resolution():
    # the exact posterior as a GaussianQ: 0 to the table's accuracy
    t = make_target("gaussian", rho=0.8)
    yard = Yardstick(make_grid(t))
    assert yard.w1_q(GaussianQ(np.zeros(2), np.linalg.cholesky(np.array([[1, 0.8], [0.8, 1]])))) < 1e-6
    # rho = 0: the posterior is the product of its marginals, a GridProductQ of the grid's cell
    # marginals is it up to the midpoint rule, an O(h^2) error: 4x less for twice the cells
    w = []
    for n in (100, 200):
        g = make_grid(make_target("gaussian", rho=0.0), n=n)
        w.append(Yardstick(g).w1_q(GridProductQ.on(g, g.weights.sum(1), g.weights.sum(0))))
    assert w[1] < 2e-4 and 3.5 < w[0] / w[1] < 4.5, w
    # a target without a closed form: the reference is the grid (plus its scan), so ~0
    g = make_grid(make_target("donut"))
    assert Yardstick(g).w1_q(GridProductQ.on(g, g.weights.sum(1), g.weights.sum(0))) < 1e-6
    # and a shifted q is seen: W1 of a shift d is d / sd per coordinate
    shifted = GaussianQ(np.array([0.5, 0.0]), np.linalg.cholesky(np.array([[1, 0.8], [0.8, 1]])))
    assert yard.w1_q(shifted) == pytest.approx(0.25, abs=1e-6)


def test_w1_samples_in_chunks_equals_one_pass(monkeypatch):
    """The draws and the table are merged a chunk of points at a time: the same integral."""
    yard = Yardstick(make_grid(make_target("funnel")))
    z = _funnel_draws(np.random.default_rng(15), 5000)
    whole = yard.w1_samples(z)
    monkeypatch.setattr(chunks, "CHUNK_POINTS", 777)
    assert yard.w1_samples(z) == pytest.approx(whole, rel=1e-12)


@pytest.mark.parametrize("n", [200, 5000])
def test_w1_resolution_is_what_exact_draws_score(n):
    # against the mean W1 of independent exact draws of the same size (the ρ = 0.8 Gaussian)
    t = make_target("gaussian", rho=0.8)
    yard = Yardstick(make_grid(t))
    rng = np.random.default_rng(3)
    cov = np.array([[1.0, 0.8], [0.8, 1.0]])
    scores = [yard.w1_samples(rng.multivariate_normal(np.zeros(2), cov, n)) for _ in range(200)]
    mean, se = np.mean(scores), np.std(scores) / np.sqrt(len(scores))
    res = yard.w1_resolution(n)
    assert abs(res - mean) < 4 * se + 0.03 * mean, (res, mean, se)
    assert yard.w1_resolution(4 * n) == pytest.approx(res / 2) and math.isnan(yard.w1_resolution(0))


def test_mean_marginal_tv_against_normal_cell_masses():
    # gaussian target: N(0, 1) marginals; q = N(m, s^2) per axis; TV on the grid's cells = half the sum of the
    # cell-mass differences (two open end cells), computed here from the normal CDF
    from scipy.special import ndtr

    t = make_target("gaussian")
    grid = make_grid(t)
    yard = Yardstick(grid)
    q = GaussianQ(np.array([0.5, -0.3]), np.diag([0.6, 1.2]))  # (loc, chol)
    want = 0.0
    for k, (m, s) in enumerate([(0.5, 0.6), (-0.3, 1.2)]):
        edges = np.linspace(grid.box[2 * k], grid.box[2 * k + 1], (grid.xs, grid.ys)[k].size + 1)[1:-1]
        p = np.diff(np.concatenate([[0.0], ndtr(edges), [1.0]]))
        r = np.diff(np.concatenate([[0.0], ndtr((edges - m) / s), [1.0]]))
        want += 0.25 * np.abs(p - r).sum()
    assert yard.mmtv_q(q) == pytest.approx(want, abs=2e-3)
    assert yard.mmtv_q(GaussianQ(np.zeros(2), np.eye(2))) < 2e-3, "the exact marginals: TV 0"
    assert yard.mmtv_q(GaussianQ(np.array([40.0, 40.0]), np.eye(2))) > 0.99, "disjoint: TV 1"
    # exact draws: TV on sqrt(n) cells is their histogram noise, falling as n grows
    rng = np.random.default_rng(4)
    small, large = (
        yard.mmtv_samples(rng.multivariate_normal(np.zeros(2), [[1, 0.8], [0.8, 1]], n)) for n in (100, 10000)
    )
    assert large < small < 0.25 and large < 0.05


def test_a_grids_yardstick_is_built_once_and_not_pickled():
    import pickle

    from vi_core.metrics import yardstick

    g = make_grid(make_target("banana"))
    y = yardstick(g)
    assert yardstick(g) is y and yardstick(make_grid(make_target("banana"))) is not y
    back = pickle.loads(pickle.dumps(g))
    assert "_yardstick" not in back.__dict__
    z = np.random.default_rng(0).standard_normal((500, 2))
    assert yardstick(back).w1_samples(z) == y.w1_samples(z) and yardstick(back).mmd_samples(z) == y.mmd_samples(z)
