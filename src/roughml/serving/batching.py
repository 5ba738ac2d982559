"""How images are grouped for the network: forward passes of one shape, bounded in count and pixels.

Why: the network takes images of any size, but a forward pass needs one shape, and its activations
grow with the pixels it holds (the stem keeps ~20 floats per pixel). Grouping by shape and capping
each pass both in images (:data:`DEFAULT_BATCH_SIZE`) and in pixels (:data:`MAX_BATCH_PIXELS`) keeps
the memory of one pass within a few hundred MB whatever the images, while small images still share
large passes. The pyfunc, ``roughml predict`` and its progress reports all use these numbers.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

#: Most images of one shape stacked into one forward pass (fewer when :data:`MAX_BATCH_PIXELS`
#: binds, as it does from 256 x 256 px up). ``roughml predict`` also hands the network this many
#: prepared images at a time and advances its progress bar by as many: enough images for full
#: passes of the usual sizes, few enough that a chunk of large images stays in memory.
DEFAULT_BATCH_SIZE = 64
#: Most pixels in one forward pass, so that its activations stay within a few hundred MB.
MAX_BATCH_PIXELS = 1 << 22


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Consecutive lists of ``size`` items (the last one shorter), consuming ``items`` lazily."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def forward_passes(shapes: Sequence[tuple[int, ...] | None], batch_size: int = DEFAULT_BATCH_SIZE,
                   max_pixels: int | None = None) -> Iterator[list[int]]:
    """Indices of the images that make up each forward pass.

    Images of one shape are grouped (groups in order of first appearance, indices in input order)
    and split into passes of at most ``batch_size`` images and ``max_pixels`` pixels (default:
    :data:`MAX_BATCH_PIXELS`, read at call time); an image larger than the cap gets a pass of its
    own. A None shape (an image that could not be prepared) is left out.
    """
    max_pixels = MAX_BATCH_PIXELS if max_pixels is None else max_pixels
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, shape in enumerate(shapes):
        if shape is not None:
            groups.setdefault(tuple(shape), []).append(index)
    for shape, members in groups.items():
        per_pass = max(1, min(int(batch_size), max_pixels // max(1, shape[0] * shape[1])))
        for start in range(0, len(members), per_pass):
            yield members[start:start + per_pass]
