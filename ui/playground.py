"""The Playground page: settings -> a cached run -> the race, the gauge, the yardstick."""

from __future__ import annotations

import html
import io
import json
import math
from functools import partial
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from ui import compute, figures, keys
from ui.compute import (
    MAX_LENGTH,
    MCMC_LABELS,
    REGISTRY,
    VI_LABELS,
    Settings,
    burn_in,
    format_kl,
    kl_tolerance,
    make_expr_target,
    make_target,
    methods,
)
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
_CSS_TABLE = (
    # the Results table (results_html): Streamlit's table look, row names with a dotted underline (a tooltip)
    ".results-table{width:100%;border-collapse:collapse;font-size:0.9rem}"
    ".results-table th,.results-table td{border-bottom:1px solid rgba(49,51,63,.1);padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}"
    ".results-table abbr{text-decoration:underline dotted;cursor:help}"
)
_CSS = "<style>.block-container{padding-top:2.2rem;padding-bottom:1rem}" + _CSS_TABLE + "</style>"
# The presenter view: the race starts right under Streamlit's header bar.
_CSS_PRESENT = "<style>.block-container{padding-top:3.2rem;padding-bottom:1rem}" + _CSS_TABLE + "</style>"

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
        out = compute.run(active, on_wait=partial(_show_waiting, slot))
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


def _show_waiting(slot, standing: list[compute.Waiting]) -> None:
    """One progress bar for both runs while they queue or run: where each stands, in words."""

    def words(w: compute.Waiting) -> str:
        if w.done:
            return f"{w.label}: done"
        if w.ahead:
            return f"{w.label}: waiting, {w.ahead} run{'s' * (w.ahead > 1)} ahead in the queue"
        return f"{w.label}: {'running' if w.stage == w.label else w.stage} {w.fraction:.0%}"

    value = sum(1.0 if w.done else w.fraction for w in standing) / len(standing)
    slot.progress(min(value, 1.0), text=" · ".join(words(w) for w in standing))


