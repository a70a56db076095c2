"""Verdicts read Pareto k̂ with the other evidence; KLs print honestly."""

import math

import numpy as np
import pytest

from vi_core.api import run_vi
from vi_core.grid import make_grid
from vi_core.rules import RULES, Evidence, mcmc_verdict
from vi_core.targets import make_target
from vi_core.verdicts import KL_TOL, format_kl, khat_threshold, kl_tolerance, vi_verdict


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
    good = vi_verdict(0.2, 0.001, kl_best=0.001, kl_local=0.001, n_optima=1, khat_draws=100_000)
    cut = vi_verdict(
        0.2, 0.001, kl_best=0.001, kl_local=0.001, n_optima=1, reference_truncated=True, khat_draws=100_000
    )
    assert good.level == "good" and good.text.startswith("Good")
    assert cut.level != "good" and "reference" in cut.text and not cut.text.startswith("Good")


@pytest.mark.parametrize(
    ("kwargs", "level", "says"),
    [
        (dict(kl=0.51, kl_best=0.51, kl_local=0.51), "bad", "All of it is the family's bias"),
        (dict(kl=0.2, kl_best=0.01, kl_local=0.2), "warn", "optimiser's failure"),
        (dict(kl=0.2, kl_best=0.01, kl_local=0.01), "warn", "had not converged"),
        (dict(kl=0.2, kl_best=0.01, kl_local=0.2, n_optima=3), "warn", "3 local optima"),
    ],
)
def test_the_exact_kl_leads_and_a_good_khat_does_not_override_it(kwargs, level, says):
    v = vi_verdict(0.3, khat_draws=100_000, **kwargs)
    assert v.level == level and says in v.text, v.text
    assert v.text.index("KL(q || p) =") < v.text.index("Pareto k̂"), "the KL comes first"
    assert "sees only where q puts" in v.text


def test_optimisation_gap_is_split_into_unconverged_and_worse_optimum():
    v = vi_verdict(0.9, 1.0, kl_best=0.2, kl_local=0.7, n_optima=2, family="mean-field Gaussians", khat_draws=10**5)
    assert v.level == "bad" and "0.80 nats this run's optimisation gap" in v.text
    assert "0.20 nats is the family's bias (the best of mean-field Gaussians)" in v.text
    assert "0.30 nats short" in v.text and "local optimum 0.50 nats worse" in v.text


def test_khat_never_overrides_the_kl():
    # the level is the KL's; k̂ only adds a sentence (with its sample-size threshold)
    for khat in (0.3, 0.69, 0.75, 1.5, float("nan")):
        assert vi_verdict(khat, 0.001, khat_draws=100_000).level == "good"
        assert vi_verdict(khat, 0.2, khat_draws=100_000).level == "warn"
        assert vi_verdict(khat, 0.9, khat_draws=100_000).level == "bad"
    assert "threshold 0.70" in vi_verdict(0.75, 0.001, khat_draws=100_000).text
    assert "heavy tail" in vi_verdict(0.75, 0.001, khat_draws=100_000).text
    assert "threshold 0.50" in vi_verdict(0.45, 0.001, khat_draws=100).text


def test_khat_threshold_follows_the_sample_size():
    # min(1 - 1/log10 S, 0.7): 0.5 at S = 100, 0.67 at 1000, 0.7 from about 2200 on
    assert khat_threshold(100) == pytest.approx(0.5)
    assert khat_threshold(1000) == pytest.approx(2 / 3)
    assert khat_threshold(2200) == pytest.approx(0.7, abs=1e-3) and khat_threshold(100_000) == 0.7


def test_khat_verdict_is_stable_over_seeds_for_newcomb_mean_field():
    # The audit: at the app's old 10,000 draws the same q gave k̂ 0.41-0.94 over draw sets, so the sentence flipped.
    from vi_core.api import KHAT_DRAWS
    from vi_core.metrics import pareto_khat

    t = make_target("newcomb")
    q = run_vi(t, "gauss-mf", seed=0, grid=make_grid(t)).qs[-1]
    thr = khat_threshold(KHAT_DRAWS)
    below = [pareto_khat(t, q, seed=s, n=KHAT_DRAWS) < thr for s in range(10)]
    assert max(sum(below), 10 - sum(below)) >= 8, below


