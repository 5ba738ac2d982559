"""Render stored samples and turn them into model inputs, grouped by shape.

Why: batches must hold images of one shape, while datasets mix sizes (128 … 512 px) and the
models accept any size. Canonical inputs are kept as uint8 (exact for binary images, 1/255 steps
for grayscale) so that a whole training split fits comfortably in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import numpy as np

from roughml.core.errors import RoughmlError
from roughml.data.datasets import render_sample
from roughml.imaging.canonical import Prepared, prepare


@dataclass
class Bucket:
    """Canonical images of one shape with the dataset rows they came from."""

    images: np.ndarray          # uint8 (N, L, W)
    rows: np.ndarray            # int64 (N,) indices into the dataset

    def as_float(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Float32 (n, L, W, 1) slice in [0, 1], what the models take."""
        return (self.images[start:stop].astype(np.float32) / np.float32(255.0))[..., None]


@dataclass
class PreparedSplit:
    """The usable rows of a split, bucketed by image shape, and why the others were left out."""

    buckets: dict[tuple[int, int], Bucket]
    failures: dict[int, str] = field(default_factory=dict)   # row -> reason
    orientation: dict[int, str] = field(default_factory=dict)  # row -> detected orientation

    @property
    def size(self) -> int:
        """Number of usable rows over all buckets."""
        return sum(len(b.rows) for b in self.buckets.values())


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] float image -> uint8."""
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def prepare_rows(ds: Mapping[str, np.ndarray], rows: Iterable[int], *, known_geometry: bool,
                 on_prepared: Callable[[int, np.ndarray, "Prepared"], None] | None = None) -> PreparedSplit:
    """Render, canonicalise and bucket the given dataset rows.

    Parameters
    ----------
    known_geometry : bool
        Use the stored orientation and polarity (training: a clean learning signal) or detect them
        from the image like ``roughml predict`` does (evaluation: honest end-to-end numbers).
        Rows whose wall cannot be found are reported in ``failures``, not silently dropped.
    on_prepared : callable, optional
        Called as ``on_prepared(row, rendered_image, prepared)`` for every usable row, so that
        other estimates of the same image (the classical fit) reuse the render and its geometry.
    """
    grouped: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
    failures: dict[int, str] = {}
    orientation: dict[int, str] = {}
    for row in rows:
        row = int(row)
        image = render_sample(ds, row)
        try:
            if known_geometry:
                prepared = prepare(image, str(ds["orientation"][row]), str(ds["bright_side"][row]))
            else:
                prepared = prepare(image)
        except RoughmlError as exc:
            failures[row] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - as in `roughml predict`: one odd image is a failure row
            if known_geometry:
                raise  # training data the renderer made: a failure here is a bug to see at once
            failures[row] = f"preprocessing failed: {type(exc).__name__}: {exc}"
            continue
        orientation[row] = prepared.orientation
        if on_prepared is not None:
            on_prepared(row, image, prepared)
        grouped.setdefault(prepared.image.shape, []).append((row, to_uint8(prepared.image)))
    buckets = {
        shape: Bucket(images=np.stack([img for _, img in items]),
                      rows=np.array([r for r, _ in items], dtype=np.int64))
        for shape, items in sorted(grouped.items())
    }
    return PreparedSplit(buckets, failures, orientation)
