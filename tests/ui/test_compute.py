"""ui.compute, the UI's one door to the engine: VI and MCMC are cached apart, and only it imports vi_core."""

import ast
import dataclasses
import pathlib

import numpy as np
import pytest
import streamlit as st

from ui import compute, figures
from ui.spec import RunSpec

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Being moved onto the engine's registry by another change; they may import vi_core meanwhile.
# compute is the door; spec translates links to engine settings and reads the settings table
ALLOWED = {"ui/compute.py", "ui/spec.py"}
TINY = compute.Settings(n_grid=50, cavi_sweeps=3, vi_steps=5, walkers=8, mcmc_steps=6)


def _imports(path: pathlib.Path) -> set[str]:
    mods = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module)
    return mods


def _ui_files():
    files = sorted((ROOT / "ui").rglob("*.py")) + sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]
    return [f.relative_to(ROOT).as_posix() for f in files]


@pytest.mark.parametrize("rel", [f for f in _ui_files() if f not in ALLOWED])
def test_only_compute_imports_the_engine(rel):
    engine = sorted(m for m in _imports(ROOT / rel) if m == "vi_core" or m.startswith("vi_core."))
    assert not engine, f"{rel} imports {engine}: go through ui.compute"


@pytest.mark.parametrize("rel", _ui_files())
def test_no_page_reaches_into_private_figure_helpers(rel):
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
    private = [
        f"{n.value.id}.{n.attr}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id in {"figures", "compute"}
        and n.attr.startswith("_")
        and not n.attr.startswith("__")
    ]
    if rel == "ui/compute.py":
        private = [p for p in private if not p.startswith("compute.")]
    assert not private, f"{rel} uses private helpers {private}"


@pytest.fixture
def counted(monkeypatch):
    """Count the engine's VI and MCMC runs behind ui.compute, with fresh caches."""
    st.cache_data.clear()
    compute.clear()  # runs, grids and race figures (the per-process warm-up resource stays)
    calls = {"vi": [], "mcmc": []}
    real_call = compute.ELSEWHERE.call

    def call(fn):  # a run: partial(run_timed, target, method, seed, settings, box), for a worker process
        if getattr(fn, "func", None) is compute._run_timed:
            method = fn.args[1]
            calls["vi" if method in compute.VI_METHODS else "mcmc"].append(method)
        return real_call(fn)

    monkeypatch.setattr(compute.ELSEWHERE, "call", call)
    yield calls
    st.cache_data.clear()
    compute.clear()


def test_changing_only_the_sampler_does_not_rerun_vi(counted):
    spec = RunSpec(compute.make_target("gaussian"), "cavi", "emcee", settings=TINY)
    first = compute.run(spec)
    assert counted == {"vi": ["cavi"], "mcmc": ["emcee"]}
    assert first.compute_s > 0 and first.grid.xs.size == TINY.n_grid
    other = compute.run(dataclasses.replace(spec, mcmc="rwm"))
    assert counted == {"vi": ["cavi"], "mcmc": ["emcee", "rwm"]}, "a new sampler must not rerun VI"
    assert other.vi is first.vi or other.vi.method == first.vi.method
    # the sampler's own settings do not touch VI's cache either, and VI's do not touch MCMC's
    compute.run(dataclasses.replace(spec, settings=dataclasses.replace(TINY, mcmc_steps=8, walkers=10)))
    assert counted["vi"] == ["cavi"] and len(counted["mcmc"]) == 3
    compute.run(dataclasses.replace(spec, settings=dataclasses.replace(TINY, cavi_sweeps=4)))
    assert counted["vi"] == ["cavi", "cavi"] and len(counted["mcmc"]) == 3
    # the same spec again: both from the cache, still reporting the real compute seconds
    again = compute.run(spec)
    assert len(counted["vi"]) == 2 and len(counted["mcmc"]) == 3
    assert again.compute_s > 0


def test_the_seed_target_and_box_key_both_caches(counted):
    spec = RunSpec(compute.make_target("gaussian"), "cavi", "emcee", settings=TINY)
    compute.run(spec)
    compute.run(dataclasses.replace(spec, seed=1))
    compute.run(dataclasses.replace(spec, box=(-3.0, 3.0, -3.0, 3.0)))
    assert len(counted["vi"]) == len(counted["mcmc"]) == 3
    boxed = compute.run(dataclasses.replace(spec, box=(-3.0, 3.0, -3.0, 3.0)))
    assert boxed.grid.box == (-3.0, 3.0, -3.0, 3.0)
    assert len(counted["vi"]) == 3


def test_outcome_fields():
    assert compute.Outcome._fields == ("grid", "vi", "mc", "compute_s")


def test_work_tells_heavy_runs_from_default_sized_ones():
    gauss = compute.make_target("gaussian")
    for method in (*compute.VI_METHODS, *compute.MCMC_METHODS):
        assert compute.work(gauss, method, compute.Settings()) <= 1.0, method
    worst = compute.Settings(vi_steps=3000, vi_samples=256, walkers=256, mcmc_steps=5000, chains=16, n_grid=600)
    for method in ("gauss-fr", "emcee", "rwm", "nuts", "hmc", "gibbs", "cavi"):
        assert compute.work(gauss, method, worst) > compute.HEAVY, method
    long_expr = compute.make_expr_target("-(x**2 + y**2)/2" + " + 0*sin(x)" * 25, (-4, 4, -4, 4))
    assert compute.work(long_expr, "cavi", compute.Settings()) > 2 * compute.work(gauss, "cavi", compute.Settings())


