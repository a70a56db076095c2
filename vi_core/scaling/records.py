"""Scaling's records: ``ScaleRecord`` (one method on one data size), the slope fitted across sizes, and the JSON
file of a recorded sweep (``python -m benchmarks.scaling --write``; vi_core/data/scaling_precomputed*.json), written
and read here only.

The file: {"machine": str, "date": "YYYY-MM-DD", "settings": {...how it was run}, "records": [record, ...]}, each
record ``ScaleRecord.summary()`` plus "budget_s", "stopped" and the checkpoint arrays "times", "mean_err",
"var_ratio" and "accuracy" as lists.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

__all__ = ["ScaleRecord", "read_sweep", "record_from_dict", "record_to_dict", "slope", "write_sweep"]

_ARRAYS = ("times", "mean_err", "var_ratio", "accuracy")


class ScaleRecord(NamedTuple):
    """One method on one data size. Arrays at the checkpoints (about 50, log-spaced in steps, the initial state
    and the last step included): times (T,) seconds since the method's start; mean_err (T,) the largest over the
    coordinates of |estimated mean - reference mean| / reference sd; var_ratio (T, 2) estimated / reference
    variance; accuracy (T,) = mean_err, the yardstick of "reached". time_to_accuracy_s: the first checkpoint from
    which accuracy <= ACCURACY holds to the end (None if never). Evaluations in full-posterior equivalents (a
    minibatch gradient of B rows at one point = B/N). stopped: "converged" (accuracy held below ACCURACY over the
    last doubling of the steps and the variance estimate moved < 10% over it: the run ends early to save time),
    "budget" or "steps"."""

    n: int
    method: str
    kind: str
    minibatch: bool
    times: np.ndarray
    mean_err: np.ndarray
    var_ratio: np.ndarray
    accuracy: np.ndarray
    time_to_accuracy_s: float | None
    final_accuracy: float
    n_density_evals: int
    n_grad_evals: int
    budget_s: float
    stopped: str

    def summary(self) -> dict:
        t = self.time_to_accuracy_s
        fa = float(self.final_accuracy)
        return {
            "n": int(self.n),
            "method": str(self.method),
            "kind": str(self.kind),
            "minibatch": bool(self.minibatch),
            "time_to_accuracy_s": None if t is None else float(t),
            "final_accuracy": fa if math.isfinite(fa) else None,
            "n_density_evals": int(self.n_density_evals),
            "n_grad_evals": int(self.n_grad_evals),
        }


def slope(records: list[ScaleRecord], method: str) -> float | None:
    """Least-squares slope of log10(time to accuracy) against log10(N) over the Ns where the method reached it
    (None with fewer than two such Ns)."""
    pts = [
        (r.n, r.time_to_accuracy_s)
        for r in records
        if r.method == method and r.time_to_accuracy_s is not None and r.time_to_accuracy_s > 0
    ]
    if len({n for n, _ in pts}) < 2:
        return None
    x = np.log10([float(n) for n, _ in pts])
    y = np.log10([float(t) for _, t in pts])
    return float(np.polyfit(x, y, 1)[0])


def record_to_dict(r: ScaleRecord) -> dict:
    """One record as the file holds it (JSON-ready)."""
    return {
        **r.summary(),
        "budget_s": r.budget_s,
        "stopped": r.stopped,
        **{k: getattr(r, k).tolist() for k in _ARRAYS},
    }


def record_from_dict(d: dict) -> ScaleRecord:
    """The record a file's entry holds (record_to_dict's inverse; a final accuracy written as null reads as nan).
    Raises KeyError, TypeError or ValueError on an entry that is not one."""
    values = {k: (np.asarray(d[k], dtype=float) if k in _ARRAYS else d[k]) for k in ScaleRecord._fields if k in d}
    if values.get("final_accuracy", 0.0) is None:
        values["final_accuracy"] = math.nan
    return ScaleRecord(**values)


def write_sweep(
    path: str | os.PathLike, records: Iterable[ScaleRecord], *, machine: str, date: str, settings: dict
) -> None:
    """Write a recorded sweep: where and when it ran, how (settings), and every record."""
    out = {"machine": machine, "date": date, "settings": settings, "records": [record_to_dict(r) for r in records]}
    with open(path, "w") as f:
        json.dump(out, f)


def read_sweep(path: str | os.PathLike) -> dict:
    """A recorded sweep: {"machine", "date", "settings", "records" (ScaleRecord)}. Raises OSError, ValueError,
    KeyError or TypeError on a file that is missing or not one."""
    with open(path) as f:
        raw = json.load(f)
    return {**raw, "records": [record_from_dict(r) for r in raw["records"]]}
