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
    page renders is first validated by go.Figure, as st.plotly_chart would validate a plain dict (an invalid
    property raises), and then sent as the app sends it.

    An animation's frames are all built by one loop from different slices of the same run, so the first and
    the last stand for the rest: validating all 40 race frames was a third of the AppTest time.
    (tests/ui/test_figures.py validates whole figures, every frame, against what ready() sends.)"""
    import plotly.graph_objects as go

    from ui.figures import shared

    sent = shared._Ready.to_dict

    def validate_then_send(self):
        spec = self._spec
        frames = spec.get("frames") or []
        go.Figure({**spec, "frames": frames[:1] + frames[-1:]} if len(frames) > 2 else spec)
        return sent(self)

    monkeypatch.setattr(shared._Ready, "to_dict", validate_then_send)
