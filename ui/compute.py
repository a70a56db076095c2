"""The UI's one door to the engine: every page gets vi_core's results and types from here.

Pages and figure builders import nothing from ``vi_core``; they call the cached functions below
and use the names re-exported here (types, labels, registries). Caching is by plain values
(targets and settings are frozen dataclasses), across sessions.

* Playground: ``run(spec, on_wait) -> Outcome``. VI and MCMC are separate jobs of the shared
  ``ui.jobs.Scheduler`` and separate cache entries, each keyed by (target, box, method, seed,
  the settings it reads), so changing only the sampler does not rerun VI. ``MAX_CONCURRENT``
  at once, each in a worker process (``ELSEWHERE``); heavy runs (``work`` above ``HEAVY``) one at
  a time and one per visitor, cheap ones first; each job has a hard budget (``RUN_BUDGET_S``:
  grid, algorithm and scoring) and is cancelled when nobody waits for it any more. Each times
  itself inside the job, so a cache hit still reports the real compute seconds.
  Results, grids and figures are kept by bytes.
* Theory: ``grid_for``, ``cavi_q``, ``fits_for``, ``elbo_check``, ``gaussian_q``.
* Worked example: ``newcomb_analysis`` (vi_core.conjugate.analyse, cached).
* Lessons: ``preview_grid``, ``Settings``, ``VI_LABELS``, ``MCMC_LABELS``, ``make_target``.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import json
import math
import pathlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

# Imported here, once, under the import lock: imported lazily by the first st.table while another
# session's go.Figure probes sys.modules for it, a half-initialised pandas raised AttributeError.
import pandas  # noqa: F401
import streamlit as st

from ui import jobs
from vi_core import budget, methods
from vi_core import scaling as _scaling
from vi_core import vb_gibbs as _vb_gibbs
from vi_core.api import KHAT_DRAWS, MCMC_LABELS, MCMC_METHODS, VI_LABELS, VI_METHODS, McmcResult, Settings, ViResult
from vi_core.api import run_sampler as _run_sampler
from vi_core.api import run_timed as _run_timed
from vi_core.api import run_vi as _run_vi
from vi_core.api import warm_up as _warm_engine
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
from vi_core.settings import DEFAULTS, OLD_QUERY_KEYS
from vi_core.settings import TABLE as SETTINGS_TABLE
from vi_core.story import what_this_run_shows
from vi_core.targets import REGISTRY, Target, make_target
from vi_core.targets.data import NEWCOMB_OUTLIERS, ClosedFormCavi, Newcomb, NormalGamma
from vi_core.targets.expr import MAX_LENGTH, make_expr_target
from vi_core.vb_gibbs import Comparison
from vi_core.verdicts import format_kl, khat_threshold, kl_tolerance

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ui.spec import RunSpec

__all__ = [
    "ANIMATIONS",
    "DEFAULT_N",
    "KHAT_DRAWS",
    "MAX_LENGTH",
    "MCMC_LABELS",
    "MCMC_METHODS",
    "MC_DRAWS",
    "NEWCOMB_OUTLIERS",
    "OLD_QUERY_KEYS",
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
    "OutOfTime",
    "Outcome",
    "ScaleRecord",
    "Settings",
    "Target",
    "ViResult",
    "burn_in",
    "cavi_q",
    "checkpoint",
    "elbo_check",
    "fits_for",
    "format_kl",
    "gaussian_q",
    "grid_for",
    "khat_threshold",
    "kl_tolerance",
    "make_expr_target",
    "make_target",
    "mcmc_result",
    "methods",
    "mp4_available",
    "newcomb_analysis",
    "precomputed_scaling",
    "preview_grid",
    "race_animation",
    "race_figure",
    "run",
    "run_here",
    "scale_record",
    "scale_slope",
    "vb_versus_gibbs",
    "vi_result",
    "warm_up",
    "what_this_run_shows",
]

OutOfTime = budget.OutOfTime
checkpoint = budget.checkpoint  # a run's deadline and cancellation, for work the UI does under its budget (export)
MAX_CONCURRENT = 2  # runs at once, each in its own worker process: the hosted demo has 2 cores
RUN_BUDGET_S = 30.0  # hard limit on one side's run (grid, algorithm and scoring); its loop gets a share
HEAVY = 4.0  # a run is heavy above this many times its method's default work
RESULTS_BYTES = 320 << 20  # results kept across visitors (VI and MCMC), by bytes
FIGURES_BYTES = 16 << 20  # race figures (dicts, ~1 MB) for reruns of recent runs; rebuilding one takes ~10 ms
GRIDS_BYTES = 64 << 20
MC_DRAWS = 10_000
PREVIEW_N = 50  # a coarse grid is enough for a small static picture

Box = tuple[float, float, float, float]


class Outcome(NamedTuple):
    grid: Grid
    vi: ViResult
    mc: McmcResult
    compute_s: float  # engine + scoring of both, measured inside the runs


class Waiting(NamedTuple):
    """What one side of a run is doing, for a progress line: label, ahead (jobs before it in the queue;
    0 when running or done), stage (e.g. the method's label, "scoring"), fraction in [0, 1], done."""

    label: str
    ahead: int
    stage: str
    fraction: float
    done: bool


SCHEDULER = jobs.Scheduler(
    slots=MAX_CONCURRENT,
    heavy_slots=1,
    cache=jobs.ByteCache(RESULTS_BYTES),
    guard=lambda job: budget.within(job.budget_s, cancel=job.cancel, progress=job.progress),
    expected=(ValueError, budget.OutOfTime, budget.Cancelled),
)
_GRIDS = jobs.ByteCache(GRIDS_BYTES)
_FIGURES = jobs.ByteCache(FIGURES_BYTES)
_grid_locks: dict = {}
_grid_locks_lock = threading.Lock()


def clear() -> None:
    """Forget every cached run, grid and figure (tests)."""
    SCHEDULER.cache.clear()
    _GRIDS.clear()
    _FIGURES.clear()


def _only(settings: Settings, side: str) -> Settings:
    """settings with the other side's knobs at their defaults: the part a VI (or MCMC) run reads."""
    # the settings table says who reads each knob (kinds or method names); the other side's alone are reset
    other = {"vi": {"mcmc", *methods.mcmc_methods()}, "mcmc": {"vi", *methods.vi_methods()}}[side]
    drop = [s.field for s in SETTINGS_TABLE if s.used_by and set(s.used_by) <= other]
    return dataclasses.replace(settings, **{n: getattr(DEFAULTS, n) for n in drop})


def work(target: Target, method: str, settings: Settings) -> float:
    """Rough work of a run relative to its method's default run on a built-in target: the product of
    value/default over the integer size settings the method reads (steps, samples, walkers, chains...),
    or the grid's cells when more, times a typed expression's length in units of 100 characters."""
    m = methods.REGISTRY[method]
    ratio = 1.0
    for s in SETTINGS_TABLE:
        if s.kind is int and s.field != "n_grid" and (m.kind in s.used_by or method in s.used_by):
            ratio *= getattr(settings, s.field) / s.default
    cells = (settings.n_grid / DEFAULT_N) ** 2
    expr = getattr(target, "expr", None)
    chars = len("".join(expr.split())) if isinstance(expr, str) else 0
    return max(ratio, cells) * max(1.0, chars / 100)


def _owner() -> str:
    """The visitor's session id (one heavy run each); a fixed name outside a Streamlit session."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else "local"


def _grid_timed(target: Target, n: int, box: Box | None) -> tuple[Grid, float]:
    """(make_grid(target, n, box), its seconds), cached by bytes; one computation per key at a time."""
    key = (target, n, box)
    hit = _GRIDS.get(key)
    if hit is not None:
        return hit
    with _grid_locks_lock:
        lock = _grid_locks.setdefault(key, threading.Lock())
    with lock:
        hit = _GRIDS.get(key)
        if hit is None:
            t0 = time.perf_counter()
            hit = (make_grid(target, n, box), time.perf_counter() - t0)
            _GRIDS.put(key, hit)
    with _grid_locks_lock:
        _grid_locks.pop(key, None)
    return hit


def grid_for(target: Target, n: int = DEFAULT_N, box: Box | None = None) -> Grid:
    """The quadrature grid make_grid(target, n, box), cached."""
    return _grid_timed(target, n, box)[0]


# Every run goes to a worker process (one per slot): in this one it would hold the interpreter lock that
# every visitor's page needs (20 default runs at once: 0.2 s each of it), and a heavy run would make every
# other visitor's run several times slower (a default run: 0.4 s alone, 2-4 s beside the worst link).
ELSEWHERE = budget.Elsewhere(workers=MAX_CONCURRENT)


def _side(target: Target, box: Box | None, method: str, seed: int, settings: Settings):
    """One job's work, in a worker process: (result, seconds of the run); its grid is kept here too."""
    grid, grid_s, result, run_s = ELSEWHERE.call(functools.partial(_run_timed, target, method, seed, settings, box))
    if _GRIDS.get((target, settings.n_grid, box)) is None:
        _GRIDS.put((target, settings.n_grid, box), (grid, grid_s))
    return result, run_s


def _key(side: str, target: Target, box: Box | None, method: str, seed: int, settings: Settings) -> tuple:
    """The cache key of one side's run: what it reads, the other side's settings at their defaults."""
    return (side, target, box, method, seed, _only(settings, side))


def _submit(
    side: str, target: Target, box: Box | None, method: str, seed: int, settings: Settings, group=None
) -> jobs.Job:
    key = _key(side, target, box, method, seed, settings)
    settings = key[-1]
    return SCHEDULER.submit(
        key,
        functools.partial(_side, target, box, method, seed, settings),
        heavy=work(target, method, settings) > HEAVY,
        owner=_owner(),
        budget_s=RUN_BUDGET_S,
        group=group,
    )


def _wait(labelled: list[tuple[str, jobs.Job]], on_wait: Callable[[list[Waiting]], None] | None) -> list:
    """Wait for the jobs, telling on_wait how they stand about 4 times a second; results in order.
    Any exception here (the visitor left or pressed Run again: Streamlit raises in on_wait) lets go
    of the jobs, which cancels those nobody else waits for."""
    owner = _owner()
    try:
        while not all(j.done.wait(0.25 if on_wait else None) for _, j in labelled):
            if on_wait is not None:
                on_wait([_standing(lab, j) for lab, j in labelled])
    except BaseException:
        for _, j in labelled:
            SCHEDULER.leave(j, owner)
        raise
    for _, j in labelled:
        if j.error is not None:
            if isinstance(j.error, (jobs.Cancelled, budget.Cancelled)):
                raise RuntimeError("the run was cancelled; press Run to start it again.") from j.error
            raise j.error
    return [j.result for _, j in labelled]


def _standing(label: str, job: jobs.Job) -> Waiting:
    return Waiting(label, SCHEDULER.position(job), job.stage, job.fraction, job.done.is_set())


def vi_result(
    target: Target, method: str, seed: int = 0, settings: Settings = Settings(), box: Box | None = None
) -> tuple[ViResult, float]:
    """(VI result, its compute seconds), cached on the settings VI reads."""
    return _wait([("VI", _submit("vi", target, box, method, seed, settings))], None)[0]


def mcmc_result(
    target: Target, method: str, seed: int = 0, settings: Settings = Settings(), box: Box | None = None
) -> tuple[McmcResult, float]:
    """(MCMC result, its compute seconds), cached on the settings the sampler reads."""
    return _wait([("MCMC", _submit("mcmc", target, box, method, seed, settings))], None)[0]


def run(spec: RunSpec, on_wait: Callable[[list[Waiting]], None] | None = None) -> Outcome:
    """VI and MCMC on the spec's target, each its own job and cache entry, run side by side.
    on_wait(list of Waiting) is called while they queue or run. Raises ValueError for settings
    the engine refuses, RuntimeError when cancelled or the queue is full, budget.OutOfTime."""
    group = object()  # this press of Run: its two heavy jobs may both wait for the visitor
    pair = [
        (VI_LABELS[spec.vi], _submit("vi", spec.target, spec.box, spec.vi, spec.seed, spec.settings, group)),
        (MCMC_LABELS[spec.mcmc], _submit("mcmc", spec.target, spec.box, spec.mcmc, spec.seed, spec.settings, group)),
    ]
    (vi, vi_s), (mc, mc_s) = _wait(pair, on_wait)
    grid, grid_s = _grid_timed(spec.target, spec.settings.n_grid, spec.box)
    return Outcome(grid, vi, mc, grid_s + vi_s + mc_s)


ANIMATIONS = ("gif", "mp4", "png")  # the race's file exports (ui.export)


def _render(kind: str, grid: Grid, vi: ViResult, mc: McmcResult, clock: str) -> bytes:
    """In a worker process: the race as a file (ui.export), under the caller's budget."""
    from ui import export

    render = {"gif": export.render_gif, "mp4": export.render_mp4, "png": export.render_png}[kind]
    return render(grid, vi, mc, clock)


def mp4_available() -> bool:
    """Whether this server can encode MP4 (an ffmpeg with libx264, e.g. from imageio-ffmpeg)."""
    from ui import export

    return export.mp4_available()


@functools.lru_cache(maxsize=6)  # ~0.4 MB each: a class downloading the same lesson's GIF renders it once
def race_animation(spec: RunSpec, clock: str, kind: str) -> bytes:
    """The run's race as a GIF, an MP4 or a PNG of its last frame (ui.export: rendered without a browser), in a
    worker process and within RUN_BUDGET_S, like a run (a visitor cannot tie up the server with exports)."""
    if kind not in ANIMATIONS:
        raise ValueError(f"kind must be one of {', '.join(ANIMATIONS)}, got {kind!r}")
    out = run(spec)
    with budget.within(RUN_BUDGET_S):
        return ELSEWHERE.call(functools.partial(_render, kind, out.grid, out.vi, out.mc, clock))


def run_here(spec: RunSpec) -> tuple[Grid, ViResult, McmcResult]:
    """The spec's run in this process, as the workers compute it (vi_core.api.run_timed): the grid
    make_grid(target, n_grid, box), then VI and MCMC on it with the spec's seed. For the command line (ui.export),
    where no server and no worker processes are wanted."""
    grid = make_grid(spec.target, spec.settings.n_grid, spec.box)
    vi = _run_vi(spec.target, spec.vi, spec.seed, spec.settings, grid=grid)
    mc = _run_sampler(spec.target, spec.mcmc, spec.seed, spec.settings, grid=grid)
    return grid, vi, mc


def race_figure(spec: RunSpec, clock: str, present: bool = False) -> go.Figure:
    """The animated figure, ready for st.plotly_chart (ui.figures.ready: sent without a second validation),
    kept in memory by its dict's bytes: a rerun reuses it as it is (converting the dict again costs ~13 ms).
    present: the presenter view's sizes (ui.figures.race.PRESENT)."""
    from ui import figures  # figures import this module's names

    key = (spec, clock, present)
    fig = _FIGURES.get(key)
    if fig is None:
        out = run(spec)
        spec_dict = figures.race_figure(out.grid, out.vi, out.mc, clock, present)
        fig = figures.ready(spec_dict)  # converts the dict's arrays in place: sized as it is sent
        _FIGURES.put(key, fig, pin=spec == _default_spec(), size=jobs.nbytes(spec_dict))
    return fig


def _default_spec():
    from ui.spec import DEFAULT

    return DEFAULT


@st.cache_resource(show_spinner=False)
def warm_up() -> float:
    """Run every method once, tiny, per process: the first visitor's timings should measure
    the algorithms, not numpy's and emcee's first-call set-up. Returns the seconds spent."""
    t0 = time.perf_counter()
    ELSEWHERE.start(_warm_engine)  # the worker processes start and warm up now, not on the first runs
    # The default scenario is what most visitors run first: compute it now, so their first
    # Run is a cache hit.
    default = _default_spec()
    race_figure(default, "iteration")
    # most visitors start here: keep the default's results however full the caches get
    for side, method in (("vi", default.vi), ("mcmc", default.mcmc)):
        key = _key(side, default.target, default.box, method, default.seed, default.settings)
        if key in SCHEDULER.cache:
            SCHEDULER.cache.put(key, SCHEDULER.cache.get(key), pin=True)
    # What exists now (modules, Plotly's validators, the pinned default) lives as long as the process: out of
    # the collector's sight, a full collection walks only what visitors' runs made since (0.15 s -> ~0).
    gc.collect()
    gc.freeze()
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


def vb_versus_gibbs(
    target: Newcomb, on_progress: Callable[[float], None] | None = None
) -> tuple[_vb_gibbs.OverSeeds, str]:
    """Variational Bayes against Gibbs sampling on a Newcomb target over ``vi_core.vb_gibbs.SEEDS`` seeds, and the
    verdict in words (vi_core.vb_gibbs; runs[0], seed 0, is the run to draw). One job of the shared queue per seed,
    each run in a worker process (VB and Gibbs timed side by side there, not beside this server's sessions) and
    cached with the other runs; on_progress(fraction of the seeds done) is called while they run."""
    steps, chains = _vb_gibbs.GIBBS_STEPS, _vb_gibbs.GIBBS_CHAINS
    labelled = [
        (
            f"seed {seed}",
            SCHEDULER.submit(
                ("vb-gibbs", target, seed, chains, steps),
                functools.partial(ELSEWHERE.call, functools.partial(_vb_gibbs.compare, target, seed, chains, steps)),
                heavy=False,
                owner=_owner(),
                budget_s=RUN_BUDGET_S,
            ),
        )
        for seed in range(_vb_gibbs.SEEDS)
    ]
    on_wait = None if on_progress is None else (lambda ws: on_progress(sum(w.done for w in ws) / len(ws)))
    runs: list[Comparison] = _wait(labelled, on_wait)
    s = _vb_gibbs.over_seeds(runs)
    return s, _vb_gibbs.verdict(s)


# ------------------------------------------------------------------------ Scaling

_DATA = pathlib.Path(__file__).resolve().parents[1] / "vi_core" / "data"
# the recorded sweeps, one per covariate setting (python -m benchmarks.scaling --write ... [--uncentred])
PRECOMPUTED_SCALING = {True: _DATA / "scaling_precomputed.json", False: _DATA / "scaling_precomputed_uncentred.json"}


@st.cache_data(max_entries=16, show_spinner=False)
def _scale_data(name: str, n: int | None, centred: bool, seed: int):
    data = _scaling.dataset(name, n, seed=seed, centred=centred)
    return data, _scaling.reference(_scaling.LogisticPosterior(data))


def scale_record(
    name: str, n: int | None, method: str, budget_s: float, centred: bool, batch: int = 1000, seed: int = 0
) -> ScaleRecord:
    """One method on one data size, timed under its budget and scored against the reference (vi_core.scaling);
    a job of the shared queue, cached with the other runs."""
    data, ref = _scale_data(name, n, centred, seed)
    job = SCHEDULER.submit(
        ("scale", name, n, method, budget_s, centred, batch, seed),
        functools.partial(_scaling.run_one, data, method, budget_s=budget_s, seed=seed, batch=batch, ref=ref),
        heavy=False,
        owner=_owner(),
        budget_s=RUN_BUDGET_S,
    )
    return _wait([(method, job)], None)[0]


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
