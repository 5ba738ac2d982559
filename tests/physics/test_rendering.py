"""Rendering geometry (the contract other modules rely on) and lab-image properties."""

from __future__ import annotations

import numpy as np
import pytest

from roughml.physics.rendering import (LabSample, orient, render_binary, render_binary_batch, render_lab, sample_lab,
                                       sample_lab_columns)

HEIGHTS = np.array([3, 5, 1, 7, 4, 4, 2, 6, 5, 3], dtype=np.int16)  # L = 10
W = 9

GEOMETRIES = [("vertical", "right"), ("vertical", "left"), ("horizontal", "bottom"), ("horizontal", "top")]


def test_canonical_image_matches_contract():
    img = render_binary(HEIGHTS, W)
    assert img.dtype == np.uint8 and img.shape == (10, W)
    assert set(np.unique(img)) == {0, 255}
    for x, h in enumerate(HEIGHTS):
        np.testing.assert_array_equal(img[x], np.where(np.arange(W) >= h, 255, 0))


@pytest.mark.parametrize("orientation,bright_side", GEOMETRIES)
def test_dark_pixel_count_equals_heights(orientation, bright_side):
    img = render_binary(HEIGHTS, W, orientation, bright_side)
    dark = img == 0
    if orientation == "vertical":
        assert img.shape == (10, W)
        np.testing.assert_array_equal(dark.sum(axis=1), HEIGHTS)
        bright_col = W - 1 if bright_side == "right" else 0
        assert np.all(img[:, bright_col] == 255)
    else:
        assert img.shape == (W, 10)
        np.testing.assert_array_equal(dark.sum(axis=0), HEIGHTS)
        bright_row = W - 1 if bright_side == "bottom" else 0
        assert np.all(img[bright_row, :] == 255)


@pytest.mark.parametrize("orientation,bright_side", GEOMETRIES)
def test_render_binary_follows_the_geometry_table(orientation, bright_side):
    c = render_binary(HEIGHTS, W)
    expected = {("vertical", "right"): c, ("vertical", "left"): c[:, ::-1],
                ("horizontal", "bottom"): c.T, ("horizontal", "top"): c.T[::-1, :]}
    np.testing.assert_array_equal(render_binary(HEIGHTS, W, orientation, bright_side),
                                  expected[(orientation, bright_side)])
    np.testing.assert_array_equal(orient(c, orientation, bright_side), expected[(orientation, bright_side)])


@pytest.mark.parametrize("orientation,bright_side", [("vertical", "top"), ("horizontal", "left"),
                                                     ("diagonal", "right")])
def test_invalid_geometry_is_refused(orientation, bright_side):
    with pytest.raises(ValueError):
        render_binary(HEIGHTS, W, orientation, bright_side)


def test_batch_equals_single_renders():
    rng = np.random.default_rng(0)
    heights = rng.integers(1, 31, size=(5, 20)).astype(np.int16)
    batch = render_binary_batch(heights, 32)
    assert batch.dtype == np.uint8 and batch.shape == (5, 20, 32)
    for i in range(5):
        np.testing.assert_array_equal(batch[i], render_binary(heights[i], 32))


LAB = LabSample(contrast=0.5, illumination=0.3, blur_sigma=1.0, noise_sigma=0.05, n_islands=6,
                island_radius=2.0, rotation_deg=2.0)


@pytest.mark.parametrize("orientation,bright_side", GEOMETRIES)
def test_lab_render_is_deterministic_grey_and_oriented(orientation, bright_side):
    heights = np.full(64, 20, dtype=np.int16)
    a = render_lab(heights, 48, orientation, bright_side, LAB, np.random.default_rng(5))
    b = render_lab(heights, 48, orientation, bright_side, LAB, np.random.default_rng(5))
    c = render_lab(heights, 48, orientation, bright_side, LAB, np.random.default_rng(6))
    assert a.dtype == np.uint8
    assert a.shape == ((64, 48) if orientation == "vertical" else (48, 64))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(np.unique(a)) > 20  # grey levels, not a binary image
    # the bright domain is brighter on average, on the side the geometry says
    canon = render_binary(heights, 48, orientation, bright_side)
    assert a[canon == 255].mean() > a[canon == 0].mean() + 40


def test_lab_without_degradations_is_two_levels_with_requested_contrast():
    plain = LabSample(contrast=0.6, illumination=0.0, blur_sigma=0.0, noise_sigma=0.0, n_islands=0,
                      island_radius=1.0, rotation_deg=0.0)
    heights = np.array([2, 3, 4, 5, 4, 3, 2, 1], dtype=np.int16)
    img = render_lab(heights, 8, "vertical", "right", plain, np.random.default_rng(1))
    levels = np.unique(img)
    assert len(levels) == 2
    assert (levels[1] - levels[0]) / 255 == pytest.approx(0.6, abs=0.01)
    np.testing.assert_array_equal(img == levels[0], render_binary(heights, 8) == 0)


def test_islands_add_pixels_of_the_other_domain():
    heights = np.full(128, 64, dtype=np.int16)
    base = dict(contrast=1.0, illumination=0.0, blur_sigma=0.0, noise_sigma=0.0, island_radius=2.5,
                rotation_deg=0.0)
    clean = render_lab(heights, 128, "vertical", "right", LabSample(n_islands=0, **base),
                       np.random.default_rng(2))
    spotted = render_lab(heights, 128, "vertical", "right", LabSample(n_islands=8, **base),
                         np.random.default_rng(2))
    changed = np.count_nonzero(clean != spotted)
    assert 8 * 5 <= changed <= 8 * 40  # about 8 disks of radius 2.5 (area ~20 px)


