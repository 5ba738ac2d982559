"""Synthetic full polar-Kerr microscope frames with several domain walls of known ζ.

Why: the wall finder, benchmarks and examples need whole frames like the lab's (bubbles 50–800 px
across, some cut by the border, a wall crossing the field, a few percent contrast under comparable
noise, blur, vignetting, dust, an info banner) *and* the exact walls and exponents behind them.

Conventions. Pixel ``(i, j)`` has its centre at row ``i``, column ``j`` (as NumPy and scikit-image
count), so truth polylines compare directly with ``skimage.measure.find_contours``. Polar angles
about a bubble centre are ``θ = atan2(row − y, col − x)``. The domain phase (1) differs from the
background (0) by ``contrast``; a bubble flips the phase around it, an open wall separates the two
phases. Every random number comes from the ``numpy.random.Generator`` passed in, so a seed gives the
same bytes (on one machine: trigonometric kernels may differ in the last bit between processors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features
from scipy import ndimage

from roughml.physics import portable
from roughml.physics.synthesis import self_affine_profiles

FRAME_SHAPE = (1066, 1344)
#: Sub-pixel offsets of the 4 × 4 supersampling that anti-aliases pixels a wall crosses.
_SUB = (np.arange(4) - 1.5) / 4.0
#: Chance that a bubble is placed so that the frame border cuts it (when ``allow_cut``).
CUT_PROBABILITY = 0.25
#: Displacement rms of a bubble as a fraction of its mean radius: visibly rough, still a bubble.
RMS_FRACTION_RANGE = (0.02, 0.06)
#: Open walls: rms as a fraction of their length, and the largest slope of their mean line.
OPEN_RMS_FRACTION_RANGE = (0.005, 0.02)
OPEN_MAX_SLOPE = 0.1
#: Smallest gap (px) between two walls, and between a closed wall and the field's edge (plus 3 σ blur).
WALL_GAP_PX = 12.0
#: Correlation of a growing bubble's displacement modes from one frame to the next.
GROWTH_MEMORY = 0.8
#: Bounds of every range option: (lowest, highest, integer).
BOUNDS = {"bubbles": (0, 50, True), "radius_px": (8.0, 1e4, False), "zeta_range": (0.0, 2.0, False),
          "elongation": (1.0, 4.0, False), "contrast": (1e-4, 0.4, False), "cnr": (1e-3, np.inf, False),
          "blur_sigma_px": (0.0, 20.0, False), "vignetting": (0.0, 0.9, False), "gradient": (0.0, 0.5, False),
          "dust": (0, 1000, True), "open_walls": (0, 4, True)}
#: Photometric defaults, shared by :func:`render_frame` and :func:`growing_bubble`.
OPTICS = {"contrast": (0.02, 0.08), "cnr": (0.7, 2.0), "blur_sigma_px": (0.5, 2.5), "vignetting": (0.0, 0.3),
          "gradient": (0.0, 0.05), "dust": (0, 12)}
_ATTEMPTS = 80


@dataclass(frozen=True)
class TrueWall:
    """One wall as synthesised. ``kind``: ``"closed"`` (a domain wholly inside the frame, above the
    banner) or ``"open"`` (crossing the field, or a bubble cut by the border). ``points``: (N, 2)
    (row, col) polyline of the in-frame part, ~1 px apart along the reference shape; ``x``/``y``:
    its arc-length-weighted centroid (column/row); ``length_px``: its length."""

    kind: str
    zeta: float
    x: float
    y: float
    length_px: float
    points: np.ndarray


@dataclass(frozen=True)
class SyntheticFrame:
    """A rendered frame (uint16), its walls, banner height and dust specks ``(x, y, radius_px)``."""

    image: np.ndarray
    walls: tuple[TrueWall, ...]
    banner_rows: int
    dust: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class _Bubble:
    """A bubble's centre (row ``y``, column ``x``), outline θ (image frame) → r, and exponent."""

    y: float
    x: float
    theta: np.ndarray
    r: np.ndarray
    zeta: float

    def points(self) -> np.ndarray:
        return np.column_stack([self.y + self.r * np.sin(self.theta), self.x + self.r * np.cos(self.theta)])


