"""Training-loop pieces: tf.data input, targets, schedules, weight averaging, Keras callbacks, curves.

Why here and not in the train stage: these decide *how* a model learns and are the same whoever
drives the training; the stage (:mod:`roughml.pipeline.train`) only reads params.yaml, wires
these together and records the run. Nothing here reads files, talks to MLflow or knows the
params schema, and TensorFlow and Keras are imported only by the functions that need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from roughml.core.errors import RoughmlError
from roughml.core.formats import figure_png, pyplot


def select_strategy():
    """Multi-worker from ``TF_CONFIG``, mirrored over several GPUs, else the default (one device)."""
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def device_types() -> list[str]:
    """The kinds of device TensorFlow sees ('CPU', 'GPU', …), sorted, each once."""
    import tensorflow as tf

    return sorted({d.device_type for d in tf.config.list_logical_devices()})


def labels_for(kind: str, zeta: np.ndarray) -> np.ndarray:
    """Training targets: ζ itself (regressor) or its grid class (classifier)."""
    from roughml.learning.model import class_labels

    return zeta.astype(np.float32) if kind == "regressor" else class_labels(zeta)


def make_dataset(prepared, targets: np.ndarray, batch_size: int, *, seed: int, training: bool):
    """tf.data pipeline of same-shape batches drawn from every shape bucket.

    Training: each bucket is shuffled, batched and repeated, and batches are drawn from the buckets
    in proportion to their sizes. Validation: every sample exactly once.

    Parameters
    ----------
    prepared : object
        Anything with ``buckets``, a mapping whose values have ``images`` (uint8, (N, L, W)) and
        ``rows`` (their indices into ``targets``), such as the split that
        ``roughml.data.model_inputs.prepare_rows`` returns. Duck-typed so that the training loop
        does not depend on how images are stored and rendered.
    targets : numpy.ndarray
        One target per dataset row (see :func:`labels_for`).

    Returns
    -------
    tuple
        The dataset and the number of batches in one pass.
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


def fit_callbacks(checkpoint_dir: str | Path, *, weight_averaging: bool, patience: int,
                  learning_rate: float, epochs: int, decay_epochs: int, monitor: str = "val_loss") -> list:
    """Keras callbacks for a resumable fit with early stopping and a learning-rate rule.

    Parameters
    ----------
    checkpoint_dir : path
        Where ``BackupAndRestore`` keeps the last finished epoch, so that an interrupted fit
        resumes there; it removes the checkpoint when the fit ends normally.
    weight_averaging : bool
        The optimizer keeps an exponential moving average of the weights (see
        :func:`roughml.learning.model.compile_model`): swap it in at each epoch's end.
    patience : int
        Epochs without a lower validation loss before training stops (the best epoch's weights
        are kept); the plateau rule halves the rate one epoch sooner.
    learning_rate, epochs, decay_epochs
        With ``decay_epochs`` > 0, the schedule of :func:`learning_rate_at`; else the plateau rule.
    monitor : str
        The validation log that early stopping and the plateau rule watch. A σ-weighted loss
        (β-NLL) rises as the network grows more confident, so it is no yardstick across epochs:
        regressors are watched on ``val_nll``, the plain Gaussian NLL.

    Order matters: the checkpoint is written before the averaged weights are swapped in (so a
    resumed fit continues from the true training state), and early stopping, which keeps the
    best epoch's weights, sees the averaged ones (the ones that were validated). Callbacks that
    record the epoch go after these.
    """
    import keras

    averaging = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if weight_averaging else []
    if decay_epochs > 0:
        schedule = keras.callbacks.LearningRateScheduler(
            lambda epoch: learning_rate_at(epoch, learning_rate, epochs, decay_epochs))
    else:
        schedule = keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="min", factor=0.5,
                                                     patience=max(1, patience - 1))
    return [
        keras.callbacks.BackupAndRestore(str(checkpoint_dir)),
        *averaging,
        keras.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=patience, restore_best_weights=True),
        schedule,
    ]


def history_plot(history: list[Mapping[str, Any]]) -> bytes:
    """PNG of the training curves (loss and ζ rms, train and validation), one point per epoch.

    ``history``: one mapping per epoch with ``epoch`` and Keras's log names (``loss``,
    ``val_loss``, ``rms``, ``val_rms``); a missing value is left out of its curve.
    """
    plt = pyplot()
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
    return figure_png(fig, dpi=100)
