"""The Scaling page: "on large data VI is faster than MCMC", measured from N = 100 to N = 1,000,000.

Bayesian logistic regression (intercept, slope) on synthetic data of any size or on the arsenic-wells data;
minibatch Gaussian VI, full-batch Gaussian VI, emcee and NUTS each run under a time budget and are scored against
an exact reference at every N (vi_core.scaling, through ui.compute). Small N run live here, with a progress bar;
N = 10^5 and 10^6 come from a sweep recorded by ``python -m benchmarks.scaling --write`` (machine and date shown),
so no visit starts a million-row sweep. Settings live in the URL: ?data=synthetic&centred=1&n=10000&run=1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from ui import compute
from ui.figures import ready
from ui.figures.scaling import accuracy_time_figure, bias_figure, headline_figure
from ui.text import plain

__all__ = [
    "BATCH",
    "BIAS_TOL",
    "DATASETS",
    "LARGE_N",
    "LIVE_BUDGET_S",
    "LIVE_NS",
    "SLOPE_TOL",
    "bias_sentences",
    "captions",
    "fit_slope",
    "live_ns",
    "method_slope",
    "query_notices",
    "read_query",
    "recorded_caption",
    "render",
    "slope_sentences",
    "slope_word",
    "speed_sentence",
    "speed_sentences",
    "summary_table",
    "variance_ratios",
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


# ----------------------------------------------------------------------------- the page's words, from its numbers
# Every sentence below that states a number or a trend is built here from the records on screen; the thresholds
# behind the words are stated in the text itself.

SLOPE_TOL = 0.2  # a slope within 0.2 of 0 is "flat", within 0.2 of 1 "about linear"
LARGE_N = 10_000  # the slope "on large data" is also fitted over N >= LARGE_N alone
BIAS_TOL = 0.1  # a variance ratio within 0.1 of 1 shows no visible bias
_EPS = 1e-9  # a printed value on a threshold counts as inside it


def fit_slope(ns, seconds) -> float | None:
    """Least-squares slope of log10(seconds) against log10(N) over the pairs with a positive, finite time
    (None, a miss, is left out); None with fewer than two distinct N."""
    pts = [
        (float(n), float(t)) for n, t in zip(ns, seconds, strict=True) if t is not None and math.isfinite(t) and t > 0
    ]
    if len({n for n, _ in pts}) < 2:
        return None
    x = np.log10([n for n, _ in pts])
    y = np.log10([t for _, t in pts])
    dx = x - x.mean()
    return float(dx @ (y - y.mean()) / (dx @ dx))


def method_slope(records: list[compute.ScaleRecord], method: str, n_min: int = 0) -> float | None:
    """The slope of one method's time to accuracy against N, over the sizes >= n_min where it reached the accuracy
    (the same fit as vi_core.scaling.slope when n_min = 0)."""
    rs = [r for r in records if r.method == method and r.n >= n_min and r.time_to_accuracy_s is not None]
    return fit_slope([r.n for r in rs], [r.time_to_accuracy_s for r in rs])


def slope_word(s: float) -> str:
    """The trend a slope on log-log axes states, judged on its printed value (two decimals) against SLOPE_TOL:
    flat (within SLOPE_TOL of 0), about linear (within SLOPE_TOL of 1), slower or faster than linear, or falling."""
    s = round(s, 2)
    if abs(s) <= SLOPE_TOL + _EPS:
        return "flat"
    if abs(s - 1) <= SLOPE_TOL + _EPS:
        return "about linear"
    if s < 0:
        return "falling"
    return "slower than linear" if s < 1 else "faster than linear"


def _short(label: str) -> str:
    """A method's label for a sentence: without its closing parenthesis ("emcee (stretch move)" -> "emcee")."""
    return label.split(" (")[0]


def _ns(ns) -> str:
    """'100' or '100–1,000,000' (a span of sizes)."""
    ns = sorted(set(ns))
    return f"{ns[0]:,}" if len(ns) == 1 else f"{ns[0]:,}–{ns[-1]:,}"


def _list(ns) -> str:
    return ", ".join(f"{n:,}" for n in sorted(set(ns)))


def _some(ns, every) -> str:
    """Sizes ns among every: a span when they are a consecutive run of more than two of them, else a list."""
    ns, every = sorted(set(ns)), sorted(set(every))
    i = every.index(ns[0])
    return _ns(ns) if len(ns) > 2 and every[i : i + len(ns)] == ns else _list(ns)


