"""Figure builders: frames, what each frame shows, payload, and the numbers drawn."""

import dataclasses
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from ui import figures
from ui.figures import frames
from vi_core.api import Settings, run_sampler, run_vi
from vi_core.chains import burn_in
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


def _chunk_ids(fig) -> list[int]:
    return [i for i, d in enumerate(fig["data"]) if d.get("name") in ("draws", "burn-in draws")]


@pytest.mark.parametrize("clock", ["iteration", "time"])
def test_each_frame_shows_exactly_the_draws_up_to_it(runs, clock):
    """Every frame sets every chunk (shown or hidden), so a scrub backwards or a replay hides later draws;
    `visible` is never animated (played without a redraw, a hidden trace's points stay on screen)."""
    grid, vis, mc = runs
    vi = vis["cavi"]
    fig = figures.race_figure(grid, vi, mc, clock)
    ids = _chunk_ids(fig)
    _, mc_idx, _, _ = figures.frame_plan(vi, mc, clock)
    chunks = frames.sample_chunks(mc, mc_idx)
    assert len(chunks) == len(ids)
    keep = min(1.0, figures.MAX_POINTS / (mc.chain.shape[0] * mc.chain.shape[1]))
    shown_before = -1
    for k, frame in enumerate(fig["frames"]):
        assert all("visible" not in d for d in frame["data"])
        by_trace = dict(zip(frame["traces"], frame["data"], strict=True))
        opacity = [by_trace[i]["marker"]["opacity"] for i in ids]
        shown = sum(len(fig["data"][i]["x"]) for i, o in zip(ids, opacity, strict=True) if o > 0)
        # the draws up to this frame's MCMC step, thinned at one rate
        expected = (mc_idx[k] + 1) * mc.chain.shape[1] * keep
        assert abs(shown - expected) <= 4 * np.sqrt(expected) + 2, (k, shown, expected)
        assert shown >= shown_before
        shown_before = shown
        for (_, burn, f), o in zip(chunks, opacity, strict=True):
            assert o == (0.0 if f > k else figures.BURN_OPACITY if burn else figures.DRAW_OPACITY)
    assert 0 < shown_before <= figures.MAX_POINTS * 1.1
    # burn-in (the first quarter of the steps) is drawn apart, faded, and said
    n_burn = burn_in(mc.n_steps)
    burn_pts = sum(len(c) for c, b, _ in chunks if b)
    assert abs(burn_pts - n_burn * mc.chain.shape[1] * keep) <= 4 * np.sqrt(n_burn * mc.chain.shape[1] * keep) + 2
    assert any(not b for _, b, _ in chunks)
    mc_status = next(d for d in fig["frames"][-1]["data"] if d.get("mode") == "text" and d.get("xaxis") == "x2")
    assert "burn-in (first quarter, faded)" in mc_status["text"][0]


def test_gauge_bars_are_to_scale_at_every_frame(runs):
    grid, vis, mc = runs
    for vi in vis.values():
        fig = figures.race_figure(grid, vi, mc, "iteration")
        v_idx, _, _, _ = figures.frame_plan(vi, mc, "iteration")
        lo, hi = fig["layout"]["xaxis5"]["range"]
        for k, frame in zip(v_idx, fig["frames"], strict=True):
            elbo_bar, kl_bar = (d for d in frame["data"] if d.get("type") == "bar")
            # the KL bar runs from the ELBO to ln p(X): its drawn length is the KL it is labelled with
            assert abs(kl_bar["base"][0] - vi.elbo[k]) < 1e-9
            assert abs(kl_bar["base"][0] + kl_bar["x"][0] - grid.log_z) < 1e-9
            assert lo <= elbo_bar["base"][0] and kl_bar["base"][0] + kl_bar["x"][0] <= hi  # never off the axis
            label = next(d for d in frame["data"] if d.get("mode") == "text" and d.get("xaxis") == "x5")
            assert label["text"] == [f"ELBO {vi.elbo[k]:.3f}", f"KL {vi.kl[k]:.3f}"]
            assert label["cliponaxis"] is False  # beside the bars, so a tiny KL keeps its label
        texts = [d["text"][0] for d in fig["data"] if d.get("mode") == "text" and "text" in d]
        assert texts.count("ln p(X)") == 2  # the dashed lines (ELBO panel, gauge) are labelled


