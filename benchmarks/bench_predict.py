"""Benchmark ``roughml predict``: 1,000 images of 256–512 px, wall time of the CLI, start-up included.

Usage: ``.venv/bin/python benchmarks/bench_predict.py [--n 1000] [--repeats 2]
[--out reports/bench_predict.json]``.

Why a subprocess running the real CLI: what a user waits for includes Python, MLflow and
TensorFlow start-up, the registry lookup and model loading, not only the per-image work. The
images (PNG, walls with mild noise, half of them horizontal, sizes drawn from 256–512 px) and a
temporary sqlite registry holding an *untrained* regressor with the default ``TrainParams()``
architecture are written to a temp folder (model speed depends on the architecture and the image
shapes, not on the weights). Each mode (with and without the classical Whittle estimate) runs
``--repeats`` times and the best wall time is reported, beside the load average, because the
machine may be shared. Goal: <= 20 s with ``--no-classical`` on 2 cores. The report is written
atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from roughml.core.storage import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
SIZES = (256, 320, 384, 448, 512)
GOAL_S = 20.0
MODEL_NAME = "roughml-bench"


def write_images(folder: Path, n: int, seed: int = 0) -> dict[int, int]:
    """``n`` square PNGs of walls (random-walk profiles, blur-free, mild noise); returns size counts."""
    rng = np.random.default_rng(seed)
    counts: dict[int, int] = {}
    for i in range(n):
        size = int(rng.choice(SIZES))
        counts[size] = counts.get(size, 0) + 1
        h = np.cumsum(rng.normal(0.0, 1.0, size))
        h = size / 2 + (h - h.mean()) * (0.08 * size / (h.std() + 1e-9))
        img = np.where(np.arange(size)[None, :] < h[:, None], 60.0, 190.0)
        img += rng.normal(0.0, 8.0, img.shape)
        if i % 2:
            img = img.T  # half of them horizontal walls
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"img_{i:04d}.png")
    return counts


def register_model(workdir: Path) -> str:
    """Log and register an untrained regressor (default ``TrainParams()``); return the store URI.

    Runs in a child process so that this process never imports TensorFlow (its threads would
    compete with the timed runs).
    """
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    script = f"""
import mlflow
from roughml.serving import pyfunc as pyfunc_model
from roughml.serving import registry
from roughml.serving import tracking
from roughml.learning.model import build_model
from roughml.core.config import TrainParams
tracking.configure({uri!r})
defaults = TrainParams()
build_model("regressor", stem_filters=defaults.stem_filters, tower_filters=defaults.tower_filters,
            tower_levels=defaults.tower_levels).save("model.keras")
with mlflow.start_run(experiment_id=tracking.ensure_experiment("bench")) as run:
    info = pyfunc_model.log_model("model.keras")
registry.register_and_promote(run.info.run_id, {MODEL_NAME!r}, info.model_uri, 0.1)
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"registering the benchmark model failed:\n{proc.stderr[-3000:]}")
    return uri


def cli_command() -> list[str]:
    """The installed ``roughml`` console script (``python -m roughml.cli`` when it is missing)."""
    script = Path(sys.executable).with_name("roughml")
    return [str(script)] if script.exists() else [sys.executable, "-m", "roughml.cli"]


def time_cli(images: Path, uri: str, output: Path, classical: bool, workdir: Path) -> dict:
    """Run ``roughml predict`` once; return wall time, load averages and the row counts."""
    import pandas as pd

    command = cli_command() + ["predict", str(images), "--tracking-uri", uri, "--model-name", MODEL_NAME,
                               "--output", str(output), "--classical" if classical else "--no-classical"]
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"roughml predict failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    df = pd.read_csv(output)
    ok = df["status"] == "ok"
    return {"wall_s": round(wall, 2), "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()], "rows": int(len(df)),
            "ok_rows": int(ok.sum()), "classical_values": int(df.loc[ok, "zeta_classical"].notna().sum()),
            "stderr_lines": len([line for line in proc.stderr.splitlines() if line.strip()])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="images")
    parser.add_argument("--repeats", type=int, default=2, help="runs per mode; the best is reported")
    parser.add_argument("--modes", choices=("both", "classical", "no-classical"), default="both")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench_predict.json")
    args = parser.parse_args()
    modes = {"both": (False, True), "classical": (True,), "no-classical": (False,)}[args.modes]
    results = {}
    with tempfile.TemporaryDirectory(prefix="roughml-bench-") as tmp:
        work = Path(tmp)
        images = work / "images"
        images.mkdir()
        counts = write_images(images, args.n)
        uri = register_model(work)
        for classical in modes:
            runs = [time_cli(images, uri, work / "predictions.csv", classical, work) for _ in range(args.repeats)]
            best = min(runs, key=lambda run: run["wall_s"])
            key = "classical" if classical else "no_classical"
            results[key] = {"best_wall_s": best["wall_s"], "images_per_s": round(args.n / best["wall_s"], 1),
                            "meets_goal": best["wall_s"] <= GOAL_S, "runs": runs}
            print(f"{key:>12}: best {best['wall_s']:.1f} s of {[r['wall_s'] for r in runs]} "
                  f"({results[key]['images_per_s']} images/s), load {best['load_average_before']}", flush=True)
    report = {
        "benchmark": "predict", "mode": "cli subprocess (roughml predict)", "images": args.n,
        "sizes_px": {str(k): v for k, v in sorted(counts.items())}, "architecture": "TrainParams() defaults",
        "goal_s": GOAL_S, "goal_applies_to": "no_classical", "repeats": args.repeats, "results": results,
        "cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
    }
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
