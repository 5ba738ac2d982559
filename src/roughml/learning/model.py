"""Keras models that read ζ from a canonical image of a wall.

Why this design: the information about ζ is in the wall's profile h(x) at every scale, and a
learned estimator must (i) not depend on the wall's amplitude, position or tilt, (ii) accept any
length and use all of it, so that its error falls with length like the Cramér–Rao bound. So:

1. a small 2-D convolutional *stem* turns every pixel into a probability of belonging to the dark
   domain (learning to ignore blur, noise and islands);
2. summing that map across the image *collapses* it to a 1-D profile, h(x) = number of dark
   pixels in row x, which is exact for clean binary images and degrades gracefully with islands;
3. increments h(x+1) − h(x), normalised per image, remove position, tilt and amplitude;
4. a multi-scale 1-D tower (learned band-pass filters, then 2× coarse-graining, repeated) measures
   the log-variance of the profile at each scale, a learned wavelet estimator of the spectrum,
   next to the raw increment size in pixels (which says how much quantisation noise to expect);
5. a small dense head maps those log-variances to ζ and its uncertainty (regressor), or to the
   2018 prototype's 20-class grid (classifier, kept for comparison).
6. the saved model reads the wall from both ends and averages (:func:`read_both_ways`).

Global averages over the whole length make the model size-agnostic (64 … 4096 px).
"""

from __future__ import annotations

import numpy as np
import keras
from keras import layers, ops

#: The 2018 prototype's classes: ζ = 0.05, 0.10, …, 1.00.
CLASS_GRID = np.round(np.arange(1, 21) * 0.05, 2).astype(np.float32)
ZETA_CENTER = 0.65
LOG_SIGMA_RANGE = (-6.0, 1.0)


@keras.saving.register_keras_serializable(package="roughml")
class CollapseTransverse(layers.Layer):
    """Sum a per-pixel map across the wall: (B, L, W, C) -> (B, L, C), in pixels."""

    def call(self, inputs):
        return ops.sum(inputs, axis=2)


@keras.saving.register_keras_serializable(package="roughml")
class NormalisedIncrements(layers.Layer):
    """h(x+1) − h(x), centred and scaled to unit variance per image and channel.

    Centring removes a tilt (a slightly rotated image), scaling removes the amplitude, which is a
    nuisance parameter: without it a model can learn the width instead of ζ.
    """

    def __init__(self, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, profile):
        increments = profile[:, 1:, :] - profile[:, :-1, :]
        centred = increments - ops.mean(increments, axis=1, keepdims=True)
        scale = ops.sqrt(ops.mean(ops.square(centred), axis=1, keepdims=True) + self.epsilon)
        return centred / scale

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="roughml")
class LogIncrementScale(layers.Layer):
    """log of the rms increment of the raw profile, in pixels, per channel: (B, L, C) -> (B, C).

    Why: the normalised increments hide how many pixels the wall moves per row, yet that decides
    how much pixel quantisation corrupts the fine scales, and so how much they can be trusted.
    Caveat (measured): the increment size is the amplitude times a ζ-dependent factor, so within
    the training widths (3–12 % of the image) it also hints at ζ, and the model reads narrow walls
    as smoother than they are (+0.02 to +0.06 bias in the narrowest quarter of the test walls).
    """

    def __init__(self, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, profile):
        increments = profile[:, 1:, :] - profile[:, :-1, :]
        return ops.log(ops.std(increments, axis=1) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="roughml")
