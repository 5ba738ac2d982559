"""The real ``roughml`` command line, run in subprocesses as a user would run it.

Every command runs in a temporary working directory with ``MLFLOW_TRACKING_URI`` pointing at a
temporary sqlite store, so nothing touches the repository's own data, models or ``mlflow.db``.
What is checked is the contract the README promises: one row per file with the documented
columns, exit codes 0 / 1 / 2, usage errors as exactly one ``error:`` line on stderr (never a
traceback), and output files that are replaced atomically.

Cost: every subprocess pays the Python + MLflow (and for ``predict`` TensorFlow) start-up, so the
module shares one image folder, one registered model, one tiny dataset and one ``predict`` run
between tests.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.tiny import REPO, TINY_PARAMS, write_params

HEADER = "path,wall,kind,zeta,zeta_std,zeta_classical,length_px,x,y,orientation,width,height,warning,status,message"
#: Files of the mixed folder that are good images: name -> (orientation, height, width).
GOOD = {
    "clean_a.png": ("vertical", 96, 64),
    "wall ζ 0.8 – ü.png": ("horizontal", 64, 96),
    "lab.tif": ("vertical", 96, 64),
}
#: Files of the mixed folder that must give error rows: name -> a word their reason must contain.
BAD = {
    "corrupt.png": "corrupt",
    "empty.png": "empty",
    "notes.txt": "not an image",
    "uniform.png": "uniform",
}
#: Upper bound for one CLI call (a hang guard, not a speed test: calls take seconds).
CALL_TIMEOUT_S = 240


def _roughml_exe() -> str:
    """The ``roughml`` console script of the environment running the tests."""
    exe = Path(sys.executable).with_name("roughml")
    found = str(exe) if exe.exists() else shutil.which("roughml")
    if not found:
        pytest.skip("roughml console script not installed")
    return found


def run_cli(args: list[str], cwd: Path, tracking_uri: str, timeout: float = CALL_TIMEOUT_S):
    """Run ``roughml *args`` in ``cwd`` with the given tracking store; return the CompletedProcess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return subprocess.run([_roughml_exe(), *args], cwd=str(cwd), env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def sqlite_uri(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def assert_usage_error(proc, *fragments: str) -> str:
    """Exit 2, exactly one non-empty stderr line starting with 'error:', no traceback; return it."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER
    return list(csv.DictReader(text.splitlines()))


def temp_leftovers(folder: Path) -> list[str]:
    """Names of temporary files that an interrupted atomic write would leave (hidden or .tmp)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp"))


def _by_name(rows: list[dict]) -> dict[str, dict]:
    return {Path(row["path"]).name: row for row in rows}


# --- inputs ----------------------------------------------------------------------------------------

def _good_images() -> dict[str, np.ndarray]:
    """Three synthetic walls: clean vertical, clean horizontal (top bright), lab-like vertical."""
    from roughml.physics.rendering import LabSample, render_binary, render_lab
    from roughml.physics.synthesis import quantise, self_affine_profiles

    rng = np.random.default_rng(2024)
    profiles = self_affine_profiles(rng, [0.5, 0.8, 0.4], 96)
    heights, _ = quantise(profiles, 6.0, 64)
    lab = LabSample(contrast=0.7, illumination=0.1, blur_sigma=1.0, noise_sigma=0.03, n_islands=1,
                    island_radius=1.5, rotation_deg=1.0)
    return {
        "clean_a.png": render_binary(heights[0], 64),
        "wall ζ 0.8 – ü.png": render_binary(heights[1], 64, "horizontal", "top"),
        "lab.tif": render_lab(heights[2], 64, "vertical", "left", lab, np.random.default_rng(5)),
    }


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    for name, image in _good_images().items():
        Image.fromarray(image).save(folder / name)
    return folder


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory, good_folder) -> Path:
    """The good walls plus a corrupt PNG, an empty file, a text file and a uniform image."""
    folder = tmp_path_factory.mktemp("mixed")
    for path in good_folder.iterdir():
        shutil.copy(path, folder / path.name)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x01 not really a png" * 4)
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("measured on Tuesday\n", encoding="utf-8")
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(folder / "uniform.png")
    assert sorted(p.name for p in folder.iterdir()) == sorted([*GOOD, *BAD])
    return folder


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    """An empty working directory (no params.yaml, no mlflow.db)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def check_rows(rows: list[dict[str, str]], *, classical: bool) -> None:
    """One row per input file; ok rows with finite numbers and the image's geometry; error rows
    with a reason and no numbers."""
    named = _by_name(rows)
    assert len(rows) == len(GOOD) + len(BAD)
    assert set(named) == set(GOOD) | set(BAD)
    for name, (orientation, height, width) in GOOD.items():
        row = named[name]
        assert row["status"] == "ok", row
        assert row["message"] == ""
        assert math.isfinite(float(row["zeta"])) and float(row["zeta_std"]) > 0
        assert row["orientation"].startswith(orientation)
        assert (int(row["height"]), int(row["width"])) == (height, width)
        if classical:
            assert math.isfinite(float(row["zeta_classical"]))
        else:
            assert row["zeta_classical"] == ""
    for name, word in BAD.items():
        row = named[name]
        assert row["status"] == "error", row
        assert word in row["message"].lower(), row
        assert row["zeta"] == "" and row["zeta_std"] == "" and row["zeta_classical"] == ""
        assert row["warning"] == ""


# --- estimate --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def estimate_run(tmp_path_factory, mixed_folder):
    """``roughml estimate`` on the mixed folder, writing over a larger pre-existing out.csv."""
    work = tmp_path_factory.mktemp("estimate")
    out_dir = work / "results"
    out_dir.mkdir()
    stale = "old,stale,content\n" + "x" * 200 + "\n"
    (out_dir / "out.csv").write_text(stale * 500, encoding="utf-8")
    proc = run_cli(["estimate", str(mixed_folder), "--output", "results/out.csv"], work, sqlite_uri(work))
    return proc, out_dir


def test_estimate_mixed_folder_one_row_per_file(estimate_run):
    proc, out_dir = estimate_run
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    rows = read_csv_rows(out_dir / "out.csv")
    check_rows(rows, classical=True)
    named = _by_name(rows)
    for name in GOOD:  # the classical estimator fills zeta with its own Whittle value
        assert named[name]["zeta"] == named[name]["zeta_classical"]
    # the uniform image could be decoded, so its size is reported; unreadable files have none
    assert (named["uniform.png"]["width"], named["uniform.png"]["height"]) == ("64", "64")
    assert named["corrupt.png"]["width"] == ""


def test_estimate_replaces_existing_output_wholly_and_leaves_no_temp_file(estimate_run):
    _, out_dir = estimate_run
    text = (out_dir / "out.csv").read_text(encoding="utf-8")
    assert "stale" not in text and "xxxx" not in text
    assert len(text.splitlines()) == 1 + len(GOOD) + len(BAD)
    assert temp_leftovers(out_dir) == []
    assert sorted(p.name for p in out_dir.iterdir()) == ["out.csv"]


def test_estimate_good_folder_exit_0_and_json(good_folder, workdir):
    proc = run_cli(["estimate", str(good_folder), "-o", "res.json"], workdir, sqlite_uri(workdir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = json.loads((workdir / "res.json").read_text(encoding="utf-8"))
    assert [list(r) for r in records] == [HEADER.split(",")] * len(GOOD)
    assert {Path(r["path"]).name for r in records} == set(GOOD)
    for record in records:
        assert record["status"] == "ok" and record["message"] == ""
        assert isinstance(record["zeta"], float) and math.isfinite(record["zeta"])
        assert isinstance(record["width"], int) and isinstance(record["height"], int)
    assert temp_leftovers(workdir) == []


def test_estimate_output_inside_the_input_folder_is_not_an_input(good_folder, tmp_path):
    """Running twice with the table written into the image folder: the second run must not report
    the first run's table as an unreadable image."""
    folder = tmp_path / "images"
    shutil.copytree(good_folder, folder)
    for attempt in range(2):
        proc = run_cli(["estimate", str(folder), "-o", str(folder / "results.csv")], tmp_path,
                       sqlite_uri(tmp_path))
        assert proc.returncode == 0, (attempt, proc.stderr[-3000:])
        rows = read_csv_rows(folder / "results.csv")
        assert {Path(r["path"]).name for r in rows} == set(GOOD)


def test_estimate_accepts_a_single_image_file(good_folder, workdir):
    """Like ``roughml predict``, ``roughml estimate`` takes one image file as well as a folder."""
    image = good_folder / "wall ζ 0.8 – ü.png"
    proc = run_cli(["estimate", str(image), "-o", "one.csv"], workdir, sqlite_uri(workdir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    [row] = read_csv_rows(workdir / "one.csv")
    assert row["path"] == str(image) and row["status"] == "ok" and row["message"] == ""
    assert row["orientation"].startswith("horizontal") and math.isfinite(float(row["zeta"]))
    assert temp_leftovers(workdir) == []


def test_estimate_missing_folder_is_one_line(workdir):
    missing = workdir / "no such folder" / ("deep_" * 20)  # long: must not be wrapped over lines
    proc = run_cli(["estimate", str(missing), "--output", "out.csv"], workdir, sqlite_uri(workdir))
    assert_usage_error(proc, str(missing))
    assert not (workdir / "out.csv").exists()


def test_output_that_is_a_folder_is_refused_cleanly(good_folder, workdir):
    (workdir / "taken").mkdir()
    proc = run_cli(["estimate", str(good_folder), "--output", "taken"], workdir, sqlite_uri(workdir))
    assert_usage_error(proc, "taken")
    assert sorted(p.name for p in workdir.iterdir()) == ["taken"]
    assert list((workdir / "taken").iterdir()) == []


# --- predict: registry errors ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def registry_store(tmp_path_factory) -> str:
    """A sqlite store with one tiny untrained model registered as 'roughml' version 1 (Production,
    alias production). Returns its URI. MLflow's in-process globals are restored afterwards."""
    import mlflow

    from roughml.serving import pyfunc as pyfunc_model

    from roughml.serving import registry

    from roughml.serving import tracking
    from roughml.learning.model import build_model

    root = tmp_path_factory.mktemp("registry")
    uri = sqlite_uri(root)
    keras_file = root / "model.keras"
    build_model("regressor", stem_filters=2, tower_filters=4, tower_levels=3).save(keras_file)
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # a SQL store puts artifacts under ./mlruns
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
        try:
            tracking.configure(uri)
            experiment = tracking.ensure_experiment("roughml-cli-test")
            with mlflow.start_run(experiment_id=experiment) as run:
                info = pyfunc_model.log_model(keras_file)
                mlflow.log_metric("test_rms", 0.2)
            decision = registry.register_and_promote(run.info.run_id, "roughml", info.model_uri, 0.2)
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run()
            mlflow.set_tracking_uri(previous[0])
            mlflow.set_registry_uri(previous[1])
    assert decision.promoted and decision.version == "1"
    return uri


def test_predict_without_registered_model(mixed_folder, workdir):
    uri = sqlite_uri(workdir)
    proc = run_cli(["predict", str(mixed_folder)], workdir, uri)
    assert_usage_error(proc, "no model named 'roughml'", uri)
    assert not (workdir / "predictions.csv").exists()


@pytest.mark.parametrize("args, fragments", [
    (["--model-stage", "Archived"], ["model stage 'Archived' has no alias", "choose a version or an alias"]),
    (["--model-alias", "champion"], ["no alias 'champion'", "production -> v1"]),
    (["--model-version", "99"], ["no version 99", "versions: 1 (aliases challenger, production)"]),
], ids=["stage", "alias", "version"])
def test_predict_unknown_model_choice(registry_store, mixed_folder, workdir, args, fragments):
    proc = run_cli(["predict", str(mixed_folder), *args, "--output", "p.csv"], workdir, registry_store)
    assert_usage_error(proc, *fragments)
    assert sorted(p.name for p in workdir.iterdir()) == []


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_predict_unreachable_tracking_server(mixed_folder, workdir):
    server = f"http://127.0.0.1:{_closed_port()}"
    # The timeout guards the promise of a quick answer (MLflow's own retries would take minutes).
    proc = run_cli(["predict", str(mixed_folder), "--tracking-uri", server], workdir,
                   sqlite_uri(workdir), timeout=30)
    assert_usage_error(proc, "cannot reach the MLflow tracking server", server)
    assert not (workdir / "mlflow.db").exists()


def test_predict_two_model_options(mixed_folder, workdir):
    proc = run_cli(["predict", str(mixed_folder), "--model-stage", "Production", "--model-alias",
                    "production"], workdir, sqlite_uri(workdir))
    assert_usage_error(proc, "only one of")


def test_predict_missing_folder(workdir):
    proc = run_cli(["predict", "nowhere", "--model-version", "1"], workdir, sqlite_uri(workdir))
    assert_usage_error(proc, "nowhere")


# --- predict: happy path -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stage_prediction(tmp_path_factory, registry_store, mixed_folder):
    """``roughml predict --model-stage Production`` on the mixed folder, CSV into an out folder."""
    work = tmp_path_factory.mktemp("predict")
    (work / "out").mkdir()
    proc = run_cli(["predict", "--model-stage", "Production", str(mixed_folder), "--output", "out/p.csv"],
                   work, registry_store)
    return proc, work / "out"


def test_predict_stage_production_rows(stage_prediction):
    proc, out_dir = stage_prediction
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    check_rows(read_csv_rows(out_dir / "p.csv"), classical=True)
    assert temp_leftovers(out_dir) == []


def test_predict_alias_without_classical_json(stage_prediction, registry_store, mixed_folder, workdir):
    proc = run_cli(["predict", str(mixed_folder), "--model-alias", "production", "--no-classical",
                    "--output", "p.json"], workdir, registry_store)
    assert proc.returncode == 1, proc.stderr[-3000:]
    records = json.loads((workdir / "p.json").read_text(encoding="utf-8"))
    rows = [{k: "" if v is None else str(v) for k, v in record.items()} for record in records]
    check_rows(rows, classical=False)
    # the alias and the stage name the same version: identical model outputs
    by_stage = _by_name(read_csv_rows(stage_prediction[1] / "p.csv"))
    for name, row in _by_name(rows).items():
        if row["status"] == "ok":
            assert float(row["zeta"]) == pytest.approx(float(by_stage[name]["zeta"]), abs=1e-5)
    assert temp_leftovers(workdir) == []


# --- samples -----------------------------------------------------------------------------------------

def test_samples_gallery_png(workdir):
    proc = run_cli(["samples", "--out", "g.png", "--params", str(REPO / "params.yaml"), "--per-family", "1"],
                   workdir, sqlite_uri(workdir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = (workdir / "g.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
    with Image.open(workdir / "g.png") as image:
        assert image.width > 100 and image.height > 100
    assert temp_leftovers(workdir) == []


# --- validate ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_datasets(tmp_path_factory):
    """Tiny params and two dataset folders: 'clean' as generated, 'bad' with one ζ out of range."""
    from roughml.data.datasets import write_splits
    from roughml.core.config import generate_params
    from roughml.core.storage import load_arrays, save_arrays

    root = tmp_path_factory.mktemp("datasets")
    write_params(root / "params.yaml", TINY_PARAMS)
    write_splits(generate_params(TINY_PARAMS), root / "clean")
    shutil.copytree(root / "clean", root / "bad")
    arrays = load_arrays(root / "bad" / "train.npz")
    zeta = arrays["zeta"].copy()
    zeta[3] = 5.0  # far outside generate.zeta_range [0.1, 1.2]
    arrays["zeta"] = zeta
    save_arrays(root / "bad" / "train.npz", arrays)
    return root


def _validate(root: Path, data: str, workdir: Path):
    return run_cli(["validate", "--params", str(root / "params.yaml"), "--data", str(root / data),
                    "--out", "validation.json", "--docs", "docs"], workdir, sqlite_uri(workdir))


def test_validate_clean_dataset_passes(tiny_datasets, workdir):
    proc = _validate(tiny_datasets, "clean", workdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "validation passed" in proc.stdout
    report = json.loads((workdir / "validation.json").read_text(encoding="utf-8"))
    assert report["success"] is True
    assert (workdir / "docs" / "index.html").is_file()


def test_validate_corrupted_dataset_fails_readably(tiny_datasets, workdir):
    proc = _validate(tiny_datasets, "bad", workdir)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and "expectation(s) failed" in lines[0]
    failure = [line for line in lines[1:] if "zeta" in line]
    assert len(failure) == 1, proc.stderr
    assert failure[0].startswith("train:") and "zeta=5" in failure[0], failure[0]
    report = json.loads((workdir / "validation.json").read_text(encoding="utf-8"))
    assert report["success"] is False


# --- train -------------------------------------------------------------------------------------------

def test_train_invalid_params_is_one_line(workdir):
    params = json.loads(json.dumps(TINY_PARAMS))
    params["train"]["epochs"] = 0
    write_params(workdir / "bad.yaml", params)
    proc = run_cli(["train", "--params", "bad.yaml", "--data", "data", "--out", "models"], workdir,
                   sqlite_uri(workdir))
    assert_usage_error(proc, "train.epochs")
    assert "bad.yaml: 'train.epochs'" in proc.stderr  # names the file given, not params.yaml
    # rejected before anything was created
    assert sorted(p.name for p in workdir.iterdir()) == ["bad.yaml"]
