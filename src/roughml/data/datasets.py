"""Generate the synthetic train / validation / test splits and store them as compact ``.npz`` files.

Why this layout: a sample is stored as its integer wall heights plus the few numbers needed to
re-render it (orientation, polarity, lab degradations, render seed), not as pixels. That keeps a
128 px sample under 2 KB, makes the files bit-identical on any machine (integers and raw RNG draws
only), and lets every consumer re-render exactly the same image with :func:`render_sample`.

Random streams: each (split, family) pair has its own ``SeedSequence([seed, split_index,
family_index])``, so the splits never share random numbers (no leakage between train and test)
and adding a family does not change the samples of the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from roughml.core.config import SPLITS, FamilyParams, GenerateParams, LabParams
from roughml.core.errors import RoughmlError
from roughml.core.storage import load_arrays, save_arrays
from roughml.physics.geometry import BRIGHT_SIDES
from roughml.physics.interfaces.families import FAMILIES, simulate, unit_rms
from roughml.physics.rendering import (LAB_DTYPES, lab_sample_from, render_binary, render_lab,
                                       sample_lab_columns)
from roughml.physics.synthesis import quantise, sample_rms_width, sample_zeta, self_affine_profiles

#: Column name -> dtype of every split file (one row per sample).
COLUMNS: dict[str, np.dtype] = {
    "heights": np.dtype(np.int16),
    "length": np.dtype(np.int32),
    "transverse": np.dtype(np.int32),
    "family": np.dtype("<U32"),
    "split": np.dtype("<U16"),
    "zeta": np.dtype(np.float64),
    "rms_width": np.dtype(np.float64),
    "periodic": np.dtype(np.bool_),
    "lab": np.dtype(np.bool_),
    "orientation": np.dtype("<U10"),
    "bright_side": np.dtype("<U6"),
    "clipped_fraction": np.dtype(np.float32),
    "profile_hash": np.dtype("<U16"),
    "render_seed": np.dtype(np.uint64),
    **LAB_DTYPES,
}

#: How often a sample whose wall leaves the image is redrawn before giving up.
MAX_REDRAWS = 50


def profile_hash(heights: np.ndarray) -> str:
    """16-hex-digit blake2b digest of a wall's heights (little-endian int16), to detect duplicates.

    Stored in the ``profile_hash`` column at generation and recomputed by the validate stage, so
    both must use this one function.
    """
    data = np.ascontiguousarray(heights, dtype="<i2").tobytes()
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def stream(seed: int, split: str, family_index: int) -> np.random.Generator:
    """The random generator of one (split, family) pair."""
    if split not in SPLITS:
        raise RoughmlError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
    return np.random.default_rng(np.random.SeedSequence([seed, SPLITS.index(split), family_index]))


def _draw_heights(rng: np.random.Generator, zeta: np.ndarray, rms: np.ndarray, length: int, transverse: int,
                  family: FamilyParams, gp: GenerateParams) -> tuple[np.ndarray, np.ndarray]:
    """Heights (N, length) in images ``transverse`` px wide and clipped fractions; rows clipped too
    much are redrawn (same ζ, width).

    Keeping ζ and the width on a redraw keeps the ζ distribution uniform; only the profile changes.
    """
    heights = np.empty((zeta.shape[0], length), dtype=np.int16)
    clipped = np.empty(zeta.shape[0], dtype=np.float32)
    todo = np.arange(zeta.shape[0])
    for _ in range(MAX_REDRAWS):
        prof = _unit_profiles(rng, zeta[todo], length, family, gp)
        h, c = quantise(prof, rms[todo], transverse)
        heights[todo], clipped[todo] = h, c
        todo = todo[c > gp.max_clipped_fraction]
        if todo.size == 0:
            return heights, clipped
    raise RoughmlError(f"family '{family.name}': {todo.size} wall(s) still clipped on more than "
                       f"{gp.max_clipped_fraction:.0%} of rows after {MAX_REDRAWS} draws; "
                       "lower generate.width_fraction_range")


def _unit_profiles(rng: np.random.Generator, zeta: np.ndarray, length: int, family: FamilyParams,
                   gp: GenerateParams) -> np.ndarray:
    """Unit-rms profiles (N, length): spectral synthesis of each ζ, or walls simulated by their physics."""
    if family.physics == "gaussian":
        return self_affine_profiles(rng, zeta, length, periodic=family.periodic, oversample=gp.oversample)
    return unit_rms(simulate(family.physics, rng, zeta.shape[0], length))


def family_zeta(rng: np.random.Generator, n: int, family: FamilyParams, gp: GenerateParams) -> np.ndarray:
    """ζ labels: drawn uniformly for Gaussian walls, the physics family's known exponent otherwise.

    Why the theoretical exponent and not a fit: it is what a physicist calls the walls' ζ, the
    walls' ensemble S(q) over the wavelengths the images show agrees with it within ~0.02 (checked
    in the tests), and a constant needs no floating-point fit that could differ across machines.
    """
    if family.physics == "gaussian":
        return sample_zeta(rng, n, gp.zeta_range)
    return np.full(n, FAMILIES[family.physics].known_zeta, dtype=np.float64)


def lab_ranges(lab: LabParams) -> dict[str, Any]:
    """The lab block of ``params.yaml`` as the keyword arguments of ``sample_lab_columns``.

    Physics takes plain ranges, not config objects; this is the one place that unpacks them. The
    block's keys are the sampler's keyword names, so every field passes through as it is.
    """
    return {field.name: getattr(lab, field.name) for field in dataclasses.fields(lab)}


def _draw_transverse(rng: np.random.Generator, family: FamilyParams, lengths: np.ndarray) -> np.ndarray:
    """Sizes across the wall: the length (square images), or drawn from the family's ``transverse``.

    Square families draw nothing, so that adding the option left their stored samples unchanged.
    """
    if family.transverse is None:
        return lengths.copy()
    return rng.choice(np.asarray(family.transverse, dtype=np.int32), size=lengths.shape[0]).astype(np.int32)


def _draw_geometry(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Orientation and bright side of ``n`` samples: each of the four geometries equally likely."""
    horizontal = rng.random(n) < 0.5
    flip = rng.random(n) < 0.5
    orientation = np.where(horizontal, "horizontal", "vertical").astype(COLUMNS["orientation"])
    bright = np.where(horizontal, np.where(flip, BRIGHT_SIDES["horizontal"][1], BRIGHT_SIDES["horizontal"][0]),
                      np.where(flip, BRIGHT_SIDES["vertical"][1], BRIGHT_SIDES["vertical"][0]))
    return orientation, bright.astype(COLUMNS["bright_side"])


