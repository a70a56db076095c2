"""ui.scaling, the Scaling page's pure parts: the URL, the sizes run live, the rule in words, the table, the figures,
the recorded sweeps. Its words and numbers (ui.scaling_text) are tested in test_scaling_text.py."""

import math

import numpy as np

from ui import scaling
from ui.compute import SCALE_ACCURACY, SCALE_METHODS, ScaleRecord
from ui.figures.scaling import accuracy_time_figure, bias_figure, cost_to_accuracy, headline_figure, worst_ratio


def _record(n, method, t_hit, budget=2.0, kind="vi", stopped="converged", var=(0.5, 0.6)):
    times = np.array([0.001, 0.01, 0.1, 1.0])
    acc = np.array([10.0, 5.0, 0.5, 0.2])
    return ScaleRecord(
        n=n, method=method, kind=kind, minibatch=method.startswith(("minibatch", "sgld")), times=times,
        mean_err=acc / 10, var_ratio=np.array([var] * 4), accuracy=acc, time_to_accuracy_s=t_hit, final_accuracy=0.2,
        n_density_evals=10, n_grad_evals=20, budget_s=budget, stopped=stopped, sd_err=acc / 20,
        rows=np.array([0.0, 1e3, 1e4, 1e5]), rows_touched=100_000,
        rows_to_accuracy=None if t_hit is None else 10_000, warmup_excluded=True,
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


def test_the_rule_is_stated_with_the_engines_thresholds():
    text = scaling.rule_text()
    assert f"within {SCALE_ACCURACY.mean_sd:g} posterior sd" in text and f"within {SCALE_ACCURACY.sd_rel:.0%}" in text
    assert "after warm-up" in text and "Rows touched" in text


def test_the_table_has_both_costs_and_both_errors():
    labels = {m: s.label for m, s in SCALE_METHODS.items()}
    recs = [_record(100, "minibatch-mf", 0.1), _record(100, "emcee", None, kind="mcmc", stopped="budget")]
    df = scaling.summary_table(recs, labels, {100: "live"})
    assert list(df["time to accuracy"]) == ["0.1 s", "not within 2 s"]
    assert list(df["rows to accuracy"]) == ["1e+04", "—"] and list(df["rows touched"]) == ["1e+05", "1e+05"]
    assert list(df["final mean error (sd)"]) == ["0.020", "0.020"] and list(df["final sd error (%)"]) == ["1.0"] * 2
    assert list(df["variance ratio"]) == ["0.50", "0.50"] and list(df["ended"]) == ["converged", "budget"]
    assert list(df["measured"]) == ["live", "live"]


def test_figures_draw_every_method_with_slopes_misses_and_both_costs():
    labels = {"minibatch-mf": "minibatch", "emcee": "emcee", "sgld": "SGLD"}
    recs = [_record(n, "minibatch-mf", 0.1) for n in (100, 1000)] + [
        _record(100, "emcee", 0.5, kind="mcmc"), _record(1000, "emcee", None, kind="mcmc", stopped="budget"),
        _record(1000, "sgld", None, kind="mcmc", stopped="settled", var=(4.0, 3.0)),
    ]  # fmt: skip
    fig = headline_figure(recs, labels, {"minibatch-mf": 0.0, "emcee": None})
    names = [t["name"] for t in fig["data"]]
    assert names[0] == "minibatch · slope 0.00" and "emcee: not reached within the budget" in names
    assert "SGLD: not reached within the budget" not in names  # settled short: a bias, no bound to draw
    miss = next(t for t in fig["data"] if t["name"].endswith("budget"))
    assert miss["x"] == [1000] and miss["y"] == [2.0]  # drawn at the budget: a lower bound
    assert fig["layout"]["xaxis"]["type"] == fig["layout"]["yaxis"]["type"] == "log"
    rows = headline_figure(recs, labels, {}, cost="rows")
    assert rows["data"][0]["y"] == [10_000, 10_000] and "rows touched" in rows["layout"]["yaxis"]["title"]["text"]
    assert next(t for t in rows["data"] if t["name"].endswith("budget"))["y"] == [100_000]  # the rows in its budget
    assert cost_to_accuracy(recs[0], "seconds") == 0.1 and cost_to_accuracy(recs[3], "rows") is None
    acc = accuracy_time_figure(recs[:1], labels)
    assert acc["data"][-1]["y"] == [1.0, 1.0]  # accurate at or below 1
    bias = bias_figure(recs, labels)
    assert [t["name"] for t in bias["data"]] == ["minibatch", "SGLD", "exact (ratio 1)"]  # emcee is neither
    assert bias["data"][1]["y"] == [4.0] and worst_ratio(recs[-1]) == 4.0  # the coordinate furthest from 1
    assert bias_figure([_record(100, "minibatch-mf", None, stopped="budget")], labels)["data"][0]["name"] == (
        "exact (ratio 1)"
    )  # a run cut by its budget had not converged: no bias drawn
    assert math.isclose(bias["data"][0]["y"][0], 0.5)


def test_recorded_sweeps_load_and_say_where_they_come_from():
    from ui.compute import precomputed_scaling

    for centred in (True, False):
        pre = precomputed_scaling(centred)
        assert pre["machine"] and pre["date"] and pre["settings"]["centred"] is centred
        assert pre["settings"]["accuracy"] == {"mean_sd": SCALE_ACCURACY.mean_sd, "sd_rel": SCALE_ACCURACY.sd_rel}
        ns = sorted({r.n for r in pre["records"]})
        assert ns[-1] == 1_000_000 and {r.method for r in pre["records"]} == set(SCALE_METHODS)
        for r in pre["records"]:
            assert r.times.shape == r.accuracy.shape == r.sd_err.shape == r.rows.shape and r.warmup_excluded
            assert r.var_ratio.shape == (r.times.size, 2)
            reached = r.time_to_accuracy_s is not None
            assert not reached or r.accuracy[np.searchsorted(r.times, r.time_to_accuracy_s) :].max() <= 1.0


def test_a_slope_over_the_sizes_reached_says_where_the_method_stops_reaching():
    # SGLD reaches the accuracy at small N and settles short (biased) above: its slope is no trend beyond
    labels = {"sgld": "SGLD"}
    recs = [_record(100, "sgld", 0.1, kind="mcmc"), _record(1000, "sgld", 0.11, kind="mcmc"),
            _record(10_000, "sgld", None, kind="mcmc", stopped="settled", var=(4.0, 3.0))]  # fmt: skip
    fig = headline_figure(recs, labels, {"sgld": 0.04})
    assert fig["data"][0]["name"] == "SGLD · slope 0.04 to N = 1,000; settles short of the accuracy above"
    whole = headline_figure(recs[:2], labels, {"sgld": 0.04})
    assert whole["data"][0]["name"] == "SGLD · slope 0.04"
