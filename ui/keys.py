"""Keyboard control of an animated Plotly chart: play, pause and scrub without a mouse.

Plotly draws its Play/Pause buttons and its slider in SVG, which the keyboard cannot reach.
``animation_keys`` adds a small script to the page (run in the page itself, not in an iframe)
that makes the chart's container focusable and maps keys to the chart's own animation
commands: Space or K plays and pauses (with the Play button's own frame timing), the arrow
keys step one frame, Home and End jump to the first and last frame. Play at the last frame
starts again from the first. Nothing else on the page is affected: the keys act only while
the chart has the focus.

The same script gives the chart a full-screen button of its own: it puts the chart's container (the very plot
element, frames and all) into the browser's full screen and resizes the plot to the screen, so Play, the slider
and the keys keep working there and after Esc. Streamlit's own full-screen button is hidden for this chart: it
re-creates the chart without its frames (Streamlit 1.67).
"""

from __future__ import annotations

import json
import re

import streamlit as st

__all__ = ["HINT", "animation_keys", "collapse_sidebar_on_phone", "script"]

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
  // Full screen on the chart's own container: the plot element stays the same, so its frames, Play and the
  // slider keep working (Streamlit's own full-screen button re-creates the chart without its frames).
  function fullscreen(host) {
    if (document.fullscreenElement === host) return document.exitFullscreen();
    host.requestFullscreen().catch(() => {});
  }
  function onFullscreen(host) {
    const gd = host.querySelector(".js-plotly-plot");
    if (!gd || !window.Plotly || !gd._fullLayout) return;
    const button = host.querySelector(".animation-fullscreen");
    if (button) button.textContent = document.fullscreenElement === host ? "Exit full screen" : "Full screen";
    if (document.fullscreenElement === host) {
      host.dataset.height = host.dataset.height || String(gd.layout.height);
      window.Plotly.relayout(gd, { height: window.innerHeight - 8 });
    } else if (host.dataset.height) {
      window.Plotly.relayout(gd, { height: Number(host.dataset.height) });
      delete host.dataset.height;
    }
    host.focus({ preventScroll: true });
  }
  let focused = false;
  function bind() {
    const host = document.querySelector(sel);
    if (!host || host.dataset.animationKeys) return;
    host.dataset.animationKeys = "1";
    host.tabIndex = 0;
    host.setAttribute("role", "group");
    host.setAttribute("aria-label", __HINT__);
    host.addEventListener("keydown", onKey);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "animation-fullscreen";
    button.textContent = "Full screen";
    button.title = "Full screen: the animation keeps playing; Esc leaves";
    button.addEventListener("click", (ev) => { ev.stopPropagation(); fullscreen(host); });
    host.appendChild(button);
    host.addEventListener("fullscreenchange", () => onFullscreen(host));
    if (__FOCUS__ && !focused) {  // the presenter view: Space works at once, no click or Tab first
      focused = true;
      host.focus({ preventScroll: true });
    }
  }
  bind();
  setInterval(bind, 500);  // the chart is re-created when the page reruns with new settings
})();
</script>
<style>
.st-key-__CLASS__:focus-visible { outline: 2px solid #0072B2; outline-offset: 2px; }
.st-key-__CLASS__ { position: relative; }
.st-key-__CLASS__:fullscreen { background: white; padding: 4px; overflow: auto; }
/* Streamlit's own full-screen button re-creates the chart without its frames: ours replaces it */
.st-key-__CLASS__ [data-testid="stElementToolbar"] { display: none; }
.st-key-__CLASS__ .animation-fullscreen {
  position: absolute; top: 4px; left: 4px; z-index: 5; font: 14px sans-serif; padding: 4px 10px;
  border: 1px solid #bbb; border-radius: 6px; background: rgba(255, 255, 255, 0.9); cursor: pointer;
}
.st-key-__CLASS__ .animation-fullscreen:focus-visible { outline: 2px solid #0072B2; }
</style>
"""

_COLLAPSE = """
<script>
(() => {
  // on a phone the sidebar covers the page: after Run, close it so the race is what the reader sees
  if (window.innerWidth >= 640) return;
  const button = document.querySelector('[data-testid="stSidebar"][data-collapsed="false"] '
    + '[data-testid="stSidebarCollapseButton"] button');
  if (button) button.click();
})();
</script>
"""


def script(chart_key: str, focus: bool = False) -> str:
    """The HTML (a script and its styles) that binds the keys and the full-screen button to the chart with this
    key; ``focus``: give the chart the keyboard focus when it appears (once per page load)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", chart_key):
        raise ValueError(f"chart_key must be letters, digits, '_' or '-', got {chart_key!r}")
    return (
        _SCRIPT.replace("__KEY__", json.dumps(chart_key))
        .replace("__HINT__", json.dumps(HINT))
        .replace("__FOCUS__", "true" if focus else "false")
        .replace("__CLASS__", chart_key)
    )


def animation_keys(chart_key: str, hint: bool = True, focus: bool = False) -> None:
    """Let the keyboard play, pause and scrub the animated chart drawn with ``key=chart_key``, and give it a
    full-screen button that keeps the animation.

    Call it once per run, after (or before) ``st.plotly_chart(..., key=chart_key)``; with
    ``hint`` a one-line caption tells the reader the keys; ``focus``: the chart takes the keyboard focus on load."""
    st.html(script(chart_key, focus), unsafe_allow_javascript=True)
    if hint:
        st.caption(HINT)


def collapse_sidebar_on_phone() -> None:
    """After a Run on a narrow screen, close the sidebar (Streamlit leaves it open over the page)."""
    st.html(_COLLAPSE, unsafe_allow_javascript=True)
