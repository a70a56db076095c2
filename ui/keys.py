"""Keyboard control of an animated Plotly chart: play, pause and scrub without a mouse.

Plotly draws its Play/Pause buttons and its slider in SVG, which the keyboard cannot reach.
``animation_keys`` adds a small script to the page (run in the page itself, not in an iframe)
that makes the chart's container focusable and maps keys to the chart's own animation
commands: Space or K plays and pauses (with the Play button's own frame timing), the arrow
keys step one frame, Home and End jump to the first and last frame. Play at the last frame
starts again from the first. Nothing else on the page is affected: the keys act only while
the chart has the focus.
"""

from __future__ import annotations

import json
import re

import streamlit as st

__all__ = ["HINT", "animation_keys", "script"]

HINT = "Keyboard: Tab to the chart (or click it), then Space plays or pauses, ← → step, Home / End jump."

_SCRIPT = """
<script>
(() => {
  const KEY = __KEY__;
  const sel = ".st-key-" + KEY;
  const state = (window.__animationKeys = window.__animationKeys || {});
  if (state[KEY]) return;  // one binder per chart key and page, however often the script reruns
  state[KEY] = true;
  const frameNames = (gd) => ((gd._transitionData || {})._frames || []).map((f) => f.name);
  const current = (gd) => ((gd._fullLayout.sliders || [])[0] || {}).active || 0;
  const buttons = (gd) => ((gd.layout.updatemenus || [])[0] || {}).buttons || [];
  const playing = (gd) => !!(gd._transitionData || {})._animationRaf;
  function show(gd, k) {
    const pause = (buttons(gd)[1] || {}).args || [[null], {}];
    window.Plotly.animate(gd, [frameNames(gd)[k]], pause[1]);
  }
  function toggle(gd) {
    const b = buttons(gd);
    if (playing(gd)) return window.Plotly.animate(gd, ...b[1].args);
    const names = frameNames(gd);
    const opts = b[0].args[1];
    if (current(gd) >= names.length - 1) {  // at the end: play again from the start
      return window.Plotly.animate(gd, names, { ...opts, fromcurrent: false });
    }
    return window.Plotly.animate(gd, ...b[0].args);
  }
  function onKey(ev) {
    const host = ev.currentTarget;
    const gd = host.querySelector(".js-plotly-plot");
    if (!gd || !window.Plotly || !gd._fullLayout) return;
    const n = frameNames(gd).length;
    if (!n) return;
    const k = current(gd);
    const go = { ArrowRight: k + 1, ArrowLeft: k - 1, Home: 0, End: n - 1 }[ev.key];
    if (ev.key === " " || ev.key === "k" || ev.key === "K") {
      toggle(gd);
    } else if (go !== undefined) {
      show(gd, Math.min(Math.max(go, 0), n - 1));
    } else {
      return;
    }
    ev.preventDefault();
    ev.stopPropagation();
  }
  function bind() {
    const host = document.querySelector(sel);
    if (!host || host.dataset.animationKeys) return;
    host.dataset.animationKeys = "1";
    host.tabIndex = 0;
    host.setAttribute("role", "group");
    host.setAttribute("aria-label", __HINT__);
    host.addEventListener("keydown", onKey);
  }
  bind();
  setInterval(bind, 500);  // the chart is re-created when the page reruns with new settings
})();
</script>
<style>.st-key-__CLASS__:focus-visible { outline: 2px solid #0072B2; outline-offset: 2px; }</style>
"""


def script(chart_key: str) -> str:
    """The HTML (a script and a focus style) that binds the keys to the chart with this key."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", chart_key):
        raise ValueError(f"chart_key must be letters, digits, '_' or '-', got {chart_key!r}")
    return (
        _SCRIPT.replace("__KEY__", json.dumps(chart_key))
        .replace("__HINT__", json.dumps(HINT))
        .replace("__CLASS__", chart_key)
    )


def animation_keys(chart_key: str, hint: bool = True) -> None:
    """Let the keyboard play, pause and scrub the animated chart drawn with ``key=chart_key``.

    Call it once per run, after (or before) ``st.plotly_chart(..., key=chart_key)``; with
    ``hint`` a one-line caption tells the reader the keys."""
    st.html(script(chart_key), unsafe_allow_javascript=True)
    if hint:
        st.caption(HINT)
