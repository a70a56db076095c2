"""ui.scaling, the Scaling page's pure parts: the URL, the sizes run live, the figures, the recorded sweeps. Its
words and numbers (ui.scaling_text) are tested in test_scaling_text.py."""

import math

import numpy as np

from ui import scaling
from ui.compute import SCALE_METHODS, ScaleRecord
from ui.figures.scaling import accuracy_time_figure, bias_figure, headline_figure


def _record(n, method, t_hit, budget=2.0, kind="vi"):
    times = np.array([0.001, 0.01, 0.1, 1.0])
    acc = np.array([1.0, 0.5, 0.05, 0.02])
    return ScaleRecord(
        n=n, method=method, kind=kind, minibatch=method.startswith("minibatch"), times=times, mean_err=acc,
        var_ratio=np.array([[0.5, 0.6]] * 4), accuracy=acc, time_to_accuracy_s=t_hit, final_accuracy=0.02,
        n_density_evals=10, n_grad_evals=20, budget_s=budget, stopped="converged",
    )  # fmt: skip


def test_the_url_is_read_with_fallbacks():
    assert scaling.read_query({}) == ("synthetic", True, 1000, False)
    assert scaling.read_query({"data": "arsenic", "centred": "0", "n": "1e4", "run": "1"}) == (
        "arsenic", False, 10_000, True
    )  # fmt: skip
    # anything unknown or too big for a live run falls back
    assert scaling.read_query({"data": "<b>x</b>", "n": "1e6"}) == ("synthetic", True, 1000, False)
    assert scaling.read_query({"n": "abc"})[2] == 1000


def test_live_sizes():
    assert scaling.live_ns("synthetic", 10_000) == [100, 1_000, 10_000]
    assert scaling.live_ns("synthetic", 100) == [100]
    assert scaling.live_ns("arsenic", 100)[-1] == 3020
    # the page's live budget: every size and method under the per-run budget stays under a minute
    assert len(scaling.LIVE_NS) * len(SCALE_METHODS) * scaling.LIVE_BUDGET_S <= 60


def test_figures_draw_every_method_with_slopes_and_misses():
    labels = {"minibatch-mf": "minibatch", "emcee": "emcee"}
    recs = [_record(n, "minibatch-mf", 0.1) for n in (100, 1000)] + [
        _record(100, "emcee", 0.5, kind="mcmc"), _record(1000, "emcee", None, kind="mcmc")
    ]  # fmt: skip
    fig = headline_figure(recs, labels, {"minibatch-mf": 0.0, "emcee": None})
    names = [t["name"] for t in fig["data"]]
    assert names[0] == "minibatch · slope 0.00" and "emcee: not reached within the budget" in names
    miss = next(t for t in fig["data"] if t["name"].endswith("budget"))
    assert miss["x"] == [1000] and miss["y"] == [2.0]  # drawn at the budget: a lower bound
    assert fig["layout"]["xaxis"]["type"] == fig["layout"]["yaxis"]["type"] == "log"
    acc = accuracy_time_figure(recs[:1], labels, 0.1)
    assert acc["data"][-1]["y"] == [0.1, 0.1]
    bias = bias_figure(recs, labels)
    assert [t["name"] for t in bias["data"]] == ["minibatch", "exact (ratio 1)"]  # emcee is not VI
    assert bias_figure([_record(100, "minibatch-mf", None)], labels)["data"][0]["name"] == "exact (ratio 1)"
    assert math.isclose(bias["data"][0]["y"][0], 0.5)


def test_recorded_sweeps_load_and_say_where_they_come_from():
    from ui.compute import precomputed_scaling

    for centred in (True, False):
        pre = precomputed_scaling(centred)
        if pre is None and not centred:  # recorded separately; the page shows live sizes without it
            continue
        assert pre["machine"] and pre["date"] and pre["settings"]["centred"] is centred
        ns = sorted({r.n for r in pre["records"]})
        assert ns[-1] == 1_000_000 and {r.method for r in pre["records"]} == set(SCALE_METHODS)
        for r in pre["records"]:
            assert r.times.shape == r.accuracy.shape and r.var_ratio.shape == (r.times.size, 2)
            reached = r.time_to_accuracy_s is not None
            assert not reached or r.accuracy[np.searchsorted(r.times, r.time_to_accuracy_s) :].max() <= 0.1 + 1e-12
