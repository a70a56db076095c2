"""Playground performance: server-side cost of a run's figures, and "click Run -> animation playable" in Chromium.

    python -m benchmarks.playground [--repeats N] [--no-browser] [--floor [--pairs N] [--no-trace]] [--lessons]

1. Server side, in process (no Streamlit), after one untimed warm-up round: for cavi, gauss-mf and gauss-fr with
   emcee (cavi + emcee is ``ui.spec.DEFAULT``) and both clocks, the engine compute time (fresh grid + ``run_vi`` +
   ``run_sampler``, as ``ui.compute.run`` does without its cache), the race figure build
   (``ui.figures.race_figure``), its payload for the page (``ui.plot.payload``: base64 arrays, JSON; once per
   figure, kept), what Streamlit does with it on every view (JSON of the component's data, twice), and the payload
   of every figure the results page sends (race + accuracy + two marginals; budget 2 MB together).
2. In headless Chromium (Playwright, ``/usr/bin/chromium`` with the e2e flags), per repeat a fresh
   ``streamlit run app.py``: the first page view (bare URL: target preview only; includes ``ui.compute.warm_up``),
   then (a) click Run -> race figure playable with an empty data cache (budget 1.5 s), (b) the same in a new browser
   context = new session on the same server, a cache hit (budget 0.3 s). "Playable" = the Play button
   (``g.updatemenu-button``) is drawn in the chart, Plotly holds the frames, and the script state is notRunning.
   Times are taken inside the page (``performance.now()`` from the click event, polled every animation frame).
   Then Play is pressed and the distinct slider positions seen in 2 s are counted (a proxy for the frame rate).

3. ``--floor``: the one-chart app (benchmarks/floor_app.py: one animated Plotly chart on a button press) and the
   Playground's default run side by side in one Chromium, a fresh page per click, median of ``--pairs`` (4) pairs
   and the ratio (the goal: within 1.5x), both as "page opened -> preview drawn, + click -> playable" and as
   "click -> playable"; then one traced click on each, the renderer's main thread broken down
   into script, style, layout, paint and GC, and script time by the file it ran in (Plotly's chunk or the rest).

4. ``--lessons``: a fresh server started as the Docker image starts it (``python -m ui.serve``), and once its
   health check (``python -m ui.serve --check``) passes, in Chromium a fresh page on the default link and on every
   lesson's link: navigation -> the race playable (the Play button drawn, the frames held, the script not running),
   each against the default link's time (the goal: within 2x). Then the same on a server started with
   ``UI_SERVE_LESSONS=0`` opened at once after its default warm-up: what each lesson's first visitor waits for
   when nothing has warmed it (the flow's lesson trains its flow in that time).

Prints medians and [min–max]; asserts nothing. The default run (3 repeats) takes about 1.5 minutes on 2 cores.
Browser timings are sensitive to other load on the machine: the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from ui import figures, plot
from ui.spec import CLOCKS, DEFAULT, RunSpec
from vi_core.api import VI_METHODS, run_sampler, run_vi
from vi_core.grid import make_grid

__all__ = ["browser_side", "floor_pairs", "fresh_lessons", "main", "server_side"]

PAGE_BUDGET_MB = 2.0
COLD_BUDGET_S = 1.5
HIT_BUDGET_S = 0.3
PLAY_WINDOW_MS = 2000

Printer = Callable[[str], None]


def _stats(xs: Sequence[float], fmt: str = "{:.3f}") -> str:
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    if not xs:
        return "n/a"
    med = fmt.format(statistics.median(xs))
    return med if len(xs) == 1 else f"{med}  [{fmt.format(min(xs))}–{fmt.format(max(xs))}]"


def _verdict(value: float | None, budget: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return "ok" if value <= budget else "MISSED"


def _line(out: Printer, label: str, value: str, width: int = 52) -> None:
    out(f"  {label:<{width}} {value}")


# --------------------------------------------------------------------------------------- server side


def _timed(fn, *args):
    t0 = time.perf_counter()
    res = fn(*args)
    return res, time.perf_counter() - t0


def _sent(payload: dict) -> str:
    """What Streamlit does with a component's data on every view: JSON for the page, and again (keys sorted) for
    the element's identity."""
    json.dumps(payload, sort_keys=True)
    return json.dumps(payload)


