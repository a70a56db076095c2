"""Targets beyond the classic six run in the Playground in a real browser: the two real-data families (their axis
labels) and a typed expression, each with a sampler that draws its moves (Gibbs, NUTS, HMC). Every target runs in
the page through AppTest (tests/app/test_playground.py)."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from .helpers import assert_no_exception, screenshot, wait_for_app

SMALL = {"vi": "gauss-mf", "vi_steps": "100", "walkers": "16", "steps": "100", "run": "1"}
# each with one of the samplers that draw their moves (Gibbs' staircase, HMC's and NUTS's leapfrog paths)
CASES = [
    ({"target": "newcomb", "mcmc": "gibbs"}, "ln τ"),
    ({"target": "challenger", "mcmc": "nuts"}, "slope β"),
    ({"target": "custom", "expr": "-(x**2 + y**2)/2 + log(1 + x**2)", "box": "-4,4,-4,4", "mcmc": "hmc"}, None),
]
# how many points the moves traces hold in the current frame
MOVES_JS = (
    "gd => gd._fullData.filter(t => t.name && t.name.startsWith('moves')).reduce((n, t) => n + (t.x || []).length, 0)"
)


@pytest.mark.parametrize(("query", "axis_label"), CASES, ids=[q["target"] for q, _ in CASES])
def test_target_runs_in_the_playground(app_server, e2e_page, query, axis_label):
    e2e_page.goto(f"{app_server}/?{urlencode({**query, **SMALL})}")
    wait_for_app(e2e_page)
    race = e2e_page.get_by_test_id("stPlotlyChart").first
    expect(race.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    if axis_label:
        expect(race.locator("g.g-ytitle").first).to_contain_text(axis_label)
    assert_no_exception(e2e_page)
    # scrub to the last frame with the keyboard: the sampler's last moves are drawn
    host = e2e_page.locator(".st-key-race")
    host.focus()
    e2e_page.keyboard.press("End")
    e2e_page.wait_for_function(
        "() => { const gd = document.querySelector('.st-key-race .js-plotly-plot');"
        " return gd._fullLayout.sliders[0].active === gd._transitionData._frames.length - 1; }"
    )
    e2e_page.wait_for_timeout(300)
    assert e2e_page.locator(".st-key-race .js-plotly-plot").evaluate(MOVES_JS) > 10
    screenshot(e2e_page, f"target-{query['target']}", full_page=False)
