"""The Ladder page's pieces: the URL, the tables and the chart, from a made-up ladder."""

import math

import pytest

from ui import ladder
from ui.compute import Ladder, Score
from ui.figures import ready
from ui.figures.ladder import RUNG_STYLE, ladder_figure


def _lad(modes=False):
    m = ((0.9, 0.1), (0.5, 0.5)) if modes else None
    rungs = (
        Score("gauss-fr", "Full-rank Gaussian", "vi", 0.9, 0.35, 0.6, 0.05, (64000, 64000), ((0.05, 0.35),), m),
        Score("svgd", "SVGD, 100 particles", "vi", None, 0.1, 0.08, 0.4, (0, 100000), ((0.4, 0.1),), m),
    )
    samplers = (Score("emcee", "emcee", "mcmc", None, 0.02, 0.01, 0.4, (9, 0), ((0.1, 0.2), (0.4, 0.02)), m),)
    return Ladder("u1", {}, 1.0, 0.4, 0, rungs, samplers)


def test_read_query_and_notices():
    assert ladder.read_query({}) == ("u1", False)
    assert ladder.read_query({"target": "ring", "run": "1"}) == ("ring", True)
    assert ladder.read_query({"target": "<b>"}) == ("u1", False)
    notes = ladder.query_notices({"target": "<b>", "run": "2"})
    assert len(notes) == 2 and notes[0].startswith("Ignored “target=<b>”")


def test_summary_table_shows_a_dash_where_q_has_no_density():
    t = ladder.summary_table(_lad())
    assert t.loc["Full-rank Gaussian", "KL(q ‖ p), nats"] == "0.900"
    assert t.loc["SVGD, 100 particles", "KL(q ‖ p), nats"] == "—" and t.loc["emcee", "KL(q ‖ p), nats"] == "—"
    assert t.loc["emcee", "density evals"] == "9" and "worst mode mass error" not in t.columns
    assert ladder.mode_table(_lad()) is None


def test_mode_table_starts_with_the_exact_masses():
    t = ladder.mode_table(_lad(modes=True))
    assert list(t.index) == ["exact", "Full-rank Gaussian", "SVGD, 100 particles", "emcee"]
    assert list(t.loc["exact"]) == ["0.50", "0.50"] and list(t.loc["emcee"]) == ["0.90", "0.10"]
    assert ladder.summary_table(_lad(modes=True)).loc["emcee", "worst mode mass error"] == "0.40"


def test_figure_has_a_marker_per_rung_and_a_line_per_sampler_on_log_axes():
    fig = ladder_figure(_lad())
    names = [d["name"] for d in fig["data"]]
    assert names == ["Full-rank Gaussian", "SVGD, 100 particles", "emcee (its draws so far)"]
    assert fig["data"][0]["mode"] == "markers" and fig["data"][2]["mode"] == "lines+markers"
    assert list(fig["data"][2]["y"]) == [0.2, 0.02]
    assert fig["layout"]["xaxis"]["type"] == fig["layout"]["yaxis"]["type"] == "log"
    assert "wall-clock" in fig["layout"]["xaxis"]["title"]["text"] and "mmtv" in fig["layout"]["yaxis"]["title"]["text"]
    assert set(RUNG_STYLE) >= {"gauss-mf", "gauss-fr", "cavi", "mog2", "mog4", "mog8", "mog16", "flow", "svgd", "nuts"}
    ready(fig)  # a valid figure


def test_an_exact_fit_is_drawn_at_the_floor_not_dropped():
    lad = _lad()
    exact = Score("mog2", "Mixture, K = 2", "vi", 0.0, 0.0, 0.0, 0.1, (1, 1), ((0.1, 0.0),))
    fig = ladder_figure(Ladder("u1", {}, 1.0, 0.4, 0, (exact,), lad.samplers))
    assert fig["data"][0]["y"][0] > 0 and math.isfinite(fig["data"][0]["y"][0])


@pytest.mark.parametrize("name", ["u1", "ring", "modes"])
def test_every_recorded_ladder_draws(name):
    from ui.compute import RECORDED_LADDERS
    from vi_core.ladder import read_recorded

    lad = read_recorded(RECORDED_LADDERS)["ladders"][name]
    fig = ladder_figure(lad)
    assert len(fig["data"]) == len(lad.rungs) + len(lad.samplers)


def test_a_good_verdict_beside_a_missed_mode_is_explained():
    lad = _lad(modes=True)
    good = Score("nuts", "NUTS", "mcmc", None, 0.5, 0.8, 3.0, (9, 9), ((3.0, 0.5),), ((1.0, 0.0), (0.5, 0.5)), "good")
    text = ladder.blind_verdicts(Ladder("modes", {}, 0.0, 3.0, 0, lad.rungs, (good,)))
    assert len(text) == 1 and text[0].startswith("NUTS's own checks pass") and "0.50" in text[0]
    assert ladder.blind_verdicts(lad) == [], "no verdict was good there"
