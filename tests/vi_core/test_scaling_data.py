"""vi_core.scaling.data: the synthetic and arsenic data sets and their validation."""

import numpy as np
import pytest

from vi_core.scaling.data import dataset


def test_datasets_and_validation():
    d = dataset("synthetic", 500, seed=3)
    assert d.x.shape == d.y.shape == (500,) and set(np.unique(d.y)) <= {0.0, 1.0}
    assert abs(d.x.mean()) < 1e-12 and d.centred and d.citation == ""
    u = dataset("synthetic", 500, seed=3, centred=False)
    assert np.allclose(u.x - u.x.mean(), d.x) and u.x.mean() > 0.7
    a = dataset("arsenic", centred=False)
    assert a.x.size == 3020 and "Gelman" in a.citation and a.y.mean() == pytest.approx(0.575, abs=0.01)
    sub = dataset("arsenic", 100)
    assert sub.x.size == 100 and np.array_equal(dataset("arsenic", 100).x, sub.x)
    for name, n in (("nope", 100), ("synthetic", 5), ("synthetic", 3_000_000), ("arsenic", 3021), ("synthetic", 2.5)):
        with pytest.raises(ValueError) as exc:
            dataset(name, n)
        assert "\n" not in str(exc.value)
