"""The ``train`` stage: fit a model on the generated splits and record the run in MLflow.

Why it looks like this: training must be resumable (a 2-core CPU run can be interrupted), use
whatever accelerators exist without code changes (tf.distribute), and leave a complete MLflow
record (params, per-epoch curves, dataset fingerprint, commit, model) so that every number can be
traced back to data and code. How the model learns (inputs, schedules, callbacks) is
:mod:`roughml.learning.training`; this module reads params.yaml, wires it up and keeps the books.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from roughml.core.config import TrainParams, flatten, train_params
from roughml.core.formats import csv_text
from roughml.core.storage import atomic_write_bytes, atomic_write_text
from roughml.learning.training import (device_types, fit_callbacks, history_plot, labels_for, make_dataset,
                                       select_strategy, weight_average_momentum)

SPLIT_FILES = ("train.npz", "validation.npz", "test.npz")
DEFAULT_EXPERIMENT = "roughml"
#: Keras's per-epoch logs that make up the training history, as MLflow records them.
HISTORY_METRICS = ("loss", "val_loss", "rms", "val_rms", "accuracy", "val_accuracy", "learning_rate")


@dataclass
class TrainResult:
    run_id: str
    model_path: str
    epochs_run: int
    best_val_rms: float
    skipped_train: int
    skipped_validation: int


@dataclass
class _Split:
    """One split as stored, and its model inputs bucketed by shape."""

    raw: Mapping[str, np.ndarray]
    prepared: Any               # roughml.data.model_inputs.PreparedSplit


def experiment_name() -> str:
    """MLflow experiment: ``MLFLOW_EXPERIMENT_NAME`` if set (MLflow's own convention), else 'roughml'."""
    return os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT


def run_training(all_params: Mapping[str, Any], data_dir: str | Path = "data/generated",
                 out_dir: str | Path = "models", *, tracking_uri: str | None = None,
                 extra_callbacks: list | None = None) -> TrainResult:
    """Train the model described by ``params['train']`` and log the run.

    Writes ``out_dir/model.keras``, ``out_dir/run.json`` (MLflow run id), ``out_dir/history.csv``
    and ``out_dir/training_curves.png``; keeps a checkpoint in ``out_dir/.backup`` while running
    so that an interrupted training resumes from its last finished epoch (and the same MLflow run).

    Parameters
    ----------
    all_params : mapping
        The whole params.yaml: ``train`` drives the fit, and every block is logged as run params.
    data_dir : path
        Output of the generate stage (``train.npz``, ``validation.npz``, ``test.npz``).
    tracking_uri : str, optional
        MLflow tracking URI (default: ``$MLFLOW_TRACKING_URI``, else the project's SQLite store).
    extra_callbacks : list, optional
        Keras callbacks run after the stage's own at every epoch (tests use them to interrupt).
    """
    tp: TrainParams = train_params(all_params)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    import keras

    from roughml.serving import tracking

    tracking.configure(tracking_uri)
    experiment_id = tracking.ensure_experiment(experiment_name())
    # Seed before anything draws random numbers: the same seed gives the same weights.
    keras.utils.set_random_seed(tp.seed)
    if tp.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")

    splits = _read_splits(data_dir)
    train_data, val_data, steps = _datasets(splits, tp)
    strategy = select_strategy()
    momentum = weight_average_momentum(tp.weight_average_epochs, steps)
    model = _compiled_model(tp, strategy, momentum)
    backup_dir = out_dir / ".backup"
    with _tracked_run(backup_dir, experiment_id) as (run, resumed):
        _log_run_start(resumed, all_params, tp, data_dir, splits, strategy, model)
        callbacks = _callbacks(tp, backup_dir, momentum, run.info.run_id, extra_callbacks or [])
        # Keras warns that shuffle=True is ignored for tf.data input: make_dataset shuffles per bucket.
        warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
        fit = model.fit(train_data, steps_per_epoch=steps, epochs=tp.epochs, validation_data=val_data,
                        callbacks=callbacks, verbose=2)
        return _write_outputs(model, run, tp, splits, out_dir, epochs_run=len(fit.history.get("loss", [])))


def _read_splits(data_dir: Path) -> dict[str, _Split]:
    """The train and validation splits, rendered and bucketed with their stored geometry.

    Training uses the stored orientation and polarity, not detected ones: a clean learning signal.
    """
    from roughml.data.datasets import load_split
    from roughml.data.model_inputs import prepare_rows

    raw = {name: load_split(data_dir / f"{name}.npz") for name in ("train", "validation")}
    return {name: _Split(ds, prepare_rows(ds, range(len(ds["zeta"])), known_geometry=True))
            for name, ds in raw.items()}


def _datasets(splits: Mapping[str, _Split], tp: TrainParams):
    """tf.data pipelines of both splits and the number of training steps per epoch."""
    train, val = splits["train"], splits["validation"]
    train_data, steps = make_dataset(train.prepared, labels_for(tp.model, train.raw["zeta"]), tp.batch_size,
                                     seed=tp.seed, training=True)
    val_data, _ = make_dataset(val.prepared, labels_for(tp.model, val.raw["zeta"]), tp.batch_size,
                               seed=tp.seed, training=False)
    return train_data, val_data, steps


def _compiled_model(tp: TrainParams, strategy, momentum: float):
    """The model of ``params['train']``, built and compiled under the distribution ``strategy``."""
    from roughml.learning.model import build_model, compile_model

    with strategy.scope():
        model = build_model(tp.model, stem_filters=tp.stem_filters, tower_filters=tp.tower_filters,
                            tower_levels=tp.tower_levels)
        return compile_model(model, tp.model, tp.learning_rate, weight_average_momentum=momentum,
                             nll_beta=tp.nll_beta)


@contextlib.contextmanager
def _tracked_run(backup_dir: Path, experiment_id: str) -> Iterator[tuple[Any, bool]]:
    """The MLflow run of this training, and whether it is an interrupted one being resumed.

    The run id is kept next to the Keras checkpoint while training, so that a restarted training
    continues the same run; a finished training must not resume next time, so the id is removed
    when the run ends normally (BackupAndRestore removes its checkpoint likewise).
    """
    import mlflow

    run_id_file = backup_dir / "mlflow_run_id"
    resume_run = run_id_file.read_text().strip() if run_id_file.exists() else None
    # A DVC experiment's name (dvc exp run) names the MLflow run, so the two lists line up.
    experiment_name = os.environ.get("DVC_EXP_NAME") or None
    # System metrics (CPU, memory, GPU when there is one) sampled during training, MLflow's own monitor.
    with mlflow.start_run(run_id=resume_run, experiment_id=None if resume_run else experiment_id,
                          run_name=None if resume_run else experiment_name, log_system_metrics=True,
                          tags={"dvc.experiment": experiment_name} if experiment_name and not resume_run else None) as run:
        backup_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_id_file, run.info.run_id)
        yield run, resume_run is not None
    run_id_file.unlink(missing_ok=True)


