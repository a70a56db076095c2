"""The Playground page: settings -> a cached run -> the race, the gauge, the yardstick."""

from __future__ import annotations

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
_CSS = "<style>.block-container{padding-top:2.2rem;padding-bottom:1rem}</style>"

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
    """One number input from a row of vi_core.settings.TABLE (label, Playground bounds, step, format, help)."""
    kw = {"step": s.kind(s.step)} if s.step is not None else {}
    if s.fmt is not None:
        kw["format"] = s.fmt
    st.number_input(s.label, s.kind(s.ui_lo), s.kind(s.ui_hi), key=f"s_{s.query}", help=s.help, **kw)


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
    st.markdown(_CSS, unsafe_allow_html=True)
    st.markdown("### Variational inference and MCMC, side by side")
    st.caption(INTRO)
    for note in st.session_state.pop("notices", []):  # they quote the link: shown as plain text
        st.warning(plain(note), icon=":material/warning:")

    submitted = _settings_form()
    try:
        pending = _widgets_to_spec()
    except ValueError as exc:
        # a bad typed expression or box: say so beside the text box; nothing runs
        st.session_state.expr_error_slot.error(plain(exc), icon=":material/block:")
        pending = None
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
    st.query_params.from_dict({**to_query(active, st.session_state.get("clock", "iteration")), "run": "1"})
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


def _results(spec: RunSpec, out: compute.Outcome) -> None:
    grid, vi, mc = out.grid, out.vi, out.mc
    _grid_warnings(grid)
    st.segmented_control(
        "Clock",
        CLOCKS,
        key="clock",
        required=True,
        format_func={"iteration": "by iteration", "time": "by wall-clock time"}.get,
        help="By iteration: each method at the same fraction of its run. By wall-clock time: each panel shows "
        "where its method truly was at the same instant.",
    )
    st.markdown(
        f"**Left:** <span style='color:{figures.VI_COLOUR}'>{vi.label}</span> — q's 1, 2, 3σ contours. "
        f"**Right:** <span style='color:{figures.MCMC_COLOUR}'>{mc.label}</span> — draws so far "
        "(orange: the walkers now)." + _moves_caption(mc) + " Below: the ELBO climbing, the exact split "
        "ln p(X) = ELBO + KL, and each method's distance to the truth against wall-clock time.",
        unsafe_allow_html=True,
    )
    st.plotly_chart(compute.race_figure(spec, st.session_state.clock), key="race", config={"displaylogo": False})
    keys.animation_keys("race")
    # Drawn from the numbers (vi_core.story), so it cannot contradict the verdicts below.
    st.container(border=True, key="story").markdown(
        "**What this run shows.** " + " ".join(compute.what_this_run_shows(vi, mc))
    )

    tol = kl_tolerance(grid, on_grid=vi.w1 is not None)  # a grid q's ELBO is a sum over the cells
    kl_text = format_kl(float(vi.kl[-1]), tol)
    c = st.columns(5)
    c[0].metric("ln p(X) (quadrature)", f"{grid.log_z:.4f}", help=f"The exact reference: {grid.reference.method}.")
    c[1].metric("ELBO(q)", f"{vi.elbo[-1]:.4f}")
    c[2].metric("KL(q ‖ p)", "—" if kl_text.startswith("error") else kl_text)
    c[3].metric("VI wall time", _fmt_s(vi.wall_time_s))
    c[4].metric("MCMC wall time", _fmt_s(mc.wall_time_s))
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
    st.table({r["method"]: {k: v for k, v in r.items() if k != "method"} for r in rows})
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


def _khat(khat: float) -> str:
    """k̂ with the threshold for the number of draws it came from."""
    if khat == -math.inf:
        return "−∞"
    if not math.isfinite(khat):
        return "—"
    return f"{khat:.2f} (threshold {compute.khat_threshold(compute.KHAT_DRAWS):.2f})"


def _acceptance(mc) -> str:
    """The fraction of steps that moved; for HMC/NUTS their acceptance statistic against its target."""
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
    tau = mc.tau[np.isfinite(mc.tau)]
    if not tau.size:
        return "—"
    if tau.min() < 1:
        return f"{tau.min():.2f} (< 1: anti-correlated draws)"
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
    query = {**to_query(spec, st.session_state.get("clock", "iteration")), "run": "1"}
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
