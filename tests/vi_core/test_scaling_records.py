"""vi_core.scaling.records: the record, the fitted slope, and the recorded sweep's JSON file (written and read
here; the files in vi_core/data still load)."""

import json
import math
import pathlib

import numpy as np
import pytest

from vi_core.scaling.records import ScaleRecord, read_sweep, record_from_dict, record_to_dict, slope, write_sweep

DATA = pathlib.Path(__file__).parents[2] / "vi_core" / "data"
KEYS = ["n", "method", "kind", "minibatch", "time_to_accuracy_s", "final_accuracy", "n_density_evals",
        "n_grad_evals", "rows_touched", "rows_to_accuracy", "mean_error", "sd_error", "warmup_excluded",
        "grad_var_reduction", "warmup_s", "budget_s", "stopped", "times", "mean_err", "sd_err", "var_ratio", "accuracy",
        "rows"]  # fmt: skip
OLD_KEYS = ["n", "method", "kind", "minibatch", "time_to_accuracy_s", "final_accuracy", "n_density_evals",
            "n_grad_evals", "budget_s", "stopped", "times", "mean_err", "var_ratio", "accuracy"]  # fmt: skip


def test_slope_on_synthetic_records():
    def rec(n, t, method="nuts"):
        return ScaleRecord(n, method, "mcmc", False, *[np.zeros(1)] * 2, np.zeros((1, 2)), np.zeros(1),
                                   t, 0.0, 0, 0, 1.0, "budget")  # fmt: skip

    records = [rec(10**k, 0.01 * 10 ** (0.8 * k)) for k in range(2, 6)] + [rec(10**6, None), rec(100, 1.0, "x")]
    assert slope(records, "nuts") == pytest.approx(0.8)
    assert slope(records, "x") is None and slope(records, "emcee") is None
    # in rows touched: the rows by the time of accuracy, here 1000 N^1.1
    records = [r._replace(rows_to_accuracy=None if r.time_to_accuracy_s is None else round(1000 * r.n**1.1))
               for r in records]  # fmt: skip
    assert slope(records, "nuts", "rows") == pytest.approx(1.1, abs=1e-6)
    with pytest.raises(ValueError):
        slope(records, "nuts", "minutes")


def _record(n=100, method="minibatch-fr", t=0.5, final=0.02):
    return ScaleRecord(n, method, "vi", True, np.array([0.0, 0.1, 1.0]), np.array([1.0, 0.05, final]),
                       np.array([[0.5, 0.6], [0.9, 1.0], [1.0, 1.01]]), np.array([10.0, 0.5, final * 10]), t,
                       final * 10, 0, 40, 2.0, "converged", sd_err=np.array([0.3, 0.05, 0.005]),
                       rows=np.array([0.0, 4e3, 4e4]), rows_touched=40_000,
                       rows_to_accuracy=None if t is None else 4000, warmup_excluded=True,
                       grad_var_reduction=None if t is None else 123.0)  # fmt: skip


def test_a_sweep_file_round_trips(tmp_path):
    recs = [_record(), _record(1000, "nuts", None, math.nan)]
    settings = {"name": "synthetic", "ns": [100, 1000], "centred": True, "seed": 0}
    path = tmp_path / "sweep.json"
    write_sweep(path, recs, machine="host: x86_64", date="2026-01-02", settings=settings)
    raw = json.loads(path.read_text())
    assert list(raw) == ["machine", "date", "settings", "records"] and list(raw["records"][0]) == KEYS
    assert raw["records"][1]["final_accuracy"] is None and raw["records"][1]["time_to_accuracy_s"] is None
    back = read_sweep(path)
    assert (back["machine"], back["date"], back["settings"]) == ("host: x86_64", "2026-01-02", settings)
    for a, b in zip(recs, back["records"], strict=True):
        assert json.dumps(record_to_dict(a)) == json.dumps(record_to_dict(b))  # NaN as NaN
        for f in ("times", "mean_err", "sd_err", "var_ratio", "accuracy", "rows"):
            assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) and getattr(b, f).dtype == float
    assert math.isnan(back["records"][1].final_accuracy)  # null reads back as nan, a float like the field


@pytest.mark.parametrize("name", ["scaling_precomputed.json", "scaling_precomputed_uncentred.json"])
def test_the_recorded_sweeps_still_load(name):
    raw = json.loads((DATA / name).read_text())
    pre = read_sweep(DATA / name)
    assert pre["machine"] == raw["machine"] and pre["settings"] == raw["settings"]
    assert {r.method for r in pre["records"]} == set(pre["settings"]["methods"])
    for entry, r in zip(raw["records"], pre["records"], strict=True):
        assert list(entry) in (KEYS, OLD_KEYS)
        # a new entry is written back the same (NaN as NaN: NUTS has no estimate in its warm-up)
        assert json.dumps(record_to_dict(r)) == json.dumps(entry) or list(entry) == OLD_KEYS
        assert r.var_ratio.shape == (r.times.size, 2) and r.sd_err.shape == r.rows.shape == r.times.shape


def test_a_file_from_before_the_fair_rule_still_reads(tmp_path):
    """An entry without the fair rule's fields reads with them as nan / False: the page keeps loading."""
    old = {k: v for k, v in record_to_dict(_record()).items() if k in OLD_KEYS}
    (tmp_path / "old.json").write_text(json.dumps({"machine": "m", "date": "2025-01-01", "settings": {},
                                                   "records": [old]}))  # fmt: skip
    (r,) = read_sweep(tmp_path / "old.json")["records"]
    assert np.all(np.isnan(r.sd_err)) and np.all(np.isnan(r.rows)) and r.sd_err.shape == r.times.shape
    assert r.warmup_excluded is False and r.rows_to_accuracy is None and r.grad_var_reduction is None
    assert r.summary()["sd_error"] is None


def test_an_entry_that_is_not_a_record_is_refused(tmp_path):
    with pytest.raises(TypeError):
        record_from_dict({"n": 100})
    (tmp_path / "bad.json").write_text('{"machine": "m"}')
    with pytest.raises(KeyError):
        read_sweep(tmp_path / "bad.json")
