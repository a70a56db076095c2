"""The Lessons page through AppTest: twelve cards, each linking to the Playground with its scenario."""

import pathlib
from urllib.parse import parse_qsl, urlsplit

from streamlit.testing.v1 import AppTest

from tests.app.pages import charts
from ui.lessons import LESSONS
from ui.spec import from_query

APP = str(pathlib.Path(__file__).parents[2] / "app.py")


def test_lessons_page_renders_every_linked_scenario():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/3_Lessons.py").run()
    assert not at.exception, at.exception
    assert not at.error and not at.warning
    all_buttons = at.get("link_button")
    buttons, present = all_buttons[0::2], all_buttons[1::2]  # each card: open, then present
    codes = [c.value for c in at.code]
    text = " ".join(m.value for m in at.markdown)
    assert len(buttons) == len(present) == len(codes) == len(at.get("plotly_chart")) == len(LESSONS) == 12
    for lesson, p in zip(LESSONS, present, strict=True):
        query = dict(parse_qsl(urlsplit(p.proto.url).query))
        assert query.pop("view") == "present" and from_query(query) == (lesson.spec, lesson.clock, [])
    for lesson, button, code in zip(LESSONS, buttons, codes, strict=True):
        assert lesson.title in text and lesson.caption in text
        url = button.proto.url
        assert url.startswith("./?")  # relative: the Playground on whatever host served this page
        query = dict(parse_qsl(urlsplit(url).query))
        assert query["run"] == "1"
        assert from_query(query) == (lesson.spec, lesson.clock, [])
        assert code.endswith(url[1:])  # the shareable address is the same link, made absolute


def test_every_lessons_link_restores_and_runs_its_scenario():
    """Opened from its link, each lesson sets the Playground's target, methods and settings and runs; the address
    the page then writes from what it ran is the lesson's link. (A reader's click in Chromium: tests/e2e.)"""
    for lesson in LESSONS:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params.update(lesson.query)
        at.run()
        assert not at.exception, (lesson.title, at.exception)
        assert charts(at), lesson.title
        assert at.sidebar.selectbox[0].value == lesson.spec.target.name
        assert [r.value for r in at.sidebar.radio] == [lesson.spec.vi, lesson.spec.mcmc]
        assert dict(at.query_params) == lesson.query, lesson.title
