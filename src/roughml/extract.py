"""Find the wall in a grayscale image and extract its height profile h(x).

Why: every estimator works on h(x), one height per row of the *canonical* image (wall running
top to bottom, dark domain at low column indices; see :mod:`roughml.render`). Real images come in
any of four orientations/polarities, with blur, noise, uneven illumination and small islands of
the other domain, so the geometry is detected from the image and the profile extraction must
ignore everything that is not the wall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

from roughml.errors import NoInterfaceError

#: Smallest image side (px) in which a wall is searched.
MIN_SIDE = 16
#: Smallest step between domains (grey levels in [0, 1]) accepted as a wall.
MIN_CONTRAST = 0.02
#: The wall score must exceed MIN_SNR · noise / sqrt(lines): the score is a difference of two
#: medians over lines, so its noise shrinks with the number of lines (pure noise gives ~1).
MIN_SNR = 4.0
#: Share of lines (rows of the canonical image) that must cross the wall.
MIN_CROSSING_SHARE = 0.5
#: Gaussian smoothing (px) along each row before thresholding; never across rows, which would
#: average neighbouring heights and smooth the very roughness being measured.
ROW_SMOOTHING = 1.0

ORIENTATIONS = ("vertical", "horizontal")
BRIGHT_SIDES = {"vertical": ("right", "left"), "horizontal": ("bottom", "top")}


@dataclass(frozen=True)
class Orientation:
    """Geometry of a wall in an image.

    ``contrast`` is the estimated bright-minus-dark grey-level step of the wall (image units).
    """

    orientation: str
    bright_side: str
    contrast: float = 1.0


def _as_float(gray: np.ndarray) -> np.ndarray:
    """float64 copy of a 2-D image; integer images are scaled by their dtype's maximum."""
    arr = np.asarray(gray)
    if arr.ndim != 2:
        raise NoInterfaceError(f"expected a 2-D grayscale image, got shape {arr.shape}")
    if arr.dtype.kind in "ui" and arr.dtype != np.bool_:
        return arr.astype(np.float64) / float(np.iinfo(arr.dtype).max)
    return arr.astype(np.float64)


def _edge_scale(shape: tuple[int, int]) -> float:
    """Width (px) of the edge filter: ~1.5 px for the usual sizes, growing for huge images."""
    return max(1.5, min(shape) / 340.0)


def _line_step_scores(deriv: np.ndarray) -> tuple[float, float]:
    """Robust strength of the rising and falling edge met by a typical line (axis 1).

    A wall crossed by every line gives each line one strong signed peak of the derivative (the
    line's median derivative, i.e. a smooth illumination ramp, is subtracted first); the median
    over lines of the largest rise (and of the largest fall) measures it and ignores
    the few lines hit by an island. Noise and a comb-like rough wall give rises and falls alike,
    so only the *difference* of the two is evidence of a wall and of its polarity.
    """
    centred = deriv - np.median(deriv, axis=1, keepdims=True)  # drops smooth illumination ramps
    rise = float(np.median(centred.max(axis=1)))
    fall = float(np.median(-centred.min(axis=1)))
    return rise, fall


def detect_orientation(gray: np.ndarray) -> Orientation:
    """Detect whether the wall runs vertically or horizontally and which side is bright.

    Method: a 1-D Gaussian derivative along the lines of each candidate direction (scale ~1.5 px: sharp walls
    dominate, smooth illumination gradients hardly register); for every line in that direction
    the largest rise and the largest fall are taken; the wall direction is the one where the
    median rise and median fall differ most (a wall makes every line step once with the same
    sign). The reported contrast is the grey-level step between the two domains.

    Raises
    ------
    NoInterfaceError
        Image smaller than ``MIN_SIDE`` px, uniform, pure noise, or without a wall crossing it.
    """
    img = _as_float(gray)
    rows, cols = img.shape
    if rows < MIN_SIDE or cols < MIN_SIDE:
        raise NoInterfaceError(f"image too small ({rows}x{cols} px): at least {MIN_SIDE} px per side needed")
    if not np.all(np.isfinite(img)):
        img = np.nan_to_num(img, nan=float(np.nanmean(img)) if np.isfinite(img).any() else 0.0)
    if float(np.ptp(img)) < MIN_CONTRAST:
        raise NoInterfaceError("image is uniform: no interface to measure")
    sigma = _edge_scale(img.shape)
    # 1-D filters: each line is filtered on its own, so a rough (comb-like) wall keeps one sharp
    # step per line instead of being averaged with its neighbours' steps.
    d_cols = ndimage.gaussian_filter1d(img, sigma, axis=1, order=1, mode="nearest")  # along rows
    d_rows = ndimage.gaussian_filter1d(img, sigma, axis=0, order=1, mode="nearest")  # along columns
    rise_v, fall_v = _line_step_scores(d_cols)
    rise_h, fall_h = _line_step_scores(d_rows.T)
    score_v, score_h = rise_v - fall_v, rise_h - fall_h
    vertical = abs(score_v) >= abs(score_h)
    score = score_v if vertical else score_h
    deriv = d_cols if vertical else d_rows.T
    # Noise level of the filter output, robustly (most pixels are far from the wall).
    noise = 1.4826 * float(np.median(np.abs(deriv - np.median(deriv))))
    to_step = np.sqrt(2.0 * np.pi) * sigma  # peak of a Gaussian-filtered unit step -> step height
    step = abs(score) * to_step
    lines = deriv.shape[0]
    if step < MIN_CONTRAST or abs(score) < MIN_SNR * noise / np.sqrt(lines):
        raise NoInterfaceError(f"no wall found: edge contrast {step:.3f} is too weak against "
                               f"pixel noise {noise * to_step:.3f}")
    signed = deriv if score > 0 else -deriv
    signed = signed - np.median(signed, axis=1, keepdims=True)
    crossing = float(np.mean(signed.max(axis=1) > 0.5 * abs(score)))
    if crossing < MIN_CROSSING_SHARE:
        raise NoInterfaceError(f"no wall crosses the image: only {crossing:.0%} of lines cross an edge")
    if vertical:
        found = Orientation("vertical", "right" if score > 0 else "left")
    else:
        found = Orientation("horizontal", "bottom" if score > 0 else "top")
    return Orientation(found.orientation, found.bright_side, _domain_contrast(canonicalize(img, found)))