@dataclass(frozen=True)
class _OpenLine:
    """An open wall: transverse position ``c[t]`` (a column if vertical, else a row) at each step t."""

    vertical: bool
    c: np.ndarray
    zeta: float

    def points(self) -> np.ndarray:
        t = np.arange(self.c.size, dtype=np.float64)
        return np.column_stack([t, self.c] if self.vertical else [self.c, t])


@dataclass(frozen=True)
class _Optics:
    """What stays fixed over a sequence: grey levels, noise, blur, illumination and dust."""

    base: float
    signed_contrast: float
    noise_sigma: float
    blur_sigma: float
    illumination: np.ndarray
    dust_field: np.ndarray
    dust: tuple[tuple[float, float, float], ...]
    banner: tuple[str, float, float]  # text, first time stamp and frame interval (ms)


def _check_range(name: str, value, low: float, high: float, integer: bool) -> tuple:
    """``value`` as an ordered (low, high) pair inside [low, high], else ``ValueError`` naming it:
    a bad range would otherwise surface as an obscure NumPy error far from the argument at fault."""
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}") from None
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if not all(isinstance(v, kinds) and not isinstance(v, bool) and v == v for v in (a, b)):
        raise ValueError(f"{name} must be a pair of {'integers' if integer else 'numbers'}, got {value!r}")
    if a > b:
        raise ValueError(f"{name} must be (low, high) with low <= high, got {value!r}")
    if a < low or b > high or (np.isinf(b) and a != b):
        raise ValueError(f"{name} must lie within [{low}, {high}] (inf only as (inf, inf)), got {value!r}")
    return (int(a), int(b)) if integer else (float(a), float(b))


def _check_frame(shape, banner_rows) -> tuple[tuple[int, int], int]:
    """Validate the frame size (two integers in [64, 16384]) and the banner (64 rows must remain)."""
    if np.shape(shape) != (2,) or not all(isinstance(v, (int, np.integer)) and 64 <= v <= 16384 for v in shape):
        raise ValueError(f"shape must be two integers (rows, cols) in [64, 16384], got {shape!r}")
    if not isinstance(banner_rows, (int, np.integer)) or not 0 <= banner_rows <= shape[0] - 64:
        raise ValueError(f"banner_rows must be an integer in [0, rows - 64] for shape {shape}, got {banner_rows!r}")
    return (int(shape[0]), int(shape[1])), int(banner_rows)


def _draw(rng: np.random.Generator, pair: tuple[float, float]) -> float:
    """Uniform draw from a (low, high) range; a degenerate range is returned as is (no draw)."""
    return float(pair[0]) if pair[0] == pair[1] else float(rng.uniform(*pair))


