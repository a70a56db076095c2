"""The worked example page: Wikipedia's closed-form updates, re-implemented here from the CSV with plain
numpy/scipy, against the numbers the page displays; their fixed point against grid CAVI; the outlier toggle."""

import csv
import functools
import math
import pathlib

import numpy as np
import pytest
from scipy import special, stats
from scipy.integrate import quad
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/2_Conjugate_example.py"
DEFAULT = dict(mu0=0.0, lambda0=0.01, a0=1.0, b0=100.0)
# a prior that argues with the data (μ0 far off, strong λ0) and a tight one on τ
PRIORS = [DEFAULT, dict(mu0=-100.0, lambda0=10.0, a0=0.5, b0=1.0), dict(mu0=30.0, lambda0=1.0, a0=50.0, b0=5000.0)]


def newcomb(drop_outliers: bool) -> np.ndarray:
    with open(ROOT / "vi_core" / "data" / "newcomb.csv", newline="") as f:
        x = np.array([float(r["dat"]) for r in csv.DictReader(f)])
    return x[(x != -44) & (x != -2)] if drop_outliers else x


def wikipedia_cavi(x, mu0, lambda0, a0, b0, e_tau0=1.0, n_iter=10, tol=1e-15):
    """Wikipedia's updates as printed there, from a start q with E[τ] = e_tau0.

    Returns (rows, fixed): rows (n_iter + 1, 4) of (μ_N, λ_N, a_N, b_N) per iteration, and the
    fixed point after iterating until λ_N changes by less than tol (relative).
    """
    n, sx, sx2 = x.size, x.sum(), (x**2).sum()
    mu_n = (lambda0 * mu0 + n * x.mean()) / (lambda0 + n)
    a_n = a0 + (n + 1) / 2
    lam_n = (lambda0 + n) * e_tau0
    rows = [(mu_n, lam_n, a_n, a_n / e_tau0)]
    for k in range(10_000):
        # E_μ[Σ(x_i − μ)² + λ0(μ − μ0)²] with E[μ] = μ_N and E[μ²] = 1/λ_N + μ_N²
        e_quad = (lambda0 + n) * (1 / lam_n + mu_n**2) - 2 * mu_n * (lambda0 * mu0 + sx) + sx2 + lambda0 * mu0**2
        b_n = b0 + 0.5 * e_quad
        lam_new = (lambda0 + n) * a_n / b_n
        if k < n_iter:
            rows.append((mu_n, lam_new, a_n, b_n))
        done = abs(lam_new - lam_n) <= tol * lam_n
        lam_n = lam_new
        if done and k >= n_iter:
            break
    return np.array(rows), (mu_n, lam_n, a_n, b_n)


def elbo(x, prior, mu_n, lam_n, a_n, b_n) -> float:
    """E_q[ln p(X, μ, τ)] + H[q] term by term in (μ, τ), q = N(μ_N, 1/λ_N) Gamma(a_N, rate b_N)."""
    mu0, lambda0, a0, b0 = (prior[k] for k in ("mu0", "lambda0", "a0", "b0"))
    n = x.size
    e_tau, e_ln_tau = a_n / b_n, special.digamma(a_n) - math.log(b_n)
    e_sq_data = ((x - mu_n) ** 2).sum() + n / lam_n
    e_sq_prior = (mu_n - mu0) ** 2 + 1 / lam_n
    ln_lik = 0.5 * n * (e_ln_tau - math.log(2 * math.pi)) - 0.5 * e_tau * e_sq_data
    ln_mu = 0.5 * (math.log(lambda0) + e_ln_tau - math.log(2 * math.pi)) - 0.5 * lambda0 * e_tau * e_sq_prior
    ln_tau = a0 * math.log(b0) - special.gammaln(a0) + (a0 - 1) * e_ln_tau - b0 * e_tau
    h = stats.norm(mu_n, lam_n**-0.5).entropy() + stats.gamma(a_n, scale=1 / b_n).entropy()
    return float(ln_lik + ln_mu + ln_tau + h)


def log_evidence(x, prior) -> float:
    """ln p(X) of the Normal-Gamma model, integrating μ out analytically and τ by quadrature."""
    mu0, lambda0, a0, b0 = (prior[k] for k in ("mu0", "lambda0", "a0", "b0"))
    n, xbar = x.size, x.mean()
    rate = b0 + 0.5 * ((x - xbar) ** 2).sum() + 0.5 * lambda0 * n * (xbar - mu0) ** 2 / (lambda0 + n)
    shape = a0 + n / 2
    const = (
        a0 * math.log(b0)
        - special.gammaln(a0)
        + 0.5 * math.log(lambda0 / (lambda0 + n))
        - 0.5 * n * math.log(2 * math.pi)
    )
    # ∫ τ^(shape-1) e^(-rate τ) dτ, numerically (scaled to peak 1 so quad sees an O(1) integrand)
    mode = (shape - 1) / rate
    peak = (shape - 1) * math.log(mode) - rate * mode
    val, _ = quad(lambda t: math.exp((shape - 1) * math.log(t) - rate * t - peak), 0, 60 * mode, limit=200, epsabs=0)
    return const + peak + math.log(val)


