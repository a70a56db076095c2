"""The Scaling page through AppTest: the recorded sweep and its generated words on first load, then the live sweep
under its budget on a click."""

import json
import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from ui import scaling, scaling_text
from ui.compute import SCALE_METHODS, precomputed_scaling

from .pages import first_load

APP = str(pathlib.Path(__file__).parents[2] / "app.py")
PAGE = "pages/4_Scaling.py"


def _first_load(query: dict) -> AppTest:
    return first_load(PAGE, query)


def _in_legend(base: str, names: list[str]) -> bool:
    """The legend shows this slope: alone, or with where the method stops reaching the accuracy."""
    return any(n == base or n.startswith(base + " to N = ") for n in names)


@pytest.mark.parametrize("centred", [True, False])
def test_first_load_shows_the_recorded_sweep_and_its_words(centred):
    """No Run yet: the recorded sweep's three charts, its generated captions, its machine and date; nothing live."""
    at = _first_load({"centred": "1" if centred else "0"})
    assert at.info and "Run the live sweep" in at.info[0].value and "recorded sweep" in at.info[0].value
    assert at.button(key="sc_run").label == "Run the live sweep"
    assert not at.get("progress")  # nothing ran live
    assert "run" not in dict(at.query_params)
    charts = at.get("plotly_chart")
    assert len(charts) == 3
    pre, other = precomputed_scaling(centred), precomputed_scaling(not centred)
    captions = [c.value for c in at.caption]
    assert any(pre["machine"] in c and pre["date"] in c and "recorded by" in c for c in captions)
    labels = {m: s.label for m, s in SCALE_METHODS.items()}
    words = scaling_text.captions(
        pre["records"], labels, centred, other["records"], {r.n: "recorded" for r in pre["records"]}
    )
    for line in words["slopes"] + words["bias"]:
        assert line in captions, line
    markdown = [m.value for m in at.markdown]
    for line in words["speed"] + words["reduction"]:
        assert line in markdown, line
    assert words["speed"][0].startswith("At N = 1,000,000 (recorded sweep; one run per method, on one machine with one")
    assert words["reduction"] and "at N = 1,000,000" in words["reduction"][0]  # the control variate's measured gain
    assert any("**The rule, the same for every method:**" in m and "within 10%" in m for m in markdown)
    # the legend's slopes are the captions' slopes, in seconds; switched to rows, in rows
    for cost in ("seconds", "rows"):
        if cost == "rows":
            at.segmented_control(key="sc_cost").set_value("rows").run()
            assert not at.exception, at.exception
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        names = [t["name"] for t in spec["data"]]
        assert ("rows touched" in spec["layout"]["yaxis"]["title"]["text"]) is (cost == "rows")
        for m, label in labels.items():
            s = scaling_text.method_slope(pre["records"], m, cost=cost)
            assert s is None or _in_legend(f"{label} · slope {s:.2f}", names)
        captions = [c.value for c in at.caption]
        for line in scaling_text.slope_sentences(pre["records"], labels, cost):
            assert line in captions, line
    table = at.table[0].value
    assert set(table["measured"]) == {"recorded"} and len(table) == len(pre["records"])
    assert {"100,000", "1,000,000"} <= set(table["N"]) and {"rows to accuracy", "final sd error (%)"} <= set(table)


def test_first_load_on_the_arsenic_data_says_the_recorded_sweep_is_synthetic():
    at = _first_load({"data": "arsenic"})
    assert "synthetic" in at.info[0].value and "arsenic data are run live only" in at.info[0].value
    assert "N = 100, 300, 1,000, 3,020" in at.info[0].value
    assert len(at.get("plotly_chart")) == 3


def test_a_link_runs_the_sweep_under_its_budget():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"data": "synthetic", "centred": "1", "n": "100", "run": "1"})
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 3
    table = at.table[0].value
    assert len(table) >= len(SCALE_METHODS)  # N = 100 live (+ any recorded sizes)
    live = table[table["measured"] == "live"]
    assert len(live) == len(SCALE_METHODS) and set(live["N"]) == {"100"}
    assert dict(at.query_params) == {"data": "synthetic", "centred": "1", "n": "100", "run": "1"}


def test_every_live_run_keeps_its_budget():
    from ui.compute import scale_record

    for method in SCALE_METHODS:
        r = scale_record("synthetic", 1000, method, scaling.LIVE_BUDGET_S, True, scaling.BATCH)
        # the loop checks the clock after every step: a run overshoots its budget by at most one step
        steps = max(len(r.times) - 1, 1)
        assert r.times[-1] <= scaling.LIVE_BUDGET_S + 2 * (r.times[-1] / steps) + 0.05, (method, r.times[-1])


def test_large_sizes_come_from_the_recorded_sweep_and_say_so():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"data": "synthetic", "centred": "1", "n": "100", "run": "1"})
    at.switch_page(PAGE).run()
    table = at.table[0].value
    recorded = table[table["measured"] == "recorded"]
    assert {"100,000", "1,000,000"} <= set(recorded["N"])
    assert any("recorded by" in c.value and "2026" in c.value and "mix two machines" in c.value for c in at.caption)
    # the words are those of the records on screen, live and recorded together: each caption's slope is the legend's
    names = [t["name"] for t in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]]
    for label in (s.label for s in SCALE_METHODS.values()):
        line = next(c.value for c in at.caption if c.value.startswith(f"{label}: "))
        if "slope " in line:
            assert _in_legend(f"{label} · slope {line.split('slope ')[1].split(' ')[0]}", names), (line, names)
    assert any(m.value.startswith("At N = 1,000,000 (recorded sweep; one run per method") for m in at.markdown)
    assert any(m.value.startswith("At N = 100 (measured live on this server; one run per method") for m in at.markdown)
