"""The UI's one door to the engine: every page gets vi_core's results and types from here.

Pages and figure builders import nothing from ``vi_core``; they call the cached functions below
and use the names re-exported here (types, labels, registries). Caching is by plain values
(targets and settings are frozen dataclasses), across sessions.

* Playground: ``run(spec) -> Outcome``; VI and MCMC are cached separately (``vi_result``,
  ``mcmc_result``), each keyed by (target, box, method, seed, the settings it reads), so
  changing only the sampler does not rerun VI. Each times itself inside the cached call, so a
  cache hit still reports the real compute seconds. At most ``MAX_CONCURRENT`` heavy runs
  execute at once on the shared server; each has a wall-clock budget (``Settings.time_budget_s``).
* Theory: ``grid_for``, ``cavi_q``, ``fits_for``, ``elbo_check``, ``gaussian_q``.
* Worked example: ``newcomb_analysis`` (vi_core.conjugate.analyse, cached).
* Lessons: ``preview_grid``, ``Settings``, ``VI_LABELS``, ``MCMC_LABELS``, ``make_target``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import threading
import time
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import streamlit as st

from vi_core import methods
from vi_core import scaling as _scaling
from vi_core import vb_gibbs as _vb_gibbs
from vi_core.api import MCMC_LABELS, MCMC_METHODS, VI_LABELS, VI_METHODS, McmcResult, Settings, ViResult
from vi_core.api import run_sampler as _run_sampler
from vi_core.api import run_vi as _run_vi
from vi_core.cavi import cavi as _cavi
from vi_core.conjugate import Analysis, Moments
from vi_core.conjugate import analyse as _analyse
from vi_core.families import GaussianQ, GridProductQ
from vi_core.fits import ElboTerms, FitSummary, elbo_terms, forward_kl_fit, mc_elbo, reverse_kl_fit, summarise
from vi_core.grid import DEFAULT_N, Grid, make_grid
from vi_core.mcmc import burn_in
from vi_core.runner import run as _run_steps
from vi_core.scaling import ACCURACY as SCALE_ACCURACY
from vi_core.scaling import METHODS as SCALE_METHODS
from vi_core.scaling import ScaleRecord
from vi_core.settings import DEFAULTS
from vi_core.settings import TABLE as SETTINGS_TABLE
from vi_core.targets import REGISTRY, Target, make_target
from vi_core.targets.data import NEWCOMB_OUTLIERS, ClosedFormCavi, Newcomb, NormalGamma
from vi_core.targets.expr import MAX_LENGTH, make_expr_target
from vi_core.vb_gibbs import Comparison
from vi_core.verdicts import format_kl, kl_tolerance

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ui.spec import RunSpec

__all__ = [
    "DEFAULT_N",
    "MAX_LENGTH",
    "MCMC_LABELS",
    "MCMC_METHODS",
    "MC_DRAWS",
    "NEWCOMB_OUTLIERS",
    "REGISTRY",
    "SCALE_ACCURACY",
    "SCALE_METHODS",
    "VI_LABELS",
    "VI_METHODS",
    "Analysis",
    "ClosedFormCavi",
    "ElboTerms",
    "FitSummary",
    "GaussianQ",
    "Grid",
    "GridProductQ",
    "McmcResult",
    "Moments",
    "Newcomb",
    "NormalGamma",
    "Outcome",
    "ScaleRecord",
    "Settings",
    "Target",
    "ViResult",
    "burn_in",
    "cavi_q",
    "elbo_check",
    "fits_for",
    "format_kl",
    "gaussian_q",
    "grid_for",
    "kl_tolerance",
    "make_expr_target",
    "make_target",
    "mcmc_result",
    "methods",
    "newcomb_analysis",
    "precomputed_scaling",
    "preview_grid",
    "race_figure",
    "run",
    "scale_record",
    "scale_slope",
    "vb_versus_gibbs",
    "vi_result",
    "warm_up",
]

MAX_CONCURRENT = 2
WAIT_S = 20.0
MC_DRAWS = 10_000
PREVIEW_N = 50  # a coarse grid is enough for a small static picture

Box = tuple[float, float, float, float]


class Outcome(NamedTuple):
    grid: Grid
    vi: ViResult
    mc: McmcResult
    compute_s: float  # engine + scoring of both, measured inside the cached calls


@st.cache_resource
def _gate() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(MAX_CONCURRENT)


def _acquire() -> None:
    if not _gate().acquire(timeout=WAIT_S):
        raise RuntimeError("The server is busy with other runs; please try again in a few seconds.")


def _only(settings: Settings, side: str) -> Settings:
    """settings with the other side's knobs at their defaults: the part a VI (or MCMC) run reads."""
    # the settings table says who reads each knob (kinds or method names); the other side's alone are reset
    other = {"vi": {"mcmc", *methods.mcmc_methods()}, "mcmc": {"vi", *methods.vi_methods()}}[side]
    drop = [s.field for s in SETTINGS_TABLE if s.used_by and set(s.used_by) <= other]
    return dataclasses.replace(settings, **{n: getattr(DEFAULTS, n) for n in drop})


