"""The method registry's leaf: ``Method``, ``Plan``, ``Moves``, ``Best``, the path constants and the registry
itself. Kernels and method modules import this module, never the ``vi_core.methods`` package (which imports the
built-in method modules to register them): so there is no import cycle.

Every VI method and sampler is one small frozen ``Method`` value.

The app's selectors, the URL, the command line, the benchmarks and the tests read this
registry; adding a method is one module that calls ``register`` (plus its import in vi_core/methods/__init__.py).

A method's ``build(target, grid, settings, start, sd)`` returns a ``Plan``: an init/step
``Algorithm`` for vi_core.runner.run, the number of steps, and optionally a stop rule and
a note for the verdict. ``start`` (2,) is the off-centre start every method shares and
``sd`` a length scale (1/8 of the box's shorter side). For VI, ``q(state, grid)`` turns a
state into a normalised q (vi_core.families); for MCMC, ``draws(state)`` gives the walker
positions (W, 2). Optional VI hooks: ``elbo(target, grid, qs, trace)`` -> (exact (T,),
MC estimate (T,)) (default: exact by quadrature on the grid, no estimate) and
``best(target, grid, qs, elbo, plan)`` -> ``Best`` (default: no search, the run is its own
best). ``family`` names q's family in the verdict.

Optional MCMC hooks: ``path(kept_state)`` -> ``Moves``, what the step did for the first few
chains (Gibbs' staircase, HMC's leapfrog path), drawn by the animation; ``stats(infos)`` ->
dict of sampler diagnostics over the run's per-step infos (e.g. divergences, step_size),
carried into the result's summary; ``rules``: which of vi_core.verdicts.RULES judge its draws
(emcee's ensembles by the autocorrelation time, independent chains by R-hat and ESS, ...).
``grid_evals``: the method works on the grid's n x n
density evaluations (grid CAVI), which count as its density evaluations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np

from vi_core.runner import Algorithm

__all__ = [
    "PATH_CHAINS",
    "REGISTRY",
    "Best",
    "Method",
    "Moves",
    "Plan",
    "get",
    "mcmc_methods",
    "readers",
    "register",
    "unregister",
    "vi_methods",
]

PATH_CHAINS = 4  # the chains whose moves a sampler records for the animation
PATH_POINTS = 256  # at most this many points of one step's path (longer ones are thinned, ends kept)


class Plan(NamedTuple):
    """What a method's builder hands the run loop. extra: anything the method's own hooks need."""

    algorithm: Algorithm
    n_steps: int
    stop: Callable[[Any, Any], bool] | None = None
    note: str = ""
    extra: Any = None


class Moves(NamedTuple):
    """One step of a sampler for the first ``PATH_CHAINS`` chains (C of them).

    points (C, L, 2) float32: the path the step took, NaN-padded (Gibbs: the old point, the
    z1 update, the z2 update -- the staircase; HMC/NUTS: the leapfrog positions);
    accepted (C,) bool: the chain moved; divergent (C,) bool: the trajectory diverged (its
    energy error blew up); the divergence is marked where the trajectory began, as Stan and
    ArviZ plot it."""

    points: np.ndarray
    accepted: np.ndarray
    divergent: np.ndarray


class Best(NamedTuple):
    """The family's best member found outside the clock: its ELBO, the ELBO of the optimum
    this run was climbing to, and the number of distinct optima found."""

    elbo_best: float
    elbo_local: float
    n_optima: int = 1


@dataclasses.dataclass(frozen=True)
class Method:
    name: str
    label: str
    kind: Literal["vi", "mcmc"]
    build: Callable[..., Plan]
    steps: str  # the Settings field that counts its steps (the CLI's --steps)
    settings: tuple[str, ...] = ()  # the Settings fields it reads
    q: Callable | None = None  # VI: state, grid -> q
    draws: Callable | None = None  # MCMC: state -> (W, 2)
    elbo: Callable | None = None
    best: Callable | None = None
    family: str = ""
    even_walkers: bool = False  # emcee's ensemble moves split the walkers in halves
    path: Callable | None = None  # MCMC: kept state -> Moves
    stats: Callable | None = None  # MCMC: infos -> {name: number}
    grid_evals: bool = False
    rules: tuple[str, ...] = ("chains",)  # MCMC: the verdict rules that judge it (vi_core.verdicts.RULES)

    def __post_init__(self):
        if self.kind not in ("vi", "mcmc"):
            raise ValueError(f"method kind must be 'vi' or 'mcmc', got {self.kind!r}")
        if (self.kind == "vi") != (self.q is not None) or (self.kind == "mcmc") != (self.draws is not None):
            raise ValueError(f"method {self.name!r}: a VI method needs q, an MCMC method draws")


REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    if method.name in REGISTRY:
        raise ValueError(f"method {method.name!r} is already registered")
    REGISTRY[method.name] = method
    return method


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)


def get(name: str, kind: str | None = None) -> Method:
    m = REGISTRY.get(name)
    if m is None or (kind is not None and m.kind != kind):
        names = vi_methods() if kind == "vi" else mcmc_methods() if kind == "mcmc" else tuple(REGISTRY)
        what = {"vi": "VI method", "mcmc": "MCMC method"}.get(kind, "method")
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(names)}")
    return m


EVERY_METHOD = ("n_grid", "time_budget_s")  # read by every run: the grid it is scored on, its time budget


def readers(field: str) -> tuple[str, ...]:
    """The registered methods that read a Settings field (each declares its own in ``Method.settings``); empty for
    the fields every run reads (EVERY_METHOD)."""
    if field in EVERY_METHOD:
        return ()
    return tuple(n for n, m in REGISTRY.items() if field in m.settings)


def vi_methods() -> tuple[str, ...]:
    return tuple(n for n, m in REGISTRY.items() if m.kind == "vi")


def mcmc_methods() -> tuple[str, ...]:
    return tuple(n for n, m in REGISTRY.items() if m.kind == "mcmc")
