"""Placeholder page."""

import streamlit as st

from ui.nav import sidebar_nav

st.set_page_config(page_title="VI vs MCMC", layout="wide")
sidebar_nav()
st.markdown("### Lessons")
st.write("This page is being written.")
