"""A second, independent imaging model: integer wall heights → a microscope-like grey image.

Why: the model was trained on images from ``roughml.physics.rendering``; an accuracy measured on
images from the same renderer cannot tell whether it learned the roughness of the wall or the
renderer's habits. This module was written from a description of real polar-Kerr frames only
(``physics.md``: few-percent contrast, noise comparable to it, vignetting, illumination drift,
12–16-bit cameras), without reading the training renderer, and its choices differ on purpose:

- geometry: the wall is drawn at sub-pixel precision (heights in 1/``subpixel`` px) and every
  pixel's domain fraction is found by supersampling (anti-aliasing), after a rotation of up to
  ±10° about the field centre; rows whose rotated wall would need heights beyond the simulated
  ones are cropped, so the image is a little shorter than the wall; the field is non-square, its
  width chosen so that the wall's excursion (tilt included) fills 20–100 % of it;
- optics: one point-spread function per image, a Gaussian (σ 0.5–2.5 px), a defocus disk
  (radius 1–3 px) or a motion streak (2–6 px, any direction);
- photometry: domain contrast 3–50 % of the grey range on a random base level, multiplied by a
  vignetting and a linear illumination gradient;
- noise: either Poisson shot noise at the photon count that gives the drawn contrast-to-noise
  ratio (CNR 2–20 per pixel by default: a few photons per pixel at high contrast) plus Gaussian read
  noise, or additive Gaussian plus a fixed-pattern multiplicative gain; row banding; hot and dead
  pixels;
- output: 8- or 16-bit integers, 8-bit ones sometimes through a JPEG round-trip (Pillow);
  either polarity, the wall vertical or horizontal.

Every random number comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image
from scipy import ndimage, signal

#: Subsamples per pixel side for the anti-aliased domain fractions.
SUPERSAMPLE = 4
#: Columns kept free of the wall on either side of the field (px).
EDGE_MARGIN = 2.0


@dataclass(frozen=True)
class Optics:
    """Everything drawn for one image (stored with the benchmark's results)."""

    rotation_deg: float
    fill: float
    shift: float
    psf: str
    psf_size: float
    motion_angle_deg: float
    contrast: float
    base: float
    cnr: float
    noise: str
    read_noise: float
    gain_spread: float
    banding: float
    vignetting: float
    gradient: float
    gradient_angle_deg: float
    hot_fraction: float
    dead_fraction: float
    bits: int
    jpeg_quality: int
    bright_left: bool
    transpose: bool

    def as_dict(self) -> dict:
        return asdict(self)


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


#: Default range of the contrast-to-noise ratio per pixel (domain step / noise sd), log-uniform.
CNR_RANGE = (2.0, 20.0)


def draw_optics(rng: np.random.Generator, cnr_range: tuple[float, float] = CNR_RANGE) -> Optics:
    """Draw one image's imaging conditions (``cnr_range``: per-pixel contrast-to-noise ratio)."""
    psf = str(rng.choice(["gaussian", "defocus", "motion"]))
    psf_size = {"gaussian": rng.uniform(0.5, 2.5), "defocus": rng.uniform(1.0, 3.0),
                "motion": rng.uniform(2.0, 6.0)}[psf]
    contrast = _log_uniform(rng, 0.03, 0.5)
    bits = int(rng.choice([8, 16]))
    return Optics(
        rotation_deg=float(rng.uniform(-10.0, 10.0)), fill=float(rng.uniform(0.2, 1.0)),
        shift=float(rng.uniform(-0.8, 0.8)),
        psf=psf, psf_size=float(psf_size), motion_angle_deg=float(rng.uniform(0.0, 180.0)),
        contrast=contrast, base=float(rng.uniform(0.1, 0.85 - contrast)),
        cnr=_log_uniform(rng, *cnr_range), noise=str(rng.choice(["poisson", "gaussian"])),
        read_noise=float(rng.uniform(0.0, 0.3)), gain_spread=float(rng.uniform(0.0, 0.03)),
        banding=float(rng.uniform(0.0, 0.3)), vignetting=float(rng.uniform(0.0, 0.4)),
        gradient=float(rng.uniform(0.0, 0.3)), gradient_angle_deg=float(rng.uniform(0.0, 360.0)),
        hot_fraction=float(rng.uniform(0.0, 1e-3)), dead_fraction=float(rng.uniform(0.0, 1e-3)),
        bits=bits, jpeg_quality=int(rng.integers(70, 96)) if bits == 8 and rng.random() < 0.4 else 0,
        bright_left=bool(rng.random() < 0.5), transpose=bool(rng.random() < 0.5))


def _geometry(wall: np.ndarray, optics: Optics) -> tuple[int, int, float, float]:
    """Rows kept, field width, and the field centre's position (along, across) in wall coordinates.

    A pixel row r (from the field centre) and a wall point at distance d across from the wall's
    mid-line meet at s = (r + d·sinθ)/cosθ along the wall: keeping rows ≤ (L−1)cosθ − 2·reach·|sinθ|
    makes every pixel near the wall map inside the simulated heights (far pixels lie on one side
    whatever the wall does).
    """
    theta = np.deg2rad(optics.rotation_deg)
    length = wall.size
    mid = 0.5 * (wall.min() + wall.max())
    reach = 0.5 * (wall.max() - wall.min()) + EDGE_MARGIN + 1.0
    rows = int(np.floor((length - 1) * np.cos(theta) - 2.0 * reach * abs(np.sin(theta))))
    excursion = (wall.max() - wall.min()) * np.cos(theta) + rows * abs(np.tan(theta))
    cols = max(int(np.ceil(excursion / optics.fill + 2 * EDGE_MARGIN)), 8)
    slack = max(0.0, 0.5 * (cols - 2 * EDGE_MARGIN - excursion))
    return rows, cols, 0.5 * (length - 1), mid - optics.shift * slack


def domain_fraction(heights: np.ndarray, subpixel: int, optics: Optics) -> np.ndarray:
    """Share of every pixel on the far side of the wall (float64 in [0, 1], rows along the wall).

    ``heights`` are the wall's positions across the field in units of 1/``subpixel`` px, one per
    row; each pixel is sampled on a ``SUPERSAMPLE``² grid, rotated into the wall's frame and
    compared with the linearly interpolated wall position there.
    """
    wall = np.asarray(heights, dtype=np.float64) / float(subpixel)
    rows, cols, centre_row, centre_col = _geometry(wall, optics)
    theta = np.deg2rad(optics.rotation_deg)
    offsets = (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE - 0.5
    r = (np.arange(rows)[:, None] + offsets[None, :]).ravel() - 0.5 * (rows - 1)
    c = (np.arange(cols)[:, None] + offsets[None, :]).ravel() - 0.5 * (cols - 1)
    along = centre_row + r[:, None] * np.cos(theta) + c[None, :] * np.sin(theta)
    across = centre_col - r[:, None] * np.sin(theta) + c[None, :] * np.cos(theta)
    beyond = across > np.interp(along, np.arange(wall.size), wall)
    return beyond.reshape(rows, SUPERSAMPLE, cols, SUPERSAMPLE).mean(axis=(1, 3))


def _kernel(optics: Optics) -> np.ndarray | None:
    """Normalised defocus-disk or motion-streak kernel (None for the Gaussian)."""
    if optics.psf == "gaussian":
        return None
    size = optics.psf_size
    half = int(np.ceil(size)) + 1
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    fine = SUPERSAMPLE
    sub = (np.arange(fine) + 0.5) / fine - 0.5
    yy = (y[..., None, None] + sub[:, None]).reshape(*y.shape, fine, 1)
    xx = (x[..., None, None] + sub[None, :]).reshape(*x.shape, 1, fine)
    if optics.psf == "defocus":
        inside = (xx ** 2 + yy ** 2) <= size ** 2
    else:
        angle = np.deg2rad(optics.motion_angle_deg)
        along = xx * np.cos(angle) + yy * np.sin(angle)
        normal = -xx * np.sin(angle) + yy * np.cos(angle)
        inside = (np.abs(along) <= size / 2) & (np.abs(normal) <= 0.5)
    kernel = inside.mean(axis=(-2, -1))
    return kernel / kernel.sum()


def blur(image: np.ndarray, optics: Optics) -> np.ndarray:
    """Apply the point-spread function (edges extended by reflection)."""
    if optics.psf == "gaussian":
        return ndimage.gaussian_filter(image, optics.psf_size, mode="reflect")
    kernel = _kernel(optics)
    pad = kernel.shape[0] // 2
    padded = np.pad(image, pad, mode="reflect")
    return signal.fftconvolve(padded, kernel, mode="same")[pad:-pad, pad:-pad]


def _illumination(shape: tuple[int, int], optics: Optics) -> np.ndarray:
    """Vignetting (quadratic fall-off to the corners) times a linear gradient, mean ≈ 1."""
    rows, cols = shape
    y = (np.arange(rows) - 0.5 * (rows - 1)) / max(rows, cols)
    x = (np.arange(cols) - 0.5 * (cols - 1)) / max(rows, cols)
    r2 = (y[:, None] ** 2 + x[None, :] ** 2) / 0.5
    angle = np.deg2rad(optics.gradient_angle_deg)
    ramp = x[None, :] * np.cos(angle) + y[:, None] * np.sin(angle)
    return (1.0 - optics.vignetting * r2) * (1.0 + optics.gradient * ramp)


def expose(fraction: np.ndarray, optics: Optics, rng: np.random.Generator) -> np.ndarray:
    """Grey levels in [0, 1] (float): contrast, illumination, noise, banding, bad pixels."""
    domain = fraction if not optics.bright_left else 1.0 - fraction
    signal_ = (optics.base + optics.contrast * blur(domain, optics)) * _illumination(domain.shape, optics)
    sigma = optics.contrast / optics.cnr                  # noise sd per pixel at this CNR
    if optics.noise == "poisson":
        photons = optics.base / sigma ** 2                # shot noise sd = sigma at the base level
        grey = rng.poisson(np.clip(signal_, 0, None) * photons) / photons
        grey = grey + rng.normal(0.0, optics.read_noise * sigma, grey.shape)
    else:
        gain = 1.0 + rng.normal(0.0, optics.gain_spread, signal_.shape)
        grey = signal_ * gain + rng.normal(0.0, sigma, signal_.shape)
    grey = grey + rng.normal(0.0, optics.banding * sigma, (grey.shape[0], 1))
    bad = rng.random(grey.shape)
    grey = np.where(bad < optics.hot_fraction, 1.0, grey)
    grey = np.where(bad > 1.0 - optics.dead_fraction, 0.0, grey)
    return np.clip(grey, 0.0, 1.0)


def digitise(grey: np.ndarray, optics: Optics) -> np.ndarray:
    """8- or 16-bit integers; 8-bit images optionally through a JPEG round-trip."""
    top = (1 << optics.bits) - 1
    image = np.rint(grey * top).astype(np.uint8 if optics.bits == 8 else np.uint16)
    if optics.jpeg_quality:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=optics.jpeg_quality)
        buffer.seek(0)
        image = np.asarray(Image.open(buffer).convert("L"))
    return image.T.copy() if optics.transpose else image


def render(heights: np.ndarray, rng: np.random.Generator, *, subpixel: int = 1,
           optics: Optics | None = None, cnr_range: tuple[float, float] = CNR_RANGE) -> tuple[np.ndarray, Optics]:
    """One microscope-like image of the wall ``heights`` (1/``subpixel`` px units, one per row).

    Returns the image (uint8 or uint16, 2-D) and the imaging conditions drawn for it. The wall
    runs along the image rows (columns when ``optics.transpose``); its length in the image is
    ``len(heights)`` minus the rows the rotation crops.
    """
    heights = np.asarray(heights)
    if heights.ndim != 1 or heights.size < 16:
        raise ValueError(f"expected one wall of at least 16 rows, got shape {heights.shape}")
    optics = draw_optics(rng, cnr_range) if optics is None else optics
    return digitise(expose(domain_fraction(heights, subpixel, optics), optics, rng), optics), optics
