"""Rendering stored rows into bucketed model inputs (:mod:`roughml.data.model_inputs`)."""

from __future__ import annotations

import numpy as np
import pytest

from roughml.data import model_inputs
from roughml.data.datasets import generate_split
from tests.data.params import small_params


@pytest.fixture(scope="module")
def test_split():
    return generate_split(small_params(), "test")


def test_rows_are_bucketed_by_shape_and_keep_their_row_numbers(test_split):
    rows = np.arange(test_split["zeta"].size)
    prepared = model_inputs.prepare_rows(test_split, rows, known_geometry=True)
    assert prepared.size == rows.size and not prepared.failures
    for shape, bucket in prepared.buckets.items():
        assert bucket.images.shape[1:] == shape and bucket.images.dtype == np.uint8
    assert sorted(np.concatenate([b.rows for b in prepared.buckets.values()]).tolist()) == rows.tolist()


def test_an_unexpected_detection_error_is_one_failure_row_not_a_crash(test_split, monkeypatch):
    """Evaluation detects the geometry like `roughml predict`: a bug met on one image (the faint-wall
    search once raised a bare ValueError on narrow strips) must cost that image, not the stage."""
    real = model_inputs.prepare
    calls = []

    def flaky(image, *args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise ValueError("zero-size array")
        return real(image, *args, **kwargs)

    monkeypatch.setattr(model_inputs, "prepare", flaky)
    rows = np.arange(test_split["zeta"].size)
    prepared = model_inputs.prepare_rows(test_split, rows, known_geometry=False)
    assert list(prepared.failures.values()) == ["preprocessing failed: ValueError: zero-size array"]
    assert prepared.size + len(prepared.failures) == rows.size
    calls.clear()
    with pytest.raises(ValueError):  # training renders known walls: an error there is a bug to see
        model_inputs.prepare_rows(test_split, rows, known_geometry=True)
