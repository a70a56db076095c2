"""The Playground's results table: τ and ESS are never shown bare where they would mislead."""

import dataclasses

import numpy as np

from ui.playground import _ess, _judged_by, _tau
from vi_core.api import Settings, run_sampler
from vi_core.grid import make_grid
from vi_core.targets import make_target


def test_anti_correlated_chains_are_labelled_in_the_table():
    # a result whose τ is below 1 (the estimator gave -0.40, as HMC on Newcomb did at a fixed path length) and
    # whose ESS is above its draws: neither number is shown bare
    t = make_target("newcomb")
    res = run_sampler(t, "hmc", 3, Settings(mcmc_steps=600), grid=make_grid(t))
    d = res.diagnostics
    forced = dataclasses.replace(
        res,
        diagnostics=d._replace(tau=np.array([-0.4, 0.45]), ess_bulk=np.array([10.0, 9.0]) * d.n_samples),
    )
    assert _tau(forced) == "< 1: anti-correlated draws (see the verdict)" and "-0.4" not in _tau(forced)
    assert _ess(forced).endswith("(> draws: anti-correlated, see the verdict)")
    plain = dataclasses.replace(res, diagnostics=d._replace(tau=np.array([3.0, 4.5]), ess_bulk=np.array([900.0] * 2)))
    assert _tau(plain) == "4.5" and "anti-correlated" not in _ess(plain)


def test_emcee_is_shown_by_its_own_yardsticks():
    t = make_target("gaussian")
    res = run_sampler(t, "emcee", 0, Settings(mcmc_steps=400), grid=make_grid(t))
    assert _ess(res).startswith("≈ ") and "(from τ)" in _ess(res)
    assert "autocorrelation time" in _judged_by(res) and "R-hat" not in _judged_by(res)
    chains = run_sampler(t, "gibbs", 0, Settings(mcmc_steps=400), grid=make_grid(t))
    assert " bulk / " in _ess(chains) and "R-hat" in _judged_by(chains)
