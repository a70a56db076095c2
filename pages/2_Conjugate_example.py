"""Worked example: Newcomb's data, the Normal-Gamma model, closed-form CAVI. The page lives in ui/conjugate.py."""

import streamlit as st

from ui import conjugate
from ui.nav import sidebar_nav

st.set_page_config(page_title="VI vs MCMC — Worked example", page_icon="🧮", layout="wide")
sidebar_nav()
conjugate.render()