class LogMeanSquare(layers.Layer):
    """log ⟨y²⟩ over the whole length, per channel: (B, L, C) -> (B, C)."""

    def __init__(self, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        return ops.log(ops.mean(ops.square(inputs), axis=1) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="roughml")
class PairMean(layers.Layer):
    """Coarsen a profile by 2: the mean of each whole pair of samples, (B, N, C) -> (B, N // 2, C).

    Why not ``AveragePooling1D(padding="same")``: for an odd N it keeps the last sample
    un-averaged, with about twice the variance of a pair mean, so the log-variance of the coarse
    scales depended on N's parity at every level; ``padding="valid"`` fails on N < 2, which the
    coarsest scales of walls under 64 rows reach. So an odd sample out is dropped, except that a
    single sample is kept as it is (N = 1 -> 1), and no scale is ever empty.
    """

    def call(self, signal):
        length = ops.shape(signal)[1]
        keep = ops.maximum(length - length % 2, ops.minimum(length, 1))
        return ops.average_pool(signal[:, :keep, :], pool_size=2, strides=2, padding="same")


def build_trunk(image, *, stem_filters: int, tower_filters: int, tower_levels: int):
    """Stem, collapse and multi-scale tower shared by both heads; returns the feature vector.

    Parameters
    ----------
    image : keras tensor
        Canonical images, (B, L, W, 1) in [0, 1].
    stem_filters : int
        Channels of the two stem convolutions that learn to see the dark domain through blur,
        noise and islands.
    tower_filters : int
        Band-pass filters per scale of the 1-D tower.
    tower_levels : int
        Number of scales, each 2× coarser than the one before: the coarsest band filter works on
        steps of ``2**(tower_levels − 1)`` rows.
    """
    # Coarsening averages whole pairs only (PairMean): walls of 2 mod 4 rows used to carry an
    # un-averaged sample at nearly every scale and were read up to 0.17 too smooth (issue #12).
    # 5x5 then 1x1: sees blur and noise around every pixel at a third of the cost of two 3x3 layers.
    x = layers.Conv2D(stem_filters, 5, padding="same", activation="relu", name="stem_1")(image)
    x = layers.Conv2D(stem_filters, 1, activation="relu", name="stem_2")(x)
    x = layers.Concatenate(name="stem_and_image")([image, x])
    dark = layers.Conv2D(2, 1, activation="sigmoid", name="dark_probability")(x)
    profile = CollapseTransverse(name="collapse")(dark)
    signal = NormalisedIncrements(name="increments")(profile)
    features = [LogIncrementScale(name="increment_scale")(profile)]
    for level in range(tower_levels):
        band = layers.Conv1D(tower_filters, 5, padding="same", name=f"band_{level}")(signal)
        features.append(LogMeanSquare(name=f"log_variance_{level}")(band))
        if level + 1 < tower_levels:
            signal = PairMean(name=f"coarsen_{level}")(signal)
    x = layers.Concatenate(name="scales")(features)
    # Log-variances span very different ranges per scale; standardising them keeps the head's
    # optimisation well conditioned. Per sample (layer norm), not per batch: a batch holds images
    # of one size only, so batch-norm statistics depended on the size during training but were a
    # mixture of all sizes at inference (measured: 5–28 % larger test errors with batch norm).
    x = layers.LayerNormalization(name="standardise")(x)
    x = layers.Dense(64, activation="gelu", name="head_1")(x)
    x = layers.Dense(32, activation="gelu", name="head_2")(x)
    return x


def build_model(kind: str, *, stem_filters: int, tower_filters: int, tower_levels: int) -> keras.Model:
    """Build the ``'regressor'`` (outputs [ζ, log σ]) or ``'classifier'`` (20-class softmax).

    The sizes are plain numbers, not the ``train`` block of params.yaml, so that the model knows
    nothing of the pipeline's configuration; see :func:`build_trunk` for what each one sets.
    """
    image = keras.Input(shape=(None, None, 1), name="image", dtype="float32")
    features = build_trunk(image, stem_filters=stem_filters, tower_filters=tower_filters,
                           tower_levels=tower_levels)
    if kind == "regressor":
        raw = layers.Dense(2, name="zeta_log_sigma", dtype="float32")(features)
        output = ZetaLogSigma(name="gaussian")(raw)
    elif kind == "classifier":
        output = layers.Dense(len(CLASS_GRID), activation="softmax", name="zeta_class",
                              dtype="float32")(features)
    else:
        raise ValueError(f"unknown model kind {kind!r}; expected 'regressor' or 'classifier'")
    model = keras.Model(image, output, name=f"roughml_{kind}")
    _start_as_threshold(model.get_layer("dark_probability"))
    return model


def _start_as_threshold(layer: layers.Conv2D, gain: float = 10.0) -> None:
    """Initialise the first dark-probability channel as sigmoid(gain · (0.5 − pixel)).

    The collapsed profile is then exact for clean binary images from the first step, and training
    only has to learn the corrections that blur, noise and islands call for.
    """
    kernel, bias = layer.get_weights()
    kernel[:, :, 0, 0] = -gain          # input channel 0 is the raw image
    kernel[:, :, 1:, 0] *= 0.1
    bias[0] = 0.5 * gain
    layer.set_weights([kernel, bias])


@keras.saving.register_keras_serializable(package="roughml")
class ZetaLogSigma(layers.Layer):
    """Offset ζ to the middle of the physical range and keep log σ inside a safe interval."""

    def call(self, raw):
        zeta = raw[:, :1] + ZETA_CENTER
        log_sigma = ops.clip(raw[:, 1:], LOG_SIGMA_RANGE[0], LOG_SIGMA_RANGE[1])
        return ops.concatenate([zeta, log_sigma], axis=1)


@keras.saving.register_keras_serializable(package="roughml")
class ReverseAlongWall(layers.Layer):
    """The canonical image read from the other end of the wall: rows in reverse order."""

    def call(self, image):
        return ops.flip(image, axis=1)


def read_both_ways(model: keras.Model) -> keras.Model:
    """``model`` applied to the image and to the image read from the other end, outputs averaged.

    Why: ζ does not depend on which end of the wall one starts from, but a trained estimator's
    error does a little. The two readings' errors correlate at 0.87–0.96, so their mean is only
    0–4 % more accurate (measured on the test split), for twice the inference cost and none at
    training time: training uses ``model`` alone. The average is taken on the outputs, [ζ, log σ]
    (σ their geometric mean) or the class probabilities.
    """
    reader = keras.Model.from_config(model.get_config())  # uncompiled: no training state to save
    reader.set_weights(model.get_weights())
    image = keras.Input(shape=(None, None, 1), name="image", dtype="float32")
    forward = reader(image)
    backward = reader(ReverseAlongWall(name="reverse")(image))
    both = layers.Average(name="both_ways", dtype="float32")([forward, backward])
    return keras.Model(image, both, name=f"{model.name}_both_ways")


# --- losses and metrics ---------------------------------------------------------------------------

def decode(kind: str, outputs):
    """Model outputs -> (ζ, σ) tensors for either kind."""
    if kind == "regressor":
        return outputs[:, 0], ops.exp(outputs[:, 1])
    grid = ops.convert_to_tensor(CLASS_GRID)
    mean = ops.sum(outputs * grid, axis=1)
    var = ops.sum(outputs * ops.square(grid - mean[:, None]), axis=1)
    return mean, ops.sqrt(var + 1e-8)


def _nll_terms(y_true, y_pred):
    """Each wall's negative log-likelihood of ζ under N(μ, σ²) (constant dropped), and its log σ."""
    zeta = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1,))
    mu, log_sigma = y_pred[:, 0], y_pred[:, 1]
    return 0.5 * ops.square((zeta - mu) * ops.exp(-log_sigma)) + log_sigma, log_sigma


