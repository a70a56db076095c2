"""One table of run settings: each knob's field, label, bounds, query key, CLI flag and help.

``Settings`` (frozen, hashable: it keys caches) is built from ``TABLE`` and validates
against it; the Playground's widgets (ui.playground), the URL (ui.spec) and the command
line (vi_core.__main__) read the same rows. Two sets of bounds per row, on purpose:
``lo``/``hi`` is what the engine accepts, ``ui_lo``/``ui_hi`` what the Playground and a
link offer (a teaching app keeps runs short). Which methods read a setting is not listed here: each method
declares the settings it reads (``Method.settings``), and vi_core.method.readers(field) derives the rest.
"""

from __future__ import annotations

import dataclasses
import math

from vi_core.grid import DEFAULT_N

__all__ = ["BY_FIELD", "BY_QUERY", "DEFAULTS", "OLD_QUERY_KEYS", "TABLE", "Setting", "Settings"]


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row: ``field`` of Settings, ``kind`` int or float, engine bounds [lo, hi],
    ``query`` its URL key and CLI flag (--vi-steps for vi_steps; None: not exposed),
    Playground bounds [ui_lo, ui_hi] with widget ``step`` and ``fmt``, ``old_query``: keys
    older links used."""

    field: str
    label: str
    kind: type
    default: float
    lo: float
    hi: float
    help: str
    query: str | None = None
    ui_lo: float | None = None
    ui_hi: float | None = None
    step: float | None = None
    fmt: str | None = None
    old_query: tuple[str, ...] = ()

    @property
    def flag(self) -> str | None:
        return None if self.query is None else "--" + self.query.replace("_", "-")


TABLE: tuple[Setting, ...] = (
    Setting("n_grid", "Grid points per side", int, DEFAULT_N, 50, 600,
            "Cells per side of the quadrature grid that CAVI runs on and ln p(X) is checked against.",
            "grid", 50, 600, step=50),
    Setting("cavi_sweeps", "CAVI: max sweeps", int, 300, 1, 5000,
            "Sweeps of coordinate ascent (q1 then q2); it stops earlier at a fixed point.",
            "cavi_sweeps", 1, 1000),
    Setting("cavi_tol", "CAVI: tolerance", float, 1e-10, 0.0, 1.0,
            "CAVI stops when a sweep changes the ELBO by at most this (nats)."),
    Setting("vi_steps", "VI: steps (Gaussian, mixture, SVGD)", int, 1000, 1, 20000,
            "Gradient steps of Gaussian VI, mixture VI and SVGD (the first two decay their learning rate over them).",
            "vi_steps", 10, 3000),
    Setting("vi_samples", "Gaussian and mixture VI: K samples a step", int, 64, 1, 1024,
            "Monte Carlo draws from q behind each ELBO gradient.",
            "vi_samples", 1, 256, old_query=("K",)),
    Setting("vi_lr", "VI: learning rate (Gaussian, mixture, SVGD)", float, 0.1, 1e-4, 1.0,
            "Adam's initial step size (in units of 1/8 of the box for the mean).",
            "vi_lr", 0.001, 0.5, fmt="%.3f", old_query=("lr",)),
    Setting("components", "Mixture VI: components K", int, 8, 1, 16,
            "Gaussian components of the mixture q (each with its own mean, covariance and weight).",
            "components", 1, 16),
    Setting("particles", "SVGD: particles", int, 100, 1, 500,
            "Particles SVGD moves together (its cost grows with their square).",
            "particles", 1, 300),
    Setting("svgd_spread", "SVGD: initial spread", float, 4.0, 0.01, 8.0,
            "How widely the particles start, in eighths of the box: 4 covers the box; a narrow start shows them "
            "all climbing the nearest mode.",
            "spread", 0.05, 8.0, fmt="%.2f"),
    Setting("layers", "Flow: coupling layers", int, 8, 1, 16,
            "Coupling layers of the normalizing flow (each bends one coordinate as a function of the other).",
            "layers", 1, 16),
    Setting("flow_steps", "Flow: steps", int, 8000, 10, 50000,
            "Gradient steps of the flow (128 draws each; the first half anneals the target in from a flatter one).",
            "flow_steps", 500, 20000, step=500),
    Setting("walkers", "MCMC: walkers", int, 32, 4, 512,
            "Walkers (independent chains for random-walk Metropolis); emcee's moves need an even number.",
            "walkers", 8, 256, step=2),
    Setting("mcmc_steps", "MCMC: steps", int, 2000, 2, 50000,
            "Steps of every walker or chain; the first quarter is burn-in (HMC/NUTS: warm-up).",
            "mcmc_steps", 20, 5000, old_query=("steps",)),
    Setting("step_size", "Random-walk step size", float, 0.5, 1e-3, 100.0,
            "Random-walk Metropolis's proposal sd per coordinate until burn-in tunes the proposal to the draws.",
            "step_size", 0.01, 10.0, fmt="%.2f", old_query=("step",)),
    Setting("chains", "Chains", int, 4, 2, 64,
            "Independent chains of Gibbs, HMC and NUTS (R-hat compares them).",
            "chains", 2, 16),
    Setting("leapfrog_steps", "HMC: leapfrog steps", int, 16, 1, 512,
            "Mean leapfrog steps of an HMC trajectory: each iteration draws from half to 1.5 times this, so "
            "fixed-length orbits cannot resonate (its length is steps times the adapted step size).",
            "leapfrog_steps", 1, 100),
    Setting("target_accept", "HMC/NUTS: target acceptance", float, 0.8, 0.1, 0.99,
            "The acceptance rate the step size is tuned to during warm-up (the first quarter).",
            "target_accept", 0.5, 0.99, fmt="%.2f"),
    Setting("time_budget_s", "Time budget (s)", float, 20.0, 0.01, 600.0,
            "Any run stops after this many seconds of algorithm time."),
)  # fmt: skip
BY_FIELD = {s.field: s for s in TABLE}
BY_QUERY = {s.query: s for s in TABLE if s.query is not None}
OLD_QUERY_KEYS = {old: s.query for s in TABLE for old in s.old_query}


def _post_init(self) -> None:
    for s in TABLE:
        v = getattr(self, s.field)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"setting {s.field} must be a finite number, got {v!r}")
        if s.kind is int and int(v) != v:
            raise ValueError(f"setting {s.field} must be a whole number, got {v!r}")
        if not s.lo <= v <= s.hi:
            raise ValueError(f"setting {s.field}={v!r} is outside its bounds [{s.lo:g}, {s.hi:g}]")


Settings = dataclasses.make_dataclass(
    "Settings",
    [(s.field, s.kind, dataclasses.field(default=s.default)) for s in TABLE],
    frozen=True,
    namespace={
        "__doc__": "Every knob of a run (fields: vi_core.settings.TABLE). Frozen, so it keys caches.",
        "__post_init__": _post_init,
        "BOUNDS": {s.field: (s.lo, s.hi) for s in TABLE},
    },
)
Settings.__module__ = __name__
DEFAULTS = Settings()  # the defaults, one frozen value (a default argument everywhere)
