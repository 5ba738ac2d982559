"""Tiny end-to-end runs of the train and evaluate stages into a real SQLite MLflow store."""

from __future__ import annotations

import json

import keras
import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from roughml.data.datasets import write_splits
from roughml.core.fingerprint import md5_file
from roughml.pipeline.evaluate import run_evaluation
from roughml.learning.model import load, predict_zeta
from roughml.core.config import generate_params
from roughml.physics.rendering import render_binary
from roughml.physics.synthesis import quantise, self_affine_profiles
from roughml.pipeline.train import run_training
from tests.tiny import tiny_params


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    write_splits(generate_params(tiny_params()), data)
    return data


def test_train_and_evaluate_record_everything(tiny_data, sqlite_tracking, tmp_path, monkeypatch):
    # sample system metrics every 0.2 s (default 10 s) so that a seconds-long training logs some
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1")
    params = tiny_params(epochs=2)
    result = run_training(params, tiny_data, tmp_path / "models")
    assert (tmp_path / "models" / "model.keras").exists()
    run_file = json.loads((tmp_path / "models" / "run.json").read_text())
    assert run_file["run_id"] == result.run_id

    client = MlflowClient()
    run = client.get_run(result.run_id)
    assert run.data.params["train.epochs"] == "2"
    assert run.data.params["generate.seed"] == str(params["generate"]["seed"])
    assert run.data.tags["dataset.fingerprint"]
    assert run.data.tags["dataset.md5.train.npz"]
    assert run.data.tags["git_commit"]
    for name in ("loss", "val_loss", "val_rms", "val_accuracy"):
        steps = [m.step for m in client.get_metric_history(result.run_id, name)]
        assert steps == [0, 1], name
    assert any(name.startswith("system/cpu_utilization") for name in run.data.metrics), run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"plots", "keras"} <= artifacts
    logged_models = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id],
                                                filter_string=f"source_run_id = '{result.run_id}'",
                                                output_format="list")
    assert [m.name for m in logged_models] == ["model"]
    assert run_file["model_id"] == logged_models[0].model_id
    assert run_file["model_uri"] == f"models:/{logged_models[0].model_id}"

    metrics = run_evaluation(params, tmp_path / "models", tiny_data, tmp_path / "reports")
    assert set(metrics["families"]) == {"clean_64", "lab_small", "dprm_64"}
    for fam in metrics["families"].values():
        assert fam["n"] + fam["failed"] > 0
        assert fam["rms"] is None or fam["rms"] >= 0
        assert fam["crb"] > 0
        assert {"classical_rms", "within_1sigma", "within_2sigma", "per_bin", "accuracy"} <= set(fam)
    on_disk = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    assert on_disk["test_rms"] == pytest.approx(metrics["test_rms"])
    logged = client.get_run(result.run_id).data.metrics
    assert logged["test_rms"] == pytest.approx(metrics["test_rms"])
    assert "test.clean_64.classical_rms" in logged
    eval_artifacts = {a.path for a in client.list_artifacts(result.run_id, "evaluation")}
    assert "evaluation/metrics.json" in eval_artifacts
    assert (tmp_path / "reports" / "plots" / "rms_per_bin.png").stat().st_size > 1000
    _assert_datasets_and_model_links(client, result.run_id, tiny_data, run_file["model_id"])


def _assert_datasets_and_model_links(client, run_id, data_dir, model_id):
    """Every split is an input of the run (context, DVC path, md5 digest); the test metrics are
    linked to the test split and to the logged model."""
    inputs = client.get_run(run_id).inputs.dataset_inputs
    by_context = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset for i in inputs}
    assert set(by_context) == {"training", "validation", "testing"}
    for context, split in (("training", "train"), ("validation", "validation"), ("testing", "test")):
        dataset = by_context[context]
        assert dataset.name == f"roughml-{split}"
        assert dataset.digest == md5_file(data_dir / f"{split}.npz")
        assert json.loads(dataset.source)["uri"].endswith(f"{split}.npz")
    model_metrics = {m.key: m for m in mlflow.get_logged_model(model_id).metrics or []}
    assert "test_rms" in model_metrics
    assert model_metrics["test_rms"].dataset_digest == md5_file(data_dir / "test.npz")


