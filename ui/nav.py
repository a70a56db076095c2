"""Sidebar navigation shared by every page.

Pages live in ``pages/`` (Streamlit's directory mechanism), so a deep link such as /Theory
works on a freshly started server. Its automatic sidebar would label the entry page by its
file name ("app"), so that list is hidden (.streamlit/config.toml) and drawn here instead.
"""

import streamlit as st

PAGES = [
    ("app.py", "Playground", ":material/play_circle:"),
    ("pages/1_Theory.py", "Theory: ELBO and KL", ":material/functions:"),
    ("pages/2_Conjugate_example.py", "Worked example: Newcomb", ":material/calculate:"),
    ("pages/3_Lessons.py", "Lessons", ":material/school:"),
]


# Wide equations scroll sideways on a phone instead of running off the screen.
_CSS = "<style>.katex-display{overflow-x:auto;overflow-y:hidden;padding-bottom:2px}</style>"


def sidebar_nav() -> None:
    st.markdown(_CSS, unsafe_allow_html=True)
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
