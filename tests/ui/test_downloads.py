"""ui.downloads: the Playground's data files (samples, VI trace, summary) as text."""

import json

import numpy as np

from ui.compute import Outcome, Settings, burn_in, make_target
from ui.downloads import samples_csv, summary_json, vi_trace_csv
from ui.spec import RunSpec
from vi_core.api import run_sampler, run_vi
from vi_core.grid import make_grid

TINY = Settings(n_grid=50, cavi_sweeps=3, vi_steps=5, walkers=8, mcmc_steps=20)


def _outcome():
    spec = RunSpec(make_target("banana"), "gauss-mf", "emcee", seed=2, settings=TINY)
    grid = make_grid(spec.target, TINY.n_grid)
    vi = run_vi(spec.target, "gauss-mf", 2, TINY, grid=grid)
    mc = run_sampler(spec.target, "emcee", 2, TINY, grid=grid)
    return spec, Outcome(grid, vi, mc, 0.1)


def test_the_files_hold_every_draw_every_step_and_a_clean_summary():
    spec, out = _outcome()
    rows = np.loadtxt(samples_csv(out.mc).splitlines(), delimiter=",", skiprows=1)
    t, w, _ = out.mc.chain.shape
    assert rows.shape == (t * w, 5)
    np.testing.assert_allclose(rows[:, 2:4], out.mc.chain.reshape(-1, 2), rtol=1e-5)
    assert (rows[:, 4] == (rows[:, 0] >= burn_in(t))).all()
    trace = vi_trace_csv(out.vi).splitlines()
    assert trace[0].startswith("step,time_s,elbo_exact") and len(trace) == 1 + out.vi.times.size
    text = summary_json(spec, out)
    assert "NaN" not in text and "Infinity" not in text, "non-finite numbers are written as null"
    summary = json.loads(text)
    assert summary["spec"]["target"] == "banana" and summary["log_evidence"] == out.grid.log_z
