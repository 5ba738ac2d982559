"""The real pipeline: `dvc repro` on a tiny params.yaml in a scratch copy of the repo, then predict.

Real DVC, real great-expectations, real SQLite MLflow store and registry, the real CLI in
subprocesses: what a user gets from `make run`, shrunk to seconds.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.tiny import REPO, tiny_params, write_params

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def run(cmd: list[str], cwd: Path, check: bool = True, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    environment.update(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", DVC_NO_ANALYTICS="1",
                       TF_CPP_MIN_LOG_LEVEL="2", **env)
    result = subprocess.run(cmd, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A scratch git+DVC project holding this repo's pipeline and code, with tiny params."""
    root = tmp_path_factory.mktemp("project")
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, root / name)
    for folder in ("src", "examples", ".dvc"):
        shutil.copytree(REPO / folder, root / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
    write_params(root / "params.yaml", tiny_params(epochs=1))
    run(["git", "init", "-q"], root)
    run(["dvc", "repro"], root)
    return root


def test_repro_builds_every_stage_and_registers(project):
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    assert set(lock["stages"]) == {"generate", "validate", "train", "evaluate", "register"}
    assert (project / "reports" / "validation_docs" / "index.html").exists()
    assert (project / "models" / "model.keras").exists()
    registration = yaml.safe_load((project / "reports" / "registration.json").read_text())
    assert registration["promoted"] is True
    assert (project / "mlflow.db").exists()
    # nothing left to do on a second run
    again = run(["dvc", "repro"], project)
    assert "didn't change" in again.stdout or "up to date" in again.stdout
    # re-running validation (its data docs carry timestamps) leaves the lock byte for byte unchanged
    lock_text = (project / "dvc.lock").read_text()
    run(["dvc", "repro", "--force", "--single-item", "validate"], project)
    assert (project / "dvc.lock").read_text() == lock_text


def test_dataset_hash_is_reproducible(project, tmp_path):
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    recorded = next(o["md5"] for o in lock["stages"]["generate"]["outs"] if o["path"] == "data/generated")
    other = tmp_path / "again"
    outputs = {"data", "mlflow.db", "mlruns", "models", "reports"}   # at the top only: src/roughml/data is code
    shutil.copytree(project, other, ignore=lambda folder, names: outputs & set(names) if Path(folder) == project else set())
    run(["dvc", "repro", "generate"], other)
    lock2 = yaml.safe_load((other / "dvc.lock").read_text())
    assert next(o["md5"] for o in lock2["stages"]["generate"]["outs"] if o["path"] == "data/generated") == recorded


def test_predict_on_the_examples_with_the_production_model(project, tmp_path):
    out = tmp_path / "predictions.csv"
    result = run(["roughml", "predict", "--model-stage", "Production", "examples/lab", "--output", str(out)], project)
    rows = list(csv.DictReader(out.open()))
    truth = {r["file"]: float(r["zeta"]) for r in csv.DictReader((project / "examples" / "lab_truth.csv").open())}
    assert result.returncode == 0
    assert sorted(Path(r["path"]).name for r in rows) == sorted(truth)
    assert all(r["status"] == "ok" for r in rows)
    assert all(0.0 < float(r["zeta"]) < 2.0 and float(r["zeta_std"]) > 0 for r in rows)
    assert all(r["zeta_classical"] != "" for r in rows)


def test_bad_params_stop_with_one_line(project, tmp_path):
    bad = tiny_params()
    bad["train"]["epochs"] = "many"
    params = write_params(tmp_path / "bad.yaml", bad)
    result = run(["roughml", "train", "--params", str(params)], project, check=False)
    assert result.returncode == 2
    assert "train.epochs" in result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_push_and_pull_share_data_and_models_through_the_default_remote(project, tmp_path):
    """The committed default remote is a local folder; `dvc push` from one checkout and `dvc pull`
    into another bring back the datasets and the model without re-running anything. (Outputs with
    ``cache: false`` — metrics, run.json — are not in the cache and so not shared this way.)"""
    config = (REPO / ".dvc" / "config").read_text()
    assert "remote = local-store" in config
    store = tmp_path / "store"
    run(["dvc", "remote", "modify", "--local", "local-store", "url", str(store)], project)
    run(["dvc", "push"], project)
    other = tmp_path / "clone"
    outputs = {"data", "models", "reports", "mlflow.db", "mlruns", "cache"}
    shutil.copytree(project, other, ignore=lambda folder, names: outputs & set(names)
                    if Path(folder) in (project, project / ".dvc") else set())
    assert not (other / "data").exists() and not (other / ".dvc" / "cache").exists()
    run(["dvc", "pull"], other)
    assert (other / "models" / "model.keras").read_bytes() == (project / "models" / "model.keras").read_bytes()
    assert sorted(p.name for p in (other / "data" / "generated").iterdir()) == ["test.npz", "train.npz", "validation.npz"]
    status = run(["dvc", "status"], other).stdout
    assert "data/generated" not in status and "models/model.keras" not in status


def test_temporary_experiment_writes_to_the_repository_store(project):
    """`dvc exp run --temp` trains in a throw-away copy; its MLflow run must land in the project's
    own store, named after the experiment (not in a store deleted with the copy)."""
    import sqlite3

    def runs() -> dict[str, str]:
        with sqlite3.connect(project / "mlflow.db") as db:
            return dict(db.execute("select run_uuid, name from runs").fetchall())

    before = runs()
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "baseline"], project)
    run(["dvc", "exp", "run", "--temp", "-n", "tiny-exp", "-S", "train.learning_rate=0.002"], project)
    added = {k: v for k, v in runs().items() if k not in before}
    assert list(added.values()) == ["tiny-exp"]
