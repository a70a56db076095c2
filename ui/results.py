"""The Playground's Results: the table of numbers (one column per method), its glossary, the verdicts.

``table(vi, mc, tol)`` gives the rows, ``results_html`` draws them with each row name's GLOSSARY line as a
tooltip (styled by ``TABLE_CSS``), ``show_table`` puts table, glossary, verdicts and caption on the page;
``fmt_s`` and ``kl_split`` word the metrics above the charts.
The formatters never show τ or ESS bare where they would mislead (anti-correlated draws, emcee's walkers).
"""

from __future__ import annotations

import html
import math

import numpy as np
import streamlit as st

from ui import compute
from ui.compute import burn_in, format_kl, methods

__all__ = ["GLOSSARY", "TABLE_CSS", "fmt_s", "kl_split", "results_html", "show_table", "table"]

# the Results table (results_html): Streamlit's table look, row names with a dotted underline (a tooltip)
TABLE_CSS = (
    ".results-table{width:100%;border-collapse:collapse;font-size:0.9rem}"
    ".results-table th,.results-table td{border-bottom:1px solid rgba(49,51,63,.1);padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}"
    ".results-table abbr{text-decoration:underline dotted;cursor:help}"
)


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


def table(vi, mc, tol: float) -> list[dict]:
    """The Results table: one dict per method (VI, then MCMC), "method" then a cell per GLOSSARY row."""

    def num(v, fmt="{:.4f}"):
        return fmt.format(v) if v is not None and math.isfinite(v) else "—"

    def kl(v):
        text = format_kl(float(v), tol) if math.isfinite(v) else "—"
        return "error (see above)" if text.startswith("error") else text

    return [
        {
            "method": f"VI · {vi.label}",
            "wall time": fmt_s(vi.wall_time_s),
            "time / step": fmt_s(vi.wall_time_s / max(vi.n_steps, 1)),
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
            "wall time": fmt_s(mc.wall_time_s),
            "time / step": fmt_s(mc.wall_time_s / max(mc.n_steps, 1)),
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


def fmt_s(s: float) -> str:
    """Seconds as '12.3 ms' below 1 s, else '1.23 s'."""
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def _evals(res) -> str:
    """'12,345 + 6,789' (density + gradient evaluations)."""
    if res.evals is None:
        return "—"
    return f"{int(res.evals[-1, 0]):,} + {int(res.evals[-1, 1]):,}"


def _ess_per_kilo_eval(mc) -> float:
    """min ESS per 1000 evaluations (density + gradient); nan when nothing was evaluated."""
    spent = float(mc.evals[-1].sum()) if mc.evals is not None else 0.0
    return float(np.min(mc.ess)) / spent * 1000 if spent > 0 else math.nan


def kl_split(vi, tol: float) -> str:
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


_ICON = {"good": ":material/check_circle:", "warn": ":material/warning:", "bad": ":material/error:"}


def show_table(vi, mc, tol: float, compute_s: float) -> None:
    """The Results section: the table, what its rows mean, both verdicts and how the sampler is judged."""
    st.subheader("Results")
    # st.table: static HTML, no grid widget (st.dataframe's first use costs ~0.5 s and slows playback)
    # one column per method, one row per quantity: reads down, and fits a phone
    rows = table(vi, mc, tol)
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
        f"Compute {fmt_s(compute_s)} including scoring. MCMC statistics use the draws after the first "
        f"{burn_in(mc.n_steps)} of {mc.n_steps} steps (burn-in). {_judged_by(mc)}"
    )
