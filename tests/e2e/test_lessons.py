"""The Lessons page in Chromium: a deep link on a fresh server, and a reader's click restores the scenario.

That every other lesson's link restores its own scenario is checked through AppTest (tests/app/test_lessons.py)."""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from playwright.sync_api import Page, expect

from ui.lessons import LESSONS
from vi_core.api import MCMC_LABELS, VI_LABELS

from .helpers import (
    JUNK_QUERY,
    assert_equal_scales,
    assert_moves_drawn_at_the_end,
    assert_no_exception,
    assert_nothing_injected,
    screenshot,
    wait_for_app,
)


def _check_playground(page: Page, lesson) -> None:
    """The Playground shows the lesson's target and methods, has run, and its address is the lesson's link."""
    wait_for_app(page)
    expect(page.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    side = page.get_by_test_id("stSidebar")
    name = lesson.spec.target.name
    expect(side.get_by_role("combobox", name="Target posterior")).to_have_value(re.compile(f"^{name} "))
    expect(side.get_by_role("radio", name=VI_LABELS[lesson.spec.vi])).to_be_checked()
    expect(side.get_by_role("radio", name=MCMC_LABELS[lesson.spec.mcmc])).to_be_checked()
    # after the run the Playground rewrites the address from what it ran: equal means every setting was restored
    assert dict(parse_qsl(urlsplit(page.url).query)) == lesson.query
    assert_no_exception(page)


def test_lessons_deep_link_and_a_click_restores_the_scenario(fresh_app_server, e2e_page):
    url = fresh_app_server("lessons")
    page = e2e_page
    page.goto(f"{url}/Lessons?{urlencode(JUNK_QUERY)}")  # the page reads nothing from the URL
    wait_for_app(page)
    assert_nothing_injected(page)
    links = page.get_by_role("link", name="Open in the Playground")
    expect(links).to_have_count(len(LESSONS))
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(len(LESSONS))
    screenshot(page, "lessons", full_page=False)
    hrefs = [links.nth(i).evaluate("a => a.href") for i in range(len(LESSONS))]  # resolved by the browser
    codes = page.get_by_test_id("stCode")
    for i, href in enumerate(hrefs):
        assert href.startswith(f"{url}/?target="), href
        expect(codes.nth(i)).to_have_text(href)  # the shareable address is the link itself

    # a reader's click: the button opens the Playground in a new tab (the HMC lesson: its leapfrog paths are drawn)
    k = next(i for i, lesson in enumerate(LESSONS) if lesson.spec.mcmc == "hmc")
    with page.context.expect_page() as popup:
        links.nth(k).click()
    _check_playground(popup.value, LESSONS[k])
    assert_moves_drawn_at_the_end(popup.value)
    screenshot(popup.value, "lessons-hmc-link", full_page=False)
    assert_equal_scales(page, "lessons")
