"""Second look for a faint wall, where the fast detector in :mod:`.detection` saw only noise.

Why: the fast detector differentiates every line on its own (a rough wall keeps one sharp step
per line), so its signal-to-noise ratio is the per-pixel contrast-to-noise ratio (CNR) times ~2.
Kerr images often have a CNR of 1.5–6, where single lines are hopeless but the wall is still
plain to the eye, because the eye averages *along* the wall. This module does the same: it
smooths across lines (along the candidate wall) at a few scales after differentiating along
them, at a few widths (wide ones for comb-like walls, whose step averaged over neighbouring
lines is a ramp). A wall shifts only a few px between neighbouring lines, so its step survives
the smoothing while the noise drops by ~sqrt(3.5·scale). Uneven illumination is cancelled by
subtracting a 6× wider derivative (a band-pass): without it, at low noise, vignetting slopes set
the noise level and hide the wall.

Smoothing also lets structure that is not a wall stand out of the (now lower) noise, so a
candidate must pass four tests, each on the image it was found in:

1. *significance*: the median over lines of each line's strongest step of one sign is at least
   ``MIN_PEAK`` noise levels, the noise being the robust deviation (MAD) of the same filtered
   image; pure noise gives ~3 (the maximum of a few hundred correlated normal values; at most
   4.0 over 150 noise images of 64–1344 px, each the worst of the 2 directions ×
   ``len(EDGE_SIGMAS)`` × ``len(SCALES)`` = 18 tests made), and the tests below must hold too;
2. *polarity*: that median exceeds the one of the opposite sign by ``MIN_ASYMMETRY`` noise
   levels and by a factor 1 / ``MAX_OPPOSITE`` (a disk, a stripe, text, hot pixels or banding
   rise and fall alike; the factor holds where the noise is nearly zero);
3. *crossing*: at least ``MIN_CROSSING_SHARE`` of the lines hold a step of ``MIN_LINE_PEAK``;
4. *two domains*: per line, the mean grey level beyond the step minus the one before it has the
   step's sign and, in the median over lines and in every quarter of the lines, at least
   ``MIN_DOMAIN_RATIO`` of the step height read from the filter: a wall separates two plain
   domains, while a banding jump, a thin line or a text row is a step *between* two levels that
   are the same a few px further on;

and the step positions of neighbouring lines must mostly stay close (a continuous line, not
noise maxima scattered over the width). Thresholds were set on ~400 images of the independent
renderer (``benchmarks/independent_render.py``, CNR 1.5–60) against ~1600 images without a wall
(noise, illumination, disks, stripes, banding, hot pixels, text, scale bars): no false wall.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from roughml.imaging.noise import robust_sigma

#: Longer side (px) of the working image: larger ones are block-averaged down to it (the wall's
#: step survives, the pixel noise drops by the block side, the filters cost a fraction).
WORK_SIDE = 384
#: Widths (px of the working image) of the Gaussian derivative taken along the lines: sharp
#: walls, and rough (comb-like) ones whose step, averaged over neighbouring lines, is a ramp.
EDGE_SIGMAS = (1.5, 4.0, 8.0)
#: The derivative ``ILLUMINATION_FACTOR`` times wider is subtracted to cancel uneven illumination.
ILLUMINATION_FACTOR = 6.0
#: Gaussian smoothing across lines (px of the working image), i.e. along the candidate wall.
SCALES = (2.0, 4.0, 8.0)
#: Share of extreme pixels clipped at either end (hot and dead pixels) before filtering.
CLIP_SHARE = 0.005
#: Median over lines of the per-line peak, in noise levels of the filtered image.
MIN_PEAK = 4.5
#: Median peak of the wall's sign minus the one of the opposite sign, in noise levels.
MIN_ASYMMETRY = 2.0
#: ...and the opposite sign's median peak at most this share of the wall's (noiseless images).
MAX_OPPOSITE = 0.6
#: A line "crosses" the wall when its peak reaches this many noise levels...
MIN_LINE_PEAK = 3.5
#: ...and at least this share of the lines must cross.
MIN_CROSSING_SHARE = 0.6
#: Domain step (mean beyond the step minus mean before it) over the filter's step height.
MIN_DOMAIN_RATIO = 0.5
#: Share of neighbouring-line pairs whose step positions may differ by at most ``_max_jump``.
MIN_CONTINUITY = 0.6


def _working_image(img: np.ndarray) -> np.ndarray:
    """``img`` block-averaged to at most ``WORK_SIDE`` px, with its extreme pixels clipped.

    Clipping at the ``CLIP_SHARE`` quantiles removes hot and dead pixels, which smoothing would
    otherwise spread into bumps far above the noise; a wall's domains hold far more pixels.
    """
    factor = int(np.ceil(max(img.shape) / WORK_SIDE))
    if factor > 1:
        rows, cols = img.shape[0] // factor * factor, img.shape[1] // factor * factor
        img = img[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor).mean(axis=(1, 3))
    stride = max(1, int(np.sqrt(img.size / 65536.0)))
    low, high = np.quantile(img[::stride, ::stride], [CLIP_SHARE, 1.0 - CLIP_SHARE])
    return np.clip(img, low, high).astype(np.float32)


def _derivative(lines: np.ndarray, edge: float) -> np.ndarray:
    """Band-pass derivative along every line (axis 1): Gaussian derivatives of width ``edge``
    minus the one ``ILLUMINATION_FACTOR`` times wider.

    A wall's step is sharp, so the wide derivative takes only a small part of its peak, while
    uneven illumination (vignetting, gradients, broad bumps) changes slowly and gives the same
    slope at both widths: it cancels. Without this, at low noise the illumination's slopes set
    the noise level and hide the wall. The lines are first extended by an odd reflection, which
    continues a linear ramp exactly (a flat extension would create a false step at the ends).
    """
    box = _box_size(ILLUMINATION_FACTOR * edge, 3)
    pad = min(2 * box, lines.shape[1] - 1)
    padded = np.pad(lines, ((0, 0), (pad, pad)), mode="reflect", reflect_type="odd")
    wide = padded
    for _ in range(3):  # three boxes: a near-Gaussian of that width, at a cost independent of it
        wide = ndimage.uniform_filter1d(wide, box, axis=1)
    sharp = ndimage.gaussian_filter1d(padded, edge, axis=1, order=1)
    sharp -= np.gradient(wide, axis=1)
    return sharp[:, pad:-pad]


def _box_size(sigma: float, passes: int) -> int:
    """Odd width of a box filter that, applied ``passes`` times, has standard deviation ~``sigma``."""
    return int(2 * round(0.5 * (np.sqrt(12.0 * sigma ** 2 / passes + 1.0) - 1.0)) + 1)


def _across(deriv: np.ndarray, scale: float) -> np.ndarray:
    """``deriv`` smoothed across lines (axis 0) by two boxes (a triangle) of standard deviation ~``scale``."""
    box = _box_size(scale, 2)
    return ndimage.uniform_filter1d(ndimage.uniform_filter1d(deriv, box, axis=0, mode="nearest"),
                                    box, axis=0, mode="nearest")


def _max_jump(positions: int, scale: float) -> float:
    """Largest shift (px) of the step between lines ``scale`` apart still called continuous."""
    return 3.0 + 0.5 * scale + 0.04 * positions


def _domain_steps(lines: np.ndarray, where: np.ndarray, gap: int, band: int) -> np.ndarray:
    """Per line, the mean of the ``band`` px beyond ``where`` minus the mean of those before it.

    ``gap`` px on either side of the step are left out (the blurred edge itself); bands short
    enough that illumination hardly changes across them, long enough that a one-line jump (a
    banding step, a text stroke) averages out. Lines whose step lies too near an end to leave
    a quarter of a band on both sides give NaN.
    """
    cumulative = np.concatenate([np.zeros((lines.shape[0], 1)), np.cumsum(lines, axis=1, dtype=np.float64)], 1)
    width = lines.shape[1]
    rows = np.arange(lines.shape[0])
    stop = np.clip(where - gap, 0, width)
    first = np.clip(stop - band, 0, width)
    start = np.clip(where + gap + 1, 0, width)
    last = np.clip(start + band, 0, width)
    before = (cumulative[rows, stop] - cumulative[rows, first]) / np.maximum(stop - first, 1)
    beyond = (cumulative[rows, last] - cumulative[rows, start]) / np.maximum(last - start, 1)
    enough = max(1, band // 4)
    return np.where((stop - first >= enough) & (last - start >= enough), beyond - before, np.nan)


def _candidate(lines: np.ndarray, deriv: np.ndarray, edge: float, scale: float) -> tuple[float, float]:
    """Signed strength (noise levels) of a wall across ``lines`` at ``scale``, and its crossing share.

    ``lines`` is the working image with the candidate wall running along axis 0, ``deriv`` its
    line derivative at width ``edge``. The sign is the polarity: > 0 when the bright domain lies
    at high indices. (0, 0) when a test fails.
    """
    smooth = _across(deriv, scale)
    noise = robust_sigma(smooth, 16384)
    if not noise > 0.0:
        return 0.0, 0.0
    margin = int(np.ceil(edge))
    inner = smooth[:, margin:smooth.shape[1] - margin] / noise
    rise, fall = inner.max(axis=1), -inner.min(axis=1)
    sign = 1.0 if np.median(rise) >= np.median(fall) else -1.0
    peaks = rise if sign > 0 else fall
    strength = float(np.median(peaks))
    # The opposite sign over the whole line: a disk whose far edge hugs the border still counts.
    opposite = float(np.median(np.max(-sign * smooth, axis=1))) / noise
    crossing = float(np.mean(peaks >= MIN_LINE_PEAK))
    if (strength < MIN_PEAK or strength - opposite < MIN_ASYMMETRY or opposite > MAX_OPPOSITE * strength
            or crossing < MIN_CROSSING_SHARE):
        return 0.0, 0.0
    where = margin + (inner.argmax(axis=1) if sign > 0 else inner.argmin(axis=1))
    lag = max(1, int(round(scale)))
    jumps = np.abs(where[lag:] - where[:-lag])
    if jumps.size and np.mean(jumps <= _max_jump(lines.shape[1], scale)) < MIN_CONTINUITY:
        return 0.0, 0.0
    to_step = np.sqrt(2.0 * np.pi) * edge  # peak of a Gaussian-filtered unit step -> step height
    step = strength * noise * to_step
    domains = sign * _domain_steps(lines, where, int(np.ceil(2 * edge)), int(4 * edge) + 4)
    if not _two_domains(domains, step):
        return 0.0, 0.0
    return sign * strength, crossing


def _two_domains(domains: np.ndarray, step: float) -> bool:
    """True when the domain steps reach ``MIN_DOMAIN_RATIO`` of ``step`` overall and per quarter."""
    valid = np.isfinite(domains)
    if valid.mean() < 0.5:
        return False
    limit = MIN_DOMAIN_RATIO * step
    quarters = [q[np.isfinite(q)] for q in np.array_split(domains, 4)]
    return float(np.median(domains[valid])) >= limit and all(q.size == 0 or np.median(q) >= limit
                                                              for q in quarters)


def faint_wall(img: np.ndarray) -> tuple[str, float] | None:
    """Orientation and polarity of a faint wall in ``img`` (float, 2-D), or None when none is seen.

    Returns ``(kind, sign)``: ``kind`` is "vertical" (the wall runs along the rows' axis 0, i.e.
    top to bottom) or "horizontal"; ``sign`` > 0 when the bright domain lies at high indices
    across the wall, as in the fast detector. Every direction, width and scale is tried; among
    the candidates passing all tests the one with the largest strength × crossing share² wins,
    the fast detector's rule: a wall wandering over much of the image is crossed once by many
    lines of the other direction too, but never by all of them.
    """
    work = _working_image(img)
    best, rank = ("", 0.0), 0.0
    for kind, lines in (("vertical", work), ("horizontal", np.ascontiguousarray(work.T))):
        if min(lines.shape) < 16:
            continue
        for edge in EDGE_SIGMAS:
            if lines.shape[1] <= 2 * np.ceil(edge):  # nothing left inside the edge margins (a narrow strip read across)
                continue
            deriv = _derivative(lines, edge)
            for scale in SCALES:
                strength, crossing = _candidate(lines, deriv, edge, scale)
                if abs(strength) * crossing ** 2 > rank:
                    best, rank = (kind, strength), abs(strength) * crossing ** 2
    return best if best[1] != 0.0 else None
