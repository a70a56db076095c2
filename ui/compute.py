"""The UI's one door to the engine: every page gets vi_core's results and types from here.

Pages and figure builders import nothing from ``vi_core``, nor ``ui.runs`` or ``ui.workers``; they call
the functions below and use the names re-exported here (types, labels, registries). Caching is by plain
values (targets and settings are frozen dataclasses), across sessions. Besides this module, only the run
machinery behind it imports vi_core: ``ui.runs`` (the shared queue, whose jobs run under vi_core.budget)
and ``ui.workers`` (its processes, which need only the budget); and ``ui.spec`` (links to settings).

* Playground: ``run(spec, on_wait) -> Outcome``, ``race_figure``, ``race_animation``, ``warm_up``,
  ``grid_for`` and the queue's constants (``RUN_BUDGET_S``, ``SCHEDULER``, ``ELSEWHERE``...) are
  ui.runs' names, re-exported here (read them here; patch them in ui.runs, which reads its own).
  ``run_here``: the same run in this process, for the command line (ui.export).
* Theory: ``grid_for``, ``cavi_q``, ``fits_for``, ``elbo_check``, ``gaussian_q``.
* Worked example: ``newcomb_analysis`` (vi_core.conjugate.analyse, cached), ``vb_versus_gibbs`` (jobs of
  the queue).
* Lessons: ``preview_grid``, ``Settings``, ``VI_LABELS``, ``MCMC_LABELS``, ``make_target``.
* Scaling: ``scale_record`` (a job of the queue), ``scale_slope``, ``precomputed_scaling``.
* Ladder: ``LADDER_RUNGS``, ``LADDER_SAMPLERS``, ``ladder_rung`` and ``ladder_sampler`` (jobs of the queue),
  ``ladder_budget``, ``ladder_of``, ``ladder_sentence``, ``ladder_frontier``, ``recorded_ladders``.
"""

from __future__ import annotations

import functools
import math
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

# Imported here, once, under the import lock: imported lazily by the first st.table while another
# session's go.Figure probes sys.modules for it, a half-initialised pandas raised AttributeError.
import pandas  # noqa: F401
import streamlit as st

from ui import runs
from ui.runs import (
    ANIMATIONS,
    ELSEWHERE,
    HEAVY,
    MAX_CONCURRENT,
    RUN_BUDGET_S,
    SCHEDULER,
    Outcome,
    Race,
    Waiting,
    clear,
    grid_for,
    keep,
    mp4_available,
    race,
    race_animation,
    race_figure,
    run,
    score_soon,
    warm_up,
    work,
)
from vi_core import budget, methods
from vi_core import ladder as _ladder
from vi_core import scaling as _scaling
from vi_core import vb_gibbs as _vb_gibbs
from vi_core.api import (
    KHAT_DRAWS,
    MCMC_LABELS,
    MCMC_METHODS,
    VI_LABELS,
    VI_METHODS,
    McmcDraws,
    McmcResult,
    Settings,
    ViResult,
)
from vi_core.api import run_sampler as _run_sampler
from vi_core.api import run_vi as _run_vi
from vi_core.cavi import cavi as _cavi
from vi_core.chains import burn_in
from vi_core.conjugate import Analysis, ClosedFormCavi, Moments
from vi_core.conjugate import analyse as _analyse
from vi_core.families import GaussianQ, GridProductQ
from vi_core.fits import ElboTerms, FitSummary, elbo_terms, forward_kl_fit, mc_elbo, reverse_kl_fit, summarise
from vi_core.grid import DEFAULT_N, Grid, make_grid
from vi_core.ladder import RUNGS as LADDER_RUNGS
from vi_core.ladder import SAMPLERS as LADDER_SAMPLERS
from vi_core.ladder import Ladder, Score
from vi_core.ladder import frontier as ladder_frontier
from vi_core.ladder import sentence as ladder_sentence
from vi_core.runner import run as _run_steps
from vi_core.scaling import ACCURACY as SCALE_ACCURACY
from vi_core.scaling import METHODS as SCALE_METHODS
from vi_core.scaling import ScaleRecord
from vi_core.scaling.records import read_sweep as _read_sweep
from vi_core.settings import OLD_QUERY_KEYS
from vi_core.story import what_this_run_shows
from vi_core.targets import REGISTRY, Target, make_target
from vi_core.targets.data import NEWCOMB_OUTLIERS, Newcomb, NormalGamma
from vi_core.targets.expr import MAX_LENGTH, make_expr_target
from vi_core.vb_gibbs import Comparison
from vi_core.verdicts import format_kl, khat_threshold, kl_tolerance

if TYPE_CHECKING:
    from ui.spec import RunSpec

__all__ = [
    "ANIMATIONS",
    "DEFAULT_N",
    "ELSEWHERE",
    "HEAVY",
    "KHAT_DRAWS",
    "LADDER_RUNGS",
    "LADDER_SAMPLERS",
    "MAX_CONCURRENT",
    "MAX_LENGTH",
    "MCMC_LABELS",
    "MCMC_METHODS",
    "MC_DRAWS",
    "NEWCOMB_OUTLIERS",
    "OLD_QUERY_KEYS",
    "RECORDED_LADDERS",
    "REGISTRY",
    "RUN_BUDGET_S",
    "SCALE_ACCURACY",
    "SCALE_METHODS",
    "SCHEDULER",
    "VI_LABELS",
    "VI_METHODS",
    "Analysis",
    "ClosedFormCavi",
    "ElboTerms",
    "FitSummary",
    "GaussianQ",
    "Grid",
    "GridProductQ",
    "Ladder",
    "McmcDraws",
    "McmcResult",
    "Moments",
    "Newcomb",
    "NormalGamma",
    "OutOfTime",
    "Outcome",
    "Race",
    "ScaleRecord",
    "Score",
    "Settings",
    "Target",
    "ViResult",
    "Waiting",
    "burn_in",
    "cavi_q",
    "checkpoint",
    "clear",
    "elbo_check",
    "fits_for",
    "format_kl",
    "gaussian_q",
    "grid_for",
    "keep",
    "khat_threshold",
    "kl_tolerance",
    "ladder_budget",
    "ladder_frontier",
    "ladder_of",
    "ladder_rung",
    "ladder_sampler",
    "ladder_sentence",
    "make_expr_target",
    "make_target",
    "methods",
    "mp4_available",
    "newcomb_analysis",
    "precomputed_scaling",
    "preview_grid",
    "race",
    "race_animation",
    "race_figure",
    "recorded_ladders",
    "run",
    "run_here",
    "scale_record",
    "scale_slope",
    "score_soon",
    "vb_versus_gibbs",
    "warm_up",
    "what_this_run_shows",
    "work",
]

