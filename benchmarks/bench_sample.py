"""Benchmark the ensemble estimates of ``roughml predict --report`` on repeated samples of walls.

Why: a report quotes one ζ per sample with a 95 % interval; that promise is only as good as the
interval's coverage. This benchmark draws ``--samples`` samples (default 100) of ``--walls`` walls
(default 30) that share one ζ (drawn per sample, uniform in ``--zeta-range``), measures every wall
with the model (``models/model.keras`` through ``RoughnessPyfunc.load_keras``, the same per-image
work and network as ``roughml predict``), and for every sample computes what the report computes:
the random-effects combination of the model's (ζ_i, σ_i) (:func:`roughml.physics.ensemble.combine_walls`)
and the classical ensemble S(q) fit of the walls' profiles
(:func:`roughml.physics.ensemble.ensemble_fit`), each with its bootstrap-over-walls 95 % interval.
Reported over the samples: bias and rms error of each (bootstrap 95 % intervals over samples), the
coverage of each 95 % interval (Wilson 95 % interval), the mean interval width, and the mean
wall-to-wall spread τ the model's walls show (0 would be right: the walls share one ζ).

Walls come from a *generator*: a callable ``generator(rng, zeta, n) -> list of 2-D uint8 images``.
The default, ``lab``, is the project's lab renderer (``render_lab``) on ``self_affine_profiles``
walls with the ``generate.lab`` ranges of ``params.yaml``'s defaults; ``--generator
package.module:function`` uses any other (e.g. a physical simulator rendered into images).

Run: ``python benchmarks/bench_sample.py [--samples 100] [--walls 30] [--generator lab]
[--model models/model.keras] [--out reports]``; writes ``bench_sample.json`` and
``bench_sample.md`` atomically. About 3 minutes on 2 cores with the defaults.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from roughml.core.config import LabParams
from roughml.core.formats import json_ready
from roughml.core.storage import atomic_write_text
from roughml.data.datasets import lab_ranges
from roughml.physics.ensemble import combine_walls, ensemble_fit, fit_window, with_systematic
from roughml.physics.geometry import BRIGHT_SIDES
from roughml.physics.rendering import render_lab, sample_lab
from roughml.physics.synthesis import quantise, sample_rms_width, self_affine_profiles

Generator = Callable[[np.random.Generator, float, int], list]


def lab_walls(rng: np.random.Generator, zeta: float, n: int, length: int = 256,
              width_fraction: tuple[float, float] = (0.03, 0.12)) -> list[np.ndarray]:
    """``n`` lab-like square images of walls of one ζ: random widths, degradations and geometry."""
    profiles = self_affine_profiles(rng, np.full(n, zeta), length)
    heights, _ = quantise(profiles, sample_rms_width(rng, n, length, width_fraction), length)
    labs = sample_lab(rng, n, **lab_ranges(LabParams()))
    images = []
    for h, lab in zip(heights, labs):
        orientation = "horizontal" if rng.random() < 0.5 else "vertical"
        bright = BRIGHT_SIDES[orientation][int(rng.integers(0, 2))]
        images.append(render_lab(h, length, orientation, bright, lab, rng))
    return images


def independent_walls(rng: np.random.Generator, zeta: float, n: int, length: int = 256,
                      width_fraction: tuple[float, float] = (0.03, 0.12), subpixel: int = 8) -> list[np.ndarray]:
    """``n`` walls of one ζ imaged by the independent renderer (``independent_render.py``): optics,
    noise, rotation and digitisation the model never trained on; walls drawn at 1/8 px."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from independent_render import render

    profiles = self_affine_profiles(rng, np.full(n, zeta), length)
    rms = sample_rms_width(rng, n, length, width_fraction)
    heights = np.rint(profiles * rms[:, None] * subpixel).astype(np.int64)
    return [render(h, rng, subpixel=subpixel)[0] for h in heights]


GENERATORS: dict[str, Generator] = {"lab": lab_walls, "independent": independent_walls}


def resolve_generator(name: str) -> Generator:
    """A generator by name (:data:`GENERATORS`) or as ``package.module:function``."""
    if name in GENERATORS:
        return GENERATORS[name]
    module, _, attribute = name.partition(":")
    if not attribute:
        raise SystemExit(f"unknown generator {name!r}: one of {sorted(GENERATORS)} or package.module:function")
    return getattr(importlib.import_module(module), attribute)


