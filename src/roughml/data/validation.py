"""Great-expectations validation of the generated datasets (DVC stage ``validate``).

Why: a model trained on a subtly broken dataset (ζ outside its range, walls clipped at the image
edge, a profile shared between train and test, renders that disagree with the stored heights) looks
fine in its loss curve and fails silently later. This stage states the dataset contract as
great-expectations suites, checks it on every sample's metadata and on a rendered sample of images,
publishes the results as static data docs (a DVC output) and stops the pipeline with one readable
line per broken rule.

Layout of the checks (each is a pandas frame validated by one suite):

- ``samples_<split>``: one row per sample of a split (:func:`dataset_frame`): ranges, nulls, sizes,
  uniqueness inside the split, and the image checks on the rendered rows.
- ``counts``: one row per (split, family): observed against configured sample counts.
- ``zeta_coverage``: one row per (split, family, ζ bin): every bin holds its minimum count.
- ``all_splits``: the concatenated splits: no profile shared across splits.

Nothing is written outside ``out_json`` and ``docs_dir``: the great-expectations context is
ephemeral (in-memory stores) with a single filesystem data-docs site pointed at ``docs_dir``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from roughml.core.errors import DataValidationError, RoughmlError
from roughml.core.config import SPLITS, GenerateParams, ValidateParams
from roughml.core.storage import atomic_write_text, load_arrays

# Great-expectations reads this when it is imported: no usage statistics leave the machine.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

RenderFn = Callable[[Mapping[str, np.ndarray], int], np.ndarray]

#: Metadata columns copied from the split arrays into the frame (everything except ``heights``).
META_COLUMNS: tuple[str, ...] = (
    "length", "transverse", "family", "split", "zeta", "rms_width", "periodic", "lab", "orientation",
    "bright_side", "clipped_fraction", "profile_hash", "render_seed", "contrast", "illumination",
    "blur_sigma", "noise_sigma", "island_radius", "rotation_deg", "n_islands",
)
#: Columns that must never be null, on every row.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "length", "transverse", "family", "split", "zeta", "rms_width", "periodic", "lab", "orientation",
    "bright_side", "clipped_fraction", "profile_hash", "render_seed", "profile_min", "profile_max",
    "width_fraction", "n_islands",
)
#: Lab-rendering parameters: NaN on clean rows, required on lab rows.
LAB_COLUMNS: tuple[str, ...] = ("contrast", "illumination", "blur_sigma", "noise_sigma", "island_radius",
                                "rotation_deg")
#: Valid bright sides per orientation (the render geometry contract).
BRIGHT_SIDES: dict[str, tuple[str, str]] = {"vertical": ("left", "right"), "horizontal": ("top", "bottom")}

_SITE_NAME = "roughml_site"


# --- per-sample frame ---------------------------------------------------------------------------

def _valid_mask(heights: np.ndarray, length: np.ndarray) -> np.ndarray:
    """True where a padded heights entry belongs to the sample (index < its length)."""
    return np.arange(heights.shape[1])[None, :] < length[:, None]


def _canonical(image: np.ndarray, orientation: str, bright_side: str) -> np.ndarray:
    """Undo orientation/polarity so the wall runs top to bottom with the dark domain on the left.

    Why: the render contract defines every stored orientation as a flip/transpose of one canonical
    image, so one comparison against the stored heights checks all four variants.
    """
    if orientation == "vertical":
        return image if bright_side == "right" else image[:, ::-1]
    return image.T if bright_side == "bottom" else image[::-1, :].T


def _image_stats(image: np.ndarray, heights: np.ndarray, transverse: int, orientation: str,
                 bright_side: str, lab: bool) -> dict[str, Any]:
    """Pixel statistics of one rendered sample and whether it matches its stored geometry.

    ``geometry_ok`` (clean rows only) requires the canonical view to equal the binary image the
    heights describe: in row x exactly ``heights[x]`` dark pixels, all at the low columns. Lab rows
    get ``None``: rotation, islands and blur make a pixel-exact comparison meaningless.
    """
    length = heights.shape[0]
    expected_shape = (length, transverse) if orientation == "vertical" else (transverse, length)
    shape_ok = image.ndim == 2 and tuple(image.shape) == expected_shape
    geometry_ok: bool | None = None
    if not lab:
        geometry_ok = False
        if shape_ok and orientation in BRIGHT_SIDES and bright_side in BRIGHT_SIDES[orientation]:
            canon = _canonical(image, orientation, bright_side)
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


def _hash(heights: np.ndarray) -> str:
    """The dataset's profile hash: blake2b (8 bytes, hex) of the little-endian int16 heights."""
    return hashlib.blake2b(np.ascontiguousarray(heights, dtype="<i2").tobytes(), digest_size=8).hexdigest()


