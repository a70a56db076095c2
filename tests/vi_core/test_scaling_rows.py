"""Rows touched, every method: its own count against an independent tally of every (row, point) pair the linear
predictor was computed for (vi_core.scaling.model.eta_rows, the one place the methods' likelihood and gradient
evaluations meet the data), over the whole run, the anchor's passes included."""

import pytest

from vi_core.scaling import minibatch, model
from vi_core.scaling.data import dataset
from vi_core.scaling.methods import METHODS
from vi_core.scaling.model import LogisticPosterior, reference
from vi_core.scaling.runs import run_one


@pytest.fixture(scope="module")
def mid():
    # N above the anchor's subsample, so the control-variate methods run both of its stages
    data = dataset("synthetic", minibatch.ANCHOR_SUBSAMPLE + 2_000, seed=9)
    return data, reference(LogisticPosterior(data))


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_counts_the_rows_it_touched(method, mid, monkeypatch):
    data, ref = mid
    tally = [0]
    real = model.eta_rows

    def counting(z, dt):
        out = real(z, dt)
        tally[0] += out.size
        return out

    monkeypatch.setattr(model, "eta_rows", counting)
    r = run_one(data, method, budget_s=0.3, seed=1, batch=300, ref=ref)
    assert r.rows_touched == tally[0] > 0
    assert r.rows[-1] == r.rows_touched
    if not METHODS[method].minibatch:  # full-data methods touch all N rows at every point they evaluate
        assert r.rows_touched % data.x.size == 0
