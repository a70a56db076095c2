"""Fixtures the scaling tests share: a small synthetic logistic-regression posterior and the arsenic wells', each
with its exact reference (data, posterior, reference)."""

import pytest

from vi_core.scaling.data import dataset
from vi_core.scaling.model import LogisticPosterior, reference


@pytest.fixture(scope="module")
def small():
    data = dataset("synthetic", 200, seed=1, centred=False)
    post = LogisticPosterior(data)
    return data, post, reference(post)


@pytest.fixture(scope="module")
def arsenic():
    data = dataset("arsenic", centred=False)
    post = LogisticPosterior(data)
    return data, post, reference(post)
