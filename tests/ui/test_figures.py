"""Figure builders: frames, what each frame shows, payload, and the numbers drawn."""

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from ui import figures
from vi_core.api import Settings, run_sampler, run_vi
from vi_core.grid import make_grid
from vi_core.targets import make_target


@pytest.fixture(scope="module")
def runs():
    t = make_target("gaussian", rho=0.8)
    grid = make_grid(t)
    out = {m: run_vi(t, m, 0, Settings(vi_steps=200), grid=grid) for m in ("cavi", "gauss-mf")}
    return grid, out, run_sampler(t, "emcee", 0, Settings(mcmc_steps=300), grid=grid)


def test_iteration_clock_spreads_frames_over_each_run(runs):
    _, vis, mc = runs
    vi = vis["gauss-mf"]
    v, m, labels, _ = figures.frame_plan(vi, mc, "iteration")
    assert len(v) == len(m) == len(labels) == figures.N_FRAMES
    assert v[0] == 0 and v[-1] == vi.times.size - 1 and m[-1] == mc.times.size - 1
    assert np.all(np.diff(v) >= 0) and np.all(np.diff(m) >= 0)


def test_time_clock_shows_where_each_method_was_at_the_same_instant(runs):
    _, vis, mc = runs
    vi = vis["gauss-mf"]
    v, m, _, instants = figures.frame_plan(vi, mc, "time")
    assert np.all(np.diff(instants) > 0)
    for k, t in enumerate(instants):
        # each panel is at its last state recorded at or before the instant, and no later
        assert vi.times[v[k]] <= t or v[k] == 0
        assert v[k] == vi.times.size - 1 or vi.times[v[k] + 1] > t
        assert mc.times[m[k]] <= t or m[k] == 0
        assert m[k] == mc.times.size - 1 or mc.times[m[k] + 1] > t
    with pytest.raises(ValueError, match="clock must be"):
        figures.frame_plan(vi, mc, "sundial")


@pytest.mark.parametrize("method", ["cavi", "gauss-mf"])
@pytest.mark.parametrize("clock", ["iteration", "time"])
def test_race_figure_is_valid_animated_and_small(runs, method, clock):
    grid, vis, mc = runs
    fig = go.Figure(figures.race_figure(grid, vis[method], mc, clock))  # Plotly validates every property
    assert len(fig.frames) == figures.N_FRAMES
    assert fig.layout.updatemenus[0].buttons[0].label.endswith("Play")
    assert len(fig.layout.sliders[0].steps) == figures.N_FRAMES
    # every animated trace is a Scatter or a Bar (contours are line segments), so frames play
    # without a full redraw, 3x cheaper in the browser; Plotly's contour traces would need redraw=True
    assert fig.layout.updatemenus[0].buttons[0].args[1]["frame"]["redraw"] is False
    assert {t.type for t in fig.data} <= {"scatter", "bar"}
    payload = len(pio.to_json(fig, validate=False))
    assert payload < 2_000_000, f"{payload / 1e6:.2f} MB"


def test_samples_accumulate_frame_by_frame(runs):
    grid, vis, mc = runs
    fig = figures.race_figure(grid, vis["cavi"], mc, "iteration")
    visible = [[d["visible"] for d in f["data"] if set(d) == {"visible"}] for f in fig["frames"]]
    counts = [sum(v) for v in visible]
    assert counts == list(range(1, len(counts) + 1))
    shown = sum(len(fig["data"][i]["x"]) for i in fig["frames"][-1]["traces"] if set(fig["data"][i]) >= {"visible"})
    assert 0 < shown <= figures.MAX_POINTS * 1.1


def test_gauge_numbers_are_the_decomposition(runs):
    grid, vis, mc = runs
    vi = vis["cavi"]
    fig = figures.race_figure(grid, vi, mc, "iteration")
    last = fig["frames"][-1]
    texts = [d.get("text", [""])[0] for d in last["data"] if d.get("type") == "bar"]
    assert texts == [f"ELBO {vi.elbo[-1]:.3f}", f"KL {vi.kl[-1]:.3f}"]
    title = " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert f"ln p(X) = {grid.log_z:.3f} = ELBO + KL" in title
    status = [d["text"][0] for d in last["data"] if d.get("mode") == "text"]
    assert status[0].endswith(f"step {vi.times.size - 1}/{vi.times.size - 1} · " + figures._fmt_time(vi.times[-1]))
    bars = [d for d in last["data"] if d.get("type") == "bar"]
    # the two bars tile [lo, ln p(X)] exactly: the KL bar ends at ln p(X)
    assert abs(bars[1]["base"][0] + bars[1]["x"][0] - grid.log_z) < 1e-9


def test_ellipses_are_one_two_three_sigma():
    loc = np.array([1.0, -1.0])
    chol = np.array([[2.0, 0.0], [0.5, 0.5]])
    x, y = figures._ellipses(loc, chol)
    pts = np.column_stack([x, y])
    pts = pts[~np.isnan(pts).any(axis=1)]
    u = np.linalg.solve(chol, (pts - loc).T)
    radii = np.round(np.linalg.norm(u, axis=0), 4)
    assert set(radii) == {1.0, 2.0, 3.0}


def test_radius_levels_match_gaussian_sigmas():
    lp = -0.5 * np.array([0.0, 1.0, 4.0, 9.0])  # log density at Mahalanobis radii 0, 1, 2, 3
    np.testing.assert_allclose(figures._radius(lp), [0, 1, 2, 3], atol=1e-12)


def test_marginal_figure_reports_variance_ratio(runs):
    grid, vis, mc = runs
    vi = vis["cavi"]
    fig = figures.marginal_figure(grid, vi, mc, 0)
    assert "= 0.36" in fig["layout"]["title"]["text"]  # 1 - rho^2 for the mean-field optimum
    exact = next(d for d in fig["data"] if d["name"] == "exact")
    assert abs(float(np.sum(exact["y"])) * grid.dx - 1) < 1e-3


def test_accuracy_and_target_figures_validate(runs):
    grid, vis, mc = runs
    go.Figure(figures.accuracy_figure(vis["gauss-mf"], mc))
    fig = go.Figure(figures.target_figure(grid, "title"))
    assert json.loads(pio.to_json(fig))["data"][0]["type"] == "scatter"