def _measure_spec(spec: RunSpec, clocks: Sequence[str], rec: dict | None) -> None:
    """One repeat for one spec: compute once, then every figure step for each clock; record into ``rec``."""
    t0 = time.perf_counter()
    grid = make_grid(spec.target, spec.settings.n_grid)
    vi = run_vi(spec.target, spec.vi, spec.seed, spec.settings, grid=grid)
    mc = run_sampler(spec.target, spec.mcmc, spec.seed, spec.settings, grid=grid)
    compute_s = time.perf_counter() - t0
    # A cache_data hit unpickles the Outcome (grid, vi, mc).
    blob = pickle.dumps((grid, vi, mc), protocol=pickle.HIGHEST_PROTOCOL)
    _, unpickle_s = _timed(pickle.loads, blob)
    small = [
        lambda: figures.accuracy_figure(vi, mc),
        lambda: figures.marginal_figure(grid, vi, mc, 0),
        lambda: figures.marginal_figure(grid, vi, mc, 1),
    ]
    # the charts under the race: built, made payloads and sent on every view (ui.playground)
    small_json, small_s = _timed(lambda: [_sent(plot.payload(figures.ready(b()))) for b in small])
    small_bytes = sum(len(s.encode()) for s in small_json)
    for clock in clocks:
        d, build_s = _timed(figures.race_figure, grid, vi, mc, clock)
        payload, payload_s = _timed(lambda d=d: plot.payload(figures.ready(d)))  # once per figure (kept)
        js, sent_s = _timed(_sent, payload)  # every view
        if rec is None:
            continue
        r = rec.setdefault(clock, {"frames": len(plot.figure(payload).get("frames", []))})
        race_mb = len(js.encode()) / 1e6
        for key, val in (
            ("compute", compute_s),
            ("build", build_s),
            ("payload", payload_s),
            ("sent", sent_s),
            ("race_mb", race_mb),
            ("small_mb", small_bytes / 1e6),
            ("page_mb", race_mb + small_bytes / 1e6),
            ("hit", unpickle_s + sent_s + small_s),
            ("miss", compute_s + build_s + payload_s + sent_s + small_s),
            ("outcome_mb", len(blob) / 1e6),
        ):
            r.setdefault(key, []).append(val)


def server_side(
    repeats: int = 3,
    methods: Sequence[str] = VI_METHODS,
    clocks: Sequence[str] = CLOCKS,
    warmup: bool = True,
    out: Printer = print,
) -> dict:
    """Time the in-process work behind a Run for ``DEFAULT`` with each VI method (MCMC stays emcee) and print it.
    Returns {(method, clock): {metric: [values]}}."""
    specs = {m: RunSpec(DEFAULT.target, m, DEFAULT.mcmc, DEFAULT.seed, DEFAULT.settings) for m in methods}
    results: dict = {m: {} for m in methods}
    out(
        f"== Server side, in process: median [min–max] of {repeats} repeat(s)"
        f"{' after 1 warm-up round' if warmup else ''}; target {DEFAULT.target.name}, seed {DEFAULT.seed} =="
    )
    if warmup:
        for spec in specs.values():
            _measure_spec(spec, clocks, None)
    for _ in range(repeats):
        for m, spec in specs.items():
            _measure_spec(spec, clocks, results[m])
    for m in methods:
        for clock in clocks:
            r = results[m][clock]
            tag = " (default run)" if specs[m] == DEFAULT else ""
            out(f"{m} + {DEFAULT.mcmc}{tag}, clock={clock}, {r['frames']} frames")
            _line(out, "engine compute (grid + run_vi + run_sampler) s", _stats(r["compute"]))
            _line(out, "race_figure build s", _stats(r["build"]))
            _line(out, "race payload (ui.plot: base64 arrays, JSON), once s", _stats(r["payload"]))
            _line(out, "race sent per view (Streamlit's JSON of it) s", _stats(r["sent"]))
            _line(out, "payload race figure MB", _stats(r["race_mb"]))
            _line(out, "payload accuracy + 2 marginals MB", _stats(r["small_mb"]))
            page = statistics.median(r["page_mb"])
            _line(
                out,
                "payload page total (race+accuracy+2 marginals) MB",
                f"{_stats(r['page_mb'])}  budget ≤ {PAGE_BUDGET_MB:g} MB: {_verdict(page, PAGE_BUDGET_MB)}",
            )
            _line(out, "est. server work, cache miss s", _stats(r["miss"]))
            _line(out, "est. server work, cache hit (unpickle + 4 charts sent) s", _stats(r["hit"]))
    return {(m, c): results[m][c] for m in methods for c in clocks}


