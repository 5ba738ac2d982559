"""Deterministic, atomic file output."""

import os

import numpy as np
import pytest

from roughml.core.storage import atomic_open, atomic_write_text, load_arrays, save_arrays


def test_save_arrays_is_byte_reproducible(tmp_path):
    arrays = {"b": np.arange(5, dtype=np.int16), "a": np.array(["x", "yz"]), "c": np.linspace(0, 1, 3)}
    save_arrays(tmp_path / "one.npz", arrays)
    os.utime(tmp_path / "one.npz", (0, 0))
    save_arrays(tmp_path / "two.npz", dict(reversed(list(arrays.items()))))
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    back = load_arrays(tmp_path / "one.npz")
    assert set(back) == set(arrays)
    for key in arrays:
        np.testing.assert_array_equal(back[key], arrays[key])
        assert back[key].dtype == arrays[key].dtype


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(TypeError, match="object"):
        save_arrays(tmp_path / "x.npz", {"o": np.array([{"a": 1}], dtype=object)})
    assert not (tmp_path / "x.npz").exists()


def test_interrupted_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("half a ")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