def test_gauge_numbers_are_the_decomposition(runs):
    grid, vis, mc = runs
    vi = vis["cavi"]
    fig = figures.race_figure(grid, vi, mc, "iteration")
    last = fig["frames"][-1]
    title = " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert f"ln p(X) = {grid.log_z:.3f} = ELBO + KL" in title
    status = [d["text"][0] for d in last["data"] if d.get("mode") == "text" and d.get("xaxis") == "x"]
    n = vi.times.size - 1
    assert status[0].endswith(f"step {n}/{n}<br>" + frames.fmt_time(vi.times[-1]))


def test_elbo_panel_labels_the_estimate_and_the_best_in_family(runs):
    grid, vis, mc = runs
    vi = vis["gauss-mf"]
    names = [d.get("name", "") for d in figures.race_figure(grid, vi, mc, "iteration")["data"]]
    assert any("estimate" in n and "can exceed ln p(X)" in n for n in names)
    # the family's best ELBO, when the engine knows it, is a labelled dotted line
    best = vi.elbo[-1] - 0.01
    if dataclasses.is_dataclass(vi):
        fake = dataclasses.replace(vi, elbo_best=best)
    else:
        fake = vi._replace(elbo_best=best)
    fig = figures.race_figure(grid, fake, mc, "iteration")
    label = [d for d in fig["data"] if d.get("text") == ["best in family"]]
    line = [d for d in fig["data"] if d.get("name") == "best ELBO in the family"]
    assert len(label) == len(line) == 1 and line[0]["line"]["dash"] == "dot"
    assert np.allclose(line[0]["y"], best)


def test_density_panels_keep_equal_scales(runs):
    grid, vis, mc = runs
    layout = figures.race_figure(grid, vis["cavi"], mc, "iteration")["layout"]
    for x, y in (("xaxis", "yaxis"), ("xaxis2", "yaxis2")):
        assert layout[y]["scaleanchor"] == x.replace("axis", "")
        assert layout[y]["scaleratio"] == 1
        assert layout[x]["constrain"] == layout[y]["constrain"] == "domain"
    preview = figures.target_figure(grid)["layout"]
    assert preview["yaxis"]["scaleanchor"] == "x" and preview["xaxis"]["constrain"] == "domain"


def test_two_kinds_of_quantity_opt_out_and_say_so():
    xa, ya = {"title": {"text": "μ"}}, {"title": {"text": "ln τ"}}
    figures.equal_axes(xa, ya, "x", same_units=False)
    assert "scaleanchor" not in ya
    assert ya["title"]["text"] == "ln τ (not to scale with μ)"


@pytest.mark.parametrize("name", ["newcomb", "challenger"])
def test_real_data_panels_name_their_parameters(name):
    # both density panels carry the target's own axis names (the y title once, on the left), and only a pair of
    # unlike quantities says it is not to scale
    t = make_target(name)
    s = Settings(n_grid=50, cavi_sweeps=3, walkers=8, mcmc_steps=10)
    grid = make_grid(t, s.n_grid)
    layout = figures.race_figure(
        grid, run_vi(t, "cavi", 0, s, grid=grid), run_sampler(t, "emcee", 0, s, grid=grid), "iteration"
    )["layout"]
    assert layout["xaxis"]["title"]["text"] == layout["xaxis2"]["title"]["text"] == t.labels[0]
    y = layout["yaxis"]["title"]["text"]
    assert y == (t.labels[1] if t.same_units else f"{t.labels[1]} (not to scale with {t.labels[0]})")


def test_a_gaussian_q_is_drawn_as_its_one_two_three_sigma_ellipses(runs):
    from vi_core.families import GaussianQ

    grid = runs[0]
    loc = np.array([1.0, -1.0])
    chol = np.array([[2.0, 0.0], [0.5, 0.5]])
    x, y, mode = figures.picture_xy(GaussianQ(loc, chol).picture(grid))
    assert mode == "lines"
    pts = np.column_stack([x, y])
    pts = pts[~np.isnan(pts).any(axis=1)]
    u = np.linalg.solve(chol, (pts - loc).T)
    radii = np.round(np.linalg.norm(u, axis=0), 4)
    assert set(radii) == {1.0, 2.0, 3.0}


