"""The Scaling page: "on large data VI is faster than MCMC", measured from N = 100 to N = 1,000,000.

Bayesian logistic regression (intercept, slope) on synthetic data of any size or on the arsenic-wells data;
minibatch Gaussian VI, full-batch Gaussian VI, emcee and NUTS each run under a time budget and are scored against
an exact reference at every N (vi_core.scaling, through ui.compute). Small N run live here, with a progress bar;
N = 10^5 and 10^6 come from a sweep recorded by ``python -m benchmarks.scaling --write`` (machine and date shown),
so no visit starts a million-row sweep. Settings live in the URL: ?data=synthetic&centred=1&n=10000&run=1.
"""

from __future__ import annotations

import streamlit as st

from ui import compute
from ui.figures import ready
from ui.figures.scaling import accuracy_time_figure, bias_figure, headline_figure
from ui.scaling_text import captions, method_slope, ns_list, recorded_caption, summary_table
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


def _results(
    records: list[compute.ScaleRecord],
    labels: dict[str, str],
    source: dict[int, str],
    centred: bool,
    other: list[compute.ScaleRecord] | None,
) -> None:
    """The three charts, their generated captions and the table of every run."""
    slopes = {m: method_slope(records, m) for m in labels}
    words = captions(records, labels, centred, other, source)
    st.markdown("#### Time to reach the accuracy, against N")
    st.plotly_chart(ready(headline_figure(records, labels, slopes)), key="sc_headline", config={"displaylogo": False})
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
            ready(accuracy_time_figure([r for r in records if r.n == pick], labels, compute.SCALE_ACCURACY)),
            key="sc_acc",
            config={"displaylogo": False},
        )
    with right:
        st.markdown("#### VI's variance against the exact posterior's")
        st.plotly_chart(ready(bias_figure(records, labels)), key="sc_bias", config={"displaylogo": False})
        for line in words["bias"]:
            st.caption(line)
    st.markdown("#### Every run")
    st.table(summary_table(records, labels, source))
    st.caption(
        "Gradient evaluations in full-data equivalents: a minibatch gradient over B rows counts as B/N of one. "
        "The exact reference is computed on a grid, which works in two dimensions but not with many parameters; "
        "VI and MCMC need no grid."
    )


def render() -> None:
    st.markdown("### Scaling: is VI faster than MCMC on large data? Measured")
    st.caption(
        "Bayesian logistic regression with two parameters (intercept α, slope β) and N data points. A full-data "
        "method touches all N rows at every step, so its cost per step grows in proportion to N; minibatch VI looks "
        f"at a batch of B = {BATCH:,} rows per step (the gradient rescaled by N/B), so its cost per step does not "
        "depend on N. How many steps each needs is what the charts measure: each method runs "
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
