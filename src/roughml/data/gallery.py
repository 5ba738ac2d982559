"""A PNG grid of a few rendered samples of every family.

Why: a glance at the gallery shows whether the synthetic walls and lab degradations look like what
they are meant to imitate, without loading the (large) generated splits.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import numpy as np  # noqa: E402

from roughml.data.datasets import generate_family, render_sample  # noqa: E402
from roughml.core.config import GenerateParams  # noqa: E402
from roughml.core.storage import atomic_write_bytes  # noqa: E402

#: Index outside the (split, family) range used for the gallery's own random streams.
_GALLERY_STREAM = 1000


def make_gallery(gp: GenerateParams, out_path: str | Path, per_family: int = 4,
                 seed: int | None = None) -> Path:
    """Render ``per_family`` fresh samples of every family into one PNG grid (rows = families).

    Samples are drawn directly (not read from ``data/``), from streams disjoint from the splits'.
    The PNG is rendered to memory and written atomically.
    """
    if per_family < 1:
        raise ValueError("per_family must be >= 1")
    root = gp.seed if seed is None else int(seed)
    names = list(gp.families)
    fig, axes = plt.subplots(len(names), per_family, figsize=(2.2 * per_family, 2.4 * len(names)),
                             squeeze=False)
    for row, name in enumerate(names):
        rng = np.random.default_rng(np.random.SeedSequence([root, _GALLERY_STREAM, row]))
        ds = generate_family(gp, gp.families[name], per_family, rng, split="gallery")
        for col in range(per_family):
            ax = axes[row, col]
            img = render_sample(ds, col)
            ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(f"{name}\nζ={ds['zeta'][col]:.2f}  {img.shape[0]}×{img.shape[1]}", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    out_path = Path(out_path)
    atomic_write_bytes(out_path, buffer.getvalue())
    return out_path
