"""Targets beyond the classic six run in the Playground in a real browser: the two real-data families (their axis
labels) and a typed expression. Every target runs in the page through AppTest (tests/app/test_playground.py)."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from .helpers import assert_no_exception, screenshot, wait_for_app

SMALL = {"vi": "gauss-mf", "mcmc": "emcee", "vi_steps": "100", "walkers": "16", "steps": "100", "run": "1"}
CASES = [
    ({"target": "newcomb"}, "ln τ"),
    ({"target": "challenger"}, "slope β"),
    ({"target": "custom", "expr": "-(x**2 + y**2)/2 + log(1 + x**2)", "box": "-4,4,-4,4"}, None),
]


@pytest.mark.parametrize(("query", "axis_label"), CASES, ids=[q["target"] for q, _ in CASES])
def test_target_runs_in_the_playground(app_server, e2e_page, query, axis_label):
    e2e_page.goto(f"{app_server}/?{urlencode({**query, **SMALL})}")
    wait_for_app(e2e_page)
    race = e2e_page.get_by_test_id("stPlotlyChart").first
    expect(race.locator("g.updatemenu-button").first).to_be_visible(timeout=60_000)
    if axis_label:
        expect(race.locator("g.g-ytitle").first).to_contain_text(axis_label)
    assert_no_exception(e2e_page)
    screenshot(e2e_page, f"target-{query['target']}", full_page=False)