@st.cache_data(max_entries=64, show_spinner=False)
def _grid(target: Target, n: int, box: Box | None) -> tuple[Grid, float]:
    t0 = time.perf_counter()
    grid = make_grid(target, n, box)
    return grid, time.perf_counter() - t0


def grid_for(target: Target, n: int = DEFAULT_N, box: Box | None = None) -> Grid:
    """The quadrature grid make_grid(target, n, box), cached."""
    return _grid(target, n, box)[0]


def _timed_run(fn, target: Target, box: Box | None, method: str, seed: int, settings: Settings):
    """fn(target, method, seed, settings, grid=...) under the concurrency gate -> (result, seconds)."""
    grid = grid_for(target, settings.n_grid, box)
    _acquire()
    try:
        t0 = time.perf_counter()
        return fn(target, method, seed, settings, grid=grid), time.perf_counter() - t0
    finally:
        _gate().release()


# Two caches, not one: changing only the sampler must not rerun VI, nor the VI method the sampler.
@st.cache_data(max_entries=64, show_spinner=False)
def _vi(target: Target, box: Box | None, method: str, seed: int, settings: Settings) -> tuple[ViResult, float]:
    return _timed_run(_run_vi, target, box, method, seed, settings)


@st.cache_data(max_entries=64, show_spinner=False)
def _mcmc(target: Target, box: Box | None, method: str, seed: int, settings: Settings) -> tuple[McmcResult, float]:
    return _timed_run(_run_sampler, target, box, method, seed, settings)


def vi_result(
    target: Target, method: str, seed: int = 0, settings: Settings = Settings(), box: Box | None = None
) -> tuple[ViResult, float]:
    """(VI result, its compute seconds), cached on the settings VI reads. Raises RuntimeError when busy."""
    return _vi(target, box, method, seed, _only(settings, "vi"))


def mcmc_result(
    target: Target, method: str, seed: int = 0, settings: Settings = Settings(), box: Box | None = None
) -> tuple[McmcResult, float]:
    """(MCMC result, its compute seconds), cached on the settings the sampler reads."""
    return _mcmc(target, box, method, seed, _only(settings, "mcmc"))


def run(spec: RunSpec) -> Outcome:
    """VI and MCMC on the spec's target, each from its own cache. Raises RuntimeError when the server is saturated."""
    grid, grid_s = _grid(spec.target, spec.settings.n_grid, spec.box)
    vi, vi_s = vi_result(spec.target, spec.vi, spec.seed, spec.settings, spec.box)
    mc, mc_s = mcmc_result(spec.target, spec.mcmc, spec.seed, spec.settings, spec.box)
    return Outcome(grid, vi, mc, grid_s + vi_s + mc_s)


@st.cache_resource(max_entries=32, show_spinner=False)
def race_figure(spec: RunSpec, clock: str) -> go.Figure:
    """The animated figure as a validated go.Figure, kept in memory (not pickled):
    st.plotly_chart validates a dict on every rerun (~0.3 s for 40 frames), a Figure once."""
    import plotly.graph_objects as go

    from ui import figures  # figures import this module's names

    out = run(spec)
    return go.Figure(figures.race_figure(out.grid, out.vi, out.mc, clock))


@st.cache_resource(show_spinner=False)
def warm_up() -> float:
    """Run every method once, tiny, per process: the first visitor's timings should measure
    the algorithms, not numpy's and emcee's first-call set-up. Returns the seconds spent."""
    t0 = time.perf_counter()
    tiny = Settings(n_grid=50, cavi_sweeps=2, vi_steps=3, walkers=8, mcmc_steps=3)
    target = make_target("gaussian")
    grid = make_grid(target, tiny.n_grid)
    for m in VI_METHODS:
        _run_vi(target, m, 0, tiny, grid=grid)
    for m in MCMC_METHODS:
        _run_sampler(target, m, 0, tiny, grid=grid)
    # The default scenario is what most visitors run first: compute it now, so their first
    # Run is a cache hit (this also loads Plotly's validators).
    from ui.spec import DEFAULT

    race_figure(DEFAULT, "iteration")
    return time.perf_counter() - t0


# ------------------------------------------------------------------------ Theory


