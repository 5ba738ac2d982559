"""Find the wall in a grayscale image and extract its height profile h(x).

Why: every estimator works on h(x), one height per row of the *canonical* image (wall running
top to bottom, dark domain at low column indices; see :mod:`roughml.physics.geometry`). Real images
come in any of four orientations/polarities, with blur, noise, uneven illumination and small islands of
the other domain, so the geometry is detected from the image and the profile extraction must
ignore everything that is not the wall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

from roughml.core.errors import NoInterfaceError
from roughml.imaging.faint import faint_wall
from roughml.imaging.noise import robust_sigma
from roughml.physics.geometry import BRIGHT_SIDES, canonical_view

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
#: Images whose shorter side is at least this (px) are searched for a wall at half resolution.
DETECT_REDUCE_SIDE = 256


@dataclass(frozen=True)
class Orientation:
    """Geometry of a wall in an image.

    ``contrast`` is the estimated bright-minus-dark grey-level step of the wall (image units).
    """

    orientation: str
    bright_side: str
    contrast: float = 1.0


def _as_float(gray: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Floating copy of a 2-D image; integer images are scaled by their dtype's maximum."""
    arr = np.asarray(gray)
    if arr.ndim != 2:
        raise NoInterfaceError(f"expected a 2-D grayscale image, got shape {arr.shape}")
    if arr.dtype.kind in "ui" and arr.dtype != np.bool_:
        return arr.astype(dtype) / dtype(np.iinfo(arr.dtype).max)
    return arr.astype(dtype)


def _edge_scale(shape: tuple[int, int]) -> float:
    """Width (px) of the edge filter: ~1.5 px for the usual sizes, growing for huge images."""
    return max(1.5, min(shape) / 340.0)


def _reduced(img: np.ndarray) -> np.ndarray:
    """``img`` block-averaged 2 x 2 when its shorter side is at least ``DETECT_REDUCE_SIDE``.

    Why: the geometry is a property of the whole image; half the resolution keeps one step per
    line (a rough wall averaged over two neighbouring lines still rises, twice by half) and
    halves the pixel noise, while every later operation costs a quarter.
    """
    rows, cols = img.shape
    if min(rows, cols) < DETECT_REDUCE_SIDE:
        return img
    rows, cols = rows - rows % 2, cols - cols % 2
    # Not skimage.measure.block_reduce: its mean adds the 4 pixels in another order (last-bit changes).
    total = img[0:rows:2, 0:cols:2] + img[1:rows:2, 0:cols:2]
    total += img[0:rows:2, 1:cols:2]
    total += img[1:rows:2, 1:cols:2]
    total *= img.dtype.type(0.25)
    return total


def _centred_rows(deriv: np.ndarray) -> np.ndarray:
    """Each line (axis 1) minus its median: a smooth illumination ramp gives a constant slope."""
    return deriv - np.median(deriv, axis=1, keepdims=True)


def _wall_evidence(centred: np.ndarray) -> tuple[float, float]:
    """Signed step score of one direction and the share of its lines that cross that step.

    A wall crossed by every line gives each line one strong signed peak of the (line-centred)
    derivative; the median over lines of the largest rise (and of the largest fall) measures it
    and ignores the few lines hit by an island. Noise and a comb-like rough wall give rises and
    falls alike, so only the *difference* of the two is evidence of a wall; its sign is the
    polarity (> 0: the bright domain lies at high indices). The crossing share counts the lines
    whose strongest step of that sign reaches half the score.
    """
    rise = centred.max(axis=1)
    fall = -centred.min(axis=1)
    score = float(np.median(rise)) - float(np.median(fall))
    if score == 0.0:
        return 0.0, 0.0
    peak = rise if score > 0 else fall
    return score, float(np.mean(peak > 0.5 * abs(score)))


def _noise_level(deriv: np.ndarray) -> float:
    """Robust standard deviation of the filter output, from at most ~64k of its values."""
    return robust_sigma(deriv, 65536)


