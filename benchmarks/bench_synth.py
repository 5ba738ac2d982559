"""Throughput of the synthetic-data pipeline on one thread.

Measures profiles/s (N=20000, L=128, non-periodic, oversample 4), clean binary renders/s
(128x128, batched), lab renders/s (128x128) and bytes per sample of a 128 px split file; writes
``reports/bench_synth.json`` atomically and prints a small table.

Run: ``.venv/bin/python benchmarks/bench_synth.py``
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from roughml.data.datasets import generate_split, lab_ranges  # noqa: E402
from roughml.core.config import FamilyParams, GenerateParams, LabParams  # noqa: E402
from roughml.physics.rendering import render_binary_batch, render_lab, sample_lab  # noqa: E402
from roughml.core.storage import atomic_write_text, save_arrays  # noqa: E402
from roughml.physics.synthesis import quantise, sample_rms_width, sample_zeta, self_affine_profiles  # noqa: E402

LENGTH = 128


def _best_rate(func, count: int, repeats: int = 3) -> float:
    """Items per second of the fastest of ``repeats`` runs (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> dict:
    rng = np.random.default_rng(0)
    n_profiles = 20000
    zeta = sample_zeta(rng, n_profiles, (0.05, 1.25))
    profiles_per_s = _best_rate(lambda: self_affine_profiles(rng, zeta, LENGTH), n_profiles)

    heights, _ = quantise(self_affine_profiles(rng, zeta[:5000], LENGTH),
                          sample_rms_width(rng, 5000, LENGTH, (0.03, 0.12)), LENGTH)
    binary_per_s = _best_rate(lambda: render_binary_batch(heights, LENGTH), 5000)

    labs = sample_lab(rng, 200, **lab_ranges(LabParams()))

    def lab_renders() -> None:
        for i, lab in enumerate(labs):
            render_lab(heights[i], LENGTH, "vertical", "right", lab, np.random.default_rng(i))

    lab_per_s = _best_rate(lab_renders, len(labs))

    families = {"clean_128": FamilyParams("clean_128", (LENGTH,)),
                "lab_128": FamilyParams("lab_128", (LENGTH,), lab=True)}
    gp = GenerateParams(seed=1, zeta_range=(0.05, 1.25), width_fraction_range=(0.03, 0.12), oversample=4,
                        max_clipped_fraction=0.02, lab=LabParams(), families=families,
                        splits={s: {"clean_128": 1000, "lab_128": 1000} for s in ("train", "validation", "test")})
    start = time.perf_counter()
    split = generate_split(gp, "train")
    split_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.npz"
        save_arrays(path, split)
        bytes_per_sample = path.stat().st_size / len(split["zeta"])

    report = {
        "profiles_per_s": round(profiles_per_s, 1),
        "binary_renders_per_s": round(binary_per_s, 1),
        "lab_renders_per_s": round(lab_per_s, 1),
        "split_samples_per_s": round(len(split["zeta"]) / split_s, 1),
        "bytes_per_sample_128px": round(bytes_per_sample, 1),
        "settings": {"length": LENGTH, "n_profiles": n_profiles, "periodic": False, "oversample": 4,
                     "threads": 1},
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.processor() or platform.machine()},
    }
    atomic_write_text(Path("reports") / "bench_synth.json", json.dumps(report, indent=2) + "\n")
    print(f"{'metric':<26}{'value':>12}")
    for key in ("profiles_per_s", "binary_renders_per_s", "lab_renders_per_s", "split_samples_per_s",
                "bytes_per_sample_128px"):
        print(f"{key:<26}{report[key]:>12,.1f}")
    return report


if __name__ == "__main__":
    main()
