"""Scaling's data sets: synthetic logistic-regression data of any size, and the arsenic wells."""

from __future__ import annotations

import functools
import pathlib
from typing import NamedTuple

import numpy as np
from scipy.special import expit

__all__ = ["ARSENIC_CITATION", "ARSENIC_N", "SYNTHETIC_TRUTH", "LogisticData", "dataset"]

_DATA_DIR = pathlib.Path(__file__).resolve().parents[1] / "data"
ARSENIC_N = 3020
_ARSENIC_PERM_SEED = 2007  # the fixed permutation whose first n rows are the arsenic subsets
SYNTHETIC_TRUTH = (-0.5, 1.0)  # (alpha, beta) the synthetic data are drawn from (x on its uncentred scale)
ARSENIC_CITATION = (
    "Gelman & Hill (2007) Data Analysis Using Regression and Multilevel/Hierarchical Models, ch. 5; "
    "survey: van Geen et al. (2003) Water Resources Research 39(5) 1140; via stan-dev/example-models"
)


class LogisticData(NamedTuple):
    """x (N,) float64 covariate (centred: its mean subtracted), y (N,) float64 0/1; citation "" for synthetic."""

    name: str
    x: np.ndarray
    y: np.ndarray
    centred: bool
    citation: str


@functools.lru_cache(maxsize=1)
def _wells() -> tuple[np.ndarray, np.ndarray]:
    raw = np.loadtxt(_DATA_DIR / "wells.csv", delimiter=",", skiprows=1)
    return raw[:, 1] / 100.0, raw[:, 0].astype(float)  # distance in 100 m, switched


def _whole(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer, float)) or not float(n).is_integer():
        raise ValueError(f"n must be a whole number, got {n!r}")
    return int(n)


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 10 <= n <= 2_000_000:
        raise ValueError(f"synthetic data: n must be in [10, 2000000], got {n}")
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(1.0, 1.0, n), 3)
    a, b = SYNTHETIC_TRUTH
    y = (rng.uniform(size=n) < expit(a + b * x)).astype(float)
    return x, y


def _arsenic(n: int | None) -> tuple[np.ndarray, np.ndarray]:
    x_all, y_all = _wells()
    if n is None or n == ARSENIC_N:
        return x_all.copy(), y_all.copy()
    if 10 <= n < ARSENIC_N:
        idx = np.random.default_rng(_ARSENIC_PERM_SEED).permutation(ARSENIC_N)[:n]
        return x_all[idx], y_all[idx]
    raise ValueError(f"arsenic data: n must be in [10, {ARSENIC_N}], got {n}")


def dataset(name: str, n: int | None = None, seed: int = 0, centred: bool = True) -> LogisticData:
    """A logistic-regression data set.

    "synthetic": x ~ N(1, 1) rounded to 1e-3 (its uncentred mean is away from 0, so centring changes the
    posterior correlation of intercept and slope: about -0.7 uncentred, about +0.2 centred), y ~ Bernoulli(
    sigmoid(-0.5 + 1.0 x)) from a generator seeded by ``seed``; n in [10, 2_000_000] (default 1000). The rounding
    puts x on a lattice, so the reference costs O(distinct x) per point (vi_core.scaling.model.reference); the
    methods use the raw rows. "arsenic": the wells data (vi_core/data/wells.csv; Gelman & Hill 2007, ch. 5),
    x = distance to the nearest safe well in 100 m, y = switched; n=None or 3020: all rows in file order; n < 3020:
    the first n rows of a fixed permutation (``seed`` does not change it). Centring subtracts the mean of the rows
    used.
    """
    if name not in ("synthetic", "arsenic"):
        raise ValueError(f"unknown data set {name!r}; choose synthetic or arsenic")
    n = None if n is None else _whole(n)
    if name == "synthetic":
        x, y = _synthetic(1000 if n is None else n, seed)
        citation = ""
    else:
        x, y = _arsenic(n)
        citation = ARSENIC_CITATION
    if centred:
        x = x - x.mean()
    return LogisticData(name, x.astype(float), y.astype(float), bool(centred), citation)
