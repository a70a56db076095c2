"""Smoke tests: the app starts, renders its title, and raises nothing, on desktop and phone viewports."""

from playwright.sync_api import expect

from .helpers import assert_no_exception, screenshot, wait_for_app


def test_home_renders(app_server, e2e_page):
    e2e_page.goto(app_server)
    wait_for_app(e2e_page)
    expect(e2e_page.get_by_text("Variational inference and MCMC")).to_be_visible()
    assert_no_exception(e2e_page)
    screenshot(e2e_page, "smoke-home")


def test_home_renders_on_phone(app_server, e2e_new_page):
    page = e2e_new_page(width=390, height=844)
    page.goto(app_server)
    wait_for_app(page)
    expect(page.get_by_text("Variational inference and MCMC")).to_be_visible()
    assert_no_exception(page)
    screenshot(page, "smoke-phone")
