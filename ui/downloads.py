"""The Playground's Share and export section and the files it offers.

``samples_csv``, ``vi_trace_csv``, ``summary_json``: a run's data as text, built when a button is clicked.
``share_and_export`` draws the section: the link to the run, those files and the race's animation files
(rendered by ui.export in a worker process, through ``compute.race_animation``).
"""

from __future__ import annotations

import io
import json
import math
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from ui import compute
from ui.compute import burn_in
from ui.spec import to_query

if TYPE_CHECKING:
    from ui.spec import RunSpec

__all__ = ["samples_csv", "share_and_export", "summary_json", "vi_trace_csv"]


def share_and_export(spec: RunSpec, out: compute.Outcome, view: dict[str, str]) -> None:
    """The Share and export section: the link to this run (view: the link keys of the page's view), the run's
    data files and the race as a GIF, an MP4 and a PNG."""
    st.subheader("Share and export")
    query = {**to_query(spec, st.session_state.get("clock", "iteration")), "run": "1", **view}
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


def samples_csv(mc) -> str:
    """Every draw: step, walker (or chain), z1, z2 and whether it is past burn-in."""
    t, w, _ = mc.chain.shape
    steps, walkers = np.meshgrid(np.arange(t), np.arange(w), indexing="ij")
    buf = io.StringIO()
    buf.write("step,walker,z1,z2,after_burn_in\n")
    rows = np.column_stack([steps.ravel(), walkers.ravel(), mc.chain.reshape(-1, 2), steps.ravel() >= burn_in(t)])
    np.savetxt(buf, rows, delimiter=",", fmt=["%d", "%d", "%.6g", "%.6g", "%d"])
    return buf.getvalue()


def vi_trace_csv(vi) -> str:
    """VI's trace, a row per recorded step: time, exact and Monte Carlo ELBO, KL, q's mean and covariance."""
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
    """The run in one JSON document: its link, target, exact reference, both results' summaries and the truth."""
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
