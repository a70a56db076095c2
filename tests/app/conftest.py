import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _fresh_caches():
    """AppTest shares Streamlit's caches across instances: start every test cold."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
