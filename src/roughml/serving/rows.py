"""Result rows: the output columns, error rows, and the CSV / JSON tables written from them.

Why one module: ``roughml estimate`` (classical), ``roughml predict`` (a model) and the MLflow
pyfunc all report one row per image (or page) with the same columns, and the table a user opens
must not depend on which estimator filled it. A folder of real data always holds some bad files;
each gets its own error row with a readable reason, so one broken file neither stops the run nor
hides which files were measured.

Two forms of the same row exist on purpose: the pyfunc's *record* (a dict whose missing numbers
are NaN and missing orientation is ``''``, so that its DataFrame keeps float columns) and the
:class:`Row` of the command line (missing values are None, which CSV and JSON show as empty).
:func:`record_row` turns the first into the second.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from roughml.core.formats import plain
from roughml.core.storage import atomic_open

if TYPE_CHECKING:  # rich is imported when a table is made: worker processes import this module
    from rich.table import Table

#: Output columns, in order: of the CSV / JSON tables and of the pyfunc's DataFrame alike.
COLUMNS = ("path", "wall", "kind", "zeta", "zeta_std", "zeta_classical", "length_px", "x", "y",
           "orientation", "width", "height", "warning", "status", "message")
#: Record key of the wall profile h(x) (float32, px) that ``zeta_classical`` was fitted on; absent
#: when the classical fit was not run or failed. Not an output column: it is carried on
#: :attr:`Row.profile` to the ensemble report (:mod:`roughml.serving.report`) only.
PROFILE_KEY = "profile"
#: Record key of the wall's line in the input image, (N, 2) float32 (row, column): drawn in the
#: ``--overlays`` pictures. Not an output column.
CONTOUR_KEY = "contour"
#: Record key of the classical fit's standard error (``roughml estimate`` reports it as
#: ``zeta_std``). Not an output column.
CLASSICAL_STD_KEY = "zeta_classical_std"


class WallProfile:
    """A wall profile h(x) as carried in a record: an array that compares by value.

    Why a wrapper: records are plain dicts that callers (and tests) compare with ``==``; a bare
    NumPy array in one would make that comparison raise. ``np.asarray(profile)`` gives the array.
    """

    __slots__ = ("heights",)
    __hash__ = None  # type: ignore[assignment]  # mutable contents, like the array itself

    def __init__(self, heights: np.ndarray) -> None:
        self.heights = np.asarray(heights)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WallProfile) and np.array_equal(self.heights, other.heights)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.heights if dtype is None else self.heights.astype(dtype, copy=False)

    def __len__(self) -> int:
        return int(self.heights.size)

    def __getstate__(self) -> np.ndarray:  # pickled between worker processes
        return self.heights

    def __setstate__(self, heights: np.ndarray) -> None:
        self.heights = heights


@dataclass
class Row:
    """One output row: one wall of one image (or page). Numbers are None on error rows.

    ``wall`` numbers the walls of one image (1, 2, … longest first), ``kind`` is ``open`` (crossing
    the field, or a domain cut by the border) or ``closed`` (a domain wholly inside), ``length_px``
    the wall's length along its line, ``x``/``y`` its centroid in the input image's pixels
    (x = column, y = row). ``warning`` is '' unless the value deserves a second look (the reasons,
    joined by '; ': :mod:`roughml.serving.warnings`). ``message`` is '' when ok. ``profile`` (the extracted wall h(s) behind
    ``zeta_classical``) and ``contour`` (the wall's line in the image) are not output columns and
    take no part in comparisons.
    """

    path: str
    wall: int | None = None
    kind: str | None = None
    zeta: float | None = None
    zeta_std: float | None = None
    zeta_classical: float | None = None
    length_px: float | None = None
    x: float | None = None
    y: float | None = None
    orientation: str | None = None
    width: int | None = None
    height: int | None = None
    warning: str = ""
    status: str = "ok"
    message: str = ""
    profile: np.ndarray | None = field(default=None, repr=False, compare=False)
    contour: np.ndarray | None = field(default=None, repr=False, compare=False)


def _size(shape: tuple[int, ...] | None) -> tuple[int | None, int | None]:
    if shape is not None and len(shape) >= 2:
        return int(shape[0]), int(shape[1])
    return None, None


def wall_fields(wall: int | None = None, kind: str = "", length_px: float = math.nan,
                x: float = math.nan, y: float = math.nan) -> dict[str, Any]:
    """The per-wall fields of a record (NaN / '' / None when unknown)."""
    return {"wall": wall, "kind": kind, "length_px": float(length_px), "x": float(x), "y": float(y)}


def error_record(label: str, message: str, shape: tuple[int, ...] | None = None,
                 **wall: Any) -> dict[str, Any]:
    """The record of an image (or of one of its walls, given ``wall`` fields) that cannot be measured.

    The one place error rows are built (:func:`error_row` converts this record), so that every
    command reports a failure with the same fields; the image size is kept when it could be decoded.
    """
    return _record(label, shape, "", "error", message, wall_fields(**wall))


def measured_record(label: str, shape: tuple[int, ...], orientation: str, **wall: Any) -> dict[str, Any]:
    """The record of a wall about to be measured: ``zeta``/``zeta_std`` NaN until the network fills them."""
    return _record(label, shape, orientation, "ok", "", wall_fields(**wall))


def _record(label: str, shape: tuple[int, ...] | None, orientation: str, status: str, message: str,
            wall: dict[str, Any]) -> dict[str, Any]:
    """A record with every column, in ``COLUMNS`` order."""
    height, width = _size(shape)
    values = {"path": label, **wall, "zeta": math.nan, "zeta_std": math.nan, "zeta_classical": math.nan,
              "orientation": orientation, "width": width, "height": height, "warning": "",
              "status": status, "message": message}
    return {column: values[column] for column in COLUMNS}


def record_row(record: dict[str, Any]) -> Row:
    """The :class:`Row` of a pyfunc record: NaN and ±inf become None, an empty orientation None,
    a missing warning ''."""
    values = {column: plain(record.get(column)) for column in COLUMNS}
    values["warning"] = values["warning"] or ""
    for key in ("orientation", "kind"):
        if values[key] == "":
            values[key] = None
    profile, contour = record.get(PROFILE_KEY), record.get(CONTOUR_KEY)
    return Row(**values, profile=None if profile is None else np.asarray(profile),
               contour=None if contour is None else np.asarray(contour))


def error_row(label: str, message: str, gray: np.ndarray | None = None) -> Row:
    """An error :class:`Row`, with the image size when the image itself could be read."""
    return record_row(error_record(label, message, None if gray is None else gray.shape))


def rows_as_dicts(rows: Iterable[Row]) -> list[dict]:
    """Rows as plain dicts with keys in ``COLUMNS`` order (NaN and NumPy scalars made plain)."""
    return [{key: plain(getattr(row, key)) for key in COLUMNS} for row in rows]


def write_rows(rows: Iterable[Row], path: str | os.PathLike) -> None:
    """Write rows atomically: JSON (list of objects) if ``path`` ends in .json, else CSV.

    Atomic so that an interrupted run never leaves a half-written results file, and an existing
    file stays untouched when writing fails. Missing values are ``null`` in JSON and empty CSV
    cells, which is how spreadsheets show a missing number.
    """
    records = rows_as_dicts(rows)
    target = Path(path)
    if target.suffix.lower() == ".json":
        with atomic_open(target, "w", encoding="utf-8") as handle:
            json.dump(records, handle, indent=2, ensure_ascii=False, allow_nan=False)
            handle.write("\n")
        return
    with atomic_open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        for record in records:
            writer.writerow({k: ("" if v is None else v) for k, v in record.items()})


def exit_code(rows: Iterable[Row]) -> int:
    """0 if every image (or page) has at least one measured wall, 1 otherwise.

    A frame whose walls were measured but which also showed a wall too short to measure (an
    error row of its own) is a success: the short wall is information, not a failure of the run.
    """
    measured: dict[str, bool] = {}
    for row in rows:
        measured[row.path] = measured.get(row.path, False) or row.status == "ok"
    return 0 if all(measured.values()) else 1


def summary_table(rows: Iterable[Row]) -> "Table":
    """A small rich table: counts of ok and error rows and of rows with a warning, mean ζ ± sd over
    the ok rows (the warnings themselves are in the table written, column ``warning``)."""
    from rich.table import Table

    rows = list(rows)
    ok = [row.zeta for row in rows if row.status == "ok" and row.zeta is not None]
    errors = sum(1 for row in rows if row.status != "ok")
    warned = sum(1 for row in rows if row.warning)
    table = Table(title="roughness exponent")
    table.add_column("images", justify="right")
    table.add_column("ok", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("mean ζ ± sd", justify="right")
    table.add_column("warnings", justify="right")
    if ok:
        values = np.asarray(ok, dtype=np.float64)
        spread = float(values.std(ddof=1)) if values.size > 1 else 0.0
        zeta_text = f"{values.mean():.3f} ± {spread:.3f}"
    else:
        zeta_text = "–"
    table.add_row(str(len(rows)), str(len(ok)), str(errors), zeta_text, str(warned))
    return table
