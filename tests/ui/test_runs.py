"""ui.runs, the run queue behind ui.compute: VI and MCMC are cached apart, run in worker processes, under a budget."""

import dataclasses
import pathlib
import time

import numpy as np
import pytest
import streamlit as st

from ui import figures, plot, runs
from ui.compute import (
    MCMC_LABELS,
    MCMC_METHODS,
    VI_LABELS,
    VI_METHODS,
    OutOfTime,
    Settings,
    make_expr_target,
    make_target,
)
from ui.spec import RunSpec
from vi_core import api

TINY = Settings(n_grid=50, cavi_sweeps=3, vi_steps=5, walkers=8, mcmc_steps=6)


class _Calls(dict):
    """{"vi": methods, "mcmc": methods} of the runs made, and ``scored``: the samplers' second stages made."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.scored: list[str] = []


@pytest.fixture
def counted(monkeypatch):
    """Count the engine's VI and MCMC runs behind ui.runs, with fresh caches."""
    st.cache_data.clear()
    runs.clear()  # runs, grids and race figures (the per-process warm-up resource stays)
    calls = _Calls(vi=[], mcmc=[])
    real_call = runs.ELSEWHERE.call

    def call(fn):  # a run's stage: partial(first_stage_timed, target, method, ...), for a worker process
        if getattr(fn, "func", None) is api.first_stage_timed:
            method = fn.args[1]
            calls["vi" if method in VI_METHODS else "mcmc"].append(method)
        elif getattr(fn, "func", None) is api.second_stage_timed:
            calls.scored.append(fn.args[0].method)
        return real_call(fn)

    monkeypatch.setattr(runs.ELSEWHERE, "call", call)
    yield calls
    st.cache_data.clear()
    runs.clear()


def test_changing_only_the_sampler_does_not_rerun_vi(counted):
    spec = RunSpec(make_target("gaussian"), "cavi", "emcee", settings=TINY)
    first = runs.run(spec)
    assert counted == {"vi": ["cavi"], "mcmc": ["emcee"]}
    assert first.compute_s > 0 and first.grid.xs.size == TINY.n_grid
    other = runs.run(dataclasses.replace(spec, mcmc="rwm"))
    assert counted == {"vi": ["cavi"], "mcmc": ["emcee", "rwm"]}, "a new sampler must not rerun VI"
    assert other.vi is first.vi or other.vi.method == first.vi.method
    # the sampler's own settings do not touch VI's cache either, and VI's do not touch MCMC's
    runs.run(dataclasses.replace(spec, settings=dataclasses.replace(TINY, mcmc_steps=8, walkers=10)))
    assert counted["vi"] == ["cavi"] and len(counted["mcmc"]) == 3
    runs.run(dataclasses.replace(spec, settings=dataclasses.replace(TINY, cavi_sweeps=4)))
    assert counted["vi"] == ["cavi", "cavi"] and len(counted["mcmc"]) == 3
    # the same spec again: both from the cache, still reporting the real compute seconds
    again = runs.run(spec)
    assert len(counted["vi"]) == 2 and len(counted["mcmc"]) == 3
    assert again.compute_s > 0


def test_the_race_comes_before_the_scores_and_each_stage_runs_once(counted):
    spec = RunSpec(make_target("banana"), "cavi", "emcee", seed=2, settings=TINY)
    first = runs.race(spec)
    assert counted == {"vi": ["cavi"], "mcmc": ["emcee"]} and counted.scored == []
    assert isinstance(first.vi, api.ViFit) and isinstance(first.mc, api.McmcDraws) and first.compute_s > 0
    out = runs.run(spec)
    assert counted == {"vi": ["cavi"], "mcmc": ["emcee"]} and sorted(counted.scored) == ["cavi", "emcee"]
    np.testing.assert_array_equal(out.mc.chain, first.mc.chain.astype(np.float32))
    np.testing.assert_array_equal(out.mc.mmd, first.mc.mmd)
    np.testing.assert_array_equal(out.vi.elbo, first.vi.elbo)
    assert out.compute_s > first.compute_s  # the scores' seconds are added
    runs.run(spec)
    runs.race_figure(spec, "iteration")
    assert len(counted["mcmc"]) == 1 and len(counted.scored) == 2, "both stages from the cache"


def test_the_seed_target_and_box_key_both_caches(counted):
    spec = RunSpec(make_target("gaussian"), "cavi", "emcee", settings=TINY)
    runs.run(spec)
    runs.run(dataclasses.replace(spec, seed=1))
    runs.run(dataclasses.replace(spec, box=(-3.0, 3.0, -3.0, 3.0)))
    assert len(counted["vi"]) == len(counted["mcmc"]) == 3
    boxed = runs.run(dataclasses.replace(spec, box=(-3.0, 3.0, -3.0, 3.0)))
    assert boxed.grid.box == (-3.0, 3.0, -3.0, 3.0)
    assert len(counted["vi"]) == 3


