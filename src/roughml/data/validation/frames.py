"""The pandas frames the great-expectations suites check.

Why frames of derived columns: a suite checks columns, row by row. Facts about a sample that are
not a stored column (does the stored hash match the heights, is the padding intact, does the
rendered image match the heights) become one boolean column each, so that a single
set-membership expectation states them; facts about groups of samples (counts per family, ζ per
bin) become small frames with one row per group.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from roughml.core.config import SPLITS, GenerateParams, ValidateParams
from roughml.core.errors import DataValidationError
from roughml.data.datasets import COLUMNS, profile_hash, render_sample
from roughml.physics.geometry import canonical_view, is_geometry
from roughml.physics.interfaces.families import FAMILIES
from roughml.physics.rendering import LAB_DTYPES

RenderFn = Callable[[Mapping[str, np.ndarray], int], np.ndarray]

#: Metadata columns copied from the split arrays into the frame (everything except ``heights``).
META_COLUMNS: tuple[str, ...] = tuple(name for name in COLUMNS if name != "heights")
#: Real-valued lab-rendering parameters: NaN on clean rows, required on lab rows.
LAB_COLUMNS: tuple[str, ...] = tuple(name for name, dtype in LAB_DTYPES.items() if dtype.kind == "f")
#: Integer lab-rendering parameters (counts, flags): 0 on clean rows, >= 0 on lab rows.
LAB_COUNT_COLUMNS: tuple[str, ...] = tuple(name for name, dtype in LAB_DTYPES.items() if dtype.kind == "i")
#: Columns that describe the rendered image of a row (None/NaN on rows that were not rendered).
IMAGE_COLUMNS: tuple[str, ...] = ("rendered", "n_unique_values", "pixel_min", "pixel_max", "geometry_ok",
                                  "shape_ok", "dtype_ok")


def family_shape_key(family: str, length: int, transverse: int) -> str:
    """Key of the rule "this family has images of this shape": one value per allowed (family, length,
    width); square unless the family lists widths."""
    return f"{family} {length}x{transverse}"


def family_kind_key(family: str, periodic: bool, lab: bool) -> str:
    """Key of the rule "this family has these flags": one value per family."""
    return f"{family} periodic={periodic} lab={lab}"


# --- one row per sample ----------------------------------------------------------------------------

def _valid_mask(heights: np.ndarray, length: np.ndarray) -> np.ndarray:
    """True where a padded heights entry belongs to the sample (index < its length)."""
    return np.arange(heights.shape[1])[None, :] < length[:, None]


def _image_stats(image: np.ndarray, heights: np.ndarray, transverse: int, orientation: str,
                 bright_side: str, lab: bool) -> dict[str, Any]:
    """Pixel statistics of one rendered sample and whether it matches its stored geometry.

    ``geometry_ok`` (clean rows only) requires the canonical view to equal the binary image the
    heights describe: in row x exactly ``heights[x]`` dark pixels, all at the low columns. Every
    stored geometry is a flip/transpose of that one canonical image, so one comparison checks all
    four. The expected image is written out here rather than rendered, so that the check does
    not trust the renderer it checks. Lab rows get ``None``: rotation, islands and blur make a
    pixel-exact comparison meaningless.
    """
    length = heights.shape[0]
    expected_shape = (length, transverse) if orientation == "vertical" else (transverse, length)
    shape_ok = image.ndim == 2 and tuple(image.shape) == expected_shape
    geometry_ok: bool | None = None
    if not lab:
        geometry_ok = False
        if shape_ok and is_geometry(orientation, bright_side):
            canon = canonical_view(image, orientation, bright_side)
            bright = np.arange(transverse, dtype=np.int64)[None, :] >= heights.astype(np.int64)[:, None]
            expected = np.where(bright, 255, 0)
            geometry_ok = bool(np.array_equal(canon.astype(np.int64), expected))
    values = np.unique(image)
    return {
        "rendered": True,
        "n_unique_values": int(values.size),
        "pixel_min": float(values[0]) if values.size else math.nan,
        "pixel_max": float(values[-1]) if values.size else math.nan,
        "geometry_ok": geometry_ok,
        "shape_ok": bool(shape_ok),
        "dtype_ok": bool(image.dtype == np.uint8),
    }


def _sample_rows(family: np.ndarray, per_family: int, seed: int) -> np.ndarray:
    """Deterministic choice of up to ``per_family`` row indices of every family (sorted)."""
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    for name in sorted(set(family.tolist())):
        rows = np.flatnonzero(family == name)
        take = min(per_family, rows.size)
        chosen.append(np.sort(rng.choice(rows, size=take, replace=False)))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _checked_arrays(arrays: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``heights`` and ``length`` (int64) of a split, after checking that every column is there."""
    missing = [c for c in (*META_COLUMNS, "heights") if c not in arrays]
    if missing:
        raise DataValidationError(f"dataset is missing column(s): {', '.join(missing)}")
    heights = np.asarray(arrays["heights"])
    length = np.asarray(arrays["length"]).astype(np.int64)
    n = length.shape[0]
    if heights.ndim != 2 or heights.shape[0] != n:
        raise DataValidationError(f"heights has shape {heights.shape}, expected ({n}, Lmax)")
    return heights, length


