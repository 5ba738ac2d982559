"""Split generation: columns, determinism, disjoint random streams, compact files, re-rendering."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from roughml.core.config import FamilyParams, LabParams
from roughml.core.errors import DataValidationError, RoughmlError
from roughml.core.storage import save_arrays
from roughml.data.datasets import (COLUMNS, generate_split, lab_ranges, load_split, profile_hash, read_split,
                                   render_sample, sample_heights, stream, write_splits)
from roughml.physics.rendering import render_binary, sample_lab_columns
from tests.data.params import small_params


@pytest.fixture(scope="module")
def train():
    return generate_split(small_params(), "train")


def test_columns_dtypes_and_shapes(train):
    assert list(train) == list(COLUMNS)
    n = 60
    for name, dtype in COLUMNS.items():
        assert train[name].dtype == dtype, name
        assert train[name].shape[0] == n, name
    assert train["heights"].shape == (n, 48)
    assert set(train["split"]) == {"train"}
    assert list(dict.fromkeys(train["family"])) == ["clean_32", "periodic_32", "lab_mixed"]
    np.testing.assert_array_equal(train["transverse"], train["length"])


def test_padding_hashes_and_heights_inside_image(train):
    for i in range(len(train["zeta"])):
        length = int(train["length"][i])
        h = train["heights"][i]
        assert np.all(h[length:] == -1)
        assert np.all((h[:length] >= 1) & (h[:length] <= length - 1))
        assert train["profile_hash"][i] == profile_hash(h[:length])
    assert set(train["length"][train["family"] == "lab_mixed"]) == {32, 48}


def test_family_flags_and_lab_columns(train):
    lab = train["lab"]
    assert np.all(lab == (train["family"] == "lab_mixed"))
    assert np.all(train["periodic"] == (train["family"] == "periodic_32"))
    for col in ("contrast", "illumination", "blur_sigma", "noise_sigma", "island_radius", "rotation_deg"):
        assert np.all(np.isnan(train[col][~lab])) and np.all(np.isfinite(train[col][lab])), col
    assert np.all(train["n_islands"][~lab] == 0)


def test_geometry_columns_valid_and_mixed(train):
    vertical = train["orientation"] == "vertical"
    assert 0 < vertical.sum() < len(vertical)
    assert set(train["bright_side"][vertical]) <= {"left", "right"}
    assert set(train["bright_side"][~vertical]) <= {"top", "bottom"}
    assert len(set(train["bright_side"])) == 4


def test_clipped_fraction_bounded_and_width_randomised(train):
    assert train["clipped_fraction"].max() <= 0.02
    frac = train["rms_width"] / train["transverse"]
    assert frac.min() >= 0.03 and frac.max() <= 0.12
    assert frac.max() / frac.min() > 2.0  # spread over most of the 4x range


def test_generate_split_is_deterministic_and_seed_dependent(train):
    again = generate_split(small_params(), "train")
    for name in COLUMNS:
        np.testing.assert_array_equal(again[name], train[name])
    other = generate_split(small_params(seed=124), "train")
    assert not np.array_equal(other["zeta"], train["zeta"])


def test_no_duplicate_profiles_within_or_across_splits():
    gp = small_params()
    hashes = np.concatenate([generate_split(gp, s)["profile_hash"] for s in ("train", "validation", "test")])
    assert len(set(hashes)) == len(hashes)


def test_split_streams_are_disjoint():
    draws = {(s, f): stream(5, s, f).random(4).tobytes() for s in ("train", "validation", "test")
             for f in range(3)}
    assert len(set(draws.values())) == len(draws)
    # the same family in two splits gets different ζ, so test walls are never training walls
    gp = small_params()
    a, b = generate_split(gp, "train"), generate_split(gp, "validation")
    assert not set(a["zeta"]) & set(b["zeta"])
    assert not set(a["render_seed"]) & set(b["render_seed"])


def test_adding_a_family_leaves_other_families_unchanged(train):
    gp = small_params()
    splits = dict(gp.splits)
    splits["train"] = {k: v for k, v in gp.splits["train"].items() if k != "periodic_32"}
    reduced = generate_split(small_params(splits=splits), "train")
    keep = train["family"] == "clean_32"
    np.testing.assert_array_equal(reduced["zeta"][reduced["family"] == "clean_32"], train["zeta"][keep])


def test_write_splits_is_byte_identical(tmp_path):
    gp = small_params()
    first = write_splits(gp, tmp_path / "a")
    second = write_splits(gp, tmp_path / "b")
    assert set(first) == {"train", "validation", "test"}
    for split in first:
        assert first[split].read_bytes() == second[split].read_bytes()
    loaded = load_split(first["validation"])
    np.testing.assert_array_equal(loaded["heights"], generate_split(gp, "validation")["heights"])


def test_bytes_per_sample_small_at_128px(tmp_path):
    fams = {"c": FamilyParams("c", (128,)), "l": FamilyParams("l", (128,), lab=True)}
    gp = small_params(families=fams, splits={s: {"c": 40, "l": 40} for s in ("train", "validation", "test")})
    path = tmp_path / "s.npz"
    save_arrays(path, generate_split(gp, "train"))
    assert path.stat().st_size / 80 <= 2048


def test_load_split_reports_missing_columns(tmp_path):
    ds = generate_split(small_params(), "test")
    del ds["zeta"], ds["render_seed"]
    save_arrays(tmp_path / "bad.npz", ds)
    with pytest.raises(RoughmlError, match="zeta.*render_seed|render_seed.*zeta"):
        load_split(tmp_path / "bad.npz")
    with pytest.raises(RoughmlError, match="not found"):
        load_split(tmp_path / "absent.npz")


def test_read_split_raises_the_requested_error(tmp_path):
    with pytest.raises(DataValidationError, match="absent.npz: split file not found"):
        read_split(tmp_path / "absent.npz", DataValidationError)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(RoughmlError, match="junk.npz: cannot read"):
        read_split(tmp_path / "junk.npz")


def test_lab_ranges_pass_every_lab_param_to_the_sampler(train):
    ranges = lab_ranges(LabParams(islands=(2, 2), rotation_deg=0.0))
    assert set(ranges) == set(inspect.signature(sample_lab_columns).parameters) - {"rng", "n"}
    cols = sample_lab_columns(np.random.default_rng(0), 50, **ranges)
    assert set(cols["n_islands"]) == {2} and not cols["rotation_deg"].any()
    lo, hi = small_params().lab.contrast
    lab = train["lab"]
    assert np.all((train["contrast"][lab] >= lo) & (train["contrast"][lab] <= hi))


def test_clipping_redraw_gives_up_with_readable_error():
    gp = small_params(width_fraction_range=(0.4, 0.5), max_clipped_fraction=0.0)
    with pytest.raises(RoughmlError, match="clipped"):
        generate_split(gp, "validation")


def test_render_sample_clean_and_lab(train):
    clean = int(np.flatnonzero(~train["lab"])[0])
    img = render_sample(train, clean)
    length = int(train["length"][clean])
    h = train["heights"][clean, :length]
    np.testing.assert_array_equal(img, render_binary(h, length, str(train["orientation"][clean]),
                                                     str(train["bright_side"][clean])))
    for i in np.flatnonzero(train["lab"])[:3]:
        a, b = render_sample(train, int(i)), render_sample(train, int(i))
        assert a.dtype == np.uint8 and len(np.unique(a)) > 2
        np.testing.assert_array_equal(a, b)
        length = int(train["length"][i])
        assert a.shape == (length, length)


def test_simulated_families_carry_their_known_exponent_and_physics():
    """A directed-polymer family: every wall labelled 2/3, lattice walls unlike the Gaussian ones."""
    from roughml.core.config import generate_params
    from roughml.physics.interfaces.families import FAMILIES, label

    params = {"generate": {"seed": 3, "zeta_range": [0.05, 1.25], "width_fraction_range": [0.05, 0.1],
                           "oversample": 4, "families": {
                               "dprm_256": {"length": [256], "physics": "dprm"},
                               "thermal_256": {"length": [256], "physics": "thermal", "lab": True}},
                           "splits": {"train": {"dprm_256": 120, "thermal_256": 120},
                                      "validation": {"dprm_256": 1}, "test": {"dprm_256": 1}}}}
    gp = generate_params(params)
    ds = generate_split(gp, "train")
    dprm = ds["family"] == "dprm_256"
    assert np.all(ds["zeta"][dprm] == FAMILIES["dprm"].known_zeta)
    assert np.all(ds["zeta"][~dprm] == FAMILIES["thermal"].known_zeta)
    assert np.all(np.isfinite(ds["contrast"][~dprm])) and np.all(np.isnan(ds["contrast"][dprm]))
    # The stored walls are the physics' walls: their ensemble exponent (quantisation aside, which
    # lowers it at the shortest wavelengths) is the family's, and the two families differ.
    heights = ds["heights"].astype(float)
    dprm_zeta = label("dprm", heights[dprm]).zeta
    thermal_zeta = label("thermal", heights[~dprm]).zeta
    assert dprm_zeta > thermal_zeta + 0.07
    assert abs(dprm_zeta - 2 / 3) < 0.1 and abs(thermal_zeta - 0.5) < 0.1


def test_simulated_walls_cannot_be_periodic():
    with pytest.raises(Exception, match="periodic walls are only synthesised for physics 'gaussian'"):
        FamilyParams(name="x", length=(64,), periodic=True, physics="dprm")


def test_strip_family_draws_its_widths_and_its_own_contrast_to_noise():
    """Long narrow strips (a wall straightened out of a frame): widths from the family's list, the
    wall inside them, its own CNR range, and images of exactly that shape."""
    strip = FamilyParams("strip", (64, 96), lab=True, transverse=(24, 32), cnr=(0.7, 1.0))
    gp = small_params(families={**small_params().families, "strip": strip},
                      splits={**small_params().splits, "train": {**small_params().splits["train"], "strip": 40}})
    ds = generate_split(gp, "train")
    rows = np.flatnonzero(ds["family"] == "strip")
    assert set(ds["transverse"][rows].tolist()) == {24, 32}
    assert set(ds["length"][rows].tolist()) == {64, 96}
    fraction = ds["rms_width"][rows] / ds["transverse"][rows]
    assert fraction.min() >= gp.width_fraction_range[0] and fraction.max() <= gp.width_fraction_range[1]
    cnr = ds["contrast"][rows] / ds["noise_sigma"][rows]
    assert cnr.min() >= 0.7 - 1e-9 and cnr.max() <= 1.0 + 1e-9
    square = np.flatnonzero(ds["family"] == "lab_mixed")
    np.testing.assert_array_equal(ds["transverse"][square], ds["length"][square])
    for i in rows[:6]:
        length, width = int(ds["length"][i]), int(ds["transverse"][i])
        assert sample_heights(ds, int(i)).max() < width
        image = render_sample(ds, int(i))
        vertical = str(ds["orientation"][i]) == "vertical"
        assert image.shape == ((length, width) if vertical else (width, length))
    # Adding the strip family left the other families' samples as they were.
    before = generate_split(small_params(), "train")
    np.testing.assert_array_equal(before["heights"][:, :48], ds["heights"][: before["zeta"].size, :48])


def test_contrast_to_noise_override_needs_a_lab_family():
    with pytest.raises(Exception, match="cnr is a lab rendering range"):
        FamilyParams(name="x", length=(64,), cnr=(1.0, 2.0))
