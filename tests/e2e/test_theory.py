"""The Theory page opens by deep link: KaTeX rendered, figures drawn, no exception, and a link with
Markdown, KaTeX and HTML in its query shows none of it.

(A deep link as a fresh server's very first request is tests/e2e/test_lessons.py; pages share one list.)"""

from urllib.parse import urlencode

from playwright.sync_api import expect

from .helpers import JUNK_QUERY, assert_equal_scales, assert_nothing_injected, wait_for_app


def test_theory_deep_link(app_server, e2e_new_page):
    url = app_server
    # A desktop window: a window as tall as the page (for a whole-page picture) costs Chromium's compositor ~4 s
    # of CPU more per load; the pictures are the equal-scale check's, at a desktop's and a phone's width.
    e2e_page = e2e_new_page(width=1280, height=800)
    e2e_page.goto(f"{url}/Theory?{urlencode(JUNK_QUERY)}")  # the page reads nothing from the URL
    wait_for_app(e2e_page)
    assert_nothing_injected(e2e_page)
    expect(e2e_page.get_by_text("Theory: the ELBO, the KL and the CAVI update")).to_be_visible()
    # KaTeX: the derivation blocks and the metric labels render as .katex elements, not raw TeX
    assert e2e_page.locator(".katex-display").count() >= 9, "the nine display equations"
    assert e2e_page.get_by_test_id("stMetricLabel").locator(".katex").count() == 5, "the five metric labels"
    expect(e2e_page.locator(".katex-error")).to_have_count(0)  # KaTeX marks TeX it could not parse
    # the live figure and the two KL-fit figures, each drawn by Plotly
    charts = e2e_page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(3)
    for i in range(3):
        expect(charts.nth(i).locator("g.scatterlayer")).to_have_count(1)
    expect(e2e_page.get_by_test_id("stDataFrame")).to_have_count(2)
    assert_equal_scales(e2e_page, "theory")
