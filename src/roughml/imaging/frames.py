"""Find every wall in a full microscope frame: segment the domains, trace and classify the walls.

Why: a polar-Kerr frame shows one or several domains with a contrast of a few percent under
per-pixel noise as large as that contrast, vignetting, dust and an instrument banner; a bubble
domain's wall is a closed curve, a domain cut by the frame border or a wall crossing the field is
open. Steps, each a small function:

1. instrument overlays are masked (:mod:`roughml.imaging.overlays`), with a thin frame border;
2. the frame is block-averaged to at most ``WORK_SIDE`` px and smoothed (σ = ``SMOOTHING`` px):
   only the *location* of the walls comes from this picture, their roughness is read later from
   the full-resolution image;
3. illumination (a quadratic surface) and the domain step are fitted together, iteratively, so
   that vignetting cannot move a wall; the two phases are split at half the step, and components
   smaller than a dust speck (``SPECK_AREA_PX``) are given to the surrounding phase;
4. walls are the sub-pixel iso-contours of that segmentation (scikit-image ``find_contours``):
   a contour that closes on itself is a ``closed`` wall, one that ends at the border or at an
   overlay is ``open``; walls shorter than ``MIN_WALL_PX`` are reported as too short, specks
   shorter than ``SPECK_PX`` are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage import measure, morphology

from roughml.imaging.overlays import overlay_mask
from roughml.imaging.straighten import polyline_length

#: Longest side (px) of the picture the domains are segmented in.
WORK_SIDE = 720
#: Gaussian smoothing (px of the working picture) against pixel noise before segmenting.
SMOOTHING = 2.0
#: A domain step must exceed this many noise σ of the smoothed picture to count.
MIN_STEP_SNR = 5.0
#: Shortest wall (px along the wall, full resolution) that is measured.
MIN_WALL_PX = 128
#: Contours shorter than this (px) are specks (dust, defects, noise): ignored, not reported.
SPECK_PX = 48
#: Domains and holes smaller than this area (px², full resolution) are specks, not domains.
SPECK_AREA_PX = 400
#: A wall must change the flattened picture by this share of the domain step across it...
MIN_EDGE_SHARE = 0.5
#: A closed contour with more than this many domain steps across it is dust, not a domain...
MAX_DUST_SHARE = 1.5
#: ... as is one shorter than DUST_CHECK_PX whose interior is not DOMAIN_DEPTH steps deep (median).
DUST_CHECK_PX = 400
DOMAIN_DEPTH = (0.75, 1.33)
#: ... measured this far (working px) on either side of it.
EDGE_DISTANCE = 3.0 * SMOOTHING
#: Pixels (full resolution) along the frame's border where no wall is traced.
BORDER_PX = 4


@dataclass(frozen=True)
class TracedWall:
    """One wall of a frame: its contour in image pixels (row, col) and what kind it is."""

    kind: str                # "closed" | "open"
    points: np.ndarray       # (N, 2) float64, row and column, full-resolution pixels
    length_px: float

    @property
    def x(self) -> float:
        """Centroid column of the wall line."""
        return float(self.points[:, 1].mean())

    @property
    def y(self) -> float:
        """Centroid row of the wall line."""
        return float(self.points[:, 0].mean())


@dataclass(frozen=True)
class FrameWalls:
    """What was found in a frame.

    ``walls`` are long enough to measure; ``short`` are walls below ``MIN_WALL_PX``; ``ignored``
    is the full-resolution mask of overlays, specks and border (shaded in overlay pictures);
    ``banners`` lists the instrument bands as ``(side, px)``; ``step`` is the domain contrast
    found (grey levels, 0 when the frame shows no domains).
    """

    walls: tuple[TracedWall, ...]
    short: tuple[TracedWall, ...]
    ignored: np.ndarray
    banners: tuple[tuple[str, int], ...] = ()
    graphics: bool = False
    step: float = 0.0

    @property
    def is_frame(self) -> bool:
        """True unless the image is a single-wall crop (one open wall, nothing drawn on it)."""
        closed = any(w.kind == "closed" for w in self.walls)
        return bool(self.banners) or self.graphics or closed or len(self.walls) >= 2


def reduction_factor(shape: tuple[int, int], work_side: int = WORK_SIDE) -> int:
    """Smallest integer block size that brings the longer side to at most ``work_side``."""
    return max(1, int(np.ceil(max(shape) / work_side)))


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` × ``factor`` blocks (the ragged last rows/columns dropped)."""
    if factor == 1:
        return np.asarray(image, dtype=np.float32)
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = np.asarray(image[:rows, :cols], dtype=np.float32).reshape(rows // factor, factor, cols // factor, factor)
    return blocks.mean(axis=(1, 3))


def _noise_sigma(image: np.ndarray) -> float:
    """Per-pixel noise σ from neighbour differences (median, so walls and dust do not count)."""
    diffs = np.abs(np.diff(image, axis=1))
    return float(np.median(diffs)) / (0.6745 * np.sqrt(2.0))


#: Powers (i, j) of the cubic illumination surface's terms r^i c^j.
_TERMS = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2), (3, 0), (2, 1), (1, 2), (0, 3))


