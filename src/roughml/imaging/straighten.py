"""Straighten a wall found in a frame into the canonical strip the models read.

Why: the models and the classical extraction see one geometry only (wall running top to bottom,
one domain on each side; :mod:`roughml.physics.geometry`). A wall in a full frame is a curve, so
the image is resampled along a smooth *reference* curve and its normals: row i of the strip is
the image along the normal at arc length i px of the reference, column j the distance along that
normal. The wall's displacement from the reference then becomes the strip's profile h(i).

- Closed wall (a bubble): the reference is the contour's centre and its lowest Fourier mode pair
  (an ellipse, in the complex representation z(s) = x(s) + i y(s)), so the strip is periodic in i
  and the displacement u(s) is measured along the arc, as physics.md prescribes; the classical fit
  skips the lowest modes that removing the ellipse altered.
- Open wall: the reference is the wall's mean direction (principal axis of its points), so the
  strip is the wall rotated onto that direction with the tilt removed.

Overhangs (a normal crossing the wall more than once) are kept in the strip; the profile then
follows the documented convention of :func:`roughml.imaging.detection.heights_from_mask` (per line
the single split that best separates the two domains, i.e. the dark-pixel count on a clean line).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: Free space (px) kept on each side of the wall's largest excursion in a strip: blur and the
#: far domain's level must be visible on every line.
STRIP_MARGIN = 16
#: Widest strip (px); a wall whose excursions need more is cropped to this.
MAX_STRIP_WIDTH = 320
#: Lines of a strip may lose at most this share of their samples outside the frame / in overlays.
MAX_INVALID_SHARE = 0.25
#: Fourier mode pairs of the closed reference curve kept besides the centre (1: an ellipse).
REFERENCE_MODES = 1


@dataclass(frozen=True)
class Strip:
    """A straightened wall: the image along the reference's normals and where it came from.

    ``image`` is float32 (lines, width), the wall running top to bottom; ``inside_left`` says
    whether column 0 is on the inner (closed wall) / left-of-direction (open wall) side.
    ``rows``/``cols`` give the image coordinates of each line's centre sample, for drawing.
    """

    image: np.ndarray
    periodic: bool
    rows: np.ndarray
    cols: np.ndarray


def resample_closed(points: np.ndarray, samples: int) -> np.ndarray:
    """``samples`` points equally spaced in arc length along the closed polyline ``points``."""
    closed = np.vstack([points, points[:1]]) if not np.allclose(points[0], points[-1]) else points
    steps = np.hypot(*np.diff(closed, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    target = np.linspace(0.0, arc[-1], samples, endpoint=False)
    return np.column_stack([np.interp(target, arc, closed[:, k]) for k in range(2)])


def polyline_length(points: np.ndarray) -> float:
    """Length (px) of a polyline given as (N, 2) points."""
    return float(np.hypot(*np.diff(np.asarray(points, dtype=np.float64), axis=0).T).sum())


def _ellipse_reference(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fourier coefficients of the reference (modes −m … m) of a closed wall and its centre.

    The contour, resampled uniformly in arc length, is written z(s) = x + i·y; keeping the modes
    |k| ≤ REFERENCE_MODES of its discrete Fourier transform gives the best-fitting ellipse.
    """
    samples = max(64, int(round(polyline_length(np.vstack([points, points[:1]])))))
    uniform = resample_closed(points, samples)
    z = uniform[:, 1] + 1j * uniform[:, 0]
    coeffs = np.fft.fft(z) / samples
    modes = np.arange(-REFERENCE_MODES, REFERENCE_MODES + 1)
    return modes, coeffs[modes]


