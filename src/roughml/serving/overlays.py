"""``--overlays DIR``: one picture per input image with every wall that was measured drawn on it.

Why: a number for a wall nobody has seen is hard to trust. Physicists want to check at a glance
that the walls measured are the domain walls (and not the banner, a scale bar or dust), which
walls were too short, and what each one read. Each picture shows the frame (contrast stretched),
the instrument overlays and the frame border shaded in red, every measured wall in green labelled
``wall: ζ ± σ``, and walls that gave an error row (too short, failed) in orange.

The pictures are drawn after the predictions, from the rows (which carry each wall's line) and
the image re-read from its file; they are written atomically, one PNG per image or page.
"""

from __future__ import annotations

import io
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Iterable

import numpy as np

from roughml.core.storage import atomic_write_bytes
from roughml.serving.rows import Row

#: Colours (RGBA) of measured walls, walls with an error, and ignored regions.
MEASURED, FAILED, IGNORED = (40, 220, 90, 255), (255, 150, 30, 255), (255, 40, 40, 90)
_PAGE = re.compile(r"^(?P<file>.*)\[(?P<page>\d+)\]$")


def source_of(label: str) -> tuple[str, int | None]:
    """(file, page) of a row's ``path``: ``stack.tif[3]`` → (``stack.tif``, 3); page None for one page."""
    match = _PAGE.match(label)
    if match and not os.path.exists(label):
        return match.group("file"), int(match.group("page"))
    return label, None


def picture_name(label: str, taken: set[str]) -> str:
    """A file name for the overlay of ``label``, unique among ``taken`` (which it joins)."""
    file, page = source_of(label)
    stem = Path(file).stem + ("" if page is None else f"_page{page}")
    name, count = f"{stem}.png", 1
    while name in taken:
        count += 1
        name = f"{stem}_{count}.png"
    taken.add(name)
    return name


def _background(gray: np.ndarray) -> np.ndarray:
    """The frame as 8-bit grey, stretched between its 1st and 99th percentiles."""
    low, high = np.percentile(gray, [1.0, 99.0])
    scaled = (np.asarray(gray, dtype=np.float32) - low) / max(float(high - low), 1e-9)
    return (np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)


def _ignored(gray: np.ndarray) -> np.ndarray:
    """Instrument overlays and the border band, as the wall finder ignored them."""
    from roughml.imaging.frames import with_border
    from roughml.imaging.overlays import overlay_mask

    return with_border(overlay_mask(gray)[0])


def _label(row: Row) -> str:
    number = "" if row.wall is None else f"{row.wall}: "
    if row.status == "ok" and row.zeta is not None:
        spread = "" if row.zeta_std is None else f" ± {row.zeta_std:.2f}"
        return f"{number}ζ = {row.zeta:.2f}{spread}"
    return f"{number}{row.message.split(':')[0]}"


def _font(size: int):
    """DejaVu Sans (shipped with matplotlib: it has ζ and ±), else Pillow's default font."""
    from PIL import ImageFont

    try:
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans", fallback_to_default=True), size)
    except Exception:  # noqa: BLE001 - a picture with plainer letters is still a picture
        return ImageFont.load_default(size=size)


def draw_overlay(gray: np.ndarray, rows: Iterable[Row]) -> bytes:
    """PNG bytes of ``gray`` with the walls of ``rows`` drawn and labelled, ignored regions shaded."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(_background(gray)).convert("RGBA")
    shade = np.zeros((*gray.shape, 4), dtype=np.uint8)
    shade[_ignored(gray)] = IGNORED
    picture = Image.alpha_composite(picture, Image.fromarray(shade, "RGBA"))
    draw = ImageDraw.Draw(picture)
    font = _font(max(12, int(min(gray.shape) / 40)))
    width = max(1, int(round(min(gray.shape) / 400)))
    for row in rows:
        if row.contour is None or len(row.contour) < 2:
            continue
        colour = MEASURED if row.status == "ok" else FAILED
        points = [(float(c), float(r)) for r, c in np.asarray(row.contour)]
        if row.kind == "closed":
            points.append(points[0])
        draw.line(points, fill=colour, width=width)
        anchor = (row.x, row.y) if row.x is not None and row.y is not None else points[0]
        draw.text(anchor, _label(row), fill=colour, font=font, anchor="mm", stroke_width=2,
                  stroke_fill=(0, 0, 0, 255))
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _pages(file: str) -> list[np.ndarray]:
    from roughml.imaging.reader import read_pages
    from roughml.serving.inputs import MAX_SIDE

    return read_pages(file, all_pages=True, max_side=MAX_SIDE)


def write_overlays(rows: Iterable[Row], folder: str | os.PathLike) -> list[Path]:
    """One overlay PNG per image (or page) of ``rows`` in ``folder``; returns the files written.

    Images that cannot be read again (a corrupt file, which has its error row already) get no
    picture. Each file is written atomically.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    by_image: OrderedDict[str, list[Row]] = OrderedDict()
    for row in rows:
        by_image.setdefault(row.path, []).append(row)
    written, taken, cache = [], set(), {}
    for label, image_rows in by_image.items():
        file, page = source_of(label)
        try:
            pages = cache[file] if file in cache else cache.setdefault(file, _pages(file))
        except Exception:  # noqa: BLE001 - unreadable files already have their error row
            cache[file] = []
            continue
        if not pages or (page or 0) >= len(pages):
            continue
        path = target / picture_name(label, taken)
        atomic_write_bytes(path, draw_overlay(pages[page or 0], image_rows))
        written.append(path)
        if len(cache) > 1:
            cache.pop(next(iter(cache)))  # keep at most the current file's pages in memory
    return written
