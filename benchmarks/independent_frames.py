"""Independent full polar-Kerr microscope frames with domain walls of known roughness exponent ζ.

Why: the product's full-frame path (wall finding in a whole camera frame, bubbles included) must be
measured on frames it was not built with. This module was written from a description of real
frames only (``physics.md``: 16-bit, ~1344×1066 fields, contrast of a few percent, noise
comparable to it, vignetting, illumination drift, dust, pinning defects, an instrument banner;
bubble domains that grow), without reading the product's frame generator or its wall synthesis
and rendering; its choices are its own:

- walls: continuous curves, not pixel columns. A wall is a smooth reference (an ellipse for a
  bubble, a straight line for an open wall) plus a displacement u(s) along the reference's *arc
  length* s, drawn as a sum of Fourier modes with Gaussian coefficients and power
  ⟨A_n²⟩ ∝ n^{-(1+2ζ)} down to a wavelength of 1 px (finer than the pixels, so the camera
  integrates a little sub-pixel roughness, as in reality), evaluated on a grid 8× finer than a
  pixel. Bubble walls are periodic (modes n ≥ 3 on the perimeter P: n ≤ 2 are the reference's
  own centre/ellipse modes); the displacement is applied along the ray from the centre,
  r(θ) = r_ellipse(θ) + u(s(θ)), so a bubble is always star-shaped (no overhangs seen from its
  centre). Open walls are a window of a line four times longer than the window (non-periodic);
- amplitude: a nuisance, drawn per wall (rms 1.5–7 % of the radius for bubbles, 10–50 px for
  open walls) but capped so that the rms step between points 1 px apart stays below 0.8–2.5 px
  (ζ = 0.2 walls are jagged at every scale; the cap keeps them a wall, not a hairy band);
- growing bubbles: one bubble over several frames, mean radius growing linearly, the same ζ and
  the same physical spectrum (mode n on perimeter P has amplitude ∝ P^ζ n^{-(1+2ζ)/2}); each
  mode's Gaussian coefficient follows an AR(1) in time with a correlation that falls with n
  (large scales persist, small scales renew as the wall sweeps new disorder);
- imaging: domain fractions per pixel by 4×4 supersampling of the exact curves (near the wall
  only); pinning defects (dark dots 0.7–2 px in the film) added before the optics; one
  point-spread function per frame (Gaussian σ 0.5–3 px or a defocus disk 1–3 px); illumination
  = off-centre vignetting × a linear+quadratic drift × out-of-focus dust specks (a dark or bright
  core with an opposite halo ring); Poisson shot noise at the photon count that gives the drawn
  per-pixel contrast-to-noise ratio (0.7–3) plus read noise, or Gaussian noise; row banding and
  a few hot pixels; a 12-, 14- or 16-bit camera stored as 16-bit;
- banner: 30–60 rows at the bottom (sometimes the top), black or grey, white text in Pillow's
  default font (instrument, magnification, exposure, field, frame number), a time stamp and a
  scale bar with its label, burned over the image.

Coordinates: x = column, y = row, pixel (row i, column j) covers [j−½, j+½] × [i−½, i+½], so a
pixel's centre is at its integer indices. Truth per wall (:class:`WallTruth`): kind ``closed``
(the whole wall inside the frame and outside the banner) or ``open`` (an open wall, or a bubble
cut by the frame border or the banner), ζ, the centroid of the visible wall line (mean over points
equally spaced in reference arc length), its visible length along the reference, the perimeter
and mean radius of a bubble.

Every random number comes from the ``numpy.random.Generator`` passed in.

Preview: ``python benchmarks/independent_frames.py --out /tmp/frames [--seed 1] [--count 4]``
writes a few frames (16-bit PNG, a contrast-stretched 8-bit PNG, the clean domain map) and their
truth as JSON.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage, signal

ROWS, COLS = 1066, 1344          # frame size (rows × columns)
GRID = 8                         # wall samples per px of reference arc
SUPERSAMPLE = 4                  # sub-pixels per pixel side near a wall
MIN_WAVELENGTH = 1.0             # shortest wavelength of the wall displacement (px)
FIRST_MODE = 3                   # bubbles: modes 0, 1, 2 belong to the ellipse reference
CNR_RANGE = (0.7, 3.0)           # per-pixel domain contrast / noise sd
CONTRAST_RANGE = (0.015, 0.06)   # domain contrast as a share of the grey range
PSF_RANGE = {"gaussian": (0.5, 3.0), "defocus": (1.0, 3.0)}


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


# --- truth -------------------------------------------------------------------------------------

@dataclass
class WallTruth:
    """What is known about one wall of a frame (px, x = column, y = row)."""

    kind: str                    # "closed" | "open"
    source: str                  # "bubble" | "open_wall"
    zeta: float
    x: float                     # centroid of the visible wall line
    y: float
    length_px: float             # visible length along the reference curve
    perimeter_px: float | None   # bubbles: the reference ellipse's whole perimeter
    mean_radius: float | None    # bubbles: perimeter / 2π
    rms_px: float                # rms of the displacement u over the whole wall
    step_px: float               # rms of u(s + 1 px) − u(s)
    visible_share: float         # visible share of the wall's reference length

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Frame:
    """One frame: the 16-bit image, its walls, banner rows [start, stop) and imaging conditions."""

    image: np.ndarray
    walls: list[WallTruth]
    banner: tuple[int, int]
    imaging: dict
    domain: np.ndarray | None = field(default=None, repr=False)   # clean domain fraction (optional)

    def truth(self) -> dict:
        return {"walls": [w.as_dict() for w in self.walls], "banner_rows": list(self.banner),
                "imaging": self.imaging}


# --- wall displacement: Fourier modes on a continuous arc --------------------------------------

def mode_powers(zeta: float, period: float, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Mode numbers first … P/λ_min and their relative amplitudes n^{-(1+2ζ)/2}."""
    n = np.arange(first, int(np.floor(period / MIN_WAVELENGTH)) + 1, dtype=np.float64)
    return n, n ** (-(1.0 + 2.0 * zeta) / 2.0)


