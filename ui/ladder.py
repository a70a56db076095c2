"""The Ladder page: every VI family on one target, scored exactly, beside NUTS and emcee given the same wall time.

The rungs (mean-field and full-rank Gaussians, grid CAVI, mixtures of 2 to 16 Gaussians, a normalizing flow, SVGD's
particles) and the samplers run through ui.compute (vi_core.ladder), each at its defaults, on a built-in target at its
defaults. Shown first: the ladder ``python -m benchmarks.ladder --write`` recorded for that target (machine and date
said), so no visit has to wait half a minute; "Run the ladder live" measures it on this server, one queue job per
rung, with a progress bar. Settings live in the URL: ?target=u1&run=1.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from ui import compute
from ui.figures import ready
from ui.figures.ladder import ladder_figure
from ui.text import plain

__all__ = [
    "DEFAULT_TARGET",
    "MODE_MISS",
    "blind_verdicts",
    "mode_table",
    "query_notices",
    "read_query",
    "render",
    "summary_table",
]

DEFAULT_TARGET = "u1"


def read_query(query: dict[str, str]) -> tuple[str, bool]:
    """(target name, run live?) from the URL; an unknown target falls back to the default."""
    name = query.get("target", DEFAULT_TARGET)
    return (name if name in compute.REGISTRY else DEFAULT_TARGET), query.get("run") == "1"


def query_notices(query: dict[str, str]) -> list[str]:
    """A plain-text notice for each value in the URL that read_query replaces (show through ui.text.plain)."""
    checks = {
        "target": (lambda raw: raw in compute.REGISTRY, "a built-in target's name"),
        "run": (lambda raw: raw in ("0", "1"), "1 runs the ladder live"),
    }
    return [
        f"Ignored “{key}={str(query[key])[:40]}” in the link ({why}); using the default."
        for key, (ok, why) in checks.items()
        if key in query and not ok(query[key])
    ]


def _num(v: float | None, spec: str) -> str:
    return "—" if v is None or not math.isfinite(v) else format(v, spec)


def summary_table(lad: compute.Ladder) -> pd.DataFrame:
    """One row per rung and sampler: exact KL (— where q has no density), mmtv, W1, seconds, evaluations, verdict."""
    rows = []
    for s in lad.rungs + lad.samplers:
        row = {
            "method": s.label,
            "KL(q ‖ p), nats": _num(s.kl, ".3f"),
            "mmtv": _num(s.mmtv, ".3f"),
            "W1 (sd)": _num(s.w1, ".3f"),
            "seconds": _num(s.seconds, ".3g"),
            "density evals": f"{s.evals[0]:,}",
            "gradient evals": f"{s.evals[1]:,}",
            "verdict": s.level or "—",
        }
        if s.modes is not None:
            row["worst mode mass error"] = _num(s.mode_error, ".2f")
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def mode_table(lad: compute.Ladder) -> pd.DataFrame | None:
    """The mass each method puts nearest each mode, with the exact masses first; None on a target without modes."""
    scored = [s for s in lad.rungs + lad.samplers if s.modes is not None]
    if not scored:
        return None
    exact = scored[0].modes[1]
    cols = [f"mode {k + 1}" for k in range(len(exact))]
    rows = [("exact", exact)] + [(s.label, s.modes[0]) for s in scored]
    return pd.DataFrame([[f"{v:.2f}" for v in m] for _, m in rows], index=[n for n, _ in rows], columns=cols)


MODE_MISS = 0.1  # a worst mode mass error above this is a mode missed or badly weighted


def blind_verdicts(lad: compute.Ladder) -> list[str]:
    """A sentence for each method whose own verdict is good while its mass per mode is off by more than MODE_MISS:
    its checks compare its chains or draws with one another, so a mode none of them visited is invisible to them."""
    out = []
    for s in lad.rungs + lad.samplers:
        err = s.mode_error
        if s.level == "good" and err is not None and err > MODE_MISS:
            out.append(
                f"{s.label}'s own checks pass although its mass per mode is off by up to {err:.2f}: "
                + (
                    "its chains agree with one another because none of them left the mode they found, and R-hat and "
                    "ESS compare chains, so they cannot see a mode no chain visited."
                    if s.kind == "mcmc"
                    else "the KL and k̂ see only where q puts its mass, not a mode it never found."
                )
            )
    return out


def _controls(name: str) -> tuple[str, bool]:
    names = list(compute.REGISTRY)
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    name = c1.selectbox(
        "Target", names, index=names.index(name), key="ld_target",
        format_func=lambda n: f"{n} — {compute.REGISTRY[n].description}",
        help="Each built-in target at its default parameters.",
    )  # fmt: skip
    run = c2.button("Run the ladder live", type="primary", key="ld_run", width="stretch")
    return name, run


def _live(target: compute.Target) -> compute.Ladder:
    rungs, samplers = list(compute.LADDER_RUNGS), list(compute.LADDER_SAMPLERS)
    total = len(rungs) + len(samplers)
    bar = st.progress(0.0, text="Starting…")
    done = []
    for k, r in enumerate(rungs):
        bar.progress(k / total, text=f"{r.label} ({k + 1} of {total})")
        done.append(compute.ladder_rung(target, r.key))
    budget_s = compute.ladder_budget(done)
    sampled = []
    for k, m in enumerate(samplers):
        bar.progress((len(rungs) + k) / total, text=f"{compute.LADDER_SAMPLERS[m]}, given {budget_s:.2g} s")
        sampled.append(compute.ladder_sampler(target, m, budget_s))
    bar.empty()
    return compute.ladder_of(target, done, sampled)


def _results(lad: compute.Ladder) -> None:
    st.markdown(compute.ladder_sentence(lad))
    # no mode bar: on a phone it sits on the eleven-line legend, and the chart needs no zoom
    st.plotly_chart(ready(ladder_figure(lad)), key="ld_chart", config={"displayModeBar": False}, theme=None)
    st.caption(
        "Each marker is one VI rung: its accuracy when it stopped against the time its algorithm ran (scoring "
        "excluded; grid CAVI's includes the grid's densities, which it works on). The lines are the samplers, "
        "scored on their draws so far (the first quarter dropped) as they ran. mmtv, the mean marginal total "
        "variation, is the one yardstick that a density and a sample share: 0 when both marginals are exact, 1 when "
        "disjoint. It sees only the marginals; the KL in the table sees the whole joint, where q has a density."
    )
    st.table(summary_table(lad))
    modes = mode_table(lad)
    if modes is not None:
        st.markdown("##### The mass each method puts nearest each mode")
        st.table(modes)
        st.caption(
            "Each point (a grid cell weighted by the density, a particle, a draw after burn-in) is counted for the "
            "mode centre nearest it; the exact row applies the same rule to the exact posterior."
        )
        for line in blind_verdicts(lad):
            st.caption(line)


def render() -> None:
    st.markdown("### The VI ladder: what lifts the Gaussian's bias, and at what cost")
    st.caption(
        "Every family of q on one target, each fitted at its defaults and scored against the exact posterior: the "
        "mean-field and full-rank Gaussians, grid CAVI (the best mean-field q of any shape), mixtures of 2 to 16 "
        "Gaussians, a normalizing flow (8 affine coupling layers) and SVGD's 100 particles; beside them NUTS and "
        "emcee, given about the wall time of the costliest rung. The KL is exact (ln p(X) by quadrature minus an "
        "ELBO by quadrature); particles have no density, so no KL."
    )
    query = {k: st.query_params[k] for k in st.query_params}
    for note in query_notices(query):  # they quote the link: shown as plain text
        st.warning(plain(note), icon=":material/warning:")
    name, run = read_query(query)
    name, clicked = _controls(name)
    st.query_params.from_dict({"target": name, **({"run": "1"} if run or clicked else {})})
    target = compute.make_target(name)
    if run or clicked:
        lad = _live(target)
        st.caption("Measured live, on this server, just now (one run per rung, seed 0).")
        _results(lad)
        return
    rec = compute.recorded_ladders()
    lad = None if rec is None else rec["ladders"].get(name)
    if lad is None or lad.params != target.param_values():
        st.info("Press **Run the ladder live** to measure every rung on this server (about half a minute).")
        return
    st.info(
        "Below: the ladder recorded for this target. Press **Run the ladder live** to measure it on this server, now "
        "(about half a minute: every rung, then the samplers).",
        icon=":material/info:",
    )
    st.caption(
        f"Recorded by `python -m benchmarks.ladder --write` on {rec.get('machine', 'an unknown machine')}, "
        f"{rec.get('date', 'date unknown')} (one run per rung, seed {lad.seed}). Not measured on this server."
    )
    _results(lad)