@keras.saving.register_keras_serializable(package="roughml")
def gaussian_nll(y_true, y_pred):
    """Negative log-likelihood of ζ under N(μ, σ²) (constant dropped)."""
    return ops.mean(_nll_terms(y_true, y_pred)[0])


@keras.saving.register_keras_serializable(package="roughml")
class BetaGaussianNLL(keras.losses.Loss):
    """Gaussian negative log-likelihood with each wall's term weighted by σ^(2β), held constant.

    Why: the plain NLL divides each wall's squared error by its predicted σ², so a network can
    lower the loss on hard walls (noisy, blurred, faint) by raising σ instead of fitting ζ; their
    ζ then stays poor while σ looks honest. Scaling every term by ``stop_gradient(σ^(2β))``
    (Seitzer et al., ICLR 2022, "On the pitfalls of heteroscedastic uncertainty estimation") leaves
    the optimum of μ and σ where it was but gives the mean's gradient a weight σ^(2β−2) instead of
    σ^−2: β = 0 is the plain NLL, β = 1 fits μ as mean-squared error does, β = 0.5 is the usual
    compromise. Hard walls are exactly the lab images and full frames the product is for.
    """

    def __init__(self, beta: float = 0.5, name: str = "beta_gaussian_nll", **kwargs):
        super().__init__(name=name, **kwargs)
        self.beta = float(beta)

    def call(self, y_true, y_pred):
        nll, log_sigma = _nll_terms(y_true, y_pred)
        return nll * ops.stop_gradient(ops.exp(2.0 * self.beta * log_sigma))

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


