"""Orientation/polarity detection, canonical view and profile extraction."""

from __future__ import annotations

import numpy as np
import pytest

from roughml import render, synth
from roughml.errors import NoInterfaceError
from roughml.extract import Orientation, canonicalize, detect_orientation, extract_profile

GEOMETRIES = [("vertical", "right"), ("vertical", "left"), ("horizontal", "bottom"), ("horizontal", "top")]
LAB = render.LabSample(contrast=0.35, illumination=0.3, blur_sigma=1.5, noise_sigma=0.08,
                       n_islands=6, island_radius=2.0, rotation_deg=2.0)


def _heights(seed: int, zeta: float, length: int = 128, width_fraction: float = 0.08) -> np.ndarray:
    rng = np.random.default_rng(seed)
    profile = synth.self_affine_profiles(rng, zeta, length)
    heights, _ = synth.quantise(profile, width_fraction * length, length)
    return heights[0]


@pytest.mark.parametrize("orientation, bright", GEOMETRIES)
@pytest.mark.parametrize("zeta", [0.1, 0.6, 1.2])
def test_binary_detection_and_exact_profile(orientation, bright, zeta):
    h = _heights(1, zeta)
    img = render.render_binary(h, 128, orientation, bright)
    found = detect_orientation(img)
    assert (found.orientation, found.bright_side) == (orientation, bright)
    assert found.contrast > 0.5
    canonical = canonicalize(img, found)
    assert canonical.shape == (128, 128)
    np.testing.assert_array_equal(extract_profile(canonical), h.astype(np.float64))


@pytest.mark.parametrize("orientation, bright", GEOMETRIES)
@pytest.mark.parametrize("seed", [3, 4])
def test_lab_detection_all_geometries(orientation, bright, seed):
    rng = np.random.default_rng(seed)
    h = _heights(seed, 0.7, length=160)
    img = render.render_lab(h, 160, orientation, bright, LAB, rng)
    found = detect_orientation(img)
    assert (found.orientation, found.bright_side) == (orientation, bright)
    profile = extract_profile(canonicalize(img, found))
    # Rotation (2°) tilts the wall; after removing the tilt the wall is followed to ~1-2 px.
    x = np.arange(h.size)
    residual = profile - h
    residual -= np.polyval(np.polyfit(x, residual, 1), x)
    assert np.median(np.abs(residual)) <= 1.5


def test_canonicalize_inverts_render_orient():
    canonical = np.arange(12 * 20).reshape(12, 20)
    for orientation, bright in GEOMETRIES:
        image = render.orient(canonical, orientation, bright)
        back = canonicalize(image, Orientation(orientation, bright))
        np.testing.assert_array_equal(back, canonical)


def test_profile_robust_to_islands():
    h = _heights(5, 0.8)
    img = render.render_binary(h, 128).astype(np.float64) / 255.0
    img[10:13, 5:8] = 1.0       # bright island deep in the dark domain
    img[70:72, 120:123] = 0.0   # dark island deep in the bright domain
    img[40, 100] = 0.0          # isolated noise pixels
    img[90, 3] = 1.0
    profile = extract_profile(img)
    np.testing.assert_array_equal(profile, h.astype(np.float64))
    assert detect_orientation(img).orientation == "vertical"


@pytest.mark.parametrize("case", ["uniform", "noise", "tiny", "disk", "stripe_along_rows"])
def test_no_interface_raises(case):
    rng = np.random.default_rng(0)
    if case == "uniform":
        img = np.full((64, 64), 0.4)
    elif case == "noise":
        img = rng.random((128, 128))
    elif case == "tiny":
        img = render.render_binary(np.full(12, 6), 12)
    elif case == "disk":
        yy, xx = np.mgrid[:128, :128]
        img = (np.hypot(yy - 64, xx - 64) < 30).astype(np.float64)
    else:
        img = np.zeros((128, 128))
        img[:, 40:80] = 1.0  # a bright band: two walls of opposite sign, no single crossing
    with pytest.raises(NoInterfaceError):
        detect_orientation(img)


def test_extract_profile_raises_without_wall():
    with pytest.raises(NoInterfaceError):
        extract_profile(np.zeros((64, 64)))
    half = np.zeros((64, 64))
    half[:10, 30:] = 1.0  # only 10 of 64 rows cross
    with pytest.raises(NoInterfaceError):
        extract_profile(half)


@pytest.mark.parametrize("orientation, bright", GEOMETRIES)
def test_comb_like_very_rough_wall(orientation, bright):
    # White-noise heights (ζ = 0) spread over half the image: every line along the wall still
    # steps once, while lines across it flip many times; detection must not be fooled.
    h = 128 + np.random.default_rng(9).integers(-60, 60, size=256)
    img = render.render_binary(h, 256, orientation, bright)
    found = detect_orientation(img)
    assert (found.orientation, found.bright_side) == (orientation, bright)
    np.testing.assert_array_equal(extract_profile(canonicalize(img, found)), h.astype(np.float64))
