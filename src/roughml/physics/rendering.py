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

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.filters import threshold_otsu

from roughml.physics.geometry import BRIGHT_SIDES, ORIENTATIONS, check_geometry, orient
from roughml.physics.synthesis import log_uniform

__all__ = ["BRIGHT_SIDES", "ORIENTATIONS", "ISLAND_REFERENCE_AREA", "LAB_FIELDS", "LabSample", "orient",
           "LAB_DTYPES", "lab_sample_from", "render_binary", "render_binary_batch", "render_lab", "sample_lab",
           "sample_lab_columns"]

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
    The point-spread function is a Gaussian of ``blur_sigma`` convolved with a defocus disk of
    ``defocus_radius`` and a motion streak ``motion_px`` long (0: none). ``noise_sigma`` is the
    pixel noise at mid-grey: Gaussian, or Poisson shot noise of ``photons`` per unit grey level
    (0: Gaussian) plus a quarter of it as read noise. ``banding`` is the rms of a per-line offset
    in units of ``noise_sigma``; ``defects`` the share of hot or dead pixels; ``jpeg_quality`` > 0
    a JPEG round trip; ``binarized`` = 1 an image thresholded by someone else's global threshold.
    """

    contrast: float
    illumination: float
    blur_sigma: float
    noise_sigma: float
    n_islands: int
    island_radius: float
    rotation_deg: float
    defocus_radius: float = 0.0
    motion_px: float = 0.0
    photons: float = 0.0
    banding: float = 0.0
    defects: float = 0.0
    jpeg_quality: int = 0
    binarized: int = 0


#: Every lab column and its stored dtype, in the order the sampler draws them.
LAB_DTYPES: dict[str, np.dtype] = {
    "contrast": np.dtype(np.float64), "illumination": np.dtype(np.float64),
    "blur_sigma": np.dtype(np.float64), "noise_sigma": np.dtype(np.float64),
    "n_islands": np.dtype(np.int16), "island_radius": np.dtype(np.float64),
    "rotation_deg": np.dtype(np.float64), "defocus_radius": np.dtype(np.float64),
    "motion_px": np.dtype(np.float64), "photons": np.dtype(np.float64),
    "banding": np.dtype(np.float64), "defects": np.dtype(np.float64),
    "jpeg_quality": np.dtype(np.int16), "binarized": np.dtype(np.int16),
}
LAB_FIELDS = tuple(LAB_DTYPES)


def _draw_psf(rng: np.random.Generator, n: int, size_px: tuple[float, float],
              defocus_share: float, motion_share: float) -> dict[str, np.ndarray]:
    """Gaussian, defocus-disk or motion point-spread functions of one size scale.

    A defocused or shaken microscope still has its diffraction blur, so the disk and the streak
    keep a 0.5 px Gaussian; the disk radius is 1.5x and the streak 3x the drawn size, which gives
    the three kinds comparable widths.
    """
    size = rng.uniform(*size_px, size=n)
    kind = rng.random(n)
    defocus = kind < defocus_share
    motion = (kind >= defocus_share) & (kind < defocus_share + motion_share)
    gaussian = ~(defocus | motion)
    return {"blur_sigma": np.where(gaussian, size, 0.5),
            "defocus_radius": np.where(defocus, 1.5 * size, 0.0),
            "motion_px": np.where(motion, 3.0 * size, 0.0)}


def sample_lab_columns(rng: np.random.Generator, n: int, *, contrast: tuple[float, float],
                       illumination_gradient: tuple[float, float], blur_sigma_px: tuple[float, float],
                       cnr: tuple[float, float], islands: tuple[int, int],
                       island_radius_px: tuple[float, float], rotation_deg: float,
                       defocus_share: float = 0.0, motion_share: float = 0.0, poisson_share: float = 0.0,
                       banding: tuple[float, float] = (0.0, 0.0), defects: tuple[float, float] = (0.0, 0.0),
                       jpeg_share: float = 0.0, jpeg_quality: tuple[int, int] = (50, 95),
                       binarized_share: float = 0.0) -> dict[str, np.ndarray]:
    """Draw ``n`` lab degradations as columns (dtypes of :data:`LAB_DTYPES`).

    ``contrast`` and the per-pixel contrast-to-noise ratio ``cnr`` are log-uniform (real images
    span decades of both: a Kerr frame has a few % contrast and CNR ~ 1-3, a binarised one is
    clean); ``noise_sigma`` = contrast / CNR. Other ranges are uniform, ``islands`` inclusive of
    both ends, the rotation uniform in ``[-rotation_deg, rotation_deg]``; each ``*_share`` is the
    probability of that degradation. Plain values, not a config object, so that physics knows
    nothing of ``params.yaml``. The draw order is part of every stored dataset.
    """
    grey_step = log_uniform(rng, *contrast, n)
    cols = {
        "contrast": grey_step,
        "illumination": rng.uniform(*illumination_gradient, size=n),
        "noise_sigma": grey_step / log_uniform(rng, *cnr, n),
        "n_islands": rng.integers(islands[0], islands[1], size=n, endpoint=True),
        "island_radius": rng.uniform(*island_radius_px, size=n),
        "rotation_deg": rng.uniform(-rotation_deg, rotation_deg, size=n),
        **_draw_psf(rng, n, blur_sigma_px, defocus_share, motion_share),
    }
    # Poisson: photons per unit grey so that the shot noise at mid-grey is noise_sigma.
    cols["photons"] = np.where(rng.random(n) < poisson_share, 0.5 / np.square(cols["noise_sigma"]), 0.0)
    cols["banding"] = rng.uniform(*banding, size=n)
    cols["defects"] = rng.uniform(*defects, size=n)
    quality = rng.integers(jpeg_quality[0], jpeg_quality[1], size=n, endpoint=True)
    cols["jpeg_quality"] = np.where(rng.random(n) < jpeg_share, quality, 0)
    # Nobody thresholds an image whose noise is comparable to its contrast: only CNR >= 5 ones.
    binarized = (rng.random(n) < binarized_share) & (grey_step >= 5.0 * cols["noise_sigma"])
    cols["binarized"] = binarized.astype(np.int16)
    return {name: np.asarray(cols[name]).astype(dtype) for name, dtype in LAB_DTYPES.items()}


def lab_sample_from(columns: dict[str, np.ndarray], i: int) -> LabSample:
    """Row ``i`` of lab columns as a :class:`LabSample` (ints for the integer columns)."""
    return LabSample(**{k: (int(columns[k][i]) if LAB_DTYPES[k].kind == "i" else float(columns[k][i]))
                        for k in LAB_FIELDS})


def sample_lab(rng: np.random.Generator, n: int, **ranges) -> list[LabSample]:
    """Draw ``n`` :class:`LabSample` with the same draws as :func:`sample_lab_columns`.

    ``ranges`` are the keyword arguments of :func:`sample_lab_columns`.
    """
    cols = sample_lab_columns(rng, n, **ranges)
    return [lab_sample_from(cols, i) for i in range(n)]


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
    """Multiplicative illumination: (1 + gradient + broad bump) × vignetting.

    The gradient spans ``strength`` (relative) across the image in a random direction; the bump
    has up to half that amplitude, either sign, and a width of 30–80% of the image; the
    vignetting darkens by up to ``strength`` at unit distance from a centre that may lie off the
    image (a crop of a vignetted frame).
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
    vx, vy = rng.uniform(-0.8, 0.8, size=2)
    vignetting = 1.0 - rng.uniform(0.0, strength) * ((x[:, None] - vx) ** 2 + (y[None, :] - vy) ** 2)
    return (1.0 + strength * ramp + bump_amp * (bump - bump.mean())) * np.clip(vignetting, 0.2, None)