def _family_length(family: str, length: int) -> str:
    return f"{family} L={length}"


def _family_kind(family: str, periodic: bool, lab: bool) -> str:
    return f"{family} periodic={periodic} lab={lab}"


def _sample_rows(family: np.ndarray, per_family: int, seed: int) -> np.ndarray:
    """Deterministic choice of up to ``per_family`` row indices of every family (sorted)."""
    rng = np.random.default_rng(seed)
    chosen: list[np.ndarray] = []
    for name in sorted(set(family.tolist())):
        rows = np.flatnonzero(family == name)
        take = min(per_family, rows.size)
        chosen.append(np.sort(rng.choice(rows, size=take, replace=False)))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _default_render() -> RenderFn:
    try:
        from roughml.data.datasets import render_sample
    except ImportError as exc:  # pragma: no cover - only while the dataset module is missing
        raise RoughmlError(f"cannot render samples: roughml.data.datasets is unavailable ({exc})") from None
    return render_sample


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
        heights), ``padding_ok`` (-1 past the length), ``orientation_side``, ``family_length``,
        ``family_kind``, ``lab_params_ok`` (lab parameters present exactly on lab rows); and the
        image columns ``rendered``, ``n_unique_values``, ``pixel_min``, ``pixel_max``,
        ``geometry_ok``, ``shape_ok``, ``dtype_ok`` (None/NaN on unrendered rows;
        ``geometry_ok`` also None on lab rows).
    """
    missing = [c for c in (*META_COLUMNS, "heights") if c not in arrays]
    if missing:
        raise DataValidationError(f"dataset is missing column(s): {', '.join(missing)}")
    heights = np.asarray(arrays["heights"])
    length = np.asarray(arrays["length"]).astype(np.int64)
    n = length.shape[0]
    if heights.ndim != 2 or heights.shape[0] != n:
        raise DataValidationError(f"heights has shape {heights.shape}, expected ({n}, Lmax)")
    clipped_length = np.clip(length, 0, heights.shape[1])
    mask = _valid_mask(heights, clipped_length)
    wide = heights.astype(np.int64)
    has_values = clipped_length > 0
    big = np.iinfo(np.int64).max
    profile_min = np.where(mask, wide, big).min(axis=1, initial=big)
    profile_max = np.where(mask, wide, -big).max(axis=1, initial=-big)

    frame = pd.DataFrame({name: np.asarray(arrays[name]) for name in META_COLUMNS})
    frame["render_seed"] = frame["render_seed"].astype(np.uint64)
    frame["profile_min"] = np.where(has_values, profile_min, -1).astype(np.int64)
    frame["profile_max"] = np.where(has_values, profile_max, -1).astype(np.int64)
    transverse = frame["transverse"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["width_fraction"] = frame["rms_width"].to_numpy(dtype=np.float64) / transverse
    family = frame["family"].astype(str)
    frame["split_family"] = frame["split"].astype(str) + "/" + family
    # Derived keys: one set-membership expectation each instead of many row-conditioned ones.
    frame["hash_ok"] = [_hash(heights[i, :clipped_length[i]]) == str(h)
                        for i, h in enumerate(arrays["profile_hash"])]
    frame["padding_ok"] = np.all(np.where(mask, True, heights == -1), axis=1)
    frame["orientation_side"] = frame["orientation"].astype(str) + "/" + frame["bright_side"].astype(str)
    frame["family_length"] = [_family_length(f, int(n)) for f, n in zip(family, length)]
    frame["family_kind"] = [_family_kind(f, bool(p), bool(q))
                            for f, p, q in zip(family, frame["periodic"], frame["lab"])]
    lab_values = np.column_stack([np.asarray(arrays[c], dtype=np.float64) for c in LAB_COLUMNS])
    is_lab = np.asarray(arrays["lab"], dtype=bool)
    n_islands = np.asarray(arrays["n_islands"], dtype=np.int64)
    frame["lab_params_ok"] = np.where(is_lab, np.isfinite(lab_values).all(axis=1) & (n_islands >= 0),
                                      np.isnan(lab_values).all(axis=1) & (n_islands == 0))

    stats: dict[str, list[Any]] = {k: [None] * n for k in ("rendered", "n_unique_values", "pixel_min",
                                                          "pixel_max", "geometry_ok", "shape_ok",
                                                          "dtype_ok")}
    stats["rendered"] = [False] * n
    if sample_images > 0 and n:
        render_fn = render or _default_render()
        for i in _sample_rows(np.asarray(arrays["family"]), sample_images, seed):
            image = np.asarray(render_fn(arrays, int(i)))
            row = _image_stats(image, heights[i, :clipped_length[i]], int(arrays["transverse"][i]),
                               str(arrays["orientation"][i]), str(arrays["bright_side"][i]),
                               bool(arrays["lab"][i]))
            for key, value in row.items():
                stats[key][i] = value
    frame["rendered"] = np.asarray(stats["rendered"], dtype=bool)
    for key in ("n_unique_values", "pixel_min", "pixel_max"):
        frame[key] = np.asarray([math.nan if v is None else v for v in stats[key]], dtype=np.float64)
    for key in ("geometry_ok", "shape_ok", "dtype_ok"):
        frame[key] = pd.Series(stats[key], dtype=object)
    return frame


# --- the small derived frames -------------------------------------------------------------------

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
    (samples / bins) of that split and family.
    """
    edges = zeta_bin_edges(gp.zeta_range, vp.zeta_bins)
    rows = []
    for split in SPLITS:
        if split not in frames:
            continue
        frame = frames[split]
        for family, group in sorted(frame.groupby("family"), key=lambda kv: kv[0]):
            zeta = group["zeta"].to_numpy(dtype=np.float64)
            counts, _ = np.histogram(zeta[np.isfinite(zeta)], bins=edges)
            minimum = vp.min_bin_share * len(group) / vp.zeta_bins
            for b, count in enumerate(counts):
                rows.append({"split": split, "family": family, "split_family": f"{split}/{family}",
                             "bin": f"[{edges[b]:.3g}, {edges[b + 1]:.3g}{']' if b == len(counts) - 1 else ')'}",
                             "split_family_bin": f"{split}/{family} ζ∈[{edges[b]:.3g}, {edges[b + 1]:.3g}]",
                             "count": int(count), "min_count": float(minimum)})
    return pd.DataFrame(rows, columns=["split", "family", "split_family", "bin", "split_family_bin",
                                       "count", "min_count"])


