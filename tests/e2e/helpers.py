"""Helpers for the end-to-end tests: a Streamlit server process and page utilities."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect

from ui import serve

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
# Without the SwiftShader flags a WebGL (Plotly) screenshot can hang in headless Chromium.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


def free_port() -> int:
    """A port the OS considers free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """`streamlit run app.py` on a free port, output to a log file under artifacts/."""

    def __init__(self, name: str = "server", script: str = "app.py", timeout_s: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = ARTIFACTS / f"{name}-{self.port}.log"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "streamlit", "run", script,
            "--server.headless", "true",
            "--server.port", str(self.port),
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ]  # fmt: skip
        # A log file, not a pipe: an unread pipe fills up and blocks the server.
        self._log = self.log_path.open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        try:
            self._wait_healthy(timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1) as r:
                    if r.read().decode().strip() == "ok":
                        return
            except OSError:
                pass  # not listening yet
            time.sleep(0.25)
        raise RuntimeError(f"streamlit not healthy after {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        """The last n lines of the server log."""
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        """Terminate, then kill if it lingers."""
        serve.stop(self.proc, timeout_s=10)
        self._log.close()


def wait_for_app(page: Page, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the script run has finished and everything has rendered."""
    # Before the first run starts the script state already reads notRunning; give the rerun a moment to begin
    # (Streamlit's own e2e suite waits ~210 ms for the same reason), and require the websocket first.
    page.wait_for_timeout(210)
    app = page.locator("[data-testid='stApp']")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout_ms)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)
    for busy in ("stSpinner", "stSkeleton", "stStatusWidget"):
        expect(page.get_by_test_id(busy)).to_have_count(0, timeout=timeout_ms)


def assert_no_exception(page: Page) -> None:
    """Fail with the exception text if Streamlit rendered one."""
    exc = page.get_by_test_id("stException")
    if exc.count():
        raise AssertionError(f"Streamlit exception on page:\n{exc.first.inner_text()}")


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save a PNG to tests/e2e/artifacts/<name>.png and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# ----------------------------------------------------------------------------- the race, read from the page

RACE = ".st-key-race .js-plotly-plot"
# any drawn Plotly chart: st.plotly_chart's or ui.plot's (the Playground's charts)
CHART = ".js-plotly-plot"
_DRAW_NAMES = "['draws', 'burn-in draws']"

# MCMC draws drawn on screen now: points of the draw traces in the MCMC panel with a non-zero opacity.
DRAWN_JS = (
    "gd => { let n = 0; for (const g of gd.querySelectorAll('.subplot.x2y2 .scatterlayer g.trace')) {"
    " const t = g.__data__ && g.__data__[0] && g.__data__[0].trace;"
    f" if (!t || !{_DRAW_NAMES}.includes(t.name)) continue;"
    " for (const p of g.querySelectorAll('path.point')) { const c = getComputedStyle(p);"
    " if (parseFloat(c.opacity) * parseFloat(c.fillOpacity || 1) > 0) n++; } } return n; }"
)
# The draws frame k shows, from the figure's own frames.
EXPECTED_JS = (
    "(gd, k) => { const f = gd._transitionData._frames[k]; let n = 0;"
    " f.traces.forEach((i, j) => { const t = gd._fullData[i];"
    f" if ({_DRAW_NAMES}.includes(t.name) && f.data[j].marker.opacity > 0) n += t.x.length; }}); return n; }}"
)
FRAME_JS = (
    "gd => [gd._fullLayout.sliders[0].active, gd._transitionData._frames.length, !!gd._transitionData._animationRaf]"
)

