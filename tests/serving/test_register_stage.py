"""The register stage compares champion and challenger on the same, current test split.

Tiny untrained models and tiny generated splits: the champion was measured on split A; a
challenger measured on split B must be compared with the champion's error *on B*, measured at
registration through the registered model, not with the number the champion got on A.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from roughml.core.config import RegisterParams, generate_params
from roughml.data.datasets import load_split, write_splits
from roughml.pipeline.register import run_registration
from roughml.serving import pyfunc as pyfunc_model
from roughml.serving import registry, tracking
from tests.tiny import tiny_params

REPORT_RANGE = (0.1, 1.0)


@pytest.fixture(scope="module")
def splits(tmp_path_factory) -> tuple[Path, Path]:
    """Two generated data folders whose test splits differ (another seed)."""
    folders = []
    for seed in (11, 12):
        params = tiny_params()
        params["generate"]["seed"] = seed
        folder = tmp_path_factory.mktemp(f"data_{seed}")
        write_splits(generate_params(params), folder)
        folders.append(folder)
    return folders[0], folders[1]


def _stage_outputs(root: Path, name: str, seed: int, test_rms: float) -> tuple[Path, Path, Path]:
    """What train and evaluate leave for register: a logged tiny model (run.json) and metrics.json."""
    import keras
    import mlflow

    from roughml.learning.model import build_model

    models, reports = root / name / "models", root / name / "reports"
    models.mkdir(parents=True)
    reports.mkdir(parents=True)
    keras.utils.set_random_seed(seed)
    build_model("regressor", stem_filters=2, tower_filters=4, tower_levels=3).save(models / "model.keras")
    with mlflow.start_run(experiment_id=tracking.ensure_experiment("roughml-register-test")) as run:
        info = pyfunc_model.log_model(models / "model.keras")
        mlflow.log_metric("test_rms", test_rms)
    (models / "run.json").write_text(json.dumps({"run_id": run.info.run_id, "model_id": info.model_id,
                                                 "model_uri": info.model_uri}))
    (reports / "metrics.json").write_text(json.dumps({"test_rms": test_rms, "report_range": list(REPORT_RANGE)}))
    return models, reports, models / "model.keras"


def _rms_on(keras_file: Path, data_dir: Path) -> float:
    """The evaluate stage's headline test_rms of a Keras file on ``data_dir``'s test split."""
    from roughml.core.config import EvaluateParams
    from roughml.learning.model import load
    from roughml.pipeline.evaluate import evaluation_metrics, predict_family

    model, test = load(keras_file), load_split(data_dir / "test.npz")
    families = list(dict.fromkeys(str(f) for f in test["family"]))
    preds = [predict_family(model, test, np.flatnonzero(test["family"] == f), f) for f in families]
    return evaluation_metrics(preds, EvaluateParams(report_range=REPORT_RANGE))["test_rms"]


@pytest.mark.slow
def test_champion_is_measured_on_the_challengers_split(sqlite_tracking, tmp_path, splits):
    split_a, split_b = splits
    tracking.configure()
    rp = RegisterParams(model_name="roughml")
    # the champion's recorded number (on A) is hopeless: only a fair comparison keeps it
    models, reports, champion_file = _stage_outputs(tmp_path, "champion", seed=1, test_rms=9.0)
    first = run_registration(rp, models, reports, data_dir=split_a)
    assert first.promoted and first.version == "1"
    on_b = _rms_on(champion_file, split_b)
    assert np.isfinite(on_b)

    models, reports, _ = _stage_outputs(tmp_path, "worse", seed=2, test_rms=on_b + 0.05)
    worse = run_registration(rp, models, reports, data_dir=split_b)
    assert not worse.promoted and worse.champion_rescored
    assert worse.champion_rms == pytest.approx(on_b, abs=1e-6)
    record = json.loads((reports / "registration.json").read_text())
    assert record["champion_rescored"] is True and record["champion_rms"] == pytest.approx(on_b, abs=1e-6)

    models, reports, _ = _stage_outputs(tmp_path, "better", seed=3, test_rms=on_b - 0.01)
    better = run_registration(rp, models, reports, data_dir=split_b)
    assert better.promoted and not better.champion_rescored  # v1 now carries its rms on B
    assert better.champion_rms == pytest.approx(on_b, abs=1e-6)
    import mlflow

    aliases = {k: str(v) for k, v in mlflow.MlflowClient().get_registered_model("roughml").aliases.items()}
    assert aliases == {"production": "3", "challenger": "3"}
    assert mlflow.MlflowClient().get_model_version("roughml", "3").tags[registry.TAG_TEST_SPLIT] == \
        mlflow.MlflowClient().get_model_version("roughml", "1").tags[registry.TAG_TEST_SPLIT]


def test_missing_test_split_is_one_line(sqlite_tracking, tmp_path):
    from roughml.core.errors import RoughmlError

    (tmp_path / "models").mkdir()
    (tmp_path / "reports").mkdir()
    (tmp_path / "models" / "run.json").write_text(json.dumps({"run_id": "abc"}))
    (tmp_path / "reports" / "metrics.json").write_text(json.dumps({"test_rms": 0.1}))
    with pytest.raises(RoughmlError, match=r"test\.npz: missing; run the generate stage first"):
        run_registration(RegisterParams(), tmp_path / "models", tmp_path / "reports", data_dir=tmp_path / "none")
