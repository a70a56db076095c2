"""The floor for "click Run -> playable": a trivial Streamlit app that draws one animated Plotly chart on a button
press (40 frames of 64 points, Play and a slider, as the race has), served by ``python -m benchmarks.playground
--floor`` beside the Playground. Nothing here is the product: it is what any one-chart app costs in the browser."""

import numpy as np
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")


@st.cache_data
def _figure() -> dict:
    rng = np.random.default_rng(0)
    xy = rng.standard_normal((40, 64, 2))
    frames = [dict(name=str(k), data=[dict(x=xy[k, :, 0].tolist(), y=xy[k, :, 1].tolist())]) for k in range(40)]
    steps = [dict(method="animate", label=str(k), args=[[str(k)], dict(mode="immediate")]) for k in range(40)]
    return dict(
        data=[dict(type="scatter", mode="markers", x=xy[0, :, 0].tolist(), y=xy[0, :, 1].tolist())],
        layout=dict(
            height=500,
            updatemenus=[dict(type="buttons", buttons=[dict(label="Play", method="animate", args=[None])])],
            sliders=[dict(steps=steps)],
        ),
        frames=frames,
    )


st.markdown("### One chart")
if st.sidebar.button("Run") or st.session_state.get("ran"):
    st.session_state.ran = True
    st.plotly_chart(_figure(), key="floor")
else:
    st.plotly_chart(dict(data=[dict(type="scatter", x=[0], y=[0])], layout=dict(height=300)), key="preview")