def _log_run_start(resumed: bool, all_params: Mapping[str, Any], tp: TrainParams, data_dir: Path,
                   splits: Mapping[str, _Split], strategy, model) -> None:
    """A new run: params, data and code identity, devices and model size. A resumed one: a tag."""
    import mlflow

    from roughml.core.fingerprint import dataset_fingerprint, git_commit
    from roughml.pipeline.lineage import log_splits

    if resumed:
        mlflow.set_tag("resumed", "true")
        return
    flat = flatten(all_params)
    for start in range(0, len(flat), 90):   # MLflow takes at most 100 params per call
        mlflow.log_params(dict(list(flat.items())[start:start + 90]))
    mlflow.set_tags({
        **dataset_fingerprint(data_dir, list(SPLIT_FILES)),
        "git_commit": git_commit(),
        "model_kind": tp.model,
        "stage": "train",
        "train.samples": str(splits["train"].prepared.size),
        "validation.samples": str(splits["validation"].prepared.size),
        "devices": ",".join(device_types()),
        "strategy": type(strategy).__name__,
    })
    mlflow.log_param("model.parameters", model.count_params())
    log_splits(data_dir, ("train", "validation"))


def _callbacks(tp: TrainParams, backup_dir: Path, momentum: float, run_id: str, extra: list) -> list:
    """The fit's callbacks: checkpoint, averaging, stopping and rate rules, then the MLflow record.

    The MLflow logger comes after the rate rules, which add ``learning_rate`` to the epoch's logs,
    and before ``extra``, so that an epoch which ``extra`` interrupts is already recorded.
    """
    from roughml.learning.model import validation_yardstick

    return [*fit_callbacks(backup_dir / "checkpoint", weight_averaging=momentum > 0,
                           patience=tp.early_stopping_patience, learning_rate=tp.learning_rate,
                           epochs=tp.epochs, decay_epochs=tp.learning_rate_decay_epochs,
                           monitor=validation_yardstick(tp.model)),
            _mlflow_epoch_logger(run_id), *extra]


