"""Training-loop pieces: schedules, weight averaging, targets, tf.data input and callback order."""

from types import SimpleNamespace

import numpy as np
import pytest

from roughml.learning.training import (fit_callbacks, labels_for, learning_rate_at, make_dataset,
                                       weight_average_momentum)


def test_learning_rate_is_constant_then_decays_over_the_last_epochs():
    rates = [learning_rate_at(epoch, 1e-3, 10, 4) for epoch in range(10)]
    assert rates[:6] == [1e-3] * 6
    assert all(a > b for a, b in zip(rates[5:9], rates[6:10]))
    assert rates[-1] == pytest.approx(2e-5)                      # the floor, not zero
    assert [learning_rate_at(e, 1e-3, 10, 0) for e in range(10)] == [1e-3] * 10


def test_weight_averaging_window_is_counted_in_epochs():
    assert weight_average_momentum(0.0, 100) == 0.0
    assert weight_average_momentum(1.0, 100) == pytest.approx(0.99)
    assert weight_average_momentum(0.5, 1) == 0.0                # never a negative momentum


def test_targets_are_zeta_or_its_class():
    zeta = np.array([0.05, 0.5, 1.2])
    assert labels_for("regressor", zeta).dtype == np.float32
    assert labels_for("classifier", zeta).tolist() == [0, 9, 19]


def _split(*shapes_and_rows):
    """A stand-in for a prepared split: buckets with uint8 images and their dataset rows."""
    buckets = {shape: SimpleNamespace(images=np.full((len(rows), *shape), 255, np.uint8), rows=np.array(rows))
               for shape, rows in shapes_and_rows}
    return SimpleNamespace(buckets=buckets)


def test_validation_data_holds_every_sample_once_in_same_shape_batches():
    prepared = _split(((8, 6), [0, 2, 4]), ((10, 4), [1, 3]))
    targets = np.arange(5, dtype=np.float32)
    ds, steps = make_dataset(prepared, targets, 2, seed=0, training=False)
    batches = [(np.asarray(x), np.asarray(y)) for x, y in ds]
    assert steps == len(batches) == 3
    assert sorted(float(v) for _, y in batches for v in y) == [0, 1, 2, 3, 4]
    assert all(x.dtype == np.float32 and x.shape[-1] == 1 and x.max() == 1.0 for x, _ in batches)


def test_callbacks_checkpoint_before_swapping_in_the_average(tmp_path):
    import keras

    names = [type(c).__name__ for c in fit_callbacks(tmp_path, weight_averaging=True, patience=3,
                                                      learning_rate=1e-3, epochs=5, decay_epochs=2)]
    assert names == ["BackupAndRestore", "SwapEMAWeights", "EarlyStopping", "LearningRateScheduler"]
    plateau = fit_callbacks(tmp_path, weight_averaging=False, patience=3, learning_rate=1e-3, epochs=5,
                            decay_epochs=0)
    assert [type(c) for c in plateau][1:] == [keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau]
    assert plateau[-1].patience == 2


def test_stopping_and_plateau_rules_watch_the_named_log(tmp_path):
    """A β-NLL regressor is judged on val_nll: its own σ-weighted loss rises as it grows confident."""
    callbacks = fit_callbacks(tmp_path, weight_averaging=False, patience=3, learning_rate=1e-3, epochs=5,
                              decay_epochs=0, monitor="val_nll")
    assert [c.monitor for c in callbacks[1:]] == ["val_nll", "val_nll"]


def test_each_model_kind_is_judged_on_a_log_its_compiled_model_writes():
    from roughml.learning.model import build_model, compile_model, validation_yardstick

    tiny = {"stem_filters": 2, "tower_filters": 4, "tower_levels": 2}
    for kind in ("regressor", "classifier"):
        model = compile_model(build_model(kind, **tiny), kind, 1e-3, nll_beta=0.5)
        images = np.zeros((2, 32, 32, 1), np.float32)
        labels = np.array([0.3, 0.6], np.float32) if kind == "regressor" else np.array([5, 11])
        logs = model.evaluate(images, labels, verbose=0, return_dict=True)
        assert validation_yardstick(kind).removeprefix("val_") in logs
