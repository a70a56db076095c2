"""Scaling's records: ``ScaleRecord`` (one method on one data size), the slope fitted across sizes (in seconds or
in rows touched), and the JSON file of a recorded sweep (``python -m benchmarks.scaling --write``;
vi_core/data/scaling_precomputed*.json), written and read here only.

The file: {"machine": str, "date": "YYYY-MM-DD", "settings": {...how it was run}, "records": [record, ...]}, each
record ``ScaleRecord.summary()`` plus "budget_s", "stopped" and the checkpoint arrays "times", "mean_err", "sd_err",
"var_ratio", "accuracy" and "rows" as lists. A file written before the fair rule (no "sd_err", "rows",
"warmup_excluded") still reads: those arrays as nan, ``warmup_excluded`` False.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

__all__ = ["ScaleRecord", "read_sweep", "record_from_dict", "record_to_dict", "slope", "write_sweep"]

_ARRAYS = ("times", "mean_err", "sd_err", "var_ratio", "accuracy", "rows")
_OPTIONAL_ARRAYS = ("sd_err", "rows")  # absent from files written before the fair rule


def _final(a) -> float | None:
    if a is None or not len(a):
        return None
    v = float(np.asarray(a, float)[-1])
    return v if math.isfinite(v) else None


class ScaleRecord(NamedTuple):
    """One method on one data size. Arrays at the checkpoints (about 50, log-spaced in steps, the initial state
    and the last step included): times (T,) seconds since the method's start; mean_err (T,) the largest over the
    coordinates of |estimated mean - reference mean| / reference sd; sd_err (T,) the largest of |estimated sd /
    reference sd - 1|; var_ratio (T, 2) estimated / reference variance; accuracy (T,) the rule's score, max(mean_err
    / 0.1, sd_err / 0.1) (vi_core.scaling.score.ACCURACY: accurate when <= 1); rows (T,) rows touched so far (one
    data row's likelihood or gradient term at one point = 1; a full-data gradient at one point = N).
    time_to_accuracy_s: the first checkpoint from which the run is accurate to its end (None if never);
    rows_to_accuracy: the rows touched by then. Evaluations in full-posterior equivalents (a minibatch gradient of
    B rows at one point = B/N). stopped: "converged" (accurate over the last doubling of the steps and the
    variance estimate moved < 10% over it: the run ends early to save time), "settled" (inaccurate, its estimate
    no longer moving towards the truth: vi_core.scaling.score), "budget" or "steps".
    warmup_excluded: scored by the fair rule (MCMC on its draws after warm-up); grad_var_reduction: the measured
    Var(plain) / Var(control variate) of the minibatch gradient (control-variate methods, else None); warmup_s:
    when the first draw after a sampler's own warm-up was made (NUTS; None for the others, or while still in it)."""

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
    sd_err: np.ndarray | None = None
    rows: np.ndarray | None = None
    rows_touched: int = 0
    rows_to_accuracy: int | None = None
    warmup_excluded: bool = False
    grad_var_reduction: float | None = None
    warmup_s: float | None = None

    def summary(self) -> dict:
        t = self.time_to_accuracy_s
        fa = float(self.final_accuracy)
        rta, gvr = self.rows_to_accuracy, self.grad_var_reduction
        return {
            "n": int(self.n),
            "method": str(self.method),
            "kind": str(self.kind),
            "minibatch": bool(self.minibatch),
            "time_to_accuracy_s": None if t is None else float(t),
            "final_accuracy": fa if math.isfinite(fa) else None,
            "n_density_evals": int(self.n_density_evals),
            "n_grad_evals": int(self.n_grad_evals),
            "rows_touched": int(self.rows_touched),
            "rows_to_accuracy": None if rta is None else int(rta),
            "mean_error": _final(self.mean_err),
            "sd_error": _final(self.sd_err),
            "warmup_excluded": bool(self.warmup_excluded),
            "grad_var_reduction": None if gvr is None or not math.isfinite(gvr) else float(gvr),
            "warmup_s": None if self.warmup_s is None else float(self.warmup_s),
        }


def slope(records: list[ScaleRecord], method: str, cost: str = "seconds") -> float | None:
    """Least-squares slope of log10(cost to accuracy) against log10(N) over the Ns where the method reached it
    (None with fewer than two such Ns); cost "seconds" (time to accuracy) or "rows" (rows touched by then)."""
    if cost not in ("seconds", "rows"):
        raise ValueError(f"cost must be 'seconds' or 'rows', got {cost!r}")
    field = "time_to_accuracy_s" if cost == "seconds" else "rows_to_accuracy"
    pts = [(r.n, getattr(r, field)) for r in records if r.method == method]
    pts = [(n, v) for n, v in pts if v is not None and v > 0]
    if len({n for n, _ in pts}) < 2:
        return None
    x = np.log10([float(n) for n, _ in pts])
    y = np.log10([float(v) for _, v in pts])
    return float(np.polyfit(x, y, 1)[0])


def _array(r: ScaleRecord, k: str) -> np.ndarray:
    a = getattr(r, k)
    return np.full(len(r.times), np.nan) if a is None else np.asarray(a)


def record_to_dict(r: ScaleRecord) -> dict:
    """One record as the file holds it (JSON-ready)."""
    return {
        **r.summary(),
        "budget_s": r.budget_s,
        "stopped": r.stopped,
        **{k: _array(r, k).tolist() for k in _ARRAYS},
    }


def record_from_dict(d: dict) -> ScaleRecord:
    """The record a file's entry holds (record_to_dict's inverse; a final accuracy written as null reads as nan;
    the summary's derived finals are not fields; arrays an older file lacks read as nan). Raises KeyError, TypeError
    or ValueError on an entry that is not one."""
    values = {k: (np.asarray(d[k], dtype=float) if k in _ARRAYS else d[k]) for k in ScaleRecord._fields if k in d}
    if values.get("final_accuracy", 0.0) is None:
        values["final_accuracy"] = math.nan
    size = len(d["times"]) if isinstance(d.get("times"), list) else 0
    for k in _OPTIONAL_ARRAYS:
        values.setdefault(k, np.full(size, np.nan))
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