def test_waiting_is_reported_then_the_outcome_arrives(counted):
    spec = RunSpec(compute.make_target("banana"), "gauss-mf", "emcee", seed=5, settings=TINY)
    seen = []
    out = compute.run(spec, on_wait=seen.append)
    assert out.vi.method == "gauss-mf" and out.mc.method == "emcee"
    for standing in seen:
        assert [w.label for w in standing] == [compute.VI_LABELS["gauss-mf"], compute.MCMC_LABELS["emcee"]]
        assert all(0 <= w.fraction <= 1 and w.ahead >= 0 for w in standing)


class _Left(Exception):
    """What Streamlit raises inside an st call when the visitor leaves or reruns."""


def test_a_visitor_leaving_cancels_the_run_and_nothing_is_cached(counted):
    slow = dataclasses.replace(TINY, mcmc_steps=50_000, walkers=64)
    spec = RunSpec(compute.make_target("banana"), "cavi", "rwm", seed=3, settings=slow)
    calls = []

    def leave_after_a_moment(standing):
        calls.append(standing)
        if len(calls) == 3:
            raise _Left

    with pytest.raises(_Left):
        compute.run(spec, on_wait=leave_after_a_moment)
    t0 = compute.time.perf_counter()
    while compute.SCHEDULER.load() != (0, 0) and compute.time.perf_counter() - t0 < 5:
        compute.time.sleep(0.02)
    assert compute.SCHEDULER.load() == (0, 0), "the cancelled run let go of its worker"
    assert compute.time.perf_counter() - t0 < 2.0  # unstopped, the run goes on for many seconds
    assert not any(k[0] == "mcmc" for k in compute.SCHEDULER.cache.keys()), "nothing cached from it"


def test_a_run_over_its_budget_stops_with_a_plain_message(counted, monkeypatch):
    monkeypatch.setattr(compute, "RUN_BUDGET_S", 0.3)
    # the loop stops itself at its share of the budget; scoring that still overruns is stopped too
    spec = RunSpec(
        compute.make_target("banana"), "cavi", "rwm", seed=4, settings=dataclasses.replace(TINY, mcmc_steps=50_000)
    )
    t0 = compute.time.perf_counter()
    try:
        out = compute.run(spec)
        assert out.mc.n_steps < 50_000
    except compute.OutOfTime as exc:
        assert "0.3 s budget" in str(exc)
    assert compute.time.perf_counter() - t0 < 3.0  # 10x the budget, allowing for a loaded machine; unbudgeted: minutes


def test_runs_go_to_worker_processes_and_agree_with_the_engine_here(counted):
    import os

    from vi_core import api

    spec = RunSpec(compute.make_target("banana"), "gauss-mf", "emcee", seed=9, settings=TINY)
    out = compute.run(spec)
    assert counted == {"vi": ["gauss-mf"], "mcmc": ["emcee"]}
    assert compute.ELSEWHERE.call(os.getpid) != os.getpid()
    here_vi = api.run_vi(spec.target, "gauss-mf", 9, TINY)
    here_mc = api.run_sampler(spec.target, "emcee", 9, TINY)
    np.testing.assert_array_equal(out.mc.chain, here_mc.chain)
    np.testing.assert_allclose(out.vi.elbo, here_vi.elbo, rtol=1e-12)
    assert (spec.target, TINY.n_grid, None) in compute._GRIDS.keys(), "the worker's grid is kept here for the figures"
    assert out.grid.log_z == api.make_grid(spec.target, TINY.n_grid).log_z and out.compute_s > 0


def test_a_rerun_gets_the_same_race_figure_without_rebuilding_it(counted):
    spec = RunSpec(compute.make_target("banana"), "gauss-mf", "emcee", seed=11, settings=TINY)
    first = compute.race_figure(spec, "iteration")
    assert compute.race_figure(spec, "iteration") is first
    sent = first.to_dict()
    assert len(sent["frames"]) == figures.N_FRAMES and "template" in sent["layout"]
    assert any(isinstance(v, dict) and "bdata" in v for t in sent["data"] for v in t.values()), "base64 arrays"
    assert counted == {"vi": ["gauss-mf"], "mcmc": ["emcee"]}


def test_the_race_animation_is_rendered_in_a_worker_under_the_run_budget(monkeypatch):
    import io

    from PIL import Image

    spec = RunSpec(compute.make_target("gaussian"), "cavi", "emcee", seed=3, settings=TINY)
    gif = compute.race_animation(spec, "iteration", "gif")
    im = Image.open(io.BytesIO(gif))
    assert im.format == "GIF" and im.is_animated and len(gif) < 3_000_000  # (a tiny run repeats frames: merged)
    png = compute.race_animation(spec, "iteration", "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert compute.race_animation(spec, "iteration", "gif") is gif  # kept: a class downloads it once
    with pytest.raises(ValueError, match="kind must be one of"):
        compute.race_animation(spec, "iteration", "avi")
    other = dataclasses.replace(spec, seed=4)
    compute.run(other)  # the run itself is cached; only the rendering meets the tiny budget
    monkeypatch.setattr(compute, "RUN_BUDGET_S", 1e-3)
    with pytest.raises(compute.OutOfTime):
        compute.race_animation(other, "iteration", "gif")
