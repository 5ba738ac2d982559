"""``roughml predict``: ζ of every image in a folder with a registered model.

Why this shape: the model is loaded once (MLflow start-up and graph tracing dominate small jobs);
decoding, geometry detection, canonicalisation and the classical Whittle fit — the per-image
work, all of it NumPy/SciPy code that holds the GIL — run in a small pool of worker processes
that start *before* the model is loaded, so the seconds of MLflow/TensorFlow start-up are not
lost; the main process only stacks images of one shape and runs the network. Results come back
in input order, the images waiting for the network are bounded in bytes (folders of any size and
huge scans alike; ``roughml.imaging.reader.read_pages`` also down-samples huge images), and every file
yields exactly one row per page, with ``status='error'`` and a reason for files that cannot be
measured, so one corrupt image never hides the results of the others.
"""

from __future__ import annotations

import math
import os
import queue
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from roughml.core.errors import RoughmlError, TrackingError

#: Default number of images grouped by shape for the network (and reported to ``progress`` at
#: once): large enough that most shapes fill whole forward passes.
DEFAULT_BATCH_SIZE = 256
#: Worker processes for the per-image work (the target machines have 2 cores).
DEFAULT_WORKERS = 2
#: Folders with fewer files are processed in-process: starting workers costs about a second.
MIN_FILES_FOR_WORKERS = 16
#: Prepared images (bytes) that may wait for the network; the workers pause above it.
BUFFER_BYTES = 256 * 2**20
#: Files handed to each worker beyond the one it is working on.
QUEUED_PER_WORKER = 2
#: Scheduling priority of the workers relative to the parent (Unix ``nice`` increment).
WORKER_NICENESS = 10

#: What the per-image work returns: the output record (``zeta``/``zeta_std`` still empty) and the
#: canonical model input (float32), or None for an error row.
Prepared = tuple[dict[str, Any], "np.ndarray | None"]

#: Modules the worker processes import once, before they are forked.
_WORKER_MODULES = ["roughml.serving.predict", "roughml.serving.rows", "roughml.imaging.reader", "roughml.imaging.detection",
                   "roughml.imaging.canonical", "roughml.physics.spectral"]


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
    """A ``roughml.serving.rows.Row`` from a pyfunc record."""
    from roughml.serving.rows import COLUMNS, Row

    values = {col: _cell(record.get(col)) for col in COLUMNS}
    if values.get("orientation") == "":
        values["orientation"] = None
    return Row(**values)


