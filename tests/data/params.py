"""Small generate params for the data tests: a clean, a periodic and a mixed-length lab family."""

from __future__ import annotations

from roughml.core.config import FamilyParams, GenerateParams, LabParams


def small_params(seed: int = 123, **overrides) -> GenerateParams:
    """Generate params of 32-48 px walls (a few milliseconds per split); ``overrides`` replace fields."""
    families = {
        "clean_32": FamilyParams("clean_32", (32,)),
        "periodic_32": FamilyParams("periodic_32", (32,), periodic=True),
        "lab_mixed": FamilyParams("lab_mixed", (32, 48), lab=True),
    }
    values = dict(
        seed=seed, zeta_range=(0.05, 1.25), width_fraction_range=(0.03, 0.12), oversample=4,
        max_clipped_fraction=0.02, lab=LabParams(), families=families,
        splits={"train": {"clean_32": 30, "periodic_32": 10, "lab_mixed": 20},
                "validation": {"clean_32": 10, "lab_mixed": 6},
                "test": {"lab_mixed": 8, "periodic_32": 6}},
    )
    values.update(overrides)
    return GenerateParams(**values)