def _draw_lab(rng: np.random.Generator, family: FamilyParams, lab: LabParams, n: int) -> dict[str, np.ndarray]:
    """Lab degradation columns: drawn for lab families; NaN (integer columns 0) for clean ones."""
    if family.lab:
        ranges = lab_ranges(lab) if family.cnr is None else {**lab_ranges(lab), "cnr": family.cnr}
        return sample_lab_columns(rng, n, **ranges)
    return {k: (np.zeros(n, dtype=dtype) if dtype.kind == "i" else np.full(n, np.nan, dtype=dtype))
            for k, dtype in LAB_DTYPES.items()}


def _draw_all_heights(rng: np.random.Generator, zeta: np.ndarray, rms: np.ndarray, lengths: np.ndarray,
                      transverse: np.ndarray, lmax: int, family: FamilyParams,
                      gp: GenerateParams) -> tuple[np.ndarray, np.ndarray]:
    """Heights padded to ``lmax`` with -1, and clipped fractions; drawn shape by shape (ascending)."""
    n = lengths.shape[0]
    heights = np.full((n, lmax), -1, dtype=np.int16)
    clipped = np.zeros(n, dtype=np.float32)
    for length, width in sorted(set(zip(lengths.tolist(), transverse.tolist()))):
        rows = np.flatnonzero((lengths == length) & (transverse == width))
        h, c = _draw_heights(rng, zeta[rows], rms[rows], int(length), int(width), family, gp)
        heights[rows, :length] = h
        clipped[rows] = c
    return heights, clipped


def generate_family(gp: GenerateParams, family: FamilyParams, n: int, rng: np.random.Generator,
                    split: str = "", lmax: int | None = None) -> dict[str, np.ndarray]:
    """Draw ``n`` samples of one family from ``rng`` as split columns (see :data:`COLUMNS`).

    ``lmax`` is the padded width of the ``heights`` column (default: the family's longest length);
    unused cells hold -1. The order of the draws below is part of the dataset: changing it changes
    every stored sample.
    """
    lmax = max(family.length) if lmax is None else int(lmax)
    lengths = rng.choice(np.asarray(family.length, dtype=np.int32), size=n).astype(np.int32)
    transverse = _draw_transverse(rng, family, lengths)
    zeta = family_zeta(rng, n, family, gp)
    rms = sample_rms_width(rng, n, transverse, gp.width_fraction_range)
    orientation, bright = _draw_geometry(rng, n)
    render_seed = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
    lab_cols = _draw_lab(rng, family, gp.lab, n)
    heights, clipped = _draw_all_heights(rng, zeta, rms, lengths, transverse, lmax, family, gp)
    cols: dict[str, np.ndarray] = {
        "heights": heights,
        "length": lengths,
        "transverse": transverse,
        "family": np.full(n, family.name, dtype=COLUMNS["family"]),
        "split": np.full(n, split, dtype=COLUMNS["split"]),
        "zeta": zeta,
        "rms_width": rms,
        "periodic": np.full(n, family.periodic, dtype=np.bool_),
        "lab": np.full(n, family.lab, dtype=np.bool_),
        "orientation": orientation,
        "bright_side": bright,
        "clipped_fraction": clipped,
        "profile_hash": np.array([profile_hash(heights[i, :lengths[i]]) for i in range(n)],
                                 dtype=COLUMNS["profile_hash"]),
        "render_seed": render_seed,
        **lab_cols,
    }
    return {name: np.asarray(cols[name], dtype=dtype) for name, dtype in COLUMNS.items()}


