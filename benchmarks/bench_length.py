"""Does the trained model's ζ depend on the wall's length? Bias by length, with 95 % intervals.

Why: issue #12 found the model read walls of 2 mod 4 rows up to 0.17 too smooth (the same walls
cut to 226 rows instead of 224), while the Whittle fit did not move. Two experiments, both on clean
binarized walls (ζ uniform in 0.1–1.0, rms width 3–12 % of the image) drawn from a root seed the
pipeline never uses:

1. *residues*: the same walls, generated 256 rows long, cut to every even length 208 … 256
   (the issue's experiment): bias per length, and per length mod 4;
2. *range*: fresh walls at lengths from 64 to 4096 px: bias and rms per length, and the spread
   (max − min) of the bias across lengths, against issue #12's target (≤ 0.02).

Both report the model and the Whittle fit on the same images, each bias with a bootstrap 95 %
interval, and the Cramér–Rao bound per length.

Run: ``python benchmarks/bench_length.py [--model models/model.keras] [--walls 60] [--out reports]``;
writes ``bench_length.json`` and ``bench_length.md`` atomically.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from roughml.core.storage import atomic_write_text
from roughml.imaging.canonical import prepare
from roughml.imaging.classical import estimate_image
from roughml.learning.model import load, predict_zeta
from roughml.physics.rendering import render_binary
from roughml.physics.spectral import cramer_rao_bound
from roughml.physics.synthesis import quantise, sample_rms_width, self_affine_profiles

SEED = 20261124 + 4241          # disjoint from the pipeline's streams (generate.seed + offsets < 4241)
RESIDUE_LENGTHS = list(range(208, 257, 2))
RANGE_LENGTHS = [64, 90, 128, 181, 256, 362, 512, 724, 1024, 2048, 4096]
MAX_TRANSVERSE = 512             # the wall band is cropped anyway; wider images only cost time
SPREAD_TARGET = 0.02


def draw_walls(rng: np.random.Generator, n: int, length: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``n`` walls of ``length`` rows: (ζ, int heights (n, length), transverse size)."""
    transverse = min(length, MAX_TRANSVERSE)
    zeta = rng.uniform(0.1, 1.0, n)
    profiles = self_affine_profiles(rng, zeta, length, periodic=False, oversample=4)
    rms = sample_rms_width(rng, n, transverse, (0.03, 0.12))
    heights, _ = quantise(profiles, rms, transverse)
    return zeta, heights, transverse


def measure(model, heights: np.ndarray, transverse: int) -> tuple[np.ndarray, np.ndarray]:
    """Model ζ and Whittle ζ of every wall, geometry detected from the image as in production."""
    prepared, whittle = [], []
    for h in heights:
        image = render_binary(h, transverse)
        prepared.append(prepare(image).image)
        whittle.append(estimate_image(image).zeta)
    model_zeta = np.full(len(prepared), np.nan)
    shapes = {}
    for i, img in enumerate(prepared):
        shapes.setdefault(img.shape, []).append(i)
    for members in shapes.values():
        model_zeta[members] = predict_zeta(model, np.stack([prepared[i] for i in members]))[0]
    return model_zeta, np.asarray(whittle)


def bias_with_interval(err: np.ndarray, rng: np.random.Generator, resamples: int = 2000) -> dict:
    """Mean error and its percentile-bootstrap 95 % interval; rms error."""
    err = err[np.isfinite(err)]
    means = [err[rng.integers(0, err.size, err.size)].mean() for _ in range(resamples)]
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"bias": float(err.mean()), "bias_ci95": [float(lo), float(hi)],
            "rms": float(np.sqrt(np.mean(err ** 2))), "n": int(err.size)}


def residue_scan(model, n: int, rng: np.random.Generator) -> list[dict]:
    """The same ``n`` walls (256 rows) cut to every even length 208 … 256."""
    zeta, heights, transverse = draw_walls(rng, n, 256)
    rows = []
    for length in RESIDUE_LENGTHS:
        model_zeta, whittle = measure(model, heights[:, :length], transverse)
        rows.append({"length": length, "mod4": length % 4, "crb": cramer_rao_bound(length),
                     "model": bias_with_interval(model_zeta - zeta, rng),
                     "whittle": bias_with_interval(whittle - zeta, rng)})
    return rows


