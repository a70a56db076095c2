import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _fresh_caches():
    """AppTest shares Streamlit's caches across instances: start every test with cold data.

    Resources stay: the per-process warm-up (about a second) and the validated race figures
    are pure functions of their keys, so sharing them changes no result, only the time."""
    st.cache_data.clear()
    yield


@pytest.fixture(autouse=True)
def _validated_figures(monkeypatch):
    """The app hands st.plotly_chart its figure dicts unvalidated (ui.figures.ready); here every chart a
    page renders goes through go.Figure, as st.plotly_chart would validate a plain dict."""
    import plotly.graph_objects as go

    from ui.figures import shared

    monkeypatch.setattr(shared._Ready, "to_dict", lambda self: go.Figure(self._spec).to_dict())
