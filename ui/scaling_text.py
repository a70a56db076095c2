"""The Scaling page's words and numbers, from the records on screen: the slopes, the speed ratios, the variance bias,
where a recorded sweep comes from, and the table of every run. Pure functions (no Streamlit): ui.scaling shows them.

Every sentence here that states a number or a trend is built from the records it is given; the thresholds behind the
words are stated in the text itself.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ui.compute import ScaleRecord

__all__ = [
    "BIAS_TOL",
    "LARGE_N",
    "SLOPE_TOL",
    "bias_sentences",
    "captions",
    "fit_slope",
    "method_slope",
    "ns_list",
    "recorded_caption",
    "slope_sentences",
    "slope_word",
    "speed_sentence",
    "speed_sentences",
    "summary_table",
    "variance_ratios",
]

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


def method_slope(records: list[ScaleRecord], method: str, n_min: int = 0) -> float | None:
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


def ns_list(ns) -> str:
    """'100, 1,000, 10,000': sizes in order, each once."""
    return ", ".join(f"{n:,}" for n in sorted(set(ns)))


def _some(ns, every) -> str:
    """Sizes ns among every: a span when they are a consecutive run of more than two of them, else a list."""
    ns, every = sorted(set(ns)), sorted(set(every))
    i = every.index(ns[0])
    return _ns(ns) if len(ns) > 2 and every[i : i + len(ns)] == ns else ns_list(ns)


def slope_sentences(records: list[ScaleRecord], labels: dict[str, str]) -> list[str]:
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
            text += f". Not reached within {budget:g} s at N = {ns_list(miss)}: left out of the fit (it needs longer)"
        out.append(text + ".")
    return out


def _times(records: list[ScaleRecord], n: int, method: str) -> list[float]:
    """Every run's time to accuracy for one method at one N, a miss as inf."""
    return [math.inf if r.time_to_accuracy_s is None else float(r.time_to_accuracy_s)
            for r in records if r.n == n and r.method == method]  # fmt: skip


def _seconds(t: float) -> str:
    return f"{t:.3g} s" if math.isfinite(t) else "not reached"


def speed_sentence(records: list[ScaleRecord], labels: dict[str, str], n: int, source: str | None = None) -> str | None:
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
    records: list[ScaleRecord], labels: dict[str, str], source: dict[int, str] | None = None
) -> list[str]:
    """The speed sentence at the largest N, then at the smallest; source: where each N was measured."""
    ns = sorted({r.n for r in records})
    source = source or {}
    out = [speed_sentence(records, labels, n, source.get(n)) for n in (ns[-1:] + ns[:1] if len(ns) > 1 else ns)]
    return [s for s in out if s]


def variance_ratios(records: list[ScaleRecord], method: str) -> list[tuple[int, float]]:
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
    records: list[ScaleRecord],
    labels: dict[str, str],
    centred: bool,
    other: list[ScaleRecord] | None = None,
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
                f"{label}, {setting} covariate: {vals} at N = {ns_list(n for n, _ in pairs)}; {_where(pairs)}. The "
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
    records: list[ScaleRecord],
    labels: dict[str, str],
    centred: bool,
    other: list[ScaleRecord] | None = None,
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
        f"N = {ns_list(ns)}: recorded by `python -m benchmarks.scaling --write` on {machine}, {date} "
        f"({settings.get('name', 'synthetic')} data, {'centred' if settings.get('centred', True) else 'uncentred'} "
        f"covariate, budget {f'{budget:g}' if isinstance(budget, (int, float)) else '?'} s per run, one run per "
        "method and N" + (f", seed {seed}" if seed is not None else "") + ")."
    )


def summary_table(records: list[ScaleRecord], labels: dict[str, str], source: dict[int, str]) -> pd.DataFrame:
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
