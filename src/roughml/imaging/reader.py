"""Read any image file as 2-D float32 grayscale in [0, 1], with bounded memory.

Why: ``roughml estimate`` and ``roughml predict`` are pointed at folders of whatever a microscope
or a colleague produced (8/16-bit TIFF stacks, RGB PNG screenshots, JPEG, BMP, stray text files).
Every file must either give a grayscale array or one readable :class:`ImageReadError` line, never
a traceback. Very large scans are block-averaged down to ``max_side`` while they are read, so a
20k x 20k image never becomes a multi-GB float array: TIFFs are memory-mapped (or decoded in
their native dtype) and converted in row chunks, other formats are reduced inside Pillow (JPEG
even decodes at reduced scale).
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import tifffile
from PIL import Image, ImageSequence, UnidentifiedImageError

from roughml.core.errors import ImageReadError

#: File suffixes treated as images when a folder is listed (others still get an error row).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")

#: Formats Pillow may decode; anything else is "not an image" even if Pillow knows it.
_PIL_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "GIF", "PPM", "WEBP")
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: ITU-R BT.601 luma weights, as Pillow's convert("L") uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: Bytes of float32 work space per chunk while reducing a large image.
_CHUNK_BYTES = 32 * 2**20
#: Refuse images with more pixels than this (about 64k x 64k): decoding alone would not fit.
_MAX_PIXELS = 2**32
#: Exceptions that decoders raise on damaged data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                  IndexError, KeyError, TypeError, tifffile.TiffFileError)


def read_pages(path: str | os.PathLike, *, all_pages: bool = False,
               max_side: int = 4096) -> list[np.ndarray]:
    """Read an image file as a list of 2-D float32 grayscale arrays in [0, 1].

    Parameters
    ----------
    path : path-like
        PNG, JPEG, TIFF (8/16/32-bit, float, multi-page), BMP (also GIF, PPM, WebP).
    all_pages : bool
        Return every page of a multi-page file; by default only the first.
    max_side : int
        Longest side of a returned array. Larger images are block-averaged by the smallest
        integer factor that fits, which keeps memory bounded and pixel values honest averages.

    Returns
    -------
    list of ndarray
        float32 arrays of shape (rows, cols). Colour is converted to luma; alpha is ignored;
        integer data is divided by its dtype's maximum (uint16 by 65535).

    Raises
    ------
    ImageReadError
        Missing file, directory, permission denied, empty file, not an image, corrupt data.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    path = Path(path)
    head = _check_file(path)
    try:
        if head[:4] in _TIFF_MAGIC:
            return _read_tiff(path, all_pages, max_side)
        return _read_pillow(path, all_pages, max_side)
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(f"{path}: image too large to read into memory") from None
    except PermissionError:
        raise ImageReadError(f"{path}: permission denied") from None
    except _DECODE_ERRORS as exc:
        raise ImageReadError(f"{path}: corrupt or truncated image data ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    """``Type: first line`` of a decoder's exception, short enough for a one-line error row."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check_file(path: Path) -> bytes:
    """Fail early with a precise reason; return the first bytes (for format sniffing)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImageReadError(f"{path}: file not found") from None
    except PermissionError:
        raise ImageReadError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot access ({exc.strerror or _reason(exc)})") from None
    if path.is_dir():
        raise ImageReadError(f"{path}: is a directory, not an image file")
    if not path.is_file():
        raise ImageReadError(f"{path}: not a regular file")
    if info.st_size == 0:
        raise ImageReadError(f"{path}: empty file (0 bytes)")
    try:
        with open(path, "rb") as handle:
            return handle.read(16)
    except PermissionError:
        raise ImageReadError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror or _reason(exc)})") from None


def _reduction_factor(rows: int, cols: int, max_side: int) -> int:
    """Smallest integer block size that brings the longest side down to ``max_side``."""
    return max(1, math.ceil(max(rows, cols) / max_side))


# --- TIFF ------------------------------------------------------------------------------------------

def _read_tiff(path: Path, all_pages: bool, max_side: int) -> list[np.ndarray]:
    """TIFF pages through tifffile, which memory-maps plain pages and reads 16/32-bit and float data."""
    with tifffile.TiffFile(path) as tif:
        count = len(tif.pages)
        if count == 0:
            raise ImageReadError(f"{path}: corrupt or empty TIFF: no readable image page")
        out = []
        for index in range(count if all_pages else 1):
            page = tif.pages[index]
            out.append(_tiff_page(path, tif, page, index, max_side))
        return out


def _tiff_page(path: Path, tif: tifffile.TiffFile, page, index: int, max_side: int) -> np.ndarray:
    """Decode one page to a (rows, cols[, samples]) view, then reduce it chunk by chunk."""
    keyframe = getattr(page, "keyframe", page)
    data = None
    if getattr(page, "is_memmappable", False):
        with contextlib.suppress(Exception):  # fall back to decoding if mapping is refused
            data = tifffile.memmap(path, page=index, mode="r")
    if data is None:
        rows_cols = [int(s) for s in keyframe.shape]
        if math.prod(rows_cols) > _MAX_PIXELS:
            raise ImageReadError(f"{path}: image of shape {tuple(rows_cols)} is too large to decode")
        data = page.asarray()
    data = _as_image_axes(np.asarray(data) if not isinstance(data, np.memmap) else data,
                          str(keyframe.axes), path)
    bits = int(getattr(keyframe, "bitspersample", 8))
    return _reduce_array(data, max_side, _scaler(data.dtype, bits))


def _as_image_axes(data: np.ndarray, axes: str, path: Path) -> np.ndarray:
    """Return a view shaped (rows, cols) or (rows, cols, samples) from tifffile's axes string."""
    if len(axes) == data.ndim and "S" in axes and axes.index("S") < data.ndim - 1:
        data = np.moveaxis(data, axes.index("S"), -1)  # planar (S, Y, X) -> (Y, X, S), a view
    while data.ndim > 2 and data.shape[0] == 1:
        data = data[0]
    if data.ndim == 3 and data.shape[-1] > 4:
        data = data[0]  # e.g. a volume page: take its first plane
    if data.ndim not in (2, 3) or min(data.shape[:2]) < 1:
        raise ImageReadError(f"{path}: unsupported TIFF layout (shape {data.shape}, axes {axes!r})")
    return data


def _scaler(dtype: np.dtype, bits: int = 8) -> Callable[[np.ndarray], np.ndarray] | None:
    """Function mapping float32 values of ``dtype`` onto [0, 1]; None for floats (min-max later)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b" or bits == 1:
        return lambda x: x
    if dtype.kind == "u":
        top = np.float32(np.iinfo(dtype).max)
        return lambda x: x / top
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        low, span = np.float32(info.min), np.float32(float(info.max) - float(info.min))
        return lambda x: (x - low) / span
    return None


def _to_gray_chunk(chunk: np.ndarray) -> np.ndarray:
    """float32 luma of a (rows, cols[, samples]) chunk; alpha and extra samples ignored."""
    values = chunk.astype(np.float32)
    if values.ndim == 2:
        return values
    samples = values.shape[-1]
    if samples >= 3:
        return values[..., :3] @ _LUMA
    return values[..., 0]  # gray + alpha


def _reduce_array(data: np.ndarray, max_side: int,
                  scale: Callable[[np.ndarray], np.ndarray] | None) -> np.ndarray:
    """Block-average ``data`` (any dtype) to at most ``max_side`` per side, in row chunks.

    Only one chunk is ever converted to float32, so memory stays bounded however large the
    (memory-mapped) input is. Edge blocks that are cut short are averaged over their real pixels.
    """
    rows, cols = int(data.shape[0]), int(data.shape[1])
    factor = _reduction_factor(rows, cols, max_side)
    out_rows, out_cols = math.ceil(rows / factor), math.ceil(cols / factor)
    row_bytes = cols * 4 * (data.shape[2] if data.ndim == 3 else 1) * 2
    blocks_per_chunk = max(1, _CHUNK_BYTES // max(row_bytes * factor, 1))
    starts = np.arange(0, cols, factor)
    col_counts = np.diff(np.append(starts, cols)).astype(np.float32)
    out = np.empty((out_rows, out_cols), dtype=np.float32)
    for first_block in range(0, out_rows, blocks_per_chunk):
        last_block = min(out_rows, first_block + blocks_per_chunk)
        r0, r1 = first_block * factor, min(rows, last_block * factor)
        gray = _to_gray_chunk(np.asarray(data[r0:r1]))
        if scale is not None:
            gray = scale(gray)
        if factor > 1:  # not skimage's block_reduce: it pads cut-short edge blocks with a constant
            row_starts = np.arange(0, r1 - r0, factor)
            row_counts = np.diff(np.append(row_starts, r1 - r0)).astype(np.float32)
            gray = np.add.reduceat(gray, row_starts, axis=0)
            gray = np.add.reduceat(gray, starts, axis=1)
            gray /= row_counts[:, None] * col_counts[None, :]
        out[first_block:last_block] = gray
    return _finish(out, float_input=scale is None)


def _finish(gray: np.ndarray, *, float_input: bool) -> np.ndarray:
    """Clean up: non-finite values, float data outside [0, 1] (min-max scaled), clip."""
    gray = np.asarray(gray, dtype=np.float32)
    if float_input:
        finite = np.isfinite(gray)
        if not finite.all():
            fill = float(gray[finite].mean()) if finite.any() else 0.0
            gray = np.where(finite, gray, np.float32(fill))
        low, high = float(gray.min()), float(gray.max())
        if low < 0.0 or high > 1.0:
            span = high - low
            gray = (gray - np.float32(low)) / np.float32(span) if span > 0 else np.zeros_like(gray)
    return np.clip(gray, 0.0, 1.0).astype(np.float32, copy=False)


# --- Pillow (PNG, JPEG, BMP, ...) -----------------------------------------------------------------

@contextlib.contextmanager
def _no_bomb_check() -> Iterator[None]:
    """Let Pillow open large scans: memory is bounded by our own reduction, not its heuristic."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _read_pillow(path: Path, all_pages: bool, max_side: int) -> list[np.ndarray]:
    """Frames of any other format through Pillow, restricted to the formats listed in ``_PIL_FORMATS``."""
    with _no_bomb_check():
        try:
            image = Image.open(path, formats=list(_PIL_FORMATS))
        except UnidentifiedImageError:
            raise ImageReadError(f"{path}: not an image or unsupported format") from None
        with image:
            if image.width * image.height > _MAX_PIXELS:
                raise ImageReadError(f"{path}: image of {image.width}x{image.height} px is too large")
            if not all_pages:
                return [_pillow_frame(image, max_side)]
            return [_pillow_frame(frame, max_side) for frame in ImageSequence.Iterator(image)]


def _pillow_frame(image: Image.Image, max_side: int) -> np.ndarray:
    """Decode one frame, reduce it inside Pillow and scale it to [0, 1]."""
    factor = _reduction_factor(image.height, image.width, max_side)
    if factor > 1 and image.format == "JPEG":
        # DCT-domain downscaling while decoding: never materialise the full-size JPEG.
        image.draft("L", (math.ceil(image.width / factor), math.ceil(image.height / factor)))
    image.load()
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        work, top = image.convert("I"), 65535.0
        if mode == "I" and np.asarray(work.getextrema()).max() > 65535:
            top = float(2**32 - 1)
    elif mode == "F":
        work, top = image, None
    else:
        work, top = image.convert("L"), 255.0
    factor = _reduction_factor(work.height, work.width, max_side)
    if factor > 1:
        work = work.reduce(factor)
    gray = np.asarray(work, dtype=np.float32)
    if top is not None:
        gray = gray / np.float32(top)
    return _finish(gray, float_input=top is None)