def class_labels(zeta: np.ndarray) -> np.ndarray:
    """Nearest grid class of each ζ (values beyond the grid go to its ends)."""
    idx = np.rint(np.asarray(zeta, dtype=np.float64) / 0.05).astype(np.int64) - 1
    return np.clip(idx, 0, len(CLASS_GRID) - 1).astype(np.int32)


class ZetaRMS(keras.metrics.Metric):
    """Root-mean-square error of the decoded ζ over an epoch (not a mean of batch values)."""

    def __init__(self, kind: str, name: str = "rms", **kwargs):
        super().__init__(name=name, **kwargs)
        self.kind = kind
        self.sum_sq = self.add_variable(shape=(), initializer="zeros", name="sum_sq")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        mu, _ = decode(self.kind, y_pred)
        zeta = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        self.sum_sq.assign_add(ops.sum(ops.square(mu - zeta)))
        self.count.assign_add(ops.cast(ops.shape(mu)[0], "float32"))

    def result(self):
        return ops.sqrt(self.sum_sq / ops.maximum(self.count, 1.0))


class ZetaAccuracy(keras.metrics.Metric):
    """Share of samples with |ζ̂ − ζ| < tolerance: the 2018 prototype's class accuracy on a 2·tol grid."""

    def __init__(self, kind: str, tolerance: float = 0.025, name: str = "accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.kind = kind
        self.tolerance = tolerance
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        mu, _ = decode(self.kind, y_pred)
        zeta = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        hit = ops.cast(ops.abs(mu - zeta) < self.tolerance, "float32")
        self.hits.assign_add(ops.sum(hit))
        self.count.assign_add(ops.cast(ops.shape(mu)[0], "float32"))

    def result(self):
        return self.hits / ops.maximum(self.count, 1.0)


def compile_model(model: keras.Model, kind: str, learning_rate: float,
                  accuracy_tolerance: float = 0.025, weight_average_momentum: float = 0.0,
                  nll_beta: float = 0.0) -> keras.Model:
    """Attach optimizer, the kind's loss and the ζ metrics (logged as rms / accuracy).

    A regressor's loss is the Gaussian NLL, weighted by σ^(2 ``nll_beta``) when ``nll_beta`` > 0
    (:class:`BetaGaussianNLL`).

    ``weight_average_momentum`` > 0 makes the optimizer keep an exponential moving average of the
    weights (Polyak averaging); :func:`roughml.learning.training.fit_callbacks` swaps the average
    in for validation, so that it is what early stopping compares and keeps.
    """
    if kind != "regressor":
        loss = "sparse_categorical_crossentropy"
    else:
        loss = BetaGaussianNLL(nll_beta) if nll_beta > 0 else gaussian_nll
    # The plain NLL as a metric ("nll"): the yardstick of a regressor whatever its training loss.
    nll = [keras.metrics.MeanMetricWrapper(gaussian_nll, name="nll")] if kind == "regressor" else []
    averaging = {"use_ema": True, "ema_momentum": weight_average_momentum} if weight_average_momentum > 0 else {}
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=1.0, **averaging),
        loss=loss,
        metrics=[ZetaRMS(kind), ZetaAccuracy(kind, accuracy_tolerance), *nll],
    )
    return model


def validation_yardstick(kind: str) -> str:
    """The validation log that early stopping and the learning-rate rule should watch for ``kind``.

    A regressor is judged on the plain NLL metric that :func:`compile_model` attaches (its own
    loss may be σ-weighted, which rises as the network grows confident); a classifier on its loss.
    """
    return "val_nll" if kind == "regressor" else "val_loss"


def model_kind(model: keras.Model) -> str:
    """'regressor' or 'classifier', read from the output width."""
    return "regressor" if model.output_shape[-1] == 2 else "classifier"


def predict_zeta(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """ζ and its standard deviation for a batch of same-shaped canonical images (B, L, W[, 1])."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    outputs = model.predict(images, batch_size=batch_size, verbose=0)
    mu, sigma = decode(model_kind(model), ops.convert_to_tensor(outputs))
    return (np.asarray(ops.convert_to_numpy(mu), dtype=np.float64),
            np.asarray(ops.convert_to_numpy(sigma), dtype=np.float64))


def load(path) -> keras.Model:
    """Load a saved ``.keras`` model for inference (no optimizer state needed)."""
    return keras.saving.load_model(path, compile=False)
