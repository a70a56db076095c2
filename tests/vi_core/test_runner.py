"""The run loop's helpers: several updates per recorded state."""

import numpy as np

from vi_core.runner import Algorithm, recorded, run

COUNT = Algorithm(lambda rng: 0, lambda rng, s: (s + 1, s + 1))  # a state that counts its updates


def test_recorded_groups_updates_and_covers_them_all():
    algo, n = recorded(COUNT, 1000, 60)  # 17 updates a step: 59 steps cover the 1000
    assert n == 59
    trace = run(algo, n, seed=0)
    assert trace.states == [17 * k for k in range(60)] and trace.infos[-1] == 1003
    same, m = recorded(COUNT, 40, 60)  # fewer updates than states: one a step, the algorithm untouched
    assert same is COUNT and m == 40


def test_recorded_steps_draw_the_same_numbers_as_single_steps():
    noisy = Algorithm(lambda rng: 0.0, lambda rng, s: (s + rng.standard_normal(), None))
    grouped = run(recorded(noisy, 12, 4)[0], 4, seed=3).states
    single = run(noisy, 12, seed=3).states
    assert np.allclose(grouped, single[::3])
