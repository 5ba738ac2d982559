"""Model builders: any size in, ζ and σ out, invariances the physics asks for, save/load."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from roughml.learning.model import (CLASS_GRID, NormalisedIncrements, build_model, class_labels, compile_model,
                                   load, predict_zeta, read_both_ways)

TINY = {"stem_filters": 4, "tower_filters": 6, "tower_levels": 4}


def binary_wall(heights: np.ndarray, width: int) -> np.ndarray:
    """Canonical image: dark (0) left of the wall, bright (1) right of it."""
    return (np.arange(width)[None, :] >= heights[:, None]).astype(np.float32)


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_any_size_gives_zeta_and_sigma(kind):
    model = build_model(kind, **TINY)
    for shape in [(64, 64), (200, 96), (512, 40)]:
        zeta, sigma = predict_zeta(model, np.random.default_rng(0).random((2, *shape, 1), dtype=np.float32))
        assert zeta.shape == (2,) and sigma.shape == (2,)
        assert np.all(np.isfinite(zeta)) and np.all(sigma > 0)


def test_initial_stem_reads_the_wall_exactly():
    model = build_model("regressor", **TINY)
    collapse = keras.Model(model.input, model.get_layer("collapse").output)
    heights = np.random.default_rng(1).integers(10, 54, size=96)
    image = binary_wall(heights, 64)[None, ..., None]
    profile = collapse.predict(image, verbose=0)[0, :, 0]
    np.testing.assert_allclose(profile, heights, atol=0.5)


def test_increments_ignore_offset_tilt_and_amplitude():
    rng = np.random.default_rng(2)
    h = np.cumsum(rng.standard_normal(300)).astype(np.float32)
    x = np.arange(300, dtype=np.float32)
    layer = NormalisedIncrements()
    base = np.asarray(layer(h[None, :, None]))
    moved = np.asarray(layer((7.5 * h + 0.3 * x + 40.0)[None, :, None]))
    np.testing.assert_allclose(base, moved, atol=5e-3)
    assert abs(float(base.std()) - 1.0) < 1e-2


def test_estimate_does_not_depend_on_the_rest_of_the_batch():
    # Training batches hold images of one size; a batch statistic (batch norm) would normalise
    # them by that size's statistics while training and by a mixture of all sizes at inference.
    model = build_model("regressor", **TINY)
    rng = np.random.default_rng(4)
    walls = np.stack([binary_wall(np.cumsum(rng.integers(-2, 3, size=128)) + 40, 96)
                      for _ in range(4)])[..., None]
    alone = np.asarray(model(walls[:1], training=True))
    in_batch = np.asarray(model(walls, training=True))[:1]
    inference = np.asarray(model(walls, training=False))[:1]
    np.testing.assert_allclose(alone, in_batch, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(alone, inference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_reading_both_ways_does_not_depend_on_the_end_one_starts_from(kind):
    model = build_model(kind, **TINY)
    both = read_both_ways(model)
    images = np.random.default_rng(5).random((2, 90, 40, 1), dtype=np.float32)
    reversed_images = images[:, ::-1].copy()
    both_forward = both.predict(images, verbose=0)
    np.testing.assert_allclose(both_forward, both.predict(reversed_images, verbose=0), rtol=1e-5, atol=1e-6)
    forward, backward = model.predict(images, verbose=0), model.predict(reversed_images, verbose=0)
    assert not np.allclose(forward, backward)  # a single reading does depend on it
    np.testing.assert_allclose(both_forward, (forward + backward) / 2, rtol=1e-5, atol=1e-6)


def test_save_and_load_round_trip(tmp_path):
    model = read_both_ways(compile_model(build_model("regressor", **TINY), "regressor", 1e-3))
    images = np.random.default_rng(3).random((3, 80, 48, 1), dtype=np.float32)
    before = predict_zeta(model, images)
    model.save(tmp_path / "m.keras")
    after = predict_zeta(load(tmp_path / "m.keras"), images)
    np.testing.assert_allclose(before[0], after[0], rtol=1e-5)
    np.testing.assert_allclose(before[1], after[1], rtol=1e-5)


def test_class_labels_follow_the_prototype_grid():
    assert CLASS_GRID[0] == pytest.approx(0.05) and CLASS_GRID[-1] == pytest.approx(1.0)
    labels = class_labels(np.array([0.05, 0.5, 0.524, 1.0, 1.2, 0.01]))
    assert labels.tolist() == [0, 9, 9, 19, 19, 0]


def test_training_separates_smooth_from_rough_walls():
    """A few epochs on clean walls at ζ=0.2 and ζ=1.0: the model must tell them apart."""
    from roughml.physics.rendering import render_binary
    from roughml.physics.synthesis import quantise, self_affine_profiles

    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    zeta = np.repeat([0.2, 1.0], 48)
    heights, _ = quantise(self_affine_profiles(rng, zeta, 96), rng.uniform(4, 10, zeta.size), 64)
    images = np.stack([render_binary(h, 64) for h in heights]).astype(np.float32)[..., None] / 255.0
    model = compile_model(build_model("regressor", **TINY), "regressor", 1e-3)
    before = model.evaluate(images, zeta.astype(np.float32), verbose=0, return_dict=True)
    model.fit(images, zeta.astype(np.float32), epochs=25, batch_size=16, verbose=0)
    after = model.evaluate(images, zeta.astype(np.float32), verbose=0, return_dict=True)
    assert after["rms"] < 0.2 < before["rms"]    # targets have sd 0.4
    assert after["loss"] < before["loss"]
    assert after["accuracy"] >= 0.0


@pytest.mark.parametrize("length", [2, 3, 8, 9, 225, 226])
def test_coarsening_averages_whole_pairs_only(length):
    """Every coarse sample is the mean of exactly two fine ones, whatever the parity: an odd last
    sample is dropped, not kept un-averaged (which gave walls of 2 mod 4 rows a too-rough large
    scale and a biased ζ)."""
    from keras import ops

    from roughml.learning.model import PairMean

    signal = np.random.default_rng(length).standard_normal((3, length, 2)).astype("float32")
    coarse = ops.convert_to_numpy(PairMean()(signal))
    pairs = length // 2
    expected = signal[:, : 2 * pairs].reshape(3, pairs, 2, 2).mean(axis=2)
    np.testing.assert_allclose(coarse, expected, rtol=1e-6)


def test_coarsening_keeps_a_single_sample():
    """Walls under 2**levels rows reach one sample at the coarsest scales: kept, never empty."""
    from keras import ops

    from roughml.learning.model import PairMean

    single = np.array([[[1.5]]], dtype="float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(PairMean()(single)), single)


def _nll_gradients(loss, zeta, mu, log_sigma):
    import tensorflow as tf

    y_pred = tf.Variable(np.stack([mu, log_sigma], axis=1).astype(np.float32))
    with tf.GradientTape() as tape:
        value = loss(tf.constant(zeta, dtype=tf.float32), y_pred)
    return float(value), tape.gradient(value, y_pred).numpy()


def test_beta_nll_is_the_plain_nll_at_beta_zero_and_reweights_walls_by_sigma():
    """β-NLL: value and gradients are the plain NLL's times σ^(2β), with σ^(2β) held constant.

    Why: the weight must not be differentiated, or the optimum of σ moves (σ would shrink to cut
    the weight); a wall with σ twice as large must pull on μ 2^(2β) times as hard as under the
    plain NLL relative to the others.
    """
    from roughml.learning.model import BetaGaussianNLL, gaussian_nll

    zeta = np.array([0.3, 0.8, 0.5])
    mu = np.array([0.35, 0.6, 0.5])
    log_sigma = np.log(np.array([0.05, 0.1, 0.2]))
    plain_value, plain_grad = _nll_gradients(gaussian_nll, zeta, mu, log_sigma)
    zero_value, zero_grad = _nll_gradients(BetaGaussianNLL(0.0), zeta, mu, log_sigma)
    assert zero_value == pytest.approx(plain_value, rel=1e-6)
    np.testing.assert_allclose(zero_grad, plain_grad, rtol=1e-5)
    half_value, half_grad = _nll_gradients(BetaGaussianNLL(0.5), zeta, mu, log_sigma)
    weight = np.exp(log_sigma)  # σ^(2β) with β = 0.5
    terms = 0.5 * ((zeta - mu) / np.exp(log_sigma)) ** 2 + log_sigma
    assert half_value == pytest.approx(np.mean(terms * weight), rel=1e-5)
    np.testing.assert_allclose(half_grad, plain_grad * weight[:, None], rtol=1e-4, atol=1e-7)


def test_beta_nll_round_trips_through_keras_serialization():
    """The loss is stored by name and β in a compiled model's config (checkpoints, model files)."""
    from roughml.learning.model import BetaGaussianNLL

    model = compile_model(build_model("regressor", **TINY), "regressor", 1e-3, nll_beta=0.25)
    restored = keras.losses.deserialize(keras.losses.serialize(model.loss))
    assert isinstance(restored, BetaGaussianNLL) and restored.beta == 0.25


def test_a_regressor_reports_the_plain_nll_whatever_its_loss():
    from roughml.learning.model import gaussian_nll

    rng = np.random.default_rng(2)
    images = rng.random((4, 32, 32, 1)).astype(np.float32)
    zeta = np.array([0.2, 0.4, 0.6, 0.8], dtype=np.float32)
    model = compile_model(build_model("regressor", **TINY), "regressor", 1e-3, nll_beta=0.5)
    logs = model.evaluate(images, zeta, verbose=0, return_dict=True)
    expected = float(gaussian_nll(zeta, model.predict(images, verbose=0)))
    assert logs["nll"] == pytest.approx(expected, rel=1e-4)
    assert logs["loss"] != pytest.approx(logs["nll"], rel=1e-2)
