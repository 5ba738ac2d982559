"""Per-image work before the network: decode, find the walls, canonicalise, classical fit, records.

Why a module of its own: this is the part of a prediction that is plain NumPy/SciPy code holding
the GIL, so ``roughml predict`` runs it in worker processes (:mod:`roughml.serving.stream`) while
the main process loads the model and runs the network; the pyfunc
(:mod:`roughml.serving.pyfunc`) runs the very same functions in-process, so both give the same
numbers. Nothing here imports MLflow or TensorFlow, and the imaging stack is imported on first use,
so that the workers can be started before the model is loaded.

An image is either a *single-wall crop* (one open wall crossing it, nothing drawn on it: the
canonical path of :mod:`roughml.imaging.canonical`, unchanged) or a *frame* (a closed wall, several
walls, or an instrument banner: every wall found by :mod:`roughml.imaging.frames` is straightened
by :mod:`roughml.imaging.straighten`); either way one record per wall.

Nothing here raises for a bad image: every failure becomes an error record with a reason
(:func:`roughml.serving.rows.error_record`), so one pathological file never stops a batch.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from roughml.core.errors import NoInterfaceError, RoughmlError
from roughml.serving.inputs import read_items
from roughml.serving.rows import (CLASSICAL_STD_KEY, CONTOUR_KEY, PROFILE_KEY, WallProfile, error_record,
                                  measured_record)

#: What the per-image work returns: the output record (``zeta``/``zeta_std`` still NaN, filled
#: by the network) and the canonical model input (float32), or None for an error record.
Prepared = tuple[dict[str, Any], "np.ndarray | None"]


#: The orientation column of walls found in frames: how the wall was straightened.
FRAME_ORIENTATION = {"closed": "closed/unwrapped", "open": "open/straightened"}


def _classical_fit(canonical: np.ndarray, periodic: bool = False) -> tuple[float, float, np.ndarray | None]:
    """Classical Whittle (ζ, σ) of a canonical view and the wall profile h it was fitted on.

    The steps of :func:`roughml.imaging.classical.estimate_image`, spelt out so that the profile
    (the costly part) is kept for the ensemble report (:mod:`roughml.serving.report`) instead of
    being extracted twice. ``periodic`` for a closed wall's strip. (NaN, NaN, None) when it fails:
    the row stays ok.
    """
    try:
        from roughml.imaging import detection
        from roughml.physics.spectral import estimate_profile

        h = detection.extract_profile(canonical)
        noise = "quantisation" if detection.is_two_level(canonical) else "free"
        zeta, zeta_std, _ = estimate_profile(h, noise, periodic=periodic)
        return float(zeta), float(zeta_std), h.astype(np.float32)
    except Exception:  # noqa: BLE001 - the classical value is a comparison, never a reason to fail
        return math.nan, math.nan, None


def _attach_classical(record: dict[str, Any], fit: tuple[float, float, np.ndarray | None]) -> None:
    record["zeta_classical"], record[CLASSICAL_STD_KEY] = fit[0], fit[1]
    if fit[2] is not None:
        record[PROFILE_KEY] = WallProfile(fit[2])  # not an output column: for the ensemble report only


def _crop_centroid(canonical: np.ndarray, found, profile: np.ndarray | None) -> tuple[float, float]:
    """(x, y) of a crop's wall in image pixels: the mean of its profile (or of the dark area per row)."""
    from roughml.imaging.canonical import stretch_contrast
    from roughml.physics.geometry import image_coordinates

    if profile is not None:
        column = float(np.mean(profile))
    else:
        column = float(np.sum(1.0 - stretch_contrast(canonical).mean(axis=0)))
    row, col = image_coordinates(np.array([(canonical.shape[0] - 1) / 2.0]), np.array([column]),
                                 canonical.shape[1], found.orientation, found.bright_side)
    return float(col[0]), float(row[0])


def _crop_contour(canonical: np.ndarray, found, profile: np.ndarray | None) -> np.ndarray | None:
    """The wall line of a crop in image (row, column) pixels, for the overlay pictures."""
    from roughml.physics.geometry import image_coordinates

    if profile is None:
        return None
    rows, cols = image_coordinates(np.arange(profile.size, dtype=np.float64), np.asarray(profile, float),
                                   canonical.shape[1], found.orientation, found.bright_side)
    return np.column_stack([rows, cols]).astype(np.float32)


