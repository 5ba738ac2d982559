"""Render integer wall heights as images: clean binary images and microscope-like "lab" images.

Every image is built in the canonical frame (wall top to bottom, dark domain on the left) and then
oriented with :func:`roughml.physics.geometry.orient`; the geometry table and its inverse live in
:mod:`roughml.physics.geometry` (``orient``, ``ORIENTATIONS`` and ``BRIGHT_SIDES`` are re-exported
here for callers that render).

Why lab images: real microscope images of domain walls (e.g. polar-MOKE) have limited contrast,
uneven illumination, optical blur, sensor noise, a slight tilt and small nucleated islands of the
other domain. A model trained only on perfect binary images would not transfer to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from roughml.physics.geometry import BRIGHT_SIDES, ORIENTATIONS, check_geometry, orient

__all__ = ["BRIGHT_SIDES", "ORIENTATIONS", "ISLAND_REFERENCE_AREA", "LAB_FIELDS", "LabSample", "orient",
           "render_binary", "render_binary_batch", "render_lab", "sample_lab", "sample_lab_columns"]

#: Reference area for the island density: ``n_islands`` is a count per 128 x 128 px.
ISLAND_REFERENCE_AREA = 128 * 128


def _canonical_mask(heights: np.ndarray, transverse: int) -> np.ndarray:
    """Bool canonical image (L, W): True (bright) where column index >= height of that row.

    This is ``C`` of the geometry contract in :mod:`roughml.physics.geometry`.
    """
    h = np.asarray(heights)
    if h.ndim != 1:
        raise ValueError("heights must be 1-D")
    return np.arange(int(transverse))[None, :] >= h.astype(np.int64)[:, None]


def render_binary(heights: np.ndarray, transverse: int, orientation: str = "vertical",
                  bright_side: str = "right") -> np.ndarray:
    """Render a clean binary image (uint8, values {0, 255}) of one wall in the given geometry."""
    check_geometry(orientation, bright_side)
    mask = _canonical_mask(heights, transverse)
    return orient(mask.astype(np.uint8) * np.uint8(255), orientation, bright_side)


def render_binary_batch(heights: np.ndarray, transverse: int) -> np.ndarray:
    """Render many canonical binary images at once (uint8 (N, L, W), values {0, 255}).

    One broadcast comparison instead of a Python loop, so models can be fed from heights on the fly.
    """
    h = np.asarray(heights)
    if h.ndim != 2:
        raise ValueError("heights must be 2-D (N, L)")
    cols = np.arange(int(transverse), dtype=h.dtype if h.dtype.kind == "i" else np.int64)
    mask = cols[None, None, :] >= h[:, :, None]
    return mask.view(np.uint8) * np.uint8(255)


@dataclass(frozen=True)
class LabSample:
    """Degradations of one lab image (drawn by :func:`sample_lab`).

    ``n_islands`` is a density: islands per 128 x 128 px; the renderer scales it by the image area.
    """

    contrast: float
    illumination: float
    blur_sigma: float
    noise_sigma: float
    n_islands: int
    island_radius: float
    rotation_deg: float


LAB_FIELDS = ("contrast", "illumination", "blur_sigma", "noise_sigma", "n_islands", "island_radius",
              "rotation_deg")


def sample_lab_columns(rng: np.random.Generator, n: int, *, contrast: tuple[float, float],
                       illumination_gradient: tuple[float, float], blur_sigma_px: tuple[float, float],
                       noise_sigma: tuple[float, float], islands: tuple[int, int],
                       island_radius_px: tuple[float, float], rotation_deg: float) -> dict[str, np.ndarray]:
    """Draw ``n`` lab degradations as columns (float64, except ``n_islands`` int16).

    Every parameter is uniform in its ``(low, high)`` range (``islands`` inclusive of both ends);
    the rotation is uniform in ``[-rotation_deg, rotation_deg]``. The ranges are plain values, not
    a config object, so that physics knows nothing of ``params.yaml``. One column is drawn after
    the other, in the order of :data:`LAB_FIELDS`: stored datasets depend on that order.
    """
    return {
        "contrast": rng.uniform(*contrast, size=n).astype(np.float64),
        "illumination": rng.uniform(*illumination_gradient, size=n).astype(np.float64),
        "blur_sigma": rng.uniform(*blur_sigma_px, size=n).astype(np.float64),
        "noise_sigma": rng.uniform(*noise_sigma, size=n).astype(np.float64),
        "n_islands": rng.integers(islands[0], islands[1], size=n, endpoint=True).astype(np.int16),
        "island_radius": rng.uniform(*island_radius_px, size=n).astype(np.float64),
        "rotation_deg": rng.uniform(-rotation_deg, rotation_deg, size=n).astype(np.float64),
    }


def sample_lab(rng: np.random.Generator, n: int, **ranges) -> list[LabSample]:
    """Draw ``n`` :class:`LabSample` with the same draws as :func:`sample_lab_columns`.

    ``ranges`` are the keyword arguments of :func:`sample_lab_columns`.
    """
    cols = sample_lab_columns(rng, n, **ranges)
    return [LabSample(**{k: (int(cols[k][i]) if k == "n_islands" else float(cols[k][i])) for k in LAB_FIELDS})
            for i in range(n)]


def _add_islands(img: np.ndarray, count: int, radius: float, rng: np.random.Generator) -> None:
    """Stamp ``count`` disks of the other domain at random places (in place).

    Each disk takes the value opposite to the domain at its centre, like a nucleated bubble.
    """
    rows, cols = img.shape
    r_ceil = int(np.ceil(radius))
    centres_x = rng.uniform(0, rows, size=count)
    centres_y = rng.uniform(0, cols, size=count)
    for cx, cy in zip(centres_x, centres_y):
        x0, x1 = max(int(cx) - r_ceil, 0), min(int(cx) + r_ceil + 1, rows)
        y0, y1 = max(int(cy) - r_ceil, 0), min(int(cy) + r_ceil + 1, cols)
        xx = np.arange(x0, x1)[:, None] + 0.5 - cx
        yy = np.arange(y0, y1)[None, :] + 0.5 - cy
        # Not skimage.draw.disk: its strict (dr/R)² + (dc/R)² < 1 can round boundary pixels apart.
        disk = xx * xx + yy * yy <= radius * radius
        inside = img[min(int(cx), rows - 1), min(int(cy), cols - 1)]
        img[x0:x1, y0:y1][disk] = 1.0 - np.round(inside)


def _illumination_field(shape: tuple[int, int], strength: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative illumination: 1 + linear gradient in a random direction + a broad smooth bump.

    The gradient spans ``strength`` (relative) across the image; the bump has up to half that
    amplitude, either sign, and a width of 30–80% of the image.
    """
    rows, cols = shape
    x = (np.arange(rows, dtype=np.float64) + 0.5) / rows - 0.5
    y = (np.arange(cols, dtype=np.float64) + 0.5) / cols - 0.5
    angle = rng.uniform(0.0, 2.0 * np.pi)
    ramp = np.cos(angle) * x[:, None] + np.sin(angle) * y[None, :]
    span = np.ptp(ramp)
    ramp = ramp / span if span > 0 else ramp * 0.0
    bx, by = rng.uniform(-0.5, 0.5, size=2)
    width = rng.uniform(0.3, 0.8)
    bump_amp = rng.uniform(-0.5, 0.5) * strength
    # separable Gaussian: outer product of two 1-D profiles (cheaper than a 2-D exp)
    bump = np.outer(np.exp(-((x - bx) ** 2) / (2.0 * width * width)),
                    np.exp(-((y - by) ** 2) / (2.0 * width * width)))
    return 1.0 + strength * ramp + bump_amp * (bump - bump.mean())


