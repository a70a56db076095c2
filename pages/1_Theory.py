"""Theory: ln p(X) = ELBO + KL, the CAVI update, and reverse against forward KL. The page lives in ui/theory.py."""

import streamlit as st

from ui import theory
from ui.nav import sidebar_nav

st.set_page_config(page_title="VI vs MCMC — Theory", page_icon="📐", layout="wide")
sidebar_nav()
theory.render()
