"""Opening a page of the app in AppTest, as a visitor's first load of a link does."""

import json
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


def charts(at: AppTest) -> list[dict]:
    """Every chart on the page, in page order, as the figure dict the browser gets: ``st.plotly_chart``'s spec
    or what ``ui.plot`` hands its component (the Playground's race and the charts under it)."""
    out: list[dict] = []

    def walk(node) -> None:
        kind = getattr(node, "type", None)
        if kind == "plotly_chart":
            out.append(json.loads(node.proto.spec))
        elif kind == "bidi_component" and node.proto.component_name == "plot_once":
            out.append(json.loads(json.loads(node.proto.json)["json"]))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out
