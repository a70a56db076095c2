"""The Playground page through AppTest: every combination runs; links restore; bad links warn."""

import html
import json
import pathlib
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.pages import charts
from vi_core import methods
from vi_core.api import MCMC_METHODS, VI_METHODS
from vi_core.targets import REGISTRY

APP = str(pathlib.Path(__file__).parents[2] / "app.py")
SMALL = {"vi_steps": "20", "flow_steps": "500", "cavi_sweeps": "10", "walkers": "8", "steps": "30", "run": "1"}


def _app(query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if query:
        at.query_params.update(query)
    return at.run()


_charts = charts


def test_bare_visit_shows_the_target_before_any_run():
    at = _app()
    assert not at.exception
    charts = _charts(at)
    assert len(charts) == 1 and charts[0]["data"][0]["type"] == "scatter" and "frames" not in charts[0]
    assert any("Run" in i.value for i in at.info)


def test_run_button_starts_the_race():
    at = _app()
    at.sidebar.button[0].click().run()  # the form's Run
    assert not at.exception
    race = _charts(at)[0]
    assert len(race["frames"]) == 40
    assert at.query_params["run"] == "1" and at.query_params["target"] == "gaussian"
    assert [m.label for m in at.metric][:3] == ["ln p(X) (quadrature)", "ELBO(q)", "KL(q ‖ p)"]


def covering_runs(targets, vi_methods, mcmc_methods) -> list[tuple[str, str, str]]:
    """Every target once, every method once and every (VI, MCMC) pair once, in max(T, V x M) runs.

    Read from the registries, so a new target or method is covered without touching this file."""
    pairs = [(v, m) for v in vi_methods for m in mcmc_methods]
    n = max(len(targets), len(pairs))
    return [(targets[k % len(targets)], *pairs[k % len(pairs)]) for k in range(n)]


def test_the_covering_set_covers():
    runs = covering_runs(list(REGISTRY), VI_METHODS, MCMC_METHODS)
    assert {t for t, _, _ in runs} == set(REGISTRY)
    assert {(v, m) for _, v, m in runs} == {(v, m) for v in VI_METHODS for m in MCMC_METHODS}


@pytest.mark.parametrize(("target", "vi", "mcmc"), covering_runs(list(REGISTRY), VI_METHODS, MCMC_METHODS))
def test_every_target_and_method_runs_in_the_page(target, vi, mcmc):
    at = _app({"target": target, "vi": vi, "mcmc": mcmc, **SMALL})
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    race = _charts(at)[0]
    assert race["frames"], "the animated figure has frames"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["ln p(X) (quadrature)"] not in ("", "nan") and "nan" not in metrics.values()
    if methods.get(vi).family == "particles":  # no density: a dash, and a caption that says why
        assert metrics["ELBO(q)"] == metrics["KL(q ‖ p)"] == "—"
        assert any("no density" in c.value for c in at.caption)
    else:
        assert metrics["KL(q ‖ p)"] != "—"


def test_numbers_on_screen_match_the_engine():
    from ui.compute import run
    from ui.spec import from_query

    at = _app({"target": "gaussian", "p_rho": "0.5", **SMALL})
    spec, _, _ = from_query({"target": "gaussian", "p_rho": "0.5", **SMALL})
    out = run(spec)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["ln p(X) (quadrature)"] == f"{out.grid.log_z:.4f}"
    assert metrics["KL(q ‖ p)"] == f"{out.vi.kl[-1]:.4f}"
    # the CAVI optimum on a rho = 0.5 Gaussian: KL = -1/2 ln(1 - rho^2) = 0.1438
    assert abs(float(metrics["KL(q ‖ p)"]) - 0.1438) < 2e-3


def test_clock_switch_rebuilds_the_race_in_time_mode():
    at = _app({"target": "banana", **SMALL})
    at.segmented_control[0].set_value("time").run()
    assert not at.exception
    race = _charts(at)[0]
    assert race["layout"]["sliders"][0]["currentvalue"]["prefix"].startswith("time")
    assert at.query_params["clock"] == "time"


@pytest.mark.parametrize(
    "query",
    [
        {"target": "unicorn", "run": "1"},
        {"target": "gaussian", "p_rho": "5", "run": "1"},
        {"target": "gaussian", "seed": "abc", "run": "1"},
        {"target": "gaussian", "walkers": "-4", "steps": "30", "run": "1"},
        {"vi": "<img src=x onerror=alert(1)>"},
    ],
)
def test_bad_query_string_gives_a_notice_not_an_exception(query):
    at = _app(query)
    assert not at.exception
    assert at.warning and "Ignored" in at.warning[0].value


def test_changed_settings_are_flagged_until_run():
    at = _app({"target": "gaussian", **SMALL})
    at.sidebar.selectbox[0].set_value("donut").run()
    assert any("press **Run**" in i.value for i in at.info)


def test_exports_are_downloadable():
    at = _app({"target": "gaussian", **SMALL})
    labels = [b.label for b in at.get("download_button")]
    from ui.compute import mp4_available

    video = ["Animation (MP4)"] if mp4_available() else []
    assert labels == [
        "Samples (CSV)",
        "VI trace (CSV)",
        "Summary (JSON)",
        "Animation (GIF)",
        *video,
        "Last frame (PNG)",
    ]


def test_export_contents():
    from ui.compute import run
    from ui.downloads import samples_csv, summary_json, vi_trace_csv
    from ui.spec import from_query

    spec, _, _ = from_query({"target": "donut", **SMALL})
    out = run(spec)
    rows = samples_csv(out.mc).strip().splitlines()
    assert rows[0] == "step,walker,z1,z2,after_burn_in" and len(rows) == 1 + 30 * 8
    trace = vi_trace_csv(out.vi).strip().splitlines()
    assert len(trace) == 1 + out.vi.times.size
    summary = json.loads(summary_json(spec, out))
    assert abs(summary["vi"]["elbo"] + summary["vi"]["kl"] - summary["log_evidence"]) < 1e-9
    assert summary["spec"]["target"] == "donut"


def test_box_and_grid_controls_drive_the_run_and_the_link():
    at = _app({"target": "gaussian", "box": "-2,2,-2,2", "grid": "100", **SMALL})
    assert not at.exception and not at.error
    assert at.sidebar.text_input[0].value == "-2, 2, -2, 2"
    assert at.query_params["box"] == "-2, 2, -2, 2" and at.query_params["grid"] == "100"
    assert any("Widen the box" in w.value for w in at.warning)
    # clearing the box goes back to the target's own, which holds the mass: no warning
    at.sidebar.text_input[0].set_value("")
    at.sidebar.button[0].click().run()
    assert not at.exception and "box" not in at.query_params
    assert not any("Widen the box" in w.value for w in at.warning)


def test_a_bad_typed_box_is_reported_beside_the_box():
    at = _app({"target": "gaussian", **SMALL})
    at.sidebar.text_input[0].set_value("3, 1, 0, 1")
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1 and "xmin < xmax" in _shown(at.error[0].value)


def test_an_odd_walker_count_is_rounded_up_for_emcee_not_refused():
    at = _app({"target": "gaussian", **SMALL})
    at.sidebar.number_input(key="s_walkers").set_value(9)
    at.sidebar.button[0].click().run()
    assert not at.exception, at.exception
    assert at.sidebar.number_input(key="s_walkers").value == 10
    assert at.query_params["walkers"] == "10"


def _shown(markdown: str) -> str:
    """What a message escaped by ui.text.plain displays: its text without the backslashes."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_what_this_run_shows_and_the_tail_yardstick():
    from ui.compute import run, what_this_run_shows
    from ui.spec import from_query

    query = {"target": "funnel", "vi": "cavi", "mcmc": "emcee", **SMALL}
    at = _app(query)
    assert not at.exception
    (box,) = [m.value for m in at.markdown if m.value.startswith("**What this run shows.**")]
    out = run(from_query(query)[0])
    assert box == "**What this run shows.** " + " ".join(what_this_run_shows(out.vi, out.mc))
    accuracy = _charts(at)[1]
    assert accuracy["layout"]["yaxis"]["title"]["text"] == "MMD to the exact posterior"
    at.get("button_group")[[w.key for w in at.get("button_group")].index("yardstick")].set_value("w1").run()
    accuracy = _charts(at)[1]
    assert accuracy["layout"]["yaxis"]["title"]["text"] == "marginal W1 to the exact posterior (sd)"
    assert accuracy["data"][1]["y"], "the sampler's W1 trace is drawn"
    (table,) = [m.value for m in at.markdown if m.value.startswith('<table class="results-table">')]
    assert ">W1 (sd)</abbr>" in table and ">τ (steps, max)</abbr>" in table


def test_every_results_row_and_metric_has_a_one_line_tooltip():
    from ui.results import GLOSSARY

    at = _app({"target": "gaussian", "mcmc": "nuts", **SMALL})
    (table,) = [m.value for m in at.markdown if m.value.startswith('<table class="results-table">')]
    rows = re.findall(r'<th scope="row"><abbr title="([^"]+)">([^<]+)</abbr></th>', table)
    assert len(rows) >= 20 and all(title.strip() and "\n" not in title for title, _ in rows)
    assert {html.unescape(name) for _, name in rows} <= set(GLOSSARY)
    assert all(m.help for m in at.metric), [m.label for m in at.metric if not m.help]


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("s_walkers", 0, "MCMC: walkers = 0 is outside 8–256"),
        ("s_grid", 100000, "Grid points per side = 100000 is outside 50–600"),
    ],
)
def test_a_setting_out_of_range_says_why_run_did_nothing(key, value, says):
    at = _app({"target": "gaussian", **SMALL})
    assert _charts(at), "the first run is on screen"
    at.number_input(key=key).set_value(value)
    at.sidebar.button[0].click().run()
    assert not at.exception
    errors = [_unescaped(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Run did nothing: ") and says in errors[0], errors
    assert any("Run did nothing" in i.value for i in at.info)  # the page says where to look
    assert not _charts(at) and not at.metric, "the old run's results are gone: one error on screen"


def _unescaped(text: str) -> str:
    """What the reader sees of a ui.text.plain message (Markdown escapes and zero-width spaces removed)."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def test_a_new_bad_expression_replaces_the_old_error():
    at = _app({"target": "custom", "expr": "-(x**2 + y**2)/2", "box": "-4, 4, -4, 4", **SMALL})
    at.text_area(key="expr").set_value("x +* y")
    at.sidebar.button[0].click().run()
    first = [e.value for e in at.error]
    at.text_area(key="expr").set_value("exp(")
    at.sidebar.button[0].click().run()
    second = [e.value for e in at.error]
    assert not at.exception and len(second) == 1, second  # beside the text box, about "exp("
    assert all("x +* y" not in e for e in second) and first != second


def test_in_a_browser_the_numbers_follow_once_the_page_says_the_race_is_drawn(monkeypatch):
    """A page's websocket (an Origin) gets the race and a hidden element that reports it drawn, but none of the
    numbers; the report (its callback sets drawn_race, then the fragment reruns) brings them, and a rerun with the
    same race does not wait again. A race with another id (the time clock) waits for its own report."""
    from ui import playground

    monkeypatch.setattr(playground, "_has_page_script", lambda: True)
    at = _app({"target": "gaussian", "run": "1"})
    assert not at.exception
    race = _charts(at)
    assert len(race) == 1 and len(race[0]["frames"]) == 40  # the race, nothing under it
    assert not at.metric and [c.key for c in at.segmented_control] == ["clock"]  # not cost, yardstick
    waiting = [n for n in at.get("bidi_component") if n.proto.component_name == "after_drawn"]
    assert len(waiting) == 1
    race_id = json.loads(waiting[0].proto.json)["id"]

    at.session_state["drawn_race"] = race_id  # what the report's callback records
    at.run()
    assert not at.exception
    assert len(_charts(at)) == 4 and [m.label for m in at.metric][:2] == ["ln p(X) (quadrature)", "ELBO(q)"]
    assert not [n for n in at.get("bidi_component") if n.proto.component_name == "after_drawn"]

    at.segmented_control(key="clock").set_value("time").run()  # a new race: its numbers wait for its own report
    assert not at.exception and not at.metric and len(_charts(at)) == 1


def test_the_race_drawn_report_records_its_race(monkeypatch):
    from ui import playground

    state: dict = {playground.DRAWN_KEY: {"drawn": "abc123"}}
    monkeypatch.setattr(playground.st, "session_state", state)
    playground._race_drawn()
    assert state["drawn_race"] == "abc123"
    state[playground.DRAWN_KEY] = {"drawn": None}  # a rerun without a report keeps the record
    playground._race_drawn()
    assert state["drawn_race"] == "abc123"


def test_in_a_browser_the_scores_start_while_the_race_is_drawn(monkeypatch):
    """The deferred first pass queues the scoring at once: by the time the page reports the race drawn, the full
    results may be cached already (here: waited for, with no second script run)."""
    import time

    from ui import playground, runs

    monkeypatch.setattr(playground, "_has_page_script", lambda: True)
    at = _app({"target": "banana", "seed": "77", **SMALL})
    assert not at.exception and not at.metric and len(_charts(at)) == 1
    deadline = time.monotonic() + 60
    while not any(k[0] == "mcmc" and k[4] == 77 for k in runs.SCHEDULER.cache.keys()):
        assert time.monotonic() < deadline, "the scores were not queued by the deferred pass"
        time.sleep(0.05)
