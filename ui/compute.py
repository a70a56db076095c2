"""Cached, bounded computations behind the pages: the only place that calls the engine.

``run`` is cached across sessions (the next visitor with the same settings gets the result
at once) and times itself inside the cached function, so a cache hit still reports the real
compute seconds. At most ``MAX_CONCURRENT`` heavy runs execute at once on the shared
server; each has a wall-clock budget (``Settings.time_budget_s``).
"""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

import plotly.graph_objects as go
import streamlit as st

from ui import figures
from ui.spec import RunSpec
from vi_core.api import McmcResult, ViResult, run_sampler, run_vi
from vi_core.grid import Grid, make_grid
from vi_core.targets import Target

__all__ = ["Outcome", "grid_for", "race_figure", "run"]

MAX_CONCURRENT = 2
WAIT_S = 20.0


class Outcome(NamedTuple):
    grid: Grid
    vi: ViResult
    mc: McmcResult
    compute_s: float  # engine + scoring, measured inside the cached call


@st.cache_resource
def _gate() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(MAX_CONCURRENT)


@st.cache_data(max_entries=64, show_spinner=False)
def grid_for(target: Target, n: int, box: tuple[float, float, float, float] | None = None) -> Grid:
    return make_grid(target, n, box)


@st.cache_data(max_entries=64, show_spinner=False)
def run(spec: RunSpec) -> Outcome:
    """VI and MCMC on the spec's target. Raises RuntimeError when the server is saturated."""
    if not _gate().acquire(timeout=WAIT_S):
        raise RuntimeError("The server is busy with other runs; please try again in a few seconds.")
    try:
        t0 = time.perf_counter()
        grid = make_grid(spec.target, spec.settings.n_grid, spec.box)
        vi = run_vi(spec.target, spec.vi, spec.seed, spec.settings, grid=grid)
        mc = run_sampler(spec.target, spec.mcmc, spec.seed, spec.settings, grid=grid)
        return Outcome(grid, vi, mc, time.perf_counter() - t0)
    finally:
        _gate().release()


@st.cache_resource(max_entries=32, show_spinner=False)
def race_figure(spec: RunSpec, clock: str) -> go.Figure:
    """The animated figure as a validated go.Figure, kept in memory (not pickled):
    st.plotly_chart validates a dict on every rerun (~0.3 s for 40 frames), a Figure once."""
    out = run(spec)
    return go.Figure(figures.race_figure(out.grid, out.vi, out.mc, clock))


@st.cache_resource(show_spinner=False)
def warm_up() -> float:
    """Run every method once, tiny, per process: the first visitor's timings should measure
    the algorithms, not numpy's and emcee's first-call set-up. Returns the seconds spent."""
    from vi_core.api import MCMC_METHODS, VI_METHODS, Settings
    from vi_core.targets import make_target

    t0 = time.perf_counter()
    tiny = Settings(n_grid=50, cavi_sweeps=2, vi_steps=3, walkers=8, mcmc_steps=3)
    target = make_target("gaussian")
    grid = make_grid(target, tiny.n_grid)
    for m in VI_METHODS:
        run_vi(target, m, 0, tiny, grid=grid)
    for m in MCMC_METHODS:
        run_sampler(target, m, 0, tiny, grid=grid)
    # The default scenario is what most visitors run first: compute it now, so their first
    # Run is a cache hit (this also loads Plotly's validators).
    from ui.spec import DEFAULT

    race_figure(DEFAULT, "iteration")
    return time.perf_counter() - t0