# --- suites ---------------------------------------------------------------------------------------

def _gx():
    """Import great-expectations quietly (it is slow to import and chatty)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx, gxe


def sample_suite(split: str, gp: GenerateParams, vp: ValidateParams):
    """Expectations on the per-sample frame of one split (metadata of every sample).

    Per-family rules use derived key columns (``family_length``, ``family_kind``) instead of one
    row-conditioned expectation per family: great-expectations re-filters the frame for every
    metric of a conditioned expectation, which would dominate the stage's runtime.
    """
    gx, gxe = _gx()
    suite = gx.ExpectationSuite(name=f"samples_{split}")
    add = suite.add_expectation
    configured = gp.splits.get(split, {})
    add(gxe.ExpectTableRowCountToEqual(value=int(sum(configured.values()))))
    add(gxe.ExpectColumnValuesToBeInSet(column="lab_params_ok", value_set=[True]))
    add(gxe.ExpectColumnValuesToBeInSet(column="split", value_set=[split]))
    add(gxe.ExpectColumnValuesToBeInSet(column="family", value_set=sorted(configured)))
    add(gxe.ExpectColumnValuesToBeBetween(column="zeta", min_value=float(gp.zeta_range[0]),
                                          max_value=float(gp.zeta_range[1])))
    lo, hi = gp.width_fraction_range
    add(gxe.ExpectColumnValuesToBeBetween(column="width_fraction", min_value=float(lo) * (1 - 1e-9),
                                          max_value=float(hi) * (1 + 1e-9)))
    add(gxe.ExpectColumnValuesToBeBetween(column="profile_min", min_value=0))
    add(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="transverse", column_B="profile_max",
                                                    or_equal=True))
    add(gxe.ExpectColumnPairValuesToBeEqual(column_A="length", column_B="transverse"))
    add(gxe.ExpectColumnValuesToBeInSet(column="padding_ok", value_set=[True]))
    add(gxe.ExpectColumnValuesToBeInSet(column="hash_ok", value_set=[True]))
    add(gxe.ExpectColumnValuesToBeBetween(column="clipped_fraction", min_value=0.0,
                                          max_value=float(vp.max_clipped_fraction)))
    add(gxe.ExpectColumnValuesToBeInSet(column="orientation_side",
                                        value_set=[f"{o}/{s}" for o, sides in BRIGHT_SIDES.items()
                                                   for s in sides]))
    add(gxe.ExpectColumnValuesToBeInSet(column="family_length", value_set=[
        _family_length(name, size) for name in sorted(configured) for size in gp.families[name].length]))
    add(gxe.ExpectColumnValuesToBeInSet(column="family_kind", value_set=[
        _family_kind(name, gp.families[name].periodic, gp.families[name].lab) for name in sorted(configured)]))
    add(gxe.ExpectColumnValuesToBeUnique(column="profile_hash"))
    return suite


def clean_images_suite():
    """Rendered clean samples: binary {0, 255} uint8 images that match the stored heights exactly."""
    gx, gxe = _gx()
    suite = gx.ExpectationSuite(name="images_clean")
    add = suite.add_expectation
    add(gxe.ExpectColumnValuesToBeBetween(column="n_unique_values", min_value=1, max_value=2))
    add(gxe.ExpectColumnValuesToBeInSet(column="pixel_min", value_set=[0.0, 255.0]))
    add(gxe.ExpectColumnValuesToBeInSet(column="pixel_max", value_set=[0.0, 255.0]))
    for column in ("geometry_ok", "shape_ok", "dtype_ok"):
        add(gxe.ExpectColumnValuesToNotBeNull(column=column))
        add(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[True]))
    return suite


def lab_images_suite():
    """Rendered lab samples: grey-level (not binary) uint8 images of the right shape."""
    gx, gxe = _gx()
    suite = gx.ExpectationSuite(name="images_lab")
    add = suite.add_expectation
    add(gxe.ExpectColumnValuesToBeBetween(column="pixel_min", min_value=0, max_value=255))
    add(gxe.ExpectColumnValuesToBeBetween(column="pixel_max", min_value=0, max_value=255))
    add(gxe.ExpectColumnValuesToBeBetween(column="n_unique_values", min_value=3))
    for column in ("shape_ok", "dtype_ok"):
        add(gxe.ExpectColumnValuesToNotBeNull(column=column))
        add(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[True]))
    return suite


def counts_suite(gp: GenerateParams):
    """Every configured (split, family) holds exactly its configured number of samples."""
    gx, gxe = _gx()
    suite = gx.ExpectationSuite(name="counts")
    suite.add_expectation(gxe.ExpectColumnPairValuesToBeEqual(column_A="observed", column_B="expected"))
    return suite


def coverage_suite(gp: GenerateParams, vp: ValidateParams):
    """Every ζ bin of every (split, family) holds at least its minimum count."""
    gx, gxe = _gx()
    suite = gx.ExpectationSuite(name="zeta_coverage")
    n_bins = sum(vp.zeta_bins for split in SPLITS for _ in gp.splits.get(split, {}))
    suite.add_expectation(gxe.ExpectTableRowCountToEqual(value=int(n_bins)))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="count", column_B="min_count",
                                                                      or_equal=True))
    return suite


def all_splits_suite(gp: GenerateParams):
    """The concatenated splits: no profile appears twice anywhere (leakage between splits).

    The not-null checks live here too: they do not depend on the split, and checking them once
    on the concatenated frame instead of once per split saves a third of the stage's GX time.
    """
    gx, gxe = _gx()
    suite = gx.ExpectationSuite(name="all_splits")
    for column in REQUIRED_COLUMNS:
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    total = sum(sum(c.values()) for c in gp.splits.values())
    suite.add_expectation(gxe.ExpectTableRowCountToEqual(value=int(total)))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="profile_hash"))
    return suite


# --- running --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectationOutcome:
    """One evaluated expectation, flattened for the JSON summary."""

    suite: str
    expectation: str
    column: str
    row_condition: str
    success: bool
    observed: Any
    message: str


@dataclass
class ValidationReport:
    """What the validate stage found (also written as JSON)."""

    success: bool
    counts: dict[str, Any]
    results: list[ExpectationOutcome] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    docs_index: str = ""

    def to_json(self) -> str:
        payload = {"success": self.success, "counts": self.counts, "failures": self.failures,
                   "docs_index": self.docs_index, "results": [asdict(r) for r in self.results]}
        return json.dumps(_plain(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    """Turn numpy scalars, NaN and other non-JSON values into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence great-expectations' log records and warnings while it runs."""
    loggers = [logging.getLogger(name) for name in ("great_expectations", "tzlocal", "py.warnings")]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _context(docs_dir: Path):
    """An in-memory context whose only data-docs site writes static HTML into ``docs_dir``."""
    gx, _ = _gx()
    from great_expectations.data_context.types.base import (DataContextConfig, InMemoryStoreBackendDefaults,
                                                            ProgressBarsConfig)

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={_SITE_NAME: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _kwargs_label(kwargs: Mapping[str, Any]) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return ""


def _condition_text(kwargs: Mapping[str, Any]) -> str:
    cond = kwargs.get("row_condition")
    if isinstance(cond, dict):
        cond = cond.get("pass_through_filter") or str(cond)
    return str(cond) if cond else ""


def _rule_text(kind: str, kwargs: Mapping[str, Any]) -> str:
    """Why a row counts as unexpected, in words."""
    if kind == "expect_column_values_to_be_between":
        lo = kwargs.get("min_value")
        hi = kwargs.get("max_value")
        return f"outside [{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
    if kind == "expect_column_values_to_be_in_set":
        return f"not in {list(kwargs.get('value_set', []))}"
    if kind == "expect_column_values_to_be_unique":
        return "duplicated"
    if kind == "expect_column_values_to_not_be_null":
        return "null"
    if kind == "expect_column_pair_values_to_be_equal":
        return f"with {kwargs.get('column_A')} != {kwargs.get('column_B')}"
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        op = "<" if kwargs.get("or_equal") else "<="
        return f"with {kwargs.get('column_A')} {op} {kwargs.get('column_B')}"
    return "unexpected"


def _examples(result: Mapping[str, Any], id_columns: Sequence[str], limit: int = 3) -> str:
    """A few offending rows, named by their id columns (e.g. split/family) and values."""
    items = result.get("partial_unexpected_index_list") or []
    shown = []
    for item in items[:limit]:
        if isinstance(item, Mapping):
            shown.append(", ".join(f"{k}={_short(v)}" for k, v in item.items()))
    if not shown:
        shown = [_short(v) for v in (result.get("partial_unexpected_list") or [])[:limit]]
    return f" (e.g. {'; '.join(shown)})" if shown else ""


def _short(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


def _exception_message(info: Any) -> str:
    """The first error message in a result's ``exception_info`` (flat, or keyed by metric)."""
    if not isinstance(info, Mapping):
        return ""
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "unknown error")
    for value in info.values():
        if isinstance(value, Mapping) and (value.get("raised_exception") or value.get("exception_message")):
            return str(value.get("exception_message") or "unknown error").strip().splitlines()[-1]
    return ""


def _outcome(suite_name: str, label: str, res: Any, id_columns: Sequence[str]) -> ExpectationOutcome:
    """Flatten one great-expectations result into an outcome with a readable message."""
    config = res.expectation_config
    kind = config.type
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    result = dict(res.result or {})
    column = _kwargs_label(kwargs)
    condition = _condition_text(kwargs)
    where = f" where {condition}" if condition else ""
    head = f"{label}: {kind}({column}){where}"
    error = _exception_message(getattr(res, "exception_info", None))
    if error:
        observed: Any = {"exception": error}
        detail = f"could not be evaluated: {error}"
    elif "observed_value" in result:
        observed = result["observed_value"]
        expected = kwargs.get("value")
        detail = f"observed {_short(observed)}" + (f", expected {_short(expected)}" if expected is not None else "")
    else:
        observed = {"unexpected_count": result.get("unexpected_count"),
                    "element_count": result.get("element_count"),
                    "partial_unexpected_list": list(result.get("partial_unexpected_list") or [])[:5]}
        detail = (f"{result.get('unexpected_count', '?')} of {result.get('element_count', '?')} rows "
                  f"{_rule_text(kind, kwargs)}{_examples(result, id_columns)}")
    message = f"{head} {'passed' if res.success else 'failed'}: {detail}"
    return ExpectationOutcome(suite=suite_name, expectation=kind, column=column, row_condition=condition,
                              success=bool(res.success), observed=_plain(observed), message=message)


def _run_suite(context, name: str, frame: pd.DataFrame, suite, label: str,
               id_columns: Sequence[str]) -> list[ExpectationOutcome]:
    """Validate ``frame`` against ``suite``; results go to the context's in-memory store."""
    gx, _ = _gx()
    source = context.data_sources.add_pandas(name=f"{name}_source")
    asset = source.add_dataframe_asset(name=name)
    batch = asset.add_batch_definition_whole_dataframe(f"{name}_whole")
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=f"{name}_check",
                                                                            data=batch, suite=suite))
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 5,
                     "unexpected_index_column_names": list(id_columns)}
    result = definition.run(batch_parameters={"dataframe": frame}, result_format=result_format)
    return [_outcome(suite.name, label, r, id_columns) for r in result.results]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace_dir(built: Path, target: Path) -> None:
    """Move a finished docs folder into place, so an interrupted run never leaves a half site."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / "site")
    built.chmod(0o777 & ~_umask())  # mkdtemp makes 0700 folders; the site should be readable like any output
    os.replace(built, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def load_datasets(data_dir: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Load the three split files, raising DataValidationError naming a missing one."""
    data_dir = Path(data_dir)
    arrays = {}
    for split in SPLITS:
        path = data_dir / f"{split}.npz"
        if not path.is_file():
            raise DataValidationError(f"{path}: split file not found (run the generate stage first)")
        try:
            arrays[split] = load_arrays(path)
        except (OSError, ValueError) as exc:
            raise DataValidationError(f"{path}: cannot read ({exc})") from None
    return arrays