def detect_orientation(gray: np.ndarray) -> Orientation:
    """Detect whether the wall runs vertically or horizontally and which side is bright.

    Method: a 1-D Gaussian derivative along the lines of each candidate direction (scale ~1.5 px: sharp walls
    dominate, smooth illumination gradients hardly register); for every line in that direction
    the largest rise and the largest fall are taken; the wall direction is the one where the
    median rise and median fall differ most (a wall makes every line step once with the same
    sign). A wall that wanders across much of the image (a wide or drifting wall) is also crossed
    once by many lines of the other direction, but never by all of them, and its step along its
    true direction can look up to twice weaker (half-resolution analysis splits a rough wall's step
    between two merged lines). So each direction's step is weighted by the squared share ``f`` of
    its lines that cross it: the true direction wins unless the wall wanders over more than
    ~70 % (f² < 1/2) of the image. The reported contrast is the grey-level step between the two
    domains. Images whose shorter side is at least ``DETECT_REDUCE_SIDE`` px are analysed at half
    resolution (float32). Where this finds no wall only because the step is too weak, too rare
    or too noisy, :func:`roughml.imaging.faint.faint_wall` looks again with smoothing along the
    candidate wall (per-pixel contrast-to-noise ratios down to ~1.5); every image accepted here
    keeps exactly its former result.

    Raises
    ------
    NoInterfaceError
        Image smaller than ``MIN_SIDE`` px, uniform, pure noise, or without a wall crossing it.
    """
    img = _detection_image(gray)
    sigma = _edge_scale(img.shape)
    d_cols, d_rows = _line_derivatives(img, sigma)
    score_v, crossing_v = _wall_evidence(_centred_rows(d_cols))
    score_h, crossing_h = _wall_evidence(_centred_rows(d_rows))
    vertical = abs(score_v) * crossing_v ** 2 >= abs(score_h) * crossing_h ** 2
    score, crossing = (score_v, crossing_v) if vertical else (score_h, crossing_h)
    kind = "vertical" if vertical else "horizontal"
    try:
        _check_wall(score, crossing, d_cols if vertical else d_rows, sigma)
    except NoInterfaceError:
        found_faint = faint_wall(img)  # only for walls too weak here: accepted ones stay bit-identical
        if found_faint is None:
            raise
        kind, score = found_faint
    # score > 0: the bright domain lies at high indices, the geometry table's unflipped side
    found = Orientation(kind, BRIGHT_SIDES[kind][0 if score > 0 else 1])
    return Orientation(found.orientation, found.bright_side, _domain_contrast(canonicalize(img, found)))


def _detection_image(gray: np.ndarray) -> np.ndarray:
    """The float32 image the search runs on: size and contrast checked, NaN filled, maybe halved.

    Raises
    ------
    NoInterfaceError
        Image smaller than ``MIN_SIDE`` px or uniform.
    """
    img = _as_float(gray, np.float32)
    rows, cols = img.shape
    if rows < MIN_SIDE or cols < MIN_SIDE:
        raise NoInterfaceError(f"image too small ({rows}x{cols} px): at least {MIN_SIDE} px per side needed")
    if not np.all(np.isfinite(img)):
        img = np.nan_to_num(img, nan=float(np.nanmean(img)) if np.isfinite(img).any() else 0.0)
    if float(np.ptp(img)) < MIN_CONTRAST:
        raise NoInterfaceError("image is uniform: no interface to measure")
    return _reduced(img)


