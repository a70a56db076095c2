"""Nothing from outside is rendered as markup, in a real browser: Markdown, KaTeX and HTML payloads go through every
path by which the app echoes a visitor's text (each page's URL keys, a typed expression and a box in the link), and
the page shows them as typed: no link, image, formula, bold text or script appears, and no dialog opens.

One page load per case, all payloads of a page in one URL. The Playground's keys ride on the replay test's page
(tests/e2e/test_race_truth.py); pages that read nothing from the URL get the payloads (helpers.JUNK_QUERY) in their
own deep-link tests, so no page is loaded twice for this; a static check below makes sure every page of the one list
is covered.
"""

import pathlib
from urllib.parse import urlencode

from ui import nav

from .helpers import BOLD, HTML, IMAGE, KATEX, assert_nothing_injected, wait_for_app

# A typed expression's error quotes the unknown name, and __x__ is bold in Markdown.
EXPR = "__evil__ * x"
SMALL = {"vi_steps": "20", "cavi_sweeps": "10", "walkers": "8", "mcmc_steps": "30", "grid": "50", "run": "1"}

# (page path, query, payloads that must show as typed in its notices): the pages that echo what the URL says
CASES = [
    # the Playground's keys, each with a payload: tests/e2e/test_race_truth.py (its replay page is that link)
    (
        "/",
        {"target": "custom", "expr": EXPR, "box": "-4,4,-4,4", "seed": HTML, "walkers": KATEX, **SMALL},
        ("unknown name '__evil__'", HTML),
    ),
    ("/Scaling", {"data": IMAGE, "n": KATEX, "centred": HTML, "run": BOLD}, (IMAGE, KATEX, HTML, BOLD)),
    ("/Ladder", {"target": IMAGE, "run": BOLD}, (IMAGE, BOLD)),
]


def test_payloads_in_every_echo_path_show_as_plain_text(app_server, e2e_page):
    for path, query, expected in CASES:
        e2e_page.goto(f"{app_server}{path}?{urlencode(query)}")
        wait_for_app(e2e_page)
        assert_nothing_injected(e2e_page, expected)


def test_every_other_page_is_opened_with_the_payloads():
    """Each page of ui.nav.PAGES not in CASES has an e2e test that opens it with JUNK_QUERY and calls
    assert_nothing_injected: a new page cannot slip past the check."""
    sources = [f.read_text(encoding="utf-8") for f in pathlib.Path(__file__).parent.glob("test_*.py")]
    for p in nav.PAGES:
        if p.url not in {path for path, _, _ in CASES}:
            assert any(
                f'{p.url}?{{urlencode(JUNK_QUERY)}}"' in s and "assert_nothing_injected(" in s for s in sources
            ), p.url
