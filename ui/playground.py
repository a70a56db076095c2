"""The Playground page: settings -> a cached run -> the race, the gauge, the yardstick.

Its Results table is drawn by ui.results, its Share and export section by ui.downloads."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

import streamlit as st

from ui import compute, downloads, figures, keys, plot, results
from ui.compute import (
    MAX_LENGTH,
    MCMC_LABELS,
    REGISTRY,
    VI_LABELS,
    Settings,
    format_kl,
    kl_tolerance,
    make_expr_target,
    make_target,
    methods,
)
from ui.lessons import LESSONS
from ui.results import GLOSSARY, TABLE_CSS, fmt_s, kl_split
from ui.spec import (
    CLOCKS,
    CUSTOM,
    DEFAULT_BOX,
    DEFAULT_EXPR,
    FORM,
    MAX_SEED,
    RunSpec,
    box_text,
    from_query,
    parse_user_box,
    to_query,
)
from ui.text import plain, user_message

INTRO = (
    "Pick a posterior p(z|X) ∝ p(X, z). **Variational inference** (left) turns integration into optimisation: "
    "it moves a simple q to maximise the ELBO. **MCMC** (right) draws samples that are exact in the limit. "
    "Press **Run**, then **▶ Play**."
)


# Less top padding: on a 1280x720 projector the race should start above the fold.
_CSS = "<style>.block-container{padding-top:2.2rem;padding-bottom:1rem}" + TABLE_CSS + "</style>"
# The presenter view: the race starts right under Streamlit's header bar.
_CSS_PRESENT = "<style>.block-container{padding-top:3.2rem;padding-bottom:1rem}" + TABLE_CSS + "</style>"

# ------------------------------------------------------------------------------------ state


def _init_state() -> None:
    """First run of a session: widget values from the link (validated), else defaults."""
    if "spec_loaded" in st.session_state:
        return
    st.session_state.spec_loaded = True
    query = {k: st.query_params[k] for k in st.query_params}
    spec, clock, notices = from_query(query)
    st.session_state.notices = notices
    _spec_to_widgets(spec)
    st.session_state.clock = clock
    # A shared link (one that names a target) runs at once; a bare visit shows the target first.
    st.session_state.active = spec if "target" in query else None


def _spec_to_widgets(spec: RunSpec) -> None:
    ss = st.session_state
    ss.target_name = spec.target.name
    if spec.target.name == CUSTOM:
        ss.expr, ss.box = spec.target.expr, box_text(spec.target.box)
    else:
        ss[f"box_{spec.target.name}"] = box_text(spec.box) if spec.box is not None else ""
    for k, v in spec.target.param_values().items():
        ss[f"p_{spec.target.name}_{k}"] = v
    ss.vi, ss.mcmc, ss.seed = spec.vi, spec.mcmc, spec.seed
    for s in FORM:
        ss[f"s_{s.query}"] = getattr(spec.settings, s.field)


def _widgets_to_spec() -> RunSpec:
    """The spec the widgets describe. Raises ValueError for a bad typed expression or box."""
    ss = st.session_state
    name = ss.target_name
    box = None
    if name == CUSTOM:
        target = make_expr_target(ss.get("expr", DEFAULT_EXPR), ss.get("box", DEFAULT_BOX))
    else:
        params = {p.name: ss.get(f"p_{name}_{p.name}", p.default) for p in REGISTRY[name].params}
        target = make_target(name, **params)
        text = ss.get(f"box_{name}", "").strip()
        box = parse_user_box(text) if text else None
        box = None if box == target.box else box
    kw = {s.field: ss[f"s_{s.query}"] for s in FORM}
    _check_bounds(kw)
    return RunSpec(target, ss.vi, ss.mcmc, int(ss.seed), Settings(**kw), box)


# ------------------------------------------------------------------------------------ widgets


def _settings_form() -> bool:
    """Sidebar: target choice, then a form with its parameters, the methods and a Run button."""
    sb = st.sidebar
    sb.selectbox(
        "Target posterior",
        [*REGISTRY, CUSTOM],
        key="target_name",
        format_func=_target_label,
    )
    name = st.session_state.target_name
    with sb.form("settings", border=False):
        if name == CUSTOM:
            st.session_state.setdefault("expr", DEFAULT_EXPR)
            st.session_state.setdefault("box", DEFAULT_BOX)
            st.text_area(
                "ln p(x, y) =",
                key="expr",
                max_chars=MAX_LENGTH,
                height=80,
                help="Numbers, x, y, + - * / **, parentheses and exp, log, log1p, sqrt, abs, sin, cos, tan, tanh, "
                "arctan, logaddexp, minimum, maximum, where(cond, a, b), pi, e. Nothing you type is run as code.",
            )
            st.text_input("Box: xmin, xmax, ymin, ymax", key="box", max_chars=200)
        # the typed target's error appears here, beside its text box
        st.session_state.expr_error_slot = st.empty()
        for p in REGISTRY[name].params if name in REGISTRY else ():
            key = f"p_{name}_{p.name}"
            st.session_state.setdefault(key, p.default)
            st.slider(p.help or p.name, float(p.lo), float(p.hi), key=key, step=_step(p.lo, p.hi))
        with st.expander("Box and grid"):
            if name != CUSTOM:
                st.text_input(
                    "Box: xmin, xmax, ymin, ymax",
                    key=f"box_{name}",
                    max_chars=200,
                    placeholder="automatic: " + ", ".join(f"{v:.4g}" for v in _auto_box(name)),
                    help="Where the grid, CAVI and the pictures live. Leave blank for the target's own box, "
                    "which holds its mass. The exact reference (ln p(X), moments) does not depend on it.",
                )
            _setting_input(_GRID)
        st.radio("Variational inference", methods.vi_methods(), key="vi", format_func=VI_LABELS.get)
        st.radio("MCMC sampler", methods.mcmc_methods(), key="mcmc", format_func=MCMC_LABELS.get)
        with st.expander("Method settings"):
            for s in FORM:
                if s is not _GRID:
                    _setting_input(s)
            st.number_input("Seed", 0, MAX_SEED, key="seed")
        return st.form_submit_button("Run", type="primary", width="stretch", on_click=_even_walkers)


def _even_walkers() -> None:
    """Round an odd walker count up for emcee's moves, which split the walkers in halves.

    A callback: it runs before the widgets are drawn again, the only time their values may change."""
    ss = st.session_state
    if methods.REGISTRY[ss.mcmc].even_walkers and ss.s_walkers % 2:
        odd = ss.s_walkers
        ss.s_walkers = odd + 1 if odd + 1 <= _WALKERS.ui_hi else odd - 1
        ss.setdefault("notices", []).append(
            f"Rounded {odd} walkers to {ss.s_walkers}: {ss.mcmc} moves the walkers in two halves, so it needs an "
            "even number."
        )


_GRID = next(s for s in FORM if s.field == "n_grid")
_WALKERS = next(s for s in FORM if s.field == "walkers")


def _setting_input(s) -> None:
    """One number input from a row of vi_core.settings.TABLE (label, step, format, help; its Playground bounds in
    the help). No min or max on the widget: given them, Streamlit marks a value typed outside them red and keeps
    the old one, so Run silently ran the old settings; ``_check_bounds`` says what is wrong instead."""
    kw = {"step": s.kind(s.step)} if s.step is not None else {"step": s.kind(1) if s.kind is int else None}
    if s.fmt is not None:
        kw["format"] = s.fmt
    bounds = f" From {s.kind(s.ui_lo):g} to {s.kind(s.ui_hi):g}."
    st.number_input(s.label, key=f"s_{s.query}", help=s.help + bounds, **{k: v for k, v in kw.items() if v})


def _check_bounds(values: dict) -> None:
    """The Playground's bounds for every setting (vi_core.settings.TABLE's ui_lo/ui_hi), as one plain ValueError."""
    for s in FORM:
        v = values[s.field]
        if v is None or not (s.ui_lo <= v <= s.ui_hi):
            raise ValueError(
                f"{s.label} = {v if v is not None else 'empty'} is outside {s.kind(s.ui_lo):g}–{s.kind(s.ui_hi):g}: "
                "type a value in that range and press Run again."
            )


def _auto_box(name: str) -> tuple[float, ...]:
    """The built-in target's own box at the parameters now in the sidebar."""
    params = {p.name: st.session_state.get(f"p_{name}_{p.name}", p.default) for p in REGISTRY[name].params}
    return make_target(name, **params).box


