"""``estimate_folder``: the classical estimate, one row per file or page, errors included."""

from __future__ import annotations

from pathlib import Path

from roughml.serving import estimate
from roughml.serving.rows import exit_code


def test_estimate_folder_rows(mixed_folder):
    ticks = []
    rows = estimate.estimate_folder(mixed_folder, progress=ticks.append)
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
    assert exit_code(rows) == 1
    assert exit_code([r for r in rows if r.status == "ok"]) == 0


def test_all_pages_gives_one_row_per_page(mixed_folder):
    rows = estimate.estimate_folder(mixed_folder, all_pages=True)
    pages = [r for r in rows if "stack.tif" in r.path]
    assert [Path(r.path).name for r in pages] == ["stack.tif[0]", "stack.tif[1]"]
    assert [r.orientation for r in pages] == ["vertical/right", "vertical/left"]


def test_estimate_of_one_file(mixed_folder):
    [row] = estimate.estimate_folder(mixed_folder / "ünïcödé.png")
    assert row.path == str(mixed_folder / "ünïcödé.png")
    assert row.status == "ok" and row.orientation == "horizontal/top"