# Every 2D density subplot (one holding the target's contour lines): pixels per unit on x and on y.
SCALES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd => (gd._fullData || [])
  .filter(t => t.name === 'target p(z|X)' || t.name === 'exact posterior')
  .map(t => {
    const xa = gd._fullLayout[t.xaxis.replace('x', 'xaxis')], ya = gd._fullLayout[t.yaxis.replace('y', 'yaxis')];
    const px = xa._length / Math.abs(xa.range[1] - xa.range[0]);
    const py = ya._length / Math.abs(ya.range[1] - ya.range[0]);
    return {subplot: t.xaxis + t.yaxis, ratio: px / py, ytitle: (ya.title || {}).text || '', width: xa._length,
            height: ya._length};
  }))"""


def wait_frame(page: Page, test: str, timeout: int = 60_000) -> None:
    """Until the race's state passes ``test``, a JavaScript expression over k (the slider's frame), n (frames) and
    playing."""
    page.locator(RACE).evaluate(
        f"(gd, ms) => new Promise((ok, no) => {{ const t0 = Date.now(); (function poll() {{"
        f" const k = gd._fullLayout.sliders[0].active, n = gd._transitionData._frames.length,"
        f" playing = !!gd._transitionData._animationRaf;"
        f" if ({test}) ok(k); else if (Date.now() - t0 > ms) no(new Error('frame ' + k)); else setTimeout(poll, 50);"
        f" }})(); }})",
        timeout,
    )


def race_frame(page: Page) -> tuple[int, int, bool]:
    """(current frame, number of frames, playing?) of the race."""
    return tuple(page.locator(RACE).evaluate(FRAME_JS))


def drawn_and_expected(page: Page) -> tuple[int, int]:
    """MCMC draws on screen, and the number the current frame should show."""
    race = page.locator(RACE)
    k = race_frame(page)[0]
    return race.evaluate(DRAWN_JS), page.evaluate(f"([gd, k]) => ({EXPECTED_JS})(gd, k)", [race.element_handle(), k])


SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def assert_equal_scales(page: Page, name: str) -> None:
    """Every 2D density plot on the page (the target's contours) draws x and y to one scale, at a desktop's
    width and then narrowed to a phone's (Plotly relayouts); a screenshot of each. Panels whose y axis says
    "not to scale" (two kinds of quantity, e.g. Newcomb's mu and ln tau) are exempt."""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)  # Plotly lays out to the final width
        assert_no_exception(page)
        panels = page.evaluate(SCALES_JS)
        assert panels, f"{name} ({size}): no density plot found"
        for p in panels:
            if "not to scale" in p["ytitle"]:
                continue
            assert abs(p["ratio"] - 1) < 0.01, f"{name} ({size}) {p}: x and y drawn to different scales"
            assert p["width"] > 40 and p["height"] > 40, f"{name} ({size}) {p}: squeezed"
        screenshot(page, f"{name}-{width}", full_page=False)


# ----------------------------------------------------------------------------- injected text stays text

ZWSP = "\u200b"
LINK = "[x](https://evil.example)"
IMAGE = "![i](https://evil.example/i.png)"
KATEX = r"$\rule{9999px}{9999px}$"
HTML = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
BOLD = "**b**"
# For pages that read nothing from the URL: their deep-link tests open them with this query, which must come to nothing.
JUNK_QUERY = {"x": LINK, "target": IMAGE, "box": KATEX, "expr": HTML, "seed": SCRIPT}
# what a notice may not hold: links, images, formulas, emphasis, scripts
INJECTED = "a, img, .katex, strong, em, script, iframe, svg image"


def assert_nothing_injected(page: Page, expected: tuple[str, ...] = ()) -> None:
    """No link or image to the payloads' hosts anywhere on the page; the "Ignored" notices quote each expected
    payload as typed and hold no markup; no formula stretched the page. (Dialogs: the e2e_new_page fixture.)"""
    url = page.url
    assert_no_exception(page)
    assert page.locator('a[href*="evil"], img[src*="evil"], img[src="x"], iframe').count() == 0, url
    notices = page.get_by_test_id("stAlert").filter(has_text="Ignored")
    if expected:
        assert notices.count() >= 1, url
    shown = " ".join(t.replace(ZWSP, "") for t in notices.all_inner_texts())
    for payload in expected:
        assert payload in shown, (url, payload, shown[:600])
    for k in range(notices.count()):
        assert notices.nth(k).locator(INJECTED).count() == 0, (url, notices.nth(k).inner_html()[:600])
    # a formula of 9999 px would stretch the page far beyond the window
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width < 3000, (url, width)


# ----------------------------------------------------------------------------- the samplers' moves

# how many points the moves traces (Gibbs' staircase, HMC's and NUTS's leapfrog paths) hold in the current frame
MOVES_JS = (
    "gd => gd._fullData.filter(t => t.name && t.name.startsWith('moves')).reduce((n, t) => n + (t.x || []).length, 0)"
)


def assert_moves_drawn_at_the_end(page: Page) -> None:
    """Scrub the race to its last frame with the keyboard: the sampler's last moves are drawn."""
    page.locator(".st-key-race").focus()
    page.keyboard.press("End")
    wait_frame(page, "k === n - 1")
    page.wait_for_timeout(300)
    assert page.locator(RACE).evaluate(MOVES_JS) > 10