def _target_label(name: str) -> str:
    if name == CUSTOM:
        return "custom — type ln p(x, y)"
    return f"{name} — {REGISTRY[name].description.split(':')[0]}"


def _step(lo: float, hi: float) -> float:
    return 0.01 if hi - lo <= 5 else 0.05


# ------------------------------------------------------------------------------------ page


def render() -> None:
    compute.warm_up()
    compute.keep(x.spec for x in LESSONS)  # a class's lesson link stays cached, as the default does (ui.runs.keep)
    _init_state()
    st.markdown(_CSS_PRESENT if presenting() else _CSS, unsafe_allow_html=True)
    if not presenting():
        st.markdown("### Variational inference and MCMC, side by side")
        st.caption(INTRO)
    for note in st.session_state.pop("notices", []):  # they quote the link: shown as plain text
        st.warning(plain(note), icon=":material/warning:")

    submitted = _settings_form()
    try:
        pending = _widgets_to_spec()
    except ValueError as exc:
        # a bad typed expression, box or setting: say so beside the inputs, once; nothing runs
        st.session_state.expr_error_slot.error(("Run did nothing: " if submitted else "") + plain(exc),
                                               icon=":material/block:")  # fmt: skip
        pending = None
        if submitted:
            # the last run's results (and any error of their own) go, so the new error is the only one on screen;
            # the page says where to look (the sidebar holds the message, beside the input)
            st.session_state.active = None
            st.info(
                "Run did nothing: fix the input the sidebar marks, then press **Run**.", icon=":material/arrow_back:"
            )
            return
    if submitted and pending is not None:
        st.session_state.active = pending
    active: RunSpec | None = st.session_state.get("active")

    if active is None:
        _preview(pending)
        return
    slot = st.empty()
    try:
        out = compute.race(active, on_wait=partial(_show_waiting, slot, {}))
    except Exception as exc:  # never a traceback: our refusals as they are, anything else in words (and logged)
        st.error(user_message(exc), icon=":material/block:")
        return
    slot.empty()
    st.query_params.from_dict(
        {**to_query(active, st.session_state.get("clock", "iteration")), "run": "1", **_view_query()}
    )
    if submitted:
        keys.collapse_sidebar_on_phone()
    if pending != active:
        st.info("Settings changed since the last run: press **Run** to apply them.", icon=":material/info:")
    _results(active, out)


