"""The Playground's results table: τ and ESS are never shown bare where they would mislead."""

import dataclasses

from ui.playground import _ess, _judged_by, _tau
from vi_core.api import Settings, run_sampler
from vi_core.grid import make_grid
from vi_core.targets import make_target


def test_anti_correlated_chains_are_labelled_in_the_table():
    # HMC at a short fixed-ish path on Newcomb: antithetic draws (τ < 1, more effective draws than draws)
    t = make_target("newcomb")
    res = run_sampler(t, "hmc", 3, Settings(mcmc_steps=600), grid=make_grid(t))
    d = res.diagnostics
    if d.tau.min() < 1:
        assert "(< 1: anti-correlated draws)" in _tau(res)
    if d.ess_bulk.max() > d.n_samples:
        assert "anti-correlated" in _ess(res) and "anti-correlated" in res.verdict
    # forced: the same result with τ below 1 and an ESS above the draws is always explained
    forced = dataclasses.replace(
        res,
        diagnostics=d._replace(tau=d.tau * 0 - 0.4, ess_bulk=d.ess_bulk * 0 + 10 * d.n_samples),
    )
    assert _tau(forced) == "-0.40 (< 1: anti-correlated draws)"
    assert _ess(forced).endswith("(> draws: anti-correlated, see the verdict)")


def test_emcee_is_shown_by_its_own_yardsticks():
    t = make_target("gaussian")
    res = run_sampler(t, "emcee", 0, Settings(mcmc_steps=400), grid=make_grid(t))
    assert _ess(res).startswith("≈ ") and "(from τ)" in _ess(res)
    assert "autocorrelation time" in _judged_by(res) and "R-hat" not in _judged_by(res)
    chains = run_sampler(t, "gibbs", 0, Settings(mcmc_steps=400), grid=make_grid(t))
    assert " bulk / " in _ess(chains) and "R-hat" in _judged_by(chains)
