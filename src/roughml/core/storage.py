"""Atomic, byte-reproducible file output.

Why: DVC compares datasets by hash, so the same arrays must give the same bytes on any machine
(``numpy.savez`` stamps the current time into its zip headers), and an interrupted run must never
leave a half-written file where a finished one is expected.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Iterator, Mapping

import numpy as np

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _default_mode() -> int:
    """Permissions a plain ``open()`` would give a new file (0666 minus the umask).

    The umask can only be read by setting it, so it is set and put straight back.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` and move it into place only on success.

    The sibling lies in the same folder so that the final ``os.replace`` is an atomic rename on
    the same file system: readers see the old file or the complete new one, never a part.

    Parameters
    ----------
    path
        The file to write; missing parent folders are created.
    mode, **kwargs
        As for :func:`open` (``"w"`` or ``"wb"``, ``encoding=...``).

    Yields
    ------
    IO
        The open temporary file. If the ``with`` block raises, it is deleted and ``path`` is
        left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with open(tmp_name, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _default_mode())  # mkstemp creates 0600 files
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8, line ends untouched) to ``path`` atomically.

    ``newline=""`` keeps ``\n`` as ``\n`` on every platform, so the bytes do not depend on the OS.
    """
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Save named arrays as an ``.npz`` whose bytes depend only on the arrays.

    Arrays are written in sorted key order with a fixed zip timestamp and no compression, so two
    machines that compute the same arrays write identical files.

    Parameters
    ----------
    path
        The ``.npz`` file, written atomically.
    arrays
        Name to array; any order (the file's order is sorted).

    Raises
    ------
    TypeError
        An array has dtype object: it would need pickle, which is neither portable nor safe to
        load. Nothing is written.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            array = np.ascontiguousarray(arrays[name])
            if array.dtype == object:
                raise TypeError(f"array {name!r} has dtype object; use a fixed-width dtype")
            member = io.BytesIO()
            np.lib.format.write_array(member, array, version=(1, 0), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_FIXED_ZIP_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    atomic_write_bytes(path, buffer.getvalue())


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` written by :func:`save_arrays`.

    Pickle stays off: a dataset file must not be able to run code when it is opened.
    """
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
