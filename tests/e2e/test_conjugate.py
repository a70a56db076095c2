"""The worked example opens by deep link and renders its formulas and charts; Markdown, KaTeX and HTML in the
link's query show nowhere.

(A deep link as a fresh server's very first request is tests/e2e/test_lessons.py; pages share one list.)"""

from urllib.parse import urlencode

from playwright.sync_api import expect

from .helpers import JUNK_QUERY, assert_equal_scales, assert_nothing_injected, screenshot, wait_for_app


def test_conjugate_page_deep_link(app_server, e2e_page):
    url = app_server
    page = e2e_page  # 1280 x 800: a laptop, or a classroom projector
    page.goto(f"{url}/Conjugate_example?{urlencode(JUNK_QUERY)}")  # the page reads nothing from the URL
    wait_for_app(page)
    assert_nothing_injected(page)
    expect(page.locator(".katex").first).to_be_visible()
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(5)
    for i in range(5):  # each chart drew its Plotly SVG
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(3)
    screenshot(page, "conjugate", full_page=False)
    assert_equal_scales(page, "conjugate_example")
