"""The Scaling page's words and numbers, from the records on screen: the slopes (in seconds and in rows touched), the
speed and rows ratios, the variance bias of VI and SGLD, the control variate's measured gradient-variance reduction,
where a recorded sweep comes from. Pure functions (no Streamlit): ui.scaling shows them.

Every sentence here that states a number or a trend is built from the records it is given; the thresholds behind the
words are stated in the text itself.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ui.figures.scaling import cost_to_accuracy, variance_off, worst_ratio

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
    "reduction_sentence",
    "slope_sentences",
    "slope_word",
    "speed_sentence",
    "speed_sentences",
    "variance_ratios",
    "versus_sentence",
]

SLOPE_TOL = 0.2  # a slope within 0.2 of 0 is "flat", within 0.2 of 1 "about linear"
LARGE_N = 10_000  # the slope "on large data" is also fitted over N >= LARGE_N alone
BIAS_TOL = 0.1  # a variance ratio within 0.1 of 1 shows no visible bias
_EPS = 1e-9  # a printed value on a threshold counts as inside it


def fit_slope(ns, costs) -> float | None:
    """Least-squares slope of log10(cost) against log10(N) over the pairs with a positive, finite cost (None, a miss,
    is left out); None with fewer than two distinct N."""
    pts = [(float(n), float(t)) for n, t in zip(ns, costs, strict=True) if t is not None and math.isfinite(t) and t > 0]
    if len({n for n, _ in pts}) < 2:
        return None
    x = np.log10([n for n, _ in pts])
    y = np.log10([t for _, t in pts])
    dx = x - x.mean()
    return float(dx @ (y - y.mean()) / (dx @ dx))


def method_slope(records: list[ScaleRecord], method: str, n_min: int = 0, cost: str = "seconds") -> float | None:
    """The slope of one method's cost to accuracy ("seconds" or "rows" touched) against N, over the sizes >= n_min
    where it reached the accuracy (the same fit as vi_core.scaling.slope when n_min = 0)."""
    rs = [r for r in records if r.method == method and r.n >= n_min and cost_to_accuracy(r, cost) is not None]
    return fit_slope([r.n for r in rs], [cost_to_accuracy(r, cost) for r in rs])


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


_UNIT = {"seconds": "time", "rows": "rows touched"}


def slope_sentences(records: list[ScaleRecord], labels: dict[str, str], cost: str = "seconds") -> list[str]:
    """What the headline chart's slopes say, method by method, in its currency (cost: "seconds" or "rows"), with the
    thresholds behind the words; the other currency's slope follows in brackets."""
    t, other = f"{SLOPE_TOL:g}", "rows" if cost == "seconds" else "seconds"
    out = [
        f"Log–log axes: a slope is the exponent in {_UNIT[cost]} ∝ N^slope, fitted by least squares on log10 N and "
        f"log10 {'seconds' if cost == 'seconds' else 'rows'} over the sizes where the method reached the accuracy. "
        f"Within {t} of 0 a slope is called flat, within {t} of 1 about linear, between {t} and {1 - SLOPE_TOL:g} "
        f"slower than linear, above {1 + SLOPE_TOL:g} faster than linear, below {-SLOPE_TOL:g} falling. The slope on "
        f"large data is fitted again over N ≥ {LARGE_N:,} alone; the slope in {_UNIT[other]} is in brackets. Open "
        "markers: not reached within the budget (drawn at the budget, or at the rows touched in it: a lower bound)."
    ]
    for method, label in labels.items():
        rs = [r for r in records if r.method == method]
        if not rs:
            continue
        hit = sorted({r.n for r in rs if r.time_to_accuracy_s is not None})
        settled = sorted({r.n for r in rs if r.time_to_accuracy_s is None and r.stopped == "settled"} - set(hit))
        miss = sorted({r.n for r in rs if r.time_to_accuracy_s is None} - set(hit) - set(settled))
        s = method_slope(records, method, cost=cost)
        if s is None:
            text = f"{label}: reached the accuracy at fewer than two sizes, so no slope"
        else:
            text = f"{label}: slope {s:.2f} over N = {_ns(hit)} ({len(hit)} sizes), {slope_word(s)}"
            big = [n for n in hit if n >= LARGE_N]
            s_big = method_slope(records, method, LARGE_N, cost)
            if s_big is not None and len(big) < len(hit):
                text += f"; over N = {_ns(big)} alone ({len(big)} sizes) {s_big:.2f}, {slope_word(s_big)}"
            s_other = method_slope(records, method, cost=other)
            text += f" (in {_UNIT[other]}: {s_other:.2f})" if s_other is not None else ""
        if settled:
            text += (f". Settled short of the accuracy at N = {ns_list(settled)}: its estimate stopped moving towards "
                     "the truth (a bias, not a lack of time)")  # fmt: skip
        if miss:
            budget = max(r.budget_s for r in rs if r.n in miss)
            text += f". Not reached within {budget:g} s at N = {ns_list(miss)}: left out of the fit (it needs longer)"
        out.append(text + ".")
    return out


