"""The low-contrast fallback of wall detection (:mod:`roughml.imaging.faint`).

Why these tests: the fallback only runs where the fast detector gave up, so each faint case first
checks that the fast detector alone does give up (else the test would not exercise the fallback),
then that the full detector finds the right geometry. The negatives are the structures that
smoothing along a candidate wall could make look like one.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from roughml.core.errors import NoInterfaceError
from roughml.imaging import detection, faint
from roughml.imaging.detection import detect_orientation
from roughml.physics import rendering, synthesis
from roughml.physics.geometry import BRIGHT_SIDES, orient

GEOMETRIES = [(kind, side) for kind in BRIGHT_SIDES for side in BRIGHT_SIDES[kind]]
INDEPENDENT = Path(__file__).resolve().parents[2] / "benchmarks" / "independent_render.py"


def _fast_only(img: np.ndarray):
    """detect_orientation with the fallback switched off (None, or raises)."""
    real = detection.faint_wall
    detection.faint_wall = lambda _img: None
    try:
        return detect_orientation(img)
    finally:
        detection.faint_wall = real


def _assert_faint_found(img: np.ndarray, orientation: str, bright: str) -> None:
    with pytest.raises(NoInterfaceError):
        _fast_only(img)
    found = detect_orientation(img)
    assert (found.orientation, found.bright_side) == (orientation, bright)


def _heights(seed: int, length: int, zeta: float = 0.7, width: float = 0.05) -> np.ndarray:
    profile = synthesis.self_affine_profiles(np.random.default_rng(seed), zeta, length)
    return synthesis.quantise(profile, width * length, length)[0][0]


def _hand_made(seed: int, size: int, cnr: float, orientation: str, bright: str) -> np.ndarray:
    """A rough step (contrast 0.1), blurred 1.5 px, plus Gaussian noise of 0.1 / ``cnr``."""
    rng = np.random.default_rng(seed)
    canonical = (np.arange(size)[None, :] >= _heights(seed, size)[:, None]).astype(np.float64)
    grey = 0.4 + 0.1 * ndimage.gaussian_filter(canonical, 1.5)
    return orient(grey + rng.normal(0.0, 0.1 / cnr, grey.shape), orientation, bright)


@pytest.mark.parametrize("orientation, bright", GEOMETRIES)
@pytest.mark.parametrize("seed, cnr", [(1, 2.0), (2, 3.0)])
def test_faint_hand_made_wall_all_geometries(orientation, bright, seed, cnr):
    _assert_faint_found(_hand_made(seed, 200, cnr, orientation, bright), orientation, bright)


@pytest.mark.parametrize("orientation, bright", GEOMETRIES)
def test_faint_lab_wall_all_geometries(orientation, bright):
    # Per-pixel CNR 0.04 / 0.02 = 2 in the lab renderer (illumination, blur, islands, uint8).
    lab = rendering.LabSample(contrast=0.04, illumination=0.3, blur_sigma=1.5, noise_sigma=0.02,
                              n_islands=2, island_radius=2.0, rotation_deg=2.0)
    img = rendering.render_lab(_heights(4, 320), 320, orientation, bright, lab, np.random.default_rng(4))
    _assert_faint_found(img, orientation, bright)


@pytest.mark.skipif(not INDEPENDENT.is_file(), reason="benchmarks/independent_render.py not in this checkout")
@pytest.mark.parametrize("orientation, bright", GEOMETRIES)
def test_faint_wall_from_the_independent_renderer(orientation, bright, monkeypatch):
    spec = importlib.util.spec_from_file_location("independent_render", INDEPENDENT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "independent_render", module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    rng = np.random.default_rng(11)
    heights = np.rint(synthesis.self_affine_profiles(rng, 0.6, 300)[0] * 15 * 8).astype(np.int64)
    optics = module.Optics(rotation_deg=3.0, fill=0.5, shift=0.0, psf="gaussian", psf_size=1.0,
                           motion_angle_deg=0.0, contrast=0.1, base=0.3, cnr=2.5, noise="poisson",
                           read_noise=0.1, gain_spread=0.01, banding=0.1, vignetting=0.2, gradient=0.2,
                           gradient_angle_deg=30.0, hot_fraction=5e-4, dead_fraction=5e-4, bits=16,
                           jpeg_quality=0, bright_left=bright in ("left", "top"),
                           transpose=orientation == "horizontal")
    img, _ = module.render(heights, rng, subpixel=8, optics=optics)
    _assert_faint_found(img, orientation, bright)


def _text(img: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """``img`` with lines of white text drawn between rows ``top`` and ``bottom``, columns ``left`` and ``right``."""
    mask = Image.new("L", (img.shape[1], img.shape[0]), 0)
    draw = ImageDraw.Draw(mask)
    for y in range(top, bottom - 8, 12):
        draw.text((left, y), "20 um  x50  Kerr  T=300K  " * 8, fill=255)
    ink = np.asarray(mask) > 0
    ink[:, right:] = False
    return np.where(ink, 1.0, img)


def _negative(case: str, size: int, rng: np.random.Generator) -> np.ndarray:
    shape = (size, size + size // 4)
    noise = rng.normal(0.0, 0.02, shape)
    yy, xx = np.mgrid[:shape[0], :shape[1]] / size
    base = np.full(shape, 0.4)
    if case == "gaussian_noise":
        return base + noise
    if case == "poisson_noise":
        return rng.poisson(0.4 * 400, shape) / 400.0
    if case == "uniform":
        return base
    if case == "vignetting":  # strong, off-centre, times a gradient; far above the noise
        return base * (1 - 0.5 * ((yy - 0.8) ** 2 + (xx - 0.2) ** 2)) * (1 + 0.3 * yy) + 0.2 * noise
    if case == "faint_disk":
        return base + 0.05 * (np.hypot(yy - 0.5, xx - 0.6) < 0.35) + noise
    if case == "faint_stripe_along_rows":
        return base + 0.05 * ((xx > 0.3) & (xx < 0.6)) + noise
    if case == "row_banding":
        return base + noise + rng.normal(0.0, 0.01, (shape[0], 1))
    if case == "column_banding":
        return base + noise + rng.normal(0.0, 0.01, (1, shape[1]))
    if case == "hot_pixels":
        img = base + noise
        img[rng.random(shape) < 1e-3] = 1.0
        img[rng.random(shape) < 1e-3] = 0.0
        return img
    if case == "text_banner":
        return _text(base + noise, int(0.7 * size), int(0.85 * size), 4, shape[1])
    # scale bar and its label on a uniform, slightly noisy background
    img = base + 0.1 * noise
    img[int(0.9 * size):int(0.9 * size) + 3, 10:10 + size // 4] = 1.0
    return _text(img, int(0.9 * size) - 14, int(0.9 * size), 10, 10 + size // 4)


NEGATIVES = ["gaussian_noise", "poisson_noise", "uniform", "vignetting", "faint_disk", "faint_stripe_along_rows",
             "row_banding", "column_banding", "hot_pixels", "text_banner", "scale_bar"]


@pytest.mark.parametrize("case", NEGATIVES)
@pytest.mark.parametrize("size", [64, 256, 700])
def test_no_wall_in_what_is_not_a_wall(case, size):
    img = _negative(case, size, np.random.default_rng(size))
    with pytest.raises(NoInterfaceError):
        detect_orientation(img)
    # the fallback itself, not only the fast detector, must see nothing
    assert faint.faint_wall(detection._detection_image(img) if case != "uniform" else img) is None


@pytest.mark.parametrize("size", [64, 1344])
def test_pure_noise_of_any_size_is_no_wall(size):
    rng = np.random.default_rng(size + 1)
    for img in (rng.normal(0.5, 0.05, (size, size)), (rng.poisson(30.0, (size, size // 2 + 32)) * 1000).astype(np.uint16)):
        assert faint.faint_wall(detection._detection_image(img)) is None


def test_fast_path_results_are_unchanged_for_a_clean_image(monkeypatch):
    lab = rendering.LabSample(contrast=0.35, illumination=0.3, blur_sigma=1.5, noise_sigma=0.08,
                              n_islands=6, island_radius=2.0, rotation_deg=2.0)
    img = rendering.render_lab(_heights(3, 160), 160, "horizontal", "top", lab, np.random.default_rng(3))

    def never(_img):
        raise AssertionError("the fallback ran for an image the fast detector accepts")

    monkeypatch.setattr(detection, "faint_wall", never)
    found = detect_orientation(img)
    assert (found.orientation, found.bright_side) == ("horizontal", "top")
    assert found.contrast == detection._domain_contrast(detection.canonicalize(detection._detection_image(img), found))


def test_box_size_matches_the_standard_deviation():
    for sigma, passes in [(2.0, 2), (8.0, 2), (24.0, 3)]:
        width = faint._box_size(sigma, passes)
        assert width % 2 == 1
        assert np.sqrt(passes * (width ** 2 - 1) / 12.0) == pytest.approx(sigma, rel=0.15)


@pytest.mark.parametrize("orientation, bright", [("horizontal", "bottom"), ("vertical", "left")])
def test_long_narrow_noisy_strip_gives_a_geometry_or_a_reason(orientation, bright):
    """A 1024 × 48 px strip at CNR ~1 (a wall straightened out of a Kerr frame). The fallback also
    looks across the strip, along lines of 48 px, shorter than its widest edge filter: that used to
    raise a bare numpy ValueError that stopped the whole evaluate stage."""
    rng = np.random.default_rng(11)
    for seed in range(12):
        profile = synthesis.self_affine_profiles(np.random.default_rng(seed), 0.6, 1024)
        heights = synthesis.quantise(profile, 3.0, 48)[0][0]
        canonical = (np.arange(48)[None, :] >= heights[:, None]).astype(np.float64)
        grey = 0.4 + 0.05 * ndimage.gaussian_filter(canonical, 2.0) + rng.normal(0.0, 0.05, canonical.shape)
        try:
            found = detect_orientation(orient(grey, orientation, bright))
        except NoInterfaceError:
            continue
        assert found.orientation == orientation