def _domain_contrast(canonical: np.ndarray) -> float:
    """Bright-minus-dark grey level: median over rows of the difference of the two outer tenths.

    Far from the wall each row shows the plain domains, so this is the step height itself,
    unaffected by how rough (and therefore how smeared by the edge filter) the wall is.
    """
    band = max(2, canonical.shape[1] // 10)
    left = canonical[:, :band].mean(axis=1)
    right = canonical[:, -band:].mean(axis=1)
    return float(np.median(right - left))


def canonicalize(gray: np.ndarray, orientation: Orientation) -> np.ndarray:
    """Return the canonical view of ``gray``: wall top to bottom, dark domain on the left.

    Inverse of :func:`roughml.render.orient`; returns a view where possible (no copy).
    """
    kind, side = orientation.orientation, orientation.bright_side
    if kind not in BRIGHT_SIDES or side not in BRIGHT_SIDES[kind]:
        raise ValueError(f"invalid geometry: orientation {kind!r}, bright_side {side!r}")
    arr = np.asarray(gray)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {arr.shape}")
    if kind == "vertical":
        return arr if side == "right" else arr[:, ::-1]
    return arr.T if side == "bottom" else arr[::-1, :].T


def is_two_level(img: np.ndarray) -> bool:
    """True for clean binary images (at most two grey levels): they need no smoothing."""
    first = img.flat[0]
    other = img[img != first]
    return other.size == 0 or bool(np.all(other == other.flat[0]))


def binarize(canonical: np.ndarray) -> np.ndarray:
    """Bright mask (bool) of a canonical image, robust to blur, noise and illumination.

    Clean two-level images are thresholded exactly. Otherwise: light Gaussian smoothing against
    pixel noise, then Otsu's threshold, refined a few times by fitting ``dark level + step ·
    bright + planar illumination`` to the current mask and thresholding the flattened image at
    the middle of the step (a linear illumination ramp would otherwise move the wall).
    """
    img = _as_float(canonical)
    if is_two_level(img):
        low, high = float(img.min()), float(img.max())
        if high - low < MIN_CONTRAST:
            raise NoInterfaceError("image is uniform: no interface to measure")
        return img > 0.5 * (low + high)
    smooth = ndimage.gaussian_filter1d(img, ROW_SMOOTHING, axis=1, mode="nearest")
    if float(np.ptp(smooth)) < MIN_CONTRAST:
        raise NoInterfaceError("image is uniform: no interface to measure")
    mask = smooth > threshold_otsu(smooth)
    rows, cols = img.shape
    r = (np.arange(rows, dtype=np.float64) / rows - 0.5)[:, None] * np.ones((1, cols))
    c = np.ones((rows, 1)) * (np.arange(cols, dtype=np.float64) / cols - 0.5)[None, :]
    for _ in range(3):
        design = np.stack([np.ones(img.size), mask.ravel().astype(np.float64), r.ravel(), c.ravel()], axis=1)
        coef, *_ = np.linalg.lstsq(design, smooth.ravel(), rcond=None)
        if abs(coef[1]) < 1e-9:
            break
        flat = smooth - coef[2] * r - coef[3] * c
        new_mask = flat > coef[0] + 0.5 * coef[1]
        if np.array_equal(new_mask, mask):
            break
        mask = new_mask
    return mask


def heights_from_mask(bright: np.ndarray) -> np.ndarray:
    """Per row, the split point that best separates dark (left) from bright (right).

    For every row the split s maximises (#dark − #bright) among columns < s, i.e. the cumulative
    sum of +1 (dark) / −1 (bright). An island far from the wall costs more than it gains, so it
    is ignored; on a clean row the maximum is exactly the number of dark pixels.
    """
    score = np.where(bright, -1, 1).astype(np.int32)
    cumulative = np.concatenate([np.zeros((bright.shape[0], 1), np.int32), np.cumsum(score, axis=1)], axis=1)
    return np.argmax(cumulative, axis=1).astype(np.float64)


def extract_profile(canonical: np.ndarray) -> np.ndarray:
    """Wall height h[x] (float64, one per row): the number of dark pixels left of the wall.

    Raises
    ------
    NoInterfaceError
        When most rows do not cross a wall (all dark, all bright, or no consistent split).
    """
    arr = np.asarray(canonical)
    if arr.ndim != 2 or min(arr.shape) < MIN_SIDE:
        raise NoInterfaceError(f"image too small ({arr.shape}): at least {MIN_SIDE} px per side needed")
    bright = binarize(arr)
    h = heights_from_mask(bright)
    width = bright.shape[1]
    inside = float(np.mean((h > 0) & (h < width)))
    if inside < MIN_CROSSING_SHARE:
        raise NoInterfaceError(f"no wall found: only {inside:.0%} of rows cross from dark to bright")
    return h
