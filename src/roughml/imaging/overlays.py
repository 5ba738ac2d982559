"""Find what the instrument drew into a frame: info banners, text, scale bars.

Why: a Kerr microscope burns an info banner (black or grey bar with white text, a scale bar, a time
stamp) into every frame. Its edge is a perfectly straight, high-contrast line across the whole
field, and a wall finder that does not know about it measures it as a wall with ζ ≈ 0.2 and a
confident σ (the bug that started issue #13). Graphics differ from a Kerr image in two ways that
no illumination drift or domain can imitate: their pixels lie outside the grey range of the field
(saturated black or white), or they are noise-free (flat synthetic background, exactly repeated
text pixels), while every row of a camera image carries shot and read noise.

Only bands that touch the frame's edge (banners) and saturated blobs inside the field (labels,
scale bars drawn on the image) are reported; clean two-level images (simulations) have neither.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: A row (column) is graphics when this share of its pixels lies outside the field's grey range.
OUTSIDE_SHARE = 0.5
#: ... or when its pixel-to-pixel noise is below this fraction of the field's.
NOISE_FREE_FRACTION = 0.2
#: A banner covers at most this share of the frame's height (width).
MAX_BAND_SHARE = 0.25
#: Rows of body inside a banner tolerated (a blank line of text on a noisy grey background).
BAND_GAP = 3
#: Rows (px) added around a detected band: the antialiased edge of the banner.
BAND_MARGIN = 3
#: Saturated pixels inside the field form graphics when a connected blob has at least this many.
MIN_GRAPHIC_PIXELS = 12
#: Saturation is an exposure choice, not graphics, when more than this share of pixels is saturated.
MAX_SATURATED_SHARE = 0.02
#: Pixels (px) added around saturated graphics (text anti-aliasing, the scale bar's shadow).
GRAPHIC_MARGIN = 4


def _line_noise(image: np.ndarray, axis: int) -> np.ndarray:
    """Per line (row for ``axis=1``), the median absolute difference of neighbouring pixels."""
    return np.median(np.abs(np.diff(image, axis=axis)), axis=axis)


def _graphic_lines(image: np.ndarray, axis: int, low: float, high: float, body_noise: float) -> np.ndarray:
    """Per line along ``axis``: True when the line looks drawn rather than imaged.

    Drawn: most of its pixels saturated *and* outside the field's grey range (a black or white
    bar), or noise-free (any flat background). An illumination gradient can push a line out of
    the field's range, but never makes it saturated or noise-free.
    """
    top, bottom = float(image.max()), float(image.min())
    saturated = (image >= top) | (image <= bottom)
    outside = np.mean(((image < low) | (image > high)) & saturated, axis=axis)
    noise = _line_noise(image, axis)
    flat = noise < NOISE_FREE_FRACTION * body_noise if body_noise > 0 else np.zeros_like(outside, bool)
    return (outside > OUTSIDE_SHARE) | flat


def _edge_run(flags: np.ndarray) -> int:
    """Length of the run of True from index 0, bridging gaps of at most ``BAND_GAP`` False."""
    run, gap = 0, 0
    for index, flag in enumerate(flags):
        if flag:
            run, gap = index + 1, 0
        else:
            gap += 1
            if gap > BAND_GAP:
                break
    return run


def _body_statistics(image: np.ndarray) -> tuple[float, float, float]:
    """Grey range (0.1 and 99.9 percentiles, widened by 20 %) and noise of the central field."""
    rows, cols = image.shape
    body = image[rows // 5: rows - rows // 5, cols // 5: cols - cols // 5]
    low, high = np.percentile(body, [0.1, 99.9])
    pad = 0.2 * (high - low)
    noise = float(np.median(_line_noise(body, 1)))
    return float(low - pad), float(high + pad), noise


def banner_bands(image: np.ndarray) -> list[tuple[str, int]]:
    """Banners along the frame's edges, as ``(side, size_px)`` with side top/bottom/left/right.

    A band is the run of graphic lines (see module docstring) starting at an edge; it counts
    only when it is at least 4 lines and at most ``MAX_BAND_SHARE`` of the frame.
    """
    image = np.asarray(image, dtype=np.float32)
    low, high, noise = _body_statistics(image)
    bands = []
    for axis, sides in ((1, ("top", "bottom")), (0, ("left", "right"))):
        flags = _graphic_lines(image, axis, low, high, noise)
        limit = int(MAX_BAND_SHARE * flags.size)
        for side, ordered in zip(sides, (flags, flags[::-1])):
            run = _edge_run(ordered)
            if 4 <= run <= limit:
                bands.append((side, min(run + BAND_MARGIN, flags.size)))
    return bands


def _band_mask(shape: tuple[int, int], bands: list[tuple[str, int]]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for side, size in bands:
        index = {"top": np.s_[:size, :], "bottom": np.s_[-size:, :],
                 "left": np.s_[:, :size], "right": np.s_[:, -size:]}[side]
        mask[index] = True
    return mask


def saturated_graphics(image: np.ndarray) -> np.ndarray:
    """Mask of saturated blobs (text, scale bars drawn on the field), with a margin.

    Empty when saturation is widespread (an over-exposed camera, a clean binary simulation):
    then the saturated pixels are the image itself, not something drawn on it.
    """
    image = np.asarray(image, dtype=np.float32)
    top, bottom = float(image.max()), float(image.min())
    saturated = (image >= top) | (image <= bottom)
    if saturated.mean() > MAX_SATURATED_SHARE:
        return np.zeros(image.shape, dtype=bool)
    labels, count = ndimage.label(saturated, structure=np.ones((3, 3), bool))
    if count == 0:
        return saturated
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= MIN_GRAPHIC_PIXELS
    keep[0] = False
    blobs = keep[labels]
    return ndimage.binary_dilation(blobs, iterations=GRAPHIC_MARGIN) if blobs.any() else blobs


def overlay_mask(image: np.ndarray) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Pixels drawn by the instrument (banners and saturated graphics) and the banners found.

    Clean two-level images (at most two grey values) have no overlays by definition.
    """
    image = np.asarray(image, dtype=np.float32)
    if np.unique(image[:: max(1, image.shape[0] // 64)]).size <= 2 and np.unique(image).size <= 2:
        return np.zeros(image.shape, dtype=bool), []
    bands = banner_bands(image)
    mask = _band_mask(image.shape, bands) | saturated_graphics(image)
    return mask, bands
