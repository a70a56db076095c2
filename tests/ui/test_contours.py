"""Contour lines (contourpy): level lines of known shapes land where they should, as NaN-separated polylines."""

import numpy as np
import pytest

from ui.contours import contour_segments


def _points(xs, ys):
    ok = ~np.isnan(xs)
    return np.column_stack([xs[ok], ys[ok]])


@pytest.mark.parametrize("level", [0.5, 1.0, 2.0])
def test_circles_of_a_radial_function(level):
    x = np.linspace(-3, 3, 121)
    y = np.linspace(-2.5, 2.5, 101)
    f = np.hypot(x[None, :], y[:, None])  # rows follow y
    xs, ys = contour_segments(x, y, f, [level])
    pts = _points(xs, ys)
    # every vertex is on the circle (to interpolation error); the segments go all the way round
    np.testing.assert_allclose(np.hypot(pts[:, 0], pts[:, 1]), level, atol=2e-3)
    angles = np.sort(np.arctan2(pts[:, 1], pts[:, 0]))
    assert np.max(np.diff(angles)) < 0.2
    assert xs.dtype == np.float32 and ys.dtype == np.float32
    # one closed polyline, ended by one NaN: first vertex == last vertex
    assert np.isnan(xs).sum() == 1 and np.isnan(xs[-1])
    np.testing.assert_allclose(pts[0], pts[-1], atol=1e-6)


def test_levels_are_joined_polylines_with_fewer_points_than_segments():
    x = np.linspace(-3, 3, 61)
    f = np.hypot(x[None, :], x[:, None])
    xs, ys = contour_segments(x, x, f, [1.0, 2.0])
    assert np.isnan(xs).sum() == 2, "one polyline per circle"
    assert np.array_equal(np.isnan(xs), np.isnan(ys))
    # a segment per crossed cell would need 3 values per cell; a polyline needs about 1
    n_cells = sum(int(((f[:-1, :-1] > c) != (f[1:, 1:] > c)).sum()) for c in (1.0, 2.0))
    assert xs.size < 1.5 * n_cells


def test_non_finite_values_are_masked():
    x = np.linspace(-3, 3, 61)
    f = np.hypot(x[None, :], x[:, None])
    f[:, :5] = np.nan
    f[:5, :] = np.inf
    xs, ys = contour_segments(x, x, f, [1.0])
    pts = _points(xs, ys)
    np.testing.assert_allclose(np.hypot(pts[:, 0], pts[:, 1]), 1.0, atol=2e-3)


def test_rows_follow_y_for_a_tilted_plane():
    x = np.linspace(0, 1, 11)
    y = np.linspace(0, 2, 21)
    f = x[None, :] + 10 * y[:, None]  # level c: x + 10 y = c
    pts = _points(*contour_segments(x, y, f, [5.0]))
    np.testing.assert_allclose(pts[:, 0] + 10 * pts[:, 1], 5.0, atol=1e-5)


def test_saddle_cells_give_two_segments_and_no_level_gives_none():
    x = y = np.array([0.0, 1.0])
    f = np.array([[1.0, -1.0], [-1.0, 1.0]])
    xs, _ = contour_segments(x, y, f, [0.0])
    assert np.isnan(xs).sum() == 2
    xs, _ = contour_segments(x, y, f, [5.0])
    assert xs.size == 0


def test_a_finite_field_traces_the_same_lines_unmasked():
    """contour_segments masks non-finite values only when there are some: for a finite field its lines are those of
    the masked path, vertex for vertex (the mask only cost time)."""
    import contourpy

    rng = np.random.default_rng(3)
    x, y = np.linspace(-4, 4, 60), np.linspace(-3, 5, 50)
    X, Y = np.meshgrid(x, y)
    f = np.hypot(X - 0.3, (Y - 1) / 1.7) + 0.05 * rng.standard_normal(X.shape)
    xs, ys = contour_segments(x, y, f, [0.5, 1.5, 2.5])
    gen = contourpy.contour_generator(x, y, np.ma.masked_invalid(f), line_type="ChunkCombinedNan")
    parts = []
    for c in (0.5, 1.5, 2.5):
        for pts in gen.lines(c)[0]:
            if pts is not None and len(pts):
                parts += [pts, np.full((1, 2), np.nan)]
    want = np.concatenate(parts).astype(np.float32)
    np.testing.assert_array_equal(xs, want[:, 0])
    np.testing.assert_array_equal(ys, want[:, 1])