def _disk_kernel(radius: float) -> np.ndarray:
    """Normalised defocus disk (pixels whose centre lies within ``radius``; at least the centre)."""
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    disk = (xx * xx + yy * yy <= radius * radius).astype(np.float64)
    return disk / disk.sum()


def _motion_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised straight streak ``length`` px long at ``angle`` (rad), drawn by point sampling."""
    r = int(np.ceil(length / 2.0))
    kernel = np.zeros((2 * r + 1, 2 * r + 1))
    for t in np.linspace(-length / 2.0, length / 2.0, max(2, int(np.ceil(4 * length)))):
        kernel[int(round(r + t * np.sin(angle))), int(round(r + t * np.cos(angle)))] += 1.0
    return kernel / kernel.sum()


def _apply_psf(img: np.ndarray, lab: LabSample, rng: np.random.Generator) -> np.ndarray:
    """Blur by the Gaussian, then the defocus disk, then the motion streak (each when > 0)."""
    if lab.blur_sigma > 0:
        img = ndimage.gaussian_filter(img, lab.blur_sigma, mode="nearest")
    if lab.defocus_radius > 0:
        img = ndimage.convolve(img, _disk_kernel(lab.defocus_radius), mode="nearest")
    if lab.motion_px > 0:
        img = ndimage.convolve(img, _motion_kernel(lab.motion_px, rng.uniform(0.0, np.pi)), mode="nearest")
    return img


def _add_noise(img: np.ndarray, lab: LabSample, rng: np.random.Generator) -> np.ndarray:
    """Shot (Poisson) or Gaussian pixel noise, line banding along a random axis, hot/dead pixels."""
    if lab.photons > 0:
        img = rng.poisson(np.clip(img, 0.0, None) * lab.photons) / lab.photons
        img = img + 0.25 * lab.noise_sigma * rng.standard_normal(img.shape)
    elif lab.noise_sigma > 0:
        img = img + lab.noise_sigma * rng.standard_normal(img.shape)
    if lab.banding > 0:
        axis = int(rng.integers(0, 2))
        offsets = lab.banding * lab.noise_sigma * rng.standard_normal(img.shape[axis])
        img = img + (offsets[:, None] if axis == 0 else offsets[None, :])
    if lab.defects > 0:
        hit = rng.random(img.shape) < lab.defects
        img = np.where(hit, rng.integers(0, 2, size=img.shape).astype(np.float64), img)
    return img


def _binarize_globally(img: np.ndarray) -> np.ndarray:
    """What a user's own segmentation hands us: Otsu on a lightly smoothed image, two levels."""
    smooth = ndimage.gaussian_filter(img, 1.0, mode="nearest")
    if float(np.ptp(smooth)) == 0.0:
        return img
    return (smooth > threshold_otsu(smooth)).astype(np.float64)


def _jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """uint8 image through an in-memory JPEG at ``quality`` (Pillow), as many cameras save."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("L"))


def render_lab(heights: np.ndarray, transverse: int, orientation: str, bright_side: str,
               lab: LabSample, rng: np.random.Generator) -> np.ndarray:
    """Render a microscope-like grayscale image (uint8) of one wall.

    Steps, in the canonical frame: binary image as float → rotation → islands of the other
    domain → grey levels (dark, dark + contrast, random base inside [0, 1]) → uneven illumination
    and vignetting → point-spread function → shot or Gaussian noise, banding, hot/dead pixels →
    (someone's global threshold) → clip to [0, 1] → uint8; then orientation and polarity as in
    the module table, and a JPEG round trip when asked (block artefacts are aligned with the
    camera, not the wall). All randomness comes from ``rng``: a stored seed reproduces the image.
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
    img = _add_noise(_apply_psf(img, lab, rng), lab, rng)
    if lab.binarized:
        img = _binarize_globally(img)
    np.clip(img, 0.0, 1.0, out=img)
    out = orient(np.rint(img * 255.0).astype(np.uint8), orientation, bright_side)
    return _jpeg_round_trip(out, lab.jpeg_quality) if lab.jpeg_quality > 0 else out