def test_radius_levels_match_gaussian_sigmas():
    lp = -0.5 * np.array([0.0, 1.0, 4.0, 9.0])  # log density at Mahalanobis radii 0, 1, 2, 3
    np.testing.assert_allclose(figures.radius(lp), [0, 1, 2, 3], atol=1e-12)


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


def _sent(fig_or_dict) -> str:
    """The JSON st.plotly_chart puts on the wire for its argument (Streamlit 1.67's two calls)."""
    from plotly.tools import return_figure_from_figure_or_data

    return pio.to_json(return_figure_from_figure_or_data(fig_or_dict, validate_figure=True), validate=False)


def _no_frame_trace_types(spec: dict) -> dict:
    for frame in spec.get("frames", []):
        for trace in frame["data"]:
            trace.pop("type", None)
    return spec


def test_ready_figures_send_what_the_validated_figure_would(runs):
    """ready() skips Plotly's validation but not its output: the same template, the same base64 arrays, the
    same JSON, except that a frame's traces need not carry a "type" (Plotly.animate updates traces by index)."""
    import streamlit  # noqa: F401  (makes Streamlit's template Plotly's default, as in the app)

    grid, vis, mc = runs
    builders = {
        "race": lambda: figures.race_figure(grid, vis["cavi"], mc, "iteration"),
        "accuracy": lambda: figures.accuracy_figure(vis["gauss-mf"], mc),
        "target": lambda: figures.target_figure(grid, "title"),
        "marginal": lambda: figures.marginal_figure(grid, vis["gauss-mf"], mc, 1),
    }
    for name, build in builders.items():
        validated, ours = _sent(build()), _sent(figures.ready(build()))
        assert '"bdata"' in ours and '"template"' in ours, name
        assert len(ours) <= len(validated), name
        # NaN separates contour segments: compare the JSON texts, not the parsed values (nan != nan)
        expected = json.dumps(_no_frame_trace_types(json.loads(validated)), sort_keys=True)
        assert json.dumps(_no_frame_trace_types(json.loads(ours)), sort_keys=True) == expected, name


def _named(fig, name):
    (k,) = [i for i, d in enumerate(fig["data"]) if d.get("name") == name]
    return k


def _decoded(v):
    """A trace's array as the browser gets it (ui.figures sends float32; plain lists pass through)."""
    return np.asarray(v, dtype=float)


def test_the_elbo_and_distance_curves_grow_with_the_frames(runs):
    grid, vis, mc = runs
    vi = vis["gauss-mf"]
    fig = figures.race_figure(grid, vi, mc, "iteration")
    v_idx, m_idx, _, _ = figures.frame_plan(vi, mc, "iteration")
    exact, mmd_vi = _named(fig, "ELBO (exact)"), _named(fig, "MCMC: MMD")
    lengths, last_x = [], []
    for k, frame in enumerate(fig["frames"]):
        data = dict(zip(frame["traces"], frame["data"], strict=True))
        x = _decoded(data[exact]["x"])
        lengths.append(x.size)
        last_x.append(x[-1])
        assert x[-1] == v_idx[k] and np.all(np.diff(x) > 0)  # drawn up to the frame's own step, no further
        drawn = _decoded(data[mmd_vi]["x"])
        # the sampler's curve: no future (up to float32's rounding of the times it is sent as)
        assert drawn.size == 0 or drawn[-1] <= mc.times[m_idx[k]] * (1 + 1e-6)
    assert lengths[0] == 1 and lengths[-1] <= frames.CURVE_POINTS + 1 and np.all(np.diff(lengths) >= 0)
    # frame 0 is what the figure shows before Play
    assert _decoded(fig["data"][exact]["x"]).size == 1
    # the Monte Carlo estimate says what it is where the reader points at it
    mc_line = fig["data"][_named(fig, "ELBO, Monte Carlo estimate (noisy: can exceed ln p(X))")]
    assert "can exceed ln p(X)" in mc_line["hovertemplate"]


