"""Write an ensemble report folder: ``summary.json``, ``index.html`` and ``walls.csv``, each atomically.

Why atomic files: a report is often rewritten over the previous one (the same folder, a new
batch); an interrupted run must leave the old file or the new one, never half of either. The page
is written last, so that a page on disk always matches the summary beside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from roughml.core.errors import RoughmlError
from roughml.core.formats import json_ready
from roughml.core.storage import atomic_write_text
from roughml.physics.ensemble import DEFAULT_MIN_SCALE_PX
from roughml.serving.report.figures import FIGURES
from roughml.serving.report.page import render_page
from roughml.serving.report.summary import N_BOOT, ReportData, build_report
from roughml.serving.rows import Row, write_rows

#: The files a report folder holds.
SUMMARY_FILE, PAGE_FILE, WALLS_FILE = "summary.json", "index.html", "walls.csv"
REPORT_FILES = (SUMMARY_FILE, PAGE_FILE, WALLS_FILE)


def report_files(folder: str | os.PathLike) -> list[Path]:
    """Paths of the report's files in ``folder`` (to keep them out of a run's inputs)."""
    return [Path(folder) / name for name in REPORT_FILES]


def write_report(rows: Sequence[Row], folder: str | os.PathLike, *, model: str,
                 min_scale_px: float = DEFAULT_MIN_SCALE_PX, max_scale_px: float | None = None,
                 n_boot: int = N_BOOT) -> ReportData:
    """Build the report of ``rows`` (see :func:`~roughml.serving.report.summary.build_report`) and
    write it to ``folder`` (created if missing).

    Raises
    ------
    RoughmlError
        When the folder cannot be created or written (the message names the path and the reason).
    """
    data = build_report(rows, model=model, min_scale_px=min_scale_px, max_scale_px=max_scale_px, n_boot=n_boot)
    folder = Path(folder)
    figures = [(name, caption, make(data)) for name, caption, make in FIGURES]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_rows(data.rows, folder / WALLS_FILE)
        atomic_write_text(folder / SUMMARY_FILE,
                          json.dumps(json_ready(data.summary), indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        atomic_write_text(folder / PAGE_FILE, render_page(data, figures))
    except OSError as exc:
        raise RoughmlError(f"{folder}: cannot write the report ({exc.strerror or exc})") from None
    return data