def structure(amplitudes: np.ndarray, n: np.ndarray, period: float, r: float) -> float:
    """B(r) = ⟨(u(s+r) − u(s))²⟩ of u = Σ A_n (g cos + g' sin)(2πns/P) with unit normal g, g'."""
    return float(np.sum(amplitudes ** 2 * 2.0 * (1.0 - np.cos(2.0 * np.pi * n * r / period))))


def synthesize(coeffs: np.ndarray, amplitudes: np.ndarray, n: np.ndarray, period: float) -> tuple[np.ndarray, float]:
    """u on a uniform grid over one period (≥ GRID points per px) and the grid spacing.

    ``coeffs`` are complex with unit-variance real and imaginary parts; u(s) =
    Σ A_n (Re c_n cos(2πns/P) + Im c_n sin(2πns/P)).
    """
    size = 1 << int(np.ceil(np.log2(max(GRID * period, 2 * n.max() + 4))))
    spectrum = np.zeros(size // 2 + 1, dtype=np.complex128)
    spectrum[n.astype(np.int64)] = 0.5 * size * amplitudes * np.conj(coeffs)
    return np.fft.irfft(spectrum, size), period / size


def _coefficients(rng: np.random.Generator, count: int) -> np.ndarray:
    return rng.standard_normal(count) + 1j * rng.standard_normal(count)


def _amplitude_scale(rng: np.random.Generator, base: np.ndarray, n: np.ndarray, period: float,
                     width: float) -> float:
    """Factor that gives the rms ``width``, capped by a drawn rms step between points 1 px apart."""
    rms = float(np.sqrt(np.sum(base ** 2)))
    step = np.sqrt(structure(base, n, period, 1.0))
    return min(width / rms, rng.uniform(0.8, 2.5) / step)


def _interp_periodic(values: np.ndarray, spacing: float, at: np.ndarray) -> np.ndarray:
    """Linear interpolation of a periodic grid (spacing ``spacing``, starting at 0) at ``at``."""
    pos = np.asarray(at) / spacing
    j = np.floor(pos)
    frac = pos - j
    j = j.astype(np.int64) % values.size
    return values[j] * (1.0 - frac) + values[(j + 1) % values.size] * frac


# --- bubbles -----------------------------------------------------------------------------------

@dataclass
class Bubble:
    """A star-shaped closed wall: r(θ) about (cx, cy) on a uniform θ grid."""

    cx: float
    cy: float
    radius: np.ndarray          # r(θ_j), θ_j = 2πj/M
    ds: np.ndarray              # reference arc length per θ step
    perimeter: float
    zeta: float
    rms: float
    step: float

    @property
    def reach(self) -> float:
        return float(self.radius.max())

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        theta = 2.0 * np.pi * np.arange(self.radius.size) / self.radius.size
        return self.cx + self.radius * np.cos(theta), self.cy + self.radius * np.sin(theta), self.ds

    def wall_at(self, theta: np.ndarray) -> np.ndarray:
        return _interp_periodic(self.radius, 2.0 * np.pi / self.radius.size, np.mod(theta, 2.0 * np.pi))

    def jump(self) -> float:
        """Largest change of r over 1.5 px of arc (how far the wall can be from a pixel's centre)."""
        steps = int(np.ceil(1.5 * self.radius.size / self.perimeter)) + 1
        return max(float(np.max(np.abs(np.roll(self.radius, -k) - self.radius))) for k in range(1, steps + 1))


def ellipse(a: float, b: float, tilt: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """r_e(θ) of an ellipse (semi-axes a, b, major axis at angle ``tilt``) and ds/dθ, θ_j = 2πj/size."""
    phi = 2.0 * np.pi * np.arange(size) / size - tilt
    q = (b * np.cos(phi)) ** 2 + (a * np.sin(phi)) ** 2
    r = a * b / np.sqrt(q)
    dr = -a * b * (a * a - b * b) * np.sin(phi) * np.cos(phi) / q ** 1.5
    return r, np.sqrt(r * r + dr * dr)


def _reference(mean_radius: float, aspect: float, tilt: float) -> tuple[np.ndarray, np.ndarray, float]:
    a, b = mean_radius * np.sqrt(aspect), mean_radius / np.sqrt(aspect)
    size = 1 << int(np.ceil(np.log2(GRID * 2.0 * np.pi * mean_radius * 1.2)))
    r, dsdt = ellipse(a, b, tilt, size)
    ds = dsdt * 2.0 * np.pi / size
    return r, ds, float(ds.sum())


def _bubble_from(cx, cy, r_ref, ds, perimeter, zeta, coeffs, amplitudes, n) -> Bubble:
    u, spacing = synthesize(coeffs, amplitudes, n, perimeter)
    s = np.concatenate([[0.0], np.cumsum(ds)[:-1]])
    radius = r_ref + _interp_periodic(u, spacing, s)
    return Bubble(cx=float(cx), cy=float(cy), radius=radius, ds=ds, perimeter=perimeter, zeta=float(zeta),
                  rms=float(np.sqrt(np.sum(amplitudes ** 2))),
                  step=float(np.sqrt(structure(amplitudes, n, perimeter, 1.0))))


def make_bubble(rng: np.random.Generator, mean_radius: float, zeta: float, cx: float = 0.0,
                cy: float = 0.0) -> Bubble:
    """One rough bubble of about ``mean_radius`` (aspect 1–1.35, any orientation)."""
    r_ref, ds, perimeter = _reference(mean_radius, rng.uniform(1.0, 1.35), rng.uniform(0.0, np.pi))
    n, base = mode_powers(zeta, perimeter, FIRST_MODE)
    width = mean_radius * _log_uniform(rng, 0.015, 0.07)
    amplitudes = base * _amplitude_scale(rng, base, n, perimeter, width)
    return _bubble_from(cx, cy, r_ref, ds, perimeter, zeta, _coefficients(rng, n.size), amplitudes, n)


def growing_bubbles(rng: np.random.Generator, pages: int, zeta: float, radii: tuple[float, float],
                    cx: float, cy: float) -> list[Bubble]:
    """One bubble growing from ``radii[0]`` to ``radii[1]`` (mean radius) over ``pages`` frames.

    The same physical spectrum throughout (mode n on perimeter P: amplitude ∝ P^ζ n^{-(1+2ζ)/2});
    each mode's coefficient evolves as an AR(1) with frame-to-frame correlation exp(−n/25).
    """
    aspect, tilt = rng.uniform(1.0, 1.15), rng.uniform(0.0, np.pi)
    turn = rng.normal(0.0, 0.03)
    refs = [_reference(r, aspect, tilt + k * turn) for k, r in enumerate(np.linspace(*radii, pages))]
    final = refs[-1][2]
    n_all, base_all = mode_powers(zeta, final, FIRST_MODE)
    scale = _amplitude_scale(rng, base_all, n_all, final, radii[1] * _log_uniform(rng, 0.015, 0.05))
    rho = np.exp(-n_all / 25.0)
    coeffs = _coefficients(rng, n_all.size)
    out = []
    for k, (r_ref, ds, perimeter) in enumerate(refs):
        if k:
            coeffs = rho * coeffs + np.sqrt(1.0 - rho ** 2) * _coefficients(rng, n_all.size)
        keep = n_all <= np.floor(perimeter / MIN_WAVELENGTH)
        amplitudes = scale * (perimeter / final) ** zeta * base_all[keep]
        drift = rng.normal(0.0, 3.0, 2) * k
        out.append(_bubble_from(cx + drift[0], cy + drift[1], r_ref, ds, perimeter, zeta, coeffs[keep],
                                amplitudes, n_all[keep]))
    return out


# --- open walls --------------------------------------------------------------------------------

@dataclass
class OpenWall:
    """A wall c = h(a) across the field: a along the direction ``angle`` through (x0, y0), c normal."""

    x0: float
    y0: float
    angle: float
    heights: np.ndarray          # h at a = a_start + k·spacing
    a_start: float
    spacing: float
    zeta: float
    rms: float
    step: float

    def frame(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.array([np.cos(self.angle), np.sin(self.angle)])
        return (x - self.x0) * t[0] + (y - self.y0) * t[1], -(x - self.x0) * t[1] + (y - self.y0) * t[0]

    def wall_at(self, a: np.ndarray) -> np.ndarray:
        return np.interp(a, self.a_start + self.spacing * np.arange(self.heights.size), self.heights)

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = self.a_start + self.spacing * np.arange(self.heights.size)
        c = self.heights
        x = self.x0 + a * np.cos(self.angle) - c * np.sin(self.angle)
        y = self.y0 + a * np.sin(self.angle) + c * np.cos(self.angle)
        return x, y, np.full(a.size, self.spacing)

    def jump(self) -> float:
        steps = int(np.ceil(1.5 / self.spacing)) + 1
        return max(float(np.max(np.abs(self.heights[k:] - self.heights[:-k]))) for k in range(1, steps + 1))


def make_open_wall(rng: np.random.Generator, zeta: float, shape: tuple[int, int] = (ROWS, COLS)) -> OpenWall:
    """A wall through the central part of the field at any angle, crossing it from border to border."""
    rows, cols = shape
    half = 0.5 * np.hypot(rows, cols) + 20.0
    window = 2.0 * half
    period = 4.0 * window
    n, base = mode_powers(zeta, period, 1)
    # amplitude set by the rms height difference over 1000 px: B(1000)/2
    width = _log_uniform(rng, 10.0, 50.0)
    scale = min(width / np.sqrt(0.5 * structure(base, n, period, 1000.0)),
                rng.uniform(0.8, 2.5) / np.sqrt(structure(base, n, period, 1.0)))
    amplitudes = base * scale
    u, spacing = synthesize(_coefficients(rng, n.size), amplitudes, n, period)
    count = int(np.ceil(window / spacing)) + 1
    start = int(rng.integers(0, u.size))
    heights = np.take(u, np.arange(start, start + count), mode="wrap")
    heights = heights - heights.mean()
    x0 = rng.uniform(0.3, 0.7) * (cols - 1)
    y0 = rng.uniform(0.3, 0.7) * (rows - 1)
    return OpenWall(x0=float(x0), y0=float(y0), angle=float(rng.uniform(0.0, np.pi)), heights=heights,
                    a_start=-half, spacing=spacing, zeta=float(zeta),
                    rms=float(np.sqrt(0.5 * structure(amplitudes, n, period, 1000.0))),
                    step=float(np.sqrt(structure(amplitudes, n, period, 1.0))))


# --- domain map --------------------------------------------------------------------------------

def _subpixel_offsets() -> np.ndarray:
    return (np.arange(SUPERSAMPLE) + 0.5) / SUPERSAMPLE - 0.5


def _fractions(inside, distance, band: float, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Domain fraction of the pixels at (ys, xs): centre test, 4×4 supersampling where |distance| < band."""
    d = distance(xs.astype(np.float64), ys.astype(np.float64))
    frac = (d < 0).astype(np.float64)
    near = np.abs(d) < band
    if near.any():
        off = _subpixel_offsets()
        grid = np.zeros((1, SUPERSAMPLE, SUPERSAMPLE))    # (pixel, sub-row, sub-column)
        sx = (xs[near][:, None, None] + grid + off[None, None, :]).reshape(-1)
        sy = (ys[near][:, None, None] + grid + off[None, :, None]).reshape(-1)
        frac[near] = inside(sx, sy).reshape(-1, SUPERSAMPLE * SUPERSAMPLE).mean(axis=1)
    return frac


def bubble_fraction(bubble: Bubble, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Inside share of every pixel of the bubble's bounding box (clipped to the frame)."""
    reach = bubble.reach + 2.0
    y0, y1 = max(0, int(np.floor(bubble.cy - reach))), min(shape[0], int(np.ceil(bubble.cy + reach)) + 1)
    x0, x1 = max(0, int(np.floor(bubble.cx - reach))), min(shape[1], int(np.ceil(bubble.cx + reach)) + 1)
    box = (slice(y0, y1), slice(x0, x1))
    if y1 <= y0 or x1 <= x0:
        return np.zeros((0, 0)), box
    ys, xs = np.mgrid[y0:y1, x0:x1]

    def distance(x, y):
        return np.hypot(x - bubble.cx, y - bubble.cy) - bubble.wall_at(np.arctan2(y - bubble.cy, x - bubble.cx))

    band = 1.0 + bubble.jump()
    frac = _fractions(lambda x, y: distance(x, y) < 0, distance, band, ys.ravel(), xs.ravel())
    return frac.reshape(ys.shape), box


def open_fraction(wall: OpenWall, shape: tuple[int, int]) -> np.ndarray:
    """Share of every pixel on the far side (c > h(a)) of the open wall."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]

    def distance(x, y):           # negative on the domain side
        a, c = wall.frame(x, y)
        return wall.wall_at(a) - c

    band = 1.0 + wall.jump()
    frac = _fractions(lambda x, y: distance(x, y) < 0, distance, band, ys.ravel(), xs.ravel())
    return frac.reshape(shape)


def domain_map(shape: tuple[int, int], bubbles: list[Bubble], wall: OpenWall | None = None) -> np.ndarray:
    """Reversed-domain fraction per pixel: the open wall's far side, toggled inside every bubble."""
    m = open_fraction(wall, shape) if wall is not None else np.zeros(shape)
    for bubble in bubbles:
        frac, box = bubble_fraction(bubble, shape)
        if frac.size:
            m[box] = np.abs(m[box] - frac)
    return m


# --- truth of a placed wall --------------------------------------------------------------------

def wall_truth(wall: Bubble | OpenWall, banner: tuple[int, int], shape: tuple[int, int]) -> WallTruth:
    """Kind, visible centroid and visible length of ``wall`` in a frame with banner rows [start, stop)."""
    x, y, w = wall.points()
    inside = (x >= -0.5) & (x <= shape[1] - 0.5) & (y >= -0.5) & (y <= shape[0] - 0.5)
    visible = inside & ~((y >= banner[0] - 0.5) & (y <= banner[1] - 0.5))
    is_bubble = isinstance(wall, Bubble)
    kind = "closed" if is_bubble and visible.all() else "open"
    total = float(w.sum())
    length = float(w[visible].sum())
    cx = float(np.sum(x[visible] * w[visible]) / length) if length > 0 else float("nan")
    cy = float(np.sum(y[visible] * w[visible]) / length) if length > 0 else float("nan")
    return WallTruth(kind=kind, source="bubble" if is_bubble else "open_wall", zeta=wall.zeta, x=cx, y=cy,
                     length_px=length, perimeter_px=wall.perimeter if is_bubble else None,
                     mean_radius=wall.perimeter / (2.0 * np.pi) if is_bubble else None,
                     rms_px=wall.rms, step_px=wall.step, visible_share=length / total)


# --- imaging -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Imaging:
    """Everything drawn for the imaging of one frame (or one sequence)."""

    psf: str
    psf_size: float
    contrast: float
    base: float
    bright_domains: bool
    cnr: float
    noise: str
    read_noise: float
    banding: float
    vignetting: float
    vignette_x: float
    vignette_y: float
    drift: float
    drift_angle: float
    drift_curve: float
    bits: int
    hot_pixels: int
    banner_rows: int
    banner_top: bool
    banner_grey: float
    text_white: float
    font_size: int

    def as_dict(self) -> dict:
        return asdict(self)


def draw_imaging(rng: np.random.Generator, cnr_range: tuple[float, float] = CNR_RANGE) -> Imaging:
    psf = "gaussian" if rng.random() < 0.65 else "defocus"
    contrast = _log_uniform(rng, *CONTRAST_RANGE)
    rows = int(rng.integers(30, 61))
    return Imaging(
        psf=psf, psf_size=float(rng.uniform(*PSF_RANGE[psf])), contrast=contrast,
        base=float(rng.uniform(0.2, 0.6)), bright_domains=bool(rng.random() < 0.5),
        cnr=_log_uniform(rng, *cnr_range), noise="poisson" if rng.random() < 0.7 else "gaussian",
        read_noise=float(rng.uniform(0.1, 0.5)), banding=float(rng.uniform(0.0, 0.25)),
        vignetting=float(rng.uniform(0.05, 0.35)), vignette_x=float(rng.uniform(0.35, 0.65)),
        vignette_y=float(rng.uniform(0.35, 0.65)), drift=float(rng.uniform(0.0, 0.15)),
        drift_angle=float(rng.uniform(0.0, 2.0 * np.pi)), drift_curve=float(rng.uniform(-0.05, 0.05)),
        bits=int(rng.choice([12, 14, 16])), hot_pixels=int(rng.integers(0, 40)), banner_rows=rows,
        banner_top=bool(rng.random() < 0.25), banner_grey=0.0 if rng.random() < 0.6 else float(rng.uniform(0.15, 0.45)),
        text_white=float(rng.uniform(0.85, 1.0)), font_size=int(np.clip(round(rows * rng.uniform(0.3, 0.42)), 10, 24)))


def banner_rows(imaging: Imaging, shape: tuple[int, int] = (ROWS, COLS)) -> tuple[int, int]:
    return (0, imaging.banner_rows) if imaging.banner_top else (shape[0] - imaging.banner_rows, shape[0])


def _disk_kernel(radius: float) -> np.ndarray:
    half = int(np.ceil(radius)) + 1
    off = _subpixel_offsets()
    y, x = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    yy = y[..., None, None] + off[:, None]
    xx = x[..., None, None] + off[None, :]
    kernel = ((xx ** 2 + yy ** 2) <= radius ** 2).mean(axis=(-2, -1))
    return kernel / kernel.sum()


def apply_psf(image: np.ndarray, imaging: Imaging) -> np.ndarray:
    if imaging.psf == "gaussian":
        return ndimage.gaussian_filter(image, imaging.psf_size, mode="nearest")
    kernel = _disk_kernel(imaging.psf_size)
    pad = kernel.shape[0] // 2
    return signal.fftconvolve(np.pad(image, pad, mode="edge"), kernel, mode="same")[pad:-pad, pad:-pad]


@dataclass(frozen=True)
class Specks:
    """Fixed features of a field of view: pinning defects (in the film) and dust (on the optics)."""

    defects: np.ndarray          # (k, 4): x, y, radius, depth (× contrast)
    dust: np.ndarray             # (k, 6): x, y, core radius, core depth, ring amplitude, dark core (1/0)

    def as_dict(self) -> dict:
        return {"defects": self.defects.round(3).tolist(), "dust": self.dust.round(3).tolist()}


def draw_specks(rng: np.random.Generator, shape: tuple[int, int] = (ROWS, COLS)) -> Specks:
    k = int(rng.integers(5, 61))
    defects = np.column_stack([rng.uniform(0, shape[1] - 1, k), rng.uniform(0, shape[0] - 1, k),
                               rng.uniform(0.7, 2.0, k), rng.uniform(1.0, 3.0, k)])
    j = int(rng.integers(1, 9))
    dust = np.column_stack([rng.uniform(0, shape[1] - 1, j), rng.uniform(0, shape[0] - 1, j),
                            np.exp(rng.uniform(np.log(3.0), np.log(15.0), j)), rng.uniform(0.02, 0.12, j),
                            rng.uniform(0.3, 0.8, j), (rng.random(j) < 0.75).astype(np.float64)])
    return Specks(defects=defects, dust=dust)


def _local(shape, x, y, reach):
    y0, y1 = max(0, int(y - reach)), min(shape[0], int(y + reach) + 2)
    x0, x1 = max(0, int(x - reach)), min(shape[1], int(x + reach) + 2)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    return (slice(y0, y1), slice(x0, x1)), np.hypot(xx - x, yy - y)


def defect_map(specks: Specks, shape: tuple[int, int]) -> np.ndarray:
    """Absorption of the pinning defects (share of a pixel covered × depth in units of contrast)."""
    out = np.zeros(shape)
    off = _subpixel_offsets()
    for x, y, radius, depth in specks.defects:
        box, _ = _local(shape, x, y, radius + 1)
        yy, xx = np.mgrid[box]
        sx = xx[..., None, None] + off[None, :]
        sy = yy[..., None, None] + off[:, None]
        out[box] += depth * ((sx - x) ** 2 + (sy - y) ** 2 <= radius ** 2).mean(axis=(-2, -1))
    return out


def dust_map(specks: Specks, shape: tuple[int, int]) -> np.ndarray:
    """Multiplicative transmission of out-of-focus dust: a soft core and a halo ring of opposite sign."""
    out = np.ones(shape)
    for x, y, radius, depth, ring, dark in specks.dust:
        ring_r, ring_w = 1.4 * radius, 0.3 * radius
        box, rho = _local(shape, x, y, ring_r + 3 * ring_w)
        core = depth / (1.0 + np.exp((rho - radius) / 0.8))
        halo = ring * depth * np.exp(-0.5 * ((rho - ring_r) / ring_w) ** 2)
        out[box] *= 1.0 - core + halo if dark else 1.0 + core - halo
    return out


def illumination(imaging: Imaging, shape: tuple[int, int], drift_phase: float = 0.0) -> np.ndarray:
    """Off-centre vignetting × linear and quadratic drift (normalised coordinates)."""
    rows, cols = shape
    scale = float(max(rows, cols))
    y = (np.arange(rows)[:, None] - imaging.vignette_y * rows) / scale
    x = (np.arange(cols)[None, :] - imaging.vignette_x * cols) / scale
    vignette = 1.0 - imaging.vignetting * (x ** 2 + y ** 2) / 0.5
    angle = imaging.drift_angle + drift_phase
    ramp = ((np.arange(cols)[None, :] / scale - 0.5) * np.cos(angle)
            + (np.arange(rows)[:, None] / scale - 0.4) * np.sin(angle))
    return vignette * (1.0 + imaging.drift * ramp + imaging.drift_curve * ramp ** 2)


def banner_image(rng: np.random.Generator, imaging: Imaging, width: int, stamp: str, frame_no: int) -> np.ndarray:
    """The instrument banner (grey levels in [0, 1]): text lines, a time stamp and a scale bar."""
    rows = imaging.banner_rows
    canvas = Image.new("L", (width, rows), 0)
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=imaging.font_size)
    except TypeError:                                     # Pillow without FreeType sizes
        font = ImageFont.load_default()
    line = rng.choice(["KerrScope MX-3", "evico magnetics", "MagVision 2.4", "PolarKerr LM"])
    mag = rng.choice([5, 10, 20, 50, 100])
    left = int(rng.integers(4, 40))
    draw.text((left, 2), f"{line}   {mag}x   Exp {int(rng.integers(20, 500))} ms   "
              f"H = {rng.uniform(-5, 5):+.2f} mT   pulse {int(rng.integers(1, 100))} ms   #{frame_no:04d}",
              fill=255, font=font)
    draw.text((left, rows // 2 + 1), stamp, fill=255, font=font)
    bar = int(rng.integers(80, 300))
    bar_x = int(width - bar - rng.integers(20, 200))
    bar_h = max(3, rows // 8)
    draw.rectangle([bar_x, rows - bar_h - 4, bar_x + bar, rows - 5], fill=255)
    draw.text((bar_x + bar // 3, max(1, rows - bar_h - 6 - imaging.font_size)),
              f"{int(rng.choice([5, 10, 20, 50, 100]))} um", fill=255, font=font)
    text = np.asarray(canvas, dtype=np.float64) / 255.0
    return imaging.banner_grey + (imaging.text_white - imaging.banner_grey) * text


def expose(domain: np.ndarray, imaging: Imaging, specks: Specks, rng: np.random.Generator,
           banner: np.ndarray, drift_phase: float = 0.0) -> np.ndarray:
    """The 16-bit camera image of the domain fraction map ``domain``."""
    shape = domain.shape
    sign = 1.0 if imaging.bright_domains else -1.0
    film = imaging.base + sign * imaging.contrast * (domain - 0.5) - imaging.contrast * defect_map(specks, shape)
    grey = apply_psf(film, imaging) * illumination(imaging, shape, drift_phase) * dust_map(specks, shape)
    sigma = imaging.contrast / imaging.cnr
    if imaging.noise == "poisson":
        photons = imaging.base / sigma ** 2       # shot noise sd = sigma at the base level
        grey = rng.poisson(np.clip(grey, 0.0, None) * photons) / photons
        grey = grey + rng.normal(0.0, imaging.read_noise * sigma, shape)
    else:
        grey = grey + rng.normal(0.0, sigma, shape)
    grey = grey + rng.normal(0.0, imaging.banding * sigma, (shape[0], 1))
    hot = rng.integers(0, grey.size, imaging.hot_pixels)
    grey.flat[hot] = rng.uniform(0.7, 1.0, hot.size)
    start, stop = banner_rows(imaging, shape)
    grey[start:stop] = banner
    levels = (1 << imaging.bits) - 1
    counts = np.rint(np.clip(grey, 0.0, 1.0) * levels).astype(np.uint32)
    return (counts << (16 - imaging.bits)).astype(np.uint16)


def _stamp(rng: np.random.Generator) -> tuple[int, float]:
    """A start time (seconds since 2020) for the banner's time stamps."""
    return int(rng.integers(0, 5 * 365 * 86400)), float(rng.uniform(0.2, 30.0))


def _format_stamp(seconds: float) -> str:
    day, rest = divmod(seconds, 86400.0)
    date = np.datetime64("2020-01-01") + np.timedelta64(int(day), "D")
    h, rest = divmod(rest, 3600.0)
    m, s = divmod(rest, 60.0)
    return f"{date} {int(h):02d}:{int(m):02d}:{s:06.3f}"


# --- placement ---------------------------------------------------------------------------------

def _fits(bubble: Bubble, placed: list, margin: float) -> bool:
    for other in placed:
        if isinstance(other, Bubble):
            if np.hypot(bubble.cx - other.cx, bubble.cy - other.cy) < bubble.reach + other.reach + margin:
                return False
        else:                                             # stay clear of the open wall
            x, y, _ = bubble.points()
            a, c = other.frame(x[::16], y[::16])
            gap = c - other.wall_at(a)
            if not (np.all(gap > margin) or np.all(gap < -margin)):
                return False
    return True


def _centre(rng, bubble_reach: float, banner: tuple[int, int], shape, cut: bool) -> tuple[float, float]:
    rows, cols = shape
    if not cut:                                           # wholly visible
        top, bottom = (banner[1], rows) if banner[0] == 0 else (0, banner[0])
        m = bubble_reach + 6.0
        if bottom - top < 2 * m or cols < 2 * m:
            return float("nan"), float("nan")
        return float(rng.uniform(m, cols - 1 - m)), float(rng.uniform(top + m, bottom - 1 - m))
    # cut: the centre lies within 0.85 reach of one border (inside or outside the frame)
    side = int(rng.integers(0, 4))
    d = rng.uniform(-0.6, 0.85) * bubble_reach
    along = rng.uniform(0.1, 0.9)
    if side == 0:
        return float(along * cols), float(d)
    if side == 1:
        return float(along * cols), float(rows - 1 - d)
    if side == 2:
        return float(d), float(along * rows)
    return float(cols - 1 - d), float(along * rows)


def place_bubbles(rng: np.random.Generator, count: int, banner: tuple[int, int], shape=(ROWS, COLS),
                  placed: list | None = None, diameters=(80.0, 800.0), cut_share: float = 0.25) -> list[Bubble]:
    """Up to ``count`` non-overlapping rough bubbles (ζ uniform 0.2–1.0), some cut by the border."""
    placed = list(placed or [])
    bubbles = []
    for _ in range(count):
        for _attempt in range(60):
            diameter = _log_uniform(rng, *diameters)
            bubble = make_bubble(rng, diameter / 2.0, float(rng.uniform(0.2, 1.0)))
            cx, cy = _centre(rng, bubble.reach, banner, shape, bool(rng.random() < cut_share))
            if not np.isfinite(cx):
                continue
            bubble.cx, bubble.cy = cx, cy
            if _fits(bubble, placed, 12.0) and wall_truth(bubble, banner, shape).visible_share > 0.25:
                placed.append(bubble)
                bubbles.append(bubble)
                break
    return bubbles


# --- frames ------------------------------------------------------------------------------------

def _frame(rng, imaging: Imaging, specks: Specks, bubbles: list[Bubble], wall: OpenWall | None,
           frame_no: int, stamp: float, keep_domain: bool, drift_phase: float = 0.0,
           shape=(ROWS, COLS)) -> Frame:
    banner = banner_rows(imaging, shape)
    domain = domain_map(shape, bubbles, wall)
    image = expose(domain, imaging, specks, rng, banner_image(rng, imaging, shape[1], _format_stamp(stamp), frame_no),
                   drift_phase)
    walls = ([wall_truth(wall, banner, shape)] if wall is not None else []) + \
        [wall_truth(b, banner, shape) for b in bubbles]
    info = {**imaging.as_dict(), "specks": specks.as_dict()}
    return Frame(image=image, walls=walls, banner=banner, imaging=info,
                 domain=domain.astype(np.float32) if keep_domain else None)


def bubble_frame(rng: np.random.Generator, *, count: int | None = None, keep_domain: bool = False,
                 cnr_range: tuple[float, float] = CNR_RANGE) -> Frame:
    """A frame of 1–4 bubble domains (80–800 px across, ζ uniform 0.2–1.0 each)."""
    imaging = draw_imaging(rng, cnr_range)
    count = int(rng.choice([1, 2, 2, 3, 3, 4])) if count is None else count
    bubbles = place_bubbles(rng, count, banner_rows(imaging))
    start, _ = _stamp(rng)
    return _frame(rng, imaging, draw_specks(rng), bubbles, None, int(rng.integers(1, 5000)), start, keep_domain)


def open_wall_frame(rng: np.random.Generator, *, keep_domain: bool = False,
                    cnr_range: tuple[float, float] = CNR_RANGE) -> Frame:
    """A frame with one open wall crossing the whole field, and sometimes one small bubble beside it."""
    imaging = draw_imaging(rng, cnr_range)
    wall = make_open_wall(rng, float(rng.uniform(0.2, 1.0)))
    banner = banner_rows(imaging)
    bubbles = place_bubbles(rng, 1, banner, placed=[wall], diameters=(80.0, 250.0), cut_share=0.0) \
        if rng.random() < 0.4 else []
    start, _ = _stamp(rng)
    return _frame(rng, imaging, draw_specks(rng), bubbles, wall, int(rng.integers(1, 5000)), start, keep_domain)


def growing_sequence(rng: np.random.Generator, pages: int = 6, radii: tuple[float, float] = (100.0, 300.0), *,
                     keep_domain: bool = False, cnr_range: tuple[float, float] = CNR_RANGE) -> list[Frame]:
    """One bubble growing over ``pages`` frames (same ζ, same optics, dust and defects; drifting light)."""
    imaging = draw_imaging(rng, cnr_range)
    banner = banner_rows(imaging)
    zeta = float(rng.uniform(0.2, 1.0))
    top, bottom = (banner[1], ROWS) if banner[0] == 0 else (0, banner[0])
    cx = COLS / 2 + rng.uniform(-120.0, 120.0)
    cy = 0.5 * (top + bottom) + rng.uniform(-20.0, 20.0)
    bubbles = growing_bubbles(rng, pages, zeta, radii, cx, cy)
    specks = draw_specks(rng)
    start, interval = _stamp(rng)
    first = int(rng.integers(1, 5000))
    phase_step = rng.normal(0.0, 0.1)
    return [_frame(rng, imaging, specks, [b], None, first + k, start + k * interval, keep_domain,
                   drift_phase=k * phase_step) for k, b in enumerate(bubbles)]


# --- files -------------------------------------------------------------------------------------

def write_png(path: str | Path, image: np.ndarray) -> None:
    """A 16-bit greyscale PNG."""
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint16)).save(path, format="PNG")


def write_tiff(path: str | Path, pages: list[np.ndarray]) -> None:
    """A multi-page 16-bit TIFF."""
    import tifffile
    tifffile.imwrite(path, np.stack(pages).astype(np.uint16), photometric="minisblack")


def _stretched(image: np.ndarray, banner: tuple[int, int]) -> np.ndarray:
    body = np.delete(image, np.arange(*banner), axis=0).astype(np.float64)
    lo, hi = np.percentile(body, [0.5, 99.5])
    return (np.clip((image - lo) / max(hi - lo, 1.0), 0.0, 1.0) * 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a few preview frames with their truth.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=4)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    frames = {}
    for i in range(args.count):
        make = open_wall_frame if i % 3 == 2 else bubble_frame
        frames[f"frame_{i:02d}"] = make(rng, keep_domain=True)
    for k, f in enumerate(growing_sequence(rng, 4, keep_domain=True)):
        frames[f"grow_{k}"] = f
    for name, f in frames.items():
        write_png(args.out / f"{name}.png", f.image)
        Image.fromarray(_stretched(f.image, f.banner)).save(args.out / f"{name}_view.png")
        Image.fromarray((f.domain * 255).astype(np.uint8)).save(args.out / f"{name}_domain.png")
    (args.out / "truth.json").write_text(json.dumps({k: f.truth() for k, f in frames.items()}, indent=1))


if __name__ == "__main__":
    main()