def _show_waiting(slot, shown: dict, standing: list[compute.Waiting]) -> None:
    """One progress bar for both runs while they queue or run: where each stands, in words. shown: what the
    slot last said; it is sent again only when it changes (a class waiting on the queue would otherwise send
    four messages a second each)."""

    def words(w: compute.Waiting) -> str:
        if w.done:
            return f"{w.label}: done"
        if w.ahead:
            return f"{w.label}: waiting, {w.ahead} run{'s' * (w.ahead > 1)} ahead in the queue"
        return f"{w.label}: {'running' if w.stage == w.label else w.stage} {w.fraction:.0%}"

    value = round(min(sum(1.0 if w.done else w.fraction for w in standing) / len(standing), 1.0), 2)
    text = " · ".join(words(w) for w in standing)
    if shown.get("now") != (value, text):
        shown["now"] = (value, text)
        slot.progress(value, text=text)


def _preview(spec: RunSpec | None) -> None:
    if spec is None:
        st.info("Fix the typed target in the sidebar, then press **Run**.", icon=":material/arrow_back:")
        return
    try:
        grid = compute.grid_for(spec.target, spec.settings.n_grid, spec.box)
    except Exception as exc:  # in words, never a traceback (ui.text.user_message logs anything unexpected)
        st.error(user_message(exc), icon=":material/block:")
        return
    # drawn as the race will be: the component's code is loaded before Run is pressed
    plot.plot(
        plot.payload(figures.ready(figures.target_figure(grid, f"{spec.target.name}: {spec.target.description}"))),
        "preview",
        first=True,
    )
    st.info("Choose methods in the sidebar and press **Run** to start the race.", icon=":material/arrow_back:")
    _grid_warnings(grid)


def _grid_warnings(grid) -> None:
    for w in grid.warnings():
        st.warning(w, icon=":material/warning:")
    for n in grid.notes():
        st.info(n, icon=":material/info:")


def _clock_control() -> None:
    st.segmented_control(
        "Clock",
        CLOCKS,
        key="clock",
        required=True,
        format_func={"iteration": "by iteration", "time": "by wall-clock time"}.get,
        help="By iteration: each method at the same fraction of its run. By wall-clock time: each panel shows "
        "where its method truly was at the same instant.",
    )


