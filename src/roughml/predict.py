"""``roughml predict``: ζ of every image in a folder with a registered model.

Why this shape: the model is loaded once (MLflow start-up and graph tracing dominate small jobs),
images are decoded and predicted in chunks so memory stays bounded for folders of any size
(``roughml.imageio.read_pages`` also down-samples huge images), and every file yields exactly one
row per page, with ``status='error'`` and a reason for files that cannot be measured, so one
corrupt image never hides the results of the others.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from roughml.errors import RoughmlError, TrackingError

#: Default number of images decoded and predicted together.
DEFAULT_BATCH_SIZE = 64


def load_model(model_uri: str):
    """Load the roughml pyfunc at ``model_uri`` and return the inner ``RoughnessPyfunc``.

    Raises
    ------
    TrackingError
        When the URI cannot be loaded or does not hold a roughml model.
    """
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    from roughml.pyfunc_model import unwrap

    try:
        loaded = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        text = (getattr(exc, "message", None) or str(exc)).strip().splitlines()
        raise TrackingError(f"cannot load model {model_uri}: {text[0] if text else type(exc).__name__}") from None
    return unwrap(loaded)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _cell(value: Any) -> Any:
    """NaN floats become None so that CSV/JSON output leaves the cell empty."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def to_row(record: dict[str, Any]):
    """A ``roughml.batch.Row`` from a pyfunc record."""
    from roughml.batch import COLUMNS, Row

    values = {col: _cell(record.get(col)) for col in COLUMNS}
    if values.get("orientation") == "":
        values["orientation"] = None
    return Row(**values)


def list_inputs(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Image files of ``folder`` (or ``folder`` itself when it is a file).

    Raises
    ------
    RoughmlError
        When the folder does not exist.
    """
    from roughml.batch import find_inputs

    path = Path(folder)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RoughmlError(f"{folder}: no such folder")
    return list(find_inputs(path, recursive))


def predict_paths(paths: Iterable[str | os.PathLike], model, *, all_pages: bool = False,
                  progress: Callable[[int], None] | None = None,
                  batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator:
    """Yield one Row per image (per page with ``all_pages``) in input order, chunk by chunk.

    ``model`` is a loaded ``RoughnessPyfunc`` (see :func:`load_model`). ``progress`` is called with
    the number of rows finished after each chunk.
    """
    from roughml.batch import iter_images

    model.batch_size = int(batch_size)
    for chunk in _chunks(iter_images([Path(p) for p in paths], all_pages), max(1, int(batch_size))):
        for record in model.predict_items(chunk):
            yield to_row(record)
        if progress is not None:
            progress(len(chunk))


def predict_folder(folder: str | os.PathLike, model_uri: str, *, recursive: bool = False,
                   all_pages: bool = False, progress: Callable[[int], None] | None = None,
                   batch_size: int = DEFAULT_BATCH_SIZE, classical: bool = True) -> list:
    """Predict ζ for every image file of ``folder`` with the model at ``model_uri``.

    Parameters
    ----------
    folder : path
        Folder to scan (``recursive`` for sub-folders) or a single image file.
    model_uri : str
        Any MLflow model URI of a roughml pyfunc, typically from
        :func:`roughml.registry.resolve_model_uri`.
    all_pages : bool
        One row per page of multi-page TIFFs instead of the first page only.
    progress : callable, optional
        Called with the number of rows finished after each chunk (for a progress bar).
    batch_size : int
        Images decoded and predicted together; bounds memory.
    classical : bool
        Also compute ``zeta_classical`` (Whittle fit); False leaves it empty and is much faster.

    Returns
    -------
    list of roughml.batch.Row
        Columns ``roughml.batch.COLUMNS``; ``status`` is ``ok`` or ``error`` with a ``message``.

    Raises
    ------
    RoughmlError
        Folder missing. TrackingError: model cannot be loaded.
    """
    paths = list_inputs(folder, recursive)
    model = load_model(model_uri)
    model.classical = bool(classical)
    return list(predict_paths(paths, model, all_pages=all_pages, progress=progress, batch_size=batch_size))
