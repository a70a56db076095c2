"""The yardstick: ln p(X) = ELBO + KL against independent values, MMD, Pareto k-hat."""

import math

import numpy as np
import pytest

from vi_core import chunks
from vi_core.families import GaussianQ, GridProductQ
from vi_core.grid import make_grid
from vi_core.metrics import Yardstick, decomposition, elbo, gaussian_elbos, moment_errors, pareto_khat
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