def open_page(prior=None, drop=False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    for k, v in (prior or {}).items():
        if v != DEFAULT[k]:
            at.number_input(key=f"cj_{k}").set_value(v)
    if drop:
        at.toggle(key="cj_drop").set_value(True)
    at.run()
    assert not at.exception, at.exception
    return at


@functools.cache
def _shown(prior_items: tuple, drop: bool) -> AppTest:
    """The page as opened with this prior and data set, once per module: the tests below only read it."""
    return open_page(dict(prior_items), drop)


def shown(prior: dict, drop: bool) -> AppTest:
    return _shown(tuple(sorted(prior.items())), drop)


def tables(at: AppTest):
    """(iterations, comparison, outliers) as the page displays them."""
    it, cmp_, out = (d.value for d in at.dataframe)
    assert list(it.columns[:5]) == ["k", "μ_N", "λ_N", "a_N", "b_N"]
    assert list(cmp_.iloc[:, 0]) == ["closed-form CAVI q", "grid CAVI q", "exact posterior"]
    return it, cmp_.set_index(cmp_.columns[0]), out


@pytest.mark.parametrize("drop", [False, True], ids=["all-66", "clean-64"])
@pytest.mark.parametrize("prior", PRIORS, ids=["default", "conflict", "tight"])
def test_page_shows_wikipedias_updates(prior, drop):
    x = newcomb(drop)
    at = shown(prior, drop)
    it, cmp_, _ = tables(at)
    rows, fixed = wikipedia_cavi(x, **prior)
    # every iteration the page lists, from the same start (E[τ] = 1)
    np.testing.assert_allclose(it[["μ_N", "λ_N", "a_N", "b_N"]].to_numpy(), rows, rtol=1e-6)
    np.testing.assert_allclose(it["E[τ] = a_N/b_N"], rows[:, 2] / rows[:, 3], rtol=1e-6)
    elbos = [elbo(x, prior, *r) for r in rows]
    np.testing.assert_allclose(it["ELBO_k"], elbos, rtol=1e-9)
    assert np.all(np.diff(elbos) >= -1e-9), "the ELBO must not decrease"
    # the fixed point: the last row, and the comparison table
    np.testing.assert_allclose(it.iloc[-1][["μ_N", "λ_N", "a_N", "b_N"]].to_numpy(dtype=float), fixed, rtol=1e-6)
    mu_n, lam_n, a_n, b_n = fixed
    cf = cmp_.loc["closed-form CAVI q"]
    np.testing.assert_allclose(
        cf[["E[μ]", "sd(μ)", "E[τ]", "sd(τ)"]].to_numpy(dtype=float),
        [mu_n, lam_n**-0.5, a_n / b_n, math.sqrt(a_n) / b_n],
        rtol=1e-6,
    )
    # and the numbers typed into the formulas
    latex = at.latex[2].value
    assert f"{mu_n:.4f}" in latex and f"{b_n:.3f}" in latex and f"{lam_n:.5f}" in latex


@pytest.mark.parametrize("drop", [False, True], ids=["all-66", "clean-64"])
@pytest.mark.parametrize("prior", PRIORS, ids=["default", "conflict", "tight"])
def test_fixed_point_matches_grid_cavi(prior, drop):
    x = newcomb(drop)
    _, cmp_, _ = tables(shown(prior, drop))
    mu_n, lam_n, a_n, b_n = wikipedia_cavi(x, **prior)[1]
    log_z = log_evidence(x, prior)
    kl = log_z - elbo(x, prior, mu_n, lam_n, a_n, b_n)
    grid, exact = cmp_.loc["grid CAVI q"], cmp_.loc["exact posterior"]
    assert 0 < kl < 0.05
    assert abs(grid["KL(q ‖ p)"] - kl) < 1e-3, (grid["KL(q ‖ p)"], kl)
    assert abs(exact["ELBO"] - log_z) < 1e-6, "the page's exact ln p(X)"
    # means and variances of grid CAVI's factors (grid CAVI works in ln τ; its τ moments are by quadrature)
    np.testing.assert_allclose(grid[["E[μ]", "E[τ]"]].to_numpy(dtype=float), [mu_n, a_n / b_n], rtol=1e-4)
    np.testing.assert_allclose(
        grid[["sd(μ)", "sd(τ)"]].to_numpy(dtype=float) ** 2, [1 / lam_n, a_n / b_n**2], rtol=1e-3
    )
    # as the page says: the fixed point has the exact means, but too little spread
    np.testing.assert_allclose(exact[["E[μ]", "E[τ]"]].to_numpy(dtype=float), [mu_n, a_n / b_n], rtol=1e-9)
    assert exact["sd(μ)"] > grid["sd(μ)"] and exact["sd(τ)"] > grid["sd(τ)"]


def test_the_page_states_the_kl_gap():
    at = shown(DEFAULT, False)
    x = newcomb(False)
    fixed = wikipedia_cavi(x, **DEFAULT)[1]
    kl = log_evidence(x, DEFAULT) - elbo(x, DEFAULT, *fixed)
    assert any(f"KL(q ‖ p) = {kl:.6f} nats" in m.value for m in at.markdown), f"KL {kl:.6f} not on the page"


def test_removing_the_outliers_moves_mu_up_and_tau_up():
    at = open_page()
    it, cmp_, out = tables(at)
    mu_all, tau_all = it["μ_N"].iloc[-1], cmp_.loc["exact posterior", "E[τ]"]
    at.toggle(key="cj_drop").set_value(True).run()
    assert not at.exception
    it2, cmp2, out2 = tables(at)
    mu_clean, tau_clean = it2["μ_N"].iloc[-1], cmp2.loc["exact posterior", "E[τ]"]
    assert mu_all < mu_clean < 33.02, (mu_all, mu_clean)
    assert tau_clean > 3 * tau_all
    assert mu_clean == pytest.approx(wikipedia_cavi(newcomb(True), **DEFAULT)[1][0], rel=1e-9)
    # the "without the outliers" table always shows both data sets, whichever the toggle picks
    assert list(out2["N"]) == [66, 64] and out2.equals(out)


def test_page_measures_vb_against_gibbs():
    """The VB-versus-Gibbs section: its table's exact row is the Normal-Gamma posterior, its VB row the fixed
    point, and its paragraph is the engine's verdict on the same runs (numbers that do not depend on the clock):
    the speed ratio as a median and range over the seeds, with a table of every seed."""
    import re

    from vi_core.conjugate import exact_moments
    from vi_core.targets import make_target
    from vi_core.vb_gibbs import SEEDS, compare

    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    (table,) = [t for t in at.table if "MMD to exact" in t.value.columns]
    rows = table.value.set_index(table.value.columns[0])
    target = make_target("newcomb")
    c = compare(target)
    ex = exact_moments(target.posterior, target.log_z_exact)
    assert rows.loc["exact", "sd(μ)"] == f"{ex.sd_mu:.4f}"
    assert rows.loc["variational Bayes", "KL(q ‖ p)"] == f"{c.vb.kl:.4f}"
    assert rows.loc["variational Bayes", "MMD to exact"] == f"{c.vb.mmd:.4f}"
    assert rows.loc["Gibbs (4 chains)", "MMD to exact"] == f"{c.gibbs.mmd:.4f}"  # seeded: the same draws
    (text,) = [m.value for m in at.markdown if m.value.startswith("Variational Bayes reached")]
    assert f"distance {c.vb.mmd:.4f}" in text and "(seed 0) it needed" in text
    assert f"{c.match_updates:,} draws" in text  # the drawn run's own figure, labelled as seed 0's
    # the claim's ratio over the seeds: median and range, as the per-seed table has them
    m = re.search(
        rf"Over {SEEDS} seeds .* median of ([\d,]+)× VB's time to be as close \(range ([\d,]+)–([\d,]+)×\), "
        r"after a median of ([\d,]+) conditional draws \(range ([\d,]+)–([\d,]+)\)",
        text,
    )
    assert m, text
    med, lo, hi, med_u, lo_u, hi_u = (int(g.replace(",", "")) for g in m.groups())
    assert lo <= med <= hi and lo_u <= med_u <= hi_u and lo > 1
    assert f"at least {lo:,}× sooner than Gibbs was as close, in every seed" in text
    (seeds,) = [t.value for t in at.table if "× VB's time" in t.value.columns]
    per_seed = seeds.iloc[:SEEDS]
    assert list(per_seed["seed"]) == [str(k) for k in range(SEEDS)]
    ratios = per_seed["× VB's time"].str.replace(",", "").astype(float)
    draws = per_seed["draws"].str.replace(",", "").astype(float)
    assert (ratios.min(), ratios.max()) == (lo, hi)
    assert (draws.min(), draws.max(), draws.median()) == (lo_u, hi_u, med_u)  # draws: seeded, exact
    assert int(draws.iloc[0]) == c.match_updates
    summary = seeds.set_index("seed").iloc[SEEDS:]
    assert (
        summary.loc["median", "× VB's time"] == f"{med:,}" and summary.loc["range", "× VB's time"] == f"{lo:,}–{hi:,}"
    )
