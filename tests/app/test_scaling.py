"""The Scaling page through AppTest: it waits for a click, then runs the live sweep under its budget."""

import pathlib

from streamlit.testing.v1 import AppTest

from ui import scaling
from ui.compute import SCALE_METHODS

APP = str(pathlib.Path(__file__).parents[2] / "app.py")
PAGE = "pages/4_Scaling.py"


def test_page_waits_for_a_click():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.info and "Run the live sweep" in at.info[0].value
    assert not at.get("plotly_chart")


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
    assert any("recorded by" in c.value and "2026" in c.value for c in at.caption)