def _preview(spec: RunSpec | None) -> None:
    if spec is None:
        st.info("Fix the typed target in the sidebar, then press **Run**.", icon=":material/arrow_back:")
        return
    try:
        grid = compute.grid_for(spec.target, spec.settings.n_grid, spec.box)
    except Exception as exc:  # in words, never a traceback (ui.text.user_message logs anything unexpected)
        st.error(user_message(exc), icon=":material/block:")
        return
    st.plotly_chart(
        figures.ready(figures.target_figure(grid, f"{spec.target.name}: {spec.target.description}")), key="preview"
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
        f"**Left:** <span style='color:{figures.VI_COLOUR}'>{vi.label}</span> — q's 1, 2, 3σ contours "
        "(vermillion). "
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


def _results(spec: RunSpec, out: compute.Outcome) -> None:
    grid, vi, mc = out.grid, out.vi, out.mc
    present = presenting()
    query = {**to_query(spec, st.session_state.get("clock", "iteration")), "run": "1"}
    if not present:
        _grid_warnings(grid)
        _clock_control()
        _legend(vi, mc)
    race = compute.race_figure(spec, st.session_state.clock, present)
    st.plotly_chart(race, key="race", config={"displaylogo": False})
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
    # Drawn from the numbers (vi_core.story), so it cannot contradict the verdicts below.
    st.container(border=True, key="story").markdown(
        "**What this run shows.** " + " ".join(compute.what_this_run_shows(vi, mc))
    )

    tol = kl_tolerance(grid, on_grid=vi.w1 is not None)  # a grid q's ELBO is a sum over the cells
    kl_text = format_kl(float(vi.kl[-1]), tol)
    c = st.columns(5)
    c[0].metric(
        "ln p(X) (quadrature)",
        f"{grid.log_z:.4f}",
        help=f"{GLOSSARY['ln p(X)']} The exact reference: {grid.reference.method}.",
    )
    c[1].metric("ELBO(q)", f"{vi.elbo[-1]:.4f}", help=GLOSSARY["ELBO"])
    c[2].metric("KL(q ‖ p)", "—" if kl_text.startswith("error") else kl_text, help=GLOSSARY["KL(q‖p)"])
    c[3].metric("VI wall time", _fmt_s(vi.wall_time_s), help=GLOSSARY["wall time"])
    c[4].metric("MCMC wall time", _fmt_s(mc.wall_time_s), help=GLOSSARY["wall time"])
    if kl_text.startswith("error"):
        st.error(kl_text[len("error: ") :].capitalize(), icon=":material/error:")
    else:
        st.caption(_kl_split(vi, tol))

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
        st.plotly_chart(figures.ready(figures.accuracy_figure(vi, mc, cost, yardstick)), key="accuracy")
        st.caption(_YARDSTICK_CAPTION[yardstick] + _uncounted(vi, mc, cost))
    with right:
        st.subheader("Marginals")
        m1, m2 = st.columns(2)
        m1.plotly_chart(figures.ready(figures.marginal_figure(grid, vi, mc, 0)), key="marg0")
        m2.plotly_chart(figures.ready(figures.marginal_figure(grid, vi, mc, 1)), key="marg1")

    st.subheader("Results")
    # st.table: static HTML, no grid widget (st.dataframe's first use costs ~0.5 s and slows playback)
    # one column per method, one row per quantity: reads down, and fits a phone
    rows = _table(vi, mc, tol)
    st.markdown(results_html(rows), unsafe_allow_html=True)
    with st.expander("What the rows mean"):
        st.markdown("\n".join(f"- **{k}**: {GLOSSARY[k]}" for k in rows[0] if k != "method"))
    # Verdicts in bordered boxes, not st.error: a bad fit is a finding, not a failure of the app.
    # Icon shapes and words carry the level, so nothing depends on telling colours apart.
    for col, who, level, text in zip(
        st.columns(2), ("VI", "MCMC"), (vi.verdict_level, mc.verdict_level), (vi.verdict, mc.verdict), strict=True
    ):
        col.container(border=True, key=f"verdict_{who}").markdown(f"{_ICON[level]} **{who} verdict.** {text}")
    st.caption(
        f"Compute {_fmt_s(out.compute_s)} including scoring. MCMC statistics use the draws after the first "
        f"{burn_in(mc.n_steps)} of {mc.n_steps} steps (burn-in). {_judged_by(mc)}"
    )
    _share_and_export(spec, out)


_ICON = {"good": ":material/check_circle:", "warn": ":material/warning:", "bad": ":material/error:"}
_YARDSTICK_CAPTION = {
    "mmd": "Distance to the exact posterior (MMD, Gaussian kernel with the posterior's sd as bandwidth): "
    "one yardstick for a q and for a set of samples.",
    "w1": "Distance to the exact posterior's marginals (1-Wasserstein, in posterior sds, the mean over both "
    "coordinates; exact marginals from the reference; log scale): mass a method misses far out counts by how far "
    "out it is, so a sampler that has not reached a tail stays above one that has.",
}


def _ensemble(mc) -> bool:
    return "autocorr" in methods.get(mc.method).rules


def _judged_by(mc) -> str:
    """How this sampler is judged, in one sentence (vi_core.verdicts' rules)."""
    if _ensemble(mc):
        return (
            "emcee's walkers are not independent chains, so it is judged as its authors advise: by the integrated "
            "autocorrelation time τ (the run after burn-in ≥ 50 τ) and an acceptance fraction of 0.2-0.5."
        )
    return (
        "Independent chains are judged by rank-normalised R-hat ≤ 1.01 with bulk and tail ESS ≥ 400 (Vehtari et al. "
        "2021; arviz-stats)."
    )


def _kl_split(vi, tol: float) -> str:
    """KL = the family's best KL + this run's optimisation gap, in words."""
    if not math.isfinite(vi.kl_best):
        return ""
    best, gap = format_kl(float(vi.kl_best), tol), vi.optimisation_gap
    text = (
        f"KL {format_kl(float(vi.kl[-1]), tol)} = {best} (the best any q of this family can do: the family's "
        f"bias) + {format_kl(gap, tol)} (this run's optimisation gap)."
    )
    if vi.n_optima > 1:
        text += f" The ELBO has {vi.n_optima} local optima for this family on this target."
    return text


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


def _evals(res) -> str:
    """'12,345 + 6,789' (density + gradient evaluations)."""
    if res.evals is None:
        return "—"
    return f"{int(res.evals[-1, 0]):,} + {int(res.evals[-1, 1]):,}"


def _ess_per_kilo_eval(mc) -> float:
    """min ESS per 1000 evaluations (density + gradient); nan when nothing was evaluated."""
    spent = float(mc.evals[-1].sum()) if mc.evals is not None else 0.0
    return float(np.min(mc.ess)) / spent * 1000 if spent > 0 else math.nan


# One line for every row of the Results table and every metric (shown on hover, and listed under the table).
GLOSSARY = {
    "ln p(X)": "The log evidence: ln of the integral of p(X, z) over z, computed exactly by quadrature. "
    "ln p(X) = ELBO + KL for any q.",
    "wall time": "Seconds the method's own loop ran on this server (scoring and pictures not included).",
    "time / step": "Wall time divided by the steps taken: one VI update, or one move of every walker or chain.",
    "steps": "VI: optimisation steps (CAVI: sweeps). MCMC: steps of every walker or chain, burn-in included.",
    "evaluations (density + gradient)": "How often the method evaluated ln p(X, z) and its gradient: a cost that "
    "does not depend on the machine.",
    "ELBO": "Evidence lower bound E_q[ln p(X, z)] − E_q[ln q(z)], exact on the grid: what VI maximises; it is "
    "ln p(X) − KL, so it never exceeds ln p(X).",
    "KL(q‖p)": "KL(q ‖ p(z|X)) in nats: how far q is from the exact posterior (0 means q is the posterior). "
    "Exact here: ln p(X) − ELBO.",
    "best KL in family": "The smallest KL any q of this family reaches on this target (found outside the clock): "
    "the family's bias, which more steps cannot remove.",
    "optimisation gap": "This run's KL minus the family's best: what the optimiser left undone (more steps or "
    "another start can close it).",
    "MMD": "Maximum mean discrepancy to the exact posterior, Gaussian kernel as wide as the posterior's sd: "
    "0 is a perfect match; it hardly sees missing tails.",
    "W1 (sd)": "Mean over both coordinates of the 1-Wasserstein distance between the method's marginal and the "
    "exact one, in posterior sds: mass missed far out counts by how far.",
    "mean error": "Distance between the method's mean and the exact posterior mean (Euclidean).",
    "cov error": "Distance between the method's covariance matrix and the exact one (Frobenius norm): 0 when "
    "the spread and tilt are right.",
    "acceptance": "Fraction of proposals accepted after burn-in (HMC/NUTS: their mean acceptance statistic, "
    "compared with the target acceptance they tuned to).",
    "ESS (min)": "Effective sample size: how many independent draws the correlated chain is worth (bulk: for "
    "the middle; tail: for the 5 % and 95 % quantiles; emcee: walkers × steps / τ).",
    "ESS / s": "Effective draws per second of wall time: a sampler's speed.",
    "ESS / 1000 evals": "Effective draws per 1000 density and gradient evaluations: speed without the machine.",
    "R-hat (max)": "Rank-normalised R-hat: compares the chains with each other; above 1.01 they have not yet "
    "agreed on one distribution. Not used for emcee, whose walkers are not independent.",
    "τ (steps, max)": "Integrated autocorrelation time: steps between nearly independent draws. emcee wants a run "
    "of at least 50 τ after burn-in.",
    "divergences": "HMC/NUTS trajectories whose simulated energy blew up after warm-up: the region where they "
    "began is under-sampled.",
    "Pareto k̂": "Fitted tail of the importance ratios p/q over draws of q: above the threshold, q is too narrow "
    "somewhere. A second opinion beside the exact KL.",
}


def results_html(rows: list[dict]) -> str:
    """The Results table (one column per method, one row per quantity) as HTML whose row names carry their
    GLOSSARY line as a tooltip. Every cell is escaped: method labels and values are ours, but a table is no
    place to trust that."""
    head = "".join(f"<th>{html.escape(r['method'])}</th>" for r in rows)
    body = []
    for key in (k for k in rows[0] if k != "method"):
        cells = "".join(f"<td>{html.escape(str(r[key]))}</td>" for r in rows)
        tip = html.escape(GLOSSARY[key], quote=True)
        body.append(f'<tr><th scope="row"><abbr title="{tip}">{html.escape(key)}</abbr></th>{cells}</tr>')
    return (
        '<table class="results-table"><thead><tr><th></th>' + head + "</tr></thead><tbody>"
        + "".join(body) + "</tbody></table>"
    )  # fmt: skip


def _khat(khat: float) -> str:
    """k̂ with the threshold for the number of draws it came from."""
    if khat == -math.inf:
        return "−∞"
    if not math.isfinite(khat):
        return "—"
    return f"{khat:.2f} (threshold {compute.khat_threshold(compute.KHAT_DRAWS):.2f})"


def _acceptance(mc) -> str:
    """The fraction of steps after burn-in that moved; for HMC/NUTS their acceptance statistic; Gibbs always moves."""
    if "gibbs" in methods.get(mc.method).rules:
        return "— (always accepts)"
    stat = mc.stats.get("accept_stat")
    if stat is not None and math.isfinite(stat):
        return f"{stat:.2f} (statistic; moved {mc.acceptance:.2f})"
    return f"{mc.acceptance:.2f}" if math.isfinite(mc.acceptance) else "—"


def _ess(mc) -> str:
    """emcee: walkers x kept steps / τ; chains: bulk / tail; more than the draws is marked (see the verdict)."""
    d = mc.diagnostics
    if _ensemble(mc):
        ess = float(np.min(mc.ess))
        return f"≈ {ess:,.0f} (from τ)" if math.isfinite(ess) else "—"
    bulk, tail = float(np.min(d.ess_bulk)), float(np.min(d.ess_tail))
    if not (math.isfinite(bulk) and math.isfinite(tail)):
        return "—"
    text = f"{bulk:,.0f} bulk / {tail:,.0f} tail"
    if float(np.max(d.ess_bulk)) > d.n_samples:
        text += " (> draws: anti-correlated, see the verdict)"
    return text


def _tau(mc) -> str:
    """The largest τ; below 1 (where the estimator can even go negative) it is not a time but a sign of
    anti-correlated draws, and is said so."""
    tau = mc.tau[np.isfinite(mc.tau)]
    if not tau.size:
        return "—"
    if tau.min() < 1:
        return "< 1: anti-correlated draws (see the verdict)"
    return f"{tau.max():.1f}"


def _fmt_s(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def _table(vi, mc, tol: float) -> list[dict]:
    def num(v, fmt="{:.4f}"):
        return fmt.format(v) if v is not None and math.isfinite(v) else "—"

    def kl(v):
        text = format_kl(float(v), tol) if math.isfinite(v) else "—"
        return "error (see above)" if text.startswith("error") else text

    return [
        {
            "method": f"VI · {vi.label}",
            "wall time": _fmt_s(vi.wall_time_s),
            "time / step": _fmt_s(vi.wall_time_s / max(vi.n_steps, 1)),
            "steps": f"{vi.n_steps:,}",
            "evaluations (density + gradient)": _evals(vi),
            "ELBO": num(vi.elbo[-1]),
            "KL(q‖p)": kl(vi.kl[-1]),
            "best KL in family": kl(vi.kl_best),
            "optimisation gap": kl(vi.optimisation_gap) if math.isfinite(vi.kl_best) else "—",
            "MMD": num(vi.mmd[-1]),
            "W1 (sd)": num(vi.w1_sd[-1]),
            "mean error": num(vi.mean_err[-1]),
            "cov error": num(vi.cov_err[-1]),
            "acceptance": "—",
            "ESS (min)": "—",
            "ESS / s": "—",
            "ESS / 1000 evals": "—",
            "R-hat (max)": "—",
            "τ (steps, max)": "—",
            "divergences": "—",
            "Pareto k̂": _khat(vi.khat),
        },
        {
            "method": f"MCMC · {mc.label}",
            "wall time": _fmt_s(mc.wall_time_s),
            "time / step": _fmt_s(mc.wall_time_s / max(mc.n_steps, 1)),
            "steps": f"{mc.n_steps:,}",
            "evaluations (density + gradient)": _evals(mc),
            "ELBO": "—",
            "KL(q‖p)": "—",
            "best KL in family": "—",
            "optimisation gap": "—",
            "MMD": num(mc.mmd[-1]),
            "W1 (sd)": num(mc.w1_sd[-1]),
            "mean error": num(mc.mean_err[-1]),
            "cov error": num(mc.cov_err[-1]),
            "acceptance": _acceptance(mc),
            "ESS (min)": _ess(mc),
            "ESS / s": num(float(np.min(mc.ess_per_s)), "{:.0f}"),
            "ESS / 1000 evals": num(_ess_per_kilo_eval(mc), "{:.1f}"),
            "R-hat (max)": "not used (walkers)" if _ensemble(mc) else num(float(np.max(mc.rhat)), "{:.3f}"),
            "τ (steps, max)": _tau(mc),
            "divergences": str(mc.stats["divergences"]) if "divergences" in mc.stats else "—",
            "Pareto k̂": "—",
        },
    ]


def _share_and_export(spec: RunSpec, out: compute.Outcome) -> None:
    st.subheader("Share and export")
    query = {**to_query(spec, st.session_state.get("clock", "iteration")), "run": "1", **_view_query()}
    base = (st.context.url or "").split("?")[0]
    st.caption("Link to this exact run (copy with the button on the right):")
    st.code(f"{base}?{urlencode(query)}", language=None, wrap_lines=True)
    # Callables: the files are built when clicked, not on every rerun (the samples CSV is ~0.5 MB).
    c = st.columns(3)
    c[0].download_button(
        "Samples (CSV)", partial(samples_csv, out.mc), "mcmc_samples.csv", "text/csv", on_click="ignore"
    )
    c[1].download_button("VI trace (CSV)", partial(vi_trace_csv, out.vi), "vi_trace.csv", "text/csv", on_click="ignore")
    c[2].download_button(
        "Summary (JSON)", partial(summary_json, spec, out), "summary.json", "application/json", on_click="ignore"
    )
    # the animation for slides: drawn on the server (no browser), every panel, a time stamp a frame, no controls
    clock = st.session_state.get("clock", "iteration")
    name = f"race-{spec.target.name}-{spec.vi}-{spec.mcmc}"
    a = st.columns(3)
    a[0].download_button(
        "Animation (GIF)", partial(compute.race_animation, spec, clock, "gif"), f"{name}.gif", "image/gif",
        on_click="ignore", help="The race as a looping GIF, 1280 × 720: for slides. Made on the server in a second "
        "or two.",
    )  # fmt: skip
    if compute.mp4_available():
        a[1].download_button(
            "Animation (MP4)", partial(compute.race_animation, spec, clock, "mp4"), f"{name}.mp4", "video/mp4",
            on_click="ignore", help="The race as an H.264 video, 1280 × 720.",
        )  # fmt: skip
    else:
        a[1].caption("MP4: this server has no video encoder; `python -m ui.export --mp4` makes one where "
                     "imageio-ffmpeg is installed.")  # fmt: skip
    a[2].download_button(
        "Last frame (PNG)", partial(compute.race_animation, spec, clock, "png"), f"{name}.png", "image/png",
        on_click="ignore", help="The race's last frame, without the Play controls.",
    )  # fmt: skip


# ------------------------------------------------------------------------------------ exports


def samples_csv(mc) -> str:
    t, w, _ = mc.chain.shape
    steps, walkers = np.meshgrid(np.arange(t), np.arange(w), indexing="ij")
    buf = io.StringIO()
    buf.write("step,walker,z1,z2,after_burn_in\n")
    rows = np.column_stack([steps.ravel(), walkers.ravel(), mc.chain.reshape(-1, 2), steps.ravel() >= burn_in(t)])
    np.savetxt(buf, rows, delimiter=",", fmt=["%d", "%d", "%.6g", "%.6g", "%d"])
    return buf.getvalue()


def vi_trace_csv(vi) -> str:
    buf = io.StringIO()
    buf.write("step,time_s,elbo_exact,elbo_mc,kl,mean1,mean2,var1,var2,cov12\n")
    rows = np.column_stack(
        [
            np.arange(vi.times.size),
            vi.times,
            vi.elbo,
            vi.elbo_mc,
            vi.kl,
            vi.mean,
            vi.cov[:, 0, 0],
            vi.cov[:, 1, 1],
            vi.cov[:, 0, 1],
        ]
    )
    np.savetxt(buf, rows, delimiter=",", fmt=["%d"] + ["%.8g"] * 9)
    return buf.getvalue()


def summary_json(spec: RunSpec, out: compute.Outcome) -> str:
    grid, vi, mc = out.grid, out.vi, out.mc

    def clean(v):
        if isinstance(v, np.ndarray):
            return clean(v.tolist())
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, float | np.floating):
            return float(v) if math.isfinite(v) else None
        return v

    summary = {
        "spec": to_query(spec),
        "target": spec.target.to_dict(),
        "log_evidence": grid.log_z,
        "reference": {**grid.reference._asdict(), "truncated": grid.reference_truncated},
        "grid_warnings": grid.warnings(),
        "grid_notes": grid.notes(),
        "vi": vi.summary(),
        "mcmc": mc.summary(),
        "truth": {"mean": grid.mean, "cov": grid.cov, "mass_outside_box": grid.mass_outside_box},
    }
    return json.dumps(clean(summary), indent=1, default=clean)
