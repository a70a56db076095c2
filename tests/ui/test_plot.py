"""ui.plot: the figure the page's plotly.js draws is the figure st.plotly_chart would have sent."""

import json
from pathlib import Path

import plotly.io as pio
import pytest
import streamlit as st
from plotly.tools import return_figure_from_figure_or_data

from ui import figures, plot
from vi_core.api import Settings, make_grid, make_target, run_sampler, run_vi


@pytest.fixture(scope="module")
def runs():
    t = make_target("banana")
    grid = make_grid(t)
    vis = {m: run_vi(t, m, 0, Settings(vi_steps=100), grid=grid) for m in ("cavi", "gauss-mf")}
    return grid, vis, run_sampler(t, "emcee", 0, Settings(mcmc_steps=200), grid=grid)


def _validated(spec: dict) -> dict:
    """What st.plotly_chart would send for the builder's dict: validated by go.Figure, then to JSON."""
    fig = return_figure_from_figure_or_data(spec, validate_figure=True)
    return json.loads(pio.to_json(fig, validate=False))


def _untyped_frames(fig: dict) -> dict:
    for frame in fig.get("frames", []):  # Plotly.animate updates a frame's traces by index: no "type" needed
        for trace in frame["data"]:
            trace.pop("type", None)
    return fig


def test_the_payload_is_the_validated_figure_as_strict_json(runs):
    grid, vis, mc = runs
    for build in (
        lambda: figures.race_figure(grid, vis["cavi"], mc, "iteration"),
        lambda: figures.accuracy_figure(vis["gauss-mf"], mc),
        lambda: figures.target_figure(grid, "title"),
        lambda: figures.marginal_figure(grid, vis["gauss-mf"], mc, 0),
    ):
        sent = plot.payload(figures.ready(build()))

        def refuse(token):
            raise AssertionError(f"{token} is not JSON: the browser's JSON.parse refuses it")

        # strict JSON (no NaN token): NaN gaps are null or inside base64
        got = json.loads(sent["json"], parse_constant=refuse)
        assert plot.figure(sent) == got
        expected = json.dumps(_untyped_frames(_validated(build())), sort_keys=True, allow_nan=False)
        assert json.dumps(_untyped_frames(got), sort_keys=True) == expected


def test_the_payload_id_follows_the_figure(runs):
    grid, vis, mc = runs
    a = plot.payload(figures.ready(figures.marginal_figure(grid, vis["gauss-mf"], mc, 0)))
    b = plot.payload(figures.ready(figures.marginal_figure(grid, vis["gauss-mf"], mc, 0)))
    c = plot.payload(figures.ready(figures.marginal_figure(grid, vis["gauss-mf"], mc, 1)))
    assert a["id"] == b["id"] != c["id"] and len(a["id"]) == 16


def test_the_plotly_chunk_is_streamlits_and_sets_window_plotly():
    """The component imports the chunk Streamlit ships plotly.js in and relies on it setting window.Plotly: a
    Streamlit upgrade that renames or reshapes it fails here, not in a classroom."""
    name = plot.plotly_chunk()
    assert name is not None and name.startswith("PlotlyChart.") and name.endswith(".js")
    chunk = Path(st.__file__).parent / "static" / "static" / "js" / name
    assert "window.Plotly=" in chunk.read_text(encoding="utf-8", errors="replace")


