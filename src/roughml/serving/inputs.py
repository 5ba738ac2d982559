"""What the commands and the pyfunc take in: the input files of a run, and decoded images as items.

Why one module: ``roughml estimate``, ``roughml predict`` and the pyfunc (file paths, encoded
bytes, base64 strings) must accept the same inputs and turn an unreadable one into the same error
row, so the listing and the never-raising decoding live here once. The image stack (Pillow,
tifffile) is imported on first use: worker processes import this module before they fork.
"""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from roughml.core.errors import RoughmlError

#: Longest side of a decoded image; larger ones are block-averaged by the reader (memory bound).
MAX_SIDE = 4096

#: One image to measure: (label, decoded 2-D array or None, reason it could not be read or None).
Item = tuple[str, "np.ndarray | None", "str | None"]


def list_inputs(folder: str | os.PathLike, recursive: bool = False,
                exclude: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """The input files of a run: ``folder`` itself when it is a file, else its files (sorted).

    Every regular, non-hidden file of the folder counts, whatever its suffix: a stray
    ``notes.txt`` gets its own error row instead of silently vanishing. Hidden files and folders
    (dot names) are skipped, and so are the files in ``exclude`` (the run's own output table, so
    that a second run over the same folder does not report last run's results.csv as an
    unreadable image). ``recursive`` includes sub-folders.

    Raises
    ------
    RoughmlError
        If ``folder`` does not exist or is neither a file nor a folder.
    """
    root = Path(folder)
    if root.is_file():
        return [root]
    if not root.exists():
        raise RoughmlError(f"{root}: no such folder")
    if not root.is_dir():
        raise RoughmlError(f"{root}: not a folder")
    excluded = {Path(p).resolve() for p in exclude}
    candidates = root.rglob("*") if recursive else root.iterdir()
    found = []
    for path in candidates:
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if excluded and path.resolve() in excluded:
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=str)


def _decoded(label: str, read: Callable[[], list[np.ndarray]]) -> list[Item]:
    """Items of the pages ``read()`` returns (``label[i]`` for several); never raises.

    Failures become one error item: the reader's own message for the errors it knows (missing,
    empty, corrupt file), ``cannot read image: ...`` for anything else, because a reader bug on
    one file must not stop the folder or the batch.
    """
    try:
        pages = read()
    except RoughmlError as exc:
        return [(label, None, str(exc))]
    except Exception as exc:  # noqa: BLE001 - see above
        return [(label, None, f"cannot read image: {exc}")]
    if len(pages) == 1:
        return [(label, pages[0], None)]
    return [(f"{label}[{index}]", page, None) for index, page in enumerate(pages)]


def read_items(path: str | os.PathLike, all_pages: bool = False) -> list[Item]:
    """The image file at ``path`` as items: its first page, or every page with ``all_pages``."""
    from roughml.imaging.reader import read_pages

    return _decoded(str(path), lambda: read_pages(path, all_pages=all_pages, max_side=MAX_SIDE))


def _suffix_for(data: bytes) -> str:
    """File suffix matching the magic bytes, so the reader picks the right decoder."""
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return ".tif"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ".png"
    if data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    if data[:2] == b"BM":
        return ".bmp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    return ".img"


def as_bytes(value: Any) -> bytes:
    """Bytes of an encoded image given as bytes, bytearray, memoryview or a base64 string.

    Base64 is what ``mlflow models serve`` JSON carries for binary columns.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("data:") and "," in text:  # data URI: data:image/png;base64,....
            text = text.split(",", 1)[1]
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise RoughmlError("image column holds a string that is not valid base64") from None
    raise RoughmlError(f"image column holds {type(value).__name__}, expected bytes or a base64 string")


def read_image_bytes(data: bytes, all_pages: bool = False) -> list[np.ndarray]:
    """Decode an encoded image held in memory with the same reader as files.

    A temporary file keeps one decoding path for files and bytes (same grey conversion, same
    down-sampling of huge images).
    """
    from roughml.imaging.reader import read_pages

    fd, name = tempfile.mkstemp(prefix="roughml-", suffix=_suffix_for(data))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return read_pages(name, all_pages=all_pages)
    finally:
        os.unlink(name)


def bytes_item(label: str, value: Any) -> Item:
    """The first page of an encoded image (bytes or base64) as an item; never raises."""
    return _decoded(label, lambda: read_image_bytes(as_bytes(value)))[0]
