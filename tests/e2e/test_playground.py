"""The Playground in real Chromium against `streamlit run`: equal scales at desktop and phone width, choose a typed
target, run, play, export, and share the run by its link (two page loads in all)."""

import re

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .helpers import (
    CHART,
    SIZES,
    assert_equal_scales,
    assert_moves_drawn_at_the_end,
    assert_no_exception,
    screenshot,
    wait_for_app,
)

# A banana typed as ln p(x, y), a function call in it (the default box holds its mass); NUTS draws its leapfrog paths.
EXPR = "-x**2/2 - (y - x**2/4)**2 + log(1 + x**2)/4"


def _sidebar(page: Page):
    return page.get_by_test_id("stSidebar")


def _choose(page: Page, label: str, option: re.Pattern) -> None:
    """Pick an option of a sidebar select box. Just after the window is resized the sidebar may still be laying
    out, and a click can land as the list closes again: open it until the option shows (at most three times)."""
    box = _sidebar(page).get_by_role("combobox", name=label)
    for attempt in range(3):
        box.click()
        try:
            page.get_by_role("option", name=option).click(timeout=5_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


# Installed before Run: when the race is drawn (ui.plot marks it) and when the first metric appears (ms).
_ARM_ORDER = """() => {
  const o = (window.__order = {race: null, metric: null});
  const seen = () => {
    const now = performance.now();
    if (o.race === null && document.querySelector(".st-key-race .plot-once[data-drawn] g.updatemenu-button"))
      o.race = now;
    if (o.metric === null && document.querySelector("[data-testid='stMetric']")) o.metric = now;
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def _vi_title(page: Page) -> str:
    return page.locator(CHART).first.locator("g.textpoint text").first.text_content()


def test_choose_run_play_export_and_share(app_server, e2e_new_page):
    width, height = SIZES["desktop"]
    page = e2e_new_page(width, height)
    # short runs (the default's frames and chunking, fewer points to draw): the choices below keep these settings
    page.goto(f"{app_server}/?vi_steps=200&walkers=16&steps=200")
    wait_for_app(page)
    expect(page.get_by_text("Variational inference and MCMC")).to_be_visible()
    expect(page.locator(CHART)).to_have_count(1)  # the target, before any Run
    screenshot(page, "playground-before-run", full_page=False)
    assert_equal_scales(page, "playground-before-run")  # ends at a phone's width
    page.set_viewport_size({"width": width, "height": height})

    # choose a typed target and both methods, then run
    _choose(page, "Target posterior", re.compile("^custom"))
    wait_for_app(page)
    _sidebar(page).get_by_role("textbox", name="ln p(x, y) =").fill(EXPR)
    _sidebar(page).get_by_text("Gaussian VI, full-rank").click()
    _sidebar(page).get_by_text("NUTS (no-U-turn)").click()
    page.evaluate(_ARM_ORDER)
    _sidebar(page).get_by_role("button", name="Run").click()
    wait_for_app(page)
    expect(page.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    expect(page.locator(CHART)).to_have_count(4)  # race, accuracy, two marginals
    # the race is drawn (and its Play button there) before any of the numbers under it is on the page
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    order = page.evaluate("() => window.__order")
    assert order["race"] is not None and order["metric"] is not None, order
    assert order["race"] < order["metric"], order
    before = _vi_title(page)
    assert "step 0/" in before
    screenshot(page, "playground-after-run", full_page=False)

    # ▶ Play moves the animation
    page.locator("g.updatemenu-button").first.click()
    page.wait_for_function(
        f"() => !document.querySelector('{CHART} g.textpoint text').textContent.includes('step 0/')",
        timeout=15_000,
    )
    page.wait_for_timeout(800)
    assert _vi_title(page) != before
    # the target's contour lines survive the animation (Plotly's contour traces would not)
    lines = page.locator(CHART).first.locator(".scatterlayer .trace path.js-line")
    assert lines.count() >= 2
    screenshot(page, "playground-playing", full_page=False)

    # the exports are built on click (callables): the file still arrives, with its header
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").first.locator("button").click()
    assert download.value.suggested_filename == "mcmc_samples.csv"
    with open(download.value.path()) as f:
        assert f.readline().strip() == "step,walker,z1,z2,after_burn_in"
    assert_no_exception(page)

    # the address is the run: opened in another tab, it restores every choice and runs
    link = page.url
    assert "target=custom" in link and "vi=gauss-fr" in link and "mcmc=nuts" in link and "steps=200" in link
    other = e2e_new_page(width, height)
    other.goto(link)
    wait_for_app(other)
    expect(other.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    side = _sidebar(other)
    expect(side.get_by_role("combobox", name="Target posterior")).to_have_value(re.compile("^custom"))
    expect(side.get_by_role("textbox", name="ln p(x, y) =")).to_have_value(EXPR)
    assert side.get_by_role("radio", name="Gaussian VI, full-rank").is_checked()
    assert side.get_by_role("radio", name="NUTS (no-U-turn)").is_checked()
    expect(other.get_by_text("Gaussian VI, full-rank — q")).to_be_visible()
    assert_no_exception(other)
    assert_moves_drawn_at_the_end(other)
    screenshot(other, "playground-shared-link", full_page=False)
    assert_equal_scales(other, "playground-after-run")  # the race and the marginals, desktop then phone
