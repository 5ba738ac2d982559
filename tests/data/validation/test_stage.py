"""The validate stage end to end: a real (ephemeral) great-expectations context on real split files.

The data come from ``roughml.data.datasets.write_splits`` on tiny params; corruptions are made by
editing the split files, and each must be named by its own readable failure line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from roughml.core.errors import DataValidationError
from roughml.core.storage import load_arrays, save_arrays
from roughml.data.datasets import render_sample
from roughml.data.validation import validate_datasets
from tests.data.validation.params import GP, VP


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
    assert summary["counts"]["rows"] == {"train": 82, "validation": 50, "test": 50}
    assert summary["counts"]["rendered"] == {"train": 82, "validation": 50, "test": 50}
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
        "train: expect_column_values_to_be_between(clipped_fraction) failed: 1 of 82 rows outside [0, 0.02]",
        "validation: expect_column_values_to_be_unique(profile_hash) failed: 2 of 50 rows duplicated",
    ]
    for text in expected:
        assert sum(line.startswith(text) for line in lines) == 1, text
    failed = [r for r in summary["results"] if not r["success"]]
    assert any(r["suite"] == "samples_test" and r["column"] == "zeta" and r["observed"]["unexpected_count"] == 3
               for r in failed)
    assert len(failed) == len(lines) - 1


def test_image_of_a_shape_its_family_does_not_have_fails(data_dir: Path) -> None:
    """A square family's sample made non-square, and a strip wider than its family allows."""
    def edit_train(a):
        square = int(np.flatnonzero(a["family"] == "clean_64")[0])
        strip = int(np.flatnonzero(a["family"] == "lab_strip")[0])
        a["transverse"][square] = 96
        a["transverse"][strip] = 64
    _edit(data_dir, "train", edit_train)
    message, _ = _fail(data_dir)
    assert "train: expect_column_values_to_be_in_set(family_shape) failed: 2 of 82 rows" in message


def test_length_its_family_does_not_have_fails(data_dir: Path) -> None:
    """The shape rule also names a wall length outside its family's list (there is no separate length rule)."""
    def edit_test(a):
        a["length"][int(np.flatnonzero(a["family"] == "clean_64")[0])] = 48
    _edit(data_dir, "test", edit_test)
    message, _ = _fail(data_dir)
    assert "test: expect_column_values_to_be_in_set(family_shape) failed: 1 of 50 rows" in message


def test_duplicate_profile_across_splits_fails(data_dir: Path) -> None:
    train = load_arrays(data_dir / "train.npz")
    i = int(np.flatnonzero(train["family"] == "clean_64")[0])

    def edit(a):
        j = int(np.flatnonzero(a["family"] == "clean_64")[0])
        for name, column in train.items():
            if name != "split":  # heights are padded to each split's longest wall: the wall fits both
                a[name][j] = column[i][: a[name].shape[1]] if name == "heights" else column[i]
    _edit(data_dir, "test", edit)
    message, summary = _fail(data_dir)
    assert "all splits: expect_column_values_to_be_unique(profile_hash) failed: 2 of 182 rows duplicated" in message
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


def test_simulated_family_with_a_drawn_zeta_fails(data_dir: Path) -> None:
    def edit(a):
        rows = np.flatnonzero(a["family"] == "dprm_64")
        a["zeta"][rows[:3]] = 0.5  # a directed polymer is labelled 2/3, never anything else
    _edit(data_dir, "train", edit)
    message, _ = _fail(data_dir)
    assert "train/dprm_64 ζ = 0.6667 (dprm)" in message


def test_missing_split_file(data_dir: Path) -> None:
    (data_dir / "validation.npz").unlink()
    out_json, _, run = _run(data_dir)
    with pytest.raises(DataValidationError, match="validation.npz: split file not found"):
        run()


def test_summary_names_the_docs_relative_to_itself(data_dir: Path) -> None:
    """The JSON is a DVC-tracked output: an absolute path in it would differ in every checkout."""
    out_json, docs, run = _run(data_dir)
    run()
    index = json.loads(out_json.read_text(encoding="utf-8"))["docs_index"]
    assert not Path(index).is_absolute()
    assert (out_json.parent / index).resolve() == (docs / "index.html").resolve()
