"""The great-expectations suites: the dataset contract, one suite per checked frame.

Each suite states rules on one frame of :mod:`roughml.data.validation.frames`; the expected values
come from the ``generate`` params (what the data should be) and the ``validate`` params
(tolerances). Each function builds a fresh suite, and the stage calls it only once its ephemeral
context exists: great-expectations resolves a suite that belongs to no context through the
current one.
"""

from __future__ import annotations

from roughml.core.config import SPLITS, GenerateParams, ValidateParams
from roughml.data.validation.context import gx_modules
from roughml.data.validation.frames import family_kind_key, family_shape_key
from roughml.physics.geometry import BRIGHT_SIDES, ORIENTATIONS

#: Columns that must never be null, on every row.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "length", "transverse", "family", "split", "zeta", "rms_width", "periodic", "lab", "orientation",
    "bright_side", "clipped_fraction", "profile_hash", "render_seed", "profile_min", "profile_max",
    "width_fraction", "n_islands",
)


def _orientation_sides() -> list[str]:
    """Every valid ``orientation/bright_side`` of the geometry table.

    Flipped side first within each orientation: the order the published suite has always listed.
    """
    return [f"{o}/{s}" for o in ORIENTATIONS for s in reversed(BRIGHT_SIDES[o])]


def sample_suite(split: str, gp: GenerateParams, vp: ValidateParams):
    """Expectations on the per-sample frame of one split (metadata of every sample).

    Per-family rules use derived key columns (``family_shape``, ``family_kind``) instead of one
    row-conditioned expectation per family: great-expectations re-filters the frame for every
    metric of a conditioned expectation, which would dominate the stage's runtime.
    """
    gx, gxe = gx_modules()
    suite = gx.ExpectationSuite(name=f"samples_{split}")
    add = suite.add_expectation
    configured = gp.splits.get(split, {})
    add(gxe.ExpectTableRowCountToEqual(value=int(sum(configured.values()))))
    add(gxe.ExpectColumnValuesToBeInSet(column="lab_params_ok", value_set=[True]))
    add(gxe.ExpectColumnValuesToBeInSet(column="split", value_set=[split]))
    add(gxe.ExpectColumnValuesToBeInSet(column="family", value_set=sorted(configured)))
    add(gxe.ExpectColumnValuesToBeBetween(column="zeta", min_value=float(gp.zeta_range[0]),
                                          max_value=float(gp.zeta_range[1])))
    lo, hi = gp.width_fraction_range
    add(gxe.ExpectColumnValuesToBeBetween(column="width_fraction", min_value=float(lo) * (1 - 1e-9),
                                          max_value=float(hi) * (1 + 1e-9)))
    add(gxe.ExpectColumnValuesToBeBetween(column="profile_min", min_value=0))
    add(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="transverse", column_B="profile_max",
                                                    or_equal=True))
    add(gxe.ExpectColumnValuesToBeInSet(column="family_shape", value_set=[
        family_shape_key(name, size, width) for name in sorted(configured)
        for size in gp.families[name].length for width in gp.families[name].widths_for(size)]))
    add(gxe.ExpectColumnValuesToBeInSet(column="padding_ok", value_set=[True]))
    add(gxe.ExpectColumnValuesToBeInSet(column="hash_ok", value_set=[True]))
    add(gxe.ExpectColumnValuesToBeBetween(column="clipped_fraction", min_value=0.0,
                                          max_value=float(vp.max_clipped_fraction)))
    add(gxe.ExpectColumnValuesToBeInSet(column="orientation_side", value_set=_orientation_sides()))
    add(gxe.ExpectColumnValuesToBeInSet(column="family_kind", value_set=[
        family_kind_key(name, gp.families[name].periodic, gp.families[name].lab) for name in sorted(configured)]))
    add(gxe.ExpectColumnValuesToBeUnique(column="profile_hash"))
    return suite


def clean_images_suite():
    """Rendered clean samples: binary {0, 255} uint8 images that match the stored heights exactly."""
    gx, gxe = gx_modules()
    suite = gx.ExpectationSuite(name="images_clean")
    add = suite.add_expectation
    add(gxe.ExpectColumnValuesToBeBetween(column="n_unique_values", min_value=1, max_value=2))
    add(gxe.ExpectColumnValuesToBeInSet(column="pixel_min", value_set=[0.0, 255.0]))
    add(gxe.ExpectColumnValuesToBeInSet(column="pixel_max", value_set=[0.0, 255.0]))
    for column in ("geometry_ok", "shape_ok", "dtype_ok"):
        add(gxe.ExpectColumnValuesToNotBeNull(column=column))
        add(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[True]))
    return suite


def lab_images_suite():
    """Rendered lab samples: uint8 images of the right shape with at least two grey levels."""
    gx, gxe = gx_modules()
    suite = gx.ExpectationSuite(name="images_lab")
    add = suite.add_expectation
    add(gxe.ExpectColumnValuesToBeBetween(column="pixel_min", min_value=0, max_value=255))
    add(gxe.ExpectColumnValuesToBeBetween(column="pixel_max", min_value=0, max_value=255))
    # two levels are a lab image someone else already thresholded (binarized_share), one is broken
    add(gxe.ExpectColumnValuesToBeBetween(column="n_unique_values", min_value=2))
    for column in ("shape_ok", "dtype_ok"):
        add(gxe.ExpectColumnValuesToNotBeNull(column=column))
        add(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[True]))
    return suite


def counts_suite(gp: GenerateParams):
    """Every configured (split, family) holds exactly its configured number of samples."""
    gx, gxe = gx_modules()
    suite = gx.ExpectationSuite(name="counts")
    suite.add_expectation(gxe.ExpectColumnPairValuesToBeEqual(column_A="observed", column_B="expected"))
    return suite


def coverage_suite(gp: GenerateParams, vp: ValidateParams):
    """Every ζ bin of every (split, family) holds at least its minimum count."""
    gx, gxe = gx_modules()
    suite = gx.ExpectationSuite(name="zeta_coverage")
    n_bins = sum(vp.zeta_bins if gp.families[name].physics == "gaussian" else 1
                 for split in SPLITS for name in gp.splits.get(split, {}))
    suite.add_expectation(gxe.ExpectTableRowCountToEqual(value=int(n_bins)))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="count", column_B="min_count",
                                                                      or_equal=True))
    return suite


def all_splits_suite(gp: GenerateParams):
    """The concatenated splits: no profile appears twice anywhere (leakage between splits).

    The not-null checks live here too: they do not depend on the split, and checking them once
    on the concatenated frame instead of once per split saves a third of the stage's GX time.
    """
    gx, gxe = gx_modules()
    suite = gx.ExpectationSuite(name="all_splits")
    for column in REQUIRED_COLUMNS:
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    total = sum(sum(c.values()) for c in gp.splits.values())
    suite.add_expectation(gxe.ExpectTableRowCountToEqual(value=int(total)))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="profile_hash"))
    return suite