def gaussian_q(m1: float, m2: float, s1: float, s2: float, corr: float) -> GaussianQ:
    """N(m, S) with sds s1, s2 and correlation corr, as (loc (2,), lower Cholesky factor (2, 2))."""
    chol = np.array([[s1, 0.0], [corr * s2, s2 * math.sqrt(1.0 - corr * corr)]])
    return GaussianQ(np.array([m1, m2]), chol)


@st.cache_data(max_entries=256, show_spinner=False)
def cavi_q(target: Target, sweeps: int, n: int = DEFAULT_N) -> GridProductQ:
    """Grid CAVI's q1 q2 after ``sweeps`` sweeps (0: the starting q) from its usual off-centre start."""
    grid = grid_for(target, n)
    state = _run_steps(_cavi(grid), sweeps, seed=0).states[-1]
    return GridProductQ.on(grid, state.w1, state.w2)


@st.cache_data(max_entries=16, show_spinner=False)
def fits_for(target: Target, n: int = DEFAULT_N) -> tuple[GaussianQ, GaussianQ, FitSummary, FitSummary]:
    """(reverse fit, forward fit, their summaries): both full-rank Gaussians on the grid."""
    grid = grid_for(target, n)
    rev, fwd = reverse_kl_fit(grid), forward_kl_fit(grid)
    return rev, fwd, summarise(grid, rev), summarise(grid, fwd)


def elbo_check(target: Target, q: GaussianQ | GridProductQ, n: int = DEFAULT_N, draws: int = MC_DRAWS):
    """(exact ELBO terms of q on the grid, Monte Carlo ELBO from ``draws`` draws of q, its standard error)."""
    grid = grid_for(target, n)
    est, se = mc_elbo(grid, q, seed=0, n=draws)
    return elbo_terms(grid, q), est, se


# ------------------------------------------------------------------------ Worked example, Lessons


@st.cache_data(max_entries=32, show_spinner=False)
def newcomb_analysis(target: Newcomb) -> Analysis:
    """Closed-form CAVI, grid CAVI and the exact posterior for one Newcomb target (vi_core.conjugate.analyse)."""
    return _analyse(target)


@st.cache_data(max_entries=8, show_spinner=False)
def vb_versus_gibbs(target: Newcomb) -> tuple[Comparison, str]:
    """Variational Bayes against Gibbs sampling on a Newcomb target, and the verdict in words (vi_core.vb_gibbs)."""
    c = _vb_gibbs.compare(target)
    return c, _vb_gibbs.verdict(c)


# ------------------------------------------------------------------------ Scaling

_DATA = pathlib.Path(__file__).resolve().parents[1] / "vi_core" / "data"
# the recorded sweeps, one per covariate setting (python -m benchmarks.scaling --write ... [--uncentred])
PRECOMPUTED_SCALING = {True: _DATA / "scaling_precomputed.json", False: _DATA / "scaling_precomputed_uncentred.json"}


@st.cache_data(max_entries=16, show_spinner=False)
def _scale_data(name: str, n: int | None, centred: bool, seed: int):
    data = _scaling.dataset(name, n, seed=seed, centred=centred)
    return data, _scaling.reference(_scaling.LogisticPosterior(data))


@st.cache_data(max_entries=256, show_spinner=False)
def scale_record(
    name: str, n: int | None, method: str, budget_s: float, centred: bool, batch: int = 1000, seed: int = 0
) -> ScaleRecord:
    """One method on one data size, timed under its budget and scored against the reference (vi_core.scaling)."""
    data, ref = _scale_data(name, n, centred, seed)
    _acquire()
    try:
        return _scaling.run_one(data, method, budget_s=budget_s, seed=seed, batch=batch, ref=ref)
    finally:
        _gate().release()


def scale_slope(records: list[ScaleRecord], method: str) -> float | None:
    """Fitted slope of log time-to-accuracy against log N (vi_core.scaling.slope)."""
    return _scaling.slope(records, method)


def _record(d: dict) -> ScaleRecord:
    fields = ScaleRecord._fields
    arrays = {"times", "mean_err", "var_ratio", "accuracy"}
    values = {k: (np.asarray(d[k], dtype=float) if k in arrays else d[k]) for k in fields if k in d}
    return ScaleRecord(**values)


@st.cache_data(show_spinner=False)
def precomputed_scaling(centred: bool = True) -> dict | None:
    """The sweep ``python -m benchmarks.scaling --write`` recorded for this covariate setting: {"machine", "date",
    "settings", "records" (ScaleRecord)}, or None when the file is missing or unreadable."""
    try:
        raw = json.loads(PRECOMPUTED_SCALING[bool(centred)].read_text())
        return {**raw, "records": [_record(r) for r in raw["records"]]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def preview_grid(target: Target) -> Grid:
    """A coarse grid for a small static picture of the target."""
    return grid_for(target, PREVIEW_N)
