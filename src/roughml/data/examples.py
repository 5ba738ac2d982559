"""The shipped example images: synthetic lab-like walls with known ζ.

Why: a new user needs images to try ``roughml predict`` on before they bring their own, and the
truth to compare with. They are made by the project's own renderer (labelled as synthetic) from
a seed stream no split uses, in the formats labs produce (PNG, 16-bit TIFF, JPEG).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from roughml.core.config import FamilyParams, GenerateParams
from roughml.core.formats import csv_text
from roughml.core.storage import atomic_write_bytes, atomic_write_text
from roughml.data.datasets import generate_family, render_sample

EXAMPLE_STREAM = 2018  # spawn key of the example stream: disjoint from every (split, family) stream
FORMATS = ("png", "png", "tif", "png", "jpg", "png", "tif", "png")


def _encode(image: np.ndarray, fmt: str) -> bytes:
    """``image`` (uint8) as the bytes of a PNG, a 16-bit TIFF or a JPEG file, as labs save them."""
    buffer = io.BytesIO()
    if fmt == "tif":
        import tifffile

        tifffile.imwrite(buffer, (image.astype(np.uint16) * 257))  # 16-bit, full range
    elif fmt == "jpg":
        Image.fromarray(image).save(buffer, format="JPEG", quality=92)
    else:
        Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_examples(gp: GenerateParams, out_dir: str | Path, n: int = 8,
                   lengths: tuple[int, ...] = (256, 320, 384, 512)) -> list[Path]:
    """Render ``n`` lab-like walls to ``out_dir``; their ζ go to ``<out_dir>_truth.csv`` beside it.

    The truth file sits next to the folder, not in it, so that the folder holds images only and
    ``roughml predict`` on it reports no error rows.
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(np.random.SeedSequence([gp.seed, EXAMPLE_STREAM]))
    family = FamilyParams(name="examples", length=tuple(lengths), periodic=False, lab=True)
    ds = generate_family(gp, family, n, rng, split="examples")
    written, truth = [], []
    for i in range(n):
        fmt = FORMATS[i % len(FORMATS)]
        name = f"wall_{i + 1:02d}.{fmt}"
        atomic_write_bytes(out_dir / name, _encode(render_sample(ds, i), fmt))
        written.append(out_dir / name)
        truth.append({"file": name, "zeta": round(float(ds["zeta"][i]), 4),
                      "size_px": int(ds["length"][i]), "orientation": str(ds["orientation"][i]),
                      "bright_side": str(ds["bright_side"][i]), "source": "synthetic (roughml renderer)"})
    atomic_write_text(out_dir.parent / f"{out_dir.name}_truth.csv", csv_text(truth))
    return written
