"""Lessons: one-click Playground scenarios. The page itself lives in ui/lessons.py."""

import streamlit as st

from ui import lessons
from ui.nav import sidebar_nav

st.set_page_config(page_title="VI vs MCMC — Lessons", page_icon="🎓", layout="wide")
sidebar_nav()
lessons.render()