def _powers(size: int, step: int) -> np.ndarray:
    """(points, 4) powers 0–3 of the centred, scaled coordinate of every ``step``-th pixel."""
    x = np.arange(0, size, step, dtype=np.float64) / size - 0.5
    return np.stack([np.ones_like(x), x, x * x, x ** 3], axis=1)


def _basis(shape: tuple[int, int], step: int) -> np.ndarray:
    """Cubic illumination basis (1, r, c, r², rc, c², r³, r²c, rc², c³) on every ``step``-th pixel.

    Cubic rather than quadratic: off-centre vignetting with a drift on top leaves a few percent of
    the grey range after a quadratic fit, as much as a Kerr domain's contrast.
    """
    rows, cols = _powers(shape[0], step), _powers(shape[1], step)
    return np.stack([np.outer(rows[:, i], cols[:, j]) for i, j in _TERMS], axis=-1)


def _surface(shape: tuple[int, int], coef: np.ndarray) -> np.ndarray:
    """The cubic surface with coefficients ``coef`` (in ``_TERMS`` order) on the whole picture."""
    matrix = np.zeros((4, 4))
    for (i, j), value in zip(_TERMS, coef):
        matrix[i, j] = value
    return (_powers(shape[0], 1) @ matrix @ _powers(shape[1], 1).T).astype(np.float32)