def validate_datasets(data_dir: str | Path, gp: GenerateParams, vp: ValidateParams, out_json: str | Path,
                      docs_dir: str | Path, *, seed: int = 0, render: RenderFn | None = None) -> ValidationReport:
    """Validate the generated splits, write the JSON summary and the data docs, raise on failure.

    Parameters
    ----------
    data_dir
        Folder holding ``train.npz``, ``validation.npz``, ``test.npz``.
    gp, vp
        The ``generate`` params (what the data should be) and the ``validate`` params (tolerances).
    out_json
        JSON summary (written atomically, also when expectations fail).
    docs_dir
        Static HTML data docs (``index.html`` inside); replaced as a whole on every run.
    seed, render
        Seed of the rendered row sample; renderer override (defaults to ``roughml.data.datasets``).

    Raises
    ------
    DataValidationError
        After writing both outputs, when any expectation failed; the message lists one failure
        per line.
    """
    out_json = Path(out_json).resolve()
    docs_dir = Path(docs_dir).resolve()  # the data-docs store needs an absolute base directory
    arrays = load_datasets(data_dir)
    frames = {split: dataset_frame(arrays[split], vp.sample_images, seed=seed, render=render)
              for split in SPLITS}
    counts = counts_frame(frames, gp)
    coverage = coverage_frame(frames, gp, vp)
    every = pd.concat([frames[split] for split in SPLITS], ignore_index=True)
    clean_images = every[every["rendered"] & ~every["lab"]].reset_index(drop=True)
    lab_images = every[every["rendered"] & every["lab"]].reset_index(drop=True)

    docs_dir.parent.mkdir(parents=True, exist_ok=True)
    build_dir = Path(tempfile.mkdtemp(prefix=f".{docs_dir.name}.", dir=docs_dir.parent))
    outcomes: list[ExpectationOutcome] = []
    try:
        with _quiet():
            context = _context(build_dir)
            for split in SPLITS:
                outcomes += _run_suite(context, f"samples_{split}", frames[split], sample_suite(split, gp, vp),
                                       split, ["split_family", "profile_hash"])
            outcomes += _run_suite(context, "images_clean", clean_images, clean_images_suite(),
                                   "clean images", ["split_family", "profile_hash"])
            outcomes += _run_suite(context, "images_lab", lab_images, lab_images_suite(), "lab images",
                                   ["split_family", "profile_hash"])
            outcomes += _run_suite(context, "counts", counts, counts_suite(gp), "counts", ["split_family"])
            outcomes += _run_suite(context, "zeta_coverage", coverage, coverage_suite(gp, vp), "zeta coverage",
                                   ["split_family_bin"])
            outcomes += _run_suite(context, "all_splits", every, all_splits_suite(gp), "all splits",
                                   ["split_family"])
            context.build_data_docs(site_names=[_SITE_NAME])
        _replace_dir(build_dir, docs_dir)
    finally:
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)

    failures = [o.message for o in outcomes if not o.success]
    summary_counts = {
        "rows": {split: int(len(frames[split])) for split in SPLITS},
        "rendered": {split: int(frames[split]["rendered"].sum()) for split in SPLITS},
        "expectations": len(outcomes),
        "failed": len(failures),
    }
    report = ValidationReport(success=not failures, counts=summary_counts, results=outcomes, failures=failures,
                              docs_index=str(docs_dir / "index.html"))
    atomic_write_text(out_json, report.to_json())
    if failures:
        raise DataValidationError(f"{len(failures)} dataset expectation(s) failed:\n" + "\n".join(failures))
    return report