def range_scan(model, n: int, rng: np.random.Generator) -> list[dict]:
    """Fresh walls at every length of ``RANGE_LENGTHS``."""
    rows = []
    for length in RANGE_LENGTHS:
        zeta, heights, transverse = draw_walls(rng, n, length)
        model_zeta, whittle = measure(model, heights, transverse)
        rows.append({"length": length, "crb": cramer_rao_bound(length),
                     "model": bias_with_interval(model_zeta - zeta, rng),
                     "whittle": bias_with_interval(whittle - zeta, rng)})
    return rows


def by_residue(rows: list[dict]) -> dict[str, float]:
    """Mean model and Whittle bias over the lengths of each residue mod 4."""
    out = {}
    for residue in (0, 2):
        sel = [r for r in rows if r["mod4"] == residue]
        out[f"model_mod4_{residue}"] = float(np.mean([r["model"]["bias"] for r in sel]))
        out[f"whittle_mod4_{residue}"] = float(np.mean([r["whittle"]["bias"] for r in sel]))
    return out


def spread(rows: list[dict], key: str) -> float:
    biases = [r[key]["bias"] for r in rows]
    return float(max(biases) - min(biases))


def markdown(report: dict) -> str:
    def cell(stats: dict) -> str:
        lo, hi = stats["bias_ci95"]
        return f"{stats['bias']:+.3f} ({lo:+.3f}…{hi:+.3f}) | {stats['rms']:.3f}"

    lines = [f"# Length benchmark — model `{report['model']}`", "",
             f"{report['walls']} clean binarized walls per length, ζ uniform in 0.1–1.0; bias with "
             "bootstrap 95 % interval | rms.", "",
             "## Same walls cut to every even length (issue #12's experiment)", "",
             "| rows | mod 4 | model bias (95 %) | model rms | Whittle bias (95 %) | Whittle rms | CRB |",
             "|---|---|---|---|---|---|---|"]
    for r in report["residues"]:
        lines.append(f"| {r['length']} | {r['mod4']} | {cell(r['model'])} | {cell(r['whittle'])} | {r['crb']:.3f} |")
    res = report["residue_summary"]
    lines += ["", f"Mean bias over lengths ≡ 0 / ≡ 2 mod 4: model {res['model_mod4_0']:+.3f} / "
              f"{res['model_mod4_2']:+.3f}, Whittle {res['whittle_mod4_0']:+.3f} / {res['whittle_mod4_2']:+.3f}.",
              "", "## Lengths 64 … 4096", "",
              "| rows | model bias (95 %) | model rms | Whittle bias (95 %) | Whittle rms | CRB |",
              "|---|---|---|---|---|---|"]
    for r in report["range"]:
        lines.append(f"| {r['length']} | {cell(r['model'])} | {cell(r['whittle'])} | {r['crb']:.3f} |")
    lines += ["", f"Spread of the bias across lengths (max − min): model {report['range_spread_model']:.3f}, "
              f"Whittle {report['range_spread_whittle']:.3f}; target ≤ {SPREAD_TARGET}.",
              "", f"{report['seconds']:.0f} s on {report['machine']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/model.keras"))
    parser.add_argument("--walls", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args()
    started = time.perf_counter()
    model = load(args.model)
    rng = np.random.default_rng(SEED)
    residues = residue_scan(model, args.walls, rng)
    ranges = range_scan(model, args.walls, rng)
    report = {"model": str(args.model), "walls": args.walls, "residues": residues,
              "residue_summary": by_residue(residues), "range": ranges,
              "range_spread_model": spread(ranges, "model"), "range_spread_whittle": spread(ranges, "whittle"),
              "spread_target": SPREAD_TARGET, "seconds": time.perf_counter() - started,
              "machine": f"{platform.machine()}, {platform.processor() or platform.system()}"}
    atomic_write_text(args.out / "bench_length.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(args.out / "bench_length.md", markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
