"""``roughml estimate``: the classical (Whittle) ζ of every wall of every image in a folder.

Why beside the model's predictions: the classical estimate needs no trained model, no MLflow and
no TensorFlow, so it runs anywhere and serves as the reference the model is compared with. It
takes the same inputs as ``roughml predict`` (:func:`roughml.serving.inputs.list_inputs`) and
writes the same rows (:mod:`roughml.serving.rows`); ``zeta`` and ``zeta_classical`` are both the
Whittle value. Its ``warning`` column flags only walls outside the trained lengths
(:func:`roughml.serving.warnings.classical_warning`): the other reasons judge a model.
"""

from __future__ import annotations

import math
import os
from typing import Callable, Iterable

import numpy as np

from roughml.serving.inputs import list_inputs, read_items
from roughml.serving.rows import CLASSICAL_STD_KEY, Row, error_row, record_row
from roughml.serving.warnings import classical_warning


def classical_rows(label: str, gray: np.ndarray) -> list[Row]:
    """Rows of the classical (Whittle) estimate of one image, one per wall; errors become error rows.

    The walls are found exactly as for ``roughml predict`` (:func:`roughml.serving.preparation.prepare_item`:
    a single-wall crop, or every wall of a frame), so both commands measure the same walls.
    """
    from roughml.serving.preparation import prepare_item

    rows = []
    for record, _ in prepare_item(label, gray, None, classical=True):
        if record["status"] == "ok" and not math.isfinite(record["zeta_classical"]):
            record.update(status="error", message="wall has no measurable roughness (flat profile)",
                          orientation="")
        elif record["status"] == "ok":
            record.update(zeta=record["zeta_classical"], zeta_std=record.get(CLASSICAL_STD_KEY, math.nan))
        record["warning"] = classical_warning(record)
        rows.append(record_row(record))
    return rows


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
            rows.extend([error_row(label, message)] if gray is None else classical_rows(label, gray))
        if progress is not None:
            progress(1)
    return rows