def slope_sentences(records: list[compute.ScaleRecord], labels: dict[str, str]) -> list[str]:
    """What the headline chart's slopes say, method by method, with the thresholds behind the words."""
    t = f"{SLOPE_TOL:g}"
    out = [
        "Log–log axes: a slope is the exponent in time ∝ N^slope, fitted by least squares on log10 N and log10 "
        f"seconds over the sizes where the method reached the accuracy. Within {t} of 0 a slope is called flat, "
        f"within {t} of 1 about linear, between {t} and {1 - SLOPE_TOL:g} slower than linear, above {1 + SLOPE_TOL:g} "
        f"faster than linear, below {-SLOPE_TOL:g} falling. The slope on large data is fitted again over "
        f"N ≥ {LARGE_N:,} alone. Open markers: not reached within the budget (drawn at the budget, a lower bound)."
    ]
    for method, label in labels.items():
        rs = [r for r in records if r.method == method]
        if not rs:
            continue
        hit = sorted({r.n for r in rs if r.time_to_accuracy_s is not None})
        miss = sorted({r.n for r in rs if r.time_to_accuracy_s is None} - set(hit))
        s = method_slope(records, method)
        if s is None:
            text = f"{label}: reached the accuracy at fewer than two sizes, so no slope"
        else:
            text = f"{label}: slope {s:.2f} over N = {_ns(hit)} ({len(hit)} sizes), {slope_word(s)}"
            big = [n for n in hit if n >= LARGE_N]
            s_big = method_slope(records, method, LARGE_N)
            if s_big is not None and len(big) < len(hit):
                text += f"; over N = {_ns(big)} alone ({len(big)} sizes) {s_big:.2f}, {slope_word(s_big)}"
        if miss:
            budget = max(r.budget_s for r in rs if r.n in miss)
            text += f". Not reached within {budget:g} s at N = {_list(miss)}: left out of the fit (it needs longer)"
        out.append(text + ".")
    return out


def _times(records: list[compute.ScaleRecord], n: int, method: str) -> list[float]:
    """Every run's time to accuracy for one method at one N, a miss as inf."""
    return [math.inf if r.time_to_accuracy_s is None else float(r.time_to_accuracy_s)
            for r in records if r.n == n and r.method == method]  # fmt: skip


def _seconds(t: float) -> str:
    return f"{t:.3g} s" if math.isfinite(t) else "not reached"


def speed_sentence(
    records: list[compute.ScaleRecord], labels: dict[str, str], n: int, source: str | None = None
) -> str | None:
    """At one N: each method's time to accuracy (the median and range over its runs when there are several) and how
    many times sooner the fastest VI method got there than the fastest MCMC method (or the other way round); when
    every method of one kind missed, a lower bound: the budget over the other's time. source: "live" or "recorded"."""
    kinds = {r.method: r.kind for r in records}
    runs = {m: ts for m in labels if (ts := _times(records, n, m))}
    if not runs:
        return None
    k = max(len(ts) for ts in runs.values())
    budget = {m: max(r.budget_s for r in records if r.n == n and r.method == m) for m in runs}
    med = {m: float(np.median(ts)) for m, ts in runs.items()}
    how = (
        "one run per method, on one machine with one seed: a single measurement, not an average"
        if k == 1
        else f"the median of up to {k} runs per method, their range in brackets"
    )
    hit = [
        f"{_short(labels[m])} {_seconds(med[m])}"
        + (f" ({_seconds(min(ts))} to {_seconds(max(ts))})" if len(ts) > 1 else "")
        for m, ts in runs.items()
        if math.isfinite(med[m])
    ]
    miss = [m for m in runs if math.isinf(med[m])]
    where = {"live": "measured live on this server; ", "recorded": "recorded sweep; "}.get(source or "", "")
    text = f"At N = {n:,} ({where}{how}): " + "; ".join(hit)
    if miss:
        text += ("; " if hit else "") + (
            f"not reached within {max(budget[m] for m in miss):g} s: " + "; ".join(_short(labels[m]) for m in miss)
        )
    text += "."
    best = {}
    for kind in ("vi", "mcmc"):
        ms = [m for m in runs if kinds.get(m) == kind]
        if ms:
            best[kind] = min(ms, key=lambda m: med[m])
    if len(best) < 2:
        return text
    vi, mc = best["vi"], best["mcmc"]
    t_vi, t_mc = med[vi], med[mc]
    name_vi, name_mc = _short(labels[vi]), _short(labels[mc])
    if math.isinf(t_vi) and math.isinf(t_mc):
        return text + " No method reached the accuracy within its budget."
    if math.isinf(t_mc):
        lo = min(budget[m] for m in runs if kinds.get(m) == "mcmc") / t_vi
        return text + (
            f" No MCMC method reached it within its budget, so the fastest VI method, {name_vi}, was more than "
            f"{math.floor(lo * 10) / 10:.1f}× faster (the budget over its time)."
        )
    if math.isinf(t_vi):
        lo = min(budget[m] for m in runs if kinds.get(m) == "vi") / t_mc
        return text + (
            f" No VI method reached it within its budget, so the fastest MCMC method, {name_mc}, was more than "
            f"{math.floor(lo * 10) / 10:.1f}× faster (the budget over its time)."
        )
    ratio = t_mc / t_vi
    if round(max(ratio, 1 / ratio), 1) <= 1.0:
        return text + (
            f" The fastest VI method, {name_vi}, and the fastest MCMC method, {name_mc}, took about as long "
            f"(ratio {ratio:.1f})."
        )
    if ratio > 1:
        return text + (
            f" The fastest VI method, {name_vi}, got there {ratio:.1f}× sooner than the fastest MCMC method, {name_mc}."
        )
    return text + (
        f" The fastest MCMC method, {name_mc}, got there {1 / ratio:.1f}× sooner than the fastest VI method, {name_vi}."
    )


