"""Nothing from outside is rendered as markup, in a real browser: Markdown, KaTeX and HTML payloads go through every
path by which the app echoes a visitor's text (each page's URL keys, a typed expression and a box in the link), and
the page shows them as typed: no link, image, formula, bold text or script appears, and no dialog opens.

One page load per page, all payloads of a page in one URL (the e2e chain is the slowest part of CI).
"""

from urllib.parse import urlencode

from playwright.sync_api import Page

from ui import nav

from .helpers import assert_no_exception, wait_for_app

ZWSP = "\u200b"
LINK = "[x](https://evil.example)"
IMAGE = "![i](https://evil.example/i.png)"
KATEX = r"$\rule{9999px}{9999px}$"
HTML = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
BOLD = "**b**"
# A typed expression's error quotes the unknown name, and __x__ is bold in Markdown.
EXPR = "__evil__ * x"
SMALL = {"vi_steps": "20", "cavi_sweeps": "10", "walkers": "8", "mcmc_steps": "30", "grid": "50", "run": "1"}

# (page path, query, payloads that must show as typed in its notices)
CASES = [
    (
        "/",
        {"target": LINK, "p_rho": IMAGE, "vi": KATEX, "mcmc": HTML, "clock": SCRIPT, "box": BOLD, **SMALL},
        [LINK, IMAGE, KATEX, HTML, SCRIPT, BOLD],
    ),
    (
        "/",
        {"target": "custom", "expr": EXPR, "box": "-4,4,-4,4", "seed": HTML, "walkers": KATEX, **SMALL},
        ["unknown name '__evil__'", HTML],
    ),
    ("/Scaling", {"data": IMAGE, "n": KATEX, "centred": HTML, "run": BOLD}, [IMAGE, KATEX, HTML, BOLD]),
    # pages that read nothing from the URL: the payloads must simply come to nothing
    *[
        (p.url, {"x": LINK, "target": IMAGE, "box": KATEX, "expr": HTML, "seed": SCRIPT}, [])
        for p in nav.PAGES
        if p.url not in ("/", "/Scaling")
    ],
]
# what the notices may not hold: links, images, formulas, emphasis, scripts
INJECTED = "a, img, .katex, strong, em, script, iframe, svg image"


def _notices(page: Page):
    return page.get_by_test_id("stAlert").filter(has_text="Ignored")


def _visit(page: Page, url: str, expected: list[str]) -> None:
    page.goto(url)
    wait_for_app(page)
    assert_no_exception(page)
    # nowhere on the page (not only in the notices): no link or image to the payloads' hosts
    assert page.locator('a[href*="evil"], img[src*="evil"], img[src="x"], iframe').count() == 0, url
    notices = _notices(page)
    if expected:
        assert notices.count() >= 1, url
    shown = " ".join(t.replace(ZWSP, "") for t in notices.all_inner_texts())
    for payload in expected:
        assert payload in shown, (url, payload, shown[:600])
    for k in range(notices.count()):
        assert notices.nth(k).locator(INJECTED).count() == 0, (url, notices.nth(k).inner_html()[:600])
    # a formula of 9999 px would stretch the page far beyond the window
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width < 3000, (url, width)


def test_payloads_in_every_echo_path_show_as_plain_text(app_server, e2e_page):
    dialogs: list[str] = []
    e2e_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path, query, expected in CASES:
        _visit(e2e_page, f"{app_server}{path}?{urlencode(query)}", expected)
    assert dialogs == [], dialogs
