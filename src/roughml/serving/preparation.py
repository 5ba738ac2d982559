"""Per-image work before the network: decode, detect the wall, canonicalise, classical fit, record.

Why a module of its own: this is the part of a prediction that is plain NumPy/SciPy code holding
the GIL, so ``roughml predict`` runs it in worker processes (:mod:`roughml.serving.stream`) while
the main process loads the model and runs the network; the pyfunc
(:mod:`roughml.serving.pyfunc`) runs the very same functions in-process, so both give the same
numbers. Nothing here imports MLflow or TensorFlow, and the imaging stack is imported on first use,
so that the workers can be started before the model is loaded.

Nothing here raises for a bad image: every failure becomes an error record with a reason
(:func:`roughml.serving.rows.error_record`), so one pathological file never stops a batch.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from roughml.core.errors import RoughmlError
from roughml.serving.inputs import read_items
from roughml.serving.rows import PROFILE_KEY, WallProfile, error_record

#: What the per-image work returns: the output record (``zeta``/``zeta_std`` still NaN, filled
#: by the network) and the canonical model input (float32), or None for an error record.
Prepared = tuple[dict[str, Any], "np.ndarray | None"]


def _classical(gray: np.ndarray, found) -> tuple[float, np.ndarray | None]:
    """Classical Whittle ζ of the same decoded image and the wall profile h(x) it was fitted on.

    The steps of :func:`roughml.imaging.classical.estimate_image`, spelt out so that the profile
    (the costly part) is kept for the ensemble report (:mod:`roughml.serving.report`) instead of
    being extracted twice. (NaN, None) when it fails: the row stays ok.
    """
    try:
        from roughml.imaging import detection
        from roughml.physics.spectral import estimate_profile

        canonical = np.asarray(detection.canonicalize(gray, found))
        h = detection.extract_profile(canonical)
        noise = "quantisation" if detection.is_two_level(canonical) else "free"
        return float(estimate_profile(h, noise)[0]), h.astype(np.float32)
    except Exception:  # noqa: BLE001 - the classical value is a comparison, never a reason to fail
        return math.nan, None


def prepare_item(label: str, gray: np.ndarray | None, error: str | None, classical: bool) -> Prepared:
    """Record and model input of one decoded image; never raises (failures become error records).

    The wall geometry is detected once and shared by the model input
    (``roughml.imaging.canonical.prepare``) and the classical estimate, which would otherwise
    detect it a second time.

    Parameters
    ----------
    label : str
        The row's ``path`` (file path, ``path[page]``, ``image[i]``).
    gray : ndarray or None
        Decoded 2-D image; None when it could not be read, with the reason in ``error``.
    error : str or None
        Why the image could not be read (used when ``gray`` is None).
    classical : bool
        Also fill ``zeta_classical`` with the Whittle estimate (NaN otherwise), and keep the wall
        profile it was fitted on under :data:`roughml.serving.rows.PROFILE_KEY`.
    """
    from roughml.imaging import detection
    from roughml.imaging.canonical import prepare

    if gray is None:
        return error_record(label, error or "image could not be read"), None
    gray = np.asarray(gray)
    try:
        found = detection.detect_orientation(gray)
        prepared = prepare(gray, found.orientation, found.bright_side)
    except RoughmlError as exc:
        return error_record(label, str(exc), gray.shape), None
    except Exception as exc:  # noqa: BLE001 - a pathological image must not stop the batch
        return error_record(label, f"preprocessing failed: {exc}", gray.shape), None
    zeta_classical, profile = _classical(gray, found) if classical else (math.nan, None)
    record = {"path": label, "zeta": math.nan, "zeta_std": math.nan, "zeta_classical": zeta_classical,
              "orientation": f"{prepared.orientation}/{prepared.bright_side}", "width": int(gray.shape[1]),
              "height": int(gray.shape[0]), "status": "ok", "message": ""}
    if profile is not None:
        record[PROFILE_KEY] = WallProfile(profile)  # not an output column: for the ensemble report only
    return record, prepared.image


def prepare_file(path: str | os.PathLike, all_pages: bool = False, classical: bool = True) -> list[Prepared]:
    """:func:`prepare_item` for every page read from ``path`` (the first only, unless ``all_pages``).

    The unit of work of a worker process: one file in, its prepared pages out, never an exception.
    """
    return [prepare_item(label, gray, error, classical) for label, gray, error in read_items(path, all_pages)]
