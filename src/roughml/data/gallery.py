"""A PNG grid of a few rendered samples of every family.

Why: a glance at the gallery shows whether the synthetic walls and lab degradations look like what
they are meant to imitate, without loading the (large) generated splits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roughml.core.config import GenerateParams
from roughml.core.formats import figure_png, pyplot
from roughml.core.storage import atomic_write_bytes
from roughml.data.datasets import generate_family, render_sample

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
    plt = pyplot()
    fig, axes = plt.subplots(len(names), per_family, figsize=(2.2 * per_family, 2.4 * len(names)),
                             squeeze=False)
    for row, name in enumerate(names):
        rng = np.random.default_rng(np.random.SeedSequence([root, _GALLERY_STREAM, row]))
        ds = generate_family(gp, gp.families[name], per_family, rng, split="gallery")
        for col in range(per_family):
            _show_sample(axes[row, col], ds, col, name)
    fig.tight_layout()
    out_path = Path(out_path)
    atomic_write_bytes(out_path, figure_png(fig, dpi=100))
    return out_path


def _show_sample(ax, ds: dict[str, np.ndarray], i: int, family: str) -> None:
    """Draw row ``i`` of ``ds`` on ``ax`` at its true grey levels, titled with family, ζ and size."""
    img = render_sample(ds, i)
    ax.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_title(f"{family}\nζ={ds['zeta'][i]:.2f}  {img.shape[0]}×{img.shape[1]}", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
