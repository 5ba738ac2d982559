"""Tests of the great-expectations dataset validation (stage ``validate``).

Real data from ``roughml.data.datasets.write_splits`` on tiny params, validated by a real (ephemeral)
great-expectations context; corruptions are made by editing the split files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from roughml.data.datasets import render_sample, write_splits
from roughml.core.errors import DataValidationError
from roughml.core.config import SPLITS, generate_params, validate_params
from roughml.core.storage import load_arrays, save_arrays
from roughml.data.validation import (coverage_frame, dataset_frame, load_datasets, validate_datasets)

PARAMS = {
    "generate": {
        "seed": 12345,
        "zeta_range": [0.05, 1.25],
        "width_fraction_range": [0.03, 0.12],
        "oversample": 4,
        "max_clipped_fraction": 0.02,
        "families": {
            "clean_64": {"length": [64], "periodic": False, "lab": False},
            "periodic_64": {"length": [64], "periodic": True, "lab": False},
            "lab_small": {"length": [64, 96], "periodic": False, "lab": True},
        },
        "splits": {
            "train": {"clean_64": 40, "lab_small": 20},
            "validation": {"clean_64": 30, "periodic_64": 20},
            "test": {"clean_64": 30, "lab_small": 20},
        },
    },
    # Every sample is rendered (sample_images above every family size), so image corruptions
    # cannot hide outside the sample.
    "validate": {"zeta_bins": 2, "min_bin_share": 0.5, "max_clipped_fraction": 0.02, "sample_images": 1000},
}
GP = generate_params(PARAMS)
VP = validate_params(PARAMS)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The tiny dataset, generated once per module by the real generator."""
    out = tmp_path_factory.mktemp("generated")
    write_splits(GP, out)
    return out


@pytest.fixture()
def data_dir(generated: Path, tmp_path: Path) -> Path:
    """A private copy of the dataset that a test may corrupt."""
    target = tmp_path / "data"
    shutil.copytree(generated, target)
    return target


def _edit(data_dir: Path, split: str, edit) -> None:
    arrays = load_arrays(data_dir / f"{split}.npz")
    edit(arrays)
    save_arrays(data_dir / f"{split}.npz", arrays)


def _run(data_dir: Path, **kwargs):
    out_json = data_dir.parent / "reports" / "validation.json"
    docs = data_dir.parent / "reports" / "validation_docs"
    return out_json, docs, lambda: validate_datasets(data_dir, GP, VP, out_json, docs, **kwargs)


def _fail(data_dir: Path, **kwargs) -> tuple[str, dict]:
    """Run the validation, expect it to fail, and return the message and the JSON summary."""
    out_json, docs, run = _run(data_dir, **kwargs)
    with pytest.raises(DataValidationError) as info:
        run()
    assert out_json.is_file(), "the JSON summary must be written even when validation fails"
    assert (docs / "index.html").is_file(), "the data docs must be written even when validation fails"
    summary = json.loads(out_json.read_text(encoding="utf-8"))
    assert summary["success"] is False
    assert summary["failures"] and summary["counts"]["failed"] == len(summary["failures"])
    message = str(info.value)
    for line in summary["failures"]:
        assert line in message
    return message, summary


# --- the clean dataset ----------------------------------------------------------------------------

