"""The presenter view in Chromium: a lesson link with view=present fits a projector, the keyboard works at once,
and full screen keeps the animation."""

import pytest
from playwright.sync_api import Page, expect

from ui.lessons import LESSONS

from .helpers import RACE, assert_no_exception, race_frame, screenshot, wait_for_app, wait_frame

# every text of the race's SVG (tick labels, titles, the status lines, the gauge's labels, Play/Pause, the slider)
_FONT_SIZES_JS = """gd => Array.from(gd.querySelectorAll('svg text'))
  .filter(t => t.textContent.trim() && t.getBBox().width > 0)
  .map(t => [t.textContent.trim().slice(0, 30), parseFloat(getComputedStyle(t).fontSize)])"""

_BOXES_JS = """gd => Object.fromEntries([
  ['vi panel', '.draglayer .xy .nsewdrag'], ['mcmc panel', '.draglayer .x2y2 .nsewdrag'],
  ['gauge', '.draglayer .x5y5 .nsewdrag'],
  ['play', 'g.updatemenu-button'], ['slider', '.slider-container'],
].map(([name, sel]) => { const r = gd.querySelector(sel).getBoundingClientRect();
  return [name, [r.left, r.top, r.right, r.bottom]]; }))"""


def _replays(page: Page) -> None:
    """Every frame is still there, Home goes to the first and Space plays from it."""
    assert page.locator(RACE).evaluate("gd => gd._transitionData._frames.length") == 40
    page.keyboard.press("Home")
    wait_frame(page, "k === 0")
    page.keyboard.press("Space")
    wait_frame(page, "k > 2")


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_presenter_view_fits_the_projector_and_keeps_the_animation_in_full_screen(
    app_server, e2e_new_page, width, height
):
    lesson = LESSONS[0]
    page: Page = e2e_new_page(width, height)
    page.goto(f"{app_server}/{lesson.present_href[2:]}")
    wait_for_app(page)
    race = page.locator(RACE)
    expect(race.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    assert_no_exception(page)
    screenshot(page, f"present-{width}x{height}", full_page=False)

    # everything the room needs is inside the window, without scrolling
    boxes = race.evaluate(_BOXES_JS)
    for name, (left, top, right, bottom) in boxes.items():
        assert 0 <= left and right <= width and 0 <= top and bottom <= height, (name, boxes[name], width, height)
    assert page.evaluate("window.scrollY") == 0
    sizes = race.evaluate(_FONT_SIZES_JS)
    small = [(t, s) for t, s in sizes if s < 18]
    assert len(sizes) > 20 and not small, small
    # the sidebar is closed and Streamlit's developer menu is not offered
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    expect(page.get_by_test_id("stAppDeployButton")).to_have_count(0)

    # the keyboard works at once: no click, no Tab
    assert race_frame(page)[0] == 0
    page.keyboard.press("ArrowRight")
    wait_frame(page, "k === 1")
    page.keyboard.press("Space")
    wait_frame(page, "k > 3")
    page.keyboard.press("Space")  # pause

    # full screen on the chart's own container: the same plot, frames and all
    race_host = page.locator(".st-key-race")
    race_host.locator(".animation-fullscreen").click()
    page.wait_for_function("document.fullscreenElement && document.fullscreenElement.matches('.st-key-race')")
    _replays(page)
    page.keyboard.press("End")
    wait_frame(page, "k === n - 1 && !playing")
    screenshot(page, f"present-fullscreen-{width}x{height}", full_page=False)
    page.evaluate("document.exitFullscreen()")
    page.wait_for_function("!document.fullscreenElement")
    # back on the page: it still plays and scrubs
    _replays(page)
    drag = page.locator(RACE + " .slider-rail-touch-rect")
    box = drag.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    wait_frame(page, "k >= 17 && k <= 22")
    assert_no_exception(page)


def test_on_a_phone_run_closes_the_sidebar_and_play_keeps_clear_of_the_slider(app_server, e2e_new_page):
    page: Page = e2e_new_page(390, 844)
    page.goto(f"{app_server}/?target=gaussian&walkers=16&mcmc_steps=200&vi_steps=100")  # a bare link: no run yet
    wait_for_app(page)
    side = page.get_by_test_id("stSidebar")
    if side.get_attribute("data-collapsed") == "true":
        page.get_by_test_id("stExpandSidebarButton").click()
    expect(side).to_have_attribute("data-collapsed", "false")
    side.get_by_role("button", name="Run").click()
    race = page.locator(RACE)
    expect(race.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    expect(side).to_have_attribute("data-collapsed", "true")  # the race is what the reader sees after Run
    # Play/Pause on their own row: neither button overlaps the slider's rail or grip
    boxes = race.evaluate(
        """gd => [...Array.from(gd.querySelectorAll('g.updatemenu-button')),
                  gd.querySelector('.slider-rail-rect'), gd.querySelector('.slider-grip-rect')]
            .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"""
    )
    *buttons, rail, grip = boxes
    for b in buttons:
        for other in (rail, grip):
            apart = b[2] <= other[0] or other[2] <= b[0] or b[3] <= other[1] or other[3] <= b[1]
            assert apart, (b, other)
    screenshot(page, "phone-after-run", full_page=False)
    assert_no_exception(page)
