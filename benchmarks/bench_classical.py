"""Benchmark the classical estimators on clean binarized non-periodic walls.

Why: the Whittle estimator is the baseline the learned models must beat, and the Cramér–Rao
bound is the floor no unbiased estimator beats; the table puts both side by side per size. The
whole image pipeline is exercised (render → detect orientation → extract profile → estimate),
with random orientation/polarity, ζ uniform in [0.1, 1.0] and rms widths log-uniform in 3–12%
of the image size.

Run: ``python benchmarks/bench_classical.py [--n 300] [--out reports]``; writes
``bench_classical.json`` and ``bench_classical.md`` atomically. Timings: whole image
(``seconds_per_image``: detect + extract + Whittle + structure factor) and the Whittle fit alone per
profile, with σ² fixed and fitted; the machine's load average is recorded beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from roughml.physics import rendering as render

from roughml.physics import synthesis as synth
from roughml.imaging.classical import estimate_image
from roughml.physics.spectral import cramer_rao_bound, whittle
from roughml.imaging.detection import canonicalize, detect_orientation, extract_profile
from roughml.core.storage import atomic_write_text

SIZES = (128, 256, 512)
ZETA_RANGE = (0.1, 1.0)
WIDTH_FRACTION_RANGE = (0.03, 0.12)
GOALS = {128: 0.11, 256: 0.08, 512: 0.055}


def run_size(size: int, n: int, rng: np.random.Generator) -> dict:
    """Estimate ``n`` fresh images of one size; return error statistics and timings."""
    zetas = synth.sample_zeta(rng, n, ZETA_RANGE)
    profiles = synth.self_affine_profiles(rng, zetas, size, periodic=False, oversample=4)
    widths = synth.sample_rms_width(rng, n, size, WIDTH_FRACTION_RANGE)
    heights, _ = synth.quantise(profiles, widths, size)
    whittle_est = np.empty(n)
    free_est = np.empty(n)
    sf_est = np.empty(n)
    std_est = np.empty(n)
    geometry_ok = 0
    seconds = fit_seconds = free_seconds = 0.0
    for i in range(n):
        orientation = render.ORIENTATIONS[rng.integers(2)]
        bright = render.BRIGHT_SIDES[orientation][rng.integers(2)]
        image = render.render_binary(heights[i], size, orientation, bright)
        start = time.perf_counter()
        est = estimate_image(image)
        seconds += time.perf_counter() - start
        geometry_ok += (est.orientation, est.bright_side) == (orientation, bright)
        whittle_est[i], std_est[i], sf_est[i] = est.zeta, est.zeta_std, est.zeta_structure_factor
        h = extract_profile(canonicalize(image, detect_orientation(image)))
        start = time.perf_counter()
        whittle(h)
        fit_seconds += time.perf_counter() - start
        start = time.perf_counter()
        free_est[i] = whittle(h, noise="free")[0]
        free_seconds += time.perf_counter() - start

    def rms(err: np.ndarray) -> float | None:
        return float(np.sqrt(np.mean(err ** 2))) if err.size else None

    def stats(values: np.ndarray) -> dict:
        err = values - zetas
        bins = {f"{lo:.1f}-{lo + 0.3:.1f}": rms(err[(zetas >= lo) & (zetas < lo + 0.3 + 1e-9)])
                for lo in (0.1, 0.4, 0.7)}
        return {"rms": rms(err), "bias": float(np.mean(err)), "rms_by_bin": bins}

    return {
        "size": size, "n": n, "crb": cramer_rao_bound(size), "goal_whittle_rms": GOALS[size],
        "whittle": stats(whittle_est), "whittle_free_noise": stats(free_est),
        "structure_factor": stats(sf_est),
        "whittle_mean_reported_std": float(np.mean(std_est)),
        "geometry_correct": geometry_ok / n, "seconds_per_image": seconds / n,
        "whittle_seconds_per_profile": fit_seconds / n,
        "whittle_free_noise_seconds_per_profile": free_seconds / n,
    }


def markdown(results: list[dict]) -> str:
    lines = ["# Classical estimators on clean binarized non-periodic walls", "",
             f"ζ uniform in {list(ZETA_RANGE)}, rms width {list(WIDTH_FRACTION_RANGE)} of the size, "
             "random orientation/polarity, full image pipeline. RMS error of ζ:", "",
             "| size | n | CRB | Whittle (σ² = 1/12) | goal | Whittle (σ² fitted) | structure factor | "
             "Whittle bias | mean reported σ | geometry ok | s/image | Whittle ms/profile (σ² fixed / fitted) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['size']} | {r['n']} | {r['crb']:.3f} | {r['whittle']['rms']:.3f} | {r['goal_whittle_rms']:.3f} "
            f"| {r['whittle_free_noise']['rms']:.3f} | {r['structure_factor']['rms']:.3f} "
            f"| {r['whittle']['bias']:+.3f} | {r['whittle_mean_reported_std']:.3f} "
            f"| {r['geometry_correct']:.0%} | {r['seconds_per_image']:.3f} "
            f"| {1e3 * r['whittle_seconds_per_profile']:.2f} / {1e3 * r['whittle_free_noise_seconds_per_profile']:.2f} |")
    lines += ["", "Whittle rms error per ζ bin:", "", "| size | " + " | ".join(results[0]["whittle"]["rms_by_bin"]) + " |",
              "|---|" + "---|" * len(results[0]["whittle"]["rms_by_bin"])]
    for r in results:
        lines.append(f"| {r['size']} | " + " | ".join("–" if v is None else f"{v:.3f}" for v in r["whittle"]["rms_by_bin"].values()) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="images per size")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    results = []
    for size in SIZES:
        result = run_size(size, args.n, rng)
        results.append(result)
        print(f"{size:4d} px  CRB {result['crb']:.3f}  Whittle {result['whittle']['rms']:.3f} "
              f"(goal {GOALS[size]:.3f})  fitted-σ² {result['whittle_free_noise']['rms']:.3f}  "
              f"SF {result['structure_factor']['rms']:.3f}  geometry {result['geometry_correct']:.0%}", flush=True)
    report = {"benchmark": "classical", "seed": args.seed, "python": platform.python_version(),
              "machine": platform.machine(), "cpu_count": os.cpu_count(),
              "load_average": [round(x, 2) for x in os.getloadavg()], "results": results}
    atomic_write_text(args.out / "bench_classical.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(args.out / "bench_classical.md", markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
