"""The race tells the truth in a real browser: replays, scrubs and the keyboard show exactly the draws up to the
frame, on both clocks (one page load each). Every page's 2D density plots keep equal scales: each page's own test
calls assert_equal_scales, and a static check below makes sure none is missed."""

import pathlib
import re
from urllib.parse import urlencode

from playwright.sync_api import Page, expect

from ui import nav

from .helpers import (
    BOLD,
    HTML,
    IMAGE,
    KATEX,
    LINK,
    MOVES_JS,
    RACE,
    SCRIPT,
    assert_no_exception,
    assert_nothing_injected,
    drawn_and_expected,
    race_frame,
    screenshot,
    wait_for_app,
    wait_frame,
)


def _open_race(page: Page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    expect(page.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    assert_no_exception(page)


def _slide(page: Page, fraction: float) -> None:
    """A mouse click on the slider's rail, at this fraction of its length."""
    rail = page.locator(f"{RACE} g.slider-group rect.slider-rail-touch-rect").first
    rail.evaluate("el => el.scrollIntoView({block: 'center'})")
    box = rail.bounding_box()
    page.mouse.click(box["x"] + 2 + fraction * (box["width"] - 4), box["y"] + box["height"] / 2)


def _assert_frame_shows_its_draws(page: Page) -> None:
    page.wait_for_timeout(300)
    drawn, expected = drawn_and_expected(page)
    assert drawn == expected, f"frame {race_frame(page)[0]}: {drawn} draws on screen, the frame has {expected}"


# Every key the Playground reads, each with a payload (the defaults replace them all)
PAYLOADS = {"target": LINK, "p_rho": IMAGE, "vi": KATEX, "mcmc": HTML, "clock": SCRIPT, "box": BOLD}
# A short run: the same frames and chunking as the default, fewer points for software rendering to redraw.
SHORT = "&vi_steps=200&walkers=16&steps=200&run=1"


def test_scrubs_and_keys_on_the_iteration_clock_show_exactly_the_draws_up_to_the_frame(app_server, e2e_new_page):
    page = e2e_new_page(width=1280, height=800)
    # A link whose every Playground key carries Markdown, KaTeX or HTML: each is ignored with a notice that quotes it
    # as typed, and the defaults run (the correlated Gaussian, CAVI against emcee, the iteration clock). One page
    # load serves the injection check (tests/e2e/test_injection.py) and the replay checks.
    _open_race(page, f"{app_server}/?{urlencode(PAYLOADS)}{SHORT}")
    assert_nothing_injected(page, tuple(PAYLOADS.values()))
    expect(page).to_have_url(re.compile(r"target=gaussian.*vi=cavi.*mcmc=emcee.*clock=iteration"))  # what ran
    _assert_frame_shows_its_draws(page)
    # the slider: scrub to the end and back to the start
    _slide(page, 1.0)
    wait_frame(page, "k === n - 1")
    _assert_frame_shows_its_draws(page)
    _slide(page, 0.0)
    wait_frame(page, "k === 0")
    _assert_frame_shows_its_draws(page)
    # the keyboard, on the focused chart
    host = page.locator(".st-key-race")
    expect(host).to_have_attribute("tabindex", "0", timeout=5_000)
    host.focus()
    n = race_frame(page)[1]
    page.keyboard.press("End")
    wait_frame(page, "k === n - 1")
    _assert_frame_shows_its_draws(page)
    page.keyboard.press("Home")
    wait_frame(page, "k === 0")
    _assert_frame_shows_its_draws(page)
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_frame(page, "k === 3")
    page.keyboard.press("ArrowLeft")
    wait_frame(page, "k === 2")
    _assert_frame_shows_its_draws(page)
    page.keyboard.press("Space")  # play
    wait_frame(page, "k >= 6 && playing")
    page.keyboard.press("Space")  # pause
    wait_frame(page, "!playing")
    stopped = race_frame(page)[0]
    page.wait_for_timeout(600)
    assert race_frame(page)[0] == stopped < n - 1, "Space pauses"
    _assert_frame_shows_its_draws(page)
    page.keyboard.press("End")
    wait_frame(page, "k === n - 1")
    page.keyboard.press("Space")  # at the end, Space plays again from the start
    wait_frame(page, "k < n - 1")
    assert_no_exception(page)


def test_replay_and_scrub_on_the_time_clock_show_exactly_the_draws_up_to_the_frame(app_server, e2e_new_page):
    # the wall-clock time axis (its frames bunch draws differently): play to the end, then every move. On a
    # real-data posterior (its axis labels) with Gibbs sampling, whose staircase is drawn as moves.
    page = e2e_new_page(width=1280, height=800)
    buttons = page.locator("g.updatemenu-button")
    _open_race(page, f"{app_server}/?target=newcomb&mcmc=gibbs&clock=time{SHORT}")
    expect(page.locator(f"{RACE} g.g-ytitle").first).to_contain_text("ln τ")
    _assert_frame_shows_its_draws(page)
    buttons.first.click()
    wait_frame(page, "k === n - 1 && !playing")
    _assert_frame_shows_its_draws(page)
    assert page.locator(RACE).evaluate(MOVES_JS) > 10  # the sampler's last moves
    # scrub back to the first frame on the slider: the later draws must go
    _slide(page, 0.0)
    wait_frame(page, "k === 0")
    _assert_frame_shows_its_draws(page)
    assert drawn_and_expected(page)[0] <= 4  # the first instant: at most one point per chain of the 800 draws
    # play again and pause part-way
    buttons.first.click()
    wait_frame(page, "k >= 12")
    buttons.nth(1).click()  # ❚❚ Pause
    wait_frame(page, "!playing")
    _assert_frame_shows_its_draws(page)
    # and a scrub to the middle of the slider
    _slide(page, 0.5)
    wait_frame(page, "Math.abs(k - n / 2) <= 2")
    _assert_frame_shows_its_draws(page)
    screenshot(page, "race-scrubbed", full_page=False)


# pages whose charts are not densities over (z1, z2) (Scaling: time and accuracy against N, log-log; Ladder: accuracy
# against time, log-log)
NO_DENSITY_PLOT = ("/Scaling", "/Ladder")


def test_every_page_with_a_density_plot_checks_its_scales():
    """Each page of the one list (ui.nav.PAGES) with a 2D density plot has an e2e test that opens it and
    calls assert_equal_scales: a new page cannot slip past the check."""
    sources = [f.read_text(encoding="utf-8") for f in pathlib.Path(__file__).parent.glob("test_*.py")]
    for p in nav.PAGES:
        if p.url not in NO_DENSITY_PLOT:
            assert any(f"{p.url}?" in s and "assert_equal_scales(" in s for s in sources), p.url