def _mlflow_epoch_logger(run_id: str):
    """Keras callback that logs every finite epoch metric to the MLflow run (step = epoch).

    Not ``mlflow.keras.MlflowCallback``: it would also log optimizer params, a model summary and
    step-less ``validation_*`` metrics, asynchronously and with NaNs, changing the run's record.
    """
    import keras
    import mlflow

    class MlflowEpochLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            metrics = {k: float(v) for k, v in (logs or {}).items() if np.isfinite(float(v))}
            mlflow.log_metrics(metrics, step=epoch, run_id=run_id)

    return MlflowEpochLogger()


def _write_outputs(model, run, tp: TrainParams, splits: Mapping[str, _Split], out_dir: Path, *,
                   epochs_run: int) -> TrainResult:
    """Save the model, curves and run.json into ``out_dir`` and log them to the run."""
    import mlflow

    from roughml.data.datasets import render_sample

    history = _collect_history(run.info.run_id)
    model_path = _save_model(model, out_dir)
    _write_history(history, out_dir)
    mlflow.log_artifact(str(model_path), artifact_path="keras")
    logged = _log_pyfunc(model_path, render_sample(splits["validation"].raw, 0))
    best = float(np.nanmin([h.get("val_rms", np.nan) for h in history])) if history else float("nan")
    mlflow.log_metric("best_val_rms", best)
    result = TrainResult(run_id=run.info.run_id, model_path=str(model_path), epochs_run=epochs_run,
                         best_val_rms=best, skipped_train=len(splits["train"].prepared.failures),
                         skipped_validation=len(splits["validation"].prepared.failures))
    atomic_write_text(out_dir / "run.json", json.dumps(
        {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "model_kind": tp.model,
         "model_id": logged.model_id, "model_uri": logged.model_uri,
         **{k: v for k, v in asdict(result).items() if k != "run_id"}}, indent=2) + "\n")
    return result


def _save_model(model, out_dir: Path) -> Path:
    """``out_dir/model.keras``: the model wrapped to read each wall both ways, replaced atomically."""
    from roughml.learning.model import read_both_ways

    model_path = out_dir / "model.keras"
    tmp_path = out_dir / ".model.keras.tmp.keras"   # Keras insists on the .keras suffix
    read_both_ways(model).save(tmp_path)
    os.replace(tmp_path, model_path)
    return model_path


def _write_history(history: list[dict[str, float]], out_dir: Path) -> None:
    """``training_curves.png`` and ``history.csv`` (epoch first, then the metrics A–Z), also logged."""
    import mlflow

    atomic_write_bytes(out_dir / "training_curves.png", history_plot(history))
    columns = sorted({k for h in history for k in h}, key=lambda k: (k != "epoch", k))
    atomic_write_text(out_dir / "history.csv", csv_text(history, fieldnames=columns))
    mlflow.log_artifact(str(out_dir / "training_curves.png"), artifact_path="plots")
    mlflow.log_artifact(str(out_dir / "history.csv"), artifact_path="plots")


def _collect_history(run_id: str) -> list[dict[str, float]]:
    """Per-epoch metrics as recorded in MLflow (complete across resumed runs, unlike Keras's own)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    rows: dict[int, dict[str, float]] = {}
    for name in HISTORY_METRICS:
        for m in client.get_metric_history(run_id, name):
            rows.setdefault(m.step, {"epoch": m.step})[name] = m.value
    return [rows[k] for k in sorted(rows)]


def _log_pyfunc(model_path: Path, example_image: np.ndarray):
    """Log the model as an MLflow pyfunc that carries its preprocessing (see roughml.serving.pyfunc).

    The input example is one validation image as PNG bytes, the way a client would send it.
    Returns MLflow's ``ModelInfo`` (``model_id``, ``model_uri``: what evaluate links its metrics to
    and register registers).
    """
    import pandas as pd
    from PIL import Image

    from roughml.serving import pyfunc

    buffer = io.BytesIO()
    Image.fromarray(example_image).save(buffer, format="PNG")
    return pyfunc.log_model(str(model_path), input_example=pd.DataFrame({"image": [buffer.getvalue()]}))
