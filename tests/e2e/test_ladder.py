"""The Ladder page in Chromium: a deep link to a target shows its recorded ladder, the chart drawn by Plotly, the
table and the generated sentence, on a desktop and on a phone (nothing wider than the screen)."""

import pytest
from playwright.sync_api import expect

from ui.compute import RECORDED_LADDERS
from vi_core.ladder import read_recorded, sentence

from .helpers import assert_no_exception, screenshot, wait_for_app


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_ladder_deep_link_shows_the_recorded_ladder(app_server, e2e_new_page, width, height):
    page = e2e_new_page(width=width, height=height)
    page.goto(f"{app_server}/Ladder?target=ring")
    wait_for_app(page)
    assert_no_exception(page)
    lad = read_recorded(RECORDED_LADDERS)["ladders"]["ring"]
    chart = page.get_by_test_id("stPlotlyChart")
    expect(chart).to_have_count(1)
    expect(chart.locator(".main-svg").first).to_be_attached()
    # eleven series: nine rungs (one marker each) and two samplers
    assert page.locator(".legend .traces").count() == 11
    expect(page.get_by_text("Most accurate for the time", exact=False)).to_be_visible()
    shown = " ".join(page.get_by_test_id("stMarkdown").all_inner_texts())
    assert sentence(lad).split(";")[0] in " ".join(shown.split()), "the generated sentence, as the engine writes it"
    expect(page.get_by_test_id("stTable")).to_have_count(1)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow} px wider than the screen"
    screenshot(page, f"ladder-{width}", full_page=False)
