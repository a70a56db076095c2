"""The Scaling page: "on large data VI is faster than MCMC", measured from N = 100 to N = 1,000,000, fairly judged.

Bayesian logistic regression (intercept, slope) on synthetic data of any size or on the arsenic-wells data;
minibatch Gaussian VI (plain and with a control variate), full-batch Gaussian VI, emcee, NUTS, SGLD and SGLD-CV each
run under a time budget and are scored against an exact reference at every N by one rule (the mean AND the sd right;
MCMC on its draws after warm-up), their cost counted in seconds and in rows touched (vi_core.scaling, through
ui.compute). Small N run live here, with a progress bar;
N = 10^5 and 10^6 come from a sweep recorded by ``python -m benchmarks.scaling --write`` (machine and date shown),
so no visit starts a million-row sweep. Settings live in the URL: ?data=synthetic&centred=1&n=10000&run=1.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from ui import compute
from ui.figures import ready
from ui.figures.scaling import accuracy_time_figure, bias_figure, headline_figure, worst_ratio
from ui.scaling_text import captions, method_slope, ns_list, recorded_caption
from ui.text import plain

__all__ = [
    "ARSENIC_NS",
    "BATCH",
    "DATASETS",
    "LIVE_BUDGET_S",
    "LIVE_NS",
    "live_ns",
    "query_notices",
    "read_query",
    "render",
    "rule_text",
    "summary_table",
]

DATASETS = {"synthetic": "synthetic", "arsenic": "arsenic wells"}
LIVE_NS = (100, 1_000, 10_000)  # the largest N a visitor can run live
ARSENIC_NS = (100, 300, 1_000, 3_020)  # a subsample ladder of the real data
LIVE_BUDGET_S = 2.0  # per (N, method): a live sweep stays under 3 sizes x 8 methods x 2 s
BATCH = 1000  # the plain minibatch methods' rows per step, as in the recorded sweep (B = 100 needs ~10x the steps
# at N = 10^6); the control-variate methods have their own (ScaleMethod.batch)
COSTS = {"seconds": "seconds", "rows": "rows touched"}


def read_query(query: dict[str, str]) -> tuple[str, bool, int, bool]:
    """(data set, centred?, largest live N, run?) from the URL; anything unknown falls back to the default."""
    name = query.get("data", "synthetic")
    name = name if name in DATASETS else "synthetic"
    centred = query.get("centred", "1") != "0"
    n_max = _live_n(query.get("n", "1000")) or 1_000
    return name, centred, n_max, query.get("run") == "1"


def _live_n(raw: str) -> int | None:
    """N from the URL's text if it is one of LIVE_NS, else None ('1e4' and '10000.0' read as 10000)."""
    try:
        n = int(float(raw))
    except (ValueError, OverflowError):  # 'abc', 'nan'; 'inf' overflows int()
        return None
    return n if n in LIVE_NS else None


def query_notices(query: dict[str, str]) -> list[str]:
    """A plain-text notice for each value in the URL that read_query replaces by its default (show each through
    ui.text.plain: they quote the link)."""
    checks = {
        "data": (lambda raw: raw in DATASETS, f"choose one of {', '.join(DATASETS)}"),
        "centred": (lambda raw: raw in ("0", "1"), "1 or 0"),
        "n": (lambda raw: _live_n(raw) is not None, f"choose one of {', '.join(str(n) for n in LIVE_NS)}"),
        "run": (lambda raw: raw in ("0", "1"), "1 runs the live sweep"),
    }
    return [
        f"Ignored “{key}={str(query[key])[:40]}” in the link ({why}); using the default."
        for key, (ok, why) in checks.items()
        if key in query and not ok(query[key])
    ]


def live_ns(name: str, n_max: int) -> list[int]:
    """The sizes run live: decades up to n_max (synthetic), the subsample ladder (arsenic)."""
    if name == "arsenic":
        return list(ARSENIC_NS)
    return [n for n in LIVE_NS if n <= n_max]


def _controls(name: str, centred: bool, n_max: int) -> tuple[str, bool, int, bool]:
    c1, c2, c3 = st.columns([1.2, 1, 1.4], vertical_alignment="bottom")
    name = c1.segmented_control(
        "Data", list(DATASETS), default=name, format_func=DATASETS.get, required=True, key="sc_data"
    )
    centred = c2.toggle(
        "Centre the covariate", value=centred, key="sc_centred",
        help="Centring x makes intercept and slope nearly uncorrelated; uncentred, they are strongly correlated, "
        "and a mean-field q (a product of independent factors) pays for that correlation in variance.",
    )  # fmt: skip
    n_max = c3.select_slider(
        "Largest N to run live",
        options=list(LIVE_NS),
        value=n_max,
        format_func=lambda n: f"{n:,}",
        key="sc_n",
        disabled=name == "arsenic",
        help="Larger N (10^5, 10^6) are shown from a recorded sweep, so no visit starts a million-row run.",
    )
    run = st.button("Run the live sweep", type="primary", key="sc_run")
    return name, centred, n_max, run