def test_outcome_fields():
    assert runs.Outcome._fields == ("grid", "vi", "mc", "compute_s")


def test_work_tells_heavy_runs_from_default_sized_ones():
    gauss = make_target("gaussian")
    for method in (*VI_METHODS, *MCMC_METHODS):
        assert runs.work(gauss, method, Settings()) <= 1.0, method
    worst = Settings(vi_steps=3000, vi_samples=256, walkers=256, mcmc_steps=5000, chains=16, n_grid=600)
    for method in ("gauss-fr", "emcee", "rwm", "nuts", "hmc", "gibbs", "cavi"):
        assert runs.work(gauss, method, worst) > runs.HEAVY, method
    long_expr = make_expr_target("-(x**2 + y**2)/2" + " + 0*sin(x)" * 25, (-4, 4, -4, 4))
    assert runs.work(long_expr, "cavi", Settings()) > 2 * runs.work(gauss, "cavi", Settings())


def test_waiting_is_reported_then_the_outcome_arrives(counted):
    spec = RunSpec(make_target("banana"), "gauss-mf", "emcee", seed=5, settings=TINY)
    seen = []
    out = runs.run(spec, on_wait=seen.append)
    assert out.vi.method == "gauss-mf" and out.mc.method == "emcee"
    for standing in seen:
        assert [w.label for w in standing] == [VI_LABELS["gauss-mf"], MCMC_LABELS["emcee"]]
        assert all(0 <= w.fraction <= 1 and w.ahead >= 0 for w in standing)


class _Left(Exception):
    """What Streamlit raises inside an st call when the visitor leaves or reruns."""


def test_a_visitor_leaving_cancels_the_run_and_nothing_is_cached(counted):
    slow = dataclasses.replace(TINY, mcmc_steps=50_000, walkers=64)
    spec = RunSpec(make_target("banana"), "cavi", "rwm", seed=3, settings=slow)
    calls = []

    def leave_after_a_moment(standing):
        calls.append(standing)
        if len(calls) == 3:
            raise _Left

    with pytest.raises(_Left):
        runs.run(spec, on_wait=leave_after_a_moment)
    t0 = time.perf_counter()
    while runs.SCHEDULER.load() != (0, 0) and time.perf_counter() - t0 < 5:
        time.sleep(0.02)
    assert runs.SCHEDULER.load() == (0, 0), "the cancelled run let go of its worker"
    assert time.perf_counter() - t0 < 2.0  # unstopped, the run goes on for many seconds
    assert not any(k[0] == "mcmc" for k in runs.SCHEDULER.cache.keys()), "nothing cached from it"


def test_a_run_over_its_budget_stops_with_a_plain_message(counted, monkeypatch):
    monkeypatch.setattr(runs, "RUN_BUDGET_S", 0.3)
    # the loop stops itself at its share of the budget; scoring that still overruns is stopped too
    spec = RunSpec(make_target("banana"), "cavi", "rwm", seed=4, settings=dataclasses.replace(TINY, mcmc_steps=50_000))
    t0 = time.perf_counter()
    try:
        out = runs.run(spec)
        assert out.mc.n_steps < 50_000
    except OutOfTime as exc:
        assert "0.3 s budget" in str(exc)
    assert time.perf_counter() - t0 < 3.0  # 10x the budget, allowing for a loaded machine; unbudgeted: minutes


def test_runs_go_to_worker_processes_and_agree_with_the_engine_here(counted):
    import os

    spec = RunSpec(make_target("banana"), "gauss-mf", "emcee", seed=9, settings=TINY)
    out = runs.run(spec)
    assert counted == {"vi": ["gauss-mf"], "mcmc": ["emcee"]}
    assert runs.ELSEWHERE.call(os.getpid) != os.getpid()
    here_vi = api.run_vi(spec.target, "gauss-mf", 9, TINY)
    here_mc = api.run_sampler(spec.target, "emcee", 9, TINY)
    np.testing.assert_array_equal(out.mc.chain, here_mc.chain)
    np.testing.assert_allclose(out.vi.elbo, here_vi.elbo, rtol=1e-12)
    assert (spec.target, TINY.n_grid, None) in runs._GRIDS.keys(), "the worker's grid is kept here for the figures"
    assert out.grid.log_z == api.make_grid(spec.target, TINY.n_grid).log_z and out.compute_s > 0


def test_a_rerun_gets_the_same_race_figure_without_rebuilding_it(counted):
    spec = RunSpec(make_target("banana"), "gauss-mf", "emcee", seed=11, settings=TINY)
    first = runs.race_figure(spec, "iteration")
    assert runs.race_figure(spec, "iteration") is first
    sent = plot.figure(first)  # as ui.plot hands it to the page
    assert len(sent["frames"]) == figures.N_FRAMES and "template" in sent["layout"]
    assert any(isinstance(v, dict) and "bdata" in v for t in sent["data"] for v in t.values()), "base64 arrays"
    assert counted == {"vi": ["gauss-mf"], "mcmc": ["emcee"]}