# --------------------------------------------------------------------------------------- browser side

_CHART_BTN = ".js-plotly-plot g.updatemenu-button"

# Installed before a click on Run: milestones in ms after the click event, polled every animation frame.
_ARM_RUN = """() => {
  const b = window.__bench = {t0: null, running: null, chart: null, done: null};
  const btn = [...document.querySelectorAll("[data-testid='stSidebar'] button")]
    .find(x => x.innerText.trim() === 'Run');
  btn.addEventListener('click', () => { if (b.t0 === null) b.t0 = performance.now(); }, {capture: true});
  const tick = () => {
    if (b.t0 !== null) {
      const now = performance.now() - b.t0;
      const state = document.querySelector("[data-testid='stApp']").getAttribute('data-test-script-state');
      if (b.running === null && state !== 'notRunning') b.running = now;
      const play = document.querySelector(".js-plotly-plot g.updatemenu-button");
      if (play && b.chart === null) b.chart = now;
      const gd = play && play.closest('.js-plotly-plot');
      const nf = gd && gd._transitionData ? gd._transitionData._frames.length : 0;
      if (play && nf && state === 'notRunning') { b.done = now; b.nFrames = nf; return; }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

# Installed before pressing Play: slider position samples (every 20 ms) and Plotly's animatingframe events.
_ARM_PLAY = """() => {
  const gd = document.querySelector(".js-plotly-plot g.updatemenu-button").closest('.js-plotly-plot');
  const p = window.__play = {t0: null, samples: [], events: []};
  const btn = gd.querySelector('g.updatemenu-button');
  btn.addEventListener('click', () => { if (p.t0 === null) p.t0 = performance.now(); }, {capture: true});
  if (gd.on) gd.on('plotly_animatingframe', e => p.events.push([performance.now(), e.name]));
  const cur = () => {
    const t = gd.querySelector('g.slider-group > text.slider-label');
    const s = gd._fullLayout && gd._fullLayout.sliders && gd._fullLayout.sliders[0];
    return (t ? t.textContent : '') + '|' + (s ? s.active : '');
  };
  p.timer = setInterval(() => p.samples.push([performance.now(), cur()]), 20);
}"""

_COLLECT_PLAY = """(windowMs) => {
  const p = window.__play; clearInterval(p.timer);
  if (p.t0 === null) return null;
  const inWin = xs => xs.filter(([t]) => t >= p.t0 && t <= p.t0 + windowMs);
  const values = new Set(inWin(p.samples).map(([, v]) => v));
  const ev = inWin(p.events);
  return {distinct: values.size, events: ev.length, samples: inWin(p.samples).length,
          example: [...values].slice(0, 3)};
}"""

# (the first time it holds, in the page's clock: the harness's own delay before it clicks is not the app's)
_PREVIEW_READY = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  const ready = app && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelector(".js-plotly-plot .main-svg") !== null;
  if (ready && window.__previewAt === undefined) window.__previewAt = performance.now();
  return ready;
}"""


class _WsCounter:
    """Bytes the page receives over its websockets (Streamlit's ForwardMsgs)."""

    def __init__(self, page) -> None:
        self.bytes = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        self.bytes += len(payload) if isinstance(payload, bytes | bytearray) else len(payload.encode())


