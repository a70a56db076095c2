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
import re
from pathlib import Path

import plotly.io as pio
import streamlit as st

__all__ = ["after_drawn", "figure", "payload", "plot", "plotly_chunk", "preload"]

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
        return Plotly.newPlot(gd, { data: f.data, layout: f.layout, frames: f.frames || [], config: data.config })
          .then(() => { gd.dataset.drawn = data.id; });
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


_PRELOAD = """<style>[data-testid="stElementContainer"]:has(.plotly-preload) { display: none; }</style>
<span class="plotly-preload"></span>
<script>
(() => {
  if (window.Plotly || window.__plotlyPreload) return;
  const main = document.querySelector('script[type="module"][src*="static/js/index."]');
  if (!main) return;
  for (const dep of __DEPS__) {  // its own imports, fetched beside it rather than after it is parsed
    const link = document.createElement("link");
    link.rel = "modulepreload";
    link.href = new URL(dep, main.src).href;
    document.head.appendChild(link);
  }
  window.__plotlyPreload = import(new URL(__CHUNK__, main.src).href).catch(() => {});
})();
</script>"""


@functools.cache
def _chunk_imports(chunk: str) -> tuple[str, ...]:
    """The files a chunk imports statically (its leading ``import ... from "./x.js"`` statements)."""
    head = (Path(st.__file__).parent / "static" / "static" / "js" / chunk).read_text(encoding="utf-8")[:8192]
    return tuple(re.findall(r'import(?:\{[^}]*\}from)?"(\./[^"]+\.js)"', head))


def preload() -> None:
    """Start loading plotly.js (and the files it imports) now: call it before the page's first element.

    Without it a page's first chart asked for plotly.js only when its component mounted, after every widget's
    code had loaded and React had shown the page (its reveal of suspended elements is throttled), and then
    fetched plotly.js's own imports only once its 4.7 MB were parsed. A script in an ``st.html`` element (one
    small chunk, rendered at once) starts all of them with the page's first elements; the charts' components
    then find ``window.Plotly`` set or the same module already on its way."""
    chunk = plotly_chunk()
    if chunk:
        js = _PRELOAD.replace("__CHUNK__", json.dumps(chunk)).replace("__DEPS__", json.dumps(_chunk_imports(chunk)))
        st.html(js, unsafe_allow_javascript=True)


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

_AFTER_JS = """
const TIMEOUT_MS = 10000;  // the page goes on even if the chart never says it is drawn

export default function (component) {
  const { data, setTriggerValue, parentElement } = component;
  if (!data || !data.id) return;
  const el = parentElement;  // this element: it waits for one figure once, however often it is rendered
  if (el.__afterId === data.id) return;
  el.__afterId = data.id;
  const t0 = performance.now();
  const sel = '.plot-once[data-drawn="' + CSS.escape(data.id) + '"]';
  const tick = () => {
    if (el.__afterId !== data.id) return;  // given another figure meanwhile
    if (document.querySelector(sel) || performance.now() - t0 > TIMEOUT_MS) {
      // one more frame, so the chart is on screen before the rerun's elements take the main thread
      requestAnimationFrame(() => setTimeout(() => {
        if (el.__afterId === data.id && el.isConnected) setTriggerValue("drawn", data.id);
      }, 0));
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
"""

# its element takes no room (keys start "after-drawn"; a hidden component still runs its script). Two lines: a
# one-line string with "[" would be taken for a file's glob
_AFTER_CSS = """
[class*="st-key-after-drawn"] {
  display: none;
}
"""
_after = st.components.v2.component("after_drawn", js=_AFTER_JS, css=_AFTER_CSS, isolate_styles=False)


def after_drawn(figure_id: str, key: str, on_drawn) -> None:
    """A hidden element that, once the chart drawn from the payload with id ``figure_id`` is on screen (or after
    10 s whatever happens), sets its trigger ``drawn`` to that id, once per element and id: the rerun this causes
    (of the fragment it sits in, if any) first calls ``on_drawn()``, which reads ``st.session_state[key]["drawn"]``.
    The caller stops rendering it once told (else it waits again for a figure it was given anew). ``key`` must
    start with "after-drawn"."""
    if not key.startswith("after-drawn"):
        raise ValueError(f"an after_drawn key starts with 'after-drawn', got {key!r}")
    _after(key=key, data={"id": figure_id}, on_drawn_change=on_drawn)


def plot(data: dict, key: str, config: dict | None = None, first: bool = False, where=None) -> None:
    """Draw the figure of ``payload(...)`` (``data``) under ``key`` (its container gets the class ``st-key-<key>``) with
    Plotly's ``config`` (responsive: it follows its container's width, as st.plotly_chart's charts do).

    first: draw it at once; the others on the page wait for a later task. where: a container (a column), or None."""
    conf = {"displaylogo": False, "responsive": True, **(config or {})}
    with where if where is not None else contextlib.nullcontext():
        _component(key=key, data={**data, "config": conf, "chunk": plotly_chunk(), "first": first}, height="content")
