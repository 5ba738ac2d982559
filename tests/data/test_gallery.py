"""The gallery PNG: one row of fresh renders per family."""

from __future__ import annotations

from roughml.data.gallery import make_gallery
from tests.data.params import small_params


def test_gallery_png(tmp_path):
    out = make_gallery(small_params(), tmp_path / "g" / "gallery.png", per_family=2)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
