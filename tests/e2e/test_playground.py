"""The Playground in real Chromium against `streamlit run`: run, play, export, share.

(Phone width and a link with a bad value: tests/e2e/test_race_truth.py, which draws every page at 390 px.)"""

import re

from playwright.sync_api import Page, expect

from .helpers import assert_no_exception, screenshot, wait_for_app


def _sidebar(page: Page):
    return page.get_by_test_id("stSidebar")


def _run(page: Page) -> None:
    _sidebar(page).get_by_role("button", name="Run").click()
    wait_for_app(page)
    expect(page.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)


def _vi_title(page: Page) -> str:
    return page.get_by_test_id("stPlotlyChart").first.locator("g.textpoint text").first.text_content()


def test_run_then_play_moves_the_animation(app_server, e2e_page):
    page = e2e_page
    page.goto(app_server)
    wait_for_app(page)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(1)  # the target, before any Run
    screenshot(page, "playground-before-run", full_page=False)
    _run(page)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(4)  # race, accuracy, two marginals
    before = _vi_title(page)
    assert "step 0/" in before
    screenshot(page, "playground-after-run", full_page=False)
    page.locator("g.updatemenu-button").first.click()  # ▶ Play
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stPlotlyChart'] g.textpoint text\")"
        ".textContent.includes('step 0/')",
        timeout=15_000,
    )
    page.wait_for_timeout(800)
    assert _vi_title(page) != before
    # the target's contour lines survive the animation (Plotly's contour traces would not)
    lines = page.get_by_test_id("stPlotlyChart").first.locator(".scatterlayer .trace path.js-line")
    assert lines.count() >= 2
    screenshot(page, "playground-playing", full_page=False)
    # the exports are built on click (callables): the file still arrives, with its header
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").first.locator("button").click()
    assert download.value.suggested_filename == "mcmc_samples.csv"
    with open(download.value.path()) as f:
        assert f.readline().strip() == "step,walker,z1,z2,after_burn_in"
    assert_no_exception(page)


def test_shared_link_restores_the_settings(app_server, e2e_page, e2e_new_page):
    page = e2e_page
    page.goto(app_server)
    wait_for_app(page)
    _sidebar(page).get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name=re.compile("^banana")).click()
    wait_for_app(page)
    _sidebar(page).get_by_text("Gaussian VI, full-rank").click()
    _sidebar(page).get_by_text("Random-walk Metropolis").click()
    _run(page)
    link = page.url
    assert "target=banana" in link and "vi=gauss-fr" in link and "mcmc=rwm" in link

    other = e2e_new_page()
    other.goto(link)
    wait_for_app(other)
    expect(other.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    side = _sidebar(other)
    expect(side.get_by_role("combobox", name="Target posterior")).to_have_value(re.compile("^banana"))
    assert side.get_by_role("radio", name="Gaussian VI, full-rank").is_checked()
    assert side.get_by_role("radio", name="Random-walk Metropolis").is_checked()
    expect(other.get_by_text("Gaussian VI, full-rank — q")).to_be_visible()
    assert_no_exception(other)
    screenshot(other, "playground-shared-link", full_page=False)
