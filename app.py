"""Entry page: the Playground. The page itself lives in ui/playground.py."""

import streamlit as st

from ui import playground
from ui.nav import sidebar_nav

st.set_page_config(page_title="VI vs MCMC — Playground", layout="wide")
sidebar_nav()
playground.render()