def measure_sample(model, images: list[np.ndarray], zeta: float, rng: np.random.Generator,
                   min_scale_px: float, n_boot: int) -> dict:
    """The report's two ensemble estimates of one sample, and their errors against ``zeta``."""
    records = model.predict_items([(f"wall[{i}]", image, None) for i, image in enumerate(images)])
    ok = [r for r in records if r["status"] == "ok" and np.isfinite(r["zeta"]) and r["zeta_std"] > 0]
    profiles = [np.asarray(r["profile"], dtype=np.float64) for r in ok if r.get("profile") is not None
                and np.asarray(r["profile"]).size >= 4 * min_scale_px]  # a window needs 2 octaves
    out = {"zeta": zeta, "walls_ok": len(ok), "profiles": len(profiles),
           "walls": [[float(r["zeta"]), float(r["zeta_std"])] for r in ok]}
    if ok:
        combined = combine_walls([r["zeta"] for r in ok], [r["zeta_std"] for r in ok], rng=rng, n_boot=n_boot)
        out.update(model=combined.zeta, model_ci=list(combined.ci95), tau=combined.tau,
                   mean_wall=float(np.mean([r["zeta"] for r in ok])))
    if profiles:
        window = fit_window([p.size for p in profiles], min_scale_px)
        fit = ensemble_fit(profiles, window, rng=rng, n_boot=n_boot)
        out.update(classical=fit.fit_s.zeta, classical_ci=list(fit.ci95_s),
                   crossover=fit.crossover.scale_px is not None)
    if ok:  # the report's total interval: statistical ⊕ estimator-to-estimator systematic
        systematic, total = with_systematic(out["model"], tuple(out["model_ci"]), [out.get("classical")])
        out.update(model_total=out["model"], model_total_ci=list(total), systematic=systematic)
    return out


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score 95 % interval of a proportion."""
    if n == 0:
        return float("nan"), float("nan")
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def error_summary(samples: list[dict], key: str, rng: np.random.Generator, n_resamples: int = 2000) -> dict:
    """Bias, rms (bootstrap 95 % over samples), coverage (Wilson 95 %) and interval width of ``key``."""
    rows = [s for s in samples if s.get(key) is not None and np.isfinite(s[key])]
    if not rows:
        return {"n": 0}
    err = np.array([s[key] - s["zeta"] for s in rows])
    ci = np.array([s[f"{key}_ci"] for s in rows], dtype=np.float64)
    truth = np.array([s["zeta"] for s in rows])
    hits = int(np.sum((ci[:, 0] <= truth) & (truth <= ci[:, 1])))
    index = rng.integers(0, err.size, size=(n_resamples, err.size))
    bias_b, rms_b = err[index].mean(axis=1), np.sqrt((err[index] ** 2).mean(axis=1))
    return {"n": int(err.size), "bias": float(err.mean()), "bias_95": np.percentile(bias_b, [2.5, 97.5]).tolist(),
            "rms": float(np.sqrt(np.mean(err ** 2))), "rms_95": np.percentile(rms_b, [2.5, 97.5]).tolist(),
            "coverage": hits / err.size, "coverage_95": list(wilson(hits, err.size)),
            "mean_interval_width": float(np.nanmean(ci[:, 1] - ci[:, 0]))}


def markdown(report: dict) -> str:
    a = report["args"]
    lines = [f"{a['samples']} samples of {a['walls']} walls sharing one ζ (uniform in {a['zeta_range'][0]}–"
             f"{a['zeta_range'][1]}), generator `{a['generator']}`, model `{a['model']}`, fit window from "
             f"{a['fit_min_px']} px; {report['seconds']:.0f} s.", "",
             "| estimate | samples | bias (95 %) | rms error (95 %) | coverage of the 95 % interval (95 %) | mean width |",
             "|---|---|---|---|---|---|"]
    for label, key in (("model, random-effects combination (statistical interval)", "model"),
                       ("model, total interval (statistical ⊕ systematic, as the report)", "model_total"),
                       ("classical ensemble S(q)", "classical")):
        m = report["summary"][key]
        if not m.get("n"):
            lines.append(f"| {label} | 0 | – | – | – | – |")
            continue
        lines.append(f"| {label} | {m['n']} | {m['bias']:+.4f} ({m['bias_95'][0]:+.4f} … {m['bias_95'][1]:+.4f}) | "
                     f"{m['rms']:.4f} ({m['rms_95'][0]:.4f}–{m['rms_95'][1]:.4f}) | {m['coverage']:.0%} "
                     f"({m['coverage_95'][0]:.0%}–{m['coverage_95'][1]:.0%}) | {m['mean_interval_width']:.4f} |")
    extra = report["summary"]
    lines += ["", f"Mean wall-to-wall spread τ of the model's walls: {extra['mean_tau']:.4f} (the walls share one ζ: "
              f"τ > 0 means σ_i understate the per-wall errors). Crossovers flagged in {extra['crossovers']} samples."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--walls", type=int, default=30)
    parser.add_argument("--zeta-range", type=float, nargs=2, default=(0.2, 1.0))
    parser.add_argument("--generator", default="lab", help="lab, or package.module:function")
    parser.add_argument("--model", type=Path, default=Path("models/model.keras"))
    parser.add_argument("--fit-min-px", type=float, default=5.0)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args()

    from roughml.serving.pyfunc import RoughnessPyfunc

    generator = resolve_generator(args.generator)
    model = RoughnessPyfunc(classical=True)
    model.load_keras(args.model)
    root = np.random.SeedSequence(args.seed)
    start = time.perf_counter()
    samples = []
    for child in root.spawn(args.samples):
        rng = np.random.default_rng(child)
        zeta = float(rng.uniform(*args.zeta_range))
        samples.append(measure_sample(model, generator(rng, zeta, args.walls), zeta, rng, args.fit_min_px,
                                      args.bootstrap))
    rng = np.random.default_rng(args.seed + 1)
    summary = {"model": error_summary(samples, "model", rng), "model_total": error_summary(samples, "model_total", rng),
               "classical": error_summary(samples, "classical", rng),
               "mean_tau": float(np.mean([s.get("tau", np.nan) for s in samples])),
               "crossovers": int(sum(bool(s.get("crossover")) for s in samples))}
    report = {"args": {**vars(args), "model": str(args.model), "out": str(args.out)}, "summary": summary,
              "samples": samples, "seconds": time.perf_counter() - start,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()}}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "bench_sample.json", json.dumps(json_ready(report), indent=2, allow_nan=False) + "\n")
    atomic_write_text(args.out / "bench_sample.md", markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
