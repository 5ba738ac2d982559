"""Tiny generate/validate params for the validation tests: five families (one simulated by its physics, one of
long narrow strips), every sample rendered."""

from __future__ import annotations

from roughml.core.config import generate_params, validate_params

PARAMS = {
    "generate": {
        "seed": 12345,
        "zeta_range": [0.05, 1.25],
        "width_fraction_range": [0.03, 0.12],
        "oversample": 4,
        "max_clipped_fraction": 0.02,
        "families": {
            "clean_64": {"length": [64], "periodic": False, "lab": False},
            "periodic_64": {"length": [64], "periodic": True, "lab": False},
            "lab_small": {"length": [64, 96], "periodic": False, "lab": True},
            "dprm_64": {"length": [64], "lab": True, "physics": "dprm"},
            "lab_strip": {"length": [96, 128], "transverse": [32, 48], "lab": True, "cnr": [0.7, 3.0]},
        },
        "splits": {
            "train": {"clean_64": 40, "lab_small": 20, "dprm_64": 10, "lab_strip": 12},
            "validation": {"clean_64": 30, "periodic_64": 20},
            "test": {"clean_64": 30, "lab_small": 20},
        },
    },
    # Every sample is rendered (sample_images above every family size), so image corruptions
    # cannot hide outside the sample.
    "validate": {"zeta_bins": 2, "min_bin_share": 0.5, "max_clipped_fraction": 0.02, "sample_images": 1000},
}
GP = generate_params(PARAMS)
VP = validate_params(PARAMS)