def test_clean_dataset_passes_and_writes_json_and_docs(data_dir: Path) -> None:
    out_json, docs, run = _run(data_dir)
    docs.mkdir(parents=True)
    (docs / "stale.html").write_text("old run", encoding="utf-8")
    report = run()
    assert report.success and report.failures == []
    summary = json.loads(out_json.read_text(encoding="utf-8"))
    assert summary["success"] is True
    assert summary["counts"]["rows"] == {"train": 60, "validation": 50, "test": 50}
    assert summary["counts"]["rendered"] == {"train": 60, "validation": 50, "test": 50}
    assert summary["counts"]["expectations"] == len(summary["results"]) > 40
    assert all(r["success"] for r in summary["results"])
    names = {(r["suite"], r["expectation"], r["column"]) for r in summary["results"]}
    for expected in [("samples_train", "expect_column_values_to_be_between", "zeta"),
                     ("samples_test", "expect_column_values_to_be_unique", "profile_hash"),
                     ("all_splits", "expect_column_values_to_be_unique", "profile_hash"),
                     ("images_clean", "expect_column_values_to_be_in_set", "geometry_ok"),
                     ("counts", "expect_column_pair_values_to_be_equal", "observed, expected"),
                     ("zeta_coverage", "expect_column_pair_values_a_to_be_greater_than_b", "count, min_count")]:
        assert expected in names
    assert (docs / "index.html").is_file()
    assert not (docs / "stale.html").exists(), "docs must be rebuilt from scratch"
    assert any((docs / "validations").rglob("*.html"))
    # Nothing else appears next to the outputs (no temp folders left behind).
    assert sorted(p.name for p in out_json.parent.iterdir()) == ["validation.json", "validation_docs"]


def test_dataset_frame_columns(generated: Path) -> None:
    arrays = load_arrays(generated / "train.npz")
    frame = dataset_frame(arrays, sample_images=5, seed=3)
    n = len(arrays["length"])
    assert len(frame) == n
    for i in (0, n - 1):
        h = arrays["heights"][i, : arrays["length"][i]]
        assert frame.loc[i, "profile_min"] == h.min() and frame.loc[i, "profile_max"] == h.max()
    assert np.allclose(frame["width_fraction"], arrays["rms_width"] / arrays["transverse"])
    assert set(frame["split_family"]) == {"train/clean_64", "train/lab_small"}
    assert frame.groupby("family")["rendered"].sum().to_dict() == {"clean_64": 5, "lab_small": 5}
    clean = frame[frame["rendered"] & ~frame["lab"]]
    lab = frame[frame["rendered"] & frame["lab"]]
    assert clean["geometry_ok"].tolist() == [True] * 5
    assert (clean["n_unique_values"] <= 2).all()
    assert lab["geometry_ok"].isna().all() and (lab["n_unique_values"] > 2).all()
    assert frame.loc[~frame["rendered"], "n_unique_values"].isna().all()
    # The row sample is deterministic.
    again = dataset_frame(arrays, sample_images=5, seed=3)
    assert again["rendered"].tolist() == frame["rendered"].tolist()


# --- corruptions ----------------------------------------------------------------------------------

def test_corrupted_metadata_fails_with_one_line_per_rule(data_dir: Path) -> None:
    """Several independent corruptions in one run: each one is named by its own line."""
    def edit_test(a):
        a["zeta"][[0, 1, 2]] = [1.5, 2.0, 0.01]     # ζ outside the configured range
        a["heights"][7, 10] += 2                     # heights edited after generation
    def edit_train(a):
        a["clipped_fraction"][5] = np.float32(0.5)  # wall clipped on half the rows
    def edit_validation(a):
        for name in a:                               # row 1 repeats row 0's profile
            if name != "zeta":
                a[name][1] = a[name][0]
    _edit(data_dir, "test", edit_test)
    _edit(data_dir, "train", edit_train)
    _edit(data_dir, "validation", edit_validation)
    message, summary = _fail(data_dir)
    lines = message.splitlines()
    assert lines[0].endswith("dataset expectation(s) failed:")
    expected = [
        "test: expect_column_values_to_be_between(zeta) failed: 3 of 50 rows outside [0.05, 1.25]",
        "test: expect_column_values_to_be_in_set(hash_ok) failed: 1 of 50 rows not in [True]",
        "train: expect_column_values_to_be_between(clipped_fraction) failed: 1 of 60 rows outside [0, 0.02]",
        "validation: expect_column_values_to_be_unique(profile_hash) failed: 2 of 50 rows duplicated",
    ]
    for text in expected:
        assert sum(line.startswith(text) for line in lines) == 1, text
    failed = [r for r in summary["results"] if not r["success"]]
    assert any(r["suite"] == "samples_test" and r["column"] == "zeta" and r["observed"]["unexpected_count"] == 3
               for r in failed)
    assert len(failed) == len(lines) - 1