def _crop_item(label: str, gray: np.ndarray, classical: bool, found=None) -> Prepared:
    """The record of a single-wall crop: the wall detected once, shared by model and classical fit.

    ``found`` is the wall's orientation when the frame check already detected it.
    """
    from roughml.imaging import detection
    from roughml.imaging.canonical import prepare

    try:
        found = found or detection.detect_orientation(gray)
        prepared = prepare(gray, found.orientation, found.bright_side)
    except RoughmlError as exc:
        return error_record(label, str(exc), gray.shape), None
    except Exception as exc:  # noqa: BLE001 - a pathological image must not stop the batch
        return error_record(label, f"preprocessing failed: {exc}", gray.shape), None
    canonical = np.asarray(detection.canonicalize(gray, found))
    fit = _classical_fit(canonical) if classical else (math.nan, math.nan, None)
    x, y = _crop_centroid(canonical, found, fit[2])
    record = measured_record(label, gray.shape, f"{prepared.orientation}/{prepared.bright_side}", wall=1,
                             kind="open", length_px=float(canonical.shape[0]), x=x, y=y)
    _attach_classical(record, fit)
    contour = _crop_contour(canonical, found, fit[2])
    if contour is not None:
        record[CONTOUR_KEY] = WallProfile(contour)
    return record, prepared.image


def _traced_fields(wall, number: int) -> dict[str, Any]:
    """The per-wall fields of a wall found in a frame (see :func:`roughml.serving.rows.wall_fields`)."""
    return dict(wall=number, kind=wall.kind, length_px=round(wall.length_px, 1), x=wall.x, y=wall.y)


