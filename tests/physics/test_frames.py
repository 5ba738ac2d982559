"""Synthetic Kerr frames: reproducibility, truth against the rendered image, photometry, banner,
the displacement's exponent, growing-bubble sequences and option validation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree
from skimage import measure

from roughml.physics.frames import (WALL_GAP_PX, SyntheticFrame, TrueWall, bubble_outline, growing_bubble,
                                    render_frame)
from roughml.physics.spectral import periodogram

SMALL = (400, 500)
#: Noise-free, unblurred, evenly lit frames: the image is the anti-aliased domain mask itself.
CLEAN = dict(cnr=(np.inf, np.inf), blur_sigma_px=(0.0, 0.0), dust=(0, 0), vignetting=(0.0, 0.0),
             gradient=(0.0, 0.0))


def _polyline(points: np.ndarray, closed: bool) -> tuple[float, float, float]:
    """(length, centroid row, centroid col) of a polyline, arc-length weighted."""
    seg = (np.roll(points, -1, axis=0) - points) if closed else np.diff(points, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    y, x = ((points[:lengths.size] + seg / 2) * lengths[:, None]).sum(axis=0) / lengths.sum()
    return float(lengths.sum()), float(y), float(x)


def _shoelace(points: np.ndarray) -> float:
    y, x = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _clean_bubbles(seed: int, zeta_range: tuple[float, float]) -> SyntheticFrame:
    return render_frame(np.random.default_rng(seed), shape=SMALL, radius_px=(30, 90), zeta_range=zeta_range,
                        open_walls=(0, 0), allow_cut=False, banner_rows=20, **CLEAN)


def test_frame_types_and_reproducibility():
    frame = render_frame(np.random.default_rng(7), shape=SMALL, radius_px=(30, 120))
    again = render_frame(np.random.default_rng(7), shape=SMALL, radius_px=(30, 120))
    other = render_frame(np.random.default_rng(8), shape=SMALL, radius_px=(30, 120))
    assert frame.image.dtype == np.uint16 and frame.image.shape == SMALL and frame.banner_rows == 44
    assert frame.image.tobytes() == again.image.tobytes()
    assert frame.walls[0].points.tobytes() == again.walls[0].points.tobytes()
    assert frame.image.tobytes() != other.image.tobytes()
    assert all(isinstance(w, TrueWall) and w.kind in ("closed", "open") for w in frame.walls)


@pytest.mark.parametrize("zeta_range,length_tol,centroid_tol", [((0.8, 1.0), 0.02, 0.25), ((0.2, 0.4), 0.25, 1.5)])
def test_truth_matches_the_rendered_wall(zeta_range, length_tol, centroid_tol):
    """The image's 50 % contour has the truth's length and centroid (smooth walls: tightly; very
    rough walls: the pixel grid cuts their finest spikes, so the contour is shorter)."""
    checked = 0
    for seed in range(4):
        frame = _clean_bubbles(seed, zeta_range)
        image = frame.image[:-frame.banner_rows].astype(np.float64)
        level = (image.min() + image.max()) / 2.0
        for wall in frame.walls:
            assert wall.kind == "closed"
            r0, c0 = np.floor(wall.points.min(axis=0)).astype(int) - 3
            r1, c1 = np.ceil(wall.points.max(axis=0)).astype(int) + 4
            contour = max(measure.find_contours(image[r0:r1, c0:c1], level), key=len) + [r0, c0]
            length, y, x = _polyline(contour, closed=True)
            assert abs(length / wall.length_px - 1.0) < length_tol
            assert abs(x - wall.x) < centroid_tol and abs(y - wall.y) < centroid_tol
            assert (wall.length_px, wall.y, wall.x) == pytest.approx(_polyline(wall.points, closed=True))
            checked += 1
    assert checked >= 4


def test_anti_aliased_area_equals_the_truth_polygon():
    """Sum of the domain fraction inside a wall = the area the true polyline encloses."""
    frame = _clean_bubbles(11, (0.2, 1.0))
    image = frame.image[:-frame.banner_rows].astype(np.float64)
    background = np.median(image[:, :3])
    levels = np.unique(image)
    contrast = levels[np.argmax(np.abs(levels - background))] - background
    for wall in frame.walls:
        r0, c0 = np.floor(wall.points.min(axis=0)).astype(int) - 2
        r1, c1 = np.ceil(wall.points.max(axis=0)).astype(int) + 3
        area = float(((image[r0:r1, c0:c1] - background) / contrast).sum())
        assert area == pytest.approx(_shoelace(wall.points), rel=0.005)


@pytest.mark.parametrize("seed", range(4))
def test_walls_lie_in_the_frame_above_the_banner_and_apart(seed):
    frame = render_frame(np.random.default_rng(seed), open_walls=(0, 2))
    rows, cols = frame.image.shape[0] - frame.banner_rows, frame.image.shape[1]
    assert frame.walls
    for wall in frame.walls:
        assert wall.points.ndim == 2 and wall.points.shape[1] == 2 and wall.length_px > 30
        assert wall.points[:, 0].min() >= 0 and wall.points[:, 0].max() <= rows - 1
        assert wall.points[:, 1].min() >= 0 and wall.points[:, 1].max() <= cols - 1
        if wall.kind == "closed":  # clear of the edges by at least the gap
            assert wall.points.min() >= WALL_GAP_PX
            assert np.all(wall.points.max(axis=0) <= np.array([rows, cols]) - 1 - WALL_GAP_PX)
    for i, first in enumerate(frame.walls):
        for second in frame.walls[i + 1:]:
            distance, _ = cKDTree(first.points).query(second.points)
            assert distance.min() >= WALL_GAP_PX - 1e-9
    for x, y, radius in frame.dust:
        assert 2.0 <= radius <= 8.0 and 0 <= x <= cols - 1 and 0 <= y <= rows - 1


@pytest.mark.parametrize("seed", range(4))  # both orientations occur
def test_open_wall_crosses_the_field_between_two_phases(seed):
    frame = render_frame(np.random.default_rng(seed), shape=SMALL, bubbles=(0, 0), open_walls=(1, 1), banner_rows=20,
                         contrast=(0.05, 0.05), **CLEAN)
    (wall,) = frame.walls
    rows, cols = SMALL[0] - 20, SMALL[1]
    along = 0 if np.ptp(wall.points[:, 0]) == rows - 1 else 1
    np.testing.assert_array_equal(wall.points[:, along], np.arange((rows, cols)[along]))
    image = frame.image[:rows]
    sides = (image[:, :3], image[:, -3:]) if along == 0 else (image[:3], image[-3:])
    assert abs(int(np.median(sides[0])) - int(np.median(sides[1]))) == pytest.approx(0.05 * 65535, abs=2)
    assert wall.kind == "open" and wall.length_px > (rows, cols)[along] - 1


def test_cut_bubbles_become_open_walls():
    """Bubbles too large for the field are cut by the border; their truth is the in-frame part."""
    frame = render_frame(np.random.default_rng(3), shape=(300, 300), bubbles=(1, 1), radius_px=(200, 200),
                         open_walls=(0, 0), banner_rows=30)
    (wall,) = frame.walls
    assert wall.kind == "open"
    assert wall.points[:, 0].max() <= 300 - 30 - 1
    assert 30 < wall.length_px < 2 * np.pi * 200 * 1.6


def test_no_cut_keeps_every_bubble_closed():
    for seed in range(3):
        frame = render_frame(np.random.default_rng(seed), shape=SMALL, radius_px=(40, 400), open_walls=(0, 0),
                             allow_cut=False)
        assert frame.walls and all(w.kind == "closed" for w in frame.walls)


def test_banner_is_saturated_text_and_nothing_else():
    frame = render_frame(np.random.default_rng(2), shape=SMALL, banner_rows=44, contrast=(0.3, 0.4))
    banner = frame.image[-44:]
    values, counts = np.unique(banner, return_counts=True)
    assert set(values.tolist()) == {0, 65535}
    assert counts[1] > 200  # text and scale bar
    assert np.all(banner[:, :4] == 0)  # a black margin: no domain shows through
    above = frame.image[:-44]
    assert np.count_nonzero(above == 65535) < 0.01 * above.size
    no_banner = render_frame(np.random.default_rng(2), shape=SMALL, banner_rows=0)
    assert no_banner.banner_rows == 0 and np.count_nonzero(no_banner.image[-44:] == 0) < 0.01 * 44 * SMALL[1]


def test_contrast_noise_and_vignetting_follow_the_options():
    plain = dict(shape=SMALL, bubbles=(0, 0), open_walls=(0, 0), dust=(0, 0), blur_sigma_px=(0.0, 0.0))
    noisy = render_frame(np.random.default_rng(0), contrast=(0.05, 0.05), cnr=(1.0, 1.0), vignetting=(0.0, 0.0),
                         gradient=(0.0, 0.0), **plain)
    assert noisy.image[:-44].std() == pytest.approx(0.05 * 65535, rel=0.03)
    vignetted = render_frame(np.random.default_rng(0), cnr=(np.inf, np.inf), vignetting=(0.3, 0.3),
                             gradient=(0.0, 0.0), banner_rows=0, **plain).image.astype(np.float64)
    assert vignetted.min() / vignetted.max() == pytest.approx(0.7, abs=0.02)
    frame = render_frame(np.random.default_rng(4), shape=SMALL, bubbles=(2, 2), radius_px=(40, 60),
                         contrast=(0.05, 0.05), open_walls=(0, 0), banner_rows=0, **CLEAN)
    assert int(np.ptp(frame.image)) == pytest.approx(0.05 * 65535, abs=2)


def _displacement_slope_zeta(zeta: float, draws: int = 10) -> float:
    """ζ from the slope of the draw-averaged periodic periodogram of u = r − R of circular bubbles."""
    rng = np.random.default_rng(int(zeta * 100))
    power = 0.0
    for _ in range(draws):
        _, r = bubble_outline(rng, zeta, 300.0, rms_fraction=0.04)
        q, p = periodogram(r - 300.0, "none")
        power = power + p
    keep = slice(0, q.size - 1)  # every mode but Nyquist
    slope = np.polyfit(np.log(q[keep]), np.log(power[keep]), 1)[0]
    return (-slope - 1.0) / 2.0


@pytest.mark.parametrize("zeta", [0.3, 0.6, 0.9])
def test_bubble_displacement_has_the_requested_zeta(zeta):
    assert _displacement_slope_zeta(zeta) == pytest.approx(zeta, abs=0.1)


def test_bubble_outline_geometry():
    rng = np.random.default_rng(5)
    tilt, radius, elongation = 0.4, 120.0, 1.5
    theta, r = bubble_outline(rng, 0.5, radius, elongation=elongation, tilt_rad=tilt, rms_fraction=0.05)
    a, b = radius * np.sqrt(elongation), radius / np.sqrt(elongation)
    phi = theta - tilt
    r_ellipse = a * b / np.hypot(b * np.cos(phi), a * np.sin(phi))
    u = r - r_ellipse
    assert abs(u.mean()) < 1e-9 and u.std() == pytest.approx(0.05 * radius, rel=1e-9)
    assert np.all(np.diff(theta) > 0) and theta[0] == pytest.approx(tilt) and theta[-1] < tilt + 2 * np.pi
    steps = np.hypot(np.diff(r_ellipse * np.cos(phi)), np.diff(r_ellipse * np.sin(phi)))
    assert np.all((steps > 0.9) & (steps < 1.1))  # ~1 px along the reference ellipse
    _, small = bubble_outline(rng, 0.2, 50.0, rms_fraction=0.06)
    assert 0.6 * 50 < small.min() and small.max() < 1.4 * 50  # rough, but still a bubble
    assert bubble_outline(rng, 0.5, 50.0, points=64)[0].size == 64


def test_growing_bubble_grows_smoothly():
    """Radii grow; the displacement u(θ) of consecutive frames is correlated (modes mixed with
    a = 0.8) but not rigid. Modes 0–2 (mean radius, centre, ellipse) are left out, as the reference
    shape removes them; ζ = 0.3 leaves enough modes that one sample correlation is near its mean."""
    frames = growing_bubble(np.random.default_rng(1), 5, zeta=0.3, radius_px=(40, 120), shape=SMALL,
                            elongation=(1.0, 1.0), banner_rows=20, dust=(3, 3))
    assert len(frames) == 5 and all(isinstance(f, SyntheticFrame) for f in frames)
    walls = [f.walls[0] for f in frames]
    assert all(len(f.walls) == 1 and w.kind == "closed" for f, w in zip(frames, walls))
    assert all(f.dust == frames[0].dust for f in frames)  # same optics, same dust
    centre = np.array([walls[0].y, walls[0].x])
    grid = np.linspace(-np.pi, np.pi, 720, endpoint=False)
    radii, displacements = [], []
    for wall in walls:
        d = wall.points - centre
        rho, phi = np.hypot(d[:, 0], d[:, 1]), np.arctan2(d[:, 0], d[:, 1])
        radii.append(rho.mean())
        modes = np.fft.rfft(np.interp(grid, phi, rho, period=2 * np.pi))
        modes[:3] = 0.0
        displacements.append(np.fft.irfft(modes, n=grid.size))
    assert np.all(np.diff(radii) > 10)
    corr = [np.corrcoef(previous, current)[0, 1] for previous, current in zip(displacements, displacements[1:])]
    assert min(corr) > 0.5 and max(corr) < 0.99 and np.mean(corr) == pytest.approx(0.8, abs=0.15)
    assert frames[0].image.tobytes() != frames[1].image.tobytes()


@pytest.mark.parametrize("options,message", [
    (dict(radius_px=(100, 50)), "radius_px"),
    (dict(radius_px=(-5, 50)), "radius_px"),
    (dict(contrast=(0.0, 0.1)), "contrast"),
    (dict(cnr=(1.0, np.inf)), "cnr"),
    (dict(bubbles=(1.5, 2)), "bubbles"),
    (dict(bubbles=3), "bubbles"),
    (dict(zeta_range=(0.5, np.nan)), "zeta_range"),
    (dict(elongation=(0.5, 1.0)), "elongation"),
    (dict(vignetting=(0.0, 1.5)), "vignetting"),
    (dict(open_walls=(0, 9)), "open_walls"),
    (dict(dust=(-1, 3)), "dust"),
    (dict(shape=(10, 10)), "shape"),
    (dict(shape=SMALL, banner_rows=390), "banner_rows"),
])
def test_render_frame_rejects_nonsense(options, message):
    with pytest.raises(ValueError, match=message):
        render_frame(np.random.default_rng(0), **options)


@pytest.mark.parametrize("call,message", [
    (lambda rng: bubble_outline(rng, 0.5, -3.0), "mean_radius_px"),
    (lambda rng: bubble_outline(rng, 0.5, 50.0, elongation=0.5), "elongation"),
    (lambda rng: bubble_outline(rng, 0.5, 50.0, rms_fraction=0.9), "rms_fraction"),
    (lambda rng: bubble_outline(rng, 3.0, 50.0), "zeta"),
    (lambda rng: growing_bubble(rng, 0), "n_frames"),
    (lambda rng: growing_bubble(rng, 3, bubbles=(1, 2)), "bubbles"),
    (lambda rng: growing_bubble(rng, 3, radius_px=(300, 80)), "radius_px"),
])
def test_bubble_functions_reject_nonsense(call, message):
    with pytest.raises(ValueError, match=message):
        call(np.random.default_rng(0))
