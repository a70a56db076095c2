"""The target contract: a 2D unnormalised log density ln p~(z) = ln p(X, Z=z).

A target is a small frozen dataclass. Its fields are its numeric parameters, so it
hashes (``st.cache_data`` keys on it) and compares by value. Subclasses set the class
attributes ``name``, ``description``, ``params`` and ``labels`` and implement
``log_density``, ``grad_log_density`` and ``box``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import numpy as np

__all__ = [
    "MIN_SIDE",
    "REGISTRY",
    "Conditional",
    "Param",
    "Target",
    "check_box_side",
    "check_finite_params",
    "make_target",
    "num_text",
    "register",
]

MIN_SIDE = 1e-6  # a box side at least this times max(1, its largest |end|): the grid's cells must differ in float64


def num_text(v: float) -> str:
    """The shortest text that reads back as exactly ``v`` ('4.5', '-4', '1e-05', '100.0001')."""
    s = repr(float(v))
    return s[:-2] if s.endswith(".0") else s


def check_box_side(lo: float, hi: float, axis: str = "", names: tuple[str, str] | None = None) -> None:
    """ValueError, with every digit, when the box side [lo, hi] is narrower than MIN_SIDE * max(1, |lo|, |hi|):
    narrower, cell widths drown in rounding (and dx * dy can underflow to 0). axis ("x", "y") and names
    (e.g. ("xmin", "xmax")) only word the message."""
    if hi - lo < MIN_SIDE * max(1.0, abs(lo), abs(hi)):
        where = f" in {axis}" if axis else ""
        ends = f"{names[0]}={num_text(lo)}, {names[1]}={num_text(hi)}" if names else f"{num_text(lo)} to {num_text(hi)}"
        raise ValueError(
            f"box is too narrow{where} for its distance from 0: {ends}; a side must be at least a millionth of its "
            "larger |end| (or of 1) wide"
        )


class Param(NamedTuple):
    """A numeric parameter of a target: default and closed bounds [lo, hi]."""

    name: str
    default: float
    lo: float
    hi: float
    help: str = ""


class Conditional(NamedTuple):
    """The exact posterior as a 1D density times normal mixtures: what the reference uses.

        p(z1, z2 | X) = m(z1) * sum_c pi_c(z1) N(z2; mu_c(z1), sd_c(z1)^2)

    Every closed-form target here has this shape (the funnel's x given v is N(0, e^v): in
    (v, u = x e^(-v/2)) a product of normals). Moments, marginals, the mass outside a box
    and cell probabilities then need only 1D quadrature in z1 of normal CDFs in z2, which
    no grid resolution limits (vi_core.reference).

    log_m: t (K,) -> ln m(t), m normalised on the line; z1_range: holds all but ~1e-15 of m;
    components: t (K,) -> (ln pi (C, K), mu (C, K), sd (C, K)); coords: the coordinates in
    which the posterior is this product, for the reference's ``method`` text; z1_breaks:
    points where m is not smooth (quadrature panels break there).
    """

    log_m: Callable[[np.ndarray], np.ndarray]
    z1_range: tuple[float, float]
    components: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
    coords: str
    z1_breaks: tuple[float, ...] = ()


@dataclasses.dataclass(frozen=True)
class Target:
    """Base class. Subclass fields must match ``params`` by name and order."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    labels: ClassVar[tuple[str, str]] = ("z₁", "z₂")
    # Whether z1 and z2 are the same kind of quantity, so pictures draw them to one scale.
    same_units: ClassVar[bool] = True
    log_z_exact: ClassVar[None] = None  # overridden by a property where a closed form exists
    conditional: ClassVar[None] = None  # overridden by a property -> Conditional where one exists
    # Overridden by a method gibbs_conditional(axis, other, rng) -> (C,) where both full conditionals
    # have closed forms: exact draws of z_axis given the other coordinate = other (C,). Without it
    # the Gibbs sampler (vi_core.gibbs) draws each conditional on a fine 1D grid.
    gibbs_conditional: ClassVar[None] = None
    # True for targets whose density is proper by construction (every built-in): the grid then
    # skips the far-out scan that refuses densities which cannot be normalised.
    known_proper: ClassVar[bool] = True
    # A sentence when no plotting box can hold the target's mass and resolve it at once (the
    # funnel): the grid then reports a cut box or coarse cells as notes, not warnings.
    window_note: ClassVar[str] = ""

    def __post_init__(self):
        check_finite_params(self)

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """ln p~(z) for z of shape (..., 2) -> (...)."""
        raise NotImplementedError

    def grad_log_density(self, z: np.ndarray) -> np.ndarray:
        """Gradient of ln p~ for z of shape (..., 2) -> (..., 2)."""
        raise NotImplementedError

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(xmin, xmax, ymin, ymax): holds the mass; used for quadrature and plotting."""
        raise NotImplementedError

    def param_values(self) -> dict[str, float]:
        return {p.name: float(getattr(self, p.name)) for p in self.params}

    def to_dict(self) -> dict:
        """JSON-ready description: name, parameters with bounds, box, axis labels."""
        return {
            "name": self.name,
            "description": self.description,
            "params": [p._asdict() for p in self.params],
            "values": self.param_values(),
            "box": list(self.box),
            "labels": list(self.labels),
        }


def check_finite_params(target: Target) -> None:
    """Raise ValueError unless every parameter is a finite number inside its bounds."""
    for p in target.params:
        v = getattr(target, p.name)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{target.name}: parameter {p.name} must be a number, got {v!r}")
        if not math.isfinite(v):
            raise ValueError(f"{target.name}: parameter {p.name} must be finite, got {v}")
        if not (p.lo <= v <= p.hi):
            raise ValueError(f"{target.name}: parameter {p.name}={v:g} is outside its bounds [{p.lo:g}, {p.hi:g}]")


REGISTRY: dict[str, type[Target]] = {}


def register(cls: type[Target]) -> type[Target]:
    """Class decorator: add a target class to the registry under ``cls.name``."""
    if cls.name in REGISTRY:
        raise ValueError(f"target name {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def make_target(name: str, **params: float) -> Target:
    """Build a registered target by name; unknown names or parameters raise ValueError."""
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown target {name!r}; known targets: {known}")
    cls = REGISTRY[name]
    allowed = {p.name for p in cls.params}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"target {name!r} has no parameter {unknown[0]!r}; its parameters: "
            + (", ".join(p.name for p in cls.params) or "none")
        )
    values = {p.name: params.get(p.name, p.default) for p in cls.params}
    for k, v in values.items():
        try:
            values[k] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: parameter {k} must be a number, got {v!r}") from None
    return cls(**values)
