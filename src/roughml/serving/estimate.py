"""``roughml estimate``: the classical (Whittle) ζ of every image in a folder, one row per image.

Why beside the model's predictions: the classical estimate needs no trained model, no MLflow and
no TensorFlow, so it runs anywhere and serves as the reference the model is compared with. It
takes the same inputs as ``roughml predict`` (:func:`roughml.serving.inputs.list_inputs`) and
writes the same rows (:mod:`roughml.serving.rows`); ``zeta`` and ``zeta_classical`` are both the
Whittle value.
"""

from __future__ import annotations

import math
import os
from typing import Callable, Iterable

import numpy as np

from roughml.core.errors import RoughmlError
from roughml.serving.inputs import list_inputs, read_items
from roughml.serving.rows import Row, error_row


def classical_row(label: str, gray: np.ndarray) -> Row:
    """Row of the classical (Whittle) estimate of one image; errors become an error row."""
    from roughml.imaging.classical import estimate_image

    try:
        est = estimate_image(gray)
    except RoughmlError as exc:
        return error_row(label, str(exc), gray)
    if not math.isfinite(est.zeta):
        return error_row(label, "wall has no measurable roughness (flat profile)", gray)
    height, width = gray.shape
    return Row(path=label, zeta=est.zeta, zeta_std=est.zeta_std, zeta_classical=est.zeta,
               orientation=f"{est.orientation}/{est.bright_side}", width=int(width),
               height=int(height))


def estimate_folder(folder: str | os.PathLike, recursive: bool = False, all_pages: bool = False,
                    progress: Callable[[int], object] | None = None,
                    exclude: Iterable[str | os.PathLike] = ()) -> list[Row]:
    """Classical estimate of every image in ``folder`` (or of ``folder``, an image file).

    One :class:`roughml.serving.rows.Row` per file, or per page with ``all_pages``. ``progress``
    (optional) is called with 1 after each file, to drive a progress bar; ``recursive`` and
    ``exclude`` as in :func:`roughml.serving.inputs.list_inputs`.

    Raises
    ------
    RoughmlError
        If ``folder`` does not exist.
    """
    rows = []
    for path in list_inputs(folder, recursive, exclude):
        for label, gray, message in read_items(path, all_pages):
            rows.append(error_row(label, message) if gray is None else classical_row(label, gray))
        if progress is not None:
            progress(1)
    return rows
