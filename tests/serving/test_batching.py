"""Forward passes: one shape each, capped in images and pixels, indices in input order."""

from __future__ import annotations

from roughml.serving import batching


def test_forward_passes_group_shapes_and_cap_count_and_pixels():
    shapes = [(64, 64), (96, 48), None, (64, 64), (64, 64), (96, 48)]
    assert list(batching.forward_passes(shapes, batch_size=2)) == [[0, 3], [4], [1, 5]]
    assert list(batching.forward_passes(shapes, batch_size=8, max_pixels=2 * 64 * 64)) == [[0, 3], [4], [1], [5]]
    assert list(batching.forward_passes(shapes, batch_size=8, max_pixels=1)) == [[0], [3], [4], [1], [5]]
    assert list(batching.forward_passes([None, None])) == []


def test_forward_passes_read_the_pixel_cap_at_call_time(monkeypatch):
    monkeypatch.setattr(batching, "MAX_BATCH_PIXELS", 64 * 64)
    assert list(batching.forward_passes([(64, 64)] * 3, batch_size=8)) == [[0], [1], [2]]


def test_chunks():
    assert list(batching.chunks(iter(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batching.chunks([], 3)) == []