def _closed_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference points, unit outward normals (both as complex x + i·y) and the wall's displacement.

    The reference is sampled at 1 px of its own arc length; u(s) is the contour's displacement
    along the normal at the same parameter s.
    """
    modes, coeffs = _ellipse_reference(points)
    fine = np.linspace(0.0, 1.0, 4096, endpoint=False)
    basis = np.exp(2j * np.pi * np.outer(fine, modes))
    curve = basis @ coeffs
    arc = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(np.append(curve, curve[0]))))])
    lines = max(32, int(round(arc[-1])))
    param = np.interp(np.arange(lines) * arc[-1] / lines, arc, np.append(fine, 1.0))
    basis = np.exp(2j * np.pi * np.outer(param, modes))
    reference = basis @ coeffs
    tangent = basis @ (2j * np.pi * modes * coeffs)
    normal = -1j * tangent / np.abs(tangent)
    if np.mean(((reference - coeffs[REFERENCE_MODES]) * np.conj(normal)).real) < 0:
        normal = -normal  # outward
    uniform = resample_closed(points, lines)
    z = uniform[:, 1] + 1j * uniform[:, 0]
    start = int(np.argmin(np.abs(z - reference[0])))
    z = np.roll(z, -start)
    if np.mean((np.roll(z, -1) - z) * np.conj(tangent)).real < 0:
        z = np.roll(z[::-1], 1)  # same direction of travel as the reference
    displacement = ((z - reference) * np.conj(normal)).real
    return reference, normal, displacement


def _open_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reference points, unit normals and displacement of an open wall about its mean direction."""
    points = np.asarray(points, dtype=np.float64)
    z = points[:, 1] + 1j * points[:, 0]
    centre = z.mean()
    _, _, axes = np.linalg.svd(np.column_stack([(z - centre).real, (z - centre).imag]), full_matrices=False)
    direction = axes[0, 0] + 1j * axes[0, 1]
    along = ((z - centre) * np.conj(direction)).real
    if along[-1] < along[0]:
        direction, along = -direction, -along
    normal = 1j * direction
    across = ((z - centre) * np.conj(normal)).real
    lines = np.arange(np.floor(along.min()), np.ceil(along.max()) + 1.0)
    reference = centre + lines * direction
    order = np.argsort(along, kind="stable")
    displacement = np.interp(lines, along[order], across[order])
    return reference, np.full(lines.size, normal), displacement


def _sample(image: np.ndarray, valid: np.ndarray | None, reference: np.ndarray, normal: np.ndarray,
            offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples of ``image`` at reference + offset · normal, and where they are valid."""
    where = reference[:, None] + offsets[None, :] * normal[:, None]
    coords = np.stack([where.imag, where.real])
    values = ndimage.map_coordinates(image, coords, order=1, mode="nearest", prefilter=False)
    rows, cols = image.shape
    ok = (where.imag >= 0) & (where.imag <= rows - 1) & (where.real >= 0) & (where.real <= cols - 1)
    if valid is not None:
        ok &= ndimage.map_coordinates(valid.astype(np.uint8), coords, order=0, mode="constant") > 0
    return values.astype(np.float32), ok


def _fill_invalid(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Replace each invalid sample by the nearest valid one on its line (lines keep their domains)."""
    if ok.all():
        return values
    cols = np.arange(values.shape[1])
    left = np.maximum.accumulate(np.where(ok, cols, -1), axis=1)
    right = np.minimum.accumulate(np.where(ok, cols, values.shape[1])[:, ::-1], axis=1)[:, ::-1]
    use_left = (left >= 0) & ((right >= values.shape[1]) | (cols - left <= right - cols))
    index = np.where(use_left, left, np.minimum(right, values.shape[1] - 1))
    return np.take_along_axis(values, np.clip(index, 0, values.shape[1] - 1), axis=1)


def _longest_run(flags: np.ndarray) -> slice:
    """The longest run of True in a 1-D boolean array (empty slice when there is none)."""
    best, start, best_slice = 0, None, slice(0, 0)
    for index, flag in enumerate(np.append(flags, False)):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if index - start > best:
                best, best_slice = index - start, slice(start, index)
            start = None
    return best_slice


def straighten(image: np.ndarray, points: np.ndarray, closed: bool,
               valid: np.ndarray | None = None) -> Strip:
    """The canonical strip of the wall traced by ``points`` ((N, 2) row, col; image pixels).

    Parameters
    ----------
    image : ndarray
        The frame (2-D float), sampled bilinearly: the strip keeps the camera's noise and blur,
        which the models were trained to read, instead of a denoised picture.
    points : ndarray
        The wall's contour; for a closed wall the last point may repeat the first.
    closed : bool
        Periodic strip about an ellipse (bubble) or straight strip along the mean direction.
    valid : ndarray of bool, optional
        Pixels that may be read (False on banners, outside the field); invalid samples are replaced
        by the nearest valid one on the same line, and an open wall's strip is cut to its longest
        run of lines with at most ``MAX_INVALID_SHARE`` invalid samples.
    """
    image = np.asarray(image, dtype=np.float32)
    reference, normal, displacement = (_closed_frame if closed else _open_frame)(np.asarray(points, float))
    half = int(np.ceil(np.max(np.abs(displacement)) + STRIP_MARGIN))
    half = min(half, MAX_STRIP_WIDTH // 2)
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    values, ok = _sample(image, valid, reference, normal, offsets)
    keep = slice(0, values.shape[0])
    if not closed:
        keep = _longest_run(ok.mean(axis=1) >= 1.0 - MAX_INVALID_SHARE)
    values = _fill_invalid(values[keep], ok[keep])
    centre = reference[keep] + np.clip(displacement[keep], -half, half) * normal[keep]
    return Strip(np.ascontiguousarray(values), closed, centre.imag.astype(np.float32),
                 centre.real.astype(np.float32))
