"""The frames the suites check: per-sample columns, the deterministic image sample, ζ coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roughml.core.config import SPLITS
from roughml.core.storage import load_arrays
from roughml.data.validation import coverage_frame, dataset_frame, load_datasets
from tests.data.validation.params import GP, VP


def test_dataset_frame_columns(generated: Path) -> None:
    arrays = load_arrays(generated / "train.npz")
    frame = dataset_frame(arrays, sample_images=5, seed=3)
    n = len(arrays["length"])
    assert len(frame) == n
    for i in (0, n - 1):
        h = arrays["heights"][i, : arrays["length"][i]]
        assert frame.loc[i, "profile_min"] == h.min() and frame.loc[i, "profile_max"] == h.max()
    assert np.allclose(frame["width_fraction"], arrays["rms_width"] / arrays["transverse"])
    assert set(frame["split_family"]) == {"train/clean_64", "train/lab_small", "train/dprm_64", "train/lab_strip"}
    assert frame.groupby("family")["rendered"].sum().to_dict() == {"clean_64": 5, "dprm_64": 5, "lab_small": 5,
                                                                   "lab_strip": 5}
    strips = frame[frame["family"] == "lab_strip"]
    assert set(strips["family_shape"]) <= {f"lab_strip {n}x{w}" for n in (96, 128) for w in (32, 48)}
    clean = frame[frame["rendered"] & ~frame["lab"]]
    lab = frame[frame["rendered"] & frame["lab"]]
    assert clean["geometry_ok"].tolist() == [True] * 5
    assert (clean["n_unique_values"] <= 2).all()
    assert lab["shape_ok"].tolist() == [True] * len(lab)
    assert lab["geometry_ok"].isna().all() and (lab["n_unique_values"] >= 2).all()
    assert frame.loc[~frame["rendered"], "n_unique_values"].isna().all()
    # The row sample is deterministic.
    again = dataset_frame(arrays, sample_images=5, seed=3)
    assert again["rendered"].tolist() == frame["rendered"].tolist()


def test_coverage_frame_minimum(generated: Path) -> None:
    arrays = load_datasets(generated)
    frames = {s: dataset_frame(arrays[s], sample_images=0) for s in SPLITS}
    coverage = coverage_frame(frames, GP, VP)
    simulated = {name for name, family in GP.families.items() if family.physics != "gaussian"}
    assert len(coverage) == sum(1 if name in simulated else VP.zeta_bins
                                for counts in GP.splits.values() for name in counts)
    dprm = coverage[coverage["split_family"] == "train/dprm_64"]
    assert dprm[["count", "min_count"]].values.tolist() == [[10, 10.0]]
    train_clean = coverage[coverage["split_family"] == "train/clean_64"]
    assert train_clean["count"].sum() == 40
    assert np.allclose(train_clean["min_count"], VP.min_bin_share * 40 / VP.zeta_bins)