def render_lab(heights: np.ndarray, transverse: int, orientation: str, bright_side: str,
               lab: LabSample, rng: np.random.Generator) -> np.ndarray:
    """Render a microscope-like grayscale image (uint8) of one wall.

    Steps, in the canonical frame: binary image as float → small rotation → islands of the other
    domain → grey levels (dark, dark + contrast, random base inside [0, 1]) → uneven illumination →
    Gaussian optical blur → Gaussian sensor noise → clip to [0, 1] → uint8; then orientation and
    polarity as in the module table. All randomness comes from ``rng``, so a stored seed reproduces
    the same bytes.
    """
    check_geometry(orientation, bright_side)
    img = _canonical_mask(heights, transverse).astype(np.float64)
    if lab.rotation_deg != 0.0:
        img = ndimage.rotate(img, lab.rotation_deg, reshape=False, mode="nearest", order=1)
    count = int(round(lab.n_islands * img.size / ISLAND_REFERENCE_AREA))
    if count > 0 and lab.island_radius > 0:
        _add_islands(img, count, lab.island_radius, rng)
    contrast = float(np.clip(lab.contrast, 0.0, 1.0))
    dark = rng.uniform(0.0, 1.0 - contrast)
    img = dark + contrast * img
    img *= _illumination_field(img.shape, lab.illumination, rng)
    if lab.blur_sigma > 0:
        img = ndimage.gaussian_filter(img, lab.blur_sigma, mode="nearest")
    if lab.noise_sigma > 0:
        img += lab.noise_sigma * rng.standard_normal(img.shape)
    np.clip(img, 0.0, 1.0, out=img)
    out = np.rint(img * 255.0).astype(np.uint8)
    return orient(out, orientation, bright_side)
