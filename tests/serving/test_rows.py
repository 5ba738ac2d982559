"""Result rows: error rows, records of the pyfunc as rows, CSV/JSON output written atomically."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from roughml.serving import rows


def _rows():
    return [rows.Row(path="a b/ü.png", zeta=0.5, zeta_std=0.05, zeta_classical=0.5,
                      orientation="vertical/right", width=10, height=20),
            rows.Row(path="x.txt", status="error", message="x.txt: not an image")]


def test_error_record_and_error_row_agree():
    record = rows.error_record("a.png", "a.png: uniform image", (64, 32))
    assert list(record) == list(rows.COLUMNS)
    assert math.isnan(record["zeta"]) and record["orientation"] == "" and record["status"] == "error"
    assert (record["height"], record["width"]) == (64, 32)
    row = rows.error_row("a.png", "a.png: uniform image", np.zeros((64, 32)))
    assert row == rows.Row(path="a.png", width=32, height=64, status="error", message="a.png: uniform image")
    assert rows.error_row("b", "unreadable") == rows.Row(path="b", status="error", message="unreadable")
    assert rows.error_record("c", "x")["width"] is None


def test_record_row_makes_missing_values_none():
    record = {"path": "p", "zeta": np.float64(0.5), "zeta_std": math.inf, "zeta_classical": math.nan,
              "orientation": "vertical/left", "width": 3, "height": 4, "status": "ok", "message": ""}
    row = rows.record_row(record)
    assert row.zeta == 0.5 and type(row.zeta) is float
    assert row.zeta_std is None and row.zeta_classical is None and row.orientation == "vertical/left"
    assert rows.record_row(rows.error_record("q", "m")).orientation is None


def test_write_csv_and_json(tmp_path):
    rows.write_rows(_rows(), tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert tuple(records[0]) == rows.COLUMNS
    assert records[0]["path"] == "a b/ü.png" and float(records[0]["zeta"]) == 0.5
    assert records[1]["zeta"] == "" and records[1]["status"] == "error"
    rows.write_rows(_rows(), tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert list(data[0]) == list(rows.COLUMNS)
    assert data[1]["zeta"] is None and data[1]["message"] == "x.txt: not an image"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.json"]  # no temp files


def test_failed_write_leaves_existing_file_untouched(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("previous results")
    bad = _rows() + [rows.Row(path="nan", zeta=object())]  # not JSON-serialisable
    with pytest.raises(TypeError):
        rows.write_rows(bad, target)
    assert target.read_text() == "previous results"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_summary_table_counts():
    table = rows.summary_table(_rows())
    cells = [column._cells[0] for column in table.columns]
    assert cells[:3] == ["2", "1", "1"]
    assert cells[3].startswith("0.500")