def generate_split(gp: GenerateParams, split: str) -> dict[str, np.ndarray]:
    """Generate every family of ``split`` (families in the order of ``gp.families``) as columns."""
    if split not in gp.splits:
        raise RoughmlError(f"unknown split {split!r}; expected one of {list(gp.splits)}")
    counts = gp.splits[split]
    names = [name for name in gp.families if name in counts]
    lmax = max(max(gp.families[name].length) for name in names)
    parts = []
    for family_index, name in enumerate(gp.families):
        if name not in counts:
            continue
        rng = stream(gp.seed, split, family_index)
        parts.append(generate_family(gp, gp.families[name], counts[name], rng, split=split, lmax=lmax))
    return {col: np.concatenate([p[col] for p in parts], axis=0) for col in COLUMNS}


def write_splits(gp: GenerateParams, out_dir: str | Path) -> dict[str, Path]:
    """Generate all splits and write ``{out_dir}/{split}.npz`` (deterministic bytes, atomic)."""
    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    for split in SPLITS:
        path = out_dir / f"{split}.npz"
        save_arrays(path, generate_split(gp, split))
        paths[split] = path
    return paths


def read_split(path: str | Path, error: type[RoughmlError] = RoughmlError) -> dict[str, np.ndarray]:
    """The raw columns of a split file, unchecked; a missing or unreadable file raises ``error``.

    The validate stage reads through here too (with ``DataValidationError``), so that it can
    report a broken column as a failed expectation instead of refusing the file.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: split file not found (run the generate stage first)")
    try:
        return load_arrays(path)
    except (OSError, ValueError) as exc:
        raise error(f"{path}: cannot read ({exc})") from None


def _check_columns(path: Path, ds: dict[str, np.ndarray]) -> None:
    """Raise naming the first column that is missing or has the wrong dtype or length."""
    missing = [name for name in COLUMNS if name not in ds]
    if missing:
        raise RoughmlError(f"{path}: missing column(s) {', '.join(missing)}")
    n = ds["heights"].shape[0] if ds["heights"].ndim == 2 else -1
    for name, dtype in COLUMNS.items():
        arr = ds[name]
        if arr.dtype.kind != dtype.kind or (dtype.kind != "U" and arr.dtype != dtype):
            raise RoughmlError(f"{path}: column '{name}' has dtype {arr.dtype}, expected {dtype}")
        if arr.shape[:1] != (n,) or (name == "heights") != (arr.ndim == 2):
            raise RoughmlError(f"{path}: column '{name}' has shape {arr.shape}, expected {n} rows")


def load_split(path: str | Path) -> dict[str, np.ndarray]:
    """Load a split file and check that every column is there with a compatible dtype and length."""
    ds = read_split(path)
    _check_columns(Path(path), ds)
    return ds


def sample_heights(ds: dict[str, np.ndarray], i: int) -> np.ndarray:
    """The unpadded heights (int16) of row ``i``."""
    return ds["heights"][i, : int(ds["length"][i])]


def render_sample(ds: dict[str, np.ndarray], i: int) -> np.ndarray:
    """Render row ``i`` exactly as stored (uint8): binary for clean rows, lab image for lab rows.

    Lab rows use ``np.random.default_rng(render_seed)``, so every call returns the same bytes.
    """
    heights = sample_heights(ds, i)
    transverse = int(ds["transverse"][i])
    orientation, bright = str(ds["orientation"][i]), str(ds["bright_side"][i])
    if bool(ds["lab"][i]):
        rng = np.random.default_rng(int(ds["render_seed"][i]))
        return render_lab(heights, transverse, orientation, bright, lab_sample_from(ds, i), rng)
    return render_binary(heights, transverse, orientation, bright)
