"""Opening a page of the app in AppTest, as a visitor's first load of a link does."""

import pathlib

from streamlit.testing.v1 import AppTest

APP = str(pathlib.Path(__file__).parents[2] / "app.py")


def first_load(page: str, query: dict, timeout: float = 60) -> AppTest:
    """The page (its script path) opened with the link's query, run once, asserted to raise nothing."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at
