"""The Scaling page: "on large data VI is faster than MCMC", measured from N = 100 to N = 1,000,000.

Bayesian logistic regression (intercept, slope) on synthetic data of any size or on the arsenic-wells data;
minibatch Gaussian VI, full-batch Gaussian VI, emcee and NUTS each run under a time budget and are scored against
an exact reference at every N (vi_core.scaling, through ui.compute). Small N run live here, with a progress bar;
N = 10^5 and 10^6 come from a sweep recorded by ``python -m benchmarks.scaling --write`` (machine and date shown),
so no visit starts a million-row sweep. Settings live in the URL: ?data=synthetic&centred=1&n=10000&run=1.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from ui import compute
from ui.figures import ready
from ui.figures.scaling import accuracy_time_figure, bias_figure, headline_figure
from ui.text import plain

__all__ = [
    "BATCH",
    "DATASETS",
    "LIVE_BUDGET_S",
    "LIVE_NS",
    "live_ns",
    "query_notices",
    "read_query",
    "render",
    "summary_table",
]

DATASETS = {"synthetic": "synthetic", "arsenic": "arsenic wells"}
LIVE_NS = (100, 1_000, 10_000)  # the largest N a visitor can run live
ARSENIC_NS = (100, 300, 1_000, 3_020)  # a subsample ladder of the real data
LIVE_BUDGET_S = 2.0  # per (N, method): a live sweep stays under 3 sizes x 5 methods x 2 s
BATCH = 1000  # minibatch rows per step, as in the recorded sweep (B = 100 needs ~10x the steps at N = 10^6)


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


def summary_table(records: list[compute.ScaleRecord], labels: dict[str, str], source: dict[int, str]) -> pd.DataFrame:
    """One row per N and method: time to the accuracy, final accuracy, variance ratio, evaluations, where from."""
    rows = []
    for r in sorted(records, key=lambda r: (r.n, list(labels).index(r.method) if r.method in labels else 99)):
        t = r.time_to_accuracy_s
        rows.append(
            {
                "N": f"{r.n:,}",
                "method": labels.get(r.method, r.method),
                "time to accuracy": f"{t:.3g} s" if t is not None else f"not within {r.budget_s:g} s",
                "final error (sd)": f"{r.final_accuracy:.3f}" if math.isfinite(r.final_accuracy) else "—",
                "variance ratio": f"{min(r.var_ratio[-1]):.2f}" if len(r.var_ratio) else "—",
                "gradient evals (full-data equivalents)": f"{r.n_grad_evals:,}",
                "density evals": f"{r.n_density_evals:,}",
                "measured": source.get(r.n, "live"),
            }
        )
    return pd.DataFrame(rows)


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


def render() -> None:
    st.markdown("### Scaling: on large data, VI is faster than MCMC — measured")
    st.caption(
        "Bayesian logistic regression with two parameters (intercept α, slope β) and N data points. Every "
        "full-data method pays for all N rows at every step, so its time grows with N; minibatch VI looks at a "
        f"batch of B = {BATCH:,} rows per step (the gradient rescaled by N/B), so its cost per step does not. "
        "Each method runs "
        f"under a time budget and is timed until its posterior mean is within {compute.SCALE_ACCURACY:g} posterior "
        "sd of the exact reference on both coordinates."
    )
    query = {k: st.query_params[k] for k in st.query_params}
    for note in query_notices(query):  # they quote the link: shown as plain text
        st.warning(plain(note), icon=":material/warning:")
    name, centred, n_max, run = read_query(query)
    name, centred, n_max, clicked = _controls(name, centred, n_max)
    st.query_params.from_dict(
        {"data": name, "centred": "1" if centred else "0", "n": str(n_max), **({"run": "1"} if run or clicked else {})}
    )
    labels = {m: meth.label for m, meth in compute.SCALE_METHODS.items()}
    if not (run or clicked):
        st.info("Press **Run the live sweep** to measure every method at the sizes above.", icon=":material/info:")
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
    pre = compute.precomputed_scaling(centred) if name == "synthetic" else None
    if pre is not None:
        extra = [r for r in pre["records"] if r.n > max(ns) and pre["settings"].get("centred", True) == centred]
        records += extra
        source.update({r.n: "recorded" for r in extra})
        if extra:
            st.caption(
                f"N = {', '.join(f'{n:,}' for n in sorted({r.n for r in extra}))}: recorded by "
                f"`python -m benchmarks.scaling --write` on {pre.get('machine', 'an unknown machine')}, "
                f"{pre.get('date', 'date unknown')} (budget {pre['settings'].get('budget_s', '?')} s per run); "
                "smaller N were measured live, on this server, just now."
            )
    slopes = {m: compute.scale_slope(records, m) for m in labels}

    st.markdown("#### Time to reach the accuracy, against N")
    st.plotly_chart(ready(headline_figure(records, labels, slopes)), key="sc_headline", config={"displaylogo": False})
    st.caption(
        "Log–log axes, so a slope is an exponent: ≈ 1 means time grows in proportion to N (every full-data "
        "method), ≈ 0 means it does not grow (minibatch VI). Open markers: not reached within the budget "
        "(drawn at the budget, a lower bound)."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("#### Accuracy against time, at one N")
        sizes = sorted({r.n for r in records})
        pick = st.select_slider("N", options=sizes, value=sizes[-1], format_func=lambda n: f"{n:,}", key="sc_pick")
        st.plotly_chart(
            ready(accuracy_time_figure([r for r in records if r.n == pick], labels, compute.SCALE_ACCURACY)),
            key="sc_acc",
            config={"displaylogo": False},
        )
    with right:
        st.markdown("#### The bias that does not go away")
        st.plotly_chart(ready(bias_figure(records, labels)), key="sc_bias", config={"displaylogo": False})
        st.caption(
            "VI's speed is bought with bias: a mean-field q cannot hold the correlation between α and β, so its "
            "variances stay too small however large N grows (for correlation ρ its KL tends to −½ ln(1 − ρ²)). "
            "Uncentred, ρ is strong; centre the covariate and the bias nearly vanishes. Runs that did not reach the "
            "accuracy within their budget are left out: they had not converged."
        )
    st.markdown("#### Every run")
    st.table(summary_table(records, labels, source))
    st.caption(
        "Gradient evaluations in full-data equivalents: a minibatch gradient over B rows counts as B/N of one. "
        "In two dimensions a grid is cheaper than both — that is how the exact reference is computed — but a grid "
        "does not scale with the number of parameters, and VI and MCMC do."
    )