def _ev(**kw) -> Evidence:
    base = dict(
        rhat=np.array([1.002, 1.004]),
        ess_bulk=np.array([1500.0, 1700.0]),
        ess_tail=np.array([1200.0, 1300.0]),
        tau=np.array([3.0, 3.5]),
        n_chains=4,
        n_kept=1500,
        acceptance=0.9,
        stats={"accept_stat": 0.85, "divergences": 0},
        target_accept=0.8,
    )
    return Evidence(**{**base, **kw})


def test_texts_are_plain():
    for v in (
        vi_verdict(
            0.3, 0.5, kl_best=0.1, kl_local=0.3, n_optima=2, reference_truncated=True, note="Shown: x.", khat_draws=99
        ),
        *(mcmc_verdict(_ev(rhat=np.array([1.3, 1.0]), ess_bulk=np.array([20.0, 500.0])), (r,)) for r in RULES),
    ):
        assert not any(c in v.text for c in "*_`#[]"), v.text  # no Markdown
        assert v.level in ("good", "warn", "bad")


def test_independent_chains_need_rhat_and_both_ess():
    ok = mcmc_verdict(_ev(), ("chains", "hamiltonian"))
    assert ok.level == "good" and "R-hat = 1.004" in ok.text and "1,500 for the bulk, 1,200 for the tails" in ok.text
    assert mcmc_verdict(_ev(rhat=np.array([1.05, 1.0])), ("chains",)).level == "warn"
    assert mcmc_verdict(_ev(rhat=np.array([1.2, 1.0])), ("chains",)).level == "bad"
    low_tail = mcmc_verdict(_ev(ess_tail=np.array([300.0, 900.0])), ("chains",))
    assert low_tail.level == "warn" and "300 for the tails" in low_tail.text and "Below 400" in low_tail.text


def test_hamiltonian_judged_by_its_acceptance_statistic_not_the_moved_fraction():
    # the fraction that moved (0.94) is not NUTS's acceptance statistic; the statistic (0.85) meets its 0.8 target
    assert mcmc_verdict(_ev(acceptance=0.94), ("chains", "hamiltonian")).level == "good"
    low = mcmc_verdict(_ev(stats={"accept_stat": 0.6, "divergences": 0}), ("chains", "hamiltonian"))
    assert low.level == "warn" and "0.60, well below its target 0.80" in low.text
    div = mcmc_verdict(_ev(stats={"accept_stat": 0.85, "divergences": 12}), ("chains", "hamiltonian"))
    assert div.level == "warn" and "12 divergent transitions" in div.text


def test_emcee_is_judged_by_its_autocorrelation_time_not_rhat():
    # walkers are not independent chains: a high R-hat across them is not used
    ens = dict(rhat=np.array([1.09, 1.08]), n_chains=32, acceptance=0.45)
    long = mcmc_verdict(_ev(tau=np.array([17.0, 20.0]), **ens), ("autocorr", "ensemble_acceptance"))
    assert long.level == "good" and "R-hat" not in long.text and "75 τ" in long.text
    assert "2,400 independent draws" in long.text  # 32 walkers x 1500 steps / 20
    short = mcmc_verdict(_ev(tau=np.array([40.0, 45.0]), **ens), ("autocorr", "ensemble_acceptance"))
    assert short.level == "warn" and "50 τ = 2,250 steps" in short.text
    assert mcmc_verdict(_ev(tau=np.array([200.0, 45.0]), **ens), ("autocorr",)).level == "bad"  # under 10 τ
    high = mcmc_verdict(
        _ev(tau=np.array([17.0, 20.0]), **{**ens, "acceptance": 0.71}), ("autocorr", "ensemble_acceptance")
    )
    assert high.level == "warn" and "0.2-0.5" in high.text