OutOfTime = budget.OutOfTime
checkpoint = budget.checkpoint  # a run's deadline and cancellation, for work the UI does under its budget (export)
MC_DRAWS = 10_000
PREVIEW_N = 50  # a coarse grid is enough for a small static picture


# ------------------------------------------------------------------------ Playground, on the command line


def run_here(spec: RunSpec) -> tuple[Grid, ViResult, McmcResult]:
    """The spec's run in this process, as the workers compute it (vi_core.api.run_timed): the grid
    make_grid(target, n_grid, box), then VI and MCMC on it with the spec's seed. For the command line (ui.export),
    where no server and no worker processes are wanted."""
    grid = make_grid(spec.target, spec.settings.n_grid, spec.box)
    vi = _run_vi(spec.target, spec.vi, spec.seed, spec.settings, grid=grid)
    mc = _run_sampler(spec.target, spec.mcmc, spec.seed, spec.settings, grid=grid)
    return grid, vi, mc


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
            runs.queue(
                ("vb-gibbs", target, seed, chains, steps),
                functools.partial(ELSEWHERE.call, functools.partial(_vb_gibbs.compare, target, seed, chains, steps)),
            ),
        )
        for seed in range(_vb_gibbs.SEEDS)
    ]
    on_wait = None if on_progress is None else (lambda ws: on_progress(sum(w.done for w in ws) / len(ws)))
    compared: list[Comparison] = runs.wait(labelled, on_wait)
    s = _vb_gibbs.over_seeds(compared)
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
    job = runs.queue(
        ("scale", name, n, method, budget_s, centred, batch, seed),
        functools.partial(_scaling.run_one, data, method, budget_s=budget_s, seed=seed, batch=batch, ref=ref),
    )
    return runs.wait([(method, job)])[0]


def scale_slope(records: list[ScaleRecord], method: str) -> float | None:
    """Fitted slope of log time-to-accuracy against log N (vi_core.scaling.slope)."""
    return _scaling.slope(records, method)


@st.cache_data(show_spinner=False)
def precomputed_scaling(centred: bool = True) -> dict | None:
    """The sweep ``python -m benchmarks.scaling --write`` recorded for this covariate setting: {"machine", "date",
    "settings", "records" (ScaleRecord)}, or None when the file is missing or unreadable."""
    try:
        return _read_sweep(PRECOMPUTED_SCALING[bool(centred)])  # the sweep files' one format: vi_core.scaling.records
    except (OSError, ValueError, KeyError, TypeError):
        return None


RECORDED_LADDERS = _DATA / "ladder_recorded.json"


def ladder_rung(target: Target, key: str, seed: int = 0) -> Score:
    """One rung of the VI ladder on the target at its defaults (vi_core.ladder.run_rung): a job of the shared queue,
    cached with the other runs."""
    grid = grid_for(target, DEFAULT_N)
    job = runs.queue(("ladder", target, key, seed), functools.partial(_ladder.run_rung, target, key, seed, grid))
    return runs.wait([(key, job)])[0]


def ladder_budget(rungs: list[Score]) -> float:
    """The samplers' wall time beside these rungs (vi_core.ladder.sampler_budget)."""
    return _ladder.sampler_budget(rungs)


def ladder_sampler(target: Target, method: str, budget_s: float, seed: int = 0) -> Score:
    """A sampler given about budget_s of wall time beside the ladder (vi_core.ladder.score_sampler): a queue job."""
    grid = grid_for(target, DEFAULT_N)
    budget_s = round(float(budget_s), 2)  # the cache key: the same ladder asks for the same budget
    job = runs.queue(
        ("ladder-mc", target, method, budget_s, seed),
        functools.partial(_ladder.score_sampler, target, method, budget_s, seed, grid),
    )
    return runs.wait([(method, job)])[0]


def ladder_of(target: Target, rungs: list[Score], samplers: list[Score], seed: int = 0) -> Ladder:
    """The scores of one target's live ladder as a Ladder (for the sentence and the charts)."""
    return Ladder(
        target.name,
        target.param_values(),
        float(grid_for(target, DEFAULT_N).log_z),
        _ladder.sampler_budget(rungs),
        seed,
        tuple(rungs),
        tuple(samplers),
    )


@st.cache_data(show_spinner=False)
def recorded_ladders() -> dict | None:
    """The ladders ``python -m benchmarks.ladder --write`` recorded for every built-in target at its defaults:
    {"machine", "date", "ladders": {name: Ladder}}, or None when the file is missing or unreadable."""
    try:
        return _ladder.read_recorded(RECORDED_LADDERS)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def preview_grid(target: Target) -> Grid:
    """A coarse grid for a small static picture of the target."""
    return grid_for(target, PREVIEW_N)