def test_the_preload_names_plotlys_chunk_and_every_file_it_imports(monkeypatch):
    """plot.preload fetches the chunk's own imports beside it: the list is read from the chunk's leading import
    statements, every file in it exists, and the preload's script names them all and the chunk."""
    js = Path(st.__file__).parent / "static" / "static" / "js"
    name = plot.plotly_chunk()
    deps = plot._chunk_imports(name)
    assert len(deps) >= 3 and all((js / d).is_file() for d in deps), deps
    head = (js / name).read_text(encoding="utf-8")[:8192]
    assert head.count('from"./') + head.count('import"./') == len(deps)  # none missed by the pattern

    sent = []
    monkeypatch.setattr(plot.st, "html", lambda body, **kw: sent.append((body, kw)))
    plot.preload()
    ((body, kw),) = sent
    assert kw == {"unsafe_allow_javascript": True}
    assert json.dumps(name) in body and json.dumps(list(deps)) in body and "modulepreload" in body

    sent.clear()
    monkeypatch.setattr(plot, "plotly_chunk", lambda: None)  # another Streamlit build: nothing to preload
    plot.preload()
    assert not sent


def test_after_drawn_keys_are_the_ones_its_css_hides():
    with pytest.raises(ValueError, match="after-drawn"):
        plot.after_drawn("abc", "race-drawn", lambda: None)
    assert '[class*="st-key-after-drawn"]' in plot._AFTER_CSS and "\n" in plot._AFTER_CSS.strip()


def test_the_figures_typed_arrays_are_plotlys_own_conversion():
    """ui.figures.ready converts arrays itself (Plotly's walk is slow): the same specs, dtype by dtype."""
    import copy

    import numpy as np
    from _plotly_utils.utils import convert_to_base64

    arrays = {
        "f4": np.linspace(0, 1, 7, dtype=np.float32),
        "f8 with nan": np.array([0.5, np.nan, -2.0]),
        "2d": np.arange(12, dtype=np.float32).reshape(3, 4),
        "strided": np.arange(10.0)[::3],
        "small int64": np.array([1, -3, 100]),
        "int16 range": np.array([0, 40_000]),
        "int32 range": np.array([-(2**20), 2**20]),
        "big int64": np.array([0, 2**40]),
        "uint64": np.array([1, 300], dtype=np.uint64),
        "bool": np.array([True, False]),
        "strings": np.array(["a", "b"]),
        "empty": np.zeros(0),
    }
    spec = {
        "data": [{"type": "scatter", "x": a, "customdata": [{"deep": a}]} for a in arrays.values()],
        "layout": {"xaxis": {"range": np.array([0.0, 1.0])}},
    }
    ours, plotlys = figures.ready(copy.deepcopy(spec)).to_dict(), copy.deepcopy(spec)
    convert_to_base64(plotlys)
    for name, mine, theirs in zip(arrays, ours["data"], plotlys["data"], strict=True):
        for a, b in ((mine["x"], theirs["x"]), (mine["customdata"][0]["deep"], theirs["customdata"][0]["deep"])):
            assert type(a) is type(b), name
            if isinstance(a, dict):
                assert a == b, name
            else:
                np.testing.assert_array_equal(a, b)
    assert isinstance(ours["layout"]["xaxis"]["range"], np.ndarray)  # axis ranges stay as they are, as Plotly's


@pytest.mark.parametrize(("vi_method", "mcmc_method"), [("cavi", "emcee"), ("gauss-fr", "nuts")])
def test_the_race_from_a_runs_first_stage_is_the_race_of_the_scored_run(vi_method, mcmc_method):
    """The page draws the race from VI's fit and the sampler's draws before they are scored: the very figure
    the scored results give (the payload's id is a digest of its text)."""
    from vi_core.api import fit_vi, sample, score_draws, score_fit

    t = make_target("banana")
    grid = make_grid(t, 80)
    settings = Settings(vi_steps=60, mcmc_steps=150, n_grid=80)
    fit, draws = fit_vi(t, vi_method, 1, settings, grid=grid), sample(t, mcmc_method, 1, settings, grid=grid)
    vi, mc = score_fit(fit, t, grid), score_draws(draws, grid)
    for clock in ("iteration", "time"):
        early = plot.payload(figures.ready(figures.race_figure(grid, fit, draws, clock)))
        late = plot.payload(figures.ready(figures.race_figure(grid, vi, mc, clock)))
        assert early["id"] == late["id"], clock