def _legend(vi, mc) -> None:
    st.markdown(
        f"**Left:** <span style='color:{figures.VI_COLOUR}'>{vi.label}</span> — {vi.qs[-1].drawn_as} (vermillion). "
        f"**Right:** <span style='color:{figures.MCMC_COLOUR}'>{mc.label}</span> — draws so far (blue; "
        "orange: the walkers now)." + _moves_caption(mc) + " Below: the ELBO climbing, the exact split "
        "ln p(X) = ELBO + KL, and each method's distance to the truth against wall-clock time.",
        unsafe_allow_html=True,
    )


def presenting() -> bool:
    """The presenter view (?view=present): the race alone at a projector's size, the keyboard on it at once."""
    return st.query_params.get("view") == "present"


def _view_query() -> dict[str, str]:
    """The link keys that keep the presenter view (kept in the address and in the share link)."""
    return {"view": "present"} if presenting() else {}


def _results(spec: RunSpec, first: compute.Race) -> None:
    """The race (from ``compute.race``: VI's fit and the sampler's draws), then the numbers once both are scored
    (``compute.run``; later jobs on the queue: when a class presses Run together, every race comes first)."""
    grid, vi, mc = first.grid, first.vi, first.mc
    present = presenting()
    query = {**to_query(spec, st.session_state.get("clock", "iteration")), "run": "1"}
    if not present:
        _grid_warnings(grid)
        _clock_control()
        _legend(vi, mc)
    race = compute.race_figure(spec, st.session_state.clock, present)
    # drawn once by the page's plotly.js (ui.plot), before the charts below it: st.plotly_chart drew it several
    # times per load, and only after every chart under it (benchmarks.playground --floor)
    plot.plot(race, key="race", first=True)
    keys.animation_keys("race", hint=not present, focus=present)
    if present:
        st.markdown(
            "Space plays or pauses, ← → step, Home / End jump · "
            f"[Leave the presenter view](?{urlencode(query)}) · scroll down for the numbers"
        )
        _clock_control()
        _legend(vi, mc)
        _grid_warnings(grid)
    else:
        st.markdown(
            f"[Presenter view](?{urlencode({**query, 'view': 'present'})}): the race alone, sized for a "
            "projector (1280 × 720 and up), text ≥ 18 px, the keyboard on it at once."
        )
    _numbers(spec, grid, race["id"])


DRAWN_KEY = "after-drawn-race"  # the hidden element saying the race is on screen (ui.plot.after_drawn)


def _race_drawn() -> None:
    """The page says the race is on screen (a callback, before the fragment's rerun): remember which race."""
    drawn = (st.session_state.get(DRAWN_KEY) or {}).get("drawn")
    if drawn:
        st.session_state["drawn_race"] = drawn


def _has_page_script() -> bool:
    """Whether this session is a browser's page (its websocket came with an Origin), which can say when a chart is
    drawn; AppTest and ``ui.session_client`` cannot."""
    return bool(st.context.headers.get("Origin"))


def _numbers_wait(race_id: str) -> bool:
    """Whether the numbers wait for the race to be on screen: in a page that has not yet said so for this race.
    The page says it by rerunning ``_numbers`` alone (``ui.plot.after_drawn``), so the race is playable before the
    browser spends its time on the tables and charts under it (~0.15 s of click -> playable for the default run,
    ``benchmarks.playground --floor``). A client with no page script gets everything in one run."""
    return st.session_state.get("drawn_race") != race_id and _has_page_script()


