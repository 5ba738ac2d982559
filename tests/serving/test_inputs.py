"""The inputs of a run (a folder, or one image file) and never-raising decoding into items."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from roughml.core.errors import RoughmlError
from roughml.serving import inputs


def test_list_inputs_lists_every_regular_visible_file(mixed_folder):
    names = [p.name for p in inputs.list_inputs(mixed_folder)]
    assert names == sorted(names)
    assert set(names) == {"good one.png", "ünïcödé.png", "stack.tif", "notes.txt", "empty.png",
                          "truncated.png", "uniform.png"}
    assert "deep.png" in [p.name for p in inputs.list_inputs(mixed_folder, recursive=True)]
    with pytest.raises(RoughmlError):
        inputs.list_inputs(mixed_folder / "nope")


def test_list_inputs_leaves_out_the_excluded_output(mixed_folder, monkeypatch):
    monkeypatch.chdir(mixed_folder)  # a relative output path names the same file
    names = [p.name for p in inputs.list_inputs(mixed_folder, exclude=["notes.txt"])]
    assert "notes.txt" not in names and "stack.tif" in names
    assert len(names) == len(inputs.list_inputs(mixed_folder)) - 1


def test_list_inputs_of_one_file_is_that_file(mixed_folder):
    one = mixed_folder / "good one.png"
    assert inputs.list_inputs(one) == [one]
    assert inputs.list_inputs(mixed_folder / ".hidden.png") == [mixed_folder / ".hidden.png"]


def test_list_inputs_missing_path_names_it(tmp_path):
    with pytest.raises(RoughmlError, match=re.escape(f"{tmp_path / 'nope'}: no such folder")):
        inputs.list_inputs(tmp_path / "nope")


def test_read_items_never_raises(mixed_folder):
    [(label, gray, error)] = inputs.read_items(mixed_folder / "good one.png")
    assert label == str(mixed_folder / "good one.png") and gray.shape == (96, 96) and error is None
    pages = inputs.read_items(mixed_folder / "stack.tif", all_pages=True)
    assert [Path(label).name for label, _, _ in pages] == ["stack.tif[0]", "stack.tif[1]"]
    assert len(inputs.read_items(mixed_folder / "stack.tif")) == 1
    for name, reason in [("notes.txt", "not an image"), ("empty.png", "empty"), ("truncated.png", "corrupt")]:
        [(label, gray, error)] = inputs.read_items(mixed_folder / name)
        assert gray is None and reason in error


def test_bytes_and_base64_items(mixed_folder):
    data = (mixed_folder / "good one.png").read_bytes()
    label, gray, error = inputs.bytes_item("image[0]", data)
    assert label == "image[0]" and gray.shape == (96, 96) and error is None
    _, from_b64, _ = inputs.bytes_item("image[1]", "data:image/png;base64," + base64.b64encode(data).decode())
    assert (from_b64 == gray).all()
    label, gray, error = inputs.bytes_item("image[2]", "not base64 !!!")
    assert gray is None and "base64" in error
    _, gray, error = inputs.bytes_item("image[3]", 42)
    assert gray is None and "expected bytes or a base64 string" in error