def speed_sentences(
    records: list[compute.ScaleRecord], labels: dict[str, str], source: dict[int, str] | None = None
) -> list[str]:
    """The speed sentence at the largest N, then at the smallest; source: where each N was measured."""
    ns = sorted({r.n for r in records})
    source = source or {}
    out = [speed_sentence(records, labels, n, source.get(n)) for n in (ns[-1:] + ns[:1] if len(ns) > 1 else ns)]
    return [s for s in out if s]


def variance_ratios(records: list[compute.ScaleRecord], method: str) -> list[tuple[int, float]]:
    """(N, final variance ratio of the smaller coordinate) for one VI method's runs that reached the accuracy, as
    the bias chart draws them; the median over runs at the same N."""
    by_n: dict[int, list[float]] = {}
    for r in records:
        if r.method == method and r.kind == "vi" and r.time_to_accuracy_s is not None and len(r.var_ratio):
            by_n.setdefault(r.n, []).append(float(np.min(np.asarray(r.var_ratio)[-1])))
    return [(n, float(np.median(v))) for n, v in sorted(by_n.items())]


def _off(v: float) -> bool:
    """A ratio (as printed, two decimals) further than BIAS_TOL from 1."""
    return abs(round(v, 2) - 1) > BIAS_TOL + _EPS


def _band() -> str:
    return f"{1 - BIAS_TOL:g}–{1 + BIAS_TOL:g}"


def _where(pairs: list[tuple[int, float]]) -> str:
    """Where the ratios are outside the band of no visible bias and where inside."""
    every = [n for n, _ in pairs]
    off = [n for n, v in pairs if _off(v)]
    ok = [n for n, v in pairs if not _off(v)]
    if not off:
        return f"inside {_band()} at every N"
    if not ok:
        return f"outside {_band()} at every N"
    return f"outside {_band()} at N = {_some(off, every)}, inside at N = {_some(ok, every)}"


def _rho(v: float) -> float:
    """|ρ| of a Gaussian posterior whose mean-field q has variance ratio v = 1 − ρ² (v as printed, two decimals)."""
    return math.sqrt(max(0.0, 1.0 - round(v, 2)))


