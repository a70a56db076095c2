"""The app's pages in one list: order, labels, icons, tab titles and URLs.

Pages live in ``pages/`` (Streamlit's directory mechanism), so a deep link such as /Theory
works on a freshly started server (the URL is the file name without its number prefix and
``.py``). Its automatic sidebar would label the entry page by its file name ("app"), so that
list is hidden (.streamlit/config.toml) and drawn here instead, from ``PAGES``.

A page script is three lines: ``start(__file__)``, then the page module's ``render()``.
A new page: its module in ui/, its script in pages/, one ``Page`` row here.
"""

from __future__ import annotations

import dataclasses
import pathlib

import streamlit as st

from ui import plot

__all__ = ["PAGES", "Page", "page_for", "sidebar_nav", "start"]

ROOT = pathlib.Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Page:
    path: str  # the script, relative to the repository root (st.page_link's argument)
    label: str  # sidebar label
    icon: str  # sidebar icon
    title: str  # browser tab title
    tab_icon: str | None = None  # browser tab icon (None: Streamlit's)

    @property
    def url(self) -> str:
        """The page's URL path: '/' for the entry page, else the file name without 'N_' and '.py'."""
        if not self.path.startswith("pages/"):
            return "/"
        stem = pathlib.PurePosixPath(self.path).stem
        head, _, rest = stem.partition("_")
        return "/" + (rest if head.isdigit() and rest else stem)


PAGES = (
    Page("app.py", "Playground", ":material/play_circle:", "VI vs MCMC — Playground"),
    Page("pages/1_Theory.py", "Theory: ELBO and KL", ":material/functions:", "VI vs MCMC — Theory", "📐"),
    Page(
        "pages/2_Conjugate_example.py",
        "Worked example: Newcomb",
        ":material/calculate:",
        "VI vs MCMC — Worked example",
        "🧮",
    ),
    Page("pages/3_Lessons.py", "Lessons", ":material/school:", "VI vs MCMC — Lessons", "🎓"),
    Page("pages/4_Scaling.py", "Scaling: large data", ":material/trending_up:", "VI vs MCMC — Scaling", "📈"),
    Page("pages/5_Ladder.py", "The VI ladder", ":material/stairs:", "VI vs MCMC — The VI ladder", "🪜"),
)

# Wide equations scroll sideways on a phone instead of running off the screen.
_CSS = "<style>.katex-display{overflow-x:auto;overflow-y:hidden;padding-bottom:2px}</style>"


def page_for(script: str) -> Page:
    """The PAGES row of a script (its path or __file__)."""
    rel = pathlib.Path(script).resolve().relative_to(ROOT).as_posix()
    for p in PAGES:
        if p.path == rel:
            return p
    raise KeyError(f"{rel} is not in ui.nav.PAGES")


def sidebar_nav() -> None:
    st.markdown(_CSS, unsafe_allow_html=True)
    with st.sidebar:
        for p in PAGES:
            st.page_link(p.path, label=p.label, icon=p.icon)
        st.divider()


def start(script: str) -> Page:
    """A page script's first call: page config from its PAGES row, then the sidebar."""
    page = page_for(script)
    # the presenter view (?view=present) opens with the sidebar closed: the race has the whole projector
    sidebar = "collapsed" if st.query_params.get("view") == "present" else "auto"
    st.set_page_config(page_title=page.title, page_icon=page.tab_icon, layout="wide", initial_sidebar_state=sidebar)
    with st.sidebar:  # before any other element: every page draws Plotly charts
        plot.preload()
    sidebar_nav()
    return page
