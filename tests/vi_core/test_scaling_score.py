"""vi_core.scaling.score: time to accuracy, the running estimate of the moments, the stop rule."""

import numpy as np
import pytest

from vi_core.scaling.model import LogisticReference
from vi_core.scaling.score import ACCURACY, Recorder, time_to_accuracy

REF = LogisticReference(np.array([1.0, -1.0]), np.diag([4.0, 0.25]), 0.0, 0.0, 121, 0.0, "test")


def test_time_to_accuracy_is_where_the_accuracy_starts_to_hold():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    assert time_to_accuracy(times, np.array([0.05, 0.05, 0.05, 0.05])) == 0.0
    assert time_to_accuracy(times, np.array([1.0, 0.05, 0.5, 0.05])) == 3.0  # it must hold to the end
    assert time_to_accuracy(times, np.array([1.0, 0.05, 0.05, 0.5])) is None
    assert time_to_accuracy(times, np.array([1.0, np.nan, ACCURACY, ACCURACY])) == 2.0  # nan is not reached


def test_the_draws_estimate_drops_the_first_quarter_of_the_steps():
    rec = Recorder(REF)
    rng = np.random.default_rng(0)
    steps = [rng.normal(size=(3, 2)) for _ in range(13)]  # step 0 (initial positions) .. step 12
    for z in steps:
        rec.add_draws(z)
    kept = np.concatenate(steps[3:])  # t = 12: steps 0..2 dropped
    np.testing.assert_allclose(rec.means[-1], kept.mean(0), rtol=1e-12)
    np.testing.assert_allclose(rec.vars[-1], kept.var(0), rtol=1e-10)
    # the error in reference sds, the larger coordinate
    rec.add_moments(np.array([1.2, -1.0]), np.array([4.0, 0.25]))
    assert rec.error(len(rec.means) - 1) == pytest.approx(0.1, abs=1e-12)  # 0.2 off, in units of sd 2


def test_the_stop_rule_waits_for_the_accuracy_and_the_variance_to_settle():
    rec = Recorder(REF)
    far, near = np.array([3.0, 1.0]), REF.mean + 0.01
    var = np.diag(REF.cov).copy()
    stops = []
    for t in range(400):
        rec.add_moments(far if t < 50 else near, var)
        stops.append(rec.stop(None, None))
    first = stops.index(True)
    assert first >= 100  # held over the last doubling of the steps: at least twice the step it was first reached
    # a variance still moving keeps it going
    rec2 = Recorder(REF)
    for t in range(400):
        rec2.add_moments(near, var * (1 + t / 10))
        assert not rec2.stop(None, None)
