"""Turn any grayscale image of a wall into the canonical input of the models.

Why: the models see one geometry only (wall running top to bottom, dark domain on the left,
intensities stretched to [0, 1]), so orientation, polarity and exposure of lab images do not have
to be learned. Training and prediction go through this same function, so the model is trained on
exactly what it will see in production, orientation-detection mistakes included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roughml.core.errors import NoInterfaceError

#: Shortest wall (px along the wall) the models accept.
MIN_LENGTH = 32


@dataclass(frozen=True)
class Prepared:
    """A canonical model input and the geometry it was found in."""

    image: np.ndarray  # float32 (L, W): wall top to bottom, dark domain on the left, values in [0, 1]
    orientation: str
    bright_side: str


def stretch_contrast(image: np.ndarray, low_percentile: float = 1.0,
                     high_percentile: float = 99.0) -> np.ndarray:
    """Map the ``low``–``high`` percentile range of ``image`` onto [0, 1] (float32, clipped).

    Percentiles rather than min/max so that a few hot pixels do not squash the contrast.
    """
    lo, hi = np.percentile(image, [low_percentile, high_percentile])
    if not np.isfinite(hi - lo) or hi - lo < 1e-6:
        raise NoInterfaceError("image is uniform: no interface to measure")
    # Not skimage.exposure.rescale_intensity: it clips before scaling, so the top can end at 1 + 1 ulp.
    out = (np.asarray(image, dtype=np.float32) - np.float32(lo)) / np.float32(hi - lo)
    return np.clip(out, 0.0, 1.0, out=out)


def wall_band(canonical: np.ndarray, margin: int = 12, multiple: int = 16) -> slice:
    """Columns that hold the wall, with a margin, as a width that is a multiple of ``multiple``.

    Why: columns entirely on one side of the wall add only a constant to the collapsed profile,
    which the models remove anyway (they read increments), so cropping them changes nothing but
    the cost, which is dominated by the 2-D stem. The band comes from a smoothed, thresholded
    image: the extreme per-row dark counts, plus a margin for blur and islands.
    """
    from scipy import ndimage

    width = canonical.shape[1]
    smooth = ndimage.gaussian_filter(canonical, 1.5)
    dark_count = np.count_nonzero(smooth < 0.5, axis=1)
    lo = max(int(dark_count.min()) - margin, 0)
    hi = min(int(dark_count.max()) + margin, width)
    band = -(-(hi - lo) // multiple) * multiple
    if band >= width:
        return slice(0, width)
    lo = min(max(lo - (band - (hi - lo)) // 2, 0), width - band)
    return slice(lo, lo + band)


def prepare(gray: np.ndarray, orientation: str | None = None,
            bright_side: str | None = None, crop: bool = True) -> Prepared:
    """Canonicalise a 2-D grayscale image for the models.

    Parameters
    ----------
    gray : ndarray
        2-D image, any numeric dtype (uint8 images are scaled by 1/255).
    orientation, bright_side : str, optional
        Known geometry (synthetic data); detected from the image when omitted.
    crop : bool
        Keep only the band of columns around the wall (see :func:`wall_band`).

    Raises
    ------
    NoInterfaceError
        When no wall can be found or the wall is shorter than ``MIN_LENGTH`` px.
    """
    from roughml.imaging import detection  # local import: keeps `roughml --help` fast

    gray = np.asarray(gray)
    if gray.ndim != 2:
        raise NoInterfaceError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    if gray.dtype == np.uint8:
        gray = gray.astype(np.float32) / np.float32(255.0)
    else:
        gray = gray.astype(np.float32, copy=False)
    if orientation is None or bright_side is None:
        found = detection.detect_orientation(gray)
        orientation, bright_side = found.orientation, found.bright_side
    canonical = detection.canonicalize(gray, detection.Orientation(orientation, bright_side))
    if canonical.shape[0] < MIN_LENGTH or canonical.shape[1] < 8:
        raise NoInterfaceError(
            f"image too small: the wall is {canonical.shape[0]} px long, at least {MIN_LENGTH} px needed")
    image = stretch_contrast(canonical)
    if crop:
        image = image[:, wall_band(image)]
    return Prepared(np.ascontiguousarray(image), orientation, bright_side)
