"""Full frames: every wall found, closed or open, never one on the instrument's banner.

The frames come from ``roughml.physics.frames`` (bubbles of known ζ with Kerr-like contrast under
noise comparable to it, blur, vignetting, dust and a banner with text and a scale bar).
"""

from __future__ import annotations

import numpy as np
import pytest

from roughml.imaging import detection, frames, overlays, straighten
from roughml.physics import frames as synthetic
from roughml.physics.spectral import estimate_profile


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / np.float32(65535.0)


def _match(found, truth, tolerance: float):
    """The found wall nearest to ``truth`` within ``tolerance`` px (centroid), or None."""
    best = min(found, key=lambda w: np.hypot(w.x - truth.x, w.y - truth.y), default=None)
    if best is None or np.hypot(best.x - truth.x, best.y - truth.y) > tolerance:
        return None
    return best


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_bubble_is_found_as_a_closed_wall_and_nothing_on_the_banner(seed):
    frame = synthetic.render_frame(np.random.default_rng(seed), bubbles=(2, 3), radius_px=(60, 250),
                                   open_walls=(0, 0), allow_cut=False)
    found = frames.find_walls(_unit(frame.image))
    assert found.banners and found.banners[0][0] == "bottom"
    assert frame.banner_rows <= found.banners[0][1] <= frame.banner_rows + 8
    rows = frame.image.shape[0]
    for truth in frame.walls:
        wall = _match(found.walls, truth, max(15.0, 0.1 * truth.length_px / (2 * np.pi)))
        assert wall is not None, f"bubble at ({truth.x:.0f}, {truth.y:.0f}) not found"
        assert wall.kind == "closed"
        assert 0.5 * truth.length_px < wall.length_px < 1.05 * truth.length_px  # traced at the segmentation's scale
    assert len(found.walls) == len(frame.walls)  # nothing else: not the banner, not dust
    assert all(w.points[:, 0].max() < rows - frame.banner_rows for w in found.walls + found.short)


def test_a_domain_cut_by_the_border_is_an_open_wall():
    frame = synthetic.render_frame(np.random.default_rng(5), shape=(300, 300), bubbles=(1, 1),
                                   radius_px=(200, 200), open_walls=(0, 0), banner_rows=0, dust=(0, 0))
    assert [w.kind for w in frame.walls] == ["open"]
    found = frames.find_walls(_unit(frame.image))
    assert [w.kind for w in found.walls] == ["open"]


def test_a_wall_crossing_the_field_is_open_and_a_single_crop_is_not_a_frame():
    frame = synthetic.render_frame(np.random.default_rng(6), shape=(400, 600), bubbles=(0, 0),
                                   open_walls=(1, 1), banner_rows=0, dust=(0, 0))
    found = frames.find_walls(_unit(frame.image))
    assert [w.kind for w in found.walls] == ["open"] and not found.is_frame
    assert _match(found.walls, frame.walls[0], 20.0) is not None


def test_a_frame_with_only_a_banner_and_noise_has_no_wall():
    rng = np.random.default_rng(7)
    image = np.clip(rng.normal(0.45, 0.02, (1066, 1344)), 0, 1).astype(np.float32)
    image[-44:, :] = 0.0
    image[-30:-26, 100:260] = 1.0  # scale bar
    image[-20:-12, 400:700:3] = 1.0  # "text"
    found = frames.find_walls(image)
    assert found.walls == () and found.short == () and found.step == 0.0
    assert found.is_frame and found.banners == (("bottom", 44 + overlays.BAND_MARGIN),)


@pytest.mark.parametrize("background", [0.0, 0.3])
@pytest.mark.parametrize("side", ["top", "bottom"])
def test_black_and_grey_banners_are_found_at_either_edge(background, side):
    rng = np.random.default_rng(8)
    image = np.clip(rng.normal(0.5, 0.03, (400, 500)), 0, 1).astype(np.float32)
    band = np.s_[:30, :] if side == "top" else np.s_[-30:, :]
    image[band] = background
    image[band][10:20, 50:200:4] = 1.0
    assert overlays.banner_bands(image) == [(side, 30 + overlays.BAND_MARGIN)]


def test_illumination_gradients_and_clean_crops_are_not_banners():
    rng = np.random.default_rng(9)
    ramp = np.linspace(0.1, 0.9, 300, dtype=np.float32)[:, None] * np.ones((1, 200), np.float32)
    noisy = ramp + rng.normal(0, 0.02, ramp.shape).astype(np.float32)
    assert overlays.banner_bands(noisy) == []
    binary = np.zeros((128, 96), np.float32)
    binary[:, 40:] = 1.0
    mask, bands = overlays.overlay_mask(binary)
    assert bands == [] and not mask.any()


def test_the_strip_of_a_clean_bubble_carries_its_displacement():
    rng = np.random.default_rng(10)
    frame = synthetic.render_frame(rng, shape=(700, 700), bubbles=(1, 1), radius_px=(220, 220),
                                   zeta_range=(0.7, 0.7), elongation=(1.3, 1.3), cnr=(np.inf, np.inf),
                                   blur_sigma_px=(0.5, 0.5), vignetting=(0, 0), dust=(0, 0), banner_rows=0,
                                   open_walls=(0, 0), allow_cut=False, gradient=(0, 0))
    found = frames.find_walls(_unit(frame.image))
    (wall,) = found.walls
    strip = straighten.straighten(_unit(frame.image), wall.points, closed=True)
    assert strip.periodic and abs(strip.image.shape[0] - frame.walls[0].length_px) < 0.25 * frame.walls[0].length_px
    canonical = strip.image if strip.image[:, :5].mean() < strip.image[:, -5:].mean() else strip.image[:, ::-1]
    h = detection.extract_profile(canonical)
    zeta, sigma, _ = estimate_profile(h, "free", periodic=True)
    assert abs(zeta - 0.7) < 3 * sigma + 0.1  # the wall's own exponent, read along the unwrapped arc
    # the strip's line follows the wall: its centre samples lie on the true outline
    truth = frame.walls[0].points
    distance = np.min(np.hypot(strip.rows[::50, None] - truth[None, :, 0], strip.cols[::50, None] - truth[None, :, 1]), axis=1)
    assert np.median(distance) < 2.0


def test_an_open_strip_is_the_wall_rotated_onto_its_mean_direction():
    rows, cols = np.mgrid[0:200, 0:300].astype(np.float32)
    image = (rows > 100 + 0.3 * (cols - 150)).astype(np.float32)  # a straight wall tilted by 17°
    found = frames.find_walls(image)
    (wall,) = found.walls
    strip = straighten.straighten(image, wall.points, closed=False)
    h = detection.extract_profile(strip.image if strip.image[:, 0].mean() < 0.5 else strip.image[:, ::-1])
    assert np.ptp(h[5:-5]) <= 2.0  # tilt removed: the wall is straight in the strip


def test_frame_analysis_is_fast_enough_for_full_frames():
    frame = synthetic.render_frame(np.random.default_rng(11))
    image = _unit(frame.image)
    frames.find_walls(image)  # imports, caches
    import time

    start = time.perf_counter()
    frames.find_walls(image)
    assert time.perf_counter() - start < 5.0  # generous: the benchmark measures the real figure
