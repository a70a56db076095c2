"""The Scaling page in Chromium: a deep link runs the live sweep with a progress bar and draws its three charts.

(A deep link as a fresh server's very first request is tests/e2e/test_lessons.py; pages share one list.)"""

import time

from playwright.sync_api import expect

from .helpers import assert_no_exception, screenshot, wait_for_app


def test_scaling_deep_link_runs_the_live_sweep(app_server, e2e_new_page):
    url = app_server
    page = e2e_new_page(width=1280, height=800)  # a taller window costs the compositor seconds
    t0 = time.perf_counter()
    page.goto(f"{url}/Scaling?data=synthetic&centred=1&n=1000&run=1")  # ~3 s live: the bar is seen
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)  # live progress while it runs
    wait_for_app(page, timeout_ms=90_000)
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(3)
    for i in range(3):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached()
    print(f"Scaling page: results drawn {time.perf_counter() - t0:.1f} s after the request")
    assert_no_exception(page)
    screenshot(page, "scaling", full_page=False)