def _add_profile_columns(frame: pd.DataFrame, heights: np.ndarray, mask: np.ndarray,
                         clipped_length: np.ndarray) -> None:
    """``profile_min`` / ``profile_max`` of the unpadded heights (-1 when empty), ``width_fraction``."""
    wide = heights.astype(np.int64)
    has_values = clipped_length > 0
    big = np.iinfo(np.int64).max
    profile_min = np.where(mask, wide, big).min(axis=1, initial=big)
    profile_max = np.where(mask, wide, -big).max(axis=1, initial=-big)
    frame["profile_min"] = np.where(has_values, profile_min, -1).astype(np.int64)
    frame["profile_max"] = np.where(has_values, profile_max, -1).astype(np.int64)
    transverse = frame["transverse"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["width_fraction"] = frame["rms_width"].to_numpy(dtype=np.float64) / transverse


def _add_rule_keys(frame: pd.DataFrame, arrays: Mapping[str, np.ndarray], heights: np.ndarray,
                   mask: np.ndarray, clipped_length: np.ndarray, length: np.ndarray) -> None:
    """Derived keys: one set-membership expectation each instead of many row-conditioned ones."""
    family = frame["family"].astype(str)
    frame["split_family"] = frame["split"].astype(str) + "/" + family
    frame["hash_ok"] = [profile_hash(heights[i, :clipped_length[i]]) == str(h)
                        for i, h in enumerate(arrays["profile_hash"])]
    frame["padding_ok"] = np.all(np.where(mask, True, heights == -1), axis=1)
    frame["orientation_side"] = frame["orientation"].astype(str) + "/" + frame["bright_side"].astype(str)
    frame["family_shape"] = [family_shape_key(f, int(size), int(width))
                             for f, size, width in zip(family, length, frame["transverse"])]
    frame["family_kind"] = [family_kind_key(f, bool(p), bool(q))
                            for f, p, q in zip(family, frame["periodic"], frame["lab"])]
    lab_values = np.column_stack([np.asarray(arrays[c], dtype=np.float64) for c in LAB_COLUMNS])
    is_lab = np.asarray(arrays["lab"], dtype=bool)
    counts = np.column_stack([np.asarray(arrays[c], dtype=np.int64) for c in LAB_COUNT_COLUMNS])
    frame["lab_params_ok"] = np.where(is_lab, np.isfinite(lab_values).all(axis=1) & (counts >= 0).all(axis=1),
                                      np.isnan(lab_values).all(axis=1) & (counts == 0).all(axis=1))


def _image_stats_of_sample(arrays: Mapping[str, np.ndarray], heights: np.ndarray, clipped_length: np.ndarray,
                           sample_images: int, seed: int, render: RenderFn | None) -> dict[str, list[Any]]:
    """:data:`IMAGE_COLUMNS` as lists: image statistics on the sampled rows, None elsewhere."""
    n = clipped_length.shape[0]
    stats: dict[str, list[Any]] = {key: [None] * n for key in IMAGE_COLUMNS}
    stats["rendered"] = [False] * n
    if sample_images > 0 and n:
        render_fn = render or render_sample
        for i in _sample_rows(np.asarray(arrays["family"]), sample_images, seed):
            image = np.asarray(render_fn(arrays, int(i)))
            row = _image_stats(image, heights[i, :clipped_length[i]], int(arrays["transverse"][i]),
                               str(arrays["orientation"][i]), str(arrays["bright_side"][i]),
                               bool(arrays["lab"][i]))
            for key, value in row.items():
                stats[key][i] = value
    return stats


def _add_image_columns(frame: pd.DataFrame, stats: Mapping[str, list[Any]]) -> None:
    """Image statistics as columns: counts and levels as float (NaN unrendered), flags as objects."""
    frame["rendered"] = np.asarray(stats["rendered"], dtype=bool)
    for key in ("n_unique_values", "pixel_min", "pixel_max"):
        frame[key] = np.asarray([math.nan if v is None else v for v in stats[key]], dtype=np.float64)
    for key in ("geometry_ok", "shape_ok", "dtype_ok"):
        frame[key] = pd.Series(stats[key], dtype=object)


def dataset_frame(arrays: Mapping[str, np.ndarray], sample_images: int, seed: int = 0,
                  render: RenderFn | None = None) -> pd.DataFrame:
    """One row per sample: metadata, derived profile columns and stats of a rendered sample.

    Parameters
    ----------
    arrays
        Columns of one split file (see ``roughml.data.datasets``).
    sample_images
        Rows rendered per family. Rendering everything would dominate the stage's runtime; a
        deterministic sample catches systematic renderer/metadata mismatches just as well.
    seed
        Seed of the row sample, so the same rows are checked on every run.
    render
        ``render(arrays, i) -> uint8 image``; defaults to ``roughml.data.datasets.render_sample``.

    Returns
    -------
    pandas.DataFrame
        Metadata columns plus ``profile_min``, ``profile_max`` (of ``heights[:length]``),
        ``width_fraction``, ``split_family``; rule keys ``hash_ok`` (stored hash matches the
        heights), ``padding_ok`` (-1 past the length), ``orientation_side``, ``family_shape``,
        ``family_kind``, ``lab_params_ok`` (lab parameters present exactly on lab rows); and the
        image columns ``rendered``, ``n_unique_values``, ``pixel_min``, ``pixel_max``,
        ``geometry_ok``, ``shape_ok``, ``dtype_ok`` (None/NaN on unrendered rows;
        ``geometry_ok`` also None on lab rows).

    Raises
    ------
    DataValidationError
        When a column is missing or ``heights`` is not one padded row per sample: the per-row
        rules cannot even be stated then.
    """
    heights, length = _checked_arrays(arrays)
    clipped_length = np.clip(length, 0, heights.shape[1])
    mask = _valid_mask(heights, clipped_length)
    frame = pd.DataFrame({name: np.asarray(arrays[name]) for name in META_COLUMNS})
    frame["render_seed"] = frame["render_seed"].astype(np.uint64)
    _add_profile_columns(frame, heights, mask, clipped_length)
    _add_rule_keys(frame, arrays, heights, mask, clipped_length, length)
    stats = _image_stats_of_sample(arrays, heights, clipped_length, sample_images, seed, render)
    _add_image_columns(frame, stats)
    return frame


# --- one row per group -----------------------------------------------------------------------------

def counts_frame(frames: Mapping[str, pd.DataFrame], gp: GenerateParams) -> pd.DataFrame:
    """Observed against configured sample counts, one row per (split, family) of either."""
    rows = []
    for split in SPLITS:
        configured = gp.splits.get(split, {})
        observed = frames[split]["family"].value_counts().to_dict() if split in frames else {}
        for family in sorted(set(configured) | set(observed)):
            rows.append({"split": split, "family": family, "split_family": f"{split}/{family}",
                         "expected": int(configured.get(family, 0)), "observed": int(observed.get(family, 0))})
    return pd.DataFrame(rows, columns=["split", "family", "split_family", "expected", "observed"])


def zeta_bin_edges(zeta_range: Sequence[float], bins: int) -> np.ndarray:
    """``bins`` equal-width bins spanning the configured ζ range."""
    return np.linspace(float(zeta_range[0]), float(zeta_range[1]), int(bins) + 1, dtype=np.float64)


def coverage_frame(frames: Mapping[str, pd.DataFrame], gp: GenerateParams, vp: ValidateParams) -> pd.DataFrame:
    """Samples per ζ bin per (split, family) next to the minimum count each bin must hold.

    Why a frame of counts: "ζ covers its range evenly" is a statement about a histogram, which a
    per-row expectation cannot express; one row per bin turns it into a plain column comparison
    whose failures name the starved bins. The minimum is ``min_bin_share`` × the even share
    (samples / bins) of that split and family. A family simulated by its physics has one
    exponent, so its single row counts the walls labelled with exactly that exponent and must
    hold all of them.
    """
    edges = zeta_bin_edges(gp.zeta_range, vp.zeta_bins)
    rows = []
    for split in SPLITS:
        if split not in frames:
            continue
        for family, group in sorted(frames[split].groupby("family"), key=lambda kv: kv[0]):
            zeta = group["zeta"].to_numpy(dtype=np.float64)
            if family in gp.families and gp.families[family].physics != "gaussian":
                rows.append(_known_zeta_row(split, family, gp.families[family].physics, zeta))
                continue
            counts, _ = np.histogram(zeta[np.isfinite(zeta)], bins=edges)
            minimum = vp.min_bin_share * len(group) / vp.zeta_bins
            rows += [_coverage_row(split, family, edges, b, counts, minimum) for b in range(len(counts))]
    return pd.DataFrame(rows, columns=["split", "family", "split_family", "bin", "split_family_bin",
                                       "count", "min_count"])


def _known_zeta_row(split: str, family: str, physics: str, zeta: np.ndarray) -> dict[str, Any]:
    """The one coverage row of a simulated family: its walls labelled with the family's exponent."""
    known = FAMILIES[physics].known_zeta
    return {"split": split, "family": family, "split_family": f"{split}/{family}", "bin": f"= {known:.4g}",
            "split_family_bin": f"{split}/{family} ζ = {known:.4g} ({physics})",
            "count": int(np.count_nonzero(zeta == known)), "min_count": float(zeta.size)}


def _coverage_row(split: str, family: str, edges: np.ndarray, b: int, counts: np.ndarray,
                  minimum: float) -> dict[str, Any]:
    """One ζ bin of one (split, family); the last bin is closed, as ``np.histogram`` counts it."""
    closing = "]" if b == len(counts) - 1 else ")"
    return {"split": split, "family": family, "split_family": f"{split}/{family}",
            "bin": f"[{edges[b]:.3g}, {edges[b + 1]:.3g}{closing}",
            "split_family_bin": f"{split}/{family} ζ∈[{edges[b]:.3g}, {edges[b + 1]:.3g}]",
            "count": int(counts[b]), "min_count": float(minimum)}