def masked_smoothing(image: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing that reads valid pixels only (normalised convolution).

    Why: a black banner or the frame's edge would otherwise bleed into the neighbouring rows as
    a dark band, which the segmentation would take for a domain with a straight wall.
    """
    weights = valid.astype(np.float32)
    total = ndimage.gaussian_filter(np.where(valid, image, 0.0).astype(np.float32), sigma, mode="nearest")
    norm = ndimage.gaussian_filter(weights, sigma, mode="nearest")
    fallback = float(np.median(image[valid])) if valid.any() else 0.0
    return np.where(norm > 1e-3, total / np.maximum(norm, 1e-3), fallback).astype(np.float32)


#: Fit the illumination on every FIT_STEP-th pixel of the working picture (both axes).
FIT_STEP = 4


def _fit_illumination(smooth: np.ndarray, valid: np.ndarray,
                      phase: np.ndarray | None) -> tuple[np.ndarray, float, float]:
    """Least squares of ``smooth ≈ cubic(r, c) + step · phase`` on valid pixels.

    Returns the illumination surface (full working size), the step (0 without a phase) and the
    mean squared residual, by which competing segmentations are compared.
    """
    basis = _basis(smooth.shape, FIT_STEP)
    use = valid[::FIT_STEP, ::FIT_STEP]
    columns = [basis[use]]
    if phase is not None:
        columns.append(phase[::FIT_STEP, ::FIT_STEP][use].astype(np.float64)[:, None])
    design = np.hstack(columns)
    target = smooth[::FIT_STEP, ::FIT_STEP][use].astype(np.float64)
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    residual = float(np.mean((design @ coef - target) ** 2)) if target.size else 0.0
    surface = _surface(smooth.shape, coef[:10])
    return surface, float(coef[10]) if phase is not None else 0.0, residual


def _clean(phase: np.ndarray, min_area: int) -> np.ndarray:
    """The phase with specks of either phase (smaller than ``min_area`` px) given to the other."""
    phase = morphology.remove_small_objects(phase, max_size=min_area - 1)
    return morphology.remove_small_holes(phase, max_size=min_area - 1)


def _starting_phases(smooth: np.ndarray, valid: np.ndarray, threshold: float) -> list[np.ndarray]:
    """Candidate domain masks to start the joint fit from.

    Otsu's split of the smoothed picture finds large domains (which a smooth illumination surface
    would otherwise absorb); the strong positive and negative deviations from an illumination-only
    fit find small domains (which Otsu misses in a field of background).
    """
    from skimage.filters import threshold_otsu

    starts = []
    values = smooth[valid]
    if np.ptp(values) > threshold:
        starts.append((smooth > threshold_otsu(values)) & valid)
    surface, _, _ = _fit_illumination(smooth, valid, None)
    flat = smooth - surface
    centre = float(np.median(flat[valid]))
    starts += [(flat - centre > threshold) & valid, (centre - flat > threshold) & valid]
    return [start for start in starts if start.any() and not start[valid].all()]


def _refine(smooth: np.ndarray, valid: np.ndarray, phase: np.ndarray, iterations: int = 6):
    """Alternate the joint illumination + step fit and the split at half the step."""
    surface, step, residual = _fit_illumination(smooth, valid, phase)
    for _ in range(iterations):
        new = (((smooth - surface) - 0.5 * step) * np.sign(step) > 0) & valid
        if np.array_equal(new, phase) or not new.any():
            break
        phase = new
        surface, step, residual = _fit_illumination(smooth, valid, phase)
    return phase, surface, step, residual


def segment(small: np.ndarray, valid: np.ndarray, speck_area: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Two-phase segmentation of the working picture: (phase mask, flattened picture, signed step).

    Every starting mask (:func:`_starting_phases`) is refined by :func:`_refine`; the one that
    explains the picture best (smallest residual) wins. A step below ``MIN_STEP_SNR`` noise σ of
    the smoothed picture is no domain at all: the mask is then empty and the step 0.
    """
    smooth = masked_smoothing(small, valid, SMOOTHING)
    noise = _noise_sigma(small) / (2.0 * np.sqrt(np.pi) * SMOOTHING)
    threshold = max(MIN_STEP_SNR * noise, 1e-6)
    fits = [_refine(smooth, valid, start) for start in _starting_phases(smooth, valid, threshold)]
    fits = [fit for fit in fits if abs(fit[2]) >= threshold]
    if not fits:
        return np.zeros(small.shape, dtype=bool), smooth, 0.0
    phase, surface, step, _ = min(fits, key=lambda fit: fit[3])
    return _clean(phase, speck_area), smooth - surface, step


def edge_contrast(flat: np.ndarray, contour: np.ndarray, distance: float) -> float:
    """Median grey-level difference across a contour, ``distance`` px either side along its normal.

    A wall separates the two domain levels (a full step); where leftover illumination or noise
    crosses the threshold the two sides barely differ. Working-picture coordinates.
    """
    tangent = np.gradient(contour, axis=0)
    norm = np.hypot(tangent[:, 0], tangent[:, 1])
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.maximum(norm, 1e-9)[:, None]
    sides = [ndimage.map_coordinates(flat, (contour + sign * distance * normal).T, order=1, mode="nearest")
             for sign in (1.0, -1.0)]
    return float(np.median(np.abs(sides[0] - sides[1])))


def _traced(contour: np.ndarray, factor: int) -> TracedWall:
    """A working-picture contour as a wall in full-resolution pixel coordinates."""
    points = (contour + 0.5) * factor - 0.5
    closed = bool(np.allclose(contour[0], contour[-1]))
    return TracedWall("closed" if closed else "open", points, polyline_length(points))


