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


#: Spawn key of the example frames' stream (disjoint from the splits' and the lab examples').
FRAME_STREAM = 2026


def write_frame_examples(seed: int, out_dir: str | Path, pages: int = 3) -> list[Path]:
    """Write full synthetic Kerr frames to ``out_dir`` and their walls to ``<out_dir>_truth.csv``.

    ``frame_01.png``: bubbles under noise comparable to their contrast, dust and an instrument
    banner; ``frame_02.png``: a wall crossing the field and a bubble cut by the border;
    ``growth.tif``: a ``pages``-page 16-bit stack of one bubble growing (a 672 × 533 field, to keep
    the repository small; zlib-compressed). Made by
    :mod:`roughml.physics.frames` (labelled synthetic in the truth file), from a stream no split uses.
    """
    import tifffile

    from roughml.physics.frames import growing_bubble, render_frame

    out_dir = Path(out_dir)
    rng = np.random.default_rng(np.random.SeedSequence([seed, FRAME_STREAM]))
    shown = {"frame_01.png": [render_frame(rng, bubbles=(3, 3), radius_px=(70, 260), open_walls=(0, 0),
                                           allow_cut=False)],
             "frame_02.png": [render_frame(rng, bubbles=(2, 2), radius_px=(120, 260), open_walls=(1, 1))],
             "growth.tif": growing_bubble(rng, pages, zeta=0.65, radius_px=(90, 180), shape=(533, 672),
                                          banner_rows=30)}
    written, truth = [], []
    for name, frames in shown.items():
        buffer = io.BytesIO()
        if name.endswith(".tif"):
            tifffile.imwrite(buffer, np.stack([f.image for f in frames]), photometric="minisblack",
                             compression="zlib")
        else:
            Image.fromarray(frames[0].image).save(buffer, format="PNG")
        atomic_write_bytes(out_dir / name, buffer.getvalue())
        written.append(out_dir / name)
        for page, frame in enumerate(frames):
            label = name if len(frames) == 1 else f"{name}[{page}]"
            truth += [{"file": label, "kind": w.kind, "zeta": round(w.zeta, 4), "x": round(w.x, 1),
                       "y": round(w.y, 1), "length_px": round(w.length_px, 1),
                       "source": "synthetic (roughml.physics.frames)"} for w in frame.walls]
    atomic_write_text(out_dir.parent / f"{out_dir.name}_truth.csv", csv_text(truth))
    return written