def _times(records: list[ScaleRecord], n: int, method: str) -> list[float]:
    """Every run's time to accuracy for one method at one N, a miss as inf."""
    return [math.inf if r.time_to_accuracy_s is None else float(r.time_to_accuracy_s)
            for r in records if r.n == n and r.method == method]  # fmt: skip


def _all_settled(records: list[ScaleRecord], n: int, method: str) -> bool:
    """Whether every run of the method at N that missed the accuracy settled short of it (rather than ran out)."""
    return all(r.stopped == "settled" for r in records if r.n == n and r.method == method and r.time_to_accuracy_s
               is None)  # fmt: skip


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
    settled = [m for m in runs if math.isinf(med[m]) and _all_settled(records, n, m)]
    miss = [m for m in runs if math.isinf(med[m]) and m not in settled]
    where = {"live": "measured live on this server; ", "recorded": "recorded sweep; "}.get(source or "", "")
    text = f"At N = {n:,} ({where}{how}): " + "; ".join(hit)
    if miss:
        text += ("; " if hit else "") + (
            f"not reached within {max(budget[m] for m in miss):g} s: " + "; ".join(_short(labels[m]) for m in miss)
        )
    if settled:
        text += (
            ("; " if hit or miss else "")
            + "settled short of the accuracy: "
            + "; ".join(_short(labels[m]) for m in settled)
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
    for kind, t_other, name_other, other_kind in (("mcmc", t_vi, name_vi, "VI"), ("vi", t_mc, name_mc, "MCMC")):
        if not math.isinf(med[best[kind]]):
            continue
        word = "MCMC" if kind == "mcmc" else "VI"
        budgets = [budget[m] for m in miss if kinds.get(m) == kind]
        if not budgets:  # every one of them settled short: no bound from a budget
            return text + f" No {word} method reached it: each settled short of it (a bias more time does not remove)."
        lo = min(budgets) / t_other
        return text + (
            f" No {word} method reached it within its budget, so the fastest {other_kind} method, {name_other}, was "
            f"more than {math.floor(lo * 10) / 10:.1f}× faster (the budget over its time)."
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


def _rows(v: float) -> str:
    """A count of rows in words: '3.4 million', '1.2 billion', '52,000'."""
    for unit, name in ((1e9, "billion"), (1e6, "million")):
        if v >= unit:
            return f"{v / unit:.3g} {name}"
    return f"{v:,.0f}"


def versus_sentence(records: list[ScaleRecord], labels: dict[str, str], n: int) -> str | None:
    """At one N: the best minibatch VI method (soonest to the accuracy) against the best full-data MCMC method
    (fewest rows to it): seconds, rows touched, and both ratios; a lower bound when the MCMC method did not get
    there within its budget. None without both kinds at N."""
    at = [r for r in records if r.n == n]
    vi = [r for r in at if r.kind == "vi" and r.minibatch and r.time_to_accuracy_s is not None]
    mc = [r for r in at if r.kind == "mcmc" and not r.minibatch]
    if not vi or not mc:
        return None
    v = min(vi, key=lambda r: r.time_to_accuracy_s)
    hit = [r for r in mc if r.time_to_accuracy_s is not None and r.rows_to_accuracy]
    head = (f"At N = {n:,}, the best minibatch VI, {_short(labels.get(v.method, v.method))}, reached the fair accuracy "
            f"in {v.time_to_accuracy_s:.3g} s having touched {_rows(v.rows_to_accuracy or 0)} rows")  # fmt: skip
    if hit:
        m = min(hit, key=lambda r: r.rows_to_accuracy)
        return head + (
            f"; the best full-data MCMC, {_short(labels.get(m.method, m.method))}, in {m.time_to_accuracy_s:.3g} s "
            f"and {_rows(m.rows_to_accuracy)} rows: {m.time_to_accuracy_s / v.time_to_accuracy_s:.1f}× the time and "
            f"{m.rows_to_accuracy / max(v.rows_to_accuracy or 1, 1):.0f}× the rows."
        )
    m = min(mc, key=lambda r: r.rows_touched)
    return head + (
        f"; no full-data MCMC method got there within its budget ({_short(labels.get(m.method, m.method))} touched "
        f"{_rows(m.rows_touched)} rows in {m.budget_s:g} s: more than {m.budget_s / v.time_to_accuracy_s:.0f}× "
        f"the time and {m.rows_touched / max(v.rows_to_accuracy or 1, 1):.0f}× the rows)."
    )


def speed_sentences(
    records: list[ScaleRecord], labels: dict[str, str], source: dict[int, str] | None = None
) -> list[str]:
    """The speed sentence at the largest N, then at the smallest; source: where each N was measured."""
    ns = sorted({r.n for r in records})
    source = source or {}
    out = [speed_sentence(records, labels, n, source.get(n)) for n in (ns[-1:] + ns[:1] if len(ns) > 1 else ns)]
    return [s for s in out if s]


def reduction_sentence(records: list[ScaleRecord], labels: dict[str, str]) -> str | None:
    """The control variate's measured gradient-variance reduction at every N where it was measured (the median over
    the methods and runs that measured it at that N)."""
    by_n: dict[int, list[float]] = {}
    for r in records:
        if r.grad_var_reduction is not None and math.isfinite(r.grad_var_reduction) and r.n >= 10_000:
            by_n.setdefault(r.n, []).append(float(r.grad_var_reduction))
    if not by_n:
        return None
    vals = "; ".join(f"{float(f'{np.median(v):.3g}'):,.0f}× at N = {n:,}" for n, v in sorted(by_n.items()))
    return (
        "The control variate's gradient, measured against the plain minibatch gradient on the same blocks at points "
        "drawn around the mode (each coordinate in its posterior sd): its variance is smaller by " + vals + ". The "
        "plain estimate's variance grows as N²/B, the control variate's as N/B (near the mode), so the gain grows "
        "about as N."
    )


def variance_ratios(records: list[ScaleRecord], method: str) -> list[tuple[int, float]]:
    """(N, final variance ratio of the coordinate furthest from 1) for one method's runs that ended accurate or
    settled (VI and SGLD: ui.figures.scaling.variance_off), as the bias chart draws them; the median over runs at
    the same N."""
    by_n: dict[int, list[float]] = {}
    for r in records:
        if r.method == method and variance_off(r):
            by_n.setdefault(r.n, []).append(worst_ratio(r))
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
    """Where VI's and SGLD's variance is off and where it is not, from the final variance ratios; ``other``: the
    recorded sweep with the other covariate setting, quoted for the mean-field method so the page shows the bias that
    stays."""
    out = [
        "Each VI method's final variance ratio (q's variance over the exact posterior's) and each SGLD's (its draws'), "
        f"the coordinate furthest from 1, at every N where the run ended accurate or settled; inside {_band()} it "
        "shows no visible bias. Runs stopped by their budget are left out: they had not converged. A mean-field q "
        "fitted to a Gaussian posterior of correlation ρ has the ratio 1 − ρ² on both coordinates, at any N. SGLD "
        "at a fixed step size has no accept/reject: it does not converge to the posterior, however long it runs (on "
        "a Gaussian posterior, even with exact gradients, its variance is 1/(1 − h/4) too large; the minibatch's "
        "noise adds more, growing with N unless a control variate removes it)."
    ]
    sgld = {r.method for r in records if r.kind == "mcmc" and r.minibatch}
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
            text = f"{label}: {lo:.2f} to {hi:.2f} over N = {_ns(n for n, _ in pairs)}, {_where(pairs)}"
            if method in sgld:
                n_top, v_top = pairs[-1]
                text += f"; at N = {n_top:,} its variance is {v_top:.2f}× the posterior's"
            out.append(text + ".")
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


def captions(records: list[ScaleRecord], labels: dict[str, str], centred: bool, other: list[ScaleRecord] | None = None,
             source: dict[int, str] | None = None, cost: str = "seconds") -> dict[str, list[str]]:  # fmt: skip
    """Every generated sentence of the page's results, by section: "slopes" (under the headline chart, in its
    currency ``cost``), "speed" (the ratios at the largest and the smallest N, and best minibatch VI against the best
    full-data MCMC at the largest), "bias" (under the variance chart), "reduction" (the control variate's measured
    gain). other: the recorded sweep with the other covariate setting; source: "live" or "recorded" for each N."""
    ns = sorted({r.n for r in records})
    versus = versus_sentence(records, labels, ns[-1]) if ns else None
    reduction = reduction_sentence(records, labels)
    return {
        "slopes": slope_sentences(records, labels, cost),
        "speed": speed_sentences(records, labels, source) + ([versus] if versus else []),
        "bias": bias_sentences(records, labels, centred, other),
        "reduction": [reduction] if reduction else [],
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