def _is_dust(flat: np.ndarray, contour: np.ndarray, step: float, contrast: float, wall: TracedWall) -> bool:
    """True for a closed contour around dust or a defect rather than a magnetic domain.

    A domain is one step away from the background everywhere: across its wall and inside it. Dust
    (a core 3–6 steps deep in a halo of the opposite sign) shows more than ``MAX_DUST_SHARE``
    steps across its contour, or, when small, an interior that is not one step deep.
    """
    from skimage.draw import polygon

    if contrast > MAX_DUST_SHARE:
        return True
    if wall.length_px >= DUST_CHECK_PX:
        return False  # a large domain may hold dust or a hole of the other phase
    rows, cols = polygon(contour[:, 0], contour[:, 1], flat.shape)
    if rows.size == 0:
        return True
    depth = float(np.median(flat[rows, cols])) / step
    return not DOMAIN_DEPTH[0] <= depth <= DOMAIN_DEPTH[1]


def trace_walls(phase: np.ndarray, valid: np.ndarray, factor: int, flat: np.ndarray,
                step: float) -> list[TracedWall]:
    """Sub-pixel walls between the phases, longest first.

    Dropped: specks shorter than ``SPECK_PX``, contours across which the flattened picture
    changes by less than ``MIN_EDGE_SHARE`` of the domain step (illumination left over, noise),
    and closed contours that look like dust (:func:`_is_dust`).
    """
    level = ndimage.gaussian_filter(phase.astype(np.float32), 1.0)
    walls = []
    for contour in measure.find_contours(level, 0.5, mask=valid):
        wall = _traced(contour, factor)
        if wall.length_px < SPECK_PX:
            continue
        contrast = edge_contrast(flat, contour, EDGE_DISTANCE) / abs(step)
        if contrast < MIN_EDGE_SHARE or (wall.kind == "closed" and _is_dust(flat, contour, step, contrast, wall)):
            continue
        walls.append(wall)
    return sorted(walls, key=lambda w: -w.length_px)


def _working_valid(ignored: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """Working-picture pixels where walls may be traced: no overlay in the block, off the border."""
    blocked = block_mean(ignored.astype(np.float32), factor) > 0 if factor > 1 else ignored.copy()
    blocked = blocked[: shape[0], : shape[1]]
    border = max(1, int(np.ceil(BORDER_PX / factor)))
    blocked[:border, :] = blocked[-border:, :] = True
    blocked[:, :border] = blocked[:, -border:] = True
    return ~blocked


def with_border(overlays: np.ndarray) -> np.ndarray:
    """What the wall finder ignores: the overlay mask plus the ``BORDER_PX`` band along the edges."""
    ignored = overlays.copy()
    ignored[:BORDER_PX, :] = ignored[-BORDER_PX:, :] = ignored[:, :BORDER_PX] = ignored[:, -BORDER_PX:] = True
    return ignored


def find_walls(gray: np.ndarray, min_wall_px: int = MIN_WALL_PX) -> FrameWalls:
    """Every wall of a frame (see the module docstring for the steps).

    Parameters
    ----------
    gray : ndarray
        2-D image, any numeric type (the reader's float32 in [0, 1] typically).
    min_wall_px : int
        Walls shorter than this (px, full resolution) go to ``short`` instead of ``walls``.
    """
    gray = np.asarray(gray, dtype=np.float32)
    overlays, banners = overlay_mask(gray)
    graphics = bool(overlays.any()) and not banners
    factor = reduction_factor(gray.shape)
    small = block_mean(gray, factor)
    valid = _working_valid(overlays, factor, small.shape)
    phase, flat, step = segment(small, valid, max(4, SPECK_AREA_PX // (factor * factor)))
    ignored = with_border(overlays)
    if step == 0.0:
        return FrameWalls((), (), ignored, tuple(banners), graphics, 0.0)
    walls = trace_walls(phase, valid, factor, flat, step)
    long_walls = tuple(w for w in walls if w.length_px >= min_wall_px)
    short = tuple(w for w in walls if w.length_px < min_wall_px)
    return FrameWalls(long_walls, short, ignored, tuple(banners), graphics, step)