def test_duplicate_profile_across_splits_fails(data_dir: Path) -> None:
    train = load_arrays(data_dir / "train.npz")
    i = int(np.flatnonzero(train["family"] == "clean_64")[0])

    def edit(a):
        j = int(np.flatnonzero(a["family"] == "clean_64")[0])
        for name, column in train.items():
            if name != "split":
                a[name][j] = column[i]
    _edit(data_dir, "test", edit)
    message, summary = _fail(data_dir)
    assert "all splits: expect_column_values_to_be_unique(profile_hash) failed: 2 of 160 rows duplicated" in message
    assert "train/clean_64" in message and "test/clean_64" in message
    # Each split on its own is still fine: only the cross-split check catches the leak.
    assert {r["suite"] for r in summary["results"] if not r["success"]} <= {"all_splits", "zeta_coverage"}


def test_wrong_split_size_fails(data_dir: Path) -> None:
    def edit(a):
        keep = np.ones(len(a["length"]), dtype=bool)
        keep[np.flatnonzero(a["family"] == "periodic_64")[-1]] = False
        for name in list(a):
            a[name] = a[name][keep]
    _edit(data_dir, "validation", edit)
    message, _ = _fail(data_dir)
    assert "validation: expect_table_row_count_to_equal() failed: observed 49, expected 50" in message
    assert "counts: expect_column_pair_values_to_be_equal(observed, expected) failed: 1 of" in message
    assert "split_family=validation/periodic_64" in message


def test_bad_images_fail(data_dir: Path) -> None:
    """A render that drifts from the stored heights and a grey pixel in a clean image are caught."""
    train = load_arrays(data_dir / "train.npz")
    drift_row = int(np.flatnonzero(~train["lab"])[0])

    def bad_render(ds, i):
        if ds["split"][i] == "train" and i == drift_row:
            shifted = dict(ds, heights=ds["heights"].copy())
            shifted["heights"][i, 10] += 3
            return render_sample(shifted, i)
        image = render_sample(ds, i)
        if ds["split"][i] == "validation" and i == 4:
            image = image.copy()
            image[0, 0] = 128
        return image
    message, _ = _fail(data_dir, render=bad_render)
    # Both images disagree with their stored heights; only the grey one is also non-binary.
    assert ("clean images: expect_column_values_to_be_in_set(geometry_ok) failed: 2 of 120 rows not in [True]"
            in message)
    assert "geometry_ok=False, split_family=train/clean_64" in message
    assert "geometry_ok=False, split_family=validation/clean_64" in message
    assert ("clean images: expect_column_values_to_be_between(n_unique_values) failed: 1 of 120 rows "
            "outside [1, 2]" in message)


def test_uneven_zeta_coverage_fails(data_dir: Path) -> None:
    def edit(a):
        rows = a["family"] == "clean_64"
        a["zeta"][rows] = np.linspace(0.1, 0.5, int(rows.sum()))  # all in the lower bin
    _edit(data_dir, "train", edit)
    message, _ = _fail(data_dir)
    assert "zeta coverage: expect_column_pair_values_a_to_be_greater_than_b(count, min_count) failed: 1 of" in message
    assert "train/clean_64 ζ∈[0.65, 1.25]" in message


def test_coverage_frame_minimum(generated: Path) -> None:
    arrays = load_datasets(generated)
    frames = {s: dataset_frame(arrays[s], sample_images=0) for s in SPLITS}
    coverage = coverage_frame(frames, GP, VP)
    assert len(coverage) == VP.zeta_bins * sum(len(c) for c in GP.splits.values())
    train_clean = coverage[coverage["split_family"] == "train/clean_64"]
    assert train_clean["count"].sum() == 40
    assert np.allclose(train_clean["min_count"], VP.min_bin_share * 40 / VP.zeta_bins)


def test_missing_split_file(data_dir: Path) -> None:
    (data_dir / "validation.npz").unlink()
    out_json, _, run = _run(data_dir)
    with pytest.raises(DataValidationError, match="validation.npz: split file not found"):
        run()
