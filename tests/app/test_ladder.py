"""The Ladder page through AppTest: the recorded ladder and its generated sentence on first load, a deep link to a
target, a live ladder on a click (its rungs cut to three here, for time), and a bad link's notice."""

import pytest
from streamlit.testing.v1 import AppTest

from ui import compute
from vi_core import ladder as engine

from .pages import first_load

PAGE = "pages/5_Ladder.py"


def _load(query: dict) -> AppTest:
    return first_load(PAGE, query, timeout=120)


@pytest.mark.parametrize("name", ["u1", "modes"])
def test_first_load_shows_the_recorded_ladder_and_its_sentence(name):
    at = _load({"target": name})
    rec = compute.recorded_ladders()
    lad = rec["ladders"][name]
    assert at.selectbox(key="ld_target").value == name
    assert "recorded" in at.info[0].value and not at.get("progress")
    assert any(md.value == engine.sentence(lad) for md in at.markdown)
    assert any(rec["date"] in c.value and "benchmarks.ladder" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1
    table = at.table[0].value
    assert list(table.index) == [s.label for s in lad.rungs + lad.samplers]
    assert table.loc["Flow, 8 coupling layers", "KL(q ‖ p), nats"] == f"{lad.rungs[7].kl:.3f}"
    assert table.loc["SVGD, 100 particles", "KL(q ‖ p), nats"] == "—"
    assert (len(at.table) == 2) is (name == "modes"), "the mode masses are tabled on a target with modes"


def test_default_and_bad_links_fall_back_to_u1_with_a_notice():
    at = _load({"target": "nope"})
    assert at.selectbox(key="ld_target").value == "u1"
    assert at.warning and at.warning[0].value.startswith("Ignored “target") and "nope" in at.warning[0].value
    assert dict(at.query_params)["target"] == ["u1"] or dict(at.query_params)["target"] == "u1"


def test_run_live_measures_on_this_server(monkeypatch):
    three = tuple(r for r in engine.RUNGS if r.key in ("gauss-fr", "mog2", "svgd"))
    monkeypatch.setattr(compute, "LADDER_RUNGS", three)
    monkeypatch.setattr(compute, "LADDER_SAMPLERS", {"emcee": "emcee"})
    at = _load({"target": "gaussian"})
    at.button(key="ld_run").click().run()
    assert not at.exception, at.exception
    assert any("Measured live" in c.value for c in at.caption)
    table = at.table[0].value
    assert list(table.index) == ["Full-rank Gaussian", "Mixture, K = 2", "SVGD, 100 particles", "emcee"]
    assert float(table.loc["Mixture, K = 2", "KL(q ‖ p), nats"]) < 0.01
    sentence = [md.value for md in at.markdown if md.value.startswith("Most accurate for the time")]
    assert len(sentence) == 1 and "emcee" in sentence[0]
    assert dict(at.query_params).get("run") in ("1", ["1"])