def _recorded(centred: bool) -> dict | None:
    """The recorded synthetic sweep for this covariate setting, if its file loads and says it is that setting."""
    pre = compute.precomputed_scaling(centred)
    if pre is None or pre.get("settings", {}).get("centred", True) != centred or not pre.get("records"):
        return None
    return pre


def rule_text() -> str:
    """The fair accuracy rule in words, its thresholds from the engine's."""
    rule = compute.SCALE_ACCURACY
    return (
        f"**The rule, the same for every method:** accurate when, on both coordinates, the estimated posterior mean is "
        f"within {rule.mean_sd:g} posterior sd of the exact mean **and** the estimated posterior sd is within "
        f"{rule.sd_rel:.0%} of the exact sd; the time (and the rows touched) to accuracy is from the start to the "
        "first moment from which the run stays accurate to its end. VI is judged on its current q (the average of "
        "its iterates); MCMC on its draws after warm-up only: NUTS has no estimate inside its warm-up (its draws "
        "there are made with a step size still being tuned), emcee and SGLD drop the first quarter of their steps as "
        "burn-in; the time spent in warm-up is on the clock all the same. **Rows touched**: one data row's likelihood "
        "or gradient term at one parameter value is one row (a full-data gradient at one point touches N rows, a "
        "minibatch gradient at K points on B rows K·B), so this cost does not depend on the machine."
    )


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None or not math.isfinite(v) else format(v, spec)