def list_inputs(folder: str | os.PathLike, recursive: bool = False,
                exclude: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Image files of ``folder`` (or ``folder`` itself when it is a file), less ``exclude``.

    Raises
    ------
    RoughmlError
        When the folder does not exist.
    """
    from roughml.serving.rows import find_inputs

    path = Path(folder)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RoughmlError(f"{folder}: no such folder")
    return list(find_inputs(path, recursive, exclude))


# --- per-image work (runs in the worker processes) -------------------------------------------------

def error_record(label: str, message: str, shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Output record of an image that cannot be measured (its size when it could be decoded)."""
    height, width = (int(shape[0]), int(shape[1])) if shape is not None and len(shape) >= 2 else (None, None)
    return {"path": label, "zeta": math.nan, "zeta_std": math.nan, "zeta_classical": math.nan,
            "orientation": "", "width": width, "height": height, "status": "error", "message": message}


def _classical(gray: np.ndarray, found) -> float:
    """Classical Whittle ζ of the same decoded image; NaN when it fails (the row stays ok)."""
    try:
        from roughml.imaging.classical import estimate_image

        return float(estimate_image(gray, orientation=found).zeta)
    except Exception:  # noqa: BLE001 - the classical value is a comparison, never a reason to fail
        return math.nan


def prepare_item(label: str, gray: np.ndarray | None, error: str | None, classical: bool) -> Prepared:
    """Record and model input of one decoded image; never raises (failures become error records).

    The wall geometry is detected once and shared by the model input
    (``roughml.imaging.canonical.prepare``) and the classical estimate.
    """
    from roughml.imaging import detection as extract
    from roughml.imaging.canonical import prepare

    if gray is None:
        return error_record(label, error or "image could not be read"), None
    gray = np.asarray(gray)
    try:
        found = extract.detect_orientation(gray)
        prepared = prepare(gray, found.orientation, found.bright_side)
    except RoughmlError as exc:
        return error_record(label, str(exc), gray.shape), None
    except Exception as exc:  # noqa: BLE001 - a pathological image must not stop the batch
        return error_record(label, f"preprocessing failed: {exc}", gray.shape), None
    record = {"path": label, "zeta": math.nan, "zeta_std": math.nan,
              "zeta_classical": _classical(gray, found) if classical else math.nan,
              "orientation": f"{prepared.orientation}/{prepared.bright_side}", "width": int(gray.shape[1]),
              "height": int(gray.shape[0]), "status": "ok", "message": ""}
    return record, prepared.image


def prepare_file(path: str | os.PathLike, all_pages: bool = False, classical: bool = True) -> list[Prepared]:
    """:func:`prepare_item` for every page read from ``path`` (the first only, unless ``all_pages``)."""
    from roughml.serving.rows import iter_images

    done: list[Prepared] = []
    try:
        for label, gray, message in iter_images([Path(path)], all_pages):
            done.append(prepare_item(label, gray, message or None, classical))
    except Exception as exc:  # noqa: BLE001 - a reader bug on one file must not stop the folder
        done.append((error_record(str(path), f"cannot read image: {exc}"), None))
    return done


def _nbytes(prepared: list[Prepared]) -> int:
    return sum(1024 + (0 if image is None else image.nbytes) for _, image in prepared)


# --- ordered, bounded parallel preparation -----------------------------------------------------------

def _start_method() -> str:
    """``fork`` on Linux while TensorFlow is not loaded, else ``forkserver`` (or ``spawn``).

    ``fork`` is the cheapest and, unlike the other two, never re-imports the caller's main
    script in the workers; it is used only before TensorFlow is imported, whose thread pools must
    not be forked (``roughml predict`` starts its workers before loading the model).
    """
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and "tensorflow" not in sys.modules:
        return "fork"  # (macOS system libraries are not fork-safe either)
    return "forkserver" if "forkserver" in methods else "spawn"


def default_workers(n_files: int) -> int:
    """Worker processes for ``n_files`` files by default.

    None for small jobs, single-core machines, or when TensorFlow is already loaded: the workers
    could then not be forked, and the other start methods re-import the caller's ``__main__``
    script, which is only safe behind an ``if __name__ == "__main__":`` guard — pass ``workers``
    explicitly to opt in.
    """
    cores = os.cpu_count() or 1
    if n_files < MIN_FILES_FOR_WORKERS or cores < 2 or _start_method() != "fork":
        return 0
    return min(DEFAULT_WORKERS, cores)


def _warm_up(niceness: int = 0) -> None:
    """Pool initializer: detach from the terminal's Ctrl-C, lower the priority, import the stack.

    Ctrl-C is left to the parent, which stops the pool cleanly (no traceback per worker). A lower
    priority lets the parent's serial start-up (MLflow, TensorFlow, model loading) run first when
    the cores are busy; the workers still get every idle cycle. Fresh ``sys.stdout``/``sys.stderr``
    objects: a forked worker could inherit their locks held by a thread of the parent (e.g. a
    progress bar being redrawn), and its first warning would then wait forever.
    """
    import importlib
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name, fd in (("stdout", 1), ("stderr", 2)):
        try:
            setattr(sys, name, open(os.dup(fd), "w", buffering=1, encoding="utf-8", errors="backslashreplace"))
        except OSError:
            pass  # no such descriptor (daemonised parent): keep what there is
    if niceness > 0 and hasattr(os, "nice"):
        try:
            os.nice(niceness)
        except OSError:
            pass

    for name in _WORKER_MODULES:  # with them SciPy, scikit-image, Pillow and tifffile
        importlib.import_module(name)


def _worker_pool(workers: int):
    """A process pool for the per-image work (see :func:`_start_method` for how it starts)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = _start_method()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(_WORKER_MODULES)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm_up,
                               initargs=(WORKER_NICENESS,))


class PreparedStream:
    """Iterate :data:`Prepared` records of ``paths`` in input order, computed by worker processes.

    Use as a context manager: entering starts the workers on the first files at once (so they
    work while the caller loads the model); leaving stops them. A feeder thread hands files to
    the pool while fewer than ``QUEUED_PER_WORKER`` per worker are queued and the results waiting
    to be consumed hold less than ``buffer_bytes``. If the pool cannot start or breaks (a worker
    killed), the remaining files are prepared in-process, so results never go missing.
    """

    def __init__(self, paths: Iterable[str | os.PathLike], *, all_pages: bool = False,
                 classical: bool = True, workers: int | None = None,
                 buffer_bytes: int = BUFFER_BYTES) -> None:
        self.paths = [Path(p) for p in paths]
        self.all_pages = bool(all_pages)
        self.classical = bool(classical)
        self.workers = default_workers(len(self.paths)) if workers is None else max(0, int(workers))
        self.buffer_bytes = int(buffer_bytes)
        self._pool = None
        self._feeder: threading.Thread | None = None
        self._futures: queue.Queue = queue.Queue()
        self._lock = threading.Condition()
        self._queued = 0          # submitted, not finished
        self._handed = 0          # files handed to the pool (or given up to the consumer)
        self._held = 0            # bytes of finished results not yet consumed
        self._closed = False

    def __enter__(self) -> "PreparedStream":
        if self.workers > 0 and self.paths:
            try:
                self._pool = _worker_pool(self.workers)
            except (OSError, ValueError, NotImplementedError, ImportError):
                self._pool = None  # e.g. no /dev/shm: prepare in-process
        if self._pool is not None:
            # The first submission starts the worker processes: do it from this thread, before
            # the feeder thread exists (a fork copies only the calling thread).
            self._handed = self._submit(self.paths[0])
            self._feeder = threading.Thread(target=self._feed, name="roughml-feeder", daemon=True)
            self._feeder.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if self._feeder is not None:
            self._feeder.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _prepare_here(self, path: Path) -> list[Prepared]:
        return prepare_file(path, self.all_pages, self.classical)

    def _submit(self, path: Path) -> int:
        """Hand one file to the pool; 1 on success, 0 when the pool refuses (broken, shut down)."""
        with self._lock:
            self._queued += 1
        try:
            future = self._pool.submit(prepare_file, path, self.all_pages, self.classical)
        except Exception:  # noqa: BLE001 - the consumer prepares the rest in-process
            self._finished(None)
            return 0
        future.add_done_callback(self._finished)
        self._futures.put((path, future))
        return 1

    def _feed(self) -> None:
        """Submit files in order while the queue and the byte budget allow (feeder thread)."""
        limit = QUEUED_PER_WORKER * self.workers + self.workers
        handed = self._handed
        try:
            while handed == self._handed and handed < len(self.paths):
                with self._lock:
                    while not self._closed and (self._queued >= limit or self._held >= self.buffer_bytes):
                        self._lock.wait()
                    if self._closed:
                        return
                self._handed += self._submit(self.paths[handed])
                handed += 1
        finally:
            # Files not handed to the pool are prepared by the consumer; then the end marker.
            if not self._closed:
                for path in self.paths[self._handed:]:
                    self._futures.put((path, None))
            self._futures.put(None)

    def _finished(self, future) -> None:
        """Done callback: move the result's bytes from 'queued' to 'held'."""
        size = 0
        if future is not None and not future.cancelled() and future.exception() is None:
            size = _nbytes(future.result())
        with self._lock:
            self._queued -= 1
            self._held += size
            self._lock.notify_all()

    def __iter__(self) -> Iterator[Prepared]:
        if self._pool is None:
            for path in self.paths:
                yield from self._prepare_here(path)
            return
        while True:
            entry = self._futures.get()
            if entry is None:
                return
            path, future = entry
            try:
                result = future.result() if future is not None else None
            except Exception:  # noqa: BLE001 - worker died (BrokenProcessPool) or was cancelled
                result = None
            size = 0 if result is None else _nbytes(result)
            if result is None:
                result = self._prepare_here(path)
            with self._lock:
                self._held -= size
                self._lock.notify_all()
            yield from result


# --- prediction -----------------------------------------------------------------------------------

def _rows(stream: Iterable[Prepared], model, progress: Callable[[int], None] | None,
          batch_size: int) -> Iterator:
    for chunk in _chunks(stream, max(1, int(batch_size))):
        for record in model.infer_prepared(chunk):
            yield to_row(record)
        if progress is not None:
            progress(len(chunk))


def predict_paths(paths: Iterable[str | os.PathLike], model, *, all_pages: bool = False,
                  progress: Callable[[int], None] | None = None,
                  batch_size: int = DEFAULT_BATCH_SIZE, workers: int | None = None) -> Iterator:
    """Yield one Row per image (per page with ``all_pages``) in input order, chunk by chunk.

    ``model`` is a loaded ``RoughnessPyfunc`` (see :func:`load_model`); its ``classical`` flag
    decides whether ``zeta_classical`` is computed. ``progress`` is called with the number of rows
    finished after each chunk of ``batch_size``. ``workers`` processes prepare the images
    (default: :func:`default_workers`; 0 = in this process).
    """
    model.batch_size = int(batch_size)
    with PreparedStream(paths, all_pages=all_pages, classical=model.classical, workers=workers) as stream:
        yield from _rows(stream, model, progress, batch_size)


def predict_folder(folder: str | os.PathLike, model_uri: str, *, recursive: bool = False,
                   all_pages: bool = False, progress: Callable[[int], None] | None = None,
                   batch_size: int = DEFAULT_BATCH_SIZE, classical: bool = True,
                   workers: int | None = None, exclude: Iterable[str | os.PathLike] = ()) -> list:
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
        Images predicted together (the largest forward pass; see also
        ``roughml.serving.pyfunc.MAX_BATCH_PIXELS``).
    classical : bool
        Also compute ``zeta_classical`` (Whittle fit); False leaves it empty and is faster.
    workers : int, optional
        Processes that decode and prepare images while the model loads and runs (default:
        :func:`default_workers`; 0 = everything in this process).
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
