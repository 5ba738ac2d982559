"""Plain-text and picture formats shared by every output: CSV text, PNG bytes, strict-JSON values.

Why one module: reports, training curves, galleries and prediction tables all write the same
formats, and copies of these few lines had started to differ (line terminators, NaN handling).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np


def plain(value: Any) -> Any:
    """A JSON/CSV-ready scalar: NumPy scalars become Python ones, NaN and ±inf become None.

    Strict JSON has no NaN, and an empty CSV cell is how spreadsheets show a missing number.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_ready(value: Any) -> Any:
    """``value`` with :func:`plain` applied inside every dict and list (for strict JSON files)."""
    if isinstance(value, Mapping):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return plain(value)


def csv_text(rows: Sequence[Mapping[str, Any]], fieldnames: Iterable[str] | None = None) -> str:
    """CSV text (``\\n`` line ends, header first) of ``rows``; columns from the first row by default.

    ``\\n`` rather than the csv module's ``\\r\\n``: the files are tracked by DVC and git, and the
    same content must give the same bytes on every platform.
    """
    names = list(fieldnames) if fieldnames is not None else list(rows[0])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def figure_png(fig, dpi: int = 100) -> bytes:
    """PNG bytes of a matplotlib figure, which is closed afterwards (figures hold memory until then)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (no display on servers and in CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
