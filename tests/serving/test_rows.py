"""Folder runs: one row per file or page, errors included; CSV/JSON output written atomically."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from roughml.serving import rows as batch

from roughml.physics import rendering as render

from roughml.physics import synthesis as synth
from roughml.core.errors import RoughmlError


def _wall(seed: int, orientation: str = "vertical", bright: str = "right", size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    heights, _ = synth.quantise(synth.self_affine_profiles(rng, 0.6, size), 0.06 * size, size)
    return render.render_binary(heights[0], size, orientation, bright)


@pytest.fixture()
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in put"
    folder.mkdir()
    Image.fromarray(_wall(1)).save(folder / "good one.png")
    Image.fromarray(_wall(2, "horizontal", "top")).save(folder / "ünïcödé.png")
    with tifffile.TiffWriter(folder / "stack.tif") as tif:
        tif.write(_wall(3))
        tif.write(_wall(4, "vertical", "left"))
    (folder / "notes.txt").write_text("not an image")
    (folder / "empty.png").write_bytes(b"")
    good = (folder / "good one.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 3])
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(folder / "uniform.png")
    (folder / ".hidden.png").write_bytes(good)
    (folder / "sub").mkdir()
    Image.fromarray(_wall(5)).save(folder / "sub" / "deep.png")
    return folder


def test_find_inputs_lists_every_regular_visible_file(mixed_folder):
    names = [p.name for p in batch.find_inputs(mixed_folder)]
    assert names == sorted(names)
    assert set(names) == {"good one.png", "ünïcödé.png", "stack.tif", "notes.txt", "empty.png",
                          "truncated.png", "uniform.png"}
    assert "deep.png" in [p.name for p in batch.find_inputs(mixed_folder, recursive=True)]
    with pytest.raises(RoughmlError):
        batch.find_inputs(mixed_folder / "nope")


def test_find_inputs_leaves_out_the_excluded_output(mixed_folder, monkeypatch):
    monkeypatch.chdir(mixed_folder)  # a relative output path names the same file
    names = [p.name for p in batch.find_inputs(mixed_folder, exclude=["notes.txt"])]
    assert "notes.txt" not in names and "stack.tif" in names
    assert len(names) == len(batch.find_inputs(mixed_folder)) - 1


def test_estimate_folder_rows(mixed_folder):
    ticks = []
    rows = batch.estimate_folder(mixed_folder, progress=ticks.append)
    assert sum(ticks) == 7 and len(rows) == 7
    by_name = {Path(r.path).name: r for r in rows}
    for name in ("good one.png", "ünïcödé.png", "stack.tif"):
        row = by_name[name]
        assert row.status == "ok" and row.message == ""
        assert row.zeta == row.zeta_classical and 0.0 <= row.zeta <= 2.0 and row.zeta_std > 0
        assert (row.width, row.height) == (96, 96)
    assert by_name["ünïcödé.png"].orientation == "horizontal/top"
    for name, reason in [("notes.txt", "not an image"), ("empty.png", "empty"),
                         ("truncated.png", "corrupt"), ("uniform.png", "uniform")]:
        row = by_name[name]
        assert row.status == "error" and reason in row.message and row.zeta is None
    assert (by_name["uniform.png"].width, by_name["uniform.png"].height) == (64, 64)
    assert batch.exit_code(rows) == 1
    assert batch.exit_code([r for r in rows if r.status == "ok"]) == 0


def test_all_pages_gives_one_row_per_page(mixed_folder):
    rows = batch.estimate_folder(mixed_folder, all_pages=True)
    pages = [r for r in rows if "stack.tif" in r.path]
    assert [Path(r.path).name for r in pages] == ["stack.tif[0]", "stack.tif[1]"]
    assert [r.orientation for r in pages] == ["vertical/right", "vertical/left"]


def _rows():
    return [batch.Row(path="a b/ü.png", zeta=0.5, zeta_std=0.05, zeta_classical=0.5,
                      orientation="vertical/right", width=10, height=20),
            batch.Row(path="x.txt", status="error", message="x.txt: not an image")]


def test_write_csv_and_json(tmp_path):
    batch.write_rows(_rows(), tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert tuple(records[0]) == batch.COLUMNS
    assert records[0]["path"] == "a b/ü.png" and float(records[0]["zeta"]) == 0.5
    assert records[1]["zeta"] == "" and records[1]["status"] == "error"
    batch.write_rows(_rows(), tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert list(data[0]) == list(batch.COLUMNS)
    assert data[1]["zeta"] is None and data[1]["message"] == "x.txt: not an image"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.json"]  # no temp files


def test_failed_write_leaves_existing_file_untouched(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous results")
    bad = _rows() + [batch.Row(path="nan", zeta=object())]  # not JSON-serialisable
    with pytest.raises(TypeError):
        batch.write_rows(bad, target)
    assert target.read_text() == "previous results"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_summary_table_counts():
    table = batch.summary_table(_rows())
    cells = [column._cells[0] for column in table.columns]
    assert cells[:3] == ["2", "1", "1"]
    assert cells[3].startswith("0.500")
