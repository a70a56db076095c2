"""vi_core.scaling.runs: one budgeted run's record, its argument checks, and the sweep's order and progress.
Seeded, no timed assertions."""

import numpy as np
import pytest

from vi_core.scaling.data import dataset
from vi_core.scaling.runs import run_one, sweep


def test_run_one_refuses_bad_arguments():
    data = dataset("synthetic", 100)
    for kwargs in ({"method": "nope"}, {"budget_s": 0.0}, {"budget_s": float("inf")}, {"batch": 0}):
        with pytest.raises(ValueError) as exc:
            run_one(data, **{"method": "nuts", **kwargs})
        assert "\n" not in str(exc.value)
    with pytest.raises(ValueError, match="unknown scaling method"):
        sweep([100], ["nuts", "nope"])


def test_a_seeded_run_is_repeatable_and_scored_at_log_spaced_checkpoints():
    data = dataset("synthetic", 150, seed=5)
    a, b = (run_one(data, "minibatch-fr", budget_s=30.0, seed=2, batch=30) for _ in range(2))
    assert a.stopped == b.stopped == "converged"
    np.testing.assert_array_equal(a.mean_err, b.mean_err)
    np.testing.assert_array_equal(a.var_ratio, b.var_ratio)
    assert a.n_grad_evals == b.n_grad_evals and a.rows_touched == b.rows_touched
    np.testing.assert_allclose(a.accuracy, np.maximum(a.mean_err / 0.1, a.sd_err / 0.1), rtol=1e-12)  # the rule
    assert a.times[0] < a.times[1] and 20 <= a.times.size <= 52 and a.final_accuracy == a.accuracy[-1]


def test_the_sweep_runs_every_method_at_every_size_and_reports_progress():
    said = []
    recs = sweep([100, 120], ["fullbatch-fr", "emcee"], budget_s=20.0, seed=1, progress=lambda f, m: said.append(f))
    assert [(r.n, r.method) for r in recs] == [(100, "fullbatch-fr"), (100, "emcee"), (120, "fullbatch-fr"),
                                               (120, "emcee")]  # fmt: skip
    assert said == [0.25, 0.5, 0.75, 1.0]