#: The lab ranges of params.yaml's defaults, as plain keyword arguments.
RANGES = dict(contrast=(0.25, 1.0), illumination_gradient=(0.0, 0.35), blur_sigma_px=(0.5, 2.0),
              cnr=(2.5, 50.0), islands=(0, 8), island_radius_px=(1.0, 3.0), rotation_deg=3.0)


def test_sample_lab_ranges():
    cols = sample_lab_columns(np.random.default_rng(3), 500, **RANGES)
    assert cols["n_islands"].dtype == np.int16
    assert cols["n_islands"].min() == 0 and cols["n_islands"].max() == 8
    assert np.all((cols["contrast"] >= 0.25) & (cols["contrast"] <= 1.0))
    assert np.all(np.abs(cols["rotation_deg"]) <= 3.0) and cols["rotation_deg"].min() < -2.0
    samples = sample_lab(np.random.default_rng(3), 4, **RANGES)
    assert len(samples) == 4 and isinstance(samples[0], LabSample)
    assert samples[0].contrast == cols["contrast"][0]


# --- the broader microscope: PSF shapes, shot noise, banding, defects, JPEG, someone's threshold ---

STEP = np.full(96, 48, dtype=np.int16)   # a straight wall down the middle of a 96 x 96 image
QUIET = dict(contrast=0.5, illumination=0.0, blur_sigma=0.0, noise_sigma=0.0, n_islands=0, island_radius=1.0,
             rotation_deg=0.0)


def _edge_width(img: np.ndarray) -> int:
    """Columns of the middle row strictly between the dark and the bright level."""
    row = img[48].astype(int)
    return int(np.count_nonzero((row > row.min() + 2) & (row < row.max() - 2)))


@pytest.mark.parametrize("psf", [dict(defocus_radius=3.0), dict(motion_px=8.0)])
def test_defocus_and_motion_psfs_widen_the_edge(psf):
    sharp = render_lab(STEP, 96, "vertical", "right", LabSample(**QUIET), np.random.default_rng(0))
    rng = np.random.default_rng(0)
    blurred = render_lab(STEP, 96, "vertical", "right", LabSample(**QUIET, **psf), rng)
    assert _edge_width(sharp) == 0
    assert _edge_width(blurred) >= 2
    assert blurred[:, :30].mean() < blurred[:, -30:].mean() - 100  # the domains keep their levels


def test_shot_noise_grows_with_the_grey_level():
    lab = LabSample(**{**QUIET, "contrast": 0.6}, photons=400.0)
    img = render_lab(STEP, 96, "vertical", "right", lab, np.random.default_rng(1)).astype(float) / 255
    dark, bright = img[:, 4:40], img[:, 56:92]
    assert bright.mean() > dark.mean() + 0.4
    assert bright.std() > 1.5 * dark.std() > 0  # Poisson: variance proportional to the level


def test_banding_offsets_whole_lines_and_defects_saturate_pixels():
    noisy = dict(QUIET, noise_sigma=0.02)
    plain = render_lab(STEP, 96, "vertical", "right", LabSample(**noisy), np.random.default_rng(2)).astype(float)
    banded = render_lab(STEP, 96, "vertical", "right", LabSample(**noisy, banding=4.0),
                        np.random.default_rng(2)).astype(float)
    spread = lambda img: max(img[:, 4:40].mean(axis=1).std(), img[4:92, 4:40].mean(axis=0).std())  # noqa: E731
    assert spread(banded) > 3 * spread(plain)
    spotted = render_lab(STEP, 96, "vertical", "right", LabSample(**noisy, defects=0.01), np.random.default_rng(3))
    assert 20 < np.count_nonzero((spotted == 0) | (spotted == 255)) < 300


def test_jpeg_and_threshold_keep_shape_and_geometry():
    noisy = dict(QUIET, noise_sigma=0.03, blur_sigma=1.0)
    jpeg = render_lab(STEP, 96, "horizontal", "top", LabSample(**noisy, jpeg_quality=50), np.random.default_rng(4))
    binary = render_lab(STEP, 96, "horizontal", "top", LabSample(**noisy, binarized=1), np.random.default_rng(4))
    canon = render_binary(STEP, 96, "horizontal", "top")
    for img in (jpeg, binary):
        assert img.shape == canon.shape and img.dtype == np.uint8
        assert img[canon == 255].mean() > img[canon == 0].mean() + 80
    assert set(np.unique(binary)) <= {0, 255}
    assert len(np.unique(jpeg)) > 2


def test_sampler_draws_each_degradation_in_its_share():
    cols = sample_lab_columns(np.random.default_rng(5), 4000, **{
        **RANGES, "contrast": (0.03, 1.0), "cnr": (1.5, 60.0), "defocus_share": 0.2, "motion_share": 0.2,
        "poisson_share": 0.5, "jpeg_share": 0.25, "binarized_share": 0.5})
    cnr = cols["contrast"] / cols["noise_sigma"]
    assert 0.03 <= cols["contrast"].min() and cols["contrast"].max() <= 1.0
    assert 1.5 <= cnr.min() and cnr.max() <= 60.0
    assert np.median(cols["contrast"]) < 0.25  # log-uniform: half the images below sqrt(0.03)
    for column, share in (("defocus_radius", 0.2), ("motion_px", 0.2), ("photons", 0.5), ("jpeg_quality", 0.25)):
        assert abs(np.mean(cols[column] > 0) - share) < 0.03, column
    assert np.all(cnr[cols["binarized"] == 1] >= 5.0)  # nobody thresholds a noise-dominated image
    assert cols["binarized"].any()