def summary_table(records: list[compute.ScaleRecord], labels: dict[str, str], source: dict[int, str]) -> pd.DataFrame:
    """One row per N and method: time and rows to the fair accuracy, the final errors of the mean and the sd, the
    variance ratio, rows touched and evaluations, how the run ended, where it was measured."""
    rows = []
    for r in sorted(records, key=lambda r: (r.n, list(labels).index(r.method) if r.method in labels else 99)):
        t = r.time_to_accuracy_s
        sd = None if r.sd_err is None or not len(r.sd_err) else 100 * float(r.sd_err[-1])
        rows.append({
            "N": f"{r.n:,}",
            "method": labels.get(r.method, r.method),
            "time to accuracy": f"{t:.3g} s" if t is not None else f"not within {r.budget_s:g} s",
            "rows to accuracy": _fmt(r.rows_to_accuracy if t is not None else None, ".3g"),
            "final mean error (sd)": _fmt(float(r.mean_err[-1]) if len(r.mean_err) else None, ".3f"),
            "final sd error (%)": _fmt(sd, ".1f"),
            "variance ratio": _fmt(worst_ratio(r) if len(r.var_ratio) else None, ".2f"),
            "rows touched": f"{r.rows_touched:.3g}",
            "gradient evals (full-data equivalents)": f"{r.n_grad_evals:,}",
            "ended": r.stopped,
            "measured": source.get(r.n, "live"),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _results(
    records: list[compute.ScaleRecord],
    labels: dict[str, str],
    source: dict[int, str],
    centred: bool,
    other: list[compute.ScaleRecord] | None,
) -> None:
    """The three charts, their generated captions, how each method is run, and the table of every run."""
    st.markdown("#### The cost of reaching the accuracy, against N")
    cost = st.segmented_control(
        "Cost in", list(COSTS), default="seconds", format_func=COSTS.get, required=True, key="sc_cost",
        help="Seconds on this machine, or rows touched (a count that does not depend on the machine).",
    )  # fmt: skip
    slopes = {m: method_slope(records, m, cost=cost) for m in labels}
    words = captions(records, labels, centred, other, source, cost)
    st.plotly_chart(
        ready(headline_figure(records, labels, slopes, cost)), key="sc_headline", config={"displaylogo": False}
    )
    for line in words["speed"]:
        st.markdown(line)
    for line in words["slopes"]:
        st.caption(line)
    left, right = st.columns(2)
    with left:
        st.markdown("#### Accuracy against time, at one N")
        sizes = sorted({r.n for r in records})
        pick = st.select_slider("N", options=sizes, value=sizes[-1], format_func=lambda n: f"{n:,}", key="sc_pick")
        st.plotly_chart(
            ready(accuracy_time_figure([r for r in records if r.n == pick], labels)),
            key="sc_acc",
            config={"displaylogo": False},
        )
        st.caption(
            "The score is the worse of the two errors, each as a fraction of its tolerance: accurate at or below 1. "
            "A sampler in its warm-up has no estimate yet, so no line."
        )
    with right:
        st.markdown("#### The variance of VI and of SGLD against the exact posterior's")
        st.plotly_chart(ready(bias_figure(records, labels)), key="sc_bias", config={"displaylogo": False})
        for line in words["bias"]:
            st.caption(line)
    for line in words["reduction"]:
        st.markdown(line)
    with st.expander("How each method is run"):
        for m, meth in compute.SCALE_METHODS.items():
            if m in labels:
                st.markdown(f"**{labels[m]}**: {meth.about}")
    st.markdown("#### Every run")
    st.table(summary_table(records, labels, source))
    st.caption(
        "Gradient evaluations in full-data equivalents: a minibatch gradient over B rows counts as B/N of one. "
        "Ended: converged (accurate over the last doubling of its steps), settled (short of the accuracy, its "
        "estimate no longer moving towards the truth: a bias), budget or steps (ran out). The exact reference is "
        "computed on a grid, which works in two dimensions but not with many parameters; VI and MCMC need no grid."
    )


def render() -> None:
    st.markdown("### Scaling: is VI faster than MCMC on large data? Measured, fairly")
    st.caption(
        "Bayesian logistic regression with two parameters (intercept α, slope β) and N data points. A full-data "
        "method touches all N rows at every step, so its cost per step grows in proportion to N; a minibatch method "
        f"looks at a batch of B rows per step (B = {BATCH:,} for plain minibatches; the gradient rescaled by N/B), so "
        "its cost per step does not depend on N, and with a control variate around the mode (one full pass to set "
        "it up) its gradient's noise shrinks too. MCMC can subsample as well: SGLD, at a bias. How many steps each "
        "needs is what the charts measure: each method runs under a time budget and is timed until it is accurate."
    )
    st.markdown(rule_text())
    query = {k: st.query_params[k] for k in st.query_params}
    for note in query_notices(query):  # they quote the link: shown as plain text
        st.warning(plain(note), icon=":material/warning:")
    name, centred, n_max, run = read_query(query)
    name, centred, n_max, clicked = _controls(name, centred, n_max)
    st.query_params.from_dict(
        {"data": name, "centred": "1" if centred else "0", "n": str(n_max), **({"run": "1"} if run or clicked else {})}
    )
    labels = {m: meth.label for m, meth in compute.SCALE_METHODS.items()}
    pre, other = _recorded(centred), _recorded(not centred)
    if not (run or clicked):
        sizes = ns_list(live_ns(name, n_max))
        if pre is None:
            st.info(
                f"Press **Run the live sweep** to measure every method at N = {sizes} on this server.",
                icon=":material/info:",
            )
            return
        st.info(
            "Below: the recorded sweep of synthetic data"
            + (" (the arsenic data are run live only)" if name == "arsenic" else "")
            + f". Press **Run the live sweep** to measure every method at N = {sizes} on this server, now.",
            icon=":material/info:",
        )
        st.caption(recorded_caption(pre) + " Not measured on this server.")
        records = pre["records"]
        _results(records, labels, {r.n: "recorded" for r in records}, centred, other and other["records"])
        return

    ns = live_ns(name, n_max)
    jobs = [(n, m) for n in ns for m in labels]
    bar = st.progress(0.0, text="Starting…")
    live: list[compute.ScaleRecord] = []
    for k, (n, m) in enumerate(jobs):
        bar.progress(k / len(jobs), text=f"N = {n:,}: {labels[m]} ({k + 1} of {len(jobs)})")
        live.append(compute.scale_record(name, n, m, LIVE_BUDGET_S, centred, BATCH))
    bar.empty()

    records, source = list(live), {n: "live" for n in ns}
    if name == "synthetic" and pre is not None:
        extra = [r for r in pre["records"] if r.n > max(ns)]
        records += extra
        source.update({r.n: "recorded" for r in extra})
        if extra:
            st.caption(
                recorded_caption(pre, sorted({r.n for r in extra}))
                + f" N = {ns_list(ns)} were measured live, on this server, just now: the slopes below are fitted "
                "across both, so they mix two machines."
            )
    _results(records, labels, source, centred, other["records"] if name == "synthetic" and other else None)