_PAGE_STATE = """() => {
  const a = document.querySelector("[data-testid='stApp']");
  const exc = document.querySelector("[data-testid='stException']");
  return {connection: a && a.getAttribute('data-test-connection-state'),
          script: a && a.getAttribute('data-test-script-state'),
          charts: document.querySelectorAll(".js-plotly-plot").length,
          play: document.querySelectorAll(".js-plotly-plot g.updatemenu-button").length,
          exception: exc ? exc.innerText.slice(0, 2000) : null, url: location.href};
}"""


def _wait(page, js: str, what: str, timeout_ms: int) -> None:
    """page.wait_for_function, with the page's state in the error on a timeout."""
    from playwright.sync_api import TimeoutError as PwTimeout

    try:
        page.wait_for_function(js, timeout=timeout_ms)
    except PwTimeout as exc:
        try:
            state = page.evaluate(_PAGE_STATE)
        except Exception as e:  # the page itself may be gone
            state = f"(page state unavailable: {e})"
        raise RuntimeError(f"timed out after {timeout_ms} ms waiting for {what}; page state: {state}") from exc


def _open_bare(browser, url: str, timeout_ms: int):
    """New context (= new session), open the bare URL, wait for the preview; -> (context, page, ws, seconds)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    ws = _WsCounter(page)
    t0 = time.perf_counter()
    page.goto(url)
    _wait(page, _PREVIEW_READY, "the target preview", timeout_ms)
    return context, page, ws, time.perf_counter() - t0


def _click_run(page, ws: _WsCounter, timeout_ms: int) -> dict:
    """Click Run; wait until the race is playable; -> milestones (s) and websocket MB."""
    page.evaluate(_ARM_RUN)
    before = ws.bytes
    t0 = time.perf_counter()
    page.get_by_test_id("stSidebar").get_by_role("button", name="Run", exact=True).click()
    _wait(page, "() => window.__bench.done !== null", "the race to be playable", timeout_ms)
    py_s = time.perf_counter() - t0
    b = page.evaluate("() => ({...window.__bench, ready: window.__previewAt ?? null})")
    exc = page.get_by_test_id("stException")
    if exc.count():
        raise RuntimeError(f"Streamlit exception on page:\n{exc.first.inner_text()}")
    return {
        "done": b["done"] / 1e3,
        # from the navigation's start (performance.now()'s origin) to the preview drawn, then click -> playable: the
        # harness's delay between the two (Playwright finding the button by its role: ~0.1-0.2 s on the Playground's
        # sidebar, less on the one-chart app's) is left out, and reported as "harness"
        "page": ((b["ready"] if b["ready"] is not None else b["t0"]) + b["done"]) / 1e3,
        "harness": (b["t0"] - b["ready"]) / 1e3 if b["ready"] is not None else None,
        "chart": b["chart"] / 1e3,
        "running": (b["running"] or 0) / 1e3,
        "py": py_s,
        "ws_mb": (ws.bytes - before) / 1e6,
        "n_frames": b.get("nFrames"),
    }


def _playback(page) -> dict | None:
    page.evaluate(_ARM_PLAY)
    page.locator(_CHART_BTN).first.click()
    page.wait_for_timeout(PLAY_WINDOW_MS + 150)
    return page.evaluate(_COLLECT_PLAY, PLAY_WINDOW_MS)


def _load() -> str:
    try:
        return f"load average (1 min) {os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):
        return "load average n/a"


def _chromium_version(path: str) -> str:
    try:
        res = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        return " ".join(res.stdout.split()) or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unavailable"


def _one_server(browser, server, rec: dict, timeout_ms: int) -> None:
    """First view + cold click + playback in one session, then a cache-hit click in a new session."""
    context, page, ws, first_s = _open_bare(browser, server.url, timeout_ms)
    try:
        rec["first"].append(first_s)
        rec["cold"].append(_click_run(page, ws, timeout_ms))
        rec["play"].append(_playback(page))
    finally:
        context.close()
    context, page, ws, _ = _open_bare(browser, server.url, timeout_ms)
    try:
        rec["hit"].append(_click_run(page, ws, timeout_ms))
    finally:
        context.close()


def browser_side(repeats: int = 3, out: Printer = print, timeout_ms: int = 60_000) -> dict:
    """Fresh server per repeat: first view, cold click (a), cache-hit click (b) in a new session, playback rate."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS, StreamlitServer

    rec: dict = {k: [] for k in ("first", "cold", "hit", "play")}
    out(f"== Browser: click Run -> race playable, defaults, headless Chromium 1280x720, {repeats} fresh server(s) ==")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for rep in range(repeats):
                server = StreamlitServer(f"bench-playground-{rep}")
                try:
                    _one_server(browser, server, rec, timeout_ms)
                except Exception as exc:
                    tail = server.log_tail()
                    raise RuntimeError(f"{exc}\n--- server log tail ({server.log_path}) ---\n{tail}") from exc
                finally:
                    server.stop()
        finally:
            browser.close()

    def col(kind, key):
        return [r[key] for r in rec[kind]]

    _line(out, "first page view, bare URL (goto -> preview drawn) s", _stats(rec["first"]))
    for kind, label, budget in (("cold", "a. empty cache", COLD_BUDGET_S), ("hit", "b. cache hit", HIT_BUDGET_S)):
        done = col(kind, "done")
        med = statistics.median(done) if done else None
        _line(out, f"{label}: click -> playable s", f"{_stats(done)}  budget ≤ {budget:g} s: {_verdict(med, budget)}")
        _line(out, f"{label}: click -> script running s", _stats(col(kind, "running")))
        _line(out, f"{label}: click -> Play button drawn s", _stats(col(kind, "chart")))
        _line(out, f"{label}: click -> playable, Python-side wall s", _stats(col(kind, "py")))
        _line(out, f"{label}: websocket bytes received MB", _stats(col(kind, "ws_mb")))
    plays = [p for p in rec["play"] if p]
    nominal = PLAY_WINDOW_MS / figures.FRAME_MS
    distinct = [p["distinct"] for p in plays]
    events = [p["events"] for p in plays]
    _line(
        out,
        f"playback: distinct slider positions in {PLAY_WINDOW_MS / 1e3:g} s",
        f"{_stats(distinct, '{:.0f}')}  (nominal {nominal:.0f} at {figures.FRAME_MS} ms/frame)",
    )
    _line(
        out,
        "playback: frames/s (plotly_animatingframe events)",
        f"{_stats([e / (PLAY_WINDOW_MS / 1e3) for e in events], '{:.1f}')}  (nominal {1e3 / figures.FRAME_MS:.1f})",
    )
    return rec