def test_the_presenter_race_has_no_text_under_18_px_and_fits_720p(runs):
    grid, vis, mc = runs
    fig = figures.race_figure(grid, vis["cavi"], mc, "iteration", present=True)
    layout = fig["layout"]
    assert layout["height"] <= 620 and layout["font"]["size"] >= 18
    sizes = []
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")):
            sizes += [axis["tickfont"]["size"], axis["title"]["font"]["size"]]
    sizes += [a["font"]["size"] for a in layout["annotations"]]
    sizes += [layout["updatemenus"][0]["font"]["size"], layout["sliders"][0]["font"]["size"]]
    sizes += [layout["sliders"][0]["currentvalue"]["font"]["size"]]
    for trace in [*fig["data"], *(d for f in fig["frames"] for d in f["data"])]:
        if "textfont" in trace:
            sizes.append(trace["textfont"]["size"])
    assert min(sizes) >= 18, sorted(sizes)[:5]
    assert "xaxis3" not in layout and "xaxis4" not in layout  # the curves stay on the page below, not in the room


@pytest.mark.parametrize(
    ("kl", "text"), [(0.51234, "0.512"), (0.0123, "0.012"), (0.0004, "0.0004"), (3e-7, "0"), (float("nan"), "—")]
)
def test_the_gauge_never_prints_a_visible_kl_as_zero(kl, text):
    assert frames.gauge_kl(kl) == text


def test_the_gauge_axis_does_not_zoom_a_tiny_kl_into_a_wide_bar(runs):
    grid, vis, _ = runs
    vi = vis["cavi"]
    idx = np.arange(vi.elbo.size)
    near = dataclasses.replace(vi, elbo=np.full_like(vi.elbo, grid.log_z - 4e-4), kl=np.full_like(vi.kl, 4e-4))
    g = frames.Gauge.for_run(near, idx, grid.log_z)
    bar = g.traces(near, 0)[1]
    assert bar["x"][0] / (g.right - g.left) < 0.01  # 4e-4 nats is under 1 % of the axis, not most of it
    assert "KL 0.0004" in g.traces(near, 0)[2]["text"][1]


def test_particles_draw_as_points_with_no_elbo_or_kl_made_up(runs):
    # SVGD's particles have no density: the left panel shows them as dots, the gauge splits nothing
    grid, _, mc = runs
    vi = run_vi(grid.target, "svgd", 0, Settings(vi_steps=40, particles=30), grid=grid)
    fig = figures.race_figure(grid, vi, mc, "iteration")
    q = fig["data"][_named(fig, "q")]
    assert q["mode"] == "markers" and len(_decoded(q["x"])) == 30
    bars = [t for t in fig["data"] if t.get("type") == "bar"]
    assert bars and all(b["x"] == [0.0] for b in bars), "empty ELBO and KL bars"
    labels = [x for t in fig["data"] if t.get("xaxis") == "x5" and t.get("mode") == "text" for x in t["text"]]
    assert "ELBO —" in labels and "KL —" in labels and not any("nan" in x for x in labels)
    titles = " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert "no density" in titles and "ELBO + KL" not in titles
    gauss = figures.race_figure(grid, run_vi(grid.target, "gauss-fr", 0, Settings(vi_steps=40), grid=grid), mc)
    assert "ELBO + KL" in " ".join(a["text"] for a in gauss["layout"]["annotations"])


def test_a_mixture_draws_its_components_and_a_gaussian_draws_none(runs):
    grid, vis, mc = runs
    vi = run_vi(grid.target, "mog", 0, Settings(vi_steps=40, components=3), grid=grid)
    fig = figures.race_figure(grid, vi, mc, "iteration")
    k = _named(fig, "q's components (1 sd)")
    assert fig["data"][k]["line"]["dash"] == "dot"
    for f, v in zip(fig["frames"], figures.frame_plan(vi, mc, "iteration")[0], strict=True):
        assert k in f["traces"]
        parts = f["data"][f["traces"].index(k)]
        expected = vi.qs[v].parts(grid)
        np.testing.assert_array_equal(_decoded(parts["x"]), np.asarray(expected.x, dtype=float))
    gauss = figures.race_figure(grid, vis["gauss-mf"], mc, "iteration")
    assert not any(d.get("name") == "q's components (1 sd)" for d in gauss["data"])
