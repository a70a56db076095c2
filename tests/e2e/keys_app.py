"""A one-chart app for the keyboard test: the race on a small run, and the key bindings."""

import streamlit as st

from ui import figures, keys
from vi_core.api import Settings, run_sampler, run_vi
from vi_core.grid import make_grid
from vi_core.targets import make_target


@st.cache_resource
def _figure() -> dict:
    target, settings = make_target("gaussian"), Settings(vi_steps=100, mcmc_steps=200)
    grid = make_grid(target, 80)
    vi = run_vi(target, "gauss-mf", 0, settings, grid=grid)
    return figures.race_figure(grid, vi, run_sampler(target, "emcee", 0, settings, grid=grid))


st.plotly_chart(_figure(), key="race")
keys.animation_keys("race")
