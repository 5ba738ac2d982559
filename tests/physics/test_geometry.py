"""The geometry table: orient maps the canonical image as the table says, canonical_view undoes it."""

from __future__ import annotations

import numpy as np
import pytest

from roughml.physics.geometry import BRIGHT_SIDES, ORIENTATIONS, canonical_view, is_geometry, orient

GEOMETRIES = [("vertical", "right"), ("vertical", "left"), ("horizontal", "bottom"), ("horizontal", "top")]
CANONICAL = np.arange(7 * 5).reshape(7, 5)  # (L, W), every pixel distinct


def test_table_lists_the_four_geometries():
    assert [(o, s) for o in ORIENTATIONS for s in BRIGHT_SIDES[o]] == GEOMETRIES
    assert all(is_geometry(o, s) for o, s in GEOMETRIES)
    assert not is_geometry("vertical", "top") and not is_geometry("diagonal", "right")


@pytest.mark.parametrize("orientation,bright_side", GEOMETRIES)
def test_orient_matches_table(orientation, bright_side):
    c = CANONICAL
    expected = {("vertical", "right"): c, ("vertical", "left"): c[:, ::-1],
                ("horizontal", "bottom"): c.T, ("horizontal", "top"): c.T[::-1, :]}
    out = orient(c, orientation, bright_side)
    np.testing.assert_array_equal(out, expected[(orientation, bright_side)])
    assert out.flags.c_contiguous


@pytest.mark.parametrize("orientation,bright_side", GEOMETRIES)
def test_canonical_view_inverts_orient_without_copying(orientation, bright_side):
    image = orient(CANONICAL, orientation, bright_side)
    back = canonical_view(image, orientation, bright_side)
    np.testing.assert_array_equal(back, CANONICAL)
    assert np.shares_memory(back, image)


@pytest.mark.parametrize("orientation,bright_side", [("vertical", "top"), ("horizontal", "left"),
                                                     ("diagonal", "right")])
def test_invalid_geometry_is_refused_both_ways(orientation, bright_side):
    with pytest.raises(ValueError):
        orient(CANONICAL, orientation, bright_side)
    with pytest.raises(ValueError):
        canonical_view(CANONICAL, orientation, bright_side)


def test_canonical_view_needs_a_2d_image():
    with pytest.raises(ValueError, match="2-D"):
        canonical_view(np.zeros((2, 3, 4)), "vertical", "right")
