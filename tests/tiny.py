"""A tiny but complete params.yaml for end-to-end tests (seconds, not minutes)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

TINY_PARAMS = {
    "generate": {
        "seed": 11,
        "zeta_range": [0.1, 1.2],
        "width_fraction_range": [0.04, 0.1],
        "oversample": 4,
        "max_clipped_fraction": 0.05,
        "lab": {"contrast": [0.4, 1.0], "illumination_gradient": [0.0, 0.2], "blur_sigma_px": [0.5, 1.5],
                "cnr": [4.0, 40.0], "islands": [0, 3], "island_radius_px": [1.0, 2.0],
                "rotation_deg": 2.0, "defocus_share": 0.2, "motion_share": 0.2, "poisson_share": 0.3,
                "banding": [0.0, 0.5], "defects": [0.0, 0.001], "jpeg_share": 0.2, "binarized_share": 0.1},
        "families": {
            "clean_64": {"length": [64], "periodic": False, "lab": False},
            "lab_small": {"length": [64, 96], "periodic": False, "lab": True},
            "dprm_64": {"length": [64], "lab": True, "physics": "dprm"},
        },
        "splits": {
            "train": {"clean_64": 96, "lab_small": 64, "dprm_64": 16},
            "validation": {"clean_64": 32, "lab_small": 16, "dprm_64": 8},
            "test": {"clean_64": 32, "lab_small": 24, "dprm_64": 8},
        },
    },
    "validate": {"zeta_bins": 2, "min_bin_share": 0.2, "max_clipped_fraction": 0.05, "sample_images": 8},
    "train": {"seed": 3, "model": "regressor", "epochs": 1, "batch_size": 16, "learning_rate": 0.003,
              "early_stopping_patience": 2, "stem_filters": 4, "tower_filters": 6, "tower_levels": 4,
              "mixed_precision": False},
    "evaluate": {"accuracy_tolerance": 0.025, "zeta_bins": [0.1, 0.6, 1.2], "report_range": [0.1, 1.0]},
    "register": {"model_name": "roughml"},
}


def tiny_params(**train_overrides) -> dict:
    """A deep copy of TINY_PARAMS with ``train`` keys overridden."""
    params = copy.deepcopy(TINY_PARAMS)
    params["train"].update(train_overrides)
    return params


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path
