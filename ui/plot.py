"""Plotly charts drawn once in the page, the race first: what ``st.plotly_chart`` would draw, for less browser work.

``st.plotly_chart`` draws a chart several times per page load (its own effects, Streamlit 1.67), and draws it while
React commits the page, before any component's effect: the race, with its 40 frames, waited for every chart below
it. Measured by ``python -m benchmarks.playground --floor`` on the default run: Plotly's script time 0.44 s per
load, against ~0.1 s for one ``newPlot`` of the race with its frames. This component hands a figure to the page's
own plotly.js once (``Plotly.newPlot`` with data, layout and frames) and again only when the figure changes. A chart
mounted with ``first=False`` draws in a later task than one with ``first=True``, so the race is drawn (and can be
played) before the charts under it.

The plot element is Plotly's own (``.js-plotly-plot`` inside the ``st-key-<key>`` container), so the keyboard and
full-screen hooks of ``ui.keys`` and the browser tests read it as they read any Plotly chart. plotly.js is not
loaded twice: the component imports the chunk in which Streamlit ships it (which sets ``window.Plotly``), from the
URL Streamlit itself would load it from, so the browser's cache serves it; if that chunk is not found (another
Streamlit build), the component waits for another chart to load it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from pathlib import Path

import plotly.io as pio
import streamlit as st

__all__ = ["figure", "payload", "plot", "plotly_chunk"]

_JS = """
const TIMEOUT_MS = 20000;

async function plotly(chunk) {
  if (window.Plotly) return window.Plotly;
  const main = document.querySelector('script[type="module"][src*="static/js/index."]');
  if (chunk && main) {
    try { await import(new URL(chunk, main.src).href); } catch (e) { console.warn("plotly.js chunk", e); }
  }
  const t0 = performance.now();
  while (!window.Plotly) {  // another chart on the page may still be loading it
    if (performance.now() - t0 > TIMEOUT_MS) throw new Error("plotly.js did not load");
    await new Promise((r) => setTimeout(r, 50));
  }
  return window.Plotly;
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data || !data.json) return;
  let gd = parentElement.querySelector(":scope > .plot-once");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "plot-once";
    parentElement.appendChild(gd);
  }
  let live = true;
  if (gd.dataset.figure !== data.id) {
    // a chart that is not first waits until the first one on the page is drawn, then for a later task
    const after = (p) => p.then(() => new Promise((r) => setTimeout(r, 0)));
    const turn = data.first ? Promise.resolve() : after(window.__plotFirst || Promise.resolve());
    const drawn = Promise.all([plotly(data.chunk), turn])
      .then(([Plotly]) => {
        if (!live) return;
        gd.dataset.figure = data.id;
        const f = JSON.parse(data.json);
        return Plotly.newPlot(gd, { data: f.data, layout: f.layout, frames: f.frames || [], config: data.config });
      })
      .catch((e) => { gd.textContent = "This chart could not be drawn (" + e.message + "): reload the page."; });
    if (data.first) window.__plotFirst = drawn;
  }
  return () => {
    live = false;
    // unmounted (not merely given a new figure): free the plot, whose resize listener would keep it alive
    setTimeout(() => { if (!gd.isConnected && window.Plotly) window.Plotly.purge(gd); }, 0);
  };
}
"""

_CSS = """
.plot-once { width: 100%; }
"""


@functools.cache
def plotly_chunk() -> str | None:
    """The file name of the chunk in which Streamlit's frontend ships plotly.js, or None if there is not one."""
    js = Path(st.__file__).parent / "static" / "static" / "js"
    names = sorted(p.name for p in js.glob("PlotlyChart.*.js"))
    return names[0] if len(names) == 1 else None


def payload(fig) -> dict:
    """What the component draws: ``{"id", "json"}``, the figure as strict JSON text (``figure`` reads it back).

    fig: a ``go.Figure`` (its ``to_dict()`` is sent: for ``ui.figures.ready``'s, numpy arrays as Plotly's base64
    typed arrays and the default template) or a plain figure dict. The browser draws again only when ``id`` (a
    digest of the figure) changes, so a rerun that sends the same figure costs the page nothing. Sent as text,
    the figure is one string to Streamlit's encoder (a nested dict of the race's 40 frames cost it ~10 ms per
    view) and the browser parses it only when it draws."""
    d = fig.to_dict() if hasattr(fig, "to_dict") else fig
    try:  # the builders' dicts are plain JSON: the C encoder, once
        text = json.dumps(d, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):  # numpy scalars or NaN: Plotly's encoder writes numbers and nulls
        text = pio.to_json(d, validate=False)
    return {"id": hashlib.blake2b(text.encode(), digest_size=8).hexdigest(), "json": text}


def figure(data: dict) -> dict:
    """The figure dict a ``payload`` carries."""
    return json.loads(data["json"])


_component = st.components.v2.component("plot_once", js=_JS, css=_CSS, isolate_styles=False)


def plot(data: dict, key: str, config: dict | None = None, first: bool = False, where=None) -> None:
    """Draw the figure of ``payload(...)`` (``data``) under ``key`` (its container gets the class ``st-key-<key>``) with
    Plotly's ``config`` (responsive: it follows its container's width, as st.plotly_chart's charts do).

    first: draw it at once; the others on the page wait for a later task. where: a container (a column), or None."""
    conf = {"displaylogo": False, "responsive": True, **(config or {})}
    with where if where is not None else contextlib.nullcontext():
        _component(key=key, data={**data, "config": conf, "chunk": plotly_chunk(), "first": first}, height="content")
