"""Fixtures for the end-to-end tests: a real Streamlit server and a real headless Chromium.

Names carry an `e2e_` prefix (apart from the server fixtures) so they never clash with pytest-playwright's
`browser`/`page` fixtures if that plugin happens to be installed; nothing here depends on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from .helpers import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, StreamlitServer, screenshot

E2E_DIR = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e as `e2e`; skip them without Chromium unless in CI."""
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found (apt-get install chromium); set CI=true to fail instead")
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if not IN_CI and not Path(CHROMIUM).exists():
                item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item so page fixtures can screenshot failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def app_server() -> Iterator[str]:
    """Base URL (http://127.0.0.1:<port>) of one `streamlit run app.py` shared by the session."""
    server = StreamlitServer("app")
    yield server.url
    server.stop()


@pytest.fixture
def fresh_app_server() -> Iterator[Callable[..., str]]:
    """Factory: `url = fresh_app_server()` starts a brand-new server (e.g. for deep links); stopped after the test."""
    servers: list[StreamlitServer] = []

    def start(name: str = "fresh") -> str:
        servers.append(StreamlitServer(name))
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def e2e_browser() -> Iterator[Browser]:
    """Debian's headless Chromium driven by playwright.sync_api (no bundled browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"CI is set but {CHROMIUM} is missing: the e2e tests must run in CI")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def e2e_context(e2e_browser: Browser) -> Iterator[BrowserContext]:
    """One browser context per test process: its HTTP and compiled-code caches keep Streamlit's and Plotly's
    scripts between tests (a page load costs Chromium ~1.5 s less CPU). Each page is still its own
    Streamlit session; the app keeps nothing in cookies or storage that one test could leave for another."""
    # Reduced motion, as a visitor may set it: Streamlit then stops its CSS animations (the skeletons' shimmer, the
    # running indicator), which software compositing otherwise redraws at 60 frames a second for as long as a run
    # lasts: ~3-4 s of Chromium CPU per Playground run, a tenth of this suite's CPU. The race's animation is Plotly's
    # JavaScript, not CSS, and plays the same (the replay tests play it).
    context = e2e_browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def e2e_new_page(e2e_context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """Factory: `page = e2e_new_page(width=390, height=844)` opens a page (closed after the test). Any dialog a
    page opens (alert, confirm: an injected script would) is dismissed and fails the test."""
    before = set(e2e_context.pages)
    dialogs: list[str] = []

    def new_page(width: int = 1280, height: int = 800) -> Page:
        page = e2e_context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.set_viewport_size({"width": width, "height": height})
        return page

    yield new_page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for j, page in enumerate(p for p in e2e_context.pages if p not in before):  # popups included
        if failed:  # the picture usually explains the failure faster than the traceback
            try:
                screenshot(page, f"FAILED-{request.node.name}-{j}")
            except Exception:  # best effort; never mask the real failure
                pass
        page.close()
    assert dialogs == [], f"a page opened a dialog: {dialogs}"


@pytest.fixture
def e2e_page(e2e_new_page: Callable[..., Page]) -> Page:
    """A 1280x800 page (helpers.SIZES["desktop"]: the equal-scale check starts there without a relayout) with a
    30 s default timeout, closed after the test."""
    return e2e_new_page()