def bias_sentences(
    records: list[compute.ScaleRecord],
    labels: dict[str, str],
    centred: bool,
    other: list[compute.ScaleRecord] | None = None,
) -> list[str]:
    """Where VI's variance is off and where it is not, from the final variance ratios; ``other``: the recorded sweep
    with the other covariate setting, quoted for the mean-field method so the page shows the bias that stays."""
    out = [
        "Each VI method's final variance ratio (q's variance over the exact posterior's, the smaller of the two "
        f"coordinates) at every N where it reached the accuracy; inside {_band()} it shows no visible bias. Runs "
        "that did not reach the accuracy within their budget are left out: they had not converged. A mean-field q "
        "fitted to a Gaussian posterior of correlation ρ has the ratio 1 − ρ² on both coordinates, at any N."
    ]
    mean_field = [m for m in labels if m.endswith("-mf")]
    setting = "centred" if centred else "uncentred"
    for method, label in labels.items():
        pairs = variance_ratios(records, method)
        if not pairs:
            continue
        if method in mean_field:
            vals = ", ".join(f"{v:.2f}" for _, v in pairs)
            med = float(np.median([v for _, v in pairs]))
            n_top, v_top = pairs[-1]
            verdict = (
                f"outside {_band()}: more data did not remove the bias"
                if _off(v_top)
                else f"inside {_band()}: no visible bias"
            )
            out.append(
                f"{label}, {setting} covariate: {vals} at N = {_list(n for n, _ in pairs)}; {_where(pairs)}. The "
                f"median, {med:.2f}, means |ρ| ≈ {_rho(med):.2f}. At N = {n_top:,} it is {v_top:.2f}, {verdict}."
            )
        else:
            lo, hi = min(v for _, v in pairs), max(v for _, v in pairs)
            out.append(f"{label}: {lo:.2f} to {hi:.2f} over N = {_ns(n for n, _ in pairs)}, {_where(pairs)}.")
    for method in mean_field:
        here, there = variance_ratios(records, method), variance_ratios(other or [], method)
        if not (here and there):
            continue
        med = float(np.median([v for _, v in there]))
        lo, hi = min(v for _, v in there), max(v for _, v in there)
        n_top, v_top = there[-1]
        text = (
            f"In the recorded {'uncentred' if centred else 'centred'} sweep the same method has {lo:.2f} to "
            f"{hi:.2f} over N = {_ns(n for n, _ in there)}, {_where(there)} (median {med:.2f}, so |ρ| ≈ "
            f"{_rho(med):.2f}; {v_top:.2f} at N = {n_top:,})."
        )
        off_here, off_there = _off(here[-1][1]), _off(v_top)
        uncentred_off, centred_off = (off_there, off_here) if centred else (off_here, off_there)
        uncentred = there if centred else here
        if uncentred_off and not centred_off:
            stays = all(_off(v) for _, v in uncentred)
            text += (
                f" The bias {'that stays as N grows' if stays else 'at the largest N'} is the uncentred covariate's: "
                f"centring brings the ratio inside {_band()} at the largest N."
            )
        elif uncentred_off and centred_off:
            text += " At the largest N both covariate settings leave it outside " + _band() + "."
        elif not uncentred_off and not centred_off:
            text += " At the largest N neither covariate setting leaves it outside " + _band() + "."
        else:
            text += " At the largest N only the centred covariate leaves it outside " + _band() + "."
        out.append(text)
    return out


def captions(
    records: list[compute.ScaleRecord],
    labels: dict[str, str],
    centred: bool,
    other: list[compute.ScaleRecord] | None = None,
    source: dict[int, str] | None = None,
) -> dict[str, list[str]]:
    """Every generated sentence of the page's results, by section: "slopes" (under the headline chart), "speed"
    (the ratios at the largest and the smallest N), "bias" (under the variance chart). other: the recorded sweep
    with the other covariate setting; source: "live" or "recorded" for each N."""
    return {
        "slopes": slope_sentences(records, labels),
        "speed": speed_sentences(records, labels, source),
        "bias": bias_sentences(records, labels, centred, other),
    }


def recorded_caption(pre: dict, ns: list[int] | None = None) -> str:
    """Where a recorded sweep comes from (its JSON's machine, date and settings); ns: the sizes taken from it."""
    settings = pre.get("settings", {})
    ns = sorted({r.n for r in pre["records"]}) if ns is None else sorted(ns)
    seed, budget = settings.get("seed"), settings.get("budget_s")
    machine, date = pre.get("machine", "an unknown machine"), pre.get("date", "date unknown")
    return (
        f"N = {_list(ns)}: recorded by `python -m benchmarks.scaling --write` on {machine}, {date} "
        f"({settings.get('name', 'synthetic')} data, {'centred' if settings.get('centred', True) else 'uncentred'} "
        f"covariate, budget {f'{budget:g}' if isinstance(budget, (int, float)) else '?'} s per run, one run per "
        "method and N" + (f", seed {seed}" if seed is not None else "") + ")."
    )


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
        sizes = _list(live_ns(name, n_max))
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
                + f" N = {_list(ns)} were measured live, on this server, just now: the slopes below are fitted "
                "across both, so they mix two machines."
            )
    _results(records, labels, source, centred, other["records"] if name == "synthetic" and other else None)
