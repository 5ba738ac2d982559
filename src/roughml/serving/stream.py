"""Ordered, bounded, parallel preparation of image files: the worker processes of ``roughml predict``.

Why: decoding, geometry detection, canonicalisation and the classical Whittle fit
(:mod:`roughml.serving.preparation`) are NumPy/SciPy code that holds the GIL and costs more than
the network; a small pool of worker processes does it instead, started *before* the model is
loaded so that the seconds of MLflow/TensorFlow start-up are not lost. Results come back in input
order, and the prepared images waiting for the network are bounded in bytes, so folders of any
size and huge scans alike fit in memory (``roughml.imaging.reader.read_pages`` also down-samples
huge images). When the pool cannot start or breaks, the remaining files are prepared in-process:
results never go missing.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from pathlib import Path
from typing import Iterable, Iterator

from roughml.serving.preparation import Prepared, prepare_file

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

#: Modules each worker imports as it starts (the fork server preloads them), so that the import
#: of the imaging stack is paid once per worker and overlaps the parent's model loading.
_WORKER_MODULES = ["roughml.serving.preparation", "roughml.imaging.reader", "roughml.imaging.detection",
                   "roughml.imaging.canonical", "roughml.physics.spectral"]


def _nbytes(prepared: list[Prepared]) -> int:
    """Memory held by prepared results, as counted against the byte budget (1 KiB per record)."""
    return sum(1024 + (0 if image is None else image.nbytes) for _, image in prepared)


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