@st.fragment
def _numbers(spec: RunSpec, grid, race_id: str) -> None:
    """Everything under the race: its story, the metrics, the accuracy and marginal charts, the table and the
    exports, once both sides are scored (``compute.run``: later jobs on the queue, so when a class presses Run
    together every race comes first); a fragment, so the race above it is neither sent nor drawn again."""
    if _numbers_wait(race_id):
        try:  # the scores start now, while the page draws the race (their jobs wait behind every queued race)
            compute.score_soon(spec)
        except Exception:  # the rerun's compute.run says it in words, once
            pass
        plot.after_drawn(race_id, DRAWN_KEY, _race_drawn)
        return
    slot = st.empty()
    try:
        out = compute.run(spec, on_wait=partial(_show_waiting, slot, {}))
    except Exception as exc:  # the race stands; the numbers below it could not be made
        slot.error(user_message(exc), icon=":material/block:")
        return
    slot.empty()
    vi, mc = out.vi, out.mc
    # Drawn from the numbers (vi_core.story), so it cannot contradict the verdicts below.
    st.container(border=True, key="story").markdown(
        "**What this run shows.** " + " ".join(compute.what_this_run_shows(vi, mc))
    )

    tol = kl_tolerance(grid, on_grid=vi.on_grid)  # a grid q's ELBO is a sum over the cells
    kl_text = format_kl(float(vi.kl[-1]), tol)
    c = st.columns(5)
    c[0].metric(
        "ln p(X) (quadrature)",
        f"{grid.log_z:.4f}",
        help=f"{GLOSSARY['ln p(X)']} The exact reference: {grid.reference.method}.",
    )
    density = vi.qs[-1].has_density  # particles have none: no ELBO or KL, and a dash says so rather than "nan"
    c[1].metric("ELBO(q)", f"{vi.elbo[-1]:.4f}" if density else "—", help=GLOSSARY["ELBO"])
    kl_shown = kl_text if density and not kl_text.startswith("error") else "—"
    c[2].metric("KL(q ‖ p)", kl_shown, help=GLOSSARY["KL(q‖p)"])
    c[3].metric("VI wall time", fmt_s(vi.wall_time_s), help=GLOSSARY["wall time"])
    c[4].metric("MCMC wall time", fmt_s(mc.wall_time_s), help=GLOSSARY["wall time"])
    if not density:
        st.caption(
            f"{vi.label} has no density, so there is no ELBO or KL to show: it is judged by its distance to the "
            "truth (W1 and MMD below)."
        )
    elif kl_text.startswith("error"):
        st.error(kl_text[len("error: ") :].capitalize(), icon=":material/error:")
    else:
        st.caption(kl_split(vi, tol))

    left, right = st.columns([1, 1])
    with left:
        st.subheader("Accuracy vs cost")
        cost = st.segmented_control(
            "Cost",
            list(figures.COST_AXES),
            key="cost",
            default="time",
            required=True,
            format_func={"time": "wall-clock time", "evals": "evaluations"}.get,
            help="Wall-clock time depends on the machine and on Python's overhead; the number of log-density and "
            "gradient evaluations does not (the axis of the ADVI and Pathfinder papers).",
        )
        yardstick = st.segmented_control(
            "Yardstick",
            list(figures.YARDSTICKS),
            key="yardstick",
            default="mmd",
            required=True,
            format_func={"mmd": "MMD", "w1": "marginal W1 (sees tails)"}.get,
            help="MMD compares whole distributions with a kernel as wide as the posterior's sd, so it hardly "
            "notices a missing tail. Marginal W1 is the 1-Wasserstein distance between each marginal and the exact "
            "one, in posterior sds, averaged over both coordinates: mass missing far out counts by how far.",
        )
        plot.plot(plot.payload(figures.ready(figures.accuracy_figure(vi, mc, cost, yardstick))), key="accuracy")
        st.caption(_YARDSTICK_CAPTION[yardstick] + _uncounted(vi, mc, cost))
    with right:
        st.subheader("Marginals")
        for axis, col in enumerate(st.columns(2)):
            plot.plot(
                plot.payload(figures.ready(figures.marginal_figure(grid, vi, mc, axis))), f"marg{axis}", where=col
            )

    results.show_table(vi, mc, tol, out.compute_s)
    downloads.share_and_export(spec, out, _view_query())


_YARDSTICK_CAPTION = {
    "mmd": "Distance to the exact posterior (MMD, Gaussian kernel with the posterior's sd as bandwidth): "
    "one yardstick for a q and for a set of samples.",
    "w1": "Distance to the exact posterior's marginals (1-Wasserstein, in posterior sds, the mean over both "
    "coordinates; exact marginals from the reference; log scale): mass a method misses far out counts by how far "
    "out it is, so a sampler that has not reached a tail stays above one that has.",
}


def _moves_caption(mc) -> str:
    """What the grey lines and red crosses on the MCMC panel are, for samplers that record their moves."""
    if mc.paths is None:
        return ""
    text = (
        f" Grey: the last {figures.TRAIL_STEPS} moves of the first {mc.paths.shape[1]} chains (dotted: rejected)"
        " — Gibbs moves along one axis at a time, HMC along its leapfrog path."
    )
    if mc.divergent is not None:
        text += " Red ×: where divergent transitions after warm-up began."
    return text


def _uncounted(vi, mc, cost: str) -> str:
    """A sentence for a method the evaluations axis cannot show (it evaluated nothing)."""
    if cost != "evals":
        return ""
    idle = [r.label for r in (vi, mc) if r.evals is not None and r.evals[-1].sum() == 0]
    return "".join(f" {who} evaluates neither the density nor its gradient: it is not on this axis." for who in idle)
