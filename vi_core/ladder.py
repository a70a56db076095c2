"""The VI family ladder: every rung of q on one target, scored exactly, beside MCMC given the same wall time.

Rungs (``RUNGS``): the mean-field and full-rank Gaussians, grid CAVI (the best mean-field q of any shape), mixtures of
K = 2, 4, 8 and 16 Gaussians, a normalizing flow and SVGD's particles, each at its defaults otherwise. Each is run by
vi_core.api (so the numbers are the Playground's): exact KL where q has a density, the mean marginal total variation
(mmtv, defined for densities and samples alike: the one yardstick of the chart), the marginal W1 in sds, the wall time
of the algorithm (scoring excluded) and its density and gradient evaluations; on a target with declared modes
(``mode_centres``) also the mass q puts nearest each mode against the exact.

Samplers (``SAMPLERS``: NUTS and emcee) get about the wall time of the costliest VI rung: a 200-step pilot measures
their seconds per step and sets the steps (their warm-up is a quarter of them, as in the Playground); a time budget
of 1.5 x that stops a run whose pilot under-estimated. Their accuracy is traced along the run (``curve``: the draws
so far, the first quarter dropped, as the Playground's yardstick over time).

``sentence`` says which family is the most accurate for the time, from the frontier of accuracy against seconds; a
new leader must beat the last by ``LEAD`` (10 %) in mmtv, so sampling noise does not crown one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable

import numpy as np

from vi_core import chains, methods
from vi_core.api import run_sampler, run_vi
from vi_core.grid import Grid, make_grid
from vi_core.metrics import mode_masses, yardstick
from vi_core.settings import DEFAULTS, Settings
from vi_core.targets import Target

__all__ = [
    "LEAD",
    "RUNGS",
    "SAMPLERS",
    "Ladder",
    "Rung",
    "Score",
    "frontier",
    "ladder",
    "ladder_from_dict",
    "read_recorded",
    "result_modes",
    "run_rung",
    "sampler_budget",
    "sampler_steps",
    "score_sampler",
    "sentence",
    "write_recorded",
]

LEAD = 0.10  # a new leader on the frontier beats the last by this fraction of its mmtv
PILOT_STEPS = 200
MAX_STEPS = 50_000  # the steps setting's upper bound


@dataclasses.dataclass(frozen=True)
class Rung:
    """A rung: a registered VI method with its settings overridden (``settings``: (field, value) pairs)."""

    key: str
    label: str
    method: str
    settings: tuple[tuple[str, float], ...] = ()
    phrase: str = ""  # how a sentence names it ("a mixture of 8 Gaussians"); default the label

    def settings_for(self, base: Settings = DEFAULTS) -> Settings:
        return dataclasses.replace(base, **dict(self.settings))


RUNGS = (
    Rung("gauss-mf", "Mean-field Gaussian", "gauss-mf", phrase="the mean-field Gaussian"),
    Rung("gauss-fr", "Full-rank Gaussian", "gauss-fr", phrase="the full-rank Gaussian"),
    Rung("cavi", "Grid CAVI (best mean-field)", "cavi", phrase="grid CAVI"),
    *(
        Rung(f"mog{k}", f"Mixture, K = {k}", "mog", (("components", k),), f"a mixture of {k} Gaussians")
        for k in (2, 4, 8, 16)
    ),
    Rung("flow", "Flow, 8 coupling layers", "flow", phrase="the flow"),
    Rung("svgd", "SVGD, 100 particles", "svgd", phrase="SVGD"),
)
SAMPLERS = {"nuts": "NUTS", "emcee": "emcee"}
_BY_KEY = {r.key: r for r in RUNGS}


@dataclasses.dataclass(frozen=True)
class Score:
    """One rung's or sampler's numbers. kl: exact KL(q || p) in nats (None: no density, or a sampler); mmtv: mean
    marginal total variation to the exact posterior; w1: marginal W1 in posterior sds; seconds: the algorithm's wall
    time; evals: (density, gradient) evaluations; curve: ((seconds, mmtv), ...) along a sampler's run, one point for
    VI; modes: (method's, exact) mass nearest each mode, or None; level: the verdict's level (good/warn/bad)."""

    key: str
    label: str
    kind: str  # "vi" or "mcmc"
    kl: float | None
    mmtv: float
    w1: float
    seconds: float
    evals: tuple[int, int]
    curve: tuple[tuple[float, float], ...]
    modes: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    level: str = ""
    phrase: str = ""

    @property
    def name(self) -> str:
        """How a sentence names it."""
        return self.phrase or self.label

    @property
    def mode_error(self) -> float | None:
        """The largest |mass - exact mass| over the modes, or None."""
        if self.modes is None:
            return None
        return float(np.max(np.abs(np.subtract(*self.modes))))

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["mode_error"] = self.mode_error
        return out


@dataclasses.dataclass(frozen=True)
class Ladder:
    """Every rung and sampler on one target: target (its name), params, log_z (exact ln p(X)), budget_s (the
    samplers' wall time), seed, rungs and samplers (Score, in RUNGS and SAMPLERS order)."""

    target: str
    params: dict
    log_z: float
    budget_s: float
    seed: int
    rungs: tuple[Score, ...]
    samplers: tuple[Score, ...]

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "params": dict(self.params),
            "log_z": self.log_z,
            "budget_s": self.budget_s,
            "seed": self.seed,
            "rungs": [s.to_dict() for s in self.rungs],
            "samplers": [s.to_dict() for s in self.samplers],
            "sentence": sentence(self),
        }


def _score(d: dict) -> Score:
    fields = {f.name for f in dataclasses.fields(Score)}
    d = {k: v for k, v in d.items() if k in fields}
    modes = d.get("modes")
    return Score(
        **{
            **d,
            "evals": tuple(int(v) for v in d["evals"]),
            "curve": tuple((float(a), float(b)) for a, b in d["curve"]),
            "modes": None if modes is None else (tuple(modes[0]), tuple(modes[1])),
        }
    )


def ladder_from_dict(d: dict) -> Ladder:
    """The inverse of Ladder.to_dict (the generated sentence is dropped: it is regenerated from the numbers)."""
    return Ladder(
        target=d["target"],
        params=dict(d["params"]),
        log_z=float(d["log_z"]),
        budget_s=float(d["budget_s"]),
        seed=int(d["seed"]),
        rungs=tuple(_score(s) for s in d["rungs"]),
        samplers=tuple(_score(s) for s in d["samplers"]),
    )


def _exact_modes(target: Target, grid: Grid) -> np.ndarray | None:
    centres = getattr(target, "mode_centres", None)
    if centres is None:
        return None
    return mode_masses(grid.points, centres, grid.weights)


def result_modes(target: Target, grid: Grid, res) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """(the result's mass nearest each mode, the exact) for a target that declares modes, else None: a VI result by
    its last q (cell weights, or particles), a sampler's by its draws after burn-in."""
    exact = _exact_modes(target, grid)
    if exact is None:
        return None
    centres = target.mode_centres
    if hasattr(res, "qs"):
        q = res.qs[-1]
        own = mode_masses(grid.points, centres, q.cell_weights(grid)) if q.has_density else mode_masses(q.x, centres)
    else:
        own = mode_masses(res.chain[chains.burn_in(res.chain.shape[0]) :], centres)
    return tuple(own.tolist()), tuple(exact.tolist())


def _evals(evals) -> tuple[int, int]:
    return (0, 0) if evals is None else (int(evals[-1][0]), int(evals[-1][1]))


def _nan_to_none(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def run_rung(target: Target, key: str, seed: int = 0, grid: Grid | None = None) -> Score:
    """One VI rung (a RUNGS key) on the target, run and scored by vi_core.api.run_vi."""
    rung = _BY_KEY[key]
    settings = rung.settings_for()
    grid = grid if grid is not None else make_grid(target, settings.n_grid)
    res = run_vi(target, rung.method, seed, settings, grid=grid)
    seconds = float(res.wall_time_s)
    if methods.get(rung.method).grid_evals:
        # it works on the grid's densities, which were computed before it ran: their time is its time too
        t0 = time.perf_counter()
        target.log_density(grid.points)
        seconds += time.perf_counter() - t0
    q = res.qs[-1]
    return Score(
        key=key,
        label=rung.label,
        kind="vi",
        kl=_nan_to_none(float(res.kl[-1])) if q.has_density else None,
        mmtv=float(res.mmtv),
        w1=float(res.w1_sd[-1]),
        seconds=seconds,
        evals=_evals(res.evals),
        curve=((seconds, float(res.mmtv)),),
        modes=result_modes(target, grid, res),
        level=res.verdict_level,
        phrase=rung.phrase,
    )


def sampler_budget(rungs) -> float:
    """The samplers' wall time beside these rungs: the costliest rung's (0 for none)."""
    return max((s.seconds for s in rungs), default=0.0)


def sampler_steps(seconds_per_step: float, budget_s: float) -> int:
    """Steps that take about budget_s at the pilot's rate, within [PILOT_STEPS, MAX_STEPS]."""
    if not (seconds_per_step > 0 and math.isfinite(seconds_per_step)):
        return MAX_STEPS
    return int(min(max(round(budget_s / seconds_per_step), PILOT_STEPS), MAX_STEPS))


def score_sampler(target: Target, method: str, budget_s: float, seed: int = 0, grid: Grid | None = None) -> Score:
    """A sampler given about budget_s of wall time (a pilot sets its steps), its accuracy traced along the run."""
    grid = grid if grid is not None else make_grid(target, DEFAULTS.n_grid)
    pilot = run_sampler(target, method, seed, dataclasses.replace(DEFAULTS, mcmc_steps=PILOT_STEPS), grid=grid)
    steps = sampler_steps(pilot.wall_time_s / PILOT_STEPS, budget_s)
    settings = dataclasses.replace(DEFAULTS, mcmc_steps=steps, time_budget_s=1.5 * budget_s + 0.5)
    res = run_sampler(target, method, seed, settings, grid=grid)
    yard = yardstick(grid)
    n = res.chain.shape[0]
    marks = sorted({round(n * f) - 1 for f in (1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4)} - {-1, n - 1})
    early = [(float(res.times[k]), float(yard.mmtv_samples(res.chain[chains.burn_in(k + 1) : k + 1]))) for k in marks]
    # the last point is the result itself (scored on its float64 draws; the result keeps float32 ones)
    curve = (*early, (float(res.times[-1]), float(res.mmtv)))
    return Score(
        key=method,
        label=SAMPLERS[method],
        kind="mcmc",
        kl=None,
        mmtv=float(res.mmtv),
        w1=float(res.w1_sd[-1]),
        seconds=float(res.wall_time_s),
        evals=_evals(res.evals),
        curve=curve,
        modes=result_modes(target, grid, res),
        level=res.verdict_level,
        phrase=SAMPLERS[method],
    )


def ladder(
    target: Target,
    seed: int = 0,
    grid: Grid | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    rungs: tuple[str, ...] | None = None,
    samplers: tuple[str, ...] | None = None,
) -> Ladder:
    """Every rung (or the RUNGS keys given), then the samplers (or those given) with the costliest rung's wall time.
    on_progress(label, done, total) before each."""
    keys = [r.key for r in RUNGS] if rungs is None else list(rungs)
    names = list(SAMPLERS) if samplers is None else list(samplers)
    bad = [k for k in keys if k not in _BY_KEY] + [m for m in names if m not in SAMPLERS]
    if bad or not keys:
        raise ValueError(
            f"unknown rung or sampler {', '.join(map(repr, bad)) or '(none given)'}; rungs: "
            f"{', '.join(_BY_KEY)}; samplers: {', '.join(SAMPLERS)}"
        )
    grid = grid if grid is not None else make_grid(target, DEFAULTS.n_grid)
    total = len(keys) + len(names)
    done = []
    for k, key in enumerate(keys):
        if on_progress is not None:
            on_progress(_BY_KEY[key].label, k, total)
        done.append(run_rung(target, key, seed, grid))
    budget_s = sampler_budget(done)
    sampled = []
    for k, m in enumerate(names):
        if on_progress is not None:
            on_progress(SAMPLERS[m], len(keys) + k, total)
        sampled.append(score_sampler(target, m, budget_s, seed, grid))
    return Ladder(target.name, target.param_values(), grid.log_z, budget_s, seed, tuple(done), tuple(sampled))


def frontier(scores: tuple[Score, ...] | list[Score]) -> list[tuple[float, Score, float]]:
    """The leaders of accuracy for the time: (from seconds, score, its mmtv then), in time order. Every point of
    every score (a VI rung's one, a sampler's curve) is a candidate; one becomes the leader when its mmtv is below
    (1 - LEAD) x the current leader's."""
    points = sorted(
        ((t, i, m) for i, s in enumerate(scores) for t, m in s.curve if math.isfinite(m)), key=lambda p: (p[0], p[2])
    )
    out: list[tuple[float, Score, float]] = []
    for t, i, m in points:
        if not out or m < (1.0 - LEAD) * out[-1][2]:
            out.append((t, scores[i], m))
    return out


def _seconds(t: float) -> str:
    return f"{t:.2g} s" if t < 10 else f"{t:.0f} s"


def sentence(lad: Ladder) -> str:
    """Which family is the most accurate for the time, from the frontier of mmtv against seconds (all rungs and
    samplers), and what the samplers reached in about the costliest rung's time."""
    lead = frontier(lad.rungs + lad.samplers)
    if not lead:
        return "No method produced a finite accuracy."
    runs: list[list[tuple[float, Score, float]]] = []  # consecutive points of one leader, told as one
    for p in lead:
        if runs and runs[-1][-1][1] is p[1]:
            runs[-1].append(p)
        else:
            runs.append([p])
    steps = [
        f"{r[0][1].name} from {_seconds(r[0][0])} ({r[0][2]:.2g}"
        + (f", {r[-1][2]:.2g} by {_seconds(r[-1][0])})" if len(r) > 1 else ")")
        for r in runs
    ]
    text = "Most accurate for the time (mmtv to the exact posterior, lower is closer): " + "; ".join(steps) + "."
    best = min(lad.rungs, key=lambda s: s.mmtv)
    if lad.samplers:
        done = ", ".join(f"{s.name} {s.mmtv:.2g} in {_seconds(s.seconds)}" for s in lad.samplers)
        text += f" Given about the costliest rung's {_seconds(lad.budget_s)}, the samplers reached {done}"
        beaten = [s.name for s in lad.samplers if s.mmtv < (1.0 - LEAD) * best.mmtv]
        if beaten:
            text += f": {' and '.join(beaten)} closer than every q (the best, {best.name}, {best.mmtv:.2g})."
        else:
            text += f"; no sampler came closer than {best.name} ({best.mmtv:.2g})."
    return text


def write_recorded(path: str | os.PathLike, ladders: list[Ladder], *, machine: str, date: str) -> None:
    """Write recorded ladders (benchmarks.ladder --write): where and when they ran, and every number."""
    out = {"machine": machine, "date": date, "ladders": [lad.to_dict() for lad in ladders]}
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(out, f)
    os.replace(tmp, path)


def read_recorded(path: str | os.PathLike) -> dict:
    """Recorded ladders: {"machine", "date", "ladders": {target name: Ladder}}. Raises OSError, ValueError, KeyError
    or TypeError on a file that is missing or not one."""
    with open(path) as f:
        raw = json.load(f)
    return {**raw, "ladders": {d["target"]: ladder_from_dict(d) for d in raw["ladders"]}}
