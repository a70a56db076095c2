"""The Lessons page through AppTest: six cards, each linking to the Playground with its scenario."""

import pathlib
from urllib.parse import parse_qsl, urlsplit

from streamlit.testing.v1 import AppTest

from ui.lessons import LESSONS
from ui.spec import from_query

APP = str(pathlib.Path(__file__).parents[2] / "app.py")


def test_lessons_page_renders_six_linked_scenarios():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/3_Lessons.py").run()
    assert not at.exception, at.exception
    assert not at.error and not at.warning
    buttons = at.get("link_button")
    codes = [c.value for c in at.code]
    text = " ".join(m.value for m in at.markdown)
    assert len(buttons) == len(codes) == len(at.get("plotly_chart")) == len(LESSONS) == 6
    for lesson, button, code in zip(LESSONS, buttons, codes, strict=True):
        assert lesson.title in text and lesson.caption in text
        url = button.proto.url
        assert url.startswith("./?")  # relative: the Playground on whatever host served this page
        query = dict(parse_qsl(urlsplit(url).query))
        assert query["run"] == "1"
        assert from_query(query) == (lesson.spec, lesson.clock, [])
        assert code.endswith(url[1:])  # the shareable address is the same link, made absolute