def _ellipse_samples(mean_radius: float, elongation: float, points: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Angles (ellipse frame) uniform in the ellipse's arc length, not in angle, so that u(s) is
    ~1 px apart all along an elongated wall; and the radius there. Semi-axes R·√e, R/√e: area πR²."""
    a, b = mean_radius * np.sqrt(elongation), mean_radius / np.sqrt(elongation)
    fine = np.linspace(0.0, 2.0 * np.pi, 8192 + 1)
    r_fine = a * b / np.hypot(b * np.cos(fine), a * np.sin(fine))
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(r_fine * np.cos(fine)), np.diff(r_fine * np.sin(fine))))])
    n = max(16, int(round(arc[-1]))) if points is None else int(points)
    theta = np.interp(np.arange(n) * arc[-1] / n, arc, fine)
    return theta, a * b / np.hypot(b * np.cos(theta), a * np.sin(theta))


def bubble_outline(rng: np.random.Generator, zeta: float, mean_radius_px: float, *, elongation: float = 1.0,
                   tilt_rad: float = 0.0, rms_fraction: float = 0.04,
                   points: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Outline of a rough bubble: polar angles θ and radii r(θ) = r_ellipse(θ) + u(s).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the displacement's random modes.
    zeta : float
        Exponent of u, a periodic self-affine displacement along the reference arc length s.
    mean_radius_px, elongation, tilt_rad : float
        R, axis ratio e >= 1 and long-axis angle of the reference ellipse (semi-axes R·√e, R/√e).
    rms_fraction : float
        rms of u over R (default 4 %: rough, yet a 50 px bubble stays a bubble).
    points : int, optional
        Number of samples (default: the ellipse perimeter in px, i.e. ~1 px spacing).

    Returns
    -------
    theta, r : ndarray
        float64. θ is the image-frame angle ``atan2(row − y, col − x)``, increasing over one turn
        from ``tilt_rad``, uniform in the ellipse's arc length: ``r − r_ellipse`` is u(s) on a
        uniform grid. r(θ) is single-valued: the wall has no overhangs.
    """
    for name, value, low, high in (("zeta", zeta, 0.0, 2.0), ("mean_radius_px", mean_radius_px, 4.0, 1e5),
                                   ("elongation", elongation, 1.0, 4.0), ("rms_fraction", rms_fraction, 0.0, 0.25),
                                   ("points", 16 if points is None else points, 16, 1e7)):
        if not low <= value <= high:
            raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")
    theta, r_ellipse = _ellipse_samples(float(mean_radius_px), float(elongation), points)
    u = self_affine_profiles(rng, zeta, theta.size, periodic=True)[0]
    return theta + tilt_rad, r_ellipse + rms_fraction * mean_radius_px * u


def _periodic_from_modes(modes: np.ndarray, zeta: float, size: int) -> np.ndarray:
    """Unit-rms periodic profile of ``size`` points from complex Gaussians ``modes`` (n = 1, 2 …).
    Not :func:`self_affine_profiles`: a growing bubble keeps its modes (n wavelengths per turn) from
    frame to frame and only mixes them slowly, which needs the Gaussians themselves."""
    n_modes = size // 2
    spectrum = np.zeros(n_modes + 1, dtype=np.complex128)
    spectrum[1:] = modes[:n_modes] * portable.exp(-(0.5 + zeta) * portable.log(np.arange(1.0, n_modes + 1)))
    if size % 2 == 0:
        spectrum[-1] = np.sqrt(2.0) * spectrum[-1].real  # the Nyquist mode of a real signal is real
    u = np.fft.irfft(spectrum, n=size)
    return (u - u.mean()) / (u - u.mean()).std()


def _inside(points: np.ndarray, usable: tuple[int, int], margin: float = 0.0) -> np.ndarray:
    """Which (row, col) points lie at least ``margin`` px inside the usable field's pixel centres."""
    return np.all((points >= margin) & (points <= np.subtract(usable, 1.0 + margin)), axis=1)


def _longest_run(inside: np.ndarray) -> np.ndarray:
    """Indices of the longest cyclic run of True in ``inside`` (which holds a False). Only the longest:
    a rough cut wall leaves and re-enters the frame near the border; those slivers carry nothing."""
    order = np.roll(np.arange(inside.size), -int(np.argmin(inside)))
    edges = np.diff(np.concatenate([[0], inside[order].astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    k = int(np.argmax(ends - starts)) if starts.size else 0
    return order[starts[k]:ends[k]] if starts.size else order[:0]


def _clear_of(bubble: _Bubble, placed: list[_Bubble], lines: list[_OpenLine], gap: float) -> bool:
    """True when ``bubble`` keeps ``gap`` px from every placed bubble and open wall."""
    reach = bubble.r.max() + gap
    near = any(np.hypot(bubble.y - o.y, bubble.x - o.x) < reach + o.r.max() for o in placed)
    return not near and all(np.hypot(*(line.points() - [bubble.y, bubble.x]).T).min() >= reach for line in lines)


def _try_bubble(rng, usable, opts: dict, placed: list[_Bubble], lines: list[_OpenLine]) -> _Bubble | None:
    """Place one bubble clear of the others: new centres, and every 10 tries a new, smaller outline.
    A closed bubble keeps ``margin`` px (gap + 3 blur σ) from the field's edges; a cut one has its
    centre in the field and at least 32 px of wall inside. None when the field is too full."""
    (rows, cols), (low, high) = usable, opts["radius_px"]
    margin = WALL_GAP_PX + 3.0 * opts["blur_sigma_px"][1]
    for attempt in range(_ATTEMPTS):
        if attempt % 10 == 0:
            zeta, elong = _draw(rng, opts["zeta_range"]), _draw(rng, opts["elongation"])
            theta, r = bubble_outline(rng, zeta, _draw(rng, (low, high)), elongation=elong,
                                      tilt_rad=rng.uniform(0.0, np.pi), rms_fraction=rng.uniform(*RMS_FRACTION_RANGE))
            dy, dx, high = r * np.sin(theta), r * np.cos(theta), max(low, 0.8 * high)
        fits = np.ptp(dy) + 2 * margin < rows - 1 and np.ptp(dx) + 2 * margin < cols - 1
        if opts["allow_cut"] and (not fits or rng.random() < CUT_PROBABILITY):
            y, x = rng.uniform(0, rows - 1), rng.uniform(0, cols - 1)
        elif fits:
            y = rng.uniform(margin - dy.min(), rows - 1 - margin - dy.max())
            x = rng.uniform(margin - dx.min(), cols - 1 - margin - dx.max())
        else:
            continue
        bubble = _Bubble(y, x, theta, r, zeta)
        points = bubble.points()
        inside = _inside(points, usable)
        acceptable = _inside(points, usable, margin).all() or (not inside.all() and _longest_run(inside).size >= 32)
        if acceptable and _clear_of(bubble, placed, lines, margin):
            return bubble
    return None


def _open_lines(rng, count: int, usable: tuple[int, int], zeta_range) -> list[_OpenLine]:
    """Draw ``count`` non-crossing open walls, all vertical or all horizontal, slightly tilted: each
    a non-periodic self-affine line (real walls are not periodic) in its own slice of the field, kept
    ``WALL_GAP_PX`` from the edges and its neighbours; one that does not fit is skipped."""
    vertical = bool(rng.random() < 0.5) if count else True
    length, transverse = usable if vertical else usable[::-1]
    t = np.arange(length, dtype=np.float64) - (length - 1) / 2.0
    lines: list[_OpenLine] = []
    for k in range(count):
        slot, zeta = transverse / count, _draw(rng, zeta_range)
        u = self_affine_profiles(rng, zeta, length, periodic=False)[0]
        for _ in range(_ATTEMPTS):
            c = (rng.uniform(k + 0.25, k + 0.75) * slot + rng.uniform(-OPEN_MAX_SLOPE, OPEN_MAX_SLOPE) * t
                 + rng.uniform(*OPEN_RMS_FRACTION_RANGE) * length * u)
            floor = WALL_GAP_PX + (lines[-1].c.max() if lines else 0.0)
            if c.min() >= floor and c.max() <= min((k + 1) * slot, transverse - 1) - WALL_GAP_PX:
                lines.append(_OpenLine(vertical, c, zeta))
                break
    return lines


def _true_wall(kind: str, zeta: float, points: np.ndarray, closed: bool) -> TrueWall:
    """TrueWall from a polyline: length and arc-length-weighted centroid (closing segment if closed)."""
    seg = (np.roll(points, -1, axis=0) - points) if closed else np.diff(points, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    total = float(lengths.sum())
    y, x = ((points[:lengths.size] + seg / 2.0) * lengths[:, None]).sum(axis=0) / total
    return TrueWall(kind, float(zeta), float(x), float(y), total, np.ascontiguousarray(points, dtype=np.float64))


def _bubble_coverage(bubble: _Bubble, rows: int, cols: int) -> tuple[tuple[slice, slice], np.ndarray]:
    """Anti-aliased domain fraction of the pixels in the bubble's bounding box (clipped to the frame):
    pixel centres decide, except near the wall (the 3 × 3 neighbourhood changes side, or within 1 px
    radially), where 4 × 4 subpixels do: as exact as supersampling the whole box, ~50× cheaper."""
    reach = bubble.r.max() + 2.0
    r0, r1 = max(int(np.floor(bubble.y - reach)), 0), min(int(np.ceil(bubble.y + reach)) + 1, rows)
    c0, c1 = max(int(np.floor(bubble.x - reach)), 0), min(int(np.ceil(bubble.x + reach)) + 1, cols)
    dy = np.arange(r0, r1, dtype=np.float64)[:, None] - bubble.y
    dx = np.arange(c0, c1, dtype=np.float64)[None, :] - bubble.x
    rho = np.hypot(dy, dx)
    mask = rho < bubble.r.min() - 2.0
    ii, jj = np.nonzero(~mask & (rho <= reach))
    gap = rho[ii, jj] - np.interp(np.arctan2(dy[ii, 0], dx[0, jj]), bubble.theta, bubble.r, period=2 * np.pi)
    mask[ii, jj] = gap < 0.0
    cover, as_int = mask.astype(np.float32), mask.view(np.uint8)
    edge = ndimage.maximum_filter(as_int, size=3) != ndimage.minimum_filter(as_int, size=3)
    edge[ii[np.abs(gap) < 1.0], jj[np.abs(gap) < 1.0]] = True
    ei, ej = np.nonzero(edge)
    sy, sx = dy[ei, 0][:, None, None] + _SUB[None, :, None], dx[0, ej][:, None, None] + _SUB[None, None, :]
    wall = np.interp(np.arctan2(sy, sx), bubble.theta, bubble.r, period=2 * np.pi)
    cover[ei, ej] = (np.hypot(sy, sx) < wall).mean(axis=(1, 2))
    return (slice(r0, r1), slice(c0, c1)), cover


def _line_side(line: _OpenLine, shape: tuple[int, int]) -> np.ndarray:
    """Anti-aliased fraction of each pixel past the open wall (larger column or row), float32:
    four sub-rows per step along the wall, each with the exact fraction of the pixel past it."""
    length, transverse = shape if line.vertical else shape[::-1]
    across = np.arange(transverse, dtype=np.float32)[None, :]
    side = np.zeros((length, transverse), dtype=np.float32)
    for offset in _SUB:
        c = np.interp(np.arange(length) + offset, np.arange(line.c.size), line.c).astype(np.float32)
        side += np.clip(across - c[:, None] + 0.5, 0.0, 1.0) / len(_SUB)
    return side if line.vertical else np.ascontiguousarray(side.T)


def _phase_image(shape: tuple[int, int], lines: list[_OpenLine], bubbles: list[_Bubble]) -> np.ndarray:
    """Domain phase in [0, 1] (float32): open walls alternate the phase, bubbles flip it locally."""
    parity = np.ones(shape, dtype=np.float32)
    for line in lines:
        parity *= 1.0 - 2.0 * _line_side(line, shape)
    phase = (1.0 - parity) / 2.0  # parity of the walls passed, exact away from them and smooth across
    for bubble in bubbles:
        box, cover = _bubble_coverage(bubble, *shape)
        phase[box] += cover * (1.0 - 2.0 * phase[box])
    return phase


def _dust_field(rng, count: int, usable: tuple[int, int], shape, contrast: float):
    """Dust specks (radius 2–8 px, clear of the banner): a dark core in a bright halo, or the reverse,
    3–6× the domain contrast, as out-of-focus dust looks. Returns the additive field and the specks."""
    field, specks = np.zeros(shape, dtype=np.float32), []
    for _ in range(count):
        radius = rng.uniform(2.0, 8.0)
        y, x = rng.uniform(0.0, usable[0] - 1 - 2.5 * radius), rng.uniform(0.0, usable[1] - 1)
        amplitude, reach = rng.choice([-1.0, 1.0]) * rng.uniform(3.0, 6.0) * contrast, int(np.ceil(3.0 * radius))
        r0, c0 = max(int(y) - reach, 0), max(int(x) - reach, 0)
        rr = np.arange(r0, min(int(y) + reach + 1, shape[0]))[:, None] - y
        cc = np.arange(c0, min(int(x) + reach + 1, shape[1]))[None, :] - x
        s = np.hypot(rr, cc) / radius
        profile = np.exp(-s ** 4) - 0.45 * np.exp(-((s - 1.6) / 0.4) ** 2)
        field[r0:r0 + rr.shape[0], c0:c0 + cc.shape[1]] += (amplitude * profile).astype(np.float32)
        specks.append((float(x), float(y), float(radius)))
    return field, tuple(specks)


def _draw_optics(rng, shape, usable, ranges: dict) -> _Optics:
    """Draw the photometry of a frame (or sequence): base level keeping both phases in range, random
    polarity, noise σ = contrast / CNR, blur, illumination (radial vignetting falloff reaching
    ``vignetting`` at the farthest corner, times a weak linear gradient) and dust."""
    contrast, cnr = _draw(rng, ranges["contrast"]), _draw(rng, ranges["cnr"])
    polarity = rng.choice([-1.0, 1.0])
    base = rng.uniform(0.3, 0.6)
    base = min(base, 0.95 - contrast) if polarity > 0 else max(base, 0.05 + contrast)
    blur, vignetting, gradient = (_draw(rng, ranges[k]) for k in ("blur_sigma_px", "vignetting", "gradient"))
    y = np.arange(shape[0], dtype=np.float32)[:, None] - shape[0] * rng.uniform(0.4, 0.6)
    x = np.arange(shape[1], dtype=np.float32)[None, :] - shape[1] * rng.uniform(0.4, 0.6)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    ramp = np.sin(angle) * y / shape[0] + np.cos(angle) * x / shape[1]
    illumination = ((1.0 - vignetting * (y * y + x * x) / (y * y + x * x).max()) * (1.0 + gradient * ramp))
    dust_field, dust = _dust_field(rng, int(rng.integers(*ranges["dust"], endpoint=True)), usable, shape, contrast)
    magnification, field = int(rng.choice([5, 10, 20, 50])), rng.uniform(0.5, 8.0)
    banner = (f"Kerr  {magnification}x  H={field:.1f} mT", rng.uniform(0.0, 50.0), rng.uniform(1.0, 20.0))
    return _Optics(base, polarity * contrast, contrast / cnr, blur, illumination.astype(np.float32), dust_field, dust,
                   banner)


def _photograph(rng, phase: np.ndarray, optics: _Optics) -> np.ndarray:
    """Grey levels + dust → illumination → optical blur → noise (mildly signal-dependent) → uint16."""
    image = (optics.base + optics.signed_contrast * phase + optics.dust_field) * optics.illumination
    if optics.blur_sigma > 0:
        image = ndimage.gaussian_filter(image, optics.blur_sigma, mode="nearest")
    if optics.noise_sigma > 0:  # 80 % read noise, 20 % shot-like noise growing with the signal
        sigma = optics.noise_sigma * np.sqrt(np.maximum(0.8 + 0.2 * image / optics.base, 0.0))
        image += sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return np.rint(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)


def _banner(rows: int, cols: int, text: str) -> np.ndarray:
    """The instrument info bar: black, white text, a 100 px × 4 px scale bar. Pillow's 1-bit mode, not
    anti-aliased: real banners are burned in saturated (0 and 65535), so a finder can mask them."""
    canvas = Image.new("1", (cols, rows), 0)
    draw = ImageDraw.Draw(canvas)
    size = max(8, min(24, int(rows * 0.45)))
    font = ImageFont.load_default(size=size) if features.check("freetype2") else ImageFont.load_default()
    draw.text((8, max(0, (rows - size) // 2 - 2)), text, fill=1, font=font)
    bar, right = max(8, min(100, cols // 4)), cols - 12
    draw.rectangle([right - bar, rows - 10, right - 1, rows - 7], fill=1)
    draw.text((right - bar, max(0, rows - 12 - size)), "10 um", fill=1, font=font)
    return np.where(np.asarray(canvas, dtype=bool), np.uint16(65535), np.uint16(0))


def _compose(rng, shape, banner_rows, optics, lines, bubbles, index: int = 0) -> SyntheticFrame:
    """Render phase and photometry, burn in the banner of frame ``index``, and collect the truth."""
    image = _photograph(rng, _phase_image(shape, lines, bubbles), optics)
    usable = (shape[0] - banner_rows, shape[1])
    if banner_rows > 0:
        text, t0, dt = optics.banner
        image[usable[0]:] = _banner(banner_rows, shape[1], f"{text}  t={t0 + index * dt:.1f} ms")
    walls = [_true_wall("open", line.zeta, line.points(), closed=False) for line in lines]
    for bubble in bubbles:  # closed if wholly in the field, else the cut wall's in-frame part
        points = bubble.points()
        inside = _inside(points, usable)
        cut = not inside.all()
        walls.append(_true_wall("open" if cut else "closed", bubble.zeta,
                                points[_longest_run(inside)] if cut else points, closed=not cut))
    return SyntheticFrame(image, tuple(walls), banner_rows, optics.dust)


def render_frame(rng: np.random.Generator, *, shape=FRAME_SHAPE, bubbles=(1, 3), radius_px=(50, 400),
                 zeta_range=(0.2, 1.0), elongation=(1.0, 1.6), contrast=OPTICS["contrast"], cnr=OPTICS["cnr"],
                 blur_sigma_px=OPTICS["blur_sigma_px"], vignetting=OPTICS["vignetting"], dust=OPTICS["dust"],
                 banner_rows=44, open_walls=(0, 1), allow_cut=True, gradient=OPTICS["gradient"]) -> SyntheticFrame:
    """Render one synthetic polar-Kerr frame and the true walls in it.

    Every tuple is a uniform (low, high) range; ``bubbles``, ``dust`` and ``open_walls`` are
    inclusive integer ranges. ``contrast``: domain − background as a fraction of the 16-bit range;
    ``cnr``: contrast over the per-pixel noise σ (``(inf, inf)``: no noise); ``vignetting``:
    relative falloff at the farthest corner; ``gradient``: relative span of a linear illumination
    gradient. Bubbles (ζ, radius, elongation, tilt drawn for each) never overlap and keep clear of
    open walls; with ``allow_cut`` some are cut by the border (truth ``"open"``, the in-frame part).
    No truth lies under the info banner (the bottom ``banner_rows`` rows). A too full field gets
    fewer bubbles than drawn.

    Raises
    ------
    ValueError
        For a malformed, reversed or out-of-bounds option.
    """
    shape, banner_rows = _check_frame(shape, banner_rows)
    given = dict(bubbles=bubbles, radius_px=radius_px, zeta_range=zeta_range, elongation=elongation, dust=dust,
                 open_walls=open_walls, contrast=contrast, cnr=cnr, blur_sigma_px=blur_sigma_px,
                 vignetting=vignetting, gradient=gradient)
    opts = {name: _check_range(name, value, *BOUNDS[name]) for name, value in given.items()}
    opts["allow_cut"] = bool(allow_cut)
    n_bubbles = int(rng.integers(*opts["bubbles"], endpoint=True))
    n_open = int(rng.integers(*opts["open_walls"], endpoint=True))
    usable = (shape[0] - banner_rows, shape[1])
    optics = _draw_optics(rng, shape, usable, opts)
    lines = _open_lines(rng, n_open, usable, opts["zeta_range"])
    placed: list[_Bubble] = []
    for _ in range(n_bubbles):
        bubble = _try_bubble(rng, usable, opts, placed, lines)
        placed += [bubble] if bubble is not None else []
    return _compose(rng, shape, banner_rows, optics, lines, placed)


def _evolve_modes(rng: np.random.Generator, modes: np.ndarray, n_modes: int) -> np.ndarray:
    """The next frame's ``n_modes`` complex Gaussians: the old ones keep correlation
    :data:`GROWTH_MEMORY` (and unit variance), the modes a longer perimeter adds are fresh."""
    fresh = rng.standard_normal((n_modes, 2)).view(np.complex128)[:, 0]
    keep = min(modes.size, n_modes)
    fresh[:keep] = GROWTH_MEMORY * modes[:keep] + np.sqrt(1.0 - GROWTH_MEMORY ** 2) * fresh[:keep]
    return fresh


def growing_bubble(rng: np.random.Generator, n_frames: int, *, zeta: float = 0.6, radius_px=(80, 300),
                   shape=FRAME_SHAPE, **render_options) -> list[SyntheticFrame]:
    """Frames following one bubble as its mean radius grows linearly from ``radius_px[0]`` to ``[1]``.

    Centre, ζ, elongation, tilt and optics (grey levels, blur, illumination, dust) stay fixed; each
    frame has fresh noise. The displacement keeps its spectral amplitudes (mode n: n wavelengths per
    turn) while each mode's Gaussian evolves as g_t = a·g_{t−1} + √(1−a²)·fresh, a =
    :data:`GROWTH_MEMORY` (new modes of the longer perimeter start fresh), its rms a fixed fraction
    of the current radius. ``render_options``: the photometric options, ``banner_rows`` and
    ``elongation`` of :func:`render_frame`. The bubble is closed as long as it fits in the field.
    """
    unknown = sorted(set(render_options) - {*OPTICS, "banner_rows", "elongation"})
    if unknown:
        raise ValueError(f"growing_bubble takes no {unknown}: only photometry, banner_rows and elongation")
    if not isinstance(n_frames, (int, np.integer)) or n_frames < 1 or not 0.0 <= zeta <= 2.0:
        raise ValueError(f"need n_frames >= 1 and zeta in [0, 2], got n_frames={n_frames!r}, zeta={zeta!r}")
    shape, banner_rows = _check_frame(shape, render_options.pop("banner_rows", 44))
    given = {"elongation": (1.0, 1.6), **OPTICS, **render_options, "radius_px": radius_px}
    ranges = {name: _check_range(name, value, *BOUNDS[name]) for name, value in given.items()}
    elong, tilt, rms = _draw(rng, ranges["elongation"]), rng.uniform(0.0, np.pi), rng.uniform(*RMS_FRACTION_RANGE)
    usable = (shape[0] - banner_rows, shape[1])
    optics = _draw_optics(rng, shape, usable, ranges)
    half = ranges["radius_px"][1] * np.sqrt(elong) * (1.0 + 4.0 * rms) + WALL_GAP_PX + 3.0 * optics.blur_sigma
    y, x = (rng.uniform(half, size - 1 - half) if 2 * half < size - 1 else (size - 1) / 2.0 for size in usable)
    frames, modes = [], np.zeros(0, dtype=np.complex128)
    for k, radius in enumerate(np.linspace(*ranges["radius_px"], n_frames)):
        theta, r_ellipse = _ellipse_samples(float(radius), elong, None)
        modes = _evolve_modes(rng, modes, theta.size // 2)
        r = r_ellipse + rms * radius * _periodic_from_modes(modes, zeta, theta.size)
        bubble = _Bubble(y, x, theta + tilt, r, float(zeta))
        frames.append(_compose(rng, shape, banner_rows, optics, [], [bubble], k))
    return frames