def _line_derivatives(img: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian derivative along every row, and along every column (as the rows of ``img.T``).

    1-D filters: each line is filtered on its own, so a rough (comb-like) wall keeps one sharp
    step per line instead of being averaged with its neighbours' steps.
    """
    d_cols = ndimage.gaussian_filter1d(img, sigma, axis=1, order=1, mode="nearest")  # along rows
    d_rows = ndimage.gaussian_filter1d(img.T.copy(), sigma, axis=1, order=1, mode="nearest")  # along columns
    return d_cols, d_rows


def _check_wall(score: float, crossing: float, deriv: np.ndarray, sigma: float) -> None:
    """Raise unless the chosen direction's step stands out of the noise and crosses most lines.

    Raises
    ------
    NoInterfaceError
        Step below ``MIN_CONTRAST`` or below ``MIN_SNR`` noise levels; fewer than
        ``MIN_CROSSING_SHARE`` of the lines crossing it.
    """
    noise = _noise_level(deriv)
    to_step = np.sqrt(2.0 * np.pi) * sigma  # peak of a Gaussian-filtered unit step -> step height
    step = abs(score) * to_step
    lines = deriv.shape[0]
    if step < MIN_CONTRAST or abs(score) < MIN_SNR * noise / np.sqrt(lines):
        raise NoInterfaceError(f"no wall found: edge contrast {step:.3f} is too weak against "
                               f"pixel noise {noise * to_step:.3f}")
    if crossing < MIN_CROSSING_SHARE:
        raise NoInterfaceError(f"no wall crosses the image: only {crossing:.0%} of lines cross an edge")


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

    The inverse of rendering's :func:`roughml.physics.geometry.orient`, taken from the same table
    (:func:`roughml.physics.geometry.canonical_view`); a view of ``gray``, never a copy.

    Raises
    ------
    ValueError
        For a geometry outside the table or an image that is not 2-D.
    """
    return canonical_view(gray, orientation.orientation, orientation.bright_side)


def _at_most_two_levels(values: np.ndarray) -> bool:
    """True when ``values`` hold one or two distinct values (cheaper than ``np.unique``)."""
    first = values.flat[0]
    other = values[values != first]
    return other.size == 0 or bool(np.all(other == other.flat[0]))


def is_two_level(img: np.ndarray) -> bool:
    """True for clean binary images (at most two grey levels): they need no smoothing.

    The first rows are checked first: a grayscale image almost always shows a third level there,
    which spares the pass over the whole image.
    """
    img = np.asarray(img)
    head = img[: max(1, 4096 // max(1, img.shape[-1]))] if img.ndim == 2 else img
    return _at_most_two_levels(head) and _at_most_two_levels(img)


def binarize(canonical: np.ndarray) -> np.ndarray:
    """Bright mask (bool) of a canonical image, robust to blur, noise and illumination.

    Clean two-level images are thresholded exactly. Otherwise: light Gaussian smoothing against
    pixel noise, then Otsu's threshold, refined a few times by fitting ``dark level + step ·
    bright + quadratic illumination`` to the current mask and thresholding the flattened image at
    the middle of the step. A plane is not enough: vignetting and a broad illumination bump curve
    the background, and a plane fitted to a curved background moves the threshold line, hence the
    wall, by tens of pixels on large images.
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
    mask = smooth > _otsu_threshold(smooth)
    basis = _IlluminationBasis.of(smooth)
    for _ in range(4):
        coef = basis.fit(mask)
        if abs(coef[1]) < 1e-9:
            break
        new_mask = smooth - basis.background(coef) > coef[0] + 0.5 * coef[1]
        if np.array_equal(new_mask, mask):
            break
        mask = new_mask
    return mask


def _otsu_threshold(img: np.ndarray, nbins: int = 256) -> float:
    """Otsu's threshold of ``img`` over ``nbins`` equal bins between its extremes.

    Same bins as ``skimage.filters.threshold_otsu`` (``np.histogram`` over the image range), but
    counted with ``np.bincount``, several times faster; a value within rounding of a bin edge may
    fall in the neighbouring bin, which only seeds the refinement in :func:`binarize`.
    """
    lo, hi = float(img.min()), float(img.max())
    edges = np.linspace(lo, hi, nbins + 1)
    index = ((img - lo) * (nbins / (hi - lo))).astype(np.intp).ravel()
    np.minimum(index, nbins - 1, out=index)
    counts = np.bincount(index, minlength=nbins)
    return float(threshold_otsu(hist=(counts, 0.5 * (edges[:-1] + edges[1:]))))


@dataclass(frozen=True)
class _IlluminationBasis:
    """Least squares of ``smooth ≈ dark + step·mask + Σ a_k R_k(row) + Σ b_k C_k(col)``.

    R and C are the centred row and column coordinates and their squares (a separable quadratic
    background). Every entry of XᵀX and Xᵀy that does not involve the mask is a product of row
    and column sums, computed once; each refinement only recounts the mask per row and column,
    so a fit costs O(pixels) for the mask counts and nothing for a design matrix.
    """

    smooth: np.ndarray
    rows: np.ndarray      # (n_rows, 2): r, r²
    cols: np.ndarray      # (n_cols, 2): c, c²
    plain: np.ndarray     # XᵀX without the mask row/column (zeros there)
    plain_moments: np.ndarray  # Xᵀy without the mask entry

    @classmethod
    def of(cls, smooth: np.ndarray) -> "_IlluminationBasis":
        n_r, n_c = smooth.shape
        r = np.arange(n_r, dtype=np.float64) / n_r - 0.5
        c = np.arange(n_c, dtype=np.float64) / n_c - 0.5
        rows, cols = np.stack([r, r * r], axis=1), np.stack([c, c * c], axis=1)
        k = 2 + rows.shape[1] + cols.shape[1]
        ir, ic = slice(2, 2 + rows.shape[1]), slice(2 + rows.shape[1], k)
        plain = np.zeros((k, k))
        plain[0, 0] = n_r * n_c
        plain[0, ir], plain[0, ic] = n_c * rows.sum(axis=0), n_r * cols.sum(axis=0)
        plain[ir, ir], plain[ic, ic] = n_c * rows.T @ rows, n_r * cols.T @ cols
        plain[ir, ic] = np.outer(rows.sum(axis=0), cols.sum(axis=0))
        plain = np.triu(plain) + np.triu(plain, 1).T
        row_sums, col_sums = smooth.sum(axis=1), smooth.sum(axis=0)
        moments = np.concatenate([[row_sums.sum(), 0.0], rows.T @ row_sums, cols.T @ col_sums])
        return cls(smooth, rows, cols, plain, moments)

    def fit(self, mask: np.ndarray) -> np.ndarray:
        """Coefficients (dark, step, a_1, a_2, b_1, b_2) for the bright ``mask``."""
        per_row = np.count_nonzero(mask, axis=1).astype(np.float64)
        per_col = np.count_nonzero(mask, axis=0).astype(np.float64)
        mask_row = np.concatenate([[per_row.sum(), per_row.sum()], per_row @ self.rows, per_col @ self.cols])
        gram = self.plain.copy()
        gram[1, :], gram[:, 1] = mask_row, mask_row
        moments = self.plain_moments.copy()
        moments[1] = float(self.smooth[mask].sum())
        return np.linalg.lstsq(gram, moments, rcond=None)[0]

    def background(self, coef: np.ndarray) -> np.ndarray:
        """The fitted illumination (without the dark level and the step), as an image."""
        k_r = self.rows.shape[1]
        along_rows = self.rows @ coef[2:2 + k_r]
        along_cols = self.cols @ coef[2 + k_r:]
        return along_rows[:, None] + along_cols[None, :]


def heights_from_mask(bright: np.ndarray) -> np.ndarray:
    """Per row, the split point that best separates dark (left) from bright (right).

    For every row the split s maximises (#dark − #bright) among columns < s, i.e. the cumulative
    sum of +1 (dark) / −1 (bright). An island far from the wall costs more than it gains, so it
    is ignored; on a clean row the maximum is exactly the number of dark pixels.
    """
    dtype = np.int16 if bright.shape[1] < np.iinfo(np.int16).max else np.int32
    cumulative = np.zeros((bright.shape[0], bright.shape[1] + 1), dtype)
    np.cumsum(np.where(bright, dtype(-1), dtype(1)), axis=1, dtype=dtype, out=cumulative[:, 1:])
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
