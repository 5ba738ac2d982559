"""Benchmark ``roughml predict``: 1,000 images of 256–512 px with a registered model, start-up included.

Usage: ``.venv/bin/python benchmarks/bench_predict.py [--n 1000] [--out reports/bench_predict.json]``.
Writes images and a temporary sqlite registry in a temp folder, registers an (untrained, full-size)
regressor, then times one fresh process doing the whole job: the ``roughml predict`` CLI when its
dependencies are present, else ``predict_folder`` (which is what the CLI calls). Goal: <= 20 s on
2 cores.
"""

from __future__ import annotations

import argparse
import importlib.util
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

REPO = Path(__file__).resolve().parents[1]
SIZES = (256, 320, 384, 448, 512)


def write_images(folder: Path, n: int, seed: int = 0) -> dict[int, int]:
    """``n`` square PNGs of walls (fBm-like profiles, blur-free, mild noise); returns size counts."""
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
    """Log and register an untrained full-size regressor (params.yaml's train block); return the store URI."""
    import mlflow

    from roughml import pyfunc_model, registry, tracking
    from roughml.model import build_model
    from roughml.params import load_params, train_params

    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    os.chdir(workdir)
    tracking.configure(uri)
    keras_path = workdir / "model.keras"
    build_model("regressor", train_params(load_params(REPO / "params.yaml"))).save(keras_path)
    with mlflow.start_run(experiment_id=tracking.ensure_experiment("bench")) as run:
        info = pyfunc_model.log_model(keras_path)
    registry.register_and_promote(run.info.run_id, "roughml", info.model_uri, 0.1)
    return uri


def cli_ready() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("roughml.batch", "roughml.imageio",
                                                                   "roughml.extract"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--no-classical", action="store_true", help="skip the Whittle fit (zeta_classical)")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "bench_predict.json")
    args = parser.parse_args()
    out_path = args.out.resolve()
    with tempfile.TemporaryDirectory(prefix="roughml-bench-") as tmp:
        work = Path(tmp)
        images = work / "images"
        images.mkdir()
        counts = write_images(images, args.n)
        uri = register_model(work)
        output = work / "predictions.csv"
        if cli_ready() and not args.no_classical:
            mode = "cli"
            command = [str(Path(sys.executable).with_name("roughml")), "predict", str(images),
                       "--tracking-uri", uri, "--output", str(output)]
        else:
            mode = "predict_folder (stand-ins for roughml.batch/imageio/extract)"
            script = (
                "import sys, json\n"
                f"sys.path.insert(0, {str(REPO / 'tests')!r})\n"
                "import test_predict\n"  # installs stand-ins only for modules not written yet
                "from roughml import tracking, registry\n"
                "from roughml.predict import predict_folder\n"
                f"tracking.configure({uri!r})\n"
                f"rows = predict_folder(sys.argv[1], registry.resolve_model_uri('roughml'), classical={not args.no_classical})\n"
                "print(json.dumps({'rows': len(rows), 'ok': sum(r.status == 'ok' for r in rows)}))\n")
            command = [sys.executable, "-c", script, str(images)]
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, cwd=work)
        wall = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            raise SystemExit(f"predict failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        if mode == "cli":
            import pandas as pd

            df = pd.read_csv(output)
            rows, ok = len(df), int((df["status"] == "ok").sum())
        else:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            rows, ok = result["rows"], result["ok"]
    report = {
        "benchmark": "predict", "mode": mode, "classical": not args.no_classical, "images": args.n, "sizes_px": counts, "rows": rows, "ok_rows": ok,
        "wall_s_including_startup": round(wall, 2), "images_per_s": round(args.n / wall, 1),
        "goal_s": 20.0, "meets_goal": wall <= 20.0, "cpu_count": os.cpu_count(),
        "platform": platform.platform(), "python": platform.python_version(),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
