"""The shipped example images: one file per wall in the labs' formats, the truth beside the folder."""

from __future__ import annotations

import numpy as np

from roughml.data.examples import FORMATS, write_examples
from roughml.imaging.reader import read_pages
from tests.data.params import small_params


def test_examples_are_readable_images_with_their_truth(tmp_path):
    out = tmp_path / "examples"
    written = write_examples(small_params(), out, n=3, lengths=(64,))
    assert [p.name for p in written] == [f"wall_{i + 1:02d}.{FORMATS[i]}" for i in range(3)]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # images only
    for path in written:
        page = read_pages(path)[0]
        assert page.shape == (64, 64) and len(np.unique(page)) > 2  # grey lab renders
    truth = (tmp_path / "examples_truth.csv").read_bytes().decode()
    lines = truth.split("\n")
    assert lines[0] == "file,zeta,size_px,orientation,bright_side,source"
    assert "\r" not in truth and len(lines) == 5 and lines[-1] == ""
    assert lines[1].startswith("wall_01.png,") and lines[1].endswith(",synthetic (roughml renderer)")
