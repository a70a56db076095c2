"""Entry page (placeholder until the Playground lands)."""

import streamlit as st

st.set_page_config(page_title="VI vs MCMC", layout="wide")
st.title("Variational inference and MCMC, side by side")
st.write("The Playground is being built.")
