"""The ``train`` stage: fit a model on the generated splits and record the run in MLflow.

Why it looks like this: training must be resumable (a 2-core CPU run can be interrupted), use
whatever accelerators exist without code changes (tf.distribute), and leave a complete MLflow
record (params, per-epoch curves, dataset fingerprint, commit, model) so that every number can be
traced back to data and code.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from roughml.core.errors import RoughmlError
from roughml.core.config import TrainParams, flatten, train_params
from roughml.core.storage import atomic_write_bytes, atomic_write_text

SPLIT_FILES = ("train.npz", "validation.npz", "test.npz")
DEFAULT_EXPERIMENT = "roughml"


@dataclass
class TrainResult:
    run_id: str
    model_path: str
    epochs_run: int
    best_val_rms: float
    skipped_train: int
    skipped_validation: int


def experiment_name() -> str:
    """MLflow experiment: ``MLFLOW_EXPERIMENT_NAME`` if set (MLflow's own convention), else 'roughml'."""
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT


def select_strategy():
    """Multi-worker from ``TF_CONFIG``, mirrored over several GPUs, else the default (one device)."""
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def labels_for(kind: str, zeta: np.ndarray) -> np.ndarray:
    """Training targets: ζ itself (regressor) or its grid class (classifier)."""
    from roughml.learning.model import class_labels

    return zeta.astype(np.float32) if kind == "regressor" else class_labels(zeta)


def make_dataset(prepared, targets: np.ndarray, batch_size: int, *, seed: int, training: bool):
    """tf.data pipeline of same-shape batches drawn from every shape bucket.

    Training: each bucket is shuffled, batched and repeated, and batches are drawn from the buckets
    in proportion to their sizes. Validation: every sample exactly once.
    Returns the dataset and the number of batches in one pass.
    """
    import tensorflow as tf

    def to_float(images, y):
        return tf.cast(images, tf.float32)[..., None] / 255.0, y

    per_bucket, weights, steps = [], [], 0
    for k, bucket in enumerate(prepared.buckets.values()):
        ds = tf.data.Dataset.from_tensor_slices((bucket.images, targets[bucket.rows]))
        n = len(bucket.rows)
        if training:
            ds = ds.shuffle(n, seed=seed + k, reshuffle_each_iteration=True)
            ds = ds.batch(batch_size, drop_remainder=n >= batch_size).repeat()
            steps += max(n // batch_size, 1)
        else:
            ds = ds.batch(batch_size)
            steps += -(-n // batch_size)
        per_bucket.append(ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE))
        weights.append(float(n))
    if not per_bucket:
        raise RoughmlError("no usable samples to train on")
    if training:
        total = sum(weights)
        ds = tf.data.Dataset.sample_from_datasets(per_bucket, weights=[w / total for w in weights], seed=seed)
    else:
        ds = per_bucket[0]
        for extra in per_bucket[1:]:
            ds = ds.concatenate(extra)
    return ds.prefetch(tf.data.AUTOTUNE), steps


def weight_average_momentum(epochs: float, steps_per_epoch: int) -> float:
    """EMA momentum whose time constant is ``epochs`` epochs of ``steps_per_epoch`` steps (0: off).

    Why in epochs: the averaging window must follow the data, so that a tiny test run and the full
    pipeline average over the same share of training.
    """
    if epochs <= 0:
        return 0.0
    return float(1.0 - 1.0 / max(epochs * steps_per_epoch, 1.0))


def learning_rate_at(epoch: int, base: float, epochs: int, decay_epochs: int, floor: float = 0.02) -> float:
    """Constant ``base``, then a cosine decay over the last ``decay_epochs`` epochs (to ``floor``·base).

    Why: with weight averaging the validation loss improves a little almost every epoch, so a
    plateau rule never lowers the rate; a fixed tail of low rates lets the weights settle instead.
    """
    start = epochs - decay_epochs
    if decay_epochs <= 0 or epoch < start:
        return float(base)
    progress = (epoch - start + 1) / decay_epochs
    return float(base * max(floor, 0.5 * (1.0 + np.cos(np.pi * progress))))


def _mlflow_epoch_logger(run_id: str):
    import keras
    import mlflow

    class MlflowEpochLogger(keras.callbacks.Callback):
        """Log every Keras epoch metric to the MLflow run (step = epoch)."""

        def on_epoch_end(self, epoch, logs=None):
            metrics = {k: float(v) for k, v in (logs or {}).items() if np.isfinite(float(v))}
            mlflow.log_metrics(metrics, step=epoch, run_id=run_id)

    return MlflowEpochLogger()


def history_plot(history: list[dict[str, float]]) -> bytes:
    """PNG of the training curves (loss and ζ rms, train and validation)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = [h["epoch"] for h in history]
    for ax, key, title in ((axes[0], "loss", "loss"), (axes[1], "rms", "rms error of ζ")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = [h.get(prefix + key, np.nan) for h in history]
            ax.plot(epochs, values, style, marker="o", label=("validation" if prefix else "train"))
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _history_csv(history: list[dict[str, float]]) -> str:
    keys = sorted({k for h in history for k in h}, key=lambda k: (k != "epoch", k))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return out.getvalue()


def run_training(all_params: Mapping[str, Any], data_dir: str | Path = "data/generated",
                 out_dir: str | Path = "models", *, tracking_uri: str | None = None,
                 extra_callbacks: list | None = None) -> TrainResult:
    """Train the model described by ``params['train']`` and log the run.

    Writes ``out_dir/model.keras``, ``out_dir/run.json`` (MLflow run id) and
    ``out_dir/history.csv``; keeps a checkpoint in ``out_dir/.backup`` while running so that an
    interrupted training resumes from its last finished epoch (and the same MLflow run).
    """
    tp: TrainParams = train_params(all_params)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    backup_dir = out_dir / ".backup"

    import warnings

    import keras
    import mlflow

    from roughml.serving import tracking  # Keras warns that shuffle=True is ignored for tf.data input; our pipeline shuffles per bucket.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
    from roughml.data.datasets import load_split, render_sample
    from roughml.core.fingerprint import dataset_fingerprint, git_commit
    from roughml.data.model_inputs import prepare_rows
    from roughml.learning.model import build_model, compile_model, read_both_ways

    tracking.configure(tracking_uri)
    experiment_id = tracking.ensure_experiment(experiment_name())

    keras.utils.set_random_seed(tp.seed)
    if tp.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")

    train_ds = load_split(data_dir / "train.npz")
    val_ds = load_split(data_dir / "validation.npz")
    train_prep = prepare_rows(train_ds, range(len(train_ds["zeta"])), known_geometry=True)
    val_prep = prepare_rows(val_ds, range(len(val_ds["zeta"])), known_geometry=True)
    train_data, steps = make_dataset(train_prep, labels_for(tp.model, train_ds["zeta"]), tp.batch_size,
                                     seed=tp.seed, training=True)
    val_data, _ = make_dataset(val_prep, labels_for(tp.model, val_ds["zeta"]), tp.batch_size,
                               seed=tp.seed, training=False)

    run_id_file = backup_dir / "mlflow_run_id"
    resume_run = run_id_file.read_text().strip() if run_id_file.exists() else None
    strategy = select_strategy()
    momentum = weight_average_momentum(tp.weight_average_epochs, steps)
    with strategy.scope():
        model = compile_model(build_model(tp.model, tp), tp.model, tp.learning_rate,
                              weight_average_momentum=momentum)

    with mlflow.start_run(run_id=resume_run, experiment_id=None if resume_run else experiment_id) as run:
        backup_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_id_file, run.info.run_id)
        if not resume_run:
            flat = flatten(all_params)
            for start in range(0, len(flat), 90):
                mlflow.log_params(dict(list(flat.items())[start:start + 90]))
            mlflow.set_tags({
                **dataset_fingerprint(data_dir, list(SPLIT_FILES)),
                "git_commit": git_commit(),
                "model_kind": tp.model,
                "stage": "train",
                "train.samples": str(train_prep.size),
                "validation.samples": str(val_prep.size),
                "devices": ",".join(sorted({d.device_type for d in __import__("tensorflow").config.list_logical_devices()})),
                "strategy": type(strategy).__name__,
            })
            mlflow.log_param("model.parameters", model.count_params())
        else:
            mlflow.set_tag("resumed", "true")

        # Order matters: the checkpoint is written before the averaged weights are swapped in
        # (so a resumed run continues from the true training state), and early stopping, which
        # keeps the best epoch's weights, sees the averaged ones (the ones that were validated).
        averaging = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if momentum > 0 else []
        if tp.learning_rate_decay_epochs > 0:
            schedule = keras.callbacks.LearningRateScheduler(
                lambda epoch: learning_rate_at(epoch, tp.learning_rate, tp.epochs, tp.learning_rate_decay_epochs))
        else:
            schedule = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                         patience=max(1, tp.early_stopping_patience - 1))
        callbacks = [
            keras.callbacks.BackupAndRestore(str(backup_dir / "checkpoint")),
            *averaging,
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=tp.early_stopping_patience,
                                          restore_best_weights=True),
            schedule,
            _mlflow_epoch_logger(run.info.run_id),
            *(extra_callbacks or []),
        ]
        fit = model.fit(train_data, steps_per_epoch=steps, epochs=tp.epochs, validation_data=val_data,
                        callbacks=callbacks, verbose=2)

        history = _collect_history(run.info.run_id)
        model_path = out_dir / "model.keras"
        tmp_path = out_dir / ".model.keras.tmp.keras"
        read_both_ways(model).save(tmp_path)
        os.replace(tmp_path, model_path)
        png = history_plot(history)
        atomic_write_bytes(out_dir / "training_curves.png", png)
        atomic_write_text(out_dir / "history.csv", _history_csv(history))
        mlflow.log_artifact(str(out_dir / "training_curves.png"), artifact_path="plots")
        mlflow.log_artifact(str(out_dir / "history.csv"), artifact_path="plots")
        mlflow.log_artifact(str(model_path), artifact_path="keras")
        _log_pyfunc(model_path, render_sample(val_ds, 0))
        val_rms = [h.get("val_rms", np.nan) for h in history]
        best = float(np.nanmin(val_rms)) if history else float("nan")
        mlflow.log_metric("best_val_rms", best)
        result = TrainResult(run_id=run.info.run_id, model_path=str(model_path),
                             epochs_run=len(fit.history.get("loss", [])), best_val_rms=best,
                             skipped_train=len(train_prep.failures), skipped_validation=len(val_prep.failures))
        atomic_write_text(out_dir / "run.json", json.dumps(
            {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "model_kind": tp.model,
             **{k: v for k, v in asdict(result).items() if k != "run_id"}}, indent=2) + "\n")
    # A finished training must not resume next time: BackupAndRestore removes its checkpoint, we
    # remove the run id that goes with it.
    run_id_file.unlink(missing_ok=True)
    return result


def _collect_history(run_id: str) -> list[dict[str, float]]:
    """Per-epoch metrics as recorded in MLflow (complete across resumed runs)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    names = ("loss", "val_loss", "rms", "val_rms", "accuracy", "val_accuracy", "learning_rate")
    rows: dict[int, dict[str, float]] = {}
    for name in names:
        for m in client.get_metric_history(run_id, name):
            rows.setdefault(m.step, {"epoch": m.step})[name] = m.value
    return [rows[k] for k in sorted(rows)]


def _log_pyfunc(model_path: Path, example_image: np.ndarray) -> None:
    """Log the model as an MLflow pyfunc that carries its preprocessing (see roughml.serving.pyfunc).

    The input example is one validation image as PNG bytes, the way a client would send it.
    """
    import pandas as pd
    from PIL import Image

    from roughml.serving import pyfunc as pyfunc_model
    buffer = io.BytesIO()
    Image.fromarray(example_image).save(buffer, format="PNG")
    pyfunc_model.log_model(str(model_path), input_example=pd.DataFrame({"image": [buffer.getvalue()]}))
