"""Verdicts read Pareto k̂ with the other evidence; KLs print honestly."""

import math

import numpy as np
import pytest

from vi_core.api import run_vi
from vi_core.grid import make_grid
from vi_core.targets import make_target
from vi_core.verdicts import KL_TOL, format_kl, kl_tolerance, mcmc_verdict, vi_verdict


def test_a_q_on_one_lobe_of_u1_is_not_called_good():
    # Mean-field Gaussian VI on U1 sits on one of two lobes: k̂ < 0.5 on its own draws, but KL ≈ 0.9.
    t = make_target("u1")
    res = run_vi(t, "gauss-mf", seed=0, grid=make_grid(t))
    assert res.kl[-1] > 0.5 and res.n_optima > 1
    assert res.verdict_level != "good" and not res.verdict.startswith("Good")
    assert "only sees where q puts its draws" in res.verdict or res.khat >= 0.5
    assert "local optima" in res.verdict and "KL(q || p)" in res.verdict


def test_cavi_on_an_uncorrelated_gaussian_is_good():
    t = make_target("gaussian", rho=0.0)
    res = run_vi(t, "cavi", seed=0, grid=make_grid(t))
    assert res.verdict_level == "good" and res.verdict.startswith("Good"), res.verdict
    assert res.n_optima == 1 and abs(res.optimisation_gap) < 1e-9


def test_a_truncated_reference_changes_the_verdict():
    good = vi_verdict(0.2, 0.001, kl_best=0.001, kl_local=0.001, n_optima=1)
    cut = vi_verdict(0.2, 0.001, kl_best=0.001, kl_local=0.001, n_optima=1, reference_truncated=True)
    assert good.level == "good" and good.text.startswith("Good")
    assert cut.level != "good" and "reference" in cut.text and not cut.text.startswith("Good")


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        (dict(kl=0.5, kl_best=0.5, kl_local=0.5), "is large"),
        (dict(kl=0.05, kl_best=0.01, kl_local=0.05), "optimiser's failure"),
        (dict(kl=0.05, kl_best=0.01, kl_local=0.01), "had not converged"),
        (dict(kl=0.05, kl_best=0.01, kl_local=0.05, n_optima=3), "3 local optima"),
    ],
)
def test_good_khat_with_contrary_evidence_is_not_good(kwargs, says):
    v = vi_verdict(0.3, **kwargs)
    assert v.level == "warn" and says in v.text, v.text
    assert "only sees where q puts its draws" in v.text


def test_optimisation_gap_is_split_into_unconverged_and_worse_optimum():
    v = vi_verdict(0.9, 1.0, kl_best=0.2, kl_local=0.7, n_optima=2, family="mean-field Gaussians")
    assert v.level == "bad" and "0.80 nats above the best KL of mean-field Gaussians" in v.text
    assert "0.30 nats short" in v.text and "local optimum 0.50 nats worse" in v.text


def test_khat_levels_alone():
    assert vi_verdict(0.3, 0.0).level == "good"
    assert vi_verdict(0.6, 0.0).level == "warn"
    assert vi_verdict(0.9, 0.0).level == "bad"
    assert vi_verdict(float("nan"), 0.0).level == "warn"


def test_texts_are_plain():
    for v in (
        vi_verdict(0.3, 0.5, kl_best=0.1, kl_local=0.3, n_optima=2, reference_truncated=True, note="Shown: x."),
        mcmc_verdict(np.array([1.3, 1.0]), np.array([20.0, 500.0]), 0.05),
    ):
        assert not any(c in v.text for c in "*_`#[]"), v.text  # no Markdown
        assert v.level in ("good", "warn", "bad")


def test_mcmc_verdict():
    ok = mcmc_verdict(np.array([1.002, 1.004]), np.array([900.0, 1200.0]), 0.35)
    assert ok.level == "good" and "R-hat = 1.004" in ok.text
    slow = mcmc_verdict(np.array([1.05, 1.0]), np.array([900.0, 1200.0]), 0.35)
    assert slow.level == "warn" and "Not converged" in slow.text
    bad = mcmc_verdict(np.array([1.7, 1.2]), np.array([15.0, 40.0]), 0.03)
    assert bad.level == "bad" and "Only 15 effective draws" in bad.text and "step is too big" in bad.text
    assert "walkers crawl" in mcmc_verdict(np.array([1.0]), np.array([500.0]), 0.97).text


@pytest.mark.parametrize(
    ("kl", "tol", "text"),
    [
        (0.0, KL_TOL, "0"),
        (-0.0, KL_TOL, "0"),
        (-3e-7, KL_TOL, "0"),
        (4e-7, KL_TOL, "0"),
        (-1e-5, 2e-5, "0"),
        (0.123456, KL_TOL, "0.1235"),
        (3e-5, KL_TOL, "3.0e-05"),
        (1.0, 0.01, "1.0000"),
    ],
)
def test_format_kl(kl, tol, text):
    assert format_kl(kl, tol) == text


def test_format_kl_flags_a_real_negative_kl():
    s = format_kl(-0.02, 1e-6)
    assert s.startswith("error:") and "grid points" in s and "-0.02" in s
    assert "-0.0000" not in format_kl(-4e-5, 1e-4)
    assert format_kl(float("nan"), 1e-6) == "nan"


def test_kl_tolerance_includes_the_reference_error():
    grid = make_grid(make_target("gaussian", rho=0.0))
    tol = kl_tolerance(grid)
    assert KL_TOL <= tol < 1e-3
    ref = getattr(grid, "reference", None)
    if ref is not None:
        assert math.isclose(tol, KL_TOL + ref.log_evidence_error)
    assert kl_tolerance(object()) == KL_TOL


def test_a_coarse_grid_cavi_kl_within_its_resolution_error_prints_zero():
    # wide cells put the grid ELBO on either side of the exact ln p(X): KL -0.009 here, with the box holding the mass
    from vi_core.api import Settings, run_vi

    t = make_target("gaussian", rho=0.0)
    grid = make_grid(t, 50, (-44.1, 45.9, -44.1, 45.9))
    kl = run_vi(t, "cavi", 0, Settings(n_grid=50, cavi_sweeps=50), grid=grid).kl[-1]
    assert kl < -1e-3 and grid.mass_outside_box < 1e-9
    assert format_kl(kl, kl_tolerance(grid)).startswith("error:")
    assert format_kl(kl, kl_tolerance(grid, on_grid=True)) == "0"
