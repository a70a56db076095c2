"""ui.results, the Playground's Results table: τ and ESS are never shown bare where they would mislead."""

import dataclasses

import numpy as np

from ui.results import _ess, _judged_by, _tau
from vi_core.api import Settings, run_sampler, run_vi
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


def test_every_row_has_a_glossary_line_and_every_cell_is_escaped():
    from ui.results import GLOSSARY, results_html, table

    t = make_target("gaussian")
    grid = make_grid(t, 50)
    vi = run_vi(t, "gauss-mf", 0, Settings(vi_steps=5, n_grid=50), grid=grid)
    mc = run_sampler(t, "rwm", 0, Settings(mcmc_steps=50, n_grid=50), grid=grid)
    rows = table(vi, mc, 1e-3)
    assert [r["method"] for r in rows] == [f"VI · {vi.label}", f"MCMC · {mc.label}"]
    assert set(rows[0]) - {"method"} <= set(GLOSSARY) and rows[0].keys() == rows[1].keys()
    html = results_html([{**r, "method": "<b>x</b>"} for r in rows])
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
