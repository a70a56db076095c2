import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _fresh_caches():
    """AppTest shares Streamlit's caches across instances: start every test with cold data.

    Resources stay: the per-process warm-up (about a second) and the validated race figures
    are pure functions of their keys, so sharing them changes no result, only the time."""
    st.cache_data.clear()
    yield