def test_antithetic_chains_are_explained_never_shown_bare():
    # HMC on Newcomb at a fixed path length: τ = -0.40 and 4,750 effective draws from 1,500
    v = mcmc_verdict(_ev(ess_bulk=np.array([4750.0, 3400.0]), tau=np.array([-0.4, 0.45]), n_kept=375), ("chains",))
    assert "More effective draws (4,750) than draws (1,500)" in v.text and "anti-correlated" in v.text
    assert "τ = -0.40 < 1" in v.text or "τ = −0.40" in v.text or "τ = -0.4" in v.text


def test_gibbs_reports_mass_outside_its_ranges():
    cut = mcmc_verdict(_ev(stats={"mass_outside_ranges": 0.04, "stuck_updates": 0}), ("chains", "gibbs"))
    assert cut.level == "warn" and "4.0% of the posterior lies outside those ranges" in cut.text
    assert (
        mcmc_verdict(_ev(stats={"mass_outside_ranges": 1e-6, "stuck_updates": 0}), ("chains", "gibbs")).level == "good"
    )


def test_unknown_rules_are_refused():
    with pytest.raises(ValueError, match="unknown verdict rules"):
        mcmc_verdict(_ev(), ("nope",))


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


def test_a_run_below_the_family_best_found_is_not_called_its_bias():
    v = vi_verdict(0.3, 0.6, kl_best=0.65, kl_local=0.6, khat_draws=100_000)
    assert "search missed this optimum" in v.text and "All of it is the family's bias" not in v.text


def test_printed_numbers_sit_on_the_side_of_their_thresholds():
    near = mcmc_verdict(_ev(rhat=np.array([1.0104, 1.0])), ("chains",))
    assert "R-hat = 1.0104 > 1.01" in near.text and near.level == "warn"
    just = mcmc_verdict(_ev(rhat=np.array([1.0099, 1.0])), ("chains",))
    assert "R-hat = 1.0099 ≤ 1.01" in just.text
    low = mcmc_verdict(_ev(ess_bulk=np.array([399.6, 900.0])), ("chains",))
    assert "399 for the bulk" in low.text and "Below 400" in low.text
    ens = dict(n_chains=32, acceptance=0.45)
    short = mcmc_verdict(_ev(tau=np.array([30.18, 20.0]), n_kept=1500, **ens), ("autocorr",))  # 49.7 τ
    assert "are 49 τ" in short.text and short.level == "warn"


def test_a_coordinate_without_rhat_or_ess_is_not_passed_over():
    v = mcmc_verdict(_ev(rhat=np.array([1.001, np.nan])), ("chains",))
    assert v.level == "warn" and "every coordinate" in v.text
    w = mcmc_verdict(_ev(ess_tail=np.array([np.nan, 900.0])), ("chains",))
    assert w.level == "warn" and "every coordinate" in w.text


def test_random_walk_acceptance_speaks_of_the_tuned_proposal():
    low = mcmc_verdict(_ev(acceptance=0.07), ("chains", "metropolis_acceptance"))
    assert low.level == "warn" and "tuned" in low.text and "step size" not in low.text


@pytest.mark.parametrize(
    ("w1", "floor", "level", "says"),
    [
        (0.03, 0.02, "good", "match the truth's"),
        (0.10, 0.08, "good", "match the truth's"),  # within 1.5x what as many exact draws would score: noise
        (0.15, 0.02, "warn", "near the posterior but off"),
        (0.90, 0.02, "bad", "miss much of the posterior"),
        (math.nan, 0.02, "warn", "could not be computed"),
    ],
)
def test_particles_are_judged_by_w1_against_what_exact_draws_would_score(w1, floor, level, says):
    v = vi_verdict(math.nan, math.nan, khat_draws=0, w1=w1, w1_floor=floor)
    assert v.level == level and says in v.text
    assert "KL(q || p) =" not in v.text and "k̂" not in v.text.replace("no ELBO, KL or k̂", "")


def test_a_particle_run_reads_its_own_numbers():
    t = make_target("mixture")
    res = run_vi(t, "svgd", seed=0, grid=make_grid(t))
    assert f"W1 = {res.w1_sd[-1]:.2g}" in res.verdict
    assert math.isnan(res.kl[-1]) and math.isnan(res.khat)