# --------------------------------------------------------------------------------------- the floor

FLOOR_APP = "benchmarks/floor_app.py"
FLOOR_GOAL = 1.5  # Run -> playable within this many times the one-chart app's
# Chrome trace categories: the main thread's tasks, and V8's sampling profiler for where script time goes
TRACE_CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "v8.execute",
    "disabled-by-default-v8.cpu_profiler",
]
# main-thread work, by the trace event that does it (outermost of these counted, so nothing twice)
_WORK = {
    "FunctionCall": "script",
    "EvaluateScript": "script",
    "v8.compile": "script",
    "v8.compileModule": "script",
    "EventDispatch": "script",
    "TimerFire": "script",
    "FireAnimationFrame": "script",
    "RunMicrotasks": "script",
    "V8.Execute": "script",
    "ParseHTML": "parse",
    "UpdateLayoutTree": "style",
    "Layout": "layout",
    "PrePaint": "paint",
    "Paint": "paint",
    "Layerize": "paint",
    "UpdateLayer": "paint",
    "CompositeLayers": "paint",
    "Commit": "paint",
    "MajorGC": "gc",
    "MinorGC": "gc",
    "V8.GC_MC_BACKGROUND_EVACUATE_COPY": "gc",
}


def trace_breakdown(trace: bytes, t0_us: float | None = None, t1_us: float | None = None) -> dict:
    """Where the renderer's main thread spent a Chrome trace (Playwright's browser.start/stop_tracing): seconds per
    kind of work (script, style, layout, paint, gc, parse; the outermost such event counted, so nothing twice), its
    busy and idle time over the window, and the script time by the file its functions came from (self time from
    the sampling profiler: Plotly's chunk against Streamlit's and React's)."""
    import json

    events = json.loads(trace)["traceEvents"]
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") ==
             "thread_name"}  # fmt: skip
    mains = [k for k, v in names.items() if v == "CrRendererMain"]
    busiest = max(mains, key=lambda k: sum(1 for e in events if (e.get("pid"), e.get("tid")) == k))
    xs = sorted(
        (e for e in events if (e.get("pid"), e.get("tid")) == busiest and e.get("ph") == "X" and "dur" in e),
        key=lambda e: e["ts"],
    )
    lo = t0_us if t0_us is not None else (xs[0]["ts"] if xs else 0)
    hi = t1_us if t1_us is not None else (max(e["ts"] + e["dur"] for e in xs) if xs else 0)
    kinds: dict[str, float] = {}
    end = -1.0
    for e in xs:
        kind = _WORK.get(e["name"])
        if kind is None or e["ts"] < end or e["ts"] < lo or e["ts"] > hi:
            continue
        kinds[kind] = kinds.get(kind, 0.0) + e["dur"] / 1e6
        end = e["ts"] + e["dur"]
    tasks = [e for e in xs if e["name"] in ("RunTask", "ThreadControllerImpl::RunTask") and lo <= e["ts"] <= hi]
    busy = 0.0
    end = -1.0
    for e in tasks:  # RunTask can nest: the outermost only
        if e["ts"] >= end:
            busy += e["dur"] / 1e6
            end = e["ts"] + e["dur"]
    files: dict[str, float] = {}
    nodes: dict[int, str] = {}
    for e in events:
        if e.get("name") != "ProfileChunk" or e.get("pid") != busiest[0]:
            continue
        data = e["args"]["data"]
        for n in data.get("cpuProfile", {}).get("nodes", []):
            url = n.get("callFrame", {}).get("url", "")
            nodes[n["id"]] = url.rsplit("/", 1)[-1].split("?")[0] or "(native or idle)"
        samples = data.get("cpuProfile", {}).get("samples", [])
        for node, dt in zip(samples, data.get("timeDeltas", []), strict=False):
            f = nodes.get(node, "(unknown)")
            files[f] = files.get(f, 0.0) + dt / 1e6
    files.pop("(native or idle)", None)
    return {"window_s": (hi - lo) / 1e6, "busy_s": busy, "kinds": kinds, "files": files}