def _wall_item(label: str, gray: np.ndarray, wall, number: int, valid: np.ndarray,
               classical: bool) -> Prepared:
    """The record and model input of one wall of a frame (its straightened, canonical strip)."""
    from roughml.imaging.canonical import MIN_LENGTH, stretch_contrast, wall_band
    from roughml.imaging.straighten import straighten

    fields = _traced_fields(wall, number)
    try:
        strip = straighten(gray, wall.points, wall.kind == "closed", valid).image
        if strip.shape[0] < MIN_LENGTH:
            raise NoInterfaceError(f"wall too short inside the field: {strip.shape[0]} px after "
                                   f"straightening, at least {MIN_LENGTH} px needed")
        third = max(1, strip.shape[1] // 3)
        canonical = strip if strip[:, :third].mean() <= strip[:, -third:].mean() else strip[:, ::-1]
        image = stretch_contrast(canonical)
        image = np.ascontiguousarray(image[:, wall_band(image)])
    except RoughmlError as exc:
        return error_record(label, str(exc), gray.shape, **fields), None
    except Exception as exc:  # noqa: BLE001 - one odd wall must not cost the frame's other walls
        return error_record(label, f"straightening failed: {exc}", gray.shape, **fields), None
    record = measured_record(label, gray.shape, FRAME_ORIENTATION[wall.kind], **fields)
    if classical:
        _attach_classical(record, _classical_fit(canonical, periodic=wall.kind == "closed"))
    record[CONTOUR_KEY] = WallProfile(wall.points.astype(np.float32))
    return record, image


def _no_wall_reason(found) -> str:
    """Why a frame gave no wall, naming what was ignored."""
    from roughml.imaging.frames import MIN_WALL_PX

    ignored = [f"instrument banner ({side}, {size} px)" for side, size in found.banners]
    if found.graphics:
        ignored.append("drawn graphics")
    tail = f"; ignored: {', '.join(ignored)}" if ignored else ""
    if found.step == 0.0:
        return f"no wall found: no domain stands out of the noise{tail}"
    return f"no wall found: no wall of at least {MIN_WALL_PX} px{tail}"


def _frame_items(label: str, gray: np.ndarray, found, classical: bool) -> list[Prepared]:
    """One record per wall of a frame, then one error row per wall too short to measure."""
    from roughml.imaging.frames import MIN_WALL_PX

    valid = ~found.ignored
    items = [_wall_item(label, gray, wall, number, valid, classical)
             for number, wall in enumerate(found.walls, start=1)]
    for number, wall in enumerate(found.short, start=len(items) + 1):
        fields = _traced_fields(wall, number)
        reason = f"wall too short: {int(wall.length_px)} px, at least {MIN_WALL_PX} px needed"
        record = error_record(label, reason, gray.shape, **fields)
        record[CONTOUR_KEY] = WallProfile(wall.points.astype(np.float32))  # drawn in the overlays
        items.append((record, None))
    return items or [(error_record(label, _no_wall_reason(found), gray.shape), None)]


def find_frame_walls(gray: np.ndarray):
    """``(walls, None)`` when ``gray`` is a frame (see the module docstring), else ``(None, crossing)``.

    ``crossing`` is the single wall's :class:`~roughml.imaging.detection.Orientation` when it was
    already detected to tell a misread crop from a frame (the crop path then reuses it), else None.
    Also ``(None, None)`` when the frame analysis itself fails: the crop path gives its own reason.
    """
    from roughml.imaging.frames import find_walls

    try:
        found = find_walls(gray)
    except Exception:  # noqa: BLE001 - the crop path still gets its chance, with its own reason
        return None, None
    if not found.is_frame:
        return None, None
    crossing = _one_crossing_wall(gray, found)
    return (found, None) if crossing is None else (None, crossing)


def _one_crossing_wall(gray: np.ndarray, found):
    """The wall's orientation when an image the frame finder reads as a frame is a single-wall crop after all.

    Why: in a noisy crop (islands, dust, hot pixels, a wall that nearly touches the border) the
    finder can cut one wall into open pieces, close a loop through the noise, or take clipped
    highlights for graphics; measuring those pieces gave ζ off by up to 0.5 on an independent
    renderer's crops. A crop is what the line-by-line detection sees as one step crossed by most
    lines. A genuine frame fails that test: each line across a bubble or across two walls rises
    *and* falls. Only an instrument banner overrules it, since a banner's edge is exactly such a
    step (the measured banner of a real Kerr frame). None when it is a frame.
    """
    from roughml.imaging.detection import detect_orientation

    if found.banners:
        return None
    try:
        return detect_orientation(gray)
    except RoughmlError:
        return None


def prepare_item(label: str, gray: np.ndarray | None, error: str | None, classical: bool) -> list[Prepared]:
    """Records and model inputs of one decoded image, one per wall; never raises.

    Parameters
    ----------
    label : str
        The rows' ``path`` (file path, ``path[page]``, ``image[i]``).
    gray : ndarray or None
        Decoded 2-D image; None when it could not be read, with the reason in ``error``.
    error : str or None
        Why the image could not be read (used when ``gray`` is None).
    classical : bool
        Also fill ``zeta_classical`` with the Whittle estimate (NaN otherwise), and keep the wall
        profile it was fitted on under :data:`roughml.serving.rows.PROFILE_KEY`.

    Returns
    -------
    list of Prepared
        At least one: an image without a measurable wall keeps one error record with the reason.
    """
    if gray is None:
        return [(error_record(label, error or "image could not be read"), None)]
    gray = np.asarray(gray)
    if gray.ndim == 2:
        unit = gray.astype(np.float32) / np.float32(255.0) if gray.dtype == np.uint8 else gray
        walls, crossing = find_frame_walls(unit)
        if walls is not None:
            return _frame_items(label, unit, walls, classical)
        return [_crop_item(label, gray, classical, crossing)]
    return [_crop_item(label, gray, classical)]


def prepare_file(path: str | os.PathLike, all_pages: bool = False, classical: bool = True) -> list[Prepared]:
    """:func:`prepare_item` for every page read from ``path`` (the first only, unless ``all_pages``).

    The unit of work of a worker process: one file in, its prepared walls out, never an exception.
    """
    return [prepared for label, gray, error in read_items(path, all_pages)
            for prepared in prepare_item(label, gray, error, classical)]