def test_the_race_animation_is_rendered_in_a_worker_under_the_run_budget(monkeypatch):
    import io

    from PIL import Image

    spec = RunSpec(make_target("gaussian"), "cavi", "emcee", seed=3, settings=TINY)
    gif = runs.race_animation(spec, "iteration", "gif")
    im = Image.open(io.BytesIO(gif))
    assert im.format == "GIF" and im.is_animated and len(gif) < 3_000_000  # (a tiny run repeats frames: merged)
    png = runs.race_animation(spec, "iteration", "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert runs.race_animation(spec, "iteration", "gif") is gif  # kept: a class downloads it once
    with pytest.raises(ValueError, match="kind must be one of"):
        runs.race_animation(spec, "iteration", "avi")
    other = dataclasses.replace(spec, seed=4)
    runs.run(other)  # the run itself is cached; only the rendering meets the tiny budget
    monkeypatch.setattr(runs, "RUN_BUDGET_S", 1e-3)
    with pytest.raises(OutOfTime):
        runs.race_animation(other, "iteration", "gif")


def test_a_scored_run_keeps_only_its_full_results_and_its_race_is_read_from_them(counted):
    spec = RunSpec(make_target("banana"), "gauss-mf", "emcee", seed=7, settings=TINY)
    runs.race(spec)

    def stages():
        return sorted(k[0] for k in runs.SCHEDULER.cache.keys())

    assert stages() == ["draws", "fit"]
    out = runs.run(spec)
    assert stages() == ["mcmc", "vi"], "the first stages' entries go once the full results exist"
    again = runs.race(spec)
    assert again.vi is out.vi and again.mc is out.mc and counted == {"vi": ["gauss-mf"], "mcmc": ["emcee"]}
    assert runs.run(spec).mc is out.mc and len(counted.scored) == 2


def test_kept_runs_stay_however_full_the_cache_gets(counted, monkeypatch):
    monkeypatch.setattr(runs, "_KEPT", set())
    kept = RunSpec(make_target("banana"), "cavi", "emcee", seed=11, settings=TINY)
    out = runs.run(kept)
    runs.keep([kept])  # already cached: pinned now
    later = RunSpec(make_target("banana"), "cavi", "emcee", seed=12, settings=TINY)
    runs.keep([later])  # not run yet: pinned once it is
    runs.run(later)
    # room for about one more run: every other run pushes the one before it out, never a kept one
    monkeypatch.setattr(runs.SCHEDULER.cache, "max_bytes", runs.SCHEDULER.cache.bytes + 1)
    others = [RunSpec(make_target("banana"), "cavi", "emcee", seed=20 + k, settings=TINY) for k in range(3)]
    for spec in others:
        runs.run(spec)
    assert counted["mcmc"] == ["emcee"] * 5
    assert runs.run(kept).mc is out.mc and runs.run(later) and counted["mcmc"] == ["emcee"] * 5  # from the cache
    runs.run(others[0])
    assert counted["mcmc"] == ["emcee"] * 6  # evicted meanwhile: run again


def test_the_default_and_every_lessons_run_are_kept(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from ui.lessons import LESSONS
    from ui.spec import DEFAULT

    runs.warm_up()  # once per process: it keeps the default
    assert DEFAULT in runs._KEPT
    monkeypatch.setattr(runs, "_KEPT", set())
    app = str(pathlib.Path(__file__).parents[2] / "app.py")
    AppTest.from_file(app, default_timeout=60).run()  # the Playground keeps every lesson's
    assert runs._KEPT == {x.spec for x in LESSONS}


def test_score_soon_queues_the_scores_and_run_finds_them(counted):
    spec = RunSpec(make_target("banana"), "gauss-mf", "emcee", seed=31, settings=TINY)
    runs.race(spec)
    runs.score_soon(spec)  # returns at once; the second stages are on the queue (later jobs)
    deadline = time.monotonic() + 60
    while sorted(k[0] for k in runs.SCHEDULER.cache.keys()) != ["draws", "fit", "mcmc", "vi"]:
        assert time.monotonic() < deadline, runs.SCHEDULER.cache.keys()
        time.sleep(0.05)
    assert sorted(counted.scored) == ["emcee", "gauss-mf"]
    out = runs.run(spec)  # the scores are read, not made again
    assert sorted(counted.scored) == ["emcee", "gauss-mf"] and out.mc.method == "emcee"
    runs.score_soon(spec)  # scored already: nothing queued
    assert sorted(counted.scored) == ["emcee", "gauss-mf"]