class StopAfterFirstEpoch(keras.callbacks.Callback):
    """Stands in for a killed job: stops the process's training after epoch 0 is checkpointed."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt("simulated interruption")


def test_interrupted_training_resumes_in_the_same_run(tiny_data, sqlite_tracking, tmp_path):
    params = tiny_params(epochs=3, early_stopping_patience=5)
    with pytest.raises(KeyboardInterrupt):
        run_training(params, tiny_data, tmp_path / "models", extra_callbacks=[StopAfterFirstEpoch()])
    assert not (tmp_path / "models" / "model.keras").exists()
    interrupted_run = (tmp_path / "models" / ".backup" / "mlflow_run_id").read_text().strip()

    result = run_training(params, tiny_data, tmp_path / "models")
    assert result.run_id == interrupted_run
    assert result.epochs_run == 2          # epochs 1 and 2 only: epoch 0 came from the checkpoint
    client = MlflowClient()
    assert [m.step for m in client.get_metric_history(result.run_id, "loss")] == [0, 1, 2]
    assert client.get_run(result.run_id).data.tags.get("resumed") == "true"
    assert not (tmp_path / "models" / ".backup" / "mlflow_run_id").exists()


class RecordWeights(keras.callbacks.Callback):
    """Weights the model trains with (epoch begin) and the ones early stopping sees (epoch end)."""

    def __init__(self):
        super().__init__()
        self.training, self.validated, self.val_loss = [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.training.append(self.model.get_weights())

    def on_epoch_end(self, epoch, logs=None):
        self.validated.append(self.model.get_weights())
        self.val_loss.append(logs["val_loss"])


def test_weight_averaging_validates_and_keeps_the_averaged_weights(tiny_data, sqlite_tracking, tmp_path):
    params = tiny_params(epochs=3, early_stopping_patience=5, weight_average_epochs=1.0,
                         learning_rate_decay_epochs=2)
    record = RecordWeights()
    result = run_training(params, tiny_data, tmp_path / "models", extra_callbacks=[record])
    rates = [m.value for m in MlflowClient().get_metric_history(result.run_id, "learning_rate")]
    assert rates == pytest.approx([3e-3, 1.5e-3, 6e-5], rel=1e-4)   # constant, then the cosine tail
    # training continues from the raw weights, not from the average
    differs = [not all(np.array_equal(a, b) for a, b in zip(raw, avg))
               for raw, avg in zip(record.training[1:], record.validated[:-1])]
    assert all(differs)
    # the saved model carries the averaged weights of the best validated epoch
    best = record.validated[int(np.argmin(record.val_loss))]
    saved = load(tmp_path / "models" / "model.keras").get_weights()
    assert len(saved) == len(best)
    for a, b in zip(saved, best):
        np.testing.assert_array_equal(a, b)


def test_classifier_option_and_size_transfer(tiny_data, sqlite_tracking, tmp_path):
    params = tiny_params(model="classifier")
    run_training(params, tiny_data, tmp_path / "models")
    model = load(tmp_path / "models" / "model.keras")
    assert model.output_shape[-1] == 20
    # trained on 64–96 px walls, applied to a 256 px one
    rng = np.random.default_rng(5)
    heights, _ = quantise(self_affine_profiles(rng, [0.6], 256), np.array([12.0]), 256)
    image = render_binary(heights[0], 256).astype(np.float32)[None, ..., None] / 255.0
    zeta, sigma = predict_zeta(model, image)
    assert 0.05 <= zeta[0] <= 1.0 and sigma[0] > 0
    metrics = run_evaluation(params, tmp_path / "models", tiny_data, tmp_path / "reports")
    assert metrics["test_rms"] is not None

