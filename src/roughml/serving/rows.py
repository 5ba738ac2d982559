"""Run an estimator over a folder of images and report one row per image (or page).

Why: ``roughml estimate`` (classical) and ``roughml predict`` (models) share the folder walk,
the per-file error handling and the output formats. A folder of real data always holds some
bad files; each gets its own error row with a readable reason, so one broken file neither stops
the run nor hides which files were measured.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
from rich.table import Table

from roughml.core.errors import RoughmlError
from roughml.imaging.reader import read_pages
from roughml.core.storage import atomic_open

COLUMNS = ("path", "zeta", "zeta_std", "zeta_classical", "orientation", "width", "height", "status",
           "message")


@dataclass
class Row:
    """One output row. Numbers are None on error rows; ``message`` is '' when ok."""

    path: str
    zeta: float | None = None
    zeta_std: float | None = None
    zeta_classical: float | None = None
    orientation: str | None = None
    width: int | None = None
    height: int | None = None
    status: str = "ok"
    message: str = ""


def find_inputs(folder: str | os.PathLike, recursive: bool = False,
                exclude: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Every regular, non-hidden file in ``folder`` (sorted), whatever its suffix.

    Non-image files are kept on purpose: a stray ``notes.txt`` gets its own error row instead of
    silently vanishing. Hidden files and folders (dot names) are skipped, and so are the files in
    ``exclude`` (the run's own output table, so that a second run over the same folder does not
    report last run's results.csv as an unreadable image).

    Raises
    ------
    RoughmlError
        If ``folder`` does not exist or is not a directory.
    """
    root = Path(folder)
    if not root.exists():
        raise RoughmlError(f"{root}: folder not found")
    if not root.is_dir():
        raise RoughmlError(f"{root}: not a folder")
    excluded = {Path(p).resolve() for p in exclude}
    candidates = root.rglob("*") if recursive else root.iterdir()
    found = []
    for path in candidates:
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if excluded and path.resolve() in excluded:
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: str(p))


def iter_images(paths: Iterable[str | os.PathLike], all_pages: bool = False,
                max_side: int = 4096) -> Iterator[tuple[str, np.ndarray | None, str]]:
    """Yield ``(label, gray, message)`` per file, or per page with ``all_pages``.

    ``gray`` is None and ``message`` the reason when a file cannot be read; the label is the
    path (``path[page]`` for pages of a multi-page file).
    """
    for path in paths:
        label = str(path)
        try:
            pages = read_pages(path, all_pages=all_pages, max_side=max_side)
        except RoughmlError as exc:
            yield label, None, str(exc)
            continue
        if len(pages) == 1:
            yield label, pages[0], ""
        else:
            for index, page in enumerate(pages):
                yield f"{label}[{index}]", page, ""


def error_row(label: str, message: str, gray: np.ndarray | None = None) -> Row:
    """An error row, with the image size when the image itself could be read."""
    height, width = (gray.shape if gray is not None else (None, None))
    return Row(path=label, width=width, height=height, status="error", message=message)


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
    """Classical estimate of every image in ``folder``: one :class:`Row` per file or page.

    ``progress`` (optional) is called with 1 after each file, to drive a progress bar; ``exclude``
    as in :func:`find_inputs`.
    """
    rows = []
    for path in find_inputs(folder, recursive, exclude):
        for label, gray, message in iter_images([path], all_pages=all_pages):
            rows.append(error_row(label, message) if gray is None else classical_row(label, gray))
        if progress is not None:
            progress(1)
    return rows


def _plain(value):
    """JSON/CSV-friendly value: numpy scalars to Python, non-finite floats to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def rows_as_dicts(rows: Iterable[Row]) -> list[dict]:
    """Rows as plain dicts with keys in ``COLUMNS`` order."""
    return [{key: _plain(asdict(row)[key]) for key in COLUMNS} for row in rows]


def write_rows(rows: Iterable[Row], path: str | os.PathLike) -> None:
    """Write rows atomically: JSON (list of objects) if ``path`` ends in .json, else CSV.

    Atomic so that an interrupted run never leaves a half-written results file, and an existing
    file stays untouched when writing fails.
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
    """0 if every row is ok, 1 if any row is an error."""
    return 0 if all(row.status == "ok" for row in rows) else 1


def summary_table(rows: Iterable[Row]) -> Table:
    """A small rich table: counts of ok and error rows, mean ζ ± sd over the ok rows."""
    rows = list(rows)
    ok = [row.zeta for row in rows if row.status == "ok" and row.zeta is not None]
    errors = sum(1 for row in rows if row.status != "ok")
    table = Table(title="roughness exponent")
    table.add_column("images", justify="right")
    table.add_column("ok", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("mean ζ ± sd", justify="right")
    if ok:
        values = np.asarray(ok, dtype=np.float64)
        spread = float(values.std(ddof=1)) if values.size > 1 else 0.0
        zeta_text = f"{values.mean():.3f} ± {spread:.3f}"
    else:
        zeta_text = "–"
    table.add_row(str(len(rows)), str(len(ok)), str(errors), zeta_text)
    return table
