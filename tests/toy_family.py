"""A toy variational family in one module, to show what a new family takes: a fixed-shape mixture of two isotropic
Gaussians whose components slide towards each other, step by step. Only its mean, covariance, density and sampler
are written here; everything else (ELBO, yardsticks, marginals, the race's picture) comes from
vi_core.families.Family's defaults. Importing this module registers the method "toy-mix"; ``unregister()`` takes
it out again."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from vi_core.families import Family
from vi_core.method import Method, Plan, register
from vi_core.method import unregister as _unregister
from vi_core.runner import Algorithm

NAME = "toy-mix"
SD = 0.8


@dataclasses.dataclass(frozen=True, eq=False)
class TwoBumps(Family):
    """q(z) = ½ N(z; c - d, SD² I) + ½ N(z; c + d, SD² I). c (2,) the centre, d (2,) half the gap."""

    c: np.ndarray
    d: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.c, dtype=float)

    @property
    def cov(self) -> np.ndarray:
        return SD**2 * np.eye(2) + np.outer(self.d, self.d)

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        parts = [-0.5 * np.sum((z - (self.c + s * self.d)) ** 2, axis=-1) / SD**2 for s in (-1.0, 1.0)]
        return np.logaddexp(*parts) - math.log(2.0) - math.log(2 * math.pi * SD**2)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sign = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
        return self.c + sign[:, None] * self.d + SD * rng.standard_normal((n, 2))


def _build(target, grid, settings, start, sd) -> Plan:
    centre = np.array([0.5 * (grid.box[0] + grid.box[1]), 0.5 * (grid.box[2] + grid.box[3])])

    def init(rng):
        return TwoBumps(centre, np.array([2.0, 0.0]))

    def step(rng, q):
        return TwoBumps(q.c, 0.9 * q.d), None  # the bumps slide together

    return Plan(Algorithm(init, step), settings.vi_steps)


METHOD = Method(
    NAME, "Toy: two sliding bumps", "vi", _build, "vi_steps", settings=("vi_steps",), q=lambda q, grid: q,
    family="two-bump mixtures",
)  # fmt: skip


def install() -> None:
    if NAME not in __import__("vi_core.method", fromlist=["REGISTRY"]).REGISTRY:
        register(METHOD)


def unregister() -> None:
    _unregister(NAME)
