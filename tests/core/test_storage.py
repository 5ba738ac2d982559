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


def test_save_arrays_bytes_are_pinned(tmp_path):
    """The exact bytes DVC hashes: a change here re-hashes every tracked dataset, so make it on purpose."""
    import hashlib

    arrays = {"zeta": np.array([0.25, 0.5, 1.0], dtype="<f8"), "family": np.array(["a", "bc"]),
              "n": np.arange(4, dtype="<i2")}
    save_arrays(tmp_path / "g.npz", arrays)
    data = (tmp_path / "g.npz").read_bytes()
    assert len(data) == 728
    assert hashlib.md5(data).hexdigest() == "269c9739c50f91a83d8b315c3a299c49"


def test_atomic_files_get_ordinary_permissions_and_exact_text(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "deep" / "a.txt", "x\ny\r\n")
    finally:
        os.umask(umask)
    target = tmp_path / "deep" / "a.txt"
    assert target.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    assert target.read_bytes() == b"x\ny\r\n"
