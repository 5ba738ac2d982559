"""``roughml predict``: ζ of every image in a folder with a registered model, one row per image.

Why this shape: the model is loaded once (MLflow start-up and graph tracing dominate small jobs),
and the per-image work runs in worker processes (:class:`roughml.serving.stream.PreparedStream`)
that start *before* the model is loaded; the main process only stacks images of one shape and runs
the network (:meth:`roughml.serving.pyfunc.RoughnessPyfunc.infer_prepared`). Results come back in
input order, and every file yields exactly one row per page, with ``status='error'`` and a reason
for files that cannot be measured, so one corrupt image never hides the results of the others.

MLflow and TensorFlow are imported only when the model is loaded (:func:`load_model`), after the
workers have been forked: their start-up then overlaps the workers' first files.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator

from roughml.core.errors import TrackingError
from roughml.serving.batching import DEFAULT_BATCH_SIZE, chunks
from roughml.serving.inputs import list_inputs
from roughml.serving.preparation import Prepared
from roughml.serving.rows import Row, record_row
from roughml.serving.stream import PreparedStream


def load_model(model_uri: str):
    """Load the roughml pyfunc at ``model_uri`` and return the inner ``RoughnessPyfunc``.

    Raises
    ------
    TrackingError
        When the URI cannot be loaded or does not hold a roughml model.
    """
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    from roughml.serving.pyfunc import unwrap
    from roughml.serving.tracking import first_line

    try:
        loaded = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise TrackingError(f"cannot load model {model_uri}: {first_line(exc)}") from None
    return unwrap(loaded)


def _rows(stream: Iterable[Prepared], model, progress: Callable[[int], None] | None,
          batch_size: int) -> Iterator[Row]:
    """Rows of the prepared stream, ``batch_size`` records per call of the network."""
    for chunk in chunks(stream, max(1, int(batch_size))):
        for record in model.infer_prepared(chunk):
            yield record_row(record)
        if progress is not None:
            progress(len(chunk))


def predict_paths(paths: Iterable[str | os.PathLike], model, *, all_pages: bool = False,
                  progress: Callable[[int], None] | None = None,
                  batch_size: int = DEFAULT_BATCH_SIZE, workers: int | None = None) -> Iterator[Row]:
    """Yield one Row per image (per page with ``all_pages``) in input order, chunk by chunk.

    ``model`` is a loaded ``RoughnessPyfunc`` (see :func:`load_model`); its ``classical`` flag
    decides whether ``zeta_classical`` is computed. ``progress`` is called with the number of rows
    finished after each chunk of ``batch_size``. ``workers`` processes prepare the images
    (default: :func:`roughml.serving.stream.default_workers`; 0 = in this process).
    """
    model.batch_size = int(batch_size)
    with PreparedStream(paths, all_pages=all_pages, classical=model.classical, workers=workers) as stream:
        yield from _rows(stream, model, progress, batch_size)


def predict_folder(folder: str | os.PathLike, model_uri: str, *, recursive: bool = False,
                   all_pages: bool = False, progress: Callable[[int], None] | None = None,
                   batch_size: int = DEFAULT_BATCH_SIZE, classical: bool = True,
                   workers: int | None = None, exclude: Iterable[str | os.PathLike] = ()) -> list[Row]:
    """Predict ζ for every image file of ``folder`` with the model at ``model_uri``.

    Parameters
    ----------
    folder : path
        Folder to scan (``recursive`` for sub-folders) or a single image file.
    model_uri : str
        Any MLflow model URI of a roughml pyfunc, typically from
        :func:`roughml.serving.registry.resolve_model_uri`.
    all_pages : bool
        One row per page of multi-page TIFFs instead of the first page only.
    progress : callable, optional
        Called with the number of rows finished after each chunk (for a progress bar).
    batch_size : int
        Most images of one shape in a forward pass, and the images handed to the network (and
        reported to ``progress``) at a time; see :mod:`roughml.serving.batching`.
    classical : bool
        Also compute ``zeta_classical`` (Whittle fit); False leaves it empty and is faster.
    workers : int, optional
        Processes that decode and prepare images while the model loads and runs (default:
        :func:`roughml.serving.stream.default_workers`; 0 = everything in this process).
    exclude : iterable of paths
        Files of ``folder`` that are not inputs (the run's own output table).

    Returns
    -------
    list of roughml.serving.rows.Row
        Columns ``roughml.serving.rows.COLUMNS``; ``status`` is ``ok`` or ``error`` with a ``message``.

    Raises
    ------
    RoughmlError
        Folder missing. TrackingError: model cannot be loaded.
    """
    paths = list_inputs(folder, recursive, exclude)
    with PreparedStream(paths, all_pages=all_pages, classical=classical, workers=workers) as stream:
        model = load_model(model_uri)  # the workers are already busy with the first files
        model.classical = bool(classical)
        model.batch_size = int(batch_size)
        return list(_rows(stream, model, progress, batch_size))
