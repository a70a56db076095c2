"""A run's full specification and its round trip through the URL query string.

Everything a Run depends on lives in one frozen ``RunSpec`` (hashable: it keys the caches)
and serialises to flat query parameters, so a link restores the exact run. Parsing is
forgiving: a bad value falls back to its default and produces a notice, never an error.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from vi_core import methods
from vi_core.settings import DEFAULTS, OLD_QUERY_KEYS, TABLE, Settings
from vi_core.targets import REGISTRY, Target, make_target
from vi_core.targets.base import check_box_side, num_text
from vi_core.targets.expr import make_expr_target, parse_box

__all__ = [
    "CUSTOM",
    "DEFAULT",
    "FORM",
    "FORM_SETTINGS",
    "RunSpec",
    "box_text",
    "from_query",
    "num_text",
    "parse_user_box",
    "to_query",
]

# The settings a link and the Playground carry: the rows of vi_core.settings.TABLE with a query key.
FORM = tuple(s for s in TABLE if s.query is not None)
# query key -> (Settings field, type, Playground bounds), derived from the table
FORM_SETTINGS: dict[str, tuple[str, type, float, float]] = {s.query: (s.field, s.kind, s.ui_lo, s.ui_hi) for s in FORM}
CLOCKS = ("iteration", "time")
CUSTOM = "custom"  # the typed-expression target
DEFAULT_EXPR = "-(x**2 + y**2)/2 + log(1 + x**2)"
DEFAULT_BOX = "-4, 4, -4, 4"
MAX_SEED = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class RunSpec:
    target: Target
    vi: str = "cavi"
    mcmc: str = "emcee"
    seed: int = 0
    settings: Settings = DEFAULTS
    box: tuple[float, float, float, float] | None = None  # a built-in target's box, when not its own

    @property
    def grid_box(self) -> tuple[float, float, float, float]:
        """The box the quadrature grid, CAVI and the pictures use."""
        return self.box if self.box is not None else self.target.box


DEFAULT = RunSpec(target=make_target("gaussian"))


def to_query(spec: RunSpec, clock: str = "iteration") -> dict[str, str]:
    """Flat, human-readable query parameters for a spec (target params as p_<name>)."""
    q = {"target": spec.target.name}
    if spec.target.name == CUSTOM:
        q.update(expr=spec.target.expr, box=box_text(spec.target.box))
    elif spec.box is not None:
        q["box"] = box_text(spec.box)
    q.update({f"p_{k}": num_text(v) for k, v in spec.target.param_values().items()})
    q.update(vi=spec.vi, mcmc=spec.mcmc, seed=str(spec.seed))
    for s in FORM:
        q[s.query] = num_text(getattr(spec.settings, s.field))
    q["clock"] = clock
    return q


def box_text(box) -> str:
    return ", ".join(num_text(v) for v in box)


def parse_user_box(text: str) -> tuple[float, float, float, float]:
    """A box typed or linked by the user: 4 finite numbers with xmin < xmax, ymin < ymax, each side wide enough
    for the grid to tell its cells apart (vi_core.grid.make_grid's rule), else a one-line ValueError."""
    x0, x1, y0, y1 = box = parse_box(text)
    if not all(math.isfinite(v) for v in box):
        raise ValueError("box values must be finite numbers")
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"box needs xmin < xmax and ymin < ymax, got {box_text(box)}")
    for axis, lo, hi in (("x", x0, x1), ("y", y0, y1)):
        check_box_side(lo, hi, axis)
    return box


def _number(raw: str, kind: type, lo: float, hi: float):
    v = float(raw)
    if not math.isfinite(v):
        raise ValueError
    if kind is int:
        if v != int(v):
            raise ValueError
        v = int(v)
    if not lo <= v <= hi:
        raise ValueError
    return v


def from_query(query: Mapping[str, str]) -> tuple[RunSpec, str, list[str]]:
    """Parse query parameters into (spec, clock, notices). Unknown keys are ignored;
    a bad value is replaced by its default with a notice saying which and why."""
    notices: list[str] = []

    def bad(key, raw, why):
        # plain text (no Markdown): the page shows it through ui.text.plain
        notices.append(f"Ignored “{key}={str(raw)[:40]}” in the link ({why}); using the default.")

    name = query.get("target", DEFAULT.target.name)
    target = None
    own_box = name != CUSTOM  # the link's box is the built-in target's (a typed target's box is its own)
    if name == CUSTOM:
        try:
            target = make_expr_target(query.get("expr", DEFAULT_EXPR), query.get("box", DEFAULT_BOX))
        except ValueError as exc:
            notices.append(f"Ignored the typed target in the link ({exc}); using the default target.")
            name = DEFAULT.target.name
    elif name not in REGISTRY:
        bad("target", name, f"known targets: {', '.join([*REGISTRY, CUSTOM])}")
        name = DEFAULT.target.name
    if target is None:
        params = {}
        for p in REGISTRY[name].params:
            raw = query.get(f"p_{p.name}")
            if raw is None:
                continue
            try:
                params[p.name] = _number(raw, float, p.lo, p.hi)
            except ValueError:
                bad(f"p_{p.name}", raw, f"must be a number in [{p.lo:g}, {p.hi:g}]")
        target = make_target(name, **params)
    box = None
    if own_box and "box" in query:
        try:
            box = parse_user_box(query["box"])
        except ValueError as exc:
            bad("box", query["box"], str(exc))
        box = None if box == target.box else box

    vi = query.get("vi", DEFAULT.vi)
    if vi not in methods.vi_methods():
        bad("vi", vi, f"choose one of {', '.join(methods.vi_methods())}")
        vi = DEFAULT.vi
    mcmc = query.get("mcmc", DEFAULT.mcmc)
    if mcmc not in methods.mcmc_methods():
        bad("mcmc", mcmc, f"choose one of {', '.join(methods.mcmc_methods())}")
        mcmc = DEFAULT.mcmc
    seed = DEFAULT.seed
    if "seed" in query:
        try:
            seed = _number(query["seed"], int, 0, MAX_SEED)
        except ValueError:
            bad("seed", query["seed"], f"a whole number in [0, {MAX_SEED}]")
    kw = {}
    old = {new: key for key, new in OLD_QUERY_KEYS.items() if key in query}  # links from before the readable keys
    for s in FORM:
        key = s.query if s.query in query else old.get(s.query)
        if key is not None:
            try:
                kw[s.field] = _number(query[key], s.kind, s.ui_lo, s.ui_hi)
            except ValueError:
                bad(key, query[key], f"a {'whole ' if s.kind is int else ''}number in [{s.ui_lo:g}, {s.ui_hi:g}]")
    walkers = kw.get("walkers", DEFAULT.settings.walkers)
    if methods.REGISTRY[mcmc].even_walkers and walkers % 2:
        hi = next(s.ui_hi for s in FORM if s.field == "walkers")
        kw["walkers"] = walkers + 1 if walkers + 1 <= hi else walkers - 1
        notices.append(
            f"Rounded “walkers={walkers}” in the link to {kw['walkers']}: {mcmc} moves the walkers in two halves, "
            "so it needs an even number."
        )
    clock = query.get("clock", "iteration")
    if clock not in CLOCKS:
        bad("clock", clock, "iteration or time")
        clock = "iteration"
    return RunSpec(target, vi, mcmc, seed, Settings(**kw), box), clock, notices