def floor_pairs(pairs: int = 4, out: Printer = print, timeout_ms: int = 60_000, trace: bool = True) -> dict:
    """The one-chart floor app and the Playground side by side in one Chromium: per pair a fresh page on each, its
    Run clicked, the time to playable (the Play button drawn, the frames held, the script done). One untimed pair
    first (imports, warm-up, the default run's cache). Then, with trace, one traced click on each: where the main
    thread's time went."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS, StreamlitServer

    rec: dict = {"floor": [], "playground": [], "traces": {}}
    out(f"== Floor: click Run -> playable, one-chart app vs the Playground's default, {pairs} pairs ==")
    servers = {"floor": StreamlitServer("bench-floor", script=FLOOR_APP), "playground": StreamlitServer("bench-pg")}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                for k in range(pairs + 1):
                    for name, server in servers.items():
                        context, page, ws, _ = _open_bare(browser, server.url, timeout_ms)
                        try:
                            r = _click_run(page, ws, timeout_ms)
                        finally:
                            context.close()
                        if k:  # pair 0 warms both servers
                            rec[name].append(r)
                if trace:
                    for name, server in servers.items():
                        context, page, ws, _ = _open_bare(browser, server.url, timeout_ms)
                        try:
                            browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
                            r = _click_run(page, ws, timeout_ms)
                            rec["traces"][name] = {"done": r["done"], **trace_breakdown(browser.stop_tracing())}
                        finally:
                            context.close()
            finally:
                browser.close()
    finally:
        for server in servers.values():
            server.stop()
    for key, what in (("page", "page opened -> preview drawn, + click -> playable"), ("done", "click -> playable")):
        floor, pg = [r[key] for r in rec["floor"]], [r[key] for r in rec["playground"]]
        out(f"  {what}:")
        _line(out, "  one-chart app s", _stats(floor))
        _line(out, "  Playground, default run s", _stats(pg))
        ratio = statistics.median(pg) / statistics.median(floor)
        _line(out, "  ratio of the medians", f"{ratio:.2f}x  goal ≤ {FLOOR_GOAL:g}x: {_verdict(ratio, FLOOR_GOAL)}")
        _line(out, "  ratio per pair", _stats([b / a for a, b in zip(floor, pg, strict=True)], "{:.2f}"))
        rec[f"ratio_{key}"] = ratio
    _line(out, "Playground: websocket MB per click", _stats([r["ws_mb"] for r in rec["playground"]]))
    for name in ("floor", "playground"):
        gaps = [r["harness"] for r in rec[name] if r.get("harness") is not None]
        if gaps:
            _line(out, f"{name}: harness, preview drawn -> click s (not counted)", _stats(gaps))
    for name, t in rec["traces"].items():
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in sorted(t["kinds"].items(), key=lambda kv: -kv[1]))
        top = sorted(t["files"].items(), key=lambda kv: -kv[1])[:6]
        out(f"  trace, {name}: playable at {t['done']:.2f} s; main thread busy {t['busy_s']:.2f} s ({kinds})")
        out("    script self time by file: " + ", ".join(f"{f} {v:.2f}" for f, v in top))
    return rec


# --------------------------------------------------------------------------------------- main


# Polled every animation frame from the navigation: the race playable (as _ARM_RUN's "done").
_ARM_OPEN = """() => {
  const b = (window.__open = {done: null});
  const tick = () => {
    const app = document.querySelector("[data-testid='stApp']");
    const state = app && app.getAttribute('data-test-script-state');
    const play = document.querySelector(".js-plotly-plot g.updatemenu-button");
    const gd = play && play.closest('.js-plotly-plot');
    const nf = gd && gd._transitionData ? gd._transitionData._frames.length : 0;
    if (play && nf && state === 'notRunning') { b.done = performance.now(); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""

LESSON_GOAL = 2.0


def _open_link(browser, url: str, timeout_ms: int) -> float:
    """Seconds from navigating a fresh page (a new session) to ``url`` to its race playable."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(timeout_ms)
    context.add_init_script(f"({_ARM_OPEN})()")
    try:
        page = context.new_page()
        page.goto(url)
        _wait(page, "() => window.__open && window.__open.done !== null", "the race to be playable", timeout_ms)
        return page.evaluate("() => window.__open.done") / 1e3
    finally:
        context.close()


def _served(lessons: bool, log) -> tuple[subprocess.Popen, str, list[str]]:
    """``python -m ui.serve`` on a free port, output to the file ``log``, lesson warm-up on or off; -> (process,
    url, its options)."""
    from ui.serve import free_port

    port = free_port()
    args = ["--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "UI_SERVE_LESSONS": "1" if lessons else "0"}
    proc = subprocess.Popen([sys.executable, "-m", "ui.serve", *args], stdout=log, stderr=subprocess.STDOUT, env=env)
    return proc, f"http://127.0.0.1:{port}", args


def fresh_lessons(out: Printer = print, timeout_ms: int = 120_000) -> dict:
    """The first frame of every lesson's link against the default link's, on fresh servers (section 4 above)."""
    import tempfile
    import urllib.parse

    from playwright.sync_api import sync_playwright

    from tests.e2e.helpers import CHROMIUM, CHROMIUM_ARGS
    from ui.lessons import LESSONS
    from ui.serve import check, stop

    links = [("default link", "target=gaussian&run=1")]
    links += [(x.title, urllib.parse.urlencode(x.query)) for x in LESSONS]
    rec: dict = {}
    with tempfile.TemporaryDirectory() as log_dir, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for mode, lessons in (("ready", True), ("cold", False)):
                log_path = os.path.join(log_dir, f"{mode}.log")
                log = open(log_path, "wb")  # closed with the server, below
                proc, url, args = _served(lessons, log)
                t0 = time.perf_counter()
                try:
                    if mode == "ready":
                        while check(args, quiet=True) != 0:  # what the Docker image's HEALTHCHECK waits for
                            if proc.poll() is not None or time.perf_counter() - t0 > 300:
                                raise RuntimeError(f"ui.serve never became ready; see {log_path}")
                            time.sleep(0.5)
                        out(f"== Lesson links on a fresh server, once `python -m ui.serve --check` passes "
                            f"({time.perf_counter() - t0:.1f} s after start) ==")  # fmt: skip
                    else:
                        while "ui.serve: warm" not in open(log_path, errors="replace").read():
                            if proc.poll() is not None or time.perf_counter() - t0 > 300:
                                raise RuntimeError(f"ui.serve never warmed; see {log_path}")
                            time.sleep(0.2)
                        since = time.perf_counter() - t0
                        out(f"== The same with UI_SERVE_LESSONS=0, just after the default warm-up ({since:.1f} s "
                            "after start): each lesson's first visitor ==")  # fmt: skip
                    times = [(name, _open_link(browser, f"{url}/?{q}", timeout_ms)) for name, q in links]
                finally:
                    stop(proc)
                    log.close()
                base = times[0][1]
                for name, t in times:
                    ratio = t / base
                    goal = f"  goal ≤ {LESSON_GOAL:g}x: {_verdict(ratio, LESSON_GOAL)}"
                    verdict = "" if name == "default link" else goal
                    _line(out, f"  {name[:44]} s", f"{t:.2f}  ({ratio:.2f}x){verdict}", width=50)
                rec[mode] = times
        finally:
            browser.close()
    return rec


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.playground", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="repeats of each measurement (default 3)")
    p.add_argument("--no-browser", action="store_true", help="only the in-process server-side part")
    p.add_argument(
        "--floor",
        action="store_true",
        help="only the floor comparison: the one-chart app and the Playground, click -> playable",
    )
    p.add_argument("--pairs", type=int, default=4, help="pairs of the floor comparison (default 4)")
    p.add_argument("--no-trace", action="store_true", help="the floor comparison without its traced clicks")
    p.add_argument(
        "--lessons", action="store_true", help="only: every lesson's link on a fresh server against the default link"
    )
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def main(argv=None) -> int:
    args = _parse(argv)
    t_start = time.perf_counter()
    import plotly
    import streamlit

    versions = f"Python {platform.python_version()} | streamlit {streamlit.__version__} | plotly {plotly.__version__}"
    if not args.no_browser:
        from importlib.metadata import version

        from tests.e2e.helpers import CHROMIUM

        versions += f" | playwright {version('playwright')} | {_chromium_version(CHROMIUM)}"
    print(f"{versions} | {os.cpu_count()} CPUs | {platform.machine()} {platform.system()} | {_load()}")
    sys.stdout.flush()
    if args.floor or args.lessons:
        if args.floor:
            floor_pairs(args.pairs, trace=not args.no_trace)
        if args.lessons:
            fresh_lessons()
        print(f"({_load()} after) Benchmark wall time: {time.perf_counter() - t_start:.1f} s")
        return 0
    server_side(args.repeats)
    sys.stdout.flush()
    if not args.no_browser:
        print(f"({_load()} before the browser part: other processes skew browser timings on a small machine)")
        browser_side(args.repeats)
        print(f"({_load()} after the browser part)")
    print(f"Benchmark wall time: {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
